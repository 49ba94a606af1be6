"""Python's cyclic garbage collector while a run holds its data: fewer passes, and none over what the run keeps.

Why: a run makes hundreds of thousands of objects that live until its end (each file's outcome, its findings, the
rows of the tables) and almost no reference cycles. With the collector's defaults a pass starts every 700 new
objects, and each full pass walks everything alive, the spec and the modules included — ~4 % of a re-run after a
few late returns (5 000 units, 50 changed: 1.58 → 1.52 s, medians of three) —, and every pass in the forked child
that writes the JSON report (`alongside`) touches, and so copies, pages it shares with this process.

`deferred` — around `Ledger.load`, `run.consolidate` and `outputs.write_outputs` — moves every object at its start
out of the collector's sight (`gc.freeze`; a child forked inside never walks them) and starts a pass every `YOUNG`
new objects instead of 700. Both are undone when the outermost `deferred` ends, so a long-lived
process (the Excel console) collects as usual between runs; nothing is ever left uncollected, only collected later.
"""
from __future__ import annotations

import contextlib
import gc
import threading
from typing import Iterator

YOUNG = 50_000
"""New container objects between two passes of the youngest generation (Python's default: 700). A pass then
looks at at most this many objects; the few cycles a run makes are collected a little later."""

_lock = threading.Lock()
_depth = 0                                   # how many `deferred` are open (nested, or in two threads)
_saved: tuple[int, int, int] = gc.get_threshold()


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Collector passes deferred for the duration of a run's stage (module doc); nests, and is undone by the
    outermost one."""
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(YOUNG, *_saved[1:])
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                gc.set_threshold(*_saved)
                gc.unfreeze()
