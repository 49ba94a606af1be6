"""The review pack's published names (docs/review_names.csv): every defined name of a pack for each reviewer
level, with its meaning and where it is — `_meta` cells for the workbook-scoped names, the scorecard cell for the
sheet-local ones (the same name on every unit's scorecard, in the same cell). Laid out from a one-unit sample
pack, so the list is the generator's, not a copy. `python -m addin.review --names > docs/review_names.csv`.
"""
from __future__ import annotations

import csv
import io

from generator.review_layout import META_SHEET, PackPart, ReviewUnit, build_review_plan, scorecard_title
from udfs.levels import reviewers
from workbook_templates import Spec
from workbook_templates.review_names import review_names

HEADER = ["level", "name", "meaning", "unit", "kind", "scope", "sheet", "cell"]


def review_name_rows(spec: Spec) -> list[list[str]]:
    """docs/review_names.csv as rows: the header, then every name of the review pack for each reviewer level."""
    rows = [list(HEADER)]
    sample = _sample_unit(spec)
    for reviewer in reviewers(spec):
        plan = build_review_plan(reviewer, [sample], spec=spec, year=spec.default_year, presets=[spec.default_preset],
                                 part=PackPart("示例"))
        local = plan.sheet(scorecard_title(1, 1, sample.name)).local_names()
        meta = {name: ref for name, (sheet, ref) in plan.named().items()}
        for n in review_names(spec, reviewer.key):
            sheet, cell = (META_SHEET, meta[n.name]) if n.scope == "workbook" else ("（每个单位的评分表）", local[n.name])
            rows.append([reviewer.key, n.name, n.meaning, n.unit, n.kind, n.scope, sheet, cell])
    return rows


def _sample_unit(spec: Spec) -> ReviewUnit:
    return ReviewUnit(name="示例单位", code="", level=next(iter(spec.assessment.levels.values())).label, region="",
                      self_scores={}, self_units={}, self_total=None)


def review_names_csv(spec: Spec) -> str:
    """docs/review_names.csv as text."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(review_name_rows(spec))
    return out.getvalue()


__all__ = ["review_name_rows", "review_names_csv"]
