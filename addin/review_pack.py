"""`jieyue review-pack` and `jieyue spot-check`: from a folder of returned workbooks to a reviewer's pack and to
the spot-check lists.

Both start from the same consolidation (`addin.consolidate.run.consolidate`): every return is read safely and
recomputed, duplicates are resolved, and each unit appears once (`run.units`). A review pack covers the units a
reviewing authority reviews (`udfs.review.covers`) whose return has no error; units with errors are left out and
listed. The spot-check lists are drawn from every consolidated unit (`udfs.review.spot_check_groups`), so a pack
built with the same seed marks exactly the units on the lists.

`python -m addin.review_pack --names` prints the review pack's defined names (docs/review_names.csv).
"""
from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import openpyxl

import udfs
from generator.personalise import write_atomically
from generator.plan import WorkbookPlan
from generator.render import render_workbook
from generator.review_layout import ReviewUnit, build_review_plan
from udfs.review import (Reviewer, SpotCheckGroup, covers, drawn_by, reviewer_of, reviewers, spot_check_groups,
                         spot_check_marks, spot_check_method)
from workbook_templates import Spec, load_spec
from workbook_templates.review_names import review_names

from .consolidate.model import FileOutcome

FIXED_CREATED = datetime(2000, 1, 1)
"""The spot-check workbook's creation date: fixed, so that identical inputs give identical bytes."""


# ---------------------------------------------------------------- from a consolidated return to a scorecard

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
        counted = udfs.counted_score(ind, raw, choice, spec)
        self_scores[ind.id] = counted if counted is not None or raw is None else f"{raw}（不计分）"
    decline = {i.key: {"prev": results.get(f"prev_{i.key}"), "cur": results.get(f"cur_{i.key}"),
                       "chg": results.get(f"chg_{i.key}"), "target": results.get(f"target_{i.key}"),
                       "ok": results.get(f"ok_{i.key}")} for i in spec.decline_intensities}
    level = str(unit.get("unit_level") or "")
    try:
        level = udfs.level_of(level.strip(), spec).label
    except KeyError:
        pass
    return ReviewUnit(
        name=str(unit.get("unit_name") or "（未填单位名称）"), code=outcome.code, level=level,
        region=str(unit.get("unit_region") or ""),
        self_scores=self_scores, self_units={u.id: results.get(u.score_name) for u in spec.units},
        self_total=results.get("self_total"), selectors=selectors, decline=decline,
        recomputed={i.id: results.get(i.score_name) for i in spec.indicators if i.rule.type == "computed_target"},
        spot=spot, source=outcome.path)


def _errors(outcome: FileOutcome, spec: Spec) -> str:
    codes = sorted({f.code for f in outcome.findings if f.severity(spec) == "错误"})
    return "、".join(f"{c} {spec.checks[c].title}" for c in codes) or "有错误"


def _spot_units(units: Iterable[FileOutcome]) -> list[dict[str, Any]]:
    return [{"code": f.code, "level": f.unit.get("unit_level"), "region": f.unit.get("unit_region")}
            for f in units if f.code]


# ---------------------------------------------------------------- review pack

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
    plan: WorkbookPlan | None = None        # the pack as plain data (generator.plan)
    data: bytes = b""                       # the pack as .xlsx

    def skipped_lines(self, spec: Spec) -> list[str]:
        return [f"{f.unit.get('unit_name') or '（未填单位名称）'}（{f.code or '无代码'}）：{f.path} 有错误"
                f"（{_errors(f, spec)}），未纳入评审包；请单位改正后重新交回，再重新生成评审包"
                for f in self.skipped]


