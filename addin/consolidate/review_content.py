"""The review results of a run as JSON-ready data (`content(run)["review_results"]` …): the part of the report
and summary about returned review packs — composite, rank, 摘牌, who has reviewed what, and per-indicator
averages showing which requirements units miss most.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from udfs.numbers import ROUNDING_TEXT, round_excel, to_array
from udfs.ranking import SCOPE_TEXT
from udfs.results import RECHECK_RULE_TEXT, REVIEWED, WAITING, UnitResult
from udfs.scoring import counted_array
from workbook_templates import Spec

from .model import ConsolidationRun, FileOutcome

COMPLETE, UNFINISHED, NOT_STARTED, NOT_RECEIVED = "已评完", "未评完", "未填写", "未收到"
"""A scorecard used and complete / used and unfinished; the pack came back with the card untouched; no card."""
NOT_APPLICABLE = "单位工作簿有错误，未纳入评审"
LOWEST_SHOWN = 15
"""Indicators in the 指标得分 chart: the lowest review score rates."""


def _unit_fields(f: FileOutcome) -> dict[str, Any]:
    return {k: f.unit.get(k) for k in ("unit_code", "unit_name", "unit_level", "unit_region")}


def review_results(run: ConsolidationRun, spec: Spec) -> list[dict[str, Any]]:
    """One entry per unit (the run's units, in order): each reviewer's counted total, composite, state, rank,
    达标 (composite ≥ pass line) and 拟摘牌 with its reason."""
    chosen = {(c.unit_code, c.level): c for c in run.review_cards if c.chosen}
    out = []
    for f in run.units:
        r: UnitResult | None = run.results.get(f.code)
        scores = {lv: (chosen[(f.code, lv)].total if (f.code, lv) in chosen else None)
                  for lv in spec.assessment.reviewers}
        out.append({**_unit_fields(f), "file": f.path, "self_total": f.results.get("self_total"),
                    "scores": scores,
                    "state": r.state if r else "", "composite": r.composite if r else None,
                    "used": dict(r.used) if r else {}, "waiting": list(r.waiting) if r else [],
                    "not_counted": list(r.not_counted) if r else [], "recheck": r.recheck if r else "",
                    "rank": r.rank if r else None, "pass": None if not r or r.below_pass is None else not r.below_pass,
                    "eliminated": bool(r and r.eliminated), "tie_at_cut": bool(r and r.tie_at_cut),
                    "reason": r.reason if r else ""})
    return out


def review_progress(run: ConsolidationRun, spec: Spec) -> list[dict[str, Any]]:
    """Who has reviewed what: for every unit, each reviewer its level weighs (and 自治区 where it re-checked):
    已评完 / 未评完 (N items left) / 未收到, with the scorecard used."""
    levels = {lv.label: lv for lv in spec.assessment.levels.values()}
    cards = {(c.unit_code, c.level): c for c in run.review_cards if c.chosen}
    blank = {(c.unit_code, c.level) for c in run.review_cards if c.matched and c.blank}
    rows = []
    for f in run.units:
        level = levels.get(str(f.unit.get("unit_level") or ""))
        wanted = [k for k in spec.assessment.reviewers if level and k in level.weights or (f.code, k) in cards]
        for k in wanted:
            c = cards.get((f.code, k))
            status = ((COMPLETE if c.missing == 0 else UNFINISHED) if c else NOT_STARTED if (f.code, k) in blank
                      else NOT_APPLICABLE if f.blocking else NOT_RECEIVED)
            rows.append({**_unit_fields(f), "reviewer": k, "reviewer_label": spec.assessment.reviewers[k],
                         "weighed": bool(level and k in level.weights), "status": status,
                         "missing": c.missing if c else None, "total": c.total if c else None,
                         "file": c.path if c else None, "sheet": c.sheet if c else None,
                         "reviewer_name": c.reviewer if c else None})
    return rows


def reviews(run: ConsolidationRun, spec: Spec) -> list[dict[str, Any]]:
    """Every scorecard of the packs read that a reviewer filled in (untouched ones are no review), used or not."""
    return [{"file": c.path, "sheet": c.sheet, "reviewer": c.level,
             "reviewer_label": spec.assessment.reviewers.get(c.level, c.level), "unit_code": c.unit_code,
             "unit_name": c.unit_name, "total": c.total, "missing": c.missing, "reviewer_name": c.reviewer,
             "date": c.date, "used": c.used, "matched": c.matched}
            for c in run.review_cards if not c.blank]


def indicator_averages(run: ConsolidationRun, spec: Spec) -> list[dict[str, Any]]:
    """Per indicator: the average self score of the units without errors and the average counted score of
    the complete scorecards used, each also as a rate of the indicator's points (a blank counts 0)."""
    units = [f for f in run.units if not f.blocking]
    cards = [c for c in run.review_cards if c.chosen and c.missing == 0]
    digits = spec.precision.score
    out = []
    inputs, results = [f.inputs for f in units], [f.results for f in units]
    for ind in spec.indicators:
        name = ind.score_name
        if ind.rule.type == "computed_target":
            own = to_array([r.get(name) for r in results])
        else:               # one vectorised pass per indicator: thousands of units
            selector = ind.rule.selector
            own = counted_array(ind, to_array([i.get(name) for i in inputs]),
                                [i.get(selector) for i in inputs] if selector else None, spec=spec)
        self_avg = _average(own, digits)
        review_avg = _average(to_array([c.items.get(ind.id) for c in cards]), digits)
        out.append({"indicator": ind.id, "text": ind.text, "points": ind.points,
                    "units": len(units), "self_average": self_avg, "self_rate": _rate(self_avg, ind.points),
                    "scorecards": len(cards), "review_average": review_avg,
                    "review_rate": _rate(review_avg, ind.points)})
    return out


def lowest(averages: list[dict[str, Any]], n: int = LOWEST_SHOWN) -> list[dict[str, Any]]:
    """The `n` indicators with the lowest review rate (self rate where there is no review), lowest first."""
    def rate(a: dict[str, Any]) -> float:
        r = a["review_rate"] if a["review_rate"] is not None else a["self_rate"]
        return 2.0 if r is None else r
    return sorted(averages, key=lambda a: (rate(a), a["indicator"]))[:n]


def review_rules(run: ConsolidationRun, spec: Spec) -> dict[str, Any]:
    """The rules this run applied — the ranking scope actually used and the spec's open-question defaults."""
    a, e = spec.assessment, spec.assessment.elimination
    return {"scope": run.scope, "scope_text": SCOPE_TEXT[run.scope], "ratio": e.ratio, "rounding": e.rounding,
            "rounding_text": ROUNDING_TEXT[e.rounding], "below_pass_line_eliminated": e.below_pass_line_eliminated,
            "pass_line": a.pass_line, "recheck": a.recheck.rule, "recheck_text": RECHECK_RULE_TEXT[a.recheck.rule],
            "open_questions": [a.recheck.question, e.question]}


def review_summary(run: ConsolidationRun) -> dict[str, int]:
    """Counts for the one-line outcome and 说明: reviewed, waiting, ranked, 达标, 不达标, 拟摘牌, ties at the cut."""
    results = [r for r in (run.results.get(f.code) for f in run.units) if r is not None]
    return {"units": len(run.units), "reviewed": sum(r.state == REVIEWED for r in results),
            "waiting": sum(r.state == WAITING for r in results),
            "ranked": sum(r.rank is not None for r in results),
            "passed": sum(r.below_pass is False for r in results), "failed": sum(r.below_pass is True for r in results),
            "eliminated": sum(r.eliminated for r in results), "tie_at_cut": sum(r.tie_at_cut for r in results)}


def _average(values: np.ndarray, digits: int) -> float | None:
    """The mean with blanks (NaN) counted as 0 points; None for no values."""
    if not len(values):
        return None
    return round_excel(float(np.nansum(values)) / len(values), digits)


def _rate(average: float | None, points: float) -> float | None:
    return None if average is None or not points else round_excel(average / points, 4)


__all__ = ["review_results", "review_progress", "reviews", "indicator_averages", "lowest", "review_summary"]
