"""`consolidate`: from a folder of returned workbooks to a `ConsolidationRun`, every file accounted for.

1. Walk the folder (recursively, sorted): lock, hidden and system files are *skipped*; everything else is read.
2. Read each file safely (`read.read_returned`) and check it (`udfs.checks.check_extracted`): unreadable or
   foreign files are *rejected*; the rest are *consolidated* with recomputed figures and their findings.
   Files run in parallel on 2 processes when there are enough of them; results are ordered by path.
3. A ledger (SQLite, next to the summary) remembers each file's size, mtime and outcome: a re-run reads
   only new or changed files, and reports files that disappeared since the last run.
4. Duplicates (two files for one 统一社会信用代码) are resolved by a documented rule and both are listed;
   with a roster, units without a return and returns from units not on it are listed too.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from stat import S_ISLNK
from typing import Callable, Iterable

from generator.layout import TEMPLATE_VERSION
from udfs.checks import check_many
from udfs.intake import Finding
from udfs.results import SCOPE_TEXT
from udfs.review_checks import check_pack
from udfs.unit_code import normalize_unit_code
from workbook_templates import Spec, load_spec

from .model import (CONSOLIDATED, REJECTED, REVIEW, SKIPPED, ConsolidationRun, DuplicateGroup, FileOutcome,
                    Rendered, RosterEntry, StoredFigures)
from .read import read_returned, skip_reason
from .report import to_json
from .reviews import RUN_LEVEL_CODES, score_reviews
from .summary import unit_cells

PARALLEL_FROM = 40
"""Below this many files to read, starting worker processes costs more than it saves."""
CHUNK = 32
"""Files per work item: enough for the batched recomputation to pay off, small enough for a smooth progress."""

DUPLICATE_RULE = ("同一统一社会信用代码有多个文件时：优先采用没有错误的文件；都没有错误（或都有错误）时，"
                  "采用修改时间最新的文件；修改时间相同时按文件路径排序取最后一个。其余文件列出但不参与汇总。")


def consolidate(folder: str | Path, *, roster: list[RosterEntry] | None = None, year: int | None = None,
                preset: str | None = None, ledger: str | Path | None = None, spec: Spec | None = None,
                workers: int = 2, progress: Callable[[int, int], None] | None = None,
                outputs: Iterable[str | Path] = (), reviews: str | Path | None = None,
                scope: str | None = None) -> ConsolidationRun:
    """Read, check and recompute every file under `folder` — units' returns and reviewers' review packs — and
    under `reviews` (more review packs, listed as 「<folder name>/…」). `outputs` (this run's summary, report
    and ledger) are skipped if they lie inside the folders, so a run never reads its own results. `scope` of
    the ranking: region | prefecture (default: the spec's)."""
    spec = spec or load_spec()
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"回收目录「{folder}」不存在或不是目录：请检查路径")
    if reviews is not None and not Path(reviews).is_dir():
        raise FileNotFoundError(f"评审包目录「{reviews}」不存在或不是目录：请检查路径")
    if scope is not None and scope not in SCOPE_TEXT:
        raise ValueError(f"排名范围「{scope}」无法识别：应为 region（全区统一排名）或 prefecture（各地州市分别排名）")
    year = spec.year(year).year
    preset = spec.preset(preset).id
    run_key = f"{year}|{preset}|{spec.digest}|{TEMPLATE_VERSION}"

    stats = _walk(folder)
    rels = {p: p.relative_to(folder).as_posix() for p in stats}
    if reviews is not None and not _inside(Path(reviews), folder):
        extra = _walk(Path(reviews))
        stats.update(extra)
        rels.update({p: f"{Path(reviews).resolve().name}/{p.relative_to(reviews).as_posix()}" for p in extra})
    paths = sorted(stats, key=lambda p: rels[p])
    own = {Path(o).resolve() for o in outputs}
    own |= {o.with_name(o.name + "-journal") for o in own}
    own_names = {o.name for o in own}
    known = _Ledger(ledger, run_key, spec) if ledger else None
    outcomes: dict[Path, FileOutcome] = {}
    to_read: list[Path] = []
    touched: set[str] = set()
    for p in paths:
        rel = rels[p]
        reason = ("本次汇总的输出文件" if p.name in own_names and p.resolve() in own
                  else "符号链接：请放入文件本身" if S_ISLNK(stats[p].st_mode) else skip_reason(p))
        if reason:
            outcomes[p] = FileOutcome(path=rel, size=stats[p].st_size, sha256="", status=SKIPPED, skip_reason=reason)
        elif known and (cached := known.outcome(rel, stats[p].st_size, stats[p].st_mtime_ns)):
            outcomes[p] = cached
        elif known and (cached := known.same_content(rel, p, stats[p].st_size)):
            outcomes[p] = cached
            touched.add(rel)                             # recorded again with its new mtime
        else:
            to_read.append(p)

    jobs = [(str(p), rels[p], year, preset) for p in to_read]
    chunks = [jobs[i:i + CHUNK] for i in range(0, len(jobs), CHUNK)]
    done = len(paths) - len(to_read)
    if progress:
        progress(done, len(paths))
    reread: set[str] = set()
    for chunk, results in zip(chunks, _map(_process_chunk, chunks, workers if len(jobs) >= PARALLEL_FROM else 1)):
        for (path, rel, _, _), outcome in zip(chunk, results):
            outcomes[Path(path)] = outcome
            reread.add(rel)
        done += len(chunk)
        if progress:
            progress(done, len(paths))

    files = [outcomes[p] for p in paths]
    run = ConsolidationRun(folder=str(folder), year=year, preset=preset, files=files, roster=roster)
    mtimes = {outcomes[p].path: stats[p].st_mtime_ns for p in paths}
    _resolve_duplicates(run, mtimes)
    if roster is not None:
        _match_roster(run, roster)
    run.scope = scope or spec.assessment.elimination.scope
    score_reviews(run, spec, mtimes, run.scope)
    if known:
        seen = {f.path for f in run.files}
        run.disappeared = known.gone(seen)
        fresh = [f for f in run.files if f.path in reread or f.path in touched or f.status == SKIPPED]
        stat = {outcomes[p].path: (stats[p].st_size, stats[p].st_mtime_ns) for p in paths}
        run.on_written = lambda: known.record(fresh, run.disappeared, stat)
    return run


