"""Stage 2 of a run: each file read, checked and recomputed — in worker processes when there are many.

A file is recomputed with **its own** choices: the assessment year and factor preset its `_meta` records
(what the generator wrote), so a workbook made with `--preset gbt2589-2020` is checked against that preset's
factors, never the spec's default. A year or preset the spec does not have rejects the file (F114). Whether
the run accepts the file's year and preset is a run-level rule (`rules.apply_choices`), applied afresh on
every run.

Workers load the spec from the directory the run's spec came from (a `Spec` holds read-only mappings, which do
not pickle) and check that its digest is the run's, so a custom spec (`--spec-dir`) is the one used here too.
Never raises for a file's content: a failure is that file's finding.
"""
from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from udfs.checks import check_many
from udfs.intake import Finding
from udfs.review_checks import check_pack
from udfs.unit_code import normalize_unit_code
from workbook_templates import Spec, load_spec

from .model import CONSOLIDATED, REJECTED, REVIEW, FileOutcome
from .prerender import render_figures
from .read import ReadResult, read_returned

PARALLEL_FROM = 40
"""Below this many files to read, starting worker processes costs more than it saves."""
CHUNK = 32
"""Files per work item: enough for the batched recomputation to pay off, small enough for a smooth progress."""


@dataclass(frozen=True)
class Job:
    """One file to read: where it is, and the path the outputs show (relative to the returns folder)."""

    path: str
    rel: str


def read_all(jobs: list[Job], spec: Spec, workers: int) -> Iterator[tuple[Job, FileOutcome]]:
    """Every job's outcome, in job order, a chunk at a time (on `workers` processes when there are enough)."""
    chunks = [(spec.directory, spec.digest, jobs[i:i + CHUNK]) for i in range(0, len(jobs), CHUNK)]
    if workers > 1 and len(jobs) >= PARALLEL_FROM:
        results: Iterable[list[FileOutcome]] = _pool_map(read_chunk, chunks, workers)
    else:
        results = map(read_chunk, chunks)
    pending = iter(results)
    for _, _, chunk in chunks:
        try:
            outcomes = next(pending)
        except Exception as e:   # noqa: BLE001 — say which files were in hand, then fail the run
            raise ReadCrash(chunk, e) from e
        yield from zip(chunk, outcomes)


class ReadCrash(RuntimeError):
    """Reading a chunk failed outside any file's content (a bug, a worker killed): the run stops, naming the
    files that were being processed (`path`)."""

    def __init__(self, chunk: list[Job], error: BaseException):
        self.path = chunk[0].rel if len(chunk) == 1 else f"{chunk[0].rel} … {chunk[-1].rel}（共 {len(chunk)} 个文件）"
        super().__init__(f"{type(error).__name__}: {error}")


def _pool_map(fn, chunks: list, workers: int) -> Iterator[list[FileOutcome]]:
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(fn, chunks)


def read_chunk(item: tuple[str, str, list[Job]]) -> list[FileOutcome]:
    """Read and check a chunk of files (in a worker process): one batched recomputation per year and preset."""
    directory, digest, jobs = item
    spec = load_spec(directory)
    if spec.digest != digest:
        raise RuntimeError(f"规格目录「{directory}」在汇总过程中被修改：请重新运行汇总")
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
    by_choice: dict[tuple[int, str], list[tuple[FileOutcome, ReadResult]]] = {}
    for outcome, read, choice in readable:
        by_choice.setdefault(choice, []).append((outcome, read))
    for (year, preset), group in by_choice.items():
        checked = check_many([r.extracted for _, r in group], spec, year=year, preset=preset, run_digest=spec.digest)
        for (outcome, read), result in zip(group, checked):
            _take_return(outcome, read, result, spec)
    return outcomes


def own_choices(meta: dict, spec: Spec) -> tuple[int, str] | Finding:
    """(assessment year, factor preset) a returned workbook was made for, from its `_meta` — or F114 when the
    spec does not have them (the file cannot be recomputed as it was meant)."""
    year, preset = meta.get("assessment_year"), meta.get("factor_preset")
    if not isinstance(year, int) or year not in spec.years:
        shown = "空白" if year in (None, "") else f"「{year}」"
        return Finding("F114", f"工作簿记录的复验年度为{shown}，本次汇总所用的规格中没有该年度（已有："
                               f"{'、'.join(map(str, spec.years))}）：请使用本次下发的工作簿重新填报", "assessment_year")
    if not isinstance(preset, str) or preset not in spec.presets:
        shown = "空白" if preset in (None, "") else f"「{preset}」"
        return Finding("F114", f"工作簿记录的系数预设为{shown}，本次汇总所用的规格中没有该预设（已有："
                               f"{'、'.join(spec.presets)}）：请使用本次下发的工作簿重新填报", "factor_preset")
    return year, preset


def _take_return(outcome: FileOutcome, read: ReadResult, result, spec: Spec) -> None:
    outcome.status = CONSOLIDATED
    outcome.findings += result.findings
    outcome.inputs, outcome.results = result.inputs, result.results
    outcome.blocking = result.blocking or any(f.severity(spec) == "错误" for f in read.findings)
    code = normalize_unit_code(outcome.unit.get("unit_code"))
    if code:
        outcome.unit["unit_code"] = code
    outcome.rendered = render_figures(outcome.inputs, outcome.results, spec)


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
