"""Stage 5: the outputs of a run — the summary workbook, the JSON report and the ledger, changed together.

`check_outputs` runs before any work, so a bad path fails before a single file is read (a folder where a file
goes, a missing folder, a folder that cannot be written, a summary open in Excel). `claim_outputs` takes the
lock beside the summary for the whole run (a second run waits, then refuses) and first finishes what a killed
run left: it completes the renames its run marker lists and removes its temporaries.

`write_outputs` builds `content(run)` once and writes the outputs so that they change together or not at all:

1. the summary and the report are written completely to temporaries (`~$jieyue-<tag>-….tmp`) beside them — the
   report in a child process at the same time where that is safe (`alongside`);
2. the run marker (`~$jieyue-<summary name>.run`) records which temporary becomes which output;
3. the temporaries are renamed in a fixed order — summary, report — and the ledger is committed last (one
   SQLite transaction);
4. the marker is removed.

A run whose fingerprint (`fingerprint`) is the last run's, its outputs untouched since, writes nothing at all: the
CLI says so instead (`ledger.LastRun`); the fingerprint is stored by the ledger's commit, after the rows.

Killed before 2, the previous outputs are untouched and the next run removes the temporaries; killed during 3, the
next run finds the marker and completes the renames before it starts. The ledger is never ahead of the summary:
at worst behind it, and then the next run reads again the files it would have skipped.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from generator.ooxml import TEMP_PREFIX, check_output, remove_stale_temporaries, write_atomically, write_temporary
from workbook_templates import Spec
from workbook_templates.errors import OutputError

from .content import content, outcome_line
from .ledger import LastRun, Ledger, ledger_path, output_stamps
from . import alongside, lock
from .collector import deferred
from .model import ConsolidationRun
from .pause import pause_at
from .report_json import dump_report
from .summary import render_into


@dataclass(frozen=True)
class OutputPaths:
    """A run's outputs and the files that guard them, all beside the summary except the report."""

    summary: Path
    report: Path | None

    @property
    def ledger(self) -> Path:
        return ledger_path(self.summary)

    @property
    def tag(self) -> str:
        """Marks this summary's temporaries (in every output folder): a hash of its full path."""
        where = str(self.summary.resolve()).encode("utf-8", "surrogateescape")
        return hashlib.sha256(where).hexdigest()[:10]

    @property
    def lock(self) -> Path:
        return self.summary.with_name(f"{TEMP_PREFIX}{self.summary.name}.lock")

    @property
    def marker(self) -> Path:
        return self.summary.with_name(f"{TEMP_PREFIX}{self.summary.name}.run")

    def folders(self) -> list[Path]:
        return sorted({self.summary.parent, *([self.report.parent] if self.report else [])})


def check_outputs(summary: str | Path, report: str | Path | None) -> None:
    """Before any work: the summary must be an .xlsx and the report a .json, neither a folder nor the other, in
    folders that exist and can be written, and neither open in another program (OutputError otherwise)."""
    summary = check_output(summary, ".xlsx", "汇总表")
    if report:
        report = check_output(report, ".json", "JSON 报告")
        if report.resolve() == summary.resolve():
            raise OutputError(f"JSON 报告与汇总表是同一个文件「{report}」：请换一个名称")
    ledger = ledger_path(summary)
    if ledger.is_dir():
        raise OutputError(f"「{ledger}」是一个文件夹：汇总表旁的台账应为一个文件，请移走这个文件夹，或换一个汇总表名称")
    for path, what in ((summary, "汇总表"), (report, "JSON 报告"), (ledger, "台账")):
        if path:
            _check_writable(Path(path), what)


def _check_writable(path: Path, what: str) -> None:
    """The folder takes a new file and an existing `path` can be replaced (not open in Excel on Windows, not
    read-only): found now, not after the whole run."""
    try:
        probe = write_temporary(path, b"")
        probe.unlink()
    except OSError as e:
        raise OutputError(f"无法在「{path.parent}」中写入{what}（{e.strerror or e}）：请检查这个文件夹的写入权限，"
                          "或换一个输出位置") from None
    if path.is_file():
        try:
            with open(path, "r+b"):
                pass
        except OSError as e:
            raise OutputError(f"{what}「{path}」无法改写（{e.strerror or e}）：如果它正在 Excel 或 WPS 中打开，"
                              "请先关闭；否则请检查它是否只读") from None