def _inside(path: Path, folder: Path) -> bool:
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def _walk(folder: Path) -> dict[Path, os.stat_result]:
    """Every file (and symbolic link) under `folder`, recursively, with its lstat — one scandir per folder
    (links to folders are not followed)."""
    found: dict[Path, os.stat_result] = {}
    pending = [folder]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for e in entries:
                if e.is_dir(follow_symlinks=False):
                    pending.append(Path(e.path))
                elif e.is_file(follow_symlinks=False) or e.is_symlink():
                    found[Path(e.path)] = e.stat(follow_symlinks=False)
    return found


def _map(fn, jobs: list, workers: int) -> Iterable:
    """`map`, on `workers` processes when more than one (results in job order)."""
    if workers <= 1:
        return map(fn, jobs)
    return _pool_map(fn, jobs, workers)


def _pool_map(fn, jobs: list, workers: int) -> Iterable:
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(fn, jobs)


def _process_chunk(jobs: list[tuple[str, str, int, str]]) -> list[FileOutcome]:
    """Read and check a chunk of files (in a worker process): one batched recomputation for the chunk.
    Never raises for a file's content: a failure is that file's finding."""
    spec = load_spec()
    outcomes, readable = [], []
    for path, rel, year, preset in jobs:
        read = read_returned(Path(path), spec)
        outcome = FileOutcome(path=rel, size=read.size, sha256=read.sha256, status=REJECTED,
                              findings=list(read.findings), unit=dict(read.unit), meta=dict(read.meta),
                              blocking=True, kind=read.kind)
        outcomes.append(outcome)
        if read.kind == REVIEW:
            if read.status == "ok":
                _take_pack(outcome, read, spec, year)
        elif read.status == "ok" and read.extracted is not None:
            readable.append((outcome, read))
    if not readable:
        return outcomes
    year, preset = jobs[0][2], jobs[0][3]
    checked = check_many([r.extracted for _, r in readable], spec, year=year, preset=preset,
                         run_digest=spec.digest)
    for (outcome, read), result in zip(readable, checked):
        outcome.status = CONSOLIDATED
        outcome.findings += result.findings
        outcome.inputs, outcome.results = result.inputs, result.results
        outcome.blocking = result.blocking or any(f.severity(spec) == "错误" for f in read.findings)
        code = normalize_unit_code(outcome.unit.get("unit_code"))
        if code:
            outcome.unit["unit_code"] = code
        outcome.rendered = render_figures(outcome, spec)
    return outcomes


def _take_pack(outcome: FileOutcome, read, spec: Spec, year: int) -> None:
    """A review pack: its whole-pack checks (R606, F111, F112) and its scorecards as plain data; the
    scorecards are scored at the run level, against each unit's return (`reviews.score_reviews`)."""
    problems = check_pack(read.meta, spec, year, spec.digest)
    outcome.findings += problems
    outcome.blocking = any(f.severity(spec) == "错误" for f in problems)
    outcome.status = REJECTED if outcome.blocking else CONSOLIDATED
    outcome.scorecards = [{"sheet": c.sheet, "values": c.cells.values, "errors": c.cells.errors,
                           "cells": c.cells.cells, "uncached": sorted(c.cells.formulas - c.cells.cached)}
                          for c in read.scorecards]


