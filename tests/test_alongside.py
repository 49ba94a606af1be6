"""The JSON report is written in a child process alongside the summary (`addin.consolidate.alongside`): the same
bytes as when written in place, its failure is the run's failure, and a failure on either side leaves nothing
behind — the previous outputs whole, no temporary.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from addin.consolidate import alongside, consolidate, outputs as outputs_module, write_outputs
from generator.ooxml import TEMP_PREFIX
from workbook_templates.errors import OutputError

from tests.hostile import SPEC, base_return, code, with_code

FORKS = alongside.can_fork()
forking = pytest.mark.skipif(not FORKS, reason="the child process is forked on Linux only")


def returns(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(1, n + 1):
        (folder / f"单位{i:03d}.xlsx").write_bytes(with_code(base_return(), code(i)))
    return folder


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(TEMP_PREFIX))


# ---------------------------------------------------------------- the mechanism

@forking
def test_the_work_runs_in_another_process_and_its_value_comes_back():
    pending = alongside.start(lambda: ("written", os.getpid()))
    value, pid = pending.result()
    assert value == "written" and pid != os.getpid()


def test_where_nothing_is_forked_the_work_is_done_in_place(monkeypatch):
    monkeypatch.setattr(alongside, "can_fork", lambda: False)
    assert alongside.start(os.getpid).result() == os.getpid()


@pytest.mark.parametrize("fork", [True, False] if FORKS else [False])
def test_what_the_work_raises_is_raised_by_result(monkeypatch, fork):
    monkeypatch.setattr(alongside, "can_fork", lambda: fork)

    def full_disk():
        raise OutputError("磁盘已满：无法写入 JSON 报告")
    pending = alongside.start(full_disk)
    with pytest.raises(OutputError, match="磁盘已满"):
        pending.result()


@forking
def test_a_child_that_dies_is_an_error_that_says_so():
    pending = alongside.start(lambda: os._exit(3))
    with pytest.raises(RuntimeError, match="子进程意外退出（退出码 3）"):
        pending.result()


@forking
def test_stop_interrupts_the_work_and_its_own_cleanup_runs(tmp_path):
    started, temporary = tmp_path / "started", tmp_path / "temporary"

    def slow_write():
        temporary.write_text("half")
        try:
            started.write_text("")
            time.sleep(60)
            return temporary
        finally:
            temporary.unlink()                          # what write_temporary does when interrupted
    pending = alongside.start(slow_write)
    until = time.monotonic() + 30
    while not started.exists():
        assert time.monotonic() < until
        time.sleep(0.01)
    t = time.monotonic()
    assert pending.stop() is None                       # interrupted: nothing made for the caller to undo
    assert time.monotonic() - t < 30 and not temporary.exists()


@forking
def test_stop_after_the_work_finished_returns_what_it_made():
    pending = alongside.start(lambda: "made")
    time.sleep(0.2)
    assert pending.stop() == "made"


# ---------------------------------------------------------------- in write_outputs

def _outputs(tmp_path: Path, name: str, monkeypatch, fork: bool) -> tuple[bytes, bytes]:
    monkeypatch.setattr(alongside, "can_fork", lambda: fork)
    folder = tmp_path / "回收目录"
    if not folder.exists():
        returns(folder, 3)
    out = tmp_path / name
    out.mkdir()
    run = consolidate(folder, spec=SPEC)
    write_outputs(run, out / "汇总.xlsx", out / "报告.json", SPEC)
    assert leftovers(out) == []
    return (out / "汇总.xlsx").read_bytes(), (out / "报告.json").read_bytes()


@forking
def test_the_outputs_are_the_same_bytes_written_alongside_or_in_turn(tmp_path, monkeypatch):
    assert _outputs(tmp_path, "同时", monkeypatch, True) == _outputs(tmp_path, "依次", monkeypatch, False)


@pytest.mark.parametrize("fork", [True, False] if FORKS else [False])
@pytest.mark.parametrize("failing", ["report", "summary"])
def test_either_output_failing_leaves_the_previous_outputs_and_no_temporary(tmp_path, monkeypatch, fork, failing):
    monkeypatch.setattr(alongside, "can_fork", lambda: fork)
    folder, out = returns(tmp_path / "回收目录", 2), tmp_path / "输出"
    out.mkdir()
    write_outputs(consolidate(folder, spec=SPEC), out / "汇总.xlsx", out / "报告.json", SPEC)
    before = (out / "汇总.xlsx").read_bytes(), (out / "报告.json").read_bytes()
    returns(folder, 3)

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(outputs_module, "dump_report" if failing == "report" else "render_into", broken)
    with pytest.raises(OSError, match="No space left"):
        write_outputs(consolidate(folder, spec=SPEC), out / "汇总.xlsx", out / "报告.json", SPEC)
    assert ((out / "汇总.xlsx").read_bytes(), (out / "报告.json").read_bytes()) == before
    assert leftovers(out) == []


@forking
def test_a_report_temporary_the_stopped_child_could_not_remove_is_removed(tmp_path, monkeypatch):
    """The child may be stopped after its temporary is whole and before it hands it over (or before its own cleanup
    is armed): nothing in the child removes it then. The run removes every temporary of its own — found as a
    flaky failure of the test above, 14 times in 400 when stopped at random."""
    folder, out = returns(tmp_path / "回收目录", 2), tmp_path / "输出"
    out.mkdir()
    write_outputs(consolidate(folder, spec=SPEC), out / "汇总.xlsx", out / "报告.json", SPEC)
    before = (out / "汇总.xlsx").read_bytes(), (out / "报告.json").read_bytes()
    real, whole = outputs_module.write_temporary, tmp_path / "报告已写完"

    def made_then_stopped(path, data, tag=""):
        made = real(path, data, tag)
        if path.suffix == ".json":                      # in the child: the report is whole; stopped while here
            whole.write_text("")
            time.sleep(60)
        return made

    def summary_fails_once_the_report_is_made(*args, **kwargs):
        until = time.monotonic() + 30
        while not whole.exists():
            assert time.monotonic() < until
            time.sleep(0.01)
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(alongside, "can_fork", lambda: True)
    monkeypatch.setattr(outputs_module, "write_temporary", made_then_stopped)
    monkeypatch.setattr(outputs_module, "render_into", summary_fails_once_the_report_is_made)
    with pytest.raises(OSError, match="No space left"):
        write_outputs(consolidate(folder, spec=SPEC), out / "汇总.xlsx", out / "报告.json", SPEC)
    assert ((out / "汇总.xlsx").read_bytes(), (out / "报告.json").read_bytes()) == before
    assert leftovers(out) == []
