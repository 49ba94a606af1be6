"""Number formats, derived from the spec's precision in one place: every workbook and summary shows a figure with
the decimals it is rounded to (calculation.toml [precision]).

`number_format(places)` is the Excel format code of a number with `places` decimals ("0.00", "#,##0.0000" with
the thousands separator); `number_formats(spec)` maps each kind of figure to its code — kgce, co2_t, intensity,
change, score from the precision, and the fixed ones: count, quantity, percent. The fill-in workbook, the review
pack (generator) and the summary (addin/consolidate) all take their formats from here.
"""
from __future__ import annotations

from functools import lru_cache

from workbook_templates import Spec
from workbook_templates.model import Precision

INTENSITY_SHOWN = 2
"""Decimals an intensity is shown with: it is computed to `precision.intensity` decimals, shown like the
official 计算表 (two)."""


def number_format(places: int, thousands: bool = False) -> str:
    """The format code of a number with `places` decimals: 2 → "0.00", (2, thousands) → "#,##0.00", 0 → "0"."""
    base = "#,##0" if thousands else "0"
    return base + ("." + "0" * places if places > 0 else "")


@lru_cache(maxsize=8)
def _formats(precision: Precision) -> dict[str, str]:
    return {"kgce": number_format(precision.kgce, True), "co2_t": number_format(precision.co2_t, True),
            "intensity": number_format(INTENSITY_SHOWN), "change": number_format(precision.change_pct),
            "score": number_format(precision.score), "count": number_format(0, True),
            "quantity": number_format(2, True), "percent": "0.0%"}


def number_formats(spec: Spec) -> dict[str, str]:
    """Kind of figure → format code, from `spec.precision` (a fresh dict: the caller may add to it)."""
    return dict(_formats(spec.precision))


__all__ = ["number_format", "number_formats", "INTENSITY_SHOWN"]
