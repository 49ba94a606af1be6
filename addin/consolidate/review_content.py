"""The review results of a run as JSON-ready data (`content(run)["review_results"]` …): the part of the report
and summary about returned review packs — composite, rank, 摘牌, who has reviewed what, and per-indicator
averages showing which requirements units miss most.
"""
from __future__ import annotations

from typing import AbstractSet, Any

import numpy as np

from udfs.numbers import ROUNDING_TEXT, round_excel, to_array
from udfs.ranking import SCOPE_TEXT, elimination_count, ranking_group
from udfs.results import (CREATION_COHORT, INCOMPLETE, INCOMPLETE_CREATION, NOT_RETURNED, RECHECK_COHORT,
                          RECHECK_RULE_TEXT, REVIEWED, STATES, WAITING, UnitResult)
from generator.wording import indicator_text
from workbook_templates import Spec

from .model import ConsolidationRun, FileOutcome, RosterEntry
from .report_json import Rows
from .unit_indicators import self_counted

COMPLETE, UNFINISHED, NOT_STARTED, NOT_RECEIVED = "已评完", "未评完", "未填写", "未收到"
"""A scorecard used and complete / used and unfinished; the pack came back with the card untouched; no card."""
NOT_APPLICABLE = "单位工作簿有错误，未纳入评审"
LOWEST_SHOWN = 15
"""Indicators in the 指标得分 chart: the lowest review score rates."""


def _unit_fields(f: FileOutcome) -> dict[str, Any]:
    return {k: f.unit.get(k) for k in ("unit_code", "unit_name", "unit_level", "unit_region")}


def review_results(run: ConsolidationRun, spec: Spec) -> Rows:
    """One entry per unit — the run's units in order, then the roster's units that did not return: its cohort
    (复验 | 创建), each reviewer's counted total, composite, state (one of `udfs.results.STATES`), rank, 达标
    (composite ≥ pass line, and a gate met) and 拟摘牌 with its reason. Made where written (`Rows`)."""
    chosen = {(c.unit_code, c.level): c for c in run.review_cards if c.chosen}
    roster = {e.code: e for e in run.roster or ()}
    units = run.units
    returned = {f.code for f in units}
    missing = [e for e in run.not_returned if e.code not in returned and run.results.get(e.code) is not None]

    def row(unit: FileOutcome | RosterEntry) -> dict[str, Any]:
        if isinstance(unit, RosterEntry):                # on the roster, not returned: its result only
            r = run.results[unit.code]
            return {"unit_code": unit.code, "unit_name": unit.name, "unit_level": unit.level,
                    "unit_region": unit.region, "file": None, "self_total": None,
                    "scores": {lv: None for lv in spec.assessment.reviewers}, "cohort": r.cohort,
                    "named_year": unit.named_year, "state": r.state, "composite": None, "used": {}, "waiting": [],
                    "not_counted": [], "recheck": "", "rank": None, "pass": None, "eliminated": False,
                    "tie_at_cut": False, "reason": r.reason}
        f = unit
        r: UnitResult | None = run.results.get(f.code)
        scores = {lv: (chosen[(f.code, lv)].total if (f.code, lv) in chosen else None)
                  for lv in spec.assessment.reviewers}
        entry = roster.get(f.code)
        return {**_unit_fields(f), "file": f.path, "self_total": f.results.get("self_total"),
                "scores": scores, "cohort": r.cohort if r else RECHECK_COHORT,
                "named_year": entry.named_year if entry else None,
                "state": r.state if r else "", "composite": r.composite if r else None,
                # the result's own tables and tuples, not copies (nothing changes them; 20 000 units)
                "used": r.used if r else {}, "waiting": r.waiting if r else (),
                "not_counted": r.not_counted if r else (), "recheck": r.recheck if r else "",
                "rank": r.rank if r else None, "pass": None if not r or r.below_pass is None else not r.below_pass,
                "eliminated": bool(r and r.eliminated), "tie_at_cut": bool(r and r.tie_at_cut),
                "reason": r.reason if r else ""}
    return Rows([*units, *missing], row)