def build_review_pack(folder: str | Path, level: str, *, region: str | None = None, seed: int | str | None = None,
                      year: int | None = None, preset: str | None = None, spec: Spec | None = None,
                      outputs: Iterable[str | Path] = (), progress: Callable[[int, int], None] | None = None,
                      sampled_only: bool = False, on_layout: Callable[[int], None] | None = None) -> ReviewPack:
    """Consolidate `folder` and lay out the review pack of the reviewer `level` (县市区 / 地州市 / 自治区, or
    a key / label of assessment.toml) over the units it reviews, optionally only those of `region`. With
    `sampled_only` (needs `seed`), only the reviewer's own level and the units of the spot-check list this
    reviewer draws: the 自治区 scores 自治区本级 units and re-checks a sample, not a card for every unit."""
    from .consolidate.run import consolidate
    spec = spec or load_spec()
    reviewer = reviewer_of(level, spec)
    region = region.strip() if region and region.strip() else None
    if sampled_only and seed is None:
        raise ValueError("只放入抽查单位（--sampled-only）时需要给出实地抽查的随机种子 --seed，与 jieyue spot-check 相同")
    run = consolidate(folder, year=year, preset=preset, spec=spec, outputs=outputs, progress=progress)
    groups = spot_check_groups(_spot_units(run.units), seed, spec) if seed is not None else []
    marks = spot_check_marks(groups)
    in_scope = [f for f in run.units if covers(reviewer, f.unit.get("unit_level"), f.unit.get("unit_region"),
                                               region, spec)]
    if sampled_only:
        drawn = {code for g in groups if drawn_by(g) == reviewer.key for code in g.sample}
        in_scope = [f for f in in_scope if f.unit.get("unit_level") == reviewer.level or f.code in drawn]
    pack = ReviewPack(reviewer=reviewer, region=region, seed=seed, year=run.year,
                      units=[review_unit(f, spec, marks.get(f.code, ())) for f in in_scope if not f.blocking],
                      skipped=[f for f in in_scope if f.blocking], out_of_scope=len(run.units) - len(in_scope),
                      spot_groups=groups)
    if not pack.units:
        where = f"所属地区为「{region}」的" if region else ""
        regions = sorted({str(f.unit.get("unit_region") or "").strip() for f in run.units} - {""})
        raise ValueError(f"回收目录「{folder}」中没有{reviewer.short}评审部门可评审的{where}"
                         f"{'、'.join(reviewer.covers)}单位（无错误的）：请检查目录、--level 和 --region"
                         + (f"；另有 {len(pack.skipped)} 个单位的工作簿有错误" if pack.skipped else "")
                         + (f"。回收目录中的地区：{'、'.join(regions)}" if region and regions else ""))
    if on_layout:
        on_layout(len(pack.units))      # rendering hundreds of scorecards takes a while: say so first
    pack.plan = build_review_plan(reviewer, pack.units, year=run.year, preset=run.preset, region=region, seed=seed,
                                  spot_groups=groups, skipped=pack.skipped_lines(spec), spec=spec)
    pack.data = render_workbook(pack.plan)
    return pack


def fill_review_pack(data: bytes, entries: Mapping[str, Mapping[str, Any]]) -> bytes:
    """The pack with inputs set by sheet-local name, per unit: {统一社会信用代码: {rev_reviewer: …,
    rev_county_given_2_1_1: 3, rev_county_findings_3_2_2: 1}} (None clears a cell). As a reviewer would type
    them, for samples and tests; an unknown unit or name, or a formula cell, raises ValueError."""
    wb = openpyxl.load_workbook(io.BytesIO(data))
    sheets = {}
    for ws in wb.worksheets:
        code = ws.defined_names.get("rev_unit_code")
        if code is not None:
            (title, ref), = code.destinations
            sheets[str(wb[title][ref.replace("$", "")].value)] = ws
    for code, values in entries.items():
        if code not in sheets:
            raise ValueError(f"评审包中没有统一社会信用代码为「{code}」的评分表")
        ws = sheets[code]
        for name, value in values.items():
            dn = ws.defined_names.get(name)
            if dn is None:
                raise ValueError(f"评分表「{ws.title}」中没有名称「{name}」")
            (title, ref), = dn.destinations
            cell = wb[title][ref.replace("$", "")]
            if isinstance(cell.value, str) and cell.value.startswith("=") or cell.protection.locked:
                raise ValueError(f"「{name}」（{title}!{ref}）不是评审人填写的单元格")
            cell.value = value
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# ---------------------------------------------------------------- the published names

def review_name_rows(spec: Spec | None = None) -> list[list[str]]:
    """docs/review_names.csv: every name of the review pack for each reviewer level, with where it is.

    Scorecard names are sheet-local: the same name on every unit's scorecard, in the same cell."""
    spec = spec or load_spec()
    from generator.review_layout import META_SHEET, scorecard_title
    rows = [["level", "name", "meaning", "unit", "kind", "scope", "sheet", "cell"]]
    for reviewer in reviewers(spec):
        sample = _sample_unit(spec)
        plan = build_review_plan(reviewer, [sample], spec=spec)
        card = plan.sheet(scorecard_title(1, 1, sample.name))
        local = card.local_names()
        meta = {name: ref for name, (sheet, ref) in plan.named().items()}
        for n in review_names(spec, reviewer.key):
            sheet, cell = (META_SHEET, meta[n.name]) if n.scope == "workbook" else ("（每个单位的评分表）", local[n.name])
            rows.append([reviewer.key, n.name, n.meaning, n.unit, n.kind, n.scope, sheet, cell])
    return rows


