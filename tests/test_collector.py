"""The garbage collector while a run holds its data (`addin.consolidate.collector.deferred`): passes deferred and
what was alive kept out of them during the run, everything as before once the outermost stage ends — a cycle made
during a run is still collected, only later.
"""
from __future__ import annotations

import gc
import threading
import weakref

from addin.consolidate import collector
from addin.consolidate.collector import YOUNG, deferred
from tests.hostile import SPEC, base_return, code, with_code


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def test_a_run_defers_passes_and_hides_what_was_alive_then_puts_everything_back():
    before = gc.get_threshold()
    with deferred():
        assert gc.get_threshold() == (YOUNG, *before[1:])
        assert gc.get_freeze_count() > 0                # what was alive is out of the collector's sight
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_only_the_outermost_stage_puts_the_collector_back():
    before = gc.get_threshold()
    with deferred():
        with deferred():                                # write_outputs inside a run, say
            pass
        assert gc.get_threshold() == (YOUNG, *before[1:])   # the inner one's end changes nothing
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_a_cycle_made_during_a_run_is_collected_after_it():
    with deferred():
        a, b = Node(), Node()
        a.other, b.other = b, a                         # a reference cycle: only the collector frees it
        gone = weakref.ref(a)
        del a, b
    gc.collect()
    assert gone() is None


def test_a_stage_that_fails_still_puts_the_collector_back():
    before = gc.get_threshold()
    try:
        with deferred():
            raise RuntimeError("失败")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_two_threads_running_stages_leave_the_collector_as_it_was():
    before = gc.get_threshold()
    start = threading.Barrier(4)

    def stage() -> None:
        start.wait()
        for _ in range(200):
            with deferred():
                pass
    threads = [threading.Thread(target=stage) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert collector._depth == 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_the_runs_stages_are_deferred(tmp_path, monkeypatch):
    """consolidate, the ledger's load and write_outputs each run with the collector deferred."""
    from addin.consolidate import Ledger, consolidate, ledger_path, write_outputs
    seen = []
    real = collector.gc.set_threshold

    def watched(*args):
        seen.append(args[0])
        real(*args)
    folder = tmp_path / "回收"
    folder.mkdir()
    (folder / "单位.xlsx").write_bytes(with_code(base_return(), code(1)))
    summary = tmp_path / "汇总.xlsx"
    monkeypatch.setattr(collector.gc, "set_threshold", watched)
    ledger = Ledger.load(ledger_path(summary), SPEC)
    run = consolidate(folder, spec=SPEC, ledger=ledger, workers=1)
    write_outputs(run, summary, None, SPEC, ledger)
    assert seen.count(YOUNG) == 3                       # load, consolidate, write_outputs: each deferred once
    assert gc.get_freeze_count() == 0
