"""How the reader gives up on a file: `Rejected` carries the one finding (F1xx) that says why and what to do.

Every stage of reading raises it; `read_returned` turns it into the file's finding, so a hostile or broken
file never stops the run.
"""
from __future__ import annotations

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