def _sample_unit(spec: Spec) -> ReviewUnit:
    return ReviewUnit(name="示例单位", code="", level=next(iter(spec.assessment.levels.values())).label, region="",
                      self_scores={}, self_units={}, self_total=None)


def review_names_csv(spec: Spec | None = None) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(review_name_rows(spec))
    return out.getvalue()


# ---------------------------------------------------------------- spot checks

@dataclass
class SpotCheck:
    seed: int | str
    year: int
    folder: str
    groups: list[SpotCheckGroup]
    units: dict[str, FileOutcome]           # code → the unit's consolidated return


def draw_spot_check(folder: str | Path, seed: int | str, *, year: int | None = None, preset: str | None = None,
                    spec: Spec | None = None, outputs: Iterable[str | Path] = (),
                    progress: Callable[[int, int], None] | None = None) -> SpotCheck:
    """Consolidate `folder` and draw the spot-check lists from its units with `seed`."""
    from .consolidate.run import consolidate
    spec = spec or load_spec()
    run = consolidate(folder, year=year, preset=preset, spec=spec, outputs=outputs, progress=progress)
    units = {f.code: f for f in run.units if f.code}
    if not units:
        raise ValueError(f"回收目录「{folder}」中没有已汇总的单位，无法抽查：请检查目录")
    return SpotCheck(seed=seed, year=run.year, folder=str(folder), groups=spot_check_groups(_spot_units(run.units),
                                                                                            seed, spec), units=units)


def spot_check_workbook(check: SpotCheck, spec: Spec | None = None) -> bytes:
    """The spot-check lists as .xlsx (XlsxWriter): 抽查名单 (seed, ratios, method, counts, the lists) and
    抽查总体 (every unit and the lists it is on). Identical inputs give identical bytes."""
    import xlsxwriter
    spec = spec or load_spec()
    buffer = io.BytesIO()
    wb = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False})
    wb.set_properties({"title": "实地抽查名单", "created": FIXED_CREATED})
    title = wb.add_format({"bold": True, "font_size": 14})
    bold = wb.add_format({"bold": True})
    head = wb.add_format({"bold": True, "bg_color": "#D9D9D9", "border": 1, "text_wrap": True, "valign": "vcenter"})
    cell = wb.add_format({"border": 1, "valign": "vcenter"})
    text = wb.add_format({"border": 1, "num_format": "@", "valign": "vcenter"})
    pct = wb.add_format({"border": 1, "num_format": "0%"})
    note = wb.add_format({"text_wrap": True, "valign": "top"})

    ws = wb.add_worksheet("抽查名单")
    ws.set_column(0, 0, 34)
    ws.set_column(1, 1, 8)
    ws.set_column(2, 2, 40)
    ws.set_column(3, 3, 22)
    ws.set_column(4, 5, 18)
    ws.write(0, 0, f"节约型机关复验实地抽查名单（{check.year}年复验）", title)
    r = 1
    ws.write(r, 0, f"回收目录：{check.folder}")
    for line in spot_check_method(check.seed, spec):
        r += 1
        ws.merge_range(r, 0, r, 5, line, note)
        ws.set_row(r, 32)
    r += 1
    ws.write(r, 0, f"重做：jieyue spot-check 回收目录 --seed {check.seed} -o 抽查名单.xlsx（同一回收目录得到同样的名单）")
    r += 2
    ws.write(r, 0, "各范围的抽取数", bold)
    r += 1
    for c, h in enumerate(("抽查范围", "比例", "单位数", "抽取数")):
        ws.write(r, c, h, head)
    for g in check.groups:
        r += 1
        ws.write(r, 0, g.title, cell)
        ws.write_number(r, 1, g.ratio, pct)
        ws.write_number(r, 2, len(g.population), cell)
        ws.write_number(r, 3, len(g.sample), cell)
    r += 2
    ws.write(r, 0, "抽中的单位", bold)
    r += 1
    for c, h in enumerate(("抽查范围", "序号", "单位名称", "统一社会信用代码", "单位层级", "所属地区")):
        ws.write(r, c, h, head)
    ws.freeze_panes(r + 1, 0)
    for g in check.groups:
        for k, code in enumerate(g.sample, start=1):
            r += 1
            u = check.units[code].unit
            for c, v in enumerate((g.title, k, u.get("unit_name") or "", code, u.get("unit_level") or "",
                                   u.get("unit_region") or "")):
                ws.write(r, c, v, text if c == 3 else cell)

    marks = spot_check_marks(check.groups)
    markers = list(dict.fromkeys(g.marker for g in check.groups))
    ws2 = wb.add_worksheet("抽查总体")
    ws2.set_column(0, 0, 40)
    ws2.set_column(1, 1, 22)
    ws2.set_column(2, 3 + len(markers), 16)
    for c, h in enumerate(("单位名称", "统一社会信用代码", "单位层级", "所属地区", *markers, "交回的工作簿")):
        ws2.write(0, c, h, head)
    ws2.freeze_panes(1, 0)
    for r2, (code, f) in enumerate(sorted(check.units.items(), key=lambda kv: (
            str(kv[1].unit.get("unit_region") or ""), kv[0])), start=1):
        u = f.unit
        row = [u.get("unit_name") or "", code, u.get("unit_level") or "", u.get("unit_region") or ""]
        row += ["是" if m in marks.get(code, ()) else "" for m in markers]
        row.append(f.path + ("（有错误）" if f.blocking else ""))
        for c, v in enumerate(row):
            ws2.write(r2, c, v, text if c == 1 else cell)
    ws2.autofilter(0, 0, max(1, len(check.units)), len(row) - 1 if check.units else 0)
    wb.close()
    return buffer.getvalue()


