"""Stage 2 of a run: each file read, checked and recomputed — in worker processes when there are many.

A file is recomputed with **its own** choices: the assessment year and factor preset its `_meta` records
(what the generator wrote), so a workbook made with `--preset gbt2589-2020` is checked against that preset's
factors, never the spec's default. A year or preset the spec does not have rejects the file (F114). Whether
the run accepts the file's year and preset is a run-level rule (`rules.apply_choices`), applied afresh on
every run.

Workers load the spec from the directory the run's spec came from (a `Spec` holds read-only mappings, which do
not pickle) and check that its digest is the run's, so a custom spec (`--spec-dir`) is the one used here too.

Never raises for a file's content: a failure is that file's finding. A chunk whose checking fails is checked
again file by file (`read_chunk_safely`), and a chunk whose worker process dies (a crash, the memory killer) is
read again one file per process, so the file that kills its process is the one rejected (F100) — the run goes on.
Worker processes watch their parent and exit when it is gone (`watch_parent`): a killed run leaves none behind.
"""
from __future__ import annotations

import os
import threading
from array import array
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from udfs.checks import Choices, check_many
from udfs.choices import parse_switches
from udfs.evidence import listed_texts
from udfs.intake import Finding
from udfs.review_checks import check_pack
from udfs.unit_code import normalize_unit_code
from workbook_templates import Spec, load_spec
from workbook_templates.contract import CHOICE_NAMES
from workbook_templates.errors import UnknownChoice

from .model import CONSOLIDATED, REJECTED, REVIEW, FileOutcome
from .pause import pause_at
from .ledger import key_names
from .placement import check_placement
from .prerender import keep_as_rendered, render_figures
from .read import ReadResult, read_returned
from .read.rejected import AGAIN, exc_text
from .unit_indicators import counted_rows

PARALLEL_FROM = 40
"""Below this many files to read, starting worker processes costs more than it saves."""
CHUNK = 32
"""Files per work item: enough for the batched recomputation to pay off, small enough for a smooth progress."""


@dataclass(frozen=True)
class Job:
    """One file to read: where it is, and the path the outputs show (relative to the returns folder)."""

    path: str
    rel: str


