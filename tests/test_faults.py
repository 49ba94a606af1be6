"""Issue 10 §5: faults — nothing lost, nothing half-written.

* kill -9 at the named stages of the write phase (`JIEYUE_PAUSE_AT`, addin/consolidate/pause.py): before any rename
  the previous outputs are untouched; in the middle, the run marker lets the next run complete the renames; either
  way the next run reports it, removes our temporaries and writes consistent outputs;
* kill -9 while the workers read: the worker processes exit with their parent;
* a corrupt ledger (truncated, garbage, another file's tables) is set aside under a timestamped name and rebuilt; a
  tampered row (a formula planted in the stored cells, a broken outcome, a fragment that would add keys to the JSON
  report) is not used — the file is read again — and the run says so;
* two runs on the same outputs: the second waits, then refuses; a killed run's lock is released by the system;
* bad output paths fail before any work; `--verify` re-reads a file changed with its size and time restored;
* a file that kills its worker process, or makes the checks fail, is that file's finding (F100), never the run's.
"""
from __future__ import annotations

import json
import math
import os
import select
import signal
import sqlite3
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path

import pytest

from addin import cli
from addin.consolidate import claim_outputs, consolidate, ledger_path, workers as workers_module, write_outputs
from addin.consolidate.ledger import FORMAT as LEDGER_FORMAT, Ledger, StagedRows
from addin.consolidate.model import CONSOLIDATED, REJECTED
from addin.consolidate.outputs import OutputPaths
from addin.consolidate.packed import pack, unpack
from generator.ooxml import TEMP_PREFIX
from workbook_templates.errors import OutputError

from tests.hostile import SPEC, base_return, code, scan_summary, with_code
from tests.returns import zip_parts

ROOT = Path(__file__).resolve().parents[1]
POSIX = os.name == "posix"
STARTED = 60.0
"""Seconds a started run may take to reach its pause (a generous bound on a loaded machine, not a measurement)."""


def returns(folder: Path, n: int, first: int = 1) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(first, first + n):
        (folder / f"单位{i:03d}.xlsx").write_bytes(with_code(base_return(), code(i)))
    return folder


def args(folder: Path, out: Path, *more: str) -> list[str]:
    return ["consolidate", str(folder), "-o", str(out / "汇总.xlsx"), "--json", str(out / "报告.json"), *more]


