"""How the reader gives up on a file: `Rejected` carries the one finding (F1xx) that says why and what to do.

Every stage of reading raises it; `read_returned` turns it into the file's finding, so a hostile or broken
file never stops the run. `Deadline` is a file's time budget: every loop of the reader whose length the file
decides asks it (`check`), and on POSIX an interval timer stops even a step that does not ask (`armed`).
"""
from __future__ import annotations

import contextlib
import signal
import threading
import time
from typing import Iterator

from udfs.intake import Finding

AGAIN = "请用 Excel 打开下发的工作簿填写，另存为 .xlsx 格式（不含宏）后重新提交"
"""What a unit does about almost any unreadable return."""


class Rejected(Exception):
    """A pre-flight or structural check failed: the file is reported with this finding."""

    def __init__(self, code: str, message: str, name: str = "", cell: str = "", size: int | None = None):
        super().__init__(message)
        self.finding = Finding(code, message, name, cell)
        self.size = size                 # the file's size when it was too large to read


def exc_text(e: BaseException) -> str:
    """An exception as a short line for a finding (type and message, at most 300 characters)."""
    text = f"{type(e).__name__}: {e}"
    return text if len(text) <= 300 else text[:297] + "…"


class Deadline:
    """A file's time budget (`Limits.seconds`): a file that takes longer is rejected with F120, so no single
    file — however it was built — can stall a run. The budget is cooperative (`check`, asked by every loop whose
    length the file decides) and, where the platform allows it (POSIX, the main thread), also enforced by an
    interval timer (`armed`) that interrupts any step, even inside a regular expression.

    A review pack may take longer than a unit's return (one sheet per unit): `extend` raises the budget once the
    file says what it is, as its inflate budget is raised."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self._timer = False

    def check(self) -> None:
        """F120 once the budget is spent."""
        if time.monotonic() > self.at:
            raise self.exceeded()

    def exceeded(self) -> Rejected:
        return Rejected("F120", f"读取此文件超过 {self.seconds:g} 秒仍未完成（填报工作簿通常不到 0.1 秒），已停止读取："
                                f"文件可能被其他程序构造或改动；{AGAIN}")

    def extend(self, seconds: float) -> None:
        """A larger budget from now on (counted from the start of the file)."""
        self.at += seconds - self.seconds
        self.seconds = seconds
        if self._timer:
            signal.setitimer(signal.ITIMER_REAL, max(self.at - time.monotonic(), 0.001))

    @contextlib.contextmanager
    def armed(self) -> Iterator[None]:
        """The hard stop: SIGALRM raises F120 wherever the file is being read. Only on POSIX and on the main
        thread (where Python delivers signals); elsewhere the cooperative checks are the budget."""
        if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
            yield
            return

        def expired(signum, frame) -> None:
            if self._timer:
                self._timer = False
                raise self.exceeded()
        previous = signal.signal(signal.SIGALRM, expired)
        self._timer = True
        signal.setitimer(signal.ITIMER_REAL, max(self.at - time.monotonic(), 0.001))
        try:
            yield
        finally:
            self._timer = False
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)
