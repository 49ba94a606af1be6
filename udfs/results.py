"""复验结果：综合得分，各级评审评分如何计入、待评审、自治区复核，及每个单位的排名与摘牌 — plain functions of plain values.

Rules (seed deck PART 03; every weight, ratio and option from assessment.toml):
- composite = Σ weight × score over the unit level's scorers (县市区级 0.1 自评 + 0.3 县 + 0.6 地州市 …), ROUNDed;
  a missing or out-of-range score makes the composite blank.
- A unit's composite (综合得分) needs its self total and a *complete* total from every reviewer its level weighs
  (县市区级: 县市区 and 地州市; 地州市级: 地州市; 自治区本级: 自治区). A reviewer score that is missing or still
  incomplete makes the unit 待评审 — it is never counted as 0 and the unit is not ranked.
- Re-check (`[recheck] rule`): with `replace_top`, a complete 自治区 score of a unit whose weights do not name
  自治区 replaces the score of the unit's last-listed reviewer (地州市 for 县市区级 and 地州市级 units) — and
  stands in for it when that score is missing; with `none` it is shown, not counted.
- A score from a reviewer that neither weighs the unit nor re-checks it is shown, not counted.
- Ranking and 摘牌 are `udfs.ranking.rank_units` over the 复验 units with a composite whose return has no error;
  a composite below the pass line is 不达标, reported apart from 摘牌. Under a standard version whose 目标管理 is
  a gate, a unit that missed a decline target is 不达标 too, whatever its composite.
- Cohorts (the roster's 类型): 复验 units (named earlier, re-verified) face the 5 % 摘牌; 创建 units (being
  created) are judged 达标 / 不达标 against the pass line and never ranked for 摘牌.
- The 5 % base (`elimination_base`, assessment.toml [elimination] base): the roster's 复验 units, returned or not
  (without a roster: the 复验 units that returned), or the units ranked.
- States (`STATES`): 已评审; 待评审 (a reviewer's score missing or unfinished); 有错误，不参与排名; 未报送 (on the
  roster, no return); and at the final consolidation (`final`), after the deadline, a unit that has not completed —
  未报送, errors not corrected, still 待评审 — is 未完成复验 (创建 units: 未完成创建): not ranked, and what happens to
  it is for a person to decide (the spec's [elimination] incomplete says so).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from workbook_templates import Spec

from .levels import find_level, level_of
from .numbers import as_number, round_excel_array, to_array
from .ranking import rank_units, ranking_group

REVIEWED, WAITING, NOT_RANKED = "已评审", "待评审", "有错误，不参与排名"
NOT_RETURNED, INCOMPLETE, INCOMPLETE_CREATION = "未报送", "未完成复验", "未完成创建"
STATES = (REVIEWED, WAITING, NOT_RANKED, NOT_RETURNED, INCOMPLETE, INCOMPLETE_CREATION)
"""Every state a unit's review result can have (the JSON report's `review_results[].state`)."""

RECHECK_COHORT, CREATION_COHORT = "复验", "创建"
COHORTS = (RECHECK_COHORT, CREATION_COHORT)
"""The roster's 类型: 复验 (a named unit re-verified; the default) or 创建 (a unit being created)."""

RECHECK_RULE_TEXT = {"replace_top": "自治区的完整复核评分替代该单位权重中最高一级评审部门（地州市）的评分，未收到该级评分时代替之",
                     "none": "自治区的复核评分只列示，不计入综合得分"}
"""The spec's re-check rules (assessment.toml [recheck]) as users read them."""


def composite_score(level: str, self_score: Any, county: Any = None, prefecture: Any = None, region: Any = None, *,
                    spec: Spec) -> float | None:
    """综合得分 of one unit: the level's weights times self and reviewer scores, ROUNDed.

    县市区级 0.1×80 + 0.3×85 + 0.6×90 = 87.5. Blank when a score the level needs is blank, not a number,
    or outside 0–100. An unknown level raises KeyError (with the levels to choose from).
    """
    lv = level_of(level, spec)
    x = composite_columns([lv.key], [self_score], [county], [prefecture], [region], spec=spec)[0]
    return None if x != x else float(x)


