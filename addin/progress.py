"""A small progress bar on stderr for long runs (no dependency).

Shown when stderr is a terminal or the run has more than 50 steps. On a terminal the bar redraws in place
(at most 10 times a second); in a log (stderr redirected) it writes one line per 10 %.
"""
from __future__ import annotations

import sys
import time
from typing import TextIO

THRESHOLD = 50


class Progress:
    def __init__(self, total: int = 0, label: str = "", stream: TextIO | None = None, width: int = 30):
        self.label, self.width = label, width
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._set_total(total)
        self._start = time.monotonic()
        self._last_draw = 0.0
        self._last_tenth = -1

    def _set_total(self, total: int) -> None:
        self.total = total
        self.enabled = total > 0 and (self.tty or total > THRESHOLD)

    def __call__(self, done: int, total: int | None = None) -> None:
        """`done` steps of `total` (given by whoever counts them, e.g. the run once it has walked the folder)."""
        if total is not None and total != self.total:
            self._set_total(total)
        self.update(done)

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        if self.tty:
            now = time.monotonic()
            if done < self.total and now - self._last_draw < 0.1:
                return
            self._last_draw = now
            filled = self.width * done // self.total
            bar = "█" * filled + "░" * (self.width - filled)
            self.stream.write(f"\r{self.label}{bar} {done}/{self.total}（{100 * done // self.total}%）")
            if done >= self.total:
                self.stream.write(f"，用时 {time.monotonic() - self._start:.1f} 秒\n")
            self.stream.flush()
        else:
            tenth = 10 * done // self.total
            if tenth > self._last_tenth:
                self._last_tenth = tenth
                self.stream.write(f"{self.label}{done}/{self.total}（{10 * tenth}%）\n")
                self.stream.flush()