def run(folder: Path, out: Path, *more: str) -> tuple[int, str]:
    """The CLI in a process of its own (as a user runs it): exit code and standard error."""
    done = subprocess.run([sys.executable, "-m", "addin.cli", *args(folder, out, *more)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    return done.returncode, done.stderr


def paused(folder: Path, out: Path, stage: str, *more: str) -> subprocess.Popen:
    """The CLI started with JIEYUE_PAUSE_AT=stage, returned once it announces that it waits there."""
    proc = subprocess.Popen([sys.executable, "-m", "addin.cli", *args(folder, out, *more)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "JIEYUE_PAUSE_AT": stage})
    seen = b""
    until = time.monotonic() + STARTED
    while f"JIEYUE_PAUSE_AT {stage}".encode() not in seen:
        assert proc.poll() is None, seen.decode("utf-8", "replace")
        assert time.monotonic() < until, seen.decode("utf-8", "replace")
        ready, _, _ = select.select([proc.stderr], [], [], 0.2)
        if ready:
            seen += os.read(proc.stderr.fileno(), 65536)
    return proc


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.name.startswith(TEMP_PREFIX))


def accounting(out: Path) -> dict:
    return json.loads((out / "报告.json").read_text("utf-8"))["accounting"]


pytestmark = pytest.mark.skipif(not POSIX, reason="kill -9, FIFOs and the fault hooks are exercised on POSIX")


# ---------------------------------------------------------------- kill -9 in the write phase

@pytest.mark.parametrize("stage", ["written", "renaming", "ledger"])
def test_a_run_killed_while_writing_leaves_nothing_half_written(tmp_path, stage):
    folder, out = returns(tmp_path / "回收目录", 3), tmp_path / "输出"
    out.mkdir()
    assert run(folder, out)[0] == 0
    before = {name: (out / name).read_bytes() for name in ("汇总.xlsx", "报告.json")}
    returns(folder, 1, first=4)                                  # the next run has more to say

    kill(paused(folder, out, stage))
    summary, report = (out / "汇总.xlsx").read_bytes(), (out / "报告.json").read_bytes()
    marker = OutputPaths(out / "汇总.xlsx", out / "报告.json").marker
    if stage == "written":                                        # nothing renamed: the previous outputs, whole
        assert (summary, report) == (before["汇总.xlsx"], before["报告.json"])
        assert not marker.exists() and len(leftovers(out)) >= 2
    elif stage == "renaming":                                     # the summary is new, the report not yet
        assert summary != before["汇总.xlsx"] and report == before["报告.json"] and marker.exists()
    else:                                                         # both new, the ledger not committed
        assert summary != before["汇总.xlsx"] and report != before["报告.json"]
        assert accounting(out)["seen"] == 4
    scan_summary(out / "汇总.xlsx")                                # whatever is there is whole

    rc, err = run(folder, out)
    assert rc == 0, err
    assert ("删除了上次中断的汇总留下的" in err) if stage == "written" else ("上次汇总在写出输出文件时中断" in err)
    assert leftovers(out) == [] and not marker.exists()
    assert accounting(out)["seen"] == accounting(out)["consolidated"] == 4
    scan_summary(out / "汇总.xlsx")
    rc, err = run(folder, out)                                    # and then nothing more to repair
    assert rc == 0 and "提示" not in err, err


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the workers through /proc (Linux)")
def test_workers_exit_when_their_run_is_killed(tmp_path):
    folder, out = returns(tmp_path / "回收目录", workers_module.PARALLEL_FROM + 2), tmp_path / "输出"
    out.mkdir()
    proc = paused(folder, out, "reading")
    children = _children(proc.pid)
    assert children, "the run reads on worker processes"
    kill(proc)
    until = time.monotonic() + 60                                 # they look every 0.5 s: a generous bound
    while any(_alive(c) for c in children) and time.monotonic() < until:
        time.sleep(0.2)
    assert not any(_alive(c) for c in children)
    rc, err = run(folder, out)                                    # the lock died with the run
    assert rc == 0, err


# ---------------------------------------------------------------- the ledger

def _truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def _garbage(path: Path) -> None:
    path.write_bytes(os.urandom(4096))


def _other_tables(path: Path) -> None:
    path.unlink()
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE files (path TEXT)")
    db.execute(f"PRAGMA user_version = {LEDGER_FORMAT}")                # this program's format, broken tables
    db.commit()
    db.close()


def _text_file(path: Path) -> None:
    path.write_text("SQLite format 3\x00 but not really", encoding="utf-8")


@pytest.mark.parametrize("damage", [_truncated, _garbage, _other_tables, _text_file], ids=lambda f: f.__name__[1:])
def test_a_corrupt_ledger_is_set_aside_and_rebuilt(tmp_path, damage):
    folder, out = returns(tmp_path / "回收目录", 3), tmp_path / "输出"
    out.mkdir()
    assert run(folder, out)[0] == 0
    ledger = ledger_path(out / "汇总.xlsx")
    damage(ledger)
    rc, err = run(folder, out)
    assert rc == 0, err
    notice = [line for line in err.splitlines() if "台账" in line and "已损坏" in line]
    assert len(notice) == 1 and "已改名为" in notice[0], err
    aside = [p for p in out.iterdir() if p.name.startswith(ledger.name + ".损坏-")]
    assert len(aside) == 1
    rows = sqlite3.connect(ledger).execute("SELECT count(*) FROM files").fetchone()[0]
    assert rows == 3                                             # rebuilt
    report = json.loads((out / "报告.json").read_text("utf-8"))
    assert any("已损坏" in n for n in report["notices"])           # and said in 说明 and the report
    rc, err = run(folder, out)
    assert rc == 0 and "台账" not in err, err


def test_a_tampered_ledger_row_is_never_spliced_into_the_summary(tmp_path):
    folder, out = returns(tmp_path / "回收目录", 4), tmp_path / "输出"
    out.mkdir()
    assert run(folder, out)[0] == 0
    db = sqlite3.connect(ledger_path(out / "汇总.xlsx"))
    paths = [p for (p,) in db.execute("SELECT path FROM files ORDER BY path")]
    (cells,) = db.execute("SELECT summary_cells FROM files WHERE path = ?", (paths[0],)).fetchone()
    linked = pack(unpack(cells).replace("<v>", '<f>HYPERLINK("http://x")</f><v>'))
    db.execute("UPDATE files SET summary_cells = ? WHERE path = ?", (linked, paths[0]))
    db.execute("UPDATE files SET outcome = '{\"path\": 1}' WHERE path = ?", (paths[1],))
    db.execute("UPDATE files SET inputs = ? WHERE path = ?", (pack('{},"state":"有效"'), paths[2]))
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)                # 64 MB of spaces in 64 KB: inflated only to the limit
    db.execute("UPDATE files SET results = ? WHERE path = ?",
               (bomb.compress(b"{" + b" " * (64 << 20)) + bomb.flush(), paths[3]))
    db.commit()
    db.close()
    rc, err = run(folder, out)
    assert rc == 0, err
    assert "台账中 4 条记录无效" in err and all(p in err for p in paths[:4]), err
    scan_summary(out / "汇总.xlsx")
    report = json.loads((out / "报告.json").read_text("utf-8"))   # valid JSON, no key smuggled in
    assert all(set(u) == set(report["units"][0]) for u in report["units"]) and len(report["units"]) == 4
    rc, err = run(folder, out)                                    # the rows were rewritten from the files
    assert rc == 0 and "台账" not in err, err


