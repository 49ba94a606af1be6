"""Checks of a returned review pack (R6xx, F111, F112 of checks.toml): plain functions of what the reader read.

A pack is trusted for what reviewers typed — the given scores and 发现问题处数 — and nothing else: every item
score, subtotal and total is recomputed here with `udfs.review.score_card`, and unit 1 with the decline scores
recomputed from the unit's own return, whatever the pack's cells say. A pack whose cached results disagree
with the recomputation (a formula overwritten, a stale cache) is reported and the recomputed figures used.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from workbook_templates import Spec
from workbook_templates.review_names import score_name, total_name

from .intake import Finding
from .levels import reviewer_label
from .numbers import as_number
from .review import STATUS_FINDINGS_BAD, STATUS_RULE, ScoreCard, entries_by_id, review_values, score_card

MAX_LISTED = 5
"""Items named in one message; the rest are counted."""


def check_pack(meta: Mapping[str, Any], spec: Spec, year: int | None, run_digest: str | None) -> list[Finding]:
    """The pack as a whole: a reviewer level the spec knows (R606), the assessment year (F111: not checked here
    when `year` is None — the caller checks it against the run's), the spec (F112: not when `run_digest` is None)."""
    out = []
    level = meta.get("review_level")
    if level not in spec.assessment.reviewers:
        choices = "、".join(spec.assessment.reviewers)
        out.append(Finding("R606", f"评审包的评审部门层级「{level or '空白'}」无法识别（应为 {choices} 之一）："
                                   "请用 jieyue review-pack 重新生成评审包，不要修改隐藏的 _meta 工作表", "review_level"))
    found = as_number(meta.get("assessment_year"))
    if year is not None and found is not None and found != year:
        out.append(Finding("F111", f"评审包是 {found:g} 年复验的，本次汇总 {year} 年：请用本次回收的工作簿重新生成"
                                   "评审包并评分", "assessment_year"))
    digest = meta.get("spec_digest")
    if run_digest and digest != run_digest:
        shown = f"{str(digest)[:12]}…" if digest else "未记录"
        out.append(Finding("F112", f"评审包生成时的规格（摘要 {shown}）与本次汇总的规格（摘要 {run_digest[:12]}…）不同："
                                   "已按本次汇总的规格重算各项得分", "spec_digest"))
    return out


@dataclass
class CheckedCard:
    card: ScoreCard
    findings: list[Finding] = field(default_factory=list)


def is_blank(level: str, values: Mapping[str, Any], spec: Spec) -> bool:
    """Whether the reviewer entered nothing on a scorecard (no score, no 处数, no name): a pack covers more
    units than a reviewer may score — the 自治区 re-checks a sample — and an untouched card is no review."""
    given, findings = entries_by_id(level, values, spec)
    typed = [*given.values(), *findings.values(), values.get("rev_reviewer")]
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in typed)


def check_scorecard(level: str, values: Mapping[str, Any], cells: Mapping[str, str], unit_label: str,
                    unit1: Mapping[str, Any], spec: Spec,
                    uncached: frozenset[str] | set[str] = frozenset()) -> CheckedCard:
    """One scorecard: recomputed from the reviewer's inputs (`values` by sheet-local name) and the unit's own
    unit-1 scores (`unit1`, indicator id → score recomputed from its return). Findings: R602 a score or 处数
    the rule does not allow, R601 items not scored yet (the unit waits: 待评审), R603 cached results that
    disagree with the recomputation (formula cells saved without a result, `uncached`, are simply recomputed).
    `unit_label` names the unit in messages (「甲局」（代码））."""
    given, findings = entries_by_id(level, values, spec)
    card = score_card(given, findings, unit1, spec=spec)
    out = CheckedCard(card)
    wrong = [i for i, st in card.status.items() if st in (STATUS_RULE, STATUS_FINDINGS_BAD)]
    if wrong:
        shown = "、".join(f"{i}（{card.status[i]}）" for i in wrong[:MAX_LISTED])
        more = f"等 {len(wrong)} 项" if len(wrong) > MAX_LISTED else ""
        first = score_name(level, wrong[0])
        out.findings.append(Finding("R602", f"{unit_label}：指标 {shown}{more}的评审给分或处数不符合评分规则，"
                                            "未计分：请评审部门从下拉列表重新选择后交回", first,
                                    cells.get(first, "")))
    if card.missing:
        out.findings.append(Finding("R601", f"{unit_label}：{reviewer_label(level, spec)}尚有 {card.missing} 项未评分，"
                                            "该单位暂列「待评审」，不计算综合得分：请评审部门评完后重新交回评审包",
                                    total_name(level), cells.get(total_name(level), "")))
    expected = review_values(level, card)
    differ = [n for n, v in expected.items() if n in values and n not in uncached and not _same(values[n], v)]
    if differ:
        shown = "、".join(f"{n}（表内 {_show(values[n])}，重算 {_show(expected[n])}）" for n in differ[:MAX_LISTED])
        more = f"等 {len(differ)} 处" if len(differ) > MAX_LISTED else ""
        out.findings.append(Finding("R603", f"{unit_label}：评审包中的计算结果与重算不一致：{shown}{more}。"
                                            "已按评审给分和处数重算（第一单元按单位交回的数据重算）；"
                                            "请不要改写评审包中的公式", differ[0], cells.get(differ[0], "")))
    return out


def _same(found: Any, expected: Any) -> bool:
    """Whether a pack's cached value is the recomputed one (numbers to 1e-9; blank and "" alike)."""
    if found in (None, "") and expected in (None, ""):
        return True
    a, b = as_number(found), as_number(expected)
    if a is not None and b is not None:
        return abs(a - b) <= 1e-9
    return isinstance(found, str) and isinstance(expected, str) and found.strip() == expected.strip()


def _show(value: Any) -> str:
    if value is None or value == "":
        return "空白"
    return f"{value:g}" if isinstance(value, float) else str(value)


__all__ = ["check_pack", "check_scorecard", "is_blank", "CheckedCard"]
