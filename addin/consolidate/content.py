"""What a consolidation run produced, as plain data: the content both outputs render.

`content(run)` is the single place where a `ConsolidationRun` becomes rows and figures; `report_json` writes
it as JSON and `summary` renders the same dict as a workbook, so the two outputs cannot drift apart — neither
reads the run itself. `statistics(run)` is the one computation of the 统计 tables and charts.

Keys are contract names wherever a contract name exists (unit_name, unit_code, prev_area_m2 …).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping, NamedTuple

from workbook_templates import InputError, Spec
from workbook_templates.contract import UNIT_NAMES

from . import review_content as rc
from . import signatures
from .model import (CONSOLIDATED, KIND_LABEL, REJECTED, SKIPPED, STATUS_LABEL, ConsolidationRun, FileOutcome,
                    RosterEntry)
from .pack_parts import review_packs
from .report_json import RENDERED, Rows
from .stages import overdue_reviews, stages
from .unit_indicators import unit_indicators

VALID, BLOCKED, NOT_USED = "有效", "有错误，不参与排名", "重复报送，未采用"
UNFILLED = "（未填）"        # the group of units whose region or level is blank

# Self-score distribution: [low, high) in points; None is open-ended.
SCORE_BUCKETS = ((None, 60, "60分以下"), (60, 70, "60～70分"), (70, 80, "70～80分"), (80, 90, "80～90分"),
                 (90, None, "90分及以上"))


def state(f: FileOutcome) -> str:
    """A file's standing in the summary: 有效 / 有错误，不参与排名 / 重复报送，未采用, or its intake status."""
    if f.status != CONSOLIDATED:
        return STATUS_LABEL[f.status]
    if not f.used:
        return NOT_USED
    return BLOCKED if f.blocking else VALID


def counts(f: FileOutcome, spec: Spec) -> tuple[int, int]:
    """(错误数, 警告数) of a file's findings; 提示 are not counted."""
    sev = [spec.checks[x.code].severity for x in f.findings]
    return sev.count("错误"), sev.count("警告")


def accounting(run: ConsolidationRun) -> dict[str, int]:
    """seen = consolidated + rejected + skipped — checked here, so no output is written when it does not hold."""
    acc = run.accounting
    if acc["seen"] != acc[CONSOLIDATED] + acc[REJECTED] + acc[SKIPPED]:
        raise AssertionError(f"文件核算不平：{acc}")
    return acc


WORKBOOK_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xltx", ".xltm", ".xls", ".xlsb", ".et", ".ett", ".ods"})
"""Names of files that could be a return: a spreadsheet workbook of Excel, WPS or LibreOffice. Files of other
kinds (.csv, .pdf, .docx …) are read and rejected with their reason when there is a workbook among them."""


def no_workbook(run: ConsolidationRun) -> str | None:
    """Why there is nothing to consolidate — not one file that could be a return (a workbook by its name, not
    skipped) — or None. A folder of only lock files, PDFs or scans is a wrong folder, not an empty result: the
    run stops (exit code 2) instead of writing an empty summary over the last good one."""
    if any(f.status != SKIPPED and Path(f.path).suffix.lower() in WORKBOOK_SUFFIXES for f in run.files):
        return None
    skipped = sum(f.status == SKIPPED for f in run.files)
    others = [f.path for f in run.files if f.status != SKIPPED]
    if not run.files:
        found = "目录中没有任何文件"
    else:
        parts = ([f"{skipped} 个已跳过（Excel/WPS 临时锁定文件、隐藏或系统文件）"] if skipped else []) + (
            [f"{len(others)} 个不是 Excel/WPS 工作簿（如 {'、'.join(others[:3])}）"] if others else [])
        found = f"共发现 {len(run.files)} 个文件：{'，'.join(parts)}"
    return (f"回收目录「{run.folder}」中没有可以汇总的工作簿（.xlsx 等）：{found}。未生成汇总表（已有的汇总表保持不变）："
            "请检查目录是否选对、交回的工作簿是否已放入其中（含子目录）")


def accounting_line(acc: dict[str, int]) -> str:
    return (f"共发现文件 {acc['seen']} = {STATUS_LABEL[CONSOLIDATED]} {acc[CONSOLIDATED]} + "
            f"{STATUS_LABEL[REJECTED]} {acc[REJECTED]} + {STATUS_LABEL[SKIPPED]} {acc[SKIPPED]}")