def test_the_counted_scores_a_ledger_keeps_are_doubles_and_damaged_ones_are_not_used(tmp_path):
    """A unit's counted self scores are stored as little-endian doubles, NaN for a blank (a worked example);
    a row whose scores are infinite, of the wrong length or not bytes is not used: its file is read again, and the
    report's averages are those of a run without the ledger."""
    from addin.consolidate.ledger import counted_array, counted_bytes
    stored = counted_bytes([1.5, math.nan, -0.0, 8.0])
    assert stored == struct.pack("<4d", 1.5, math.nan, -0.0, 8.0) and len(stored) == 4 * 8
    back = counted_array(stored)
    assert back[0] == 1.5 and math.isnan(back[1]) and math.copysign(1.0, back[2]) == -1.0 and back[3] == 8.0

    folder, out = returns(tmp_path / "回收目录", 3), tmp_path / "输出"
    out.mkdir()
    assert run(folder, out)[0] == 0
    clean = json.loads((out / "报告.json").read_text("utf-8"))["unit_indicators"]
    db = sqlite3.connect(ledger_path(out / "汇总.xlsx"))
    paths = [p for (p,) in db.execute("SELECT path FROM files ORDER BY path")]
    (counted,) = db.execute("SELECT counted FROM files WHERE path = ?", (paths[0],)).fetchone()
    scores = len(counted) // 8
    db.execute("UPDATE files SET counted = ? WHERE path = ?", (struct.pack(f"<{scores}d", *[math.inf] * scores),
                                                                 paths[0]))
    db.execute("UPDATE files SET counted = ? WHERE path = ?", (counted[:-8], paths[1]))
    db.execute("UPDATE files SET counted = ? WHERE path = ?", ("1.5", paths[2]))
    db.commit()
    db.close()
    rc, err = run(folder, out)
    assert rc == 0, err
    assert "台账中 3 条记录无效" in err and all(p in err for p in paths), err
    assert json.loads((out / "报告.json").read_text("utf-8"))["unit_indicators"] == clean


def test_a_row_this_machine_sealed_is_taken_as_written_any_other_is_checked(tmp_path, monkeypatch):
    """A re-run takes the rows it sealed with this machine's secret without checking them again (checking is what
    costs a re-run most); a ledger written on another machine (another secret), a row whose seal was copied from
    another row, or no secret at all: every such row is checked (`valid_row`) — and used, being valid."""
    import addin.consolidate.ledger as ledger_module
    folder, ledger_file = returns(tmp_path / "回收目录", 3), tmp_path / "汇总.jieyue-ledger.sqlite"
    here, elsewhere = bytes(range(32)), bytes(range(1, 33))
    checked: list[str] = []
    real = ledger_module.valid_row

    def counted(row, *more):
        checked.append(row[0])
        return real(row, *more)
    monkeypatch.setattr(ledger_module, "valid_row", counted)
    reads: list = []
    real_read = workers_module.read_chunk

    def reading(item):
        reads.extend(item[2])
        return real_read(item)
    monkeypatch.setattr(workers_module, "read_chunk", reading)

    def rerun(secret):
        checked.clear()
        reads.clear()
        ledger = Ledger.load(ledger_file, SPEC, secret=secret)
        run_ = consolidate(folder, spec=SPEC, ledger=ledger, workers=1)
        ledger.commit()
        return sorted(checked), [f.status for f in run_.files]

    paths = ["单位001.xlsx", "单位002.xlsx", "单位003.xlsx"]
    assert rerun(here) == ([], [CONSOLIDATED] * 3) and len(reads) == 3          # the first run reads every file
    assert rerun(here) == ([], [CONSOLIDATED] * 3) and reads == []               # sealed here: taken as written
    assert rerun(elsewhere) == (paths, [CONSOLIDATED] * 3) and reads == []       # another machine's secret: checked
    assert rerun(None) == (paths, [CONSOLIDATED] * 3) and reads == []            # no secret: checked
    db = sqlite3.connect(ledger_file)
    with db:                                          # the second row given the first row's (right) seal
        db.execute("UPDATE files SET seal = (SELECT seal FROM files WHERE path = ?) WHERE path = ?", paths[:2])
    db.close()
    assert rerun(here) == ([paths[1]], [CONSOLIDATED] * 3) and reads == []