def review_progress(run: ConsolidationRun, spec: Spec, overdue: AbstractSet[tuple[str, str]]) -> Rows:
    """Who has reviewed what: for every unit, each reviewer its level weighs (and 自治区 where it re-checked):
    已评完 / 未评完 (N items left) / 未收到, with the scorecard used; `overdue` (unit code, reviewer): the review
    was due by a stage whose date has passed at --as-of (`stages.overdue_reviews`). Made where written (`Rows`):
    up to four rows a unit."""
    levels = {lv.label: lv for lv in spec.assessment.levels.values()}
    cards = {(c.unit_code, c.level): c for c in run.review_cards if c.chosen}
    blank = {(c.unit_code, c.level) for c in run.review_cards if c.matched and c.blank}
    reviews: list[tuple[FileOutcome, str, bool]] = []      # (unit, reviewer, weighed)
    for f in run.units:
        level = levels.get(str(f.unit.get("unit_level") or ""))
        reviews += [(f, k, bool(level and k in level.weights)) for k in spec.assessment.reviewers
                    if level and k in level.weights or (f.code, k) in cards]

    def row(review: tuple[FileOutcome, str, bool]) -> dict[str, Any]:
        f, k, weighed = review
        c = cards.get((f.code, k))
        status = ((COMPLETE if c.missing == 0 else UNFINISHED) if c else NOT_STARTED if (f.code, k) in blank
                  else NOT_APPLICABLE if f.blocking else NOT_RECEIVED)
        return {**_unit_fields(f), "reviewer": k, "reviewer_label": spec.assessment.reviewers[k],
                "weighed": weighed, "status": status, "missing": c.missing if c else None,
                "total": c.total if c else None, "file": c.path if c else None, "sheet": c.sheet if c else None,
                "reviewer_name": c.reviewer if c else None, "overdue": (f.code, k) in overdue}
    return Rows(reviews, row)


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
    counted = self_counted(units, spec)                  # each unit's contribution, as read (`unit_indicators`)
    for column, ind in enumerate(spec.indicators):
        self_avg = _average(counted[:, column], digits)
        review_avg = _average(to_array([c.items.get(ind.id) for c in cards]), digits)
        out.append({"indicator": ind.id, "text": indicator_text(ind, spec, run.year), "points": ind.points,
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


BASE_TEXT = {"roster": "名单中的复验单位（无论是否交回、是否完成评审）", "ranked": "参与排名的复验单位"}
"""assessment.toml [elimination] base as users read it."""
NO_ROSTER_BASE = "未提供名单：按交回工作簿的复验单位计"


def review_rules(run: ConsolidationRun, spec: Spec) -> dict[str, Any]:
    """The rules this run applied — the ranking scope actually used, the 5 % base and the count of it per ranking
    group (with how many were ranked and marked 拟摘牌 there), whether this is the final consolidation, the
    spec's open-question defaults, and the decimals a score is shown with (`score_digits`, the spec's precision:
    the results handed back print scores as the summary does)."""
    a, e = spec.assessment, spec.assessment.elimination
    ranked: dict[str, int] = {}
    eliminated: dict[str, int] = {}
    results = {f.code: (f, run.results.get(f.code)) for f in run.units}
    for f, r in results.values():
        if r is not None and r.rank is not None:
            group = ranking_group(f.unit.get("unit_region"), run.scope)
            ranked[group] = ranked.get(group, 0) + 1
            eliminated[group] = eliminated.get(group, 0) + bool(r.eliminated)
    base = run.elimination_base
    groups = sorted(set(ranked) | set(base or {}))
    counts = [{"group": g, "base": (base or ranked).get(g, 0), "ranked": ranked.get(g, 0),
               "count": min(ranked.get(g, 0), elimination_count((base or ranked).get(g, 0), spec=spec)),
               "eliminated": eliminated.get(g, 0)} for g in groups]
    return {"scope": run.scope, "scope_text": SCOPE_TEXT[run.scope], "ratio": e.ratio, "rounding": e.rounding,
            "rounding_text": ROUNDING_TEXT[e.rounding], "below_pass_line_eliminated": e.below_pass_line_eliminated,
            "elimination_base": e.base,
            "elimination_base_text": BASE_TEXT[e.base] + ("" if e.base != "roster" or run.roster is not None
                                                           else f"（{NO_ROSTER_BASE}）"),
            "elimination_base_units": sum(c["base"] for c in counts),
            "elimination_count": sum(c["count"] for c in counts), "elimination_groups": counts,
            "final": run.final, "incomplete": e.incomplete, "states": list(STATES),
            "pass_line": a.pass_line, "score_digits": spec.precision.score,
            "recheck": a.recheck.rule, "recheck_text": RECHECK_RULE_TEXT[a.recheck.rule],
            "open_questions": [a.recheck.question, e.question, e.base_question]}


def review_summary(run: ConsolidationRun) -> dict[str, int]:
    """Counts for the one-line outcome and 说明: reviewed, waiting, ranked, 达标, 不达标, 拟摘牌, ties at the cut,
    and by cohort and state (未报送, 未完成复验 …)."""
    results = [r for r in (run.results.get(f.code) for f in run.units) if r is not None]
    returned = {f.code for f in run.units}
    missing = [r for r in (run.results.get(e.code) for e in run.not_returned if e.code not in returned)
               if r is not None]
    every = results + missing
    return {"units": len(run.units), "reviewed": sum(r.state == REVIEWED for r in results),
            "waiting": sum(r.state == WAITING for r in results),
            "not_returned": sum(r.state == NOT_RETURNED for r in every),
            "incomplete": sum(r.state in (INCOMPLETE, INCOMPLETE_CREATION) for r in every),
            "creation": sum(r.cohort == CREATION_COHORT for r in every),
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