def write_spot_check(check: SpotCheck, out: str | Path, spec: Spec | None = None) -> None:
    """The spot-check workbook, written atomically (the old file stays until the new one is complete)."""
    write_atomically(Path(out), spot_check_workbook(check, spec))


def _check_output(out: Path, what: str) -> None:
    if out.suffix.lower() != ".xlsx":
        raise ValueError(f"{what}「{out}」应以 .xlsx 结尾，如 -o {what}.xlsx")
    if not out.parent.is_dir():
        raise ValueError(f"目录「{out.parent}」不存在：请先创建，或换一个输出位置")


# ---------------------------------------------------------------- the commands

def run_review_pack(folder: str, level: str, output: str, region: str | None = None, seed: int | None = None,
                    year: int | None = None, preset: str | None = None, sampled_only: bool = False) -> list[str]:
    """`jieyue review-pack`: build and write the pack; returns the lines to print."""
    from .progress import Progress
    spec = load_spec()
    out = Path(output)
    _check_output(out, "评审包")
    pack = build_review_pack(folder, level, region=region, seed=seed, year=year, preset=preset, spec=spec,
                             outputs=[out], progress=Progress(label="读取回收的工作簿 "), sampled_only=sampled_only,
                             on_layout=_announce_layout)
    write_atomically(out, pack.data)
    scope = f"{'、'.join(pack.reviewer.covers)}单位" + (f"（{pack.region}）" if pack.region else "")
    lines = [f"已生成评审包：{out}（{pack.reviewer.label}，{scope}，{len(pack.units)} 个单位）"]
    if pack.skipped:
        lines.append(f"跳过 {len(pack.skipped)} 个工作簿有错误的单位（不在评审包中）：")
        lines += [f"  {line}" for line in pack.skipped_lines(spec)]
    if pack.out_of_scope:
        lines.append(f"另有 {pack.out_of_scope} 个单位不在本级评审范围内（层级或地区不同"
                     + ("，或不在本级实地抽查名单上" if sampled_only else "") + "）。")
    marked = sum(bool(u.spot) for u in pack.units)
    lines.append(f"实地抽查：种子 {seed}，评审包中标出 {marked} 个抽中的单位" if seed is not None
                 else "未指定 --seed：评审包中没有标注实地抽查的单位")
    return lines


def _announce_layout(units: int) -> None:
    seconds = max(1, round(units * SECONDS_PER_SCORECARD))
    print(f"正在生成 {units} 张评分表（约 {seconds} 秒）…", file=sys.stderr, flush=True)


SECONDS_PER_SCORECARD = 0.03
"""Measured: 931 scorecards render in about 25 s on a 2-core machine (the estimate shown, not a limit)."""


def run_spot_check(folder: str, seed: int, output: str, year: int | None = None,
                   preset: str | None = None) -> list[str]:
    """`jieyue spot-check`: draw and write the lists; returns the lines to print."""
    from .progress import Progress
    spec = load_spec()
    out = Path(output)
    _check_output(out, "抽查名单")
    check = draw_spot_check(folder, seed, year=year, preset=preset, spec=spec, outputs=[out],
                            progress=Progress(label="读取回收的工作簿 "))
    write_spot_check(check, out, spec)
    lines = [f"已生成抽查名单：{out}（随机种子 {seed}）"]
    lines += [f"  {g.title}：{len(g.population)} 个单位，抽取 {len(g.sample)} 个（{g.ratio:.0%}）" for g in check.groups]
    return lines


if __name__ == "__main__":
    if sys.argv[1:] == ["--names"]:
        sys.stdout.write(review_names_csv())
    else:
        print("用法：python -m addin.review_pack --names > docs/review_names.csv", file=sys.stderr)
        sys.exit(2)
