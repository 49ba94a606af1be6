"""Composite scores, ranking with 末位淘汰, and reproducible spot-check samples.

Rules (seed deck PART 03, open points as spec parameters):
- composite = Σ weight × score over the unit level's scorers (县市区级 0.1 自评 + 0.3 县 + 0.6 地州市 …);
  a missing or out-of-range score makes the composite blank.
- Ranking is by composite, highest first, within the scope (全区, or each 地州市). Ties share a rank
  (1, 2, 2, 4); their listed order is by 统一社会信用代码, so the output never depends on input order.
- The number eliminated is ratio × units ranked, rounded as the spec says (ceil: 931 → 47). The lowest are
  eliminated; when the cut falls inside a group of equal scores, every unit of that group is marked
  `tie_at_cut` for a person to decide — the code-order pick is only a default, never a silent one.
- Units without a composite are not ranked and never eliminated automatically; they are reported.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from workbook_templates import Spec, load_spec

from .numbers import as_number, round_excel_array, to_array


def level_of(level: str, spec: Spec | None = None):
    """A unit level by key (county) or label (县市区级)."""
    spec = spec or load_spec()
    for lv in spec.assessment.levels.values():
        if level in (lv.key, lv.label):
            return lv
    choices = "、".join(lv.label for lv in spec.assessment.levels.values())
    raise KeyError(f"未知的单位层级「{level}」，可选：{choices}")


def composite_score(level: str, self_score: Any, county: Any = None, prefecture: Any = None, region: Any = None,
                    spec: Spec | None = None) -> float | None:
    """综合得分 of one unit: the level's weights times self and reviewer scores, ROUNDed.

    县市区级 0.1×80 + 0.3×85 + 0.6×90 = 87.5. Blank when a score the level needs is blank, not a number,
    or outside 0–100. An unknown level raises KeyError (with the levels to choose from).
    """
    spec = spec or load_spec()
    lv = level_of(level, spec)
    x = composite_columns([lv.key], [self_score], [county], [prefecture], [region], spec)[0]
    return None if x != x else float(x)


def composite_columns(levels: Sequence[Any], self_scores: Sequence[Any], county: Sequence[Any] | None = None,
                      prefecture: Sequence[Any] | None = None, region: Sequence[Any] | None = None,
                      spec: Spec | None = None) -> np.ndarray:
    """`composite_score` for many units (NaN = blank; an unknown level is blank here, not an error)."""
    spec = spec or load_spec()
    n = len(levels)
    top = spec.assessment.total_points
    scores = {}
    for who, column in (("self", self_scores), ("county", county), ("prefecture", prefecture), ("region", region)):
        a = to_array(column) if column is not None else np.full(n, np.nan)
        scores[who] = np.where((a >= 0) & (a <= top), a, np.nan)
    level_list = list(spec.assessment.levels.values())
    index = {name: k for k, lv in enumerate(level_list) for name in (lv.key, lv.label)}
    chosen = np.fromiter((index.get(v.strip(), -1) if isinstance(v, str) else -1 for v in levels),
                         dtype=int, count=n)
    out = np.full(n, np.nan)
    for k, lv in enumerate(level_list):
        rows = chosen == k
        total = np.zeros(int(rows.sum()))
        for who, weight in lv.weights.items():   # the same order and arithmetic as Σ weight × score by hand
            total = total + weight * scores[who][rows]
        out[rows] = total
    return round_excel_array(out, spec.precision.score)


def _rounded_count(n: int, ratio: float, rounding: str) -> int:
    exact = Fraction(str(ratio)) * n      # Fraction: 0.07 × 100 is 7, not 7.000000000000001 (→ ceil 8)
    if rounding == "ceil":
        return math.ceil(exact)
    if rounding == "floor":
        return math.floor(exact)
    return math.floor(exact + Fraction(1, 2))   # half up


def elimination_count(units_ranked: int, ratio: float | None = None, rounding: str | None = None,
                      spec: Spec | None = None) -> int:
    """How many of `units_ranked` are eliminated: ceil(5 % × 931) = 47 with the defaults."""
    spec = spec or load_spec()
    e = spec.assessment.elimination
    return _rounded_count(units_ranked, e.ratio if ratio is None else ratio, rounding or e.rounding)


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
               spec: Spec | None = None) -> list[RankedUnit]:
    """Rank units (mappings with `code`, `score` and, for scope=prefecture, `prefecture`) and mark 摘牌.

    Returned in group order, then rank, then code.
    """
    spec = spec or load_spec()
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
        group = "全区" if scope == "region" else str(u.get("prefecture") or "（未填地区）")
        groups.setdefault(group, []).append((code, as_number(u.get("score"))))
    result: list[RankedUnit] = []
    for group in sorted(groups):
        members = groups[group]
        scored = sorted(((c, s) for c, s in members if s is not None), key=lambda cs: (-cs[1], cs[0]))
        k = elimination_count(len(scored), ratio, rounding, spec)
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


def spot_check_sample(codes: Sequence[str], ratio: float, seed: int | str,
                      rounding: str | None = None, spec: Spec | None = None) -> list[str]:
    """A reproducible sample of at least `ratio` of the units (ceil by default), sorted by code.

    The same codes, ratio and seed always give the same sample, whatever the input order.
    """
    spec = spec or load_spec()
    population = sorted(set(map(str, codes)))
    k = _rounded_count(len(population), ratio, rounding or spec.assessment.spot_check.rounding)
    return sorted(random.Random(str(seed)).sample(population, k))
