"""The lock beside a run's outputs: one run at a time writes a summary, its report and its ledger.

Two runs writing the same outputs at once mixed their ledgers (the next run reported 200 deleted files that never
were in its folder). A run takes `~$jieyue-<summary name>.lock` beside the summary before it reads the ledger and
keeps it until the outputs are written; a second run waits up to `WAIT` seconds, then refuses with a message that
says which run holds it. The lock is the operating system's (flock on POSIX, a byte-range lock on Windows), so a
run killed with kill -9 or a power cut releases it: there is never a stale lock to delete by hand. The file itself
may stay behind; it says who held it last and means nothing while nobody holds it.
"""
from __future__ import annotations

import contextlib
import os
import socket
import time
from datetime import datetime
from pathlib import Path
from typing import Iterator

from workbook_templates.errors import OutputError

WAIT = 10.0
"""Seconds a second run waits for the lock before it refuses."""
POLL = 0.2


@contextlib.contextmanager
def output_lock(path: Path, summary: Path, wait: float = WAIT) -> Iterator[None]:
    """Hold the lock at `path` (for the outputs of `summary`) for the duration; OutputError when another run
    holds it for longer than `wait` seconds."""
    fd = _acquire(path, summary, wait)
    try:
        yield
    finally:
        _release(fd, path)


def _acquire(path: Path, summary: Path, wait: float) -> int:
    until = time.monotonic() + wait
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o666)
        if _try_lock(fd):
            if _still_at(fd, path):                     # not a file the previous holder unlinked meanwhile
                _write_holder(fd)
                return fd
            os.close(fd)
            continue
        holder = _read_holder(fd)
        os.close(fd)
        if time.monotonic() >= until:
            raise OutputError(f"另一个汇总正在写出「{summary}」（{holder or '进程信息不明'}）：请等它结束后再运行；"
                              f"同一个汇总表不能同时由两次汇总写出（锁文件「{path.name}」在汇总表旁）")
        time.sleep(POLL)


def _still_at(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


def _write_holder(fd: int) -> None:
    """Who holds the lock, for the message a second run gives (written after byte 0, which Windows locks)."""
    text = f"进程 {os.getpid()}，计算机 {socket.gethostname()}，开始于 {datetime.now():%Y-%m-%d %H:%M:%S}"
    os.lseek(fd, 1, os.SEEK_SET)
    os.write(fd, text.encode("utf-8"))
    os.ftruncate(fd, 1 + len(text.encode("utf-8")))


def _read_holder(fd: int) -> str:
    try:
        os.lseek(fd, 1, os.SEEK_SET)
        return os.read(fd, 400).decode("utf-8", "replace").strip()
    except OSError:
        return ""


if os.name == "nt":
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _release(fd: int, path: Path) -> None:
        os.close(fd)                                    # closing releases the lock; an open file cannot be removed
        with contextlib.suppress(OSError):
            os.unlink(path)
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _release(fd: int, path: Path) -> None:
        with contextlib.suppress(OSError):
            os.unlink(path)                             # while still held: a waiter re-checks `_still_at`
        os.close(fd)