@contextlib.contextmanager
def claim_outputs(summary: str | Path, report: str | Path | None, wait: float | None = None) -> Iterator[list[str]]:
    """Hold the outputs' lock for the duration of a run (a second run waits `wait` seconds, default `lock.WAIT`,
    then refuses); before yielding, finish what a killed run of the same outputs left (`finish_interrupted`) and
    remove its temporaries. Yields the notices (Chinese lines) the run reports about it."""
    paths = OutputPaths(Path(summary), Path(report) if report else None)
    with lock.output_lock(paths.lock, paths.summary, lock.WAIT if wait is None else wait):
        notices = finish_interrupted(paths)
        removed = [tmp for folder in paths.folders() for tmp in remove_stale_temporaries(folder, paths.tag)]
        if removed:
            notices.append(f"删除了上次中断的汇总留下的 {len(removed)} 个临时文件（~$jieyue-…tmp）")
        yield notices


def finish_interrupted(paths: OutputPaths) -> list[str]:
    """The renames a killed run's marker lists, completed (each temporary was complete before the marker was
    written); the notice saying so, or [] when there is no marker."""
    if not paths.marker.exists():
        return []
    try:
        moves = json.loads(paths.marker.read_text("utf-8"))["moves"]
        pairs = [(Path(tmp), Path(target)) for tmp, target in moves]
    except (OSError, ValueError, KeyError, TypeError):
        pairs = []                                      # unreadable: its temporaries are removed as stale
    done = []
    for tmp, target in pairs:
        if tmp.exists():
            os.replace(tmp, target)
            done.append(target.name)
    paths.marker.unlink()
    what = f"已补完写出：{'、'.join(done)}" if done else "输出文件已是完整的"
    return [f"上次汇总在写出输出文件时中断（{what}；台账没有更新，相关文件本次重新读取），本次汇总已全部重新生成"]


@deferred()
def write_outputs(run: ConsolidationRun, summary: str | Path, report: str | Path | None, spec: Spec,
                  ledger: Ledger | None = None) -> None:
    """The summary workbook, the JSON report and the ledger's pending rows, changed together (module doc)."""
    data = content(run, spec)          # built once for both outputs (it also checks the accounting)
    paths = OutputPaths(Path(summary), Path(report) if report else None)
    temps: list[tuple[Path, Path]] = []
    # the report written alongside the summary, in a child process where that is safe (`alongside`)
    pending = (alongside.start(lambda: write_temporary(paths.report, lambda f: dump_report(data, f), paths.tag))
               if paths.report else None)
    try:
        temps.append((write_temporary(paths.summary, lambda f: render_into(data, spec, f), paths.tag), paths.summary))
        if pending is not None and paths.report:
            temps.append((pending.result(), paths.report))
    except BaseException:
        if pending is not None:
            pending.stop()
        # Every temporary of this run goes — the summary's, and the report's however far the child got: stopped
        # between making its temporary and handing it over (or its own cleanup), it cannot remove it itself.
        # Marked with this summary's tag: while a run holds the outputs' lock (`claim_outputs`), none is another's.
        for folder in paths.folders():
            with contextlib.suppress(OSError):
                remove_stale_temporaries(folder, paths.tag)
        raise
    pause_at("written")
    renamed = 0
    try:
        marker = {"moves": [[str(tmp), str(target)] for tmp, target in temps], "pid": os.getpid()}
        write_atomically(paths.marker, json.dumps(marker, ensure_ascii=True).encode("ascii"), paths.tag)
        for tmp, target in temps:
            os.replace(tmp, target)
            renamed += 1
            if renamed == 1:
                pause_at("renaming")
    except BaseException:
        if renamed == 0:                                # nothing changed yet: leave the previous outputs as they were
            for path in (*(tmp for tmp, _ in temps), paths.marker):
                with contextlib.suppress(OSError):
                    path.unlink()
        raise                                           # else the marker stays: the next run completes the renames
    pause_at("ledger")
    if ledger is not None:
        # A run that reports files gone since last time, or says something about itself (a ledger set aside, a
        # killed run completed), is not what the next run over the same files writes: no fingerprint then.
        repeatable = run.fingerprint is not None and not run.disappeared and not run.notices
        ledger.pending.last_run = LastRun(run.fingerprint, output_stamps([target for _, target in temps]),
                                          outcome_line(run)) if repeatable else None
        ledger.commit()
    paths.marker.unlink()
