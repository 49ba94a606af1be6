"""评审规则：评审包中每项指标的计入得分、单元小计与评审总分。

Plain functions of plain values, no Excel and no files. The review pack's formulas (`generator/review_layout.py`)
mirror them cell for cell, and the LibreOffice test compares the two; a consolidation reader can recompute a
returned pack with them.

Rules (seed deck PART 03; every number from the spec):
- An indicator scored by choice (fixed, per_item, per_occurrence, tiered, alternatives) counts the reviewer's
  score when it is one of the rule's legal values (`udfs.scoring.legal_values`; alternatives: either path).
- `deduction` (实地验收，每存在1处扣x分): the reviewer enters 发现问题处数; the item scores
  points − step × 处数, never below 0. `per_item_with_deduction`: the reviewer chooses the award (a multiple
  of the step up to the points) and enters 处数; the item scores award − deduction_step × 处数, never below 0.
  处数 must be a whole number ≥ 0; a blank 处数 is *not yet reviewed* (no finding is entered as 0).
- Unit 1 (computed_target) is the decline score recomputed from the unit's data, locked.
- A unit subtotal and the total are sums of counted item scores, ROUNDed as the spec says — but only when every
  item of the unit (or of the whole standard) counts; otherwise they are the text 「尚有N项未评分」, never a
  partial sum that looks like a total.

Who reviews which units is `udfs.levels` (reviewers, covers); which units are spot-checked is `udfs.spot_checks`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Mapping

from workbook_templates import Spec
from workbook_templates.model import Indicator
from workbook_templates.review_names import (findings_name, given_name, missing_name, score_name, total_name,
                                             unit_score_name)

from .numbers import as_number, round_excel
from .scoring import counted_score, legal_values

STATUS_SCORE = "请评分"
STATUS_FINDINGS = "请填写发现问题处数（没有问题填0）"
STATUS_RULE = "分值不符合评分规则，请从下拉列表选择"
STATUS_FINDINGS_BAD = "处数应为不小于0的整数"
STATUS_RECOMPUTED = "按单位填报的数据重算，已锁定"
STATUS_NO_DATA = "数据不全，无法计分：请单位补全两个年度的能耗数据后重新交回"

DEDUCTING = ("deduction", "per_item_with_deduction")
"""Rule types whose item score is computed from 发现问题处数."""


MISSING_TEXT = ("尚有", "项未评分")
"""「尚有N项未评分」 around the count: the workbook joins the same two parts with the count (`&`)."""


def missing_text(count: int) -> str:
    """「尚有N项未评分」: what a subtotal or total shows while N items do not count yet."""
    return f"{MISSING_TEXT[0]}{count}{MISSING_TEXT[1]}"


# ---------------------------------------------------------------- one indicator

def findings_count(value: Any) -> float | None:
    """发现问题处数：不小于0的整数才有效；空白、文字、负数、小数为空（None）。"""
    x = as_number(value)
    if x is None or x < 0 or round_excel(x, 0) != x:
        return None
    return x


def award_values(indicator: Indicator) -> tuple[float, ...]:
    """per_item_with_deduction 的奖励分可选值：0 到满分，步长为每项分值（3.3.1：0、1.5、3、4.5、6）。"""
    step, top = Fraction(str(indicator.rule.step)), Fraction(str(indicator.points))
    return tuple(float(step * k) for k in range(int(top / step) + 1))


def given_values(indicator: Indicator, *, spec: Spec) -> tuple[float, ...]:
    """评审人可选的分值：per_item_with_deduction 为奖励分，其余为评分规则允许的分值（第七单元两条路径的并集）；
    deduction（只填处数）和第一单元（重算）没有可选分值。"""
    rule = indicator.rule.type
    if rule in ("computed_target", "deduction"):
        return ()
    if rule == "per_item_with_deduction":
        return award_values(indicator)
    return legal_values(indicator, spec=spec)


def _chosen(value: Any, allowed: tuple[float, ...]) -> float | None:
    """The value if a worksheet would find it in the list (ISNUMBER, then an exact COUNTIF match)."""
    x = as_number(value)
    return x if x is not None and x in allowed else None


def item_score(indicator: Indicator, given: Any = None, findings: Any = None, recomputed: Any = None, *,
               spec: Spec) -> float | None:
    """一项指标的评审计入得分；未评或不合规时为空（None）。

    deduction：满分 − 每处扣分 × 处数（3.2.2：1.5 − 0.5 × 2 = 0.5；处数 ≥ 3 时为 0）。
    per_item_with_deduction：奖励分 − 每处扣分 × 处数，不低于 0（3.3.1：4.5 − 1.5 × 1 = 3）。
    第一单元：按单位数据重算的得分（recomputed）。其余：所选分值为规则允许的分值时计入。
    """
    rule = indicator.rule
    digits = spec.precision.score
    if rule.type == "computed_target":
        return _chosen(recomputed, legal_values(indicator, spec=spec))
    if rule.type == "deduction":
        n = findings_count(findings)
        if n is None:
            return None
        # Compare before multiplying, as the formula does: a huge 处数 never overflows.
        return 0.0 if n >= indicator.points / rule.step else round_excel(indicator.points - rule.step * n, digits)
    if rule.type == "per_item_with_deduction":
        award, n = _chosen(given, award_values(indicator)), findings_count(findings)
        if award is None or n is None:
            return None
        step = rule.deduction_step
        return 0.0 if n >= award / step else round_excel(award - step * n, digits)
    return counted_score(indicator, given, spec=spec)


def _blank(value: Any) -> bool:
    """An empty cell (ISBLANK): None only — a space or an empty text is something typed."""
    return value is None


def item_status(indicator: Indicator, given: Any = None, findings: Any = None, recomputed: Any = None, *,
                spec: Spec) -> str:
    """一项指标的「提示」：缺什么或哪里不合规（请评分、请填写发现问题处数……），已计分时为空文本。"""
    rule = indicator.rule.type
    if rule == "computed_target":
        return STATUS_RECOMPUTED if item_score(indicator, recomputed=recomputed, spec=spec) is not None \
            else STATUS_NO_DATA
    counted = item_score(indicator, given, findings, recomputed, spec=spec) is not None
    if rule == "deduction":
        return STATUS_FINDINGS if _blank(findings) else "" if counted else STATUS_FINDINGS_BAD
    if _blank(given):
        return STATUS_SCORE
    if rule == "per_item_with_deduction":
        if _blank(findings):
            return STATUS_FINDINGS
        if counted:
            return ""
        return STATUS_FINDINGS_BAD if _chosen(given, award_values(indicator)) is not None else STATUS_RULE
    return "" if counted else STATUS_RULE


# ---------------------------------------------------------------- a whole scorecard

@dataclass
class ScoreCard:
    """One unit's review: item scores and 提示 by indicator id, subtotals by unit id, total, missing count.

    A subtotal or the total is a number only when every item under it counts, else 「尚有N项未评分」."""

    items: dict[str, float | None] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)
    units: dict[str, float | str] = field(default_factory=dict)
    total: float | str = ""
    missing: int = 0


def score_card(given: Mapping[str, Any] | None = None, findings: Mapping[str, Any] | None = None,
               recomputed: Mapping[str, Any] | None = None, *, spec: Spec) -> ScoreCard:
    """评分表的全部计算结果：given（评审给分 / 奖励分）、findings（处数）按指标编号，recomputed 为第一单元重算得分。

    单元小计与总分只在其下每项都已计分时为数字（按规格位数 ROUND），否则为「尚有N项未评分」。"""
    given, findings, recomputed = given or {}, findings or {}, recomputed or {}
    card = ScoreCard()
    digits = spec.precision.score
    for unit in spec.units:
        scores = []
        for ind in unit.indicators:
            args = (ind, given.get(ind.id), findings.get(ind.id), recomputed.get(ind.id))
            card.items[ind.id] = item_score(*args, spec=spec)
            card.status[ind.id] = item_status(*args, spec=spec)
            scores.append(card.items[ind.id])
        missing = sum(s is None for s in scores)
        card.missing += missing
        card.units[unit.id] = (round_excel(sum(s for s in scores if s is not None), digits) if not missing
                               else missing_text(missing))
    card.total = (round_excel(sum(card.units[u.id] for u in spec.units), digits) if not card.missing
                  else missing_text(card.missing))
    return card


def review_values(level: str, card: ScoreCard) -> dict[str, Any]:
    """A scorecard's derived names (workbook_templates.review_names) → values: what the pack's formulas show."""
    out: dict[str, Any] = {score_name(level, i): v for i, v in card.items.items()}
    out.update({unit_score_name(level, u): v for u, v in card.units.items()})
    out[total_name(level)] = card.total
    out[missing_name(level)] = card.missing
    return out


def entries_by_id(level: str, inputs: Mapping[str, Any], spec: Spec) -> tuple[dict[str, Any], dict[str, Any]]:
    """Inputs keyed by contract name (rev_county_given_2_1_1, rev_county_findings_3_2_2) → (given, findings)
    keyed by indicator id, as `score_card` takes them."""
    given = {i.id: inputs.get(given_name(level, i.id)) for i in spec.indicators}
    findings = {i.id: inputs.get(findings_name(level, i.id)) for i in spec.indicators}
    return given, findings