def composite_columns(levels: Sequence[Any], self_scores: Sequence[Any], county: Sequence[Any] | None = None,
                      prefecture: Sequence[Any] | None = None, region: Sequence[Any] | None = None, *,
                      spec: Spec) -> np.ndarray:
    """`composite_score` for many units (NaN = blank; an unknown level is blank here, not an error)."""
    n = len(levels)
    top = spec.assessment.total_points
    scores = {}
    for who, column in (("self", self_scores), ("county", county), ("prefecture", prefecture), ("region", region)):
        a = to_array(column) if column is not None else np.full(n, np.nan)
        scores[who] = np.where((a >= 0) & (a <= top), a, np.nan)
    level_list = list(spec.assessment.levels.values())
    index: dict[Any, int] = {}          # each distinct text looked up once, as `find_level` reads it
    for v in levels:
        if isinstance(v, str) and v not in index:
            found = find_level(v, spec)
            index[v] = -1 if found is None else level_list.index(found)
    chosen = np.fromiter((index.get(v, -1) if isinstance(v, str) else -1 for v in levels), dtype=int, count=n)
    out = np.full(n, np.nan)
    for k, lv in enumerate(level_list):
        rows = chosen == k
        total = np.zeros(int(rows.sum()))
        for who, weight in lv.weights.items():   # the same order and arithmetic as Σ weight × score by hand
            total = total + weight * scores[who][rows]
        out[rows] = total
    return round_excel_array(out, spec.precision.score)


@dataclass(frozen=True)
class UnitScores:
    """What one unit has: its level and 地区, its self total, and each reviewer's total by reviewer key —
    a number when that scorecard is complete, None when it is there but unfinished (no key: no scorecard)."""

    code: str
    level: str                                  # the unit level's label (县市区级) or key
    region: str                                 # 所属地区: the ranking group when the scope is per 地州市
    self_total: Any
    reviews: Mapping[str, Any] = field(default_factory=dict)
    ranked: bool = True                         # False when the unit's return has an error
    cohort: str = RECHECK_COHORT                # 复验 | 创建 (COHORTS)
    gate: bool | None = None                    # a gate standard: every decline target met (True) or not; None: no gate
    returned: bool = True                       # False: on the roster, no return
    on_roster: bool | None = None               # None: no roster was given


@dataclass(frozen=True)
class UnitResult:
    code: str
    state: str                                  # 已评审 | 待评审 | 有错误，不参与排名
    composite: float | None
    used: Mapping[str, float]                   # weight key (self, county, …) → the score counted
    waiting: tuple[str, ...]                    # reviewer keys whose complete score is still missing
    not_counted: tuple[str, ...]                # reviewer keys whose score is shown but not counted
    recheck: str                                # how a 自治区 re-check was counted (Chinese), else ""
    rank: int | None = None
    eliminated: bool = False                    # 拟摘牌
    tie_at_cut: bool = False                    # equal scores across the 摘牌 cut: a person decides
    reason: str = ""                            # why 拟摘牌, or why not ranked
    below_pass: bool | None = None              # composite < pass line, or a gate missed (不达标); None without a composite
    cohort: str = RECHECK_COHORT


def counted_scores(unit: UnitScores, spec: Spec) -> tuple[dict[str, float], tuple[str, ...], tuple[str, ...], str]:
    """(weight key → score counted, reviewers still waited for, reviewers shown but not counted, re-check note)
    for one unit, by the rules above. An unknown level raises KeyError naming the levels."""
    level = level_of(unit.level, spec)
    order = list(spec.assessment.reviewers)
    reviews = {k: as_number(v) for k, v in unit.reviews.items()}
    weighed = [k for k in order if k in level.weights]
    used: dict[str, float] = {}
    self_total = as_number(unit.self_total)
    if self_total is not None:
        used["self"] = self_total
    note = ""
    for k in weighed:
        if reviews.get(k) is not None:
            used[k] = reviews[k]
    region = order[-1]
    rechecked = region not in level.weights and reviews.get(region) is not None
    if rechecked and spec.assessment.recheck.rule == "replace_top" and weighed:
        top = weighed[-1]
        replaced = used.get(top)
        used[top] = reviews[region]
        label = spec.assessment.reviewers
        note = (f"{label[region]}复核 {reviews[region]:g} 分，替代{label[top]}"
                + (f" {replaced:g} 分" if replaced is not None else "（尚未评分）"))
    waiting = tuple(k for k in weighed if k not in used)
    counted = set(weighed) | ({region} if note else set())
    not_counted = tuple(k for k in order if k in unit.reviews and k not in counted)
    return used, waiting, not_counted, note


