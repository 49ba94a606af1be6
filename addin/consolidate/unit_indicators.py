"""Each unit's score on every indicator, as the report carries it (`content(run)["unit_indicators"]`): the self
score the unit chose (counted by the scoring rules: an illegal or blank choice is blank) and, per reviewer, the
score of the scorecard chosen for the unit — so that what is handed back to a unit (`jieyue notices`) can be
made from the report alone, with no workbook opened again.

    {"indicators": ["1.1.1", …],                      the spec's order; every list below follows it
     "reviewers": [{"key": "county", "label": "县市区机关事务管理部门评分", "short": "县市区",
                    "levels": ["县市区级"]}, …],
     "scores": {unit code: {"self": [2.5, null, …], "prefecture": […], …}}}

A reviewer's list is there only when a scorecard for the unit was chosen (`ReviewCard.chosen`), finished or not;
its blank items are null.
"""
from __future__ import annotations

import math
from array import array
from typing import Any, Mapping

import numpy as np

from udfs.levels import reviewers
from udfs.numbers import to_array
from udfs.scoring import counted_array
from workbook_templates import Spec

from .model import ConsolidationRun, FileOutcome


def _plain(values: np.ndarray, shared: dict[float, float]) -> list[float | None]:
    """The scores as JSON-ready values (NaN: None), each value one object for all units (`shared`): a run's
    scores take a few distinct values, and 20 000 units × 54 scores of their own would be 26 MB more."""
    return [None if v != v else shared.setdefault(v, v) if v or math.copysign(1.0, v) > 0 else -0.0   # -0.0 == 0.0
            for v in values.tolist()]


def self_counted(units: list[FileOutcome], spec: Spec) -> np.ndarray:
    """units × indicators (the spec's order): each unit's self score as counted (NaN: blank or not a legal value).
    Each unit's row is its contribution computed where it was read and kept with its figures (`Rendered.counted`,
    in the ledger too): a run sums contributions instead of counting every unit's scores again. A unit without
    one (made by hand, as some tests do) is counted here, the same way."""
    width = len(spec.indicators)
    rows = [f.rendered.counted if f.rendered is not None and len(f.rendered.counted) == width else None for f in units]
    missing = [f for f, row in zip(units, rows) if row is None]
    if missing:
        counted = iter(counted_rows([f.inputs for f in missing], [f.results for f in missing], spec).tolist())
        rows = [row if row is not None else next(counted) for row in rows]
    # The rows joined as doubles, then seen as a matrix: np.array over thousands of array('d') rows took each
    # number one by one (27 ms for 5 000 units, and every run asks three times).
    joined = array("d")
    for row in rows:
        joined.extend(row if isinstance(row, array) and row.typecode == "d" else array("d", row))
    return np.frombuffer(joined, dtype=np.float64).reshape(len(units), width)


def counted_rows(inputs: list[Mapping[str, Any]], results: list[Mapping[str, Any]], spec: Spec) -> np.ndarray:
    """units × indicators: the self scores of units given by their inputs and results, as counted (NaN: blank or
    not a legal value) — one vectorised pass per indicator."""
    columns = []
    for ind in spec.indicators:          # one vectorised pass per indicator, as `indicator_averages`
        if ind.rule.type == "computed_target":
            columns.append(to_array([r.get(ind.score_name) for r in results]))
        else:
            selector = ind.rule.selector
            columns.append(counted_array(ind, to_array([i.get(ind.score_name) for i in inputs]),
                                         [i.get(selector) for i in inputs] if selector else None, spec=spec))
    return np.column_stack(columns) if inputs else np.zeros((0, len(spec.indicators)))


def unit_indicators(run: ConsolidationRun, spec: Spec) -> dict[str, Any]:
    units = run.units
    own = self_counted(units, spec)
    scores: dict[str, dict[str, list[float | None]]] = {}
    shared: dict[float, float] = {}
    for f, row in zip(units, own):
        scores[f.code] = {"self": _plain(row, shared)}
    ids = [ind.id for ind in spec.indicators]
    for c in run.review_cards:
        if c.chosen and c.unit_code in scores:
            scores[c.unit_code][c.level] = [None if c.items.get(i) is None else float(c.items[i]) for i in ids]
    return {"indicators": ids,
            "reviewers": [{"key": r.key, "label": r.label, "short": r.short, "levels": list(r.covers)}
                          for r in reviewers(spec)],
            "scores": scores}


__all__ = ["unit_indicators", "self_counted", "counted_rows"]
