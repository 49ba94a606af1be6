"""One piece of work done in a child process while this one does another: the JSON report written alongside the
summary.

Why: after a few late returns, writing the two outputs is most of a re-run (5 000 units: the summary ~1 s, the
report ~1 s, each on one core of two). A forked child already holds the run's data, so nothing is copied or
pickled; it writes its temporary and hands back the temporary's path, or the exception that stopped it, through
a pipe.

Forked only where that is safe: on Linux, from a process running a single thread (a thread holding a lock at the
fork would leave the child waiting on it for ever). Elsewhere — Windows, macOS, the console's server thread — the
work is done in place, before `start` returns, and the caller cannot tell the difference but for the time.
"""
from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
from typing import Callable, Generic, TypeVar

T = TypeVar("T")


def can_fork() -> bool:
    """Whether `start` forks here: Linux (fork is the platform's own way to start a process; macOS libraries are
    not fork-safe), one thread running."""
    return sys.platform.startswith("linux") and hasattr(os, "fork") and threading.active_count() == 1


class Pending(Generic[T]):
    """Work started by `start`: `result()` waits for it and returns its value or raises what it raised; `stop()`
    ends it when the caller has failed meanwhile."""

    def __init__(self, value: T | None = None, error: BaseException | None = None, pid: int = 0,
                 pipe: int = -1) -> None:
        self._value, self._error, self._pid, self._pipe = value, error, pid, pipe

    def result(self) -> T:
        if self._pid:
            self._collect()
        if self._error is not None:
            raise self._error
        return self._value                              # type: ignore[return-value]

    def stop(self) -> T | None:
        """End the work (the caller failed meanwhile) — interrupted as by Ctrl-C, its own cleanup runs — and
        return its value if it had finished, for the caller to undo; None otherwise. Interrupted between two of its
        own steps (a temporary whole, not yet handed over), the work may leave what it made: the caller, who knows
        what that can be, removes it (`outputs.write_outputs` removes every temporary of its run)."""
        if self._pid:
            try:
                os.kill(self._pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            self._collect()
        return self._value if self._error is None else None

    def _collect(self) -> None:
        chunks = []
        with os.fdopen(self._pipe, "rb") as pipe:       # read to the end before waiting: a full pipe would block
            while chunk := pipe.read(65536):
                chunks.append(chunk)
        _, status = os.waitpid(self._pid, 0)
        self._pid = 0
        try:
            ok, payload = pickle.loads(b"".join(chunks))
        except Exception:                               # noqa: BLE001 — killed, or died before it could answer
            code = os.waitstatus_to_exitcode(status)
            self._error = RuntimeError(f"写出 JSON 报告的子进程意外退出（退出码 {code}）")
            return
        if ok:
            self._value = payload
        else:
            self._error = payload


class _Stopped(BaseException):
    """The parent stopped the child (`Pending.stop`)."""


def _stopped(signum: int, frame: object) -> None:
    raise _Stopped()


def start(work: Callable[[], T]) -> Pending[T]:
    """`work()` begun in a forked child where `can_fork`, else done now; its outcome from `Pending.result()`."""
    if not can_fork():
        try:
            return Pending(value=work())
        except Exception as e:                          # noqa: BLE001 — raised by result(), as from a child
            return Pending(error=e)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid:
        os.close(write_end)
        return Pending(pid=pid, pipe=read_end)
    # the child: never returns into the caller's code (os._exit: no atexit, no flushing the parent's buffers)
    os.close(read_end)
    code = 0
    try:
        # Ctrl-C reaches both processes as KeyboardInterrupt; `stop` as _Stopped: either way the work's own
        # cleanup runs (write_temporary removes its temporary)
        signal.signal(signal.SIGTERM, _stopped)
        try:
            answer = (True, work())
        except BaseException as e:                      # noqa: BLE001 — handed to the parent whatever it is
            code = 1
            answer = (False, e)
        try:
            data = pickle.dumps(answer)
        except Exception:                               # noqa: BLE001 — an exception that does not pickle
            data = pickle.dumps((False, RuntimeError(f"{type(answer[1]).__name__}: {answer[1]}")))
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(data)
    finally:
        os._exit(code)


__all__ = ["Pending", "start", "can_fork"]
