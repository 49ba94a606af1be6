"""The standard's scoring rules: which self-scores are legal, unit totals, and the pass line."""
from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from itertools import product
from typing import Any, Mapping, Sequence

import numpy as np

from workbook_templates import Spec
from workbook_templates.model import Indicator, Rule, RulePath

from .numbers import as_number, plain_value, round_excel_array, sum_or_blank, to_array


def _steps(top: Fraction, step: Fraction) -> set[Fraction]:
    return {step * k for k in range(int(top / step) + 1)}


def _rule_values(rule: Rule, points: float) -> set[Fraction]:
    top = Fraction(str(points))
    if rule.type in ("computed_target", "fixed"):
        return {Fraction(0), top}
    if rule.type in ("per_item", "per_occurrence", "deduction"):
        return _steps(top, Fraction(str(rule.step)))
    if rule.type == "per_item_with_deduction":
        awards = _steps(top, Fraction(str(rule.step)))
        cuts = _steps(top, Fraction(str(rule.deduction_step)))
        return {max(Fraction(0), a - c) for a in awards for c in cuts}
    if rule.type == "tiered":
        return {Fraction(str(v)) for v in rule.grades.values()}
    raise ValueError(f"没有单一取值集合的规则类型：{rule.type}")


def _path_values(path: RulePath) -> set[Fraction]:
    if path.type == "tiered":
        return {Fraction(str(v)) for v in path.grades.values()}
    parts = [_rule_values(p.rule, p.points) for p in path.parts]
    return {sum(combo, Fraction(0)) for combo in product(*parts)}


@lru_cache(maxsize=None)
def _legal(indicator: Indicator, selector: str | None) -> tuple[float, ...]:
    rule = indicator.rule
    if rule.type == "alternatives":
        paths = [p for p in rule.paths if p.when == selector] or list(rule.paths)
        values = set().union(*(_path_values(p) for p in paths))
    else:
        values = _rule_values(rule, indicator.points)
    return tuple(sorted(float(v) for v in values))


def legal_values(indicator: Indicator | str, selector: str | None = None, *, spec: Spec) -> tuple[float, ...]:
    """Every score the indicator's rule (an indicator or its id in `spec`) can give, ascending.

    per_item step 1 max 3 → (0, 1, 2, 3); deduction 1.5 step 0.5 → (0, 0.5, 1, 1.5); for unit 7 the
    selector (是/否) picks the path, and a blank selector allows either path.
    """
    ind = indicator if isinstance(indicator, Indicator) else spec.indicator(indicator)
    return _legal(ind, selector if isinstance(selector, str) else None)


def counted_score(indicator: Indicator, score: Any, selector: str | None = None, *, spec: Spec) -> float | None:
    """The score as it counts toward totals: a legal value, else None (blank, text or not allowed by the rule)."""
    x = as_number(score)
    # Exact membership: 1.004 is not 1 — only the listed values count (each is already at the score precision).
    return x if x is not None and x in legal_values(indicator, selector, spec=spec) else None


def counted_array(indicator: Indicator, scores: np.ndarray, selectors: Sequence[Any] | None = None, *,
                  spec: Spec) -> np.ndarray:
    """`counted_score` over an array of scores (NaN = blank); `selectors` gives unit 7's 是/否 per row."""
    scores = np.asarray(scores, dtype=float)
    digits = spec.precision.score
    exact = np.where(round_excel_array(scores, digits) == scores, scores, np.nan)
    if indicator.rule.selector is None or selectors is None:
        return np.where(_member(exact, legal_values(indicator, spec=spec)), exact, np.nan)
    chosen = [c if isinstance(c, str) else None for c in selectors]
    legal = np.zeros(len(scores), dtype=bool)
    for value in set(chosen):
        rows = np.fromiter((c == value for c in chosen), dtype=bool, count=len(chosen))
        legal |= rows & _member(exact, legal_values(indicator, value, spec=spec))
    return np.where(legal, exact, np.nan)


def _member(values: np.ndarray, ascending: Sequence[float]) -> np.ndarray:
    """`np.isin(values, ascending)` for the ascending legal scores, by binary search: np.isin sorts them again on
    every call and imports numpy.ma on its first (10–20 ms in each worker process). NaN is never a member."""
    legal = np.asarray(ascending, dtype=float)
    if not len(legal):
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(legal, values), len(legal) - 1)
    return legal[at] == values