def outcome_line(run: ConsolidationRun) -> str:
    """The one-line result of a run, shown by `jieyue consolidate` and the Excel console alike:
    the accounting, valid units and, where they apply, roster gaps, duplicates and files gone since last time."""
    a = run.accounting
    valid = sum(1 for f in run.units if not f.blocking)
    line = (f"共 {a['seen']} 个文件 = 已汇总 {a[CONSOLIDATED]} + 已拒收 {a[REJECTED]} + 已跳过 {a[SKIPPED]}；"
            f"有效单位 {valid} 个")
    if run.roster is not None:
        line += f"，未报送 {len(run.not_returned)} 个，名单外 {len(run.outside_roster)} 个"
    if run.duplicates:
        line += f"，重复报送 {len(run.duplicates)} 个单位"
    if run.disappeared:
        line += f"，上次汇总后删除了 {len(run.disappeared)} 个文件"
    if run.packs or run.review_cards:
        n = rc.review_summary(run)
        line += f"；评审包 {len(run.packs)} 份，已评审 {n['reviewed']} 个、待评审 {n['waiting']} 个，拟摘牌 {n['eliminated']} 个"
    return line


def _unit(f: FileOutcome) -> dict[str, Any]:
    return {k: f.unit.get(k) for k in UNIT_NAMES}


def _roster(e: RosterEntry) -> dict[str, str]:
    return {"name": e.name, "code": e.code, "level": e.level, "region": e.region}


# ---------------------------------------------------------------- statistics

class _Tallied(NamedTuple):
    """What the 统计 figures count of one unit, read from its results once for all the groupings."""

    unit: Mapping[str, Any]
    valid: bool                          # without a 错误
    self_total: float | None
    self_pass: bool
    targets_all_met: bool                # every decline target met


def _tallied(f: FileOutcome, spec: Spec) -> _Tallied:
    r = f.results
    return _Tallied(f.unit, not f.blocking, r.get("self_total"), r.get("self_pass") is True,
                    all(r.get(f"ok_{i.key}") is True for i in spec.decline_intensities))


def _tally(units: list[_Tallied], spec: Spec) -> dict[str, Any]:
    valid = [u for u in units if u.valid]
    scored = [u.self_total for u in valid if u.self_total is not None]
    passed = sum(1 for u in valid if u.self_pass)
    return {
        "returned": len(units),
        "valid": len(valid),
        "targets_all_met": sum(1 for u in valid if u.targets_all_met),
        "scored": len(scored),
        "average_self_total": round(sum(scored) / len(scored), spec.precision.score) if scored else None,
        "self_pass": passed,
        "pass_rate": round(passed / len(valid), 4) if valid else None,
    }


def _grouped(units: list[_Tallied], field: str, order: Iterable[str], spec: Spec) -> list[dict[str, Any]]:
    groups: dict[str, list[_Tallied]] = {}
    for u in units:
        groups.setdefault(str(u.unit.get(field) or "").strip() or UNFILLED, []).append(u)
    rank = {label: i for i, label in enumerate(order)}
    keys = sorted(groups, key=lambda g: (g == UNFILLED, rank.get(g, len(rank)), g))
    return [{"group": g, **_tally(groups[g], spec)} for g in keys]


def statistics(run: ConsolidationRun, spec: Spec) -> dict[str, Any]:
    """The 统计 figures, over the units of the run (one used consolidated file per unit).

    returned: units consolidated; valid: of those, without a 错误; the rest count valid units only —
    targets_all_met (every decline target met), average_self_total (of valid units with a self total),
    self_pass (self total ≥ the pass line), pass_rate = self_pass ÷ valid. Regions are in text order, levels in
    the spec's order, a blank region or level last as 「（未填）」. Score buckets include their low end.
    """
    units = [_tallied(f, spec) for f in run.units]
    valid_totals = [u.self_total for u in units if u.valid and u.self_total is not None]
    buckets = []
    for low, high, label in SCORE_BUCKETS:
        n = sum(1 for t in valid_totals if (low is None or t >= low) and (high is None or t < high))
        buckets.append({"label": label, "low": low, "high": high, "count": n})
    levels = [lv.label for lv in spec.assessment.levels.values()]
    return {
        "pass_line": spec.assessment.pass_line,
        "targets": len(spec.decline_intensities),
        "by_region": _grouped(units, "unit_region", (), spec),
        "by_level": _grouped(units, "unit_level", levels, spec),
        "total": _tally(units, spec),
        "score_distribution": buckets,
    }


