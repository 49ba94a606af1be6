"""Year-on-year change of an intensity and the decline check against the year's target."""
from __future__ import annotations

from typing import Any

import numpy as np

from workbook_templates import Spec

from .choices import year_of
from .numbers import as_number, div_array, round_excel, round_excel_array, safe_div


def change_pct(prev: Any, cur: Any, spec: Spec) -> float | None:
    """(cur − prev) ÷ prev × 100, ROUNDed to the spec's places; blank if either is blank or prev is 0."""
    p, c = as_number(prev), as_number(cur)
    if p is None or c is None:
        return None
    ratio = safe_div(c - p, p)          # blank when prev is 0
    return None if ratio is None else round_excel(ratio * 100, spec.precision.change_pct)


def change_pct_array(prev: np.ndarray, cur: np.ndarray, digits: int) -> np.ndarray:
    """`change_pct` over arrays (NaN = blank)."""
    with np.errstate(all="ignore"):
        return round_excel_array(div_array(cur - prev, prev) * 100, digits)


def decline_ok(change: Any, target: Any) -> bool | None:
    """Met when the change (%) is at or below the target (both already rounded); blank when change is blank."""
    c, t = as_number(change), as_number(target)
    if c is None or t is None:
        return None
    return c <= t


def target_pct(intensity: str, year: int, spec: Spec) -> float:
    """The assessment year's target % change for one of the decline-table intensities."""
    return year_of(spec, year).targets[intensity]