def read_all(jobs: list[Job], spec: Spec, workers: int) -> "Reading":
    """Every job's outcome, in job order, a chunk at a time (on `workers` processes when there are enough). On
    worker processes the reading begins now, so the caller can do other work before it takes the outcomes; it
    takes them all, or closes the reading (`Reading.close`)."""
    parallel = workers > 1 and len(jobs) >= PARALLEL_FROM
    # A few files (a re-run after late returns) shared evenly: 50 as 32 + 18 kept one process busy for longer
    size = min(CHUNK, -(-len(jobs) // workers)) if parallel else CHUNK
    chunks = [(spec.directory, spec.digest, jobs[i:i + size]) for i in range(0, len(jobs), size)]
    if parallel:
        results: Iterator[list[FileOutcome] | None] = _pool_map(chunks, workers)
        next(results)                                    # runs to its first yield: every chunk is submitted
    else:
        results = map(read_chunk_safely, chunks)
    return Reading(chunks, results)


class Reading(Iterator[tuple[Job, FileOutcome]]):
    """The outcomes of `read_all`, in job order; `close` ends the reading early (the workers' chunks not begun
    are cancelled), as when the run fails before it takes them."""

    def __init__(self, chunks: list, results: Iterator[list[FileOutcome] | None]) -> None:
        self._chunks, self._results = iter(chunks), results
        self._current: Iterator[tuple[Job, FileOutcome]] = iter(())

    def __next__(self) -> tuple[Job, FileOutcome]:
        while True:
            for item in self._current:
                return item
            _, _, chunk = next(self._chunks)             # StopIteration: every chunk taken
            try:
                outcomes = next(self._results)
            except Exception as e:   # noqa: BLE001 — say which files were in hand, then fail the run
                raise ReadCrash(chunk, e) from e
            self._current = zip(chunk, outcomes)

    def close(self) -> None:
        close = getattr(self._results, "close", None)
        if close is not None:
            close()


class ReadCrash(RuntimeError):
    """Reading a chunk failed outside any file (the spec directory changed during the run, a defect no single
    file explains): the run stops, naming the files that were being processed (`path`). A file's own failure —
    even one that kills its worker process — never gets here (`read_chunk_safely`, `_isolated`)."""

    def __init__(self, chunk: list[Job], error: BaseException):
        self.path = chunk[0].rel if len(chunk) == 1 else f"{chunk[0].rel} … {chunk[-1].rel}（共 {len(chunk)} 个文件）"
        super().__init__(f"{type(error).__name__}: {error}")


def _pool_map(chunks: list, workers: int) -> Iterator[list[FileOutcome] | None]:
    """`read_chunk_safely` of every chunk on `workers` processes, in order, after a first None once every chunk is
    submitted (`read_all` takes it to begin the reading). When a worker dies, the chunk whose result was awaited is
    read one file per process (`_isolated`) and the rest go to a new pool. Closed early, the chunks not begun are
    cancelled."""
    done = 0
    started = False
    while done < len(chunks):
        pool = ProcessPoolExecutor(max_workers=workers, initializer=watch_parent, initargs=(os.getpid(),))
        try:
            futures = [pool.submit(read_chunk_safely, c) for c in chunks[done:]]
            if not started:
                started = True
                yield None
            for future in futures:
                try:
                    outcomes = future.result()
                except BrokenProcessPool:
                    yield _isolated(chunks[done])
                    done += 1
                    break                                # a new pool for the chunks after it
                yield outcomes
                done += 1
                if done == 1:
                    pause_at("reading")                   # JIEYUE_PAUSE_AT: the workers are alive here
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _isolated(item: tuple[str, str, list[Job]]) -> list[FileOutcome]:
    """A chunk whose worker died, read again one file per process: the file that kills its process is rejected
    (F100); the others are read as usual."""
    directory, digest, jobs = item
    out = []
    for job in jobs:
        with ProcessPoolExecutor(max_workers=1, initializer=watch_parent, initargs=(os.getpid(),)) as alone:
            try:
                out += alone.submit(read_chunk_safely, (directory, digest, [job])).result()
            except BrokenProcessPool as e:
                out.append(crashed(job, "读取此文件的进程意外退出（可能是内存不足，或文件触发了程序缺陷）", e))
    return out


def crashed(job: Job, what: str, e: BaseException) -> FileOutcome:
    """A file whose reading or checking failed outside any check: rejected with F100, the run goes on."""
    return FileOutcome(path=job.rel, size=0, sha256="", status=REJECTED, blocking=True,
                       findings=[Finding("F100", f"{what}（{exc_text(e)}）：文件可能已损坏或被构造；{AGAIN}；"
                                                 "如这是正常填写的文件，请把它交给维护者")])


class SpecChanged(RuntimeError):
    """The spec directory changed during the run: the run's failure, never a file's."""


def read_chunk_safely(item: tuple[str, str, list[Job]]) -> list[FileOutcome]:
    """`read_chunk`, and when it fails (a defect some file's content triggers), each file again on its own: the
    file that fails alone is rejected with F100 and the others are read as usual."""
    try:
        return read_chunk(item)
    except SpecChanged:
        raise
    except Exception:   # noqa: BLE001 — the chunk boundary: find the file, keep the others
        directory, digest, jobs = item
        out = []
        for job in jobs:
            try:
                out += read_chunk((directory, digest, [job]))
            except SpecChanged:
                raise
            except Exception as e:   # noqa: BLE001 — the file boundary: this file's finding
                out.append(crashed(job, "检查此文件时程序出错", e))
        return out


PARENT_CHECK = 0.5
"""Seconds between a worker's looks at whether its parent is alive."""


def watch_parent(parent: int) -> None:
    """In a worker process: a daemon thread that ends the process once its parent is gone (the parent killed
    with kill -9 cannot stop its workers itself). POSIX: the parent id changes when the parent dies; Windows
    keeps the old id, so there the process handle multiprocessing holds to the parent is asked."""
    import multiprocessing
    handle = multiprocessing.parent_process()

    def alive() -> bool:
        if os.name == "posix":
            return os.getppid() == parent
        return handle is None or handle.is_alive()

    def watch() -> None:
        while alive():
            time.sleep(PARENT_CHECK)
        os._exit(1)
    threading.Thread(target=watch, name="jieyue-parent-watch", daemon=True).start()


def read_chunk(item: tuple[str, str, list[Job]]) -> list[FileOutcome]:
    """Read and check a chunk of files (in a worker process): one batched recomputation per year and preset."""
    directory, digest, jobs = item
    spec = load_spec(directory)
    if spec.digest != digest:
        raise SpecChanged(f"规格目录「{directory}」在汇总过程中被修改：请重新运行汇总")
    outcomes, readable = [], []
    for job in jobs:
        read = read_returned(Path(job.path))
        outcome = FileOutcome(path=job.rel, size=read.size, sha256=read.sha256, status=REJECTED,
                              findings=list(read.findings), unit=dict(read.unit), meta=dict(read.meta),
                              blocking=True, kind=read.kind)
        outcomes.append(outcome)
        if read.kind == REVIEW:
            if read.status == "ok":
                _take_pack(outcome, read, spec)
        elif read.status == "ok" and read.extracted is not None:
            problem = own_choices(outcome.meta, spec)
            if isinstance(problem, Finding):
                outcome.findings.append(problem)
            else:
                readable.append((outcome, read, problem))
    covered = key_names(spec)
    by_choice: dict[tuple[int, str, Choices], list[tuple[FileOutcome, ReadResult]]] = {}
    for outcome, read, choice in readable:
        by_choice.setdefault(choice, []).append((outcome, read))
    for (year, preset, choices), group in by_choice.items():
        checked = check_many([r.extracted for _, r in group], spec, year=year, preset=preset, run_digest=spec.digest,
                             choices=choices)
        counted = counted_rows([r.inputs for r in checked], [r.results for r in checked], spec)
        for (outcome, read), result, row in zip(group, checked, counted.tolist()):
            _take_return(outcome, read, result, spec, array("d", row))
            keep_as_rendered(outcome, covered)            # sent and kept as text, as a re-run has it
    return outcomes


def own_choices(meta: dict, spec: Spec) -> tuple[int, str, Choices] | Finding:
    """(assessment year, factor preset, the other choices) a returned workbook was made for, from its `_meta` — or
    F114 when the spec does not have them (the file cannot be recomputed as it was meant). A workbook made before
    the grid factor, switches and standard version were recorded has none of them: the defaults (`Choices()`)."""
    year, preset = meta.get("assessment_year"), meta.get("factor_preset")
    if not isinstance(year, int) or year not in spec.years:
        shown = "空白" if year in (None, "") else f"「{year}」"
        return Finding("F114", f"工作簿记录的复验年度为{shown}，本次汇总所用的规格中没有该年度（已有："
                               f"{'、'.join(map(str, spec.years))}）：请使用本次下发的工作簿重新填报", "assessment_year")
    if not isinstance(preset, str) or preset not in spec.presets:
        shown = "空白" if preset in (None, "") else f"「{preset}」"
        return Finding("F114", f"工作簿记录的系数预设为{shown}，本次汇总所用的规格中没有该预设（已有："
                               f"{'、'.join(spec.presets)}）：请使用本次下发的工作簿重新填报", "factor_preset")
    grid, switches, standard = (meta.get(n) or None for n in CHOICE_NAMES)
    if grid is not None and grid not in spec.grid_factors:
        return Finding("F114", f"工作簿记录的电力排放因子为「{grid}」，本次汇总所用的规格中没有（已有："
                               f"{'、'.join(spec.grid_factors)}）：请使用本次下发的工作簿重新填报", "grid_factor")
    if standard is not None and standard not in spec.standards:
        return Finding("F114", f"工作簿记录的评价标准版本为「{standard}」，本次汇总所用的规格中没有（已有："
                               f"{'、'.join(spec.standards)}）：请使用本次下发的工作簿重新填报", "standard_version")
    try:
        chosen = tuple(parse_switches(switches, spec).items())
    except UnknownChoice as e:
        return Finding("F114", f"工作簿记录的口径开关无法使用（{e}）：请使用本次下发的工作簿重新填报", "calc_switches")
    return year, preset, Choices(grid_factor=grid, switches=chosen, standard=standard)


def _take_return(outcome: FileOutcome, read: ReadResult, result, spec: Spec, counted: array) -> None:
    outcome.status = CONSOLIDATED
    outcome.findings += result.findings
    if read.extracted is not None and not read.extracted.cached:     # no saved results: F128 looks at the names
        moved = check_placement(read.extracted, own_choices(outcome.meta, spec), spec)
        if moved is not None:
            outcome.findings.append(moved)
    outcome.inputs, outcome.results = result.inputs, result.results
    if listed := listed_texts(read.extracted.values):     # 佐证材料 lists (issue 13): carried with the inputs
        outcome.inputs = {**outcome.inputs, **listed}
    outcome.blocking = result.blocking or any(f.severity(spec) == "错误" for f in (*read.findings, *outcome.findings))
    code = normalize_unit_code(outcome.unit.get("unit_code"))
    if code:
        outcome.unit["unit_code"] = code
    outcome.rendered = render_figures(outcome.inputs, outcome.results, spec, counted)


def _take_pack(outcome: FileOutcome, read: ReadResult, spec: Spec) -> None:
    """A review pack: its whole-pack checks (R606, F112) and its scorecards as plain data; the scorecards are
    scored at the run level, against each unit's return (`reviews.score_reviews`), and the pack's year is
    checked against the run's there too (`rules.apply_choices`)."""
    problems = check_pack(read.meta, spec, None, spec.digest)
    outcome.findings += problems
    outcome.blocking = any(f.severity(spec) == "错误" for f in problems)
    outcome.status = REJECTED if outcome.blocking else CONSOLIDATED
    outcome.scorecards = [{"sheet": c.sheet, "values": c.cells.values, "errors": c.cells.errors,
                           "cells": c.cells.cells, "uncached": sorted(c.cells.formulas - c.cells.cached)}
                          for c in read.scorecards]
