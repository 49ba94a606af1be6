"""A reviewer's pack, assembled and written: consolidate the returns, choose the units (`select`), turn each into
what its scorecard shows (`review_unit`: identity, self-scores as they count, recomputed decline results — never
a file's cached values), lay the pack out (`generator.review_layout`: one scorecard at a time) and write it
atomically, streaming the scorecards into the file (`generator.sheet_stream`: thousands of units in little memory).
A reviewer's entries are filled in by name with `generator.fill.fill_workbook(…, scorecards=…)`.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable

import udfs
from generator.plan import WorkbookPlan
from generator.review_layout import PackPart, ReviewLayout, ReviewUnit
from generator.sheet_stream import write_review_workbook
from udfs.levels import Reviewer, find_level
from udfs.spot_checks import SpotCheckGroup
from workbook_templates import Spec

from ..consolidate.evidence import scorecard_evidence
from ..consolidate.model import FileOutcome
from .select import reviewer_for, select_units
from .split import Split, pack_parts, part_path, partition, write_all


def review_unit(outcome: FileOutcome, spec: Spec, spot: tuple[str, ...] = ()) -> ReviewUnit:
    """What a scorecard shows of one consolidated unit: its identity, its self-scores as they count, its
    recomputed decline results and unit-1 scores (never the file's cached values)."""
    results, inputs, unit = outcome.results, outcome.inputs, outcome.unit
    self_scores: dict[str, Any] = {}
    selectors = {}
    for ind in spec.indicators:
        if ind.rule.type == "computed_target":
            self_scores[ind.id] = results.get(ind.score_name)
            continue
        choice = inputs.get(ind.rule.selector) if ind.rule.selector else None
        if ind.rule.selector:
            selectors[ind.rule.selector] = choice
        raw = inputs.get(ind.score_name)
        counted = udfs.counted_score(ind, raw, choice, spec=spec)
        self_scores[ind.id] = counted if counted is not None or raw is None else f"{raw}（不计分）"
    decline = {i.key: {"prev": results.get(f"prev_{i.key}"), "cur": results.get(f"cur_{i.key}"),
                       "chg": results.get(f"chg_{i.key}"), "target": results.get(f"target_{i.key}"),
                       "ok": results.get(f"ok_{i.key}")} for i in spec.decline_intensities}
    level = find_level(unit.get("unit_level"), spec)
    return ReviewUnit(
        name=str(unit.get("unit_name") or "（未填单位名称）"), code=outcome.code,
        level=level.label if level else str(unit.get("unit_level") or ""),
        region=str(unit.get("unit_region") or ""),
        self_scores=self_scores, self_units={u.id: results.get(u.score_name) for u in spec.units},
        self_total=results.get("self_total"), selectors=selectors, decline=decline,
        recomputed={i.id: results.get(i.score_name) for i in spec.indicators if i.rule.type == "computed_target"},
        spot=spot, source=outcome.path)


def unit_errors(outcome: FileOutcome, spec: Spec) -> str:
    """The error codes of a return, with their titles: 「E207 自评分不符合评分规则」."""
    codes = sorted({f.code for f in outcome.findings if f.severity(spec) == "错误"})
    return "、".join(f"{c} {spec.checks[c].title}" for c in codes) or "有错误"


@dataclass
class ReviewPart:
    """One workbook of a review pack: which part it is, its units, and its layout, whose scorecards are laid out
    one at a time as `write` streams them into the file."""

    part: PackPart
    units: list[ReviewUnit]
    layout: ReviewLayout

    def write(self, out: BinaryIO) -> None:
        """The workbook as .xlsx, written to `out` (`generator.sheet_stream.write_review_workbook`)."""
        write_review_workbook(self.layout, out)

    @cached_property
    def plan(self) -> WorkbookPlan:
        """The whole workbook as plain data, every scorecard at once (for a look at a small pack: tests, names)."""
        return self.layout.workbook(self.layout.overview(),
                                    [self.layout.scorecard(k) for k in range(len(self.units))])

    @cached_property
    def data(self) -> bytes:
        """The workbook's .xlsx bytes, held in memory (a small pack: tests, the demo, filling it in)."""
        out = io.BytesIO()
        self.write(out)
        return out.getvalue()


@dataclass
class ReviewPack:
    reviewer: Reviewer
    region: str | None
    seed: int | str | None
    year: int
    units: list[ReviewUnit]                 # on the pack, in sheet order
    skipped: list[FileOutcome]              # in scope, but the return has errors: left out
    out_of_scope: int                       # consolidated units this reviewer does not review
    spot_groups: list[SpotCheckGroup] = field(default_factory=list)
    presets: list[str] = field(default_factory=list)   # the factor presets the units were recomputed with
    parts: list[ReviewPart] = field(default_factory=list)   # its workbooks (one unless split: `split`)

    @property
    def plan(self) -> WorkbookPlan | None:
        """The pack as plain data (generator.plan), when in one workbook."""
        return self.parts[0].plan if len(self.parts) == 1 else None

    @property
    def data(self) -> bytes:
        """The pack as .xlsx bytes, when in one workbook."""
        return self.parts[0].data if len(self.parts) == 1 else b""

    def skipped_lines(self, spec: Spec) -> list[str]:
        return [f"{f.unit.get('unit_name') or '（未填单位名称）'}（{f.code or '无代码'}）：{f.path} 有错误"
                f"（{unit_errors(f, spec)}），未纳入评审包；请单位改正后重新交回，再重新生成评审包"
                for f in self.skipped]


def build_review_pack(folder: str | Path, level: str, *, spec: Spec, region: str | None = None,
                      seed: int | str | None = None, year: int | None = None, preset: str | None = None,
                      outputs: Iterable[str | Path] = (), progress: Callable[[int, int], None] | None = None,
                      sampled_only: bool = False, on_layout: Callable[[int], None] | None = None,
                      key: bytes | None = None, pack_dir: str | Path | None = None, split: Split = None) -> ReviewPack:
    """Consolidate `folder` and lay out the review pack of the reviewer `level` (县市区 / 地州市 / 自治区, or a key
    / label of assessment.toml) over the units it reviews (`select.select_units`). `year` and `preset` are the
    consolidation's checks (None: the returns' most common year, each return's own preset); the pack is made for
    the run's year, and each unit's figures are those recomputed with its own preset. `outputs` are files the
    consolidation must not read (this run's pack); `on_layout(n)` is told the number of scorecards before they
    are rendered. With `key` (`addin.keys`) the returns' signatures are verified (a return that fails is an error:
    left out and listed) and the pack is signed (`_meta` signature); without one, neither. `split` writes the
    pack in several workbooks (`split.partition`: N units a workbook, or one per 地州市), each in `parts`; `plan`
    and `data` are the workbook's when there is one."""
    from ..consolidate import consolidate
    reviewer = reviewer_for(level, spec, seed=seed, sampled_only=sampled_only)
    run = consolidate(folder, spec=spec, year=year, preset=preset, outputs=tuple(outputs), progress=progress,
                      key=key)
    chosen = select_units(run.units, reviewer, spec, region=region, seed=seed, sampled_only=sampled_only,
                          folder=str(folder))
    presets = sorted({str(f.meta.get("factor_preset")) for f in chosen.chosen})
    # 佐证材料 (issue 13): what each unit listed, and links relative to where the pack will be (`pack_dir`,
    # default the returns folder: a reviewer opens the pack there and clicks through)
    evidence = {u.unit_code: u for u in (run.evidence or {}).get("units", ())}
    shown = {f.code: scorecard_evidence(evidence.get(f.code), folder, pack_dir or folder) for f in chosen.chosen}
    pack = ReviewPack(reviewer=reviewer, region=chosen.region, seed=seed, year=run.year,
                      units=[replace(review_unit(f, spec, chosen.marks.get(f.code, ())), evidence=shown[f.code][0],
                                     evidence_files=shown[f.code][1]) for f in chosen.chosen],
                      skipped=chosen.skipped, out_of_scope=chosen.out_of_scope, spot_groups=chosen.groups,
                      presets=presets)
    if on_layout:
        on_layout(len(pack.units))      # rendering hundreds of scorecards takes a while: say so first
    for part, units in pack_parts(partition(pack.units, split), reviewer, chosen.region, run.year):
        layout = ReviewLayout(reviewer, units, spec=spec, year=run.year, presets=presets, region=chosen.region,
                              seed=seed, spot_groups=chosen.groups, skipped=pack.skipped_lines(spec), key=key,
                              part=part)
        pack.parts.append(ReviewPart(part, units, layout))
    return pack


def write_review_pack(pack: ReviewPack, out: str | Path) -> list[tuple[Path, ReviewPart]]:
    """The pack's workbooks written, all or none (`split.write_all`: the old files stay until every new one is
    complete): one at `out`, or its parts beside it (`split.part_path`). Returns each part with where it went."""
    written = [(part_path(Path(out), p.part), p) for p in pack.parts]
    write_all([(path, p.write) for path, p in written])
    return written


__all__ = ["ReviewPack", "ReviewPart", "build_review_pack", "review_unit", "unit_errors", "write_review_pack"]