# ---------------------------------------------------------------- the content

def findings(run: ConsolidationRun, spec: Spec) -> list[dict[str, Any]]:
    """Every finding of every file, by file path, each file's findings in the order found."""
    rows = []
    for f in sorted(run.files, key=lambda f: f.path):
        for x in f.findings:
            check = spec.checks[x.code]
            rows.append({"file": f.path, **{k: f.unit.get(k) for k in ("unit_name", "unit_code")},
                         "name": x.name, "cell": x.cell, "code": x.code, "severity": check.severity,
                         "title": check.title, "message": x.message})
    return rows


def content(run: ConsolidationRun, spec: Spec) -> dict[str, Any]:
    """The whole outcome of a run as JSON-ready data; both writers render this (each unit entry also carries
    its pre-rendered figures under `rendered`, which the writers use and the report does not show)."""
    acc = accounting(run)
    if problem := no_workbook(run):
        raise InputError(problem)
    results = rc.review_results(run, spec)
    stage_section = stages(run, spec)

    def unit_row(f: FileOutcome) -> dict[str, Any]:
        errors, warnings = counts(f, spec)
        # The figures by reference, not copied: nothing here changes them, and a 5 000-unit run stays light.
        return {**_unit(f), "state": state(f), "blocking": f.blocking, "errors": errors, "warnings": warnings,
                "inputs": f.inputs, "results": f.results, "meta": f.meta, "file": f.path, RENDERED: f.rendered}

    def file_row(f: FileOutcome) -> dict[str, Any]:
        errors, warnings = counts(f, spec)
        return {"path": f.path, "kind": f.kind, "kind_label": KIND_LABEL[f.kind], "size": f.size,
                "sha256": f.sha256, "status": f.status, "status_label": STATUS_LABEL[f.status],
                "skip_reason": f.skip_reason,
                "signature": signatures.STATUS_LABEL.get(run.signatures.status.get(f.path, "")),
                "template_version": f.meta.get("template_version"), "unit_code": f.code or None,
                "unit_name": f.unit.get("unit_name"), "used": f.used if f.status == CONSOLIDATED else None,
                "errors": errors, "warnings": warnings}
    # The tables with a row per unit or file are made where they are written (`Rows`), once for each output.
    units, files = Rows(run.units, unit_row), Rows(run.files, file_row)
    return {
        "year": run.year,
        "year_source": run.year_source,
        "year_flags": spec.year_flags(run.year) if run.year in spec.years else [],
        "preset": run.preset,
        "presets_used": {p: list(paths) for p, paths in sorted(run.presets_used.items())},
        "folder": run.folder,
        "accounting": acc,
        "units": units,
        "findings": findings(run, spec),
        "files": files,
        "roster_size": None if run.roster is None else len(run.roster),
        "not_returned": None if run.roster is None else [
            {**_roster(e), "mismatched_files": list(run.roster_mismatch.get(e.code, ()))} for e in run.not_returned],
        "duplicates": [{"unit_code": d.unit_code, "files": list(d.files), "chosen": d.chosen, "rule": d.rule,
                        "conflict": d.conflict} for d in run.duplicates],
        "signatures": signatures.summary(run),
        "outside_roster": [{"path": f.path, **_unit(f), "status": f.status, "state": state(f)}
                           for f in run.outside_roster],
        "disappeared": sorted(run.disappeared),
        "notices": list(run.notices),
        "statistics": statistics(run, spec),
        "reviews": rc.reviews(run, spec),
        "review_results": results,
        "review_summary": rc.review_summary(run),
        "review_rules": rc.review_rules(run, spec),
        "review_progress": rc.review_progress(run, spec, overdue_reviews(stage_section)),
        "review_packs": review_packs(run, spec),        # packs in parts (review-pack --split): parts received, missing
        "indicator_averages": rc.indicator_averages(run, spec),
        "unit_indicators": unit_indicators(run, spec),   # each unit's score per indicator (jieyue notices)
        "stages": stage_section,                         # due dates, done / total, overdue at --as-of
        "evidence": run.evidence if run.evidence is not None else {"units": [], "totals": {}},   # 佐证材料
    }