def validate_score(indicator: Indicator | str, score: Any, selector: str | None = None, *,
                   spec: Spec) -> str | None:
    """None if the score is legal; otherwise a Chinese message saying what to enter instead."""
    ind = indicator if isinstance(indicator, Indicator) else spec.indicator(indicator)
    if counted_score(ind, score, selector, spec=spec) is not None:
        return None
    allowed = "、".join(f"{v:g}" for v in legal_values(ind, selector, spec=spec))
    if score is None or (isinstance(score, str) and not score.strip()):
        return f"指标 {ind.id} 尚未评分：请从 {allowed} 中选择"
    if as_number(score) is None:
        return f"指标 {ind.id} 的自评分「{score}」不是数字：请从 {allowed} 中选择"
    return f"指标 {ind.id} 的自评分 {score} 不符合评分规则：只能是 {allowed}"


def decline_score(indicator: Indicator, met: bool | None) -> float | None:
    """Unit 1: the indicator's points when its decline target is met, 0 when not, blank when data is incomplete."""
    x = decline_score_array(indicator, np.array([np.nan if met is None else float(met)]))[0]
    return None if x != x else float(x)


def decline_score_array(indicator: Indicator, met: np.ndarray) -> np.ndarray:
    """`decline_score` over an array of 1.0 / 0.0 / NaN (met / not met / blank)."""
    return np.where(np.isnan(met), np.nan, np.where(met == 1, indicator.points, 0.0))


def score_columns(columns: Mapping[str, Any], n: int, unit1: Mapping[str, np.ndarray] | None = None, *,
                  spec: Spec, gate: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Unit subtotals, total, missing count and pass for `n` units at once (NaN = blank).

    `columns` holds self-scores by contract name (`self_2_1_1` …) and unit 7's selector; `unit1` the
    computed unit-1 scores. Only legal scores count; a unit with no counted score is blank, and so is a
    total with none. `gate` (a standard whose 目标管理 is a 符合性 gate: 1 met, 0 missed, NaN unknown): pass
    also needs the gate met — false when it is missed, blank while it is unknown.
    """
    digits = spec.precision.score
    unit1 = unit1 or {}
    out: dict[str, np.ndarray] = {}
    missing = np.zeros(n)
    for unit in spec.units:
        counted = []
        for ind in unit.indicators:
            if ind.score_name in unit1:
                c = unit1[ind.score_name]
            else:
                c = _counted_column(ind, columns, n, spec)
            missing += np.isnan(c)
            counted.append(c)
        out[unit.score_name] = round_excel_array(sum_or_blank(counted), digits)
    out["self_total"] = round_excel_array(sum_or_blank([out[u.score_name] for u in spec.units]), digits)
    out["self_missing_count"] = missing
    with np.errstate(invalid="ignore"):
        passed = np.where(np.isnan(out["self_total"]), np.nan, out["self_total"] >= spec.assessment.pass_line)
        if gate is not None:
            passed = np.where(np.isnan(passed), np.nan, np.where(gate == 0, 0.0, np.where(np.isnan(gate), np.nan, passed)))
        out["self_pass"] = passed
    return out


def _counted_column(ind: Indicator, columns: Mapping[str, Any], n: int, spec: Spec) -> np.ndarray:
    raw = columns.get(ind.score_name)
    scores = to_array(raw) if raw is not None else np.full(n, np.nan)
    selectors = columns.get(ind.rule.selector) if ind.rule.selector else None
    if isinstance(selectors, str):
        selectors = [selectors] * n
    return counted_array(ind, scores, [None] * n if ind.rule.selector and selectors is None else selectors,
                         spec=spec)


def unit_totals(scores: Mapping[str, Any], spec: Spec) -> dict[str, Any]:
    """`score_columns` for one unit: scores and selector keyed by contract name, results as plain values."""
    out = score_columns({k: [v] for k, v in scores.items()}, 1, spec=spec)
    return {k: plain_value(k, v[0]) for k, v in out.items()}


def passes(total: Any, spec: Spec) -> bool | None:
    """Total ≥ the pass line (80); blank when there is no total."""
    t = as_number(total)
    return None if t is None else t >= spec.assessment.pass_line