def render_figures(f: FileOutcome, spec: Spec) -> Rendered:
    """The file's figures as the outputs show them — rendered here, in the worker, once per file read."""
    return Rendered(to_json(f.inputs), to_json(f.results), unit_cells(f.inputs, f.results, spec))


def _resolve_duplicates(run: ConsolidationRun, mtimes: dict[str, int]) -> None:
    by_code: dict[str, list[FileOutcome]] = {}
    for f in run.files:
        if f.status == CONSOLIDATED and f.code:
            by_code.setdefault(f.code, []).append(f)
    for code in sorted(by_code):
        group = by_code[code]
        if len(group) < 2:
            continue
        chosen = max(group, key=lambda f: (not f.blocking, mtimes.get(f.path, 0), f.path))
        paths = sorted(f.path for f in group)
        for f in group:
            f.used = f is chosen
            others = "、".join(p for p in paths if p != f.path)
            verdict = "采用本文件" if f.used else f"采用「{chosen.path}」，本文件不参与汇总"
            f.findings.append(Finding("D501", f"同一单位还交了：{others}；{verdict}（规则：优先无错误，再取最新）",
                                      name="unit_code"))
        run.duplicates.append(DuplicateGroup(unit_code=code, files=paths, chosen=chosen.path, rule=DUPLICATE_RULE))


def _match_roster(run: ConsolidationRun, roster: list[RosterEntry]) -> None:
    listed = {r.code for r in roster}
    returned = {f.code for f in run.units}
    run.not_returned = [r for r in roster if r.code not in returned]
    for f in run.units:
        if f.code not in listed:
            f.findings.append(Finding("D502", "本单位不在名单中：请核对统一社会信用代码，或确认是否应纳入本次复验",
                                      name="unit_code"))
            run.outside_roster.append(f)


# ---------------------------------------------------------------- the ledger

class _Ledger:
    """What each file was last time: re-runs read only new or changed files. A file is unchanged when its size
    and mtime are, or — when only the mtime changed, as after copying a folder — when its SHA-256 is.

    Each row keeps the file's outcome (small JSON) and its rendered figures (`Rendered`): a re-run reuses them
    as they are, so the outputs cost little more than joining text for the files that did not change."""

    FORMAT = 4
    """Bumped when a row's layout changes: a ledger of another format is emptied, and every file read again."""

    def __init__(self, path: str | Path, run_key: str, spec: Spec):
        self.db = sqlite3.connect(str(path))
        self.run_key = run_key
        if self.db.execute("PRAGMA user_version").fetchone()[0] != self.FORMAT:
            with self.db:
                self.db.execute("DROP TABLE IF EXISTS files")
                self.db.execute(f"PRAGMA user_version = {self.FORMAT}")
        self.db.execute("""CREATE TABLE IF NOT EXISTS files (
            path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, sha256 TEXT, unit_code TEXT,
            template_version TEXT, status TEXT, findings INTEGER, run_key TEXT, outcome TEXT,
            inputs_json TEXT, results_json TEXT, summary_cells TEXT, key_figures TEXT,
            checked_at TEXT DEFAULT CURRENT_TIMESTAMP)""")
        # One query for all rows: a re-run over thousands of files looks each one up in memory.
        self.known = {row[0]: row[1:] for row in self.db.execute(
            "SELECT path, size, mtime_ns, sha256, outcome, inputs_json, results_json, summary_cells, key_figures"
            " FROM files WHERE run_key=?", (run_key,))}
        self.covered = key_names(spec)

    def outcome(self, path: str, size: int, mtime_ns: int) -> FileOutcome | None:
        """The file's outcome last time, if its size and mtime are unchanged."""
        row = self.known.get(path)
        if row is None or row[0] != size or row[1] != mtime_ns:
            return None
        return _outcome_from_row(*row[3:], covered=self.covered)

    def same_content(self, path: str, file: Path, size: int) -> FileOutcome | None:
        """The file's outcome last time, if its bytes are unchanged (only its mtime moved)."""
        row = self.known.get(path)
        if row is None or row[0] != size or not row[2]:
            return None
        try:
            digest = hashlib.sha256(file.read_bytes()).hexdigest()
        except OSError:
            return None                                  # read it properly: the reader reports the problem
        return _outcome_from_row(*row[3:], covered=self.covered) if digest == row[2] else None

    def gone(self, seen: set[str]) -> list[str]:
        """Files the ledger knew that are not in the folder any more."""
        return sorted(p for (p,) in self.db.execute("SELECT path FROM files") if p not in seen)

    def record(self, files: list[FileOutcome], gone: list[str], stat: dict[str, tuple[int, int]]) -> None:
        """Store the outcomes of the files read in this run and forget the gone ones — only after the outputs
        were written, so a failed write still reports them next time."""
        with self.db:
            self.db.executemany("DELETE FROM files WHERE path=?", [(p,) for p in gone])
            self.db.executemany(
                "INSERT OR REPLACE INTO files (path, size, mtime_ns, sha256, unit_code, template_version, status,"
                " findings, run_key, outcome, inputs_json, results_json, summary_cells, key_figures)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [(f.path, *stat[f.path], f.sha256, f.code, str(f.meta.get("template_version") or ""), f.status,
                  len(f.findings), self.run_key, _outcome_to_json(f), *_rendered_columns(f),
                  _key_figures(f, self.covered)) for f in files])
        self.db.close()