def test_a_seal_tells_rows_apart_by_their_values_alone():
    """Equal rows have one seal whatever objects hold their values (a row as written, the same read back from
    SQLite); a value of another type, or one split differently between two columns, gives another seal."""
    from addin.consolidate.ledger import seal
    secret = bytes(range(32))
    name = "单位" + "001.xlsx"                        # made at run time: not the literal below
    as_written = seal(secret, "键", (name, 10, name, None, b"\x00"))
    as_read = seal(secret, "键", ("单位001.xlsx", 10, "".join(["单位", "001.xlsx"]), None, b"\x00"))
    assert as_written == as_read
    others = {seal(secret, "键", ("单位001.xlsx", "10", name, None, b"\x00")),          # 10 as text
              seal(secret, "键", ("单位001.xlsx", 10, name, "", b"\x00")),             # "" for None
              seal(secret, "键", ("单位001.xlsx", 10, name, None, "\x00")),            # text for bytes
              seal(secret, "键", ("单位001.xls", 10, "x" + name, None, b"\x00")),       # a letter moved over
              seal(secret, "另一键", ("单位001.xlsx", 10, name, None, b"\x00")),
              seal(bytes(32), "键", ("单位001.xlsx", 10, name, None, b"\x00"))}
    assert as_written not in others and len(others) == 6


def test_files_the_ledger_cannot_know_are_read_while_it_looks_up_the_others(tmp_path, monkeypatch):
    """A re-run gives the workers the files the ledger has no row of this size for (a new return) before it looks
    up any other, so they are read meanwhile; a file whose row turns out to be no use (here: damaged) is read
    after the lookups. Every file ends up consolidated, each exactly once."""
    import addin.consolidate.run as run_module
    folder, ledger_file = returns(tmp_path / "回收目录", 4), tmp_path / "汇总.jieyue-ledger.sqlite"
    ledger = Ledger.load(ledger_file, SPEC)
    consolidate(folder, spec=SPEC, ledger=ledger)
    ledger.commit()
    returns(folder, 1, first=5)                                   # new since the last run
    db = sqlite3.connect(ledger_file)
    with db:
        db.execute("UPDATE files SET outcome = X'00' WHERE path = '单位002.xlsx'")
    db.close()

    events: list[tuple[str, object]] = []
    real_read_all, real_lookup = run_module.read_all, Ledger.lookup

    def read_all(jobs, *more):
        events.append(("read", [j.rel for j in jobs]))
        return real_read_all(jobs, *more)

    def lookup(self, path, *more):
        events.append(("lookup", path))
        return real_lookup(self, path, *more)
    monkeypatch.setattr(run_module, "read_all", read_all)
    monkeypatch.setattr(Ledger, "lookup", lookup)
    monkeypatch.setattr(workers_module, "PARALLEL_FROM", 1)      # on worker processes, however few
    again = consolidate(folder, spec=SPEC, ledger=Ledger.load(ledger_file, SPEC), workers=2)

    assert events[0] == ("read", ["单位005.xlsx"])                # given to the workers before any lookup
    assert [e for e in events[1:-1]] == [("lookup", f"单位00{i}.xlsx") for i in range(1, 5)]
    assert events[-1] == ("read", ["单位002.xlsx"])               # its row no use: read after the lookups
    assert [f.status for f in again.files] == [CONSOLIDATED] * 5
    assert [f.path for f in again.files] == [f"单位00{i}.xlsx" for i in range(1, 6)]


