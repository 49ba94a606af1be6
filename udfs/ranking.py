"""Ranking with 末位淘汰 (摘牌): who ranks where among the units with a composite, and who is marked for removal.

Rules (seed deck PART 03, open points as spec parameters, assessment.toml [elimination]):
- Ranking is by composite (`udfs.results`), highest first, within the scope (全区, or each 地州市). Ties share a
  rank (1, 2, 2, 4); their listed order is by 统一社会信用代码, so the output never depends on input order.
- The number eliminated is ratio × the base, rounded as the spec says (ceil: 931 → 47): the base is the units
  ranked, or — `base` given per group (assessment.toml [elimination] base = "roster") — the roster's 复验 units,
  whether or not they were ranked (21 on the roster, 18 ranked: ceil(5 % × 21) = 2), never more than are ranked.
  The lowest are
  eliminated; when the cut falls inside a group of equal scores, every unit of that group is marked
  `tie_at_cut` for a person to decide — the code-order pick is only a default, never a silent one.
- Units without a composite are not ranked and never eliminated automatically; they are reported.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from workbook_templates import Spec

from .numbers import as_number, rounded_count

SCOPE_TEXT = {"region": "全区统一排名", "prefecture": "各地州市分别排名"}
"""The ranking scopes of assessment.toml [elimination] as users read them."""

WHOLE_REGION, NO_REGION = "全区", "（未填地区）"


def ranking_group(region: Any, scope: str) -> str:
    """The ranking group of a unit: 全区, or its 地州市 when each is ranked apart."""
    return WHOLE_REGION if scope == "region" else str(region or NO_REGION)


def elimination_count(units_ranked: int, ratio: float | None = None, rounding: str | None = None, *,
                      spec: Spec) -> int:
    """How many of `units_ranked` are eliminated: ceil(5 % × 931) = 47 with the spec's ratio and rounding
    (`ratio` and `rounding` override them)."""
    e = spec.assessment.elimination
    return rounded_count(units_ranked, e.ratio if ratio is None else ratio, rounding or e.rounding)


@dataclass(frozen=True)
class RankedUnit:
    code: str
    group: str              # the ranking scope: "全区" or the 地州市
    score: float | None
    rank: int | None        # 1 = best, ties share a rank; None when not ranked
    eliminated: bool
    tie_at_cut: bool
    reason: str             # why eliminated or not ranked (Chinese), else ""


def rank_units(units: Iterable[Mapping[str, Any]], *, scope: str | None = None, ratio: float | None = None,
               rounding: str | None = None, below_pass_line_eliminated: bool | None = None,
               base: Mapping[str, int] | None = None, spec: Spec) -> list[RankedUnit]:
    """Rank units (mappings with `code`, `score` and, for scope=prefecture, `prefecture`) and mark 摘牌.

    `scope`, `ratio`, `rounding` and `below_pass_line_eliminated` override the spec's [elimination]; `base` maps
    a group (`ranking_group`) to the number the ratio is taken of (None: the units ranked in it). Returned in
    group order, then rank, then code.
    """
    e = spec.assessment.elimination
    scope = scope or e.scope
    below = e.below_pass_line_eliminated if below_pass_line_eliminated is None else below_pass_line_eliminated
    groups: dict[str, list[tuple[str, float | None]]] = {}
    seen: set[str] = set()
    for u in units:
        code = str(u["code"])
        if code in seen:   # across groups too: one unit is ranked once, in one place
            raise ValueError(f"重复的统一社会信用代码 {code}：同一单位出现了不止一次，无法排名；请先处理重复报送")
        seen.add(code)
        group = ranking_group(u.get("prefecture"), scope)
        groups.setdefault(group, []).append((code, as_number(u.get("score"))))
    result: list[RankedUnit] = []
    for group in sorted(groups):
        members = groups[group]
        scored = sorted(((c, s) for c, s in members if s is not None), key=lambda cs: (-cs[1], cs[0]))
        counted = len(scored) if base is None else base.get(group, len(scored))
        k = min(len(scored), elimination_count(counted, ratio, rounding, spec=spec))
        cut_score = scored[len(scored) - k][1] if k else None
        tied_at_cut = (k and sum(1 for _, s in scored if s == cut_score) > 1
                       and any(s == cut_score for _, s in scored[:len(scored) - k]))
        rank = 0
        for i, (code, score) in enumerate(scored):
            if i == 0 or score != scored[i - 1][1]:
                rank = i + 1
            in_bottom = i >= len(scored) - k
            low = below and score < spec.assessment.pass_line
            reason = ("末位淘汰" if in_bottom else "") + ("；" if in_bottom and low else "") + \
                     (f"综合得分低于{spec.assessment.pass_line:g}分" if low else "")
            result.append(RankedUnit(code=code, group=group, score=score, rank=rank, eliminated=in_bottom or low,
                                     tie_at_cut=bool(tied_at_cut and score == cut_score), reason=reason))
        for code, _ in sorted((cs for cs in members if cs[1] is None), key=lambda cs: cs[0]):
            result.append(RankedUnit(code=code, group=group, score=None, rank=None, eliminated=False,
                                     tie_at_cut=False, reason="缺少综合得分，未参与排名"))
    return result