def elimination_base(units: Iterable[UnitScores], *, scope: str | None = None, base: str | None = None,
                     spec: Spec) -> dict[str, int] | None:
    """What the 5 % is taken of, per ranking group: with base `roster` (the spec's default) the 复验 units of the
    roster, whether they returned or not — or, when no roster was given, the 复验 units that returned; with base
    `ranked`, None (the units ranked in each group, `rank_units`' own count)."""
    e = spec.assessment.elimination
    if (base or e.base) == "ranked":
        return None
    scope = scope or e.scope
    counts: dict[str, int] = {}
    for u in units:
        if u.cohort == RECHECK_COHORT and u.on_roster is not False and (u.returned or u.on_roster):
            group = ranking_group(u.region, scope)
            counts[group] = counts.get(group, 0) + 1
    return counts


def review_results(units: Iterable[UnitScores], *, scope: str | None = None, base: Mapping[str, int] | None = None,
                   final: bool = False, spec: Spec) -> list[UnitResult]:
    """Composite, state, rank and 摘牌 of every unit, in the order given. `scope`: region (全区统一排名) or
    prefecture (各地州市分别排名); default from the spec. `base`: the 5 % base per group (`elimination_base`;
    None: the units ranked). `final`: the consolidation after the deadline — a unit that has not completed is
    未完成复验 (未完成创建), no longer 待评审 / 有错误 / 未报送."""
    units = list(units)
    incomplete_reason = spec.assessment.elimination.incomplete
    partial = []
    for u in units:
        creation = u.cohort == CREATION_COHORT
        unfinished = INCOMPLETE_CREATION if creation else INCOMPLETE
        if not u.returned:
            state = unfinished if final else NOT_RETURNED
            reason = (f"未报送：{incomplete_reason}" if final and not creation else "未报送" if final else
                      "名单中的单位尚未交回工作簿")
            partial.append(UnitResult(code=u.code, state=state, composite=None, used={}, waiting=(), not_counted=(),
                                      recheck="", reason=reason, cohort=u.cohort))
            continue
        try:
            level = level_of(u.level, spec)
        except KeyError as e:           # one unusable return must not stop the others' results
            partial.append(UnitResult(code=u.code, state=unfinished if final else NOT_RANKED, composite=None, used={},
                                      waiting=(), not_counted=(), recheck="", reason=f"{e.args[0]}，未计算综合得分",
                                      cohort=u.cohort))
            continue
        used, waiting, not_counted, note = counted_scores(u, spec)
        composite = None
        if "self" in used and not waiting:
            composite = composite_score(level.key, used["self"], used.get("county"), used.get("prefecture"),
                                        used.get("region"), spec=spec)
        state = NOT_RANKED if not u.ranked else REVIEWED if composite is not None else WAITING
        reason = ""
        if final and state != REVIEWED:
            why = "有错误未改正" if state == NOT_RANKED else "评审未完成"
            state, reason = unfinished, why + ("" if creation else f"：{incomplete_reason}")
        below = None
        if composite is not None and state == REVIEWED:
            below = composite < spec.assessment.pass_line or u.gate is False
        if creation and state == REVIEWED:
            reason = f"创建单位：按{spec.assessment.pass_line:g}分判定达标与否，不参与摘牌排名"
        if u.gate is False and state == REVIEWED:
            reason = "；".join(x for x in (reason, "第一单元目标未全部完成（符合性要求）：不达标") if x)
        partial.append(UnitResult(code=u.code, state=state, composite=composite, used=used, waiting=waiting,
                                  not_counted=not_counted, recheck=note, below_pass=below, reason=reason,
                                  cohort=u.cohort))
    ranked = rank_units(({"code": r.code, "score": r.composite, "prefecture": u.region}
                         for r, u in zip(partial, units) if r.state == REVIEWED and u.cohort == RECHECK_COHORT),
                        scope=scope, base=base, spec=spec)
    by_code = {r.code: r for r in ranked}
    out = []
    for r in partial:
        k = by_code.get(r.code)
        if k is None:
            out.append(r)
            continue
        reason = "；".join(x for x in (r.reason, k.reason) if x)
        out.append(UnitResult(**{**r.__dict__, "rank": k.rank, "eliminated": k.eliminated,
                                 "tie_at_cut": k.tie_at_cut, "reason": reason}))
    return out


__all__ = ["UnitScores", "UnitResult", "composite_score", "composite_columns", "counted_scores", "review_results",
           "elimination_base", "REVIEWED", "WAITING", "NOT_RANKED", "NOT_RETURNED", "INCOMPLETE",
           "INCOMPLETE_CREATION", "STATES", "COHORTS", "RECHECK_COHORT", "CREATION_COHORT", "RECHECK_RULE_TEXT"]