def test_verify_rereads_a_file_changed_with_its_size_and_time_kept(tmp_path):
    """Stored entries: the same length of content gives the same file size, so only the hash tells."""
    folder, out = tmp_path / "回收目录", tmp_path / "输出"
    folder.mkdir()
    out.mkdir()
    parts = zip_parts(with_code(base_return(), code(7)))

    def stored(old: bytes, new: bytes) -> bytes:
        path = tmp_path / "stored.xlsx"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
            for name, content in parts.items():
                z.writestr(zipfile.ZipInfo(name, (2023, 8, 1, 0, 0, 0)), content.replace(old, new))
        return path.read_bytes()
    first, second = stored(b"<v>405000</v>", b"<v>405000</v>"), stored(b"<v>405000</v>", b"<v>405001</v>")
    assert len(first) == len(second) and first != second
    target = folder / "单位.xlsx"
    target.write_bytes(first)
    assert run(folder, out)[0] == 0
    stamp = target.stat().st_mtime_ns
    target.write_bytes(second)
    os.utime(target, ns=(stamp, stamp))

    def electricity() -> float:
        unit = json.loads((out / "报告.json").read_text("utf-8"))["units"][0]
        return unit["inputs"]["cur_electricity_kwh"]
    assert run(folder, out)[0] == 0 and electricity() == 405000          # the fast path trusts size and time
    assert run(folder, out, "--verify")[0] == 0 and electricity() == 405001


# ---------------------------------------------------------------- two runs, bad paths, stale temporaries

def test_a_second_run_on_the_same_outputs_waits_then_refuses(tmp_path):
    folder, out = returns(tmp_path / "回收目录", 2), tmp_path / "输出"
    out.mkdir()
    first = paused(folder, out, "written")
    with pytest.raises(OutputError, match="另一个汇总正在写出") as e:
        with claim_outputs(out / "汇总.xlsx", out / "报告.json", wait=0.5):
            pass
    assert f"进程 {first.pid}" in str(e.value)
    kill(first)
    with claim_outputs(out / "汇总.xlsx", out / "报告.json", wait=5) as notices:    # released by the system
        assert any("临时文件" in n for n in notices)
    assert leftovers(out) == []


def test_a_concurrent_cli_run_refuses_with_a_clear_message(tmp_path, monkeypatch, capsys):
    folder, out = returns(tmp_path / "回收目录", 2), tmp_path / "输出"
    out.mkdir()
    first = paused(folder, out, "written")
    monkeypatch.setattr("addin.consolidate.lock.WAIT", 0.0)            # refuse at once instead of in 10 s
    try:
        assert cli.main(args(folder, out)) == 2
        assert "另一个汇总正在写出" in capsys.readouterr().err
    finally:
        kill(first)


@pytest.mark.parametrize("case", ["json_is_a_folder", "json_in_a_missing_folder", "ledger_is_a_folder",
                                  "summary_is_a_folder"])
def test_bad_output_paths_fail_before_any_work(tmp_path, case, capsys):
    folder, out = returns(tmp_path / "回收目录", 1), tmp_path / "输出"
    out.mkdir()
    summary, report = out / "汇总.xlsx", out / "报告.json"
    summary.write_bytes(b"previous summary")
    if case == "json_is_a_folder":
        report.mkdir()
    elif case == "json_in_a_missing_folder":
        report = out / "没有的文件夹" / "报告.json"
    elif case == "ledger_is_a_folder":
        ledger_path(summary).mkdir()
    elif case == "summary_is_a_folder":
        summary.unlink()
        summary.mkdir()
    rc = cli.main(["consolidate", str(folder), "-o", str(summary), "--json", str(report)])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("错误："), err
    assert not ledger_path(out / "汇总.xlsx").is_file()           # nothing was read, nothing was written
    if summary.is_file():
        assert summary.read_bytes() == b"previous summary"
    assert leftovers(out) == []


