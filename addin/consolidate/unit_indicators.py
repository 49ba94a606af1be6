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

from typing import Any

import numpy as np

from udfs.levels import reviewers
from udfs.numbers import to_array
from udfs.scoring import counted_array
from workbook_templates import Spec

from .model import ConsolidationRun, FileOutcome


def _plain(values: np.ndarray) -> list[float | None]:
    return [None if v != v else float(v) for v in values.tolist()]


def self_counted(units: list[FileOutcome], spec: Spec) -> np.ndarray:
    """units × indicators (the spec's order): each unit's self score as counted (NaN: blank or not a legal value)."""
    inputs, results = [f.inputs for f in units], [f.results for f in units]
    columns = []
    for ind in spec.indicators:          # one vectorised pass per indicator, as `indicator_averages`
        if ind.rule.type == "computed_target":
            columns.append(to_array([r.get(ind.score_name) for r in results]))
        else:
            selector = ind.rule.selector
            columns.append(counted_array(ind, to_array([i.get(ind.score_name) for i in inputs]),
                                         [i.get(selector) for i in inputs] if selector else None, spec=spec))
    return np.column_stack(columns) if units else np.zeros((0, len(spec.indicators)))


def unit_indicators(run: ConsolidationRun, spec: Spec) -> dict[str, Any]:
    units = run.units
    own = self_counted(units, spec)
    scores: dict[str, dict[str, list[float | None]]] = {}
    for f, row in zip(units, own):
        scores[f.code] = {"self": _plain(row)}
    ids = [ind.id for ind in spec.indicators]
    for c in run.review_cards:
        if c.chosen and c.unit_code in scores:
            scores[c.unit_code][c.level] = [None if c.items.get(i) is None else float(c.items[i]) for i in ids]
    return {"indicators": ids,
            "reviewers": [{"key": r.key, "label": r.label, "short": r.short, "levels": list(r.covers)}
                          for r in reviewers(spec)],
            "scores": scores}


__all__ = ["unit_indicators", "self_counted"]