def _rendered_columns(f: FileOutcome) -> tuple[str | None, str | None, str | None]:
    r = f.rendered
    return (r.inputs_json, r.results_json, r.summary_cells) if r else (None, None, None)


_FIGURES = ("inputs", "results", "rendered")
NOT_KEPT = RUN_LEVEL_CODES | {"D501", "D502"}
"""Findings made afresh on every run (duplicates, roster, review packs), never stored in the ledger."""


def _outcome_to_json(f: FileOutcome) -> str:
    # Shallow on purpose (dataclasses.asdict deep-copies every value: ~1 ms a file on the main process). The
    # figures are stored once, as rendered.
    d = {k: getattr(f, k) for k in FileOutcome.__dataclass_fields__ if k not in _FIGURES}
    d["used"] = True        # duplicates and roster matches are resolved afresh on every run
    d["findings"] = [{"code": x.code, "message": x.message, "name": x.name, "cell": x.cell}
                     for x in f.findings if x.code not in NOT_KEPT]
    return json.dumps(d, ensure_ascii=False)


def key_names(spec: Spec) -> frozenset[str]:
    """The names the run's own tables read for every unit (statistics, review results, per-indicator
    averages, the console): kept decoded in the ledger beside the full figures."""
    names = {"self_total", "self_pass", *(f"ok_{i.key}" for i in spec.decline_intensities)}
    for ind in spec.indicators:
        names.add(ind.score_name)
        if ind.rule.selector:
            names.add(ind.rule.selector)
    return frozenset(names)


def _key_figures(f: FileOutcome, covered: frozenset[str]) -> str | None:
    if not f.rendered:
        return None
    return json.dumps({"inputs": {k: v for k, v in f.inputs.items() if k in covered},
                       "results": {k: v for k, v in f.results.items() if k in covered}}, ensure_ascii=False)


def _outcome_from_row(text: str, inputs: str | None, results: str | None, cells: str | None,
                      key_figures: str | None, covered: frozenset[str] = frozenset()) -> FileOutcome:
    d = json.loads(text)
    d["findings"] = [Finding(**x) for x in d["findings"]]
    f = FileOutcome(**d)
    if inputs is not None and results is not None and cells is not None:
        preview = json.loads(key_figures) if key_figures else {"inputs": {}, "results": {}}
        shown = covered if key_figures else frozenset()
        f.inputs = StoredFigures(inputs, preview["inputs"], shown)
        f.results = StoredFigures(results, preview["results"], shown)
        f.rendered = Rendered(inputs, results, cells)
    return f


def read_roster_entries(path: str | Path, spec: Spec | None = None) -> tuple[list[RosterEntry], list[str]]:
    """The roster's valid units as entries, and its problems as lines (a roster with problems still counts
    its valid rows; the problems are reported)."""
    from generator.roster import read_roster
    roster = read_roster(path, spec)
    return ([RosterEntry(u.name, u.code, u.level, u.region) for u in roster.units],
            [str(p) for p in roster.problems])


def write_outputs(run: ConsolidationRun, summary: str | Path, report: str | Path | None,
                  spec: Spec | None = None) -> None:
    """The summary workbook (and the JSON report), each written atomically."""
    from .report import content, write_report
    from .summary import write_summary
    data = content(run, spec)      # built once for both outputs (it also checks the accounting)
    write_summary(run, Path(summary), spec, data)
    if report:
        write_report(run, Path(report), spec, data)
    if run.on_written:
        run.on_written()
        run.on_written = None


def ledger_path(summary: str | Path) -> Path:
    """The ledger beside the summary: 汇总.xlsx → 汇总.jieyue-ledger.sqlite."""
    summary = Path(summary)
    return summary.with_name(summary.stem + ".jieyue-ledger.sqlite")


__all__ = ["consolidate", "read_roster_entries", "write_outputs", "ledger_path", "DUPLICATE_RULE"]