def test_stale_temporaries_of_these_outputs_are_removed_and_no_others(tmp_path):
    folder, out = returns(tmp_path / "回收目录", 1), tmp_path / "输出"
    out.mkdir()
    tag = OutputPaths(out / "汇总.xlsx", out / "报告.json").tag
    ours, other = out / f"{TEMP_PREFIX}{tag}-0123456789ab.tmp", out / f"{TEMP_PREFIX}0123456789ab.tmp"
    ours.write_bytes(b"half")
    other.write_bytes(b"another command's")
    rc, err = run(folder, out)
    assert rc == 0 and "删除了上次中断的汇总留下的 1 个临时文件" in err, err
    assert not ours.exists() and other.exists()


def test_an_unreadable_run_marker_is_removed(tmp_path):
    folder, out = returns(tmp_path / "回收目录", 1), tmp_path / "输出"
    out.mkdir()
    OutputPaths(out / "汇总.xlsx", None).marker.write_bytes(b"\x00garbage")
    rc, err = run(folder, out)
    assert rc == 0 and "上次汇总在写出输出文件时中断" in err, err
    assert leftovers(out) == []


# ---------------------------------------------------------------- a file that breaks its worker

def test_a_file_that_kills_its_worker_process_is_that_files_finding(tmp_path, monkeypatch):
    folder = returns(tmp_path / "回收目录", 6)
    (folder / "致命.xlsx").write_bytes(with_code(base_return(), code(99)))
    real = workers_module.read_returned

    def deadly(path, *a, **k):
        if Path(path).name == "致命.xlsx":
            os._exit(9)                                       # what a segfault or the memory killer does
        return real(path, *a, **k)
    monkeypatch.setattr(workers_module, "read_returned", deadly)   # inherited by the forked workers
    monkeypatch.setattr(workers_module, "PARALLEL_FROM", 2)
    monkeypatch.setattr(workers_module, "CHUNK", 3)
    run_ = consolidate(folder, spec=SPEC, workers=2)
    files = {f.path: f for f in run_.files}
    assert files["致命.xlsx"].status == REJECTED and [x.code for x in files["致命.xlsx"].findings] == ["F100"]
    assert "进程意外退出" in files["致命.xlsx"].findings[0].message
    assert all(f.status == CONSOLIDATED for p, f in files.items() if p != "致命.xlsx")


def test_a_file_that_makes_the_checks_fail_is_that_files_finding(tmp_path, monkeypatch):
    folder = returns(tmp_path / "回收目录", 3)
    (folder / "出错.xlsx").write_bytes(with_code(base_return(), code(98)))
    real = workers_module.check_many

    def failing(extracted, *a, **k):
        if any(ex.values.get("unit_code") == code(98) for ex in extracted):
            raise ZeroDivisionError("a defect this file triggers")
        return real(extracted, *a, **k)
    monkeypatch.setattr(workers_module, "check_many", failing)
    run_ = consolidate(folder, spec=SPEC, workers=1)
    files = {f.path: f for f in run_.files}
    assert files["出错.xlsx"].status == REJECTED and files["出错.xlsx"].findings[-1].code == "F100"
    assert "ZeroDivisionError" in files["出错.xlsx"].findings[-1].message
    assert all(f.status == CONSOLIDATED for p, f in files.items() if p != "出错.xlsx")


def test_rows_stay_in_memory_when_the_temporary_database_cannot_be_written(tmp_path, monkeypatch):
    """The rows a run read wait for the commit in a temporary SQLite database; a full disk or no temporary folder
    (here: the second row on fails) keeps the rest in memory — the run and its ledger are as they would be."""
    folder, out = returns(tmp_path / "回收目录", 3), tmp_path / "输出"
    out.mkdir()
    staged = []

    def failing(self, row):
        if staged:
            raise sqlite3.OperationalError("database or disk is full")
        staged.append(row.path)
        real_stage(self, row)
    real_stage = StagedRows._stage
    monkeypatch.setattr(StagedRows, "_stage", failing)
    ledger = Ledger.load(ledger_path(out / "汇总.xlsx"), SPEC)
    run_ = consolidate(folder, spec=SPEC, ledger=ledger)
    assert len(ledger.pending.rows) == 3 and len(staged) == 1          # one staged, two held
    assert [r.path for r in ledger.pending.rows] == sorted(f.path for f in run_.files)   # in the order read
    write_outputs(run_, out / "汇总.xlsx", out / "报告.json", SPEC, ledger)
    stored = sqlite3.connect(ledger_path(out / "汇总.xlsx")).execute("SELECT count(*) FROM files").fetchone()[0]
    assert stored == 3
