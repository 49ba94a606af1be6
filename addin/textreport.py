"""Plain-text rendering for the terminal: aligned tables that stay aligned with Chinese text."""
from __future__ import annotations

import unicodedata
from typing import Sequence


def width(text: str) -> int:
    """Display width: CJK characters take two columns in a terminal."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def table(rows: Sequence[Sequence[str]], right: Sequence[int] = (), gap: int = 2) -> str:
    """Rows of cells as aligned lines; columns whose index is in `right` are right-aligned (numbers)."""
    cols = max(len(r) for r in rows)
    widths = [max(width(r[c]) if c < len(r) else 0 for r in rows) for c in range(cols)]
    lines = []
    for r in rows:
        cells = []
        for c in range(cols):
            text = r[c] if c < len(r) else ""
            pad = " " * (widths[c] - width(text))
            cells.append(pad + text if c in right else text + pad)
        lines.append((" " * gap).join(cells).rstrip())
    return "\n".join(lines)


def number(x: float | None, digits: int, blank: str = "—") -> str:
    """A figure with fixed decimals and thousands separators; blank figures show as a dash, never 0."""
    if x is None:
        return blank
    return f"{x:,.{digits}f}"
