"""Year-on-year change of an intensity and the decline check against the year's target."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from workbook_templates import SLOTS, Spec
from workbook_templates.model import Intensity, YearTargets

from .choices import year_of
from .numbers import as_number, as_quantity, div_array, round_excel, round_excel_array, safe_div


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


# ---------------------------------------------------------------- what blocks a decline

ENERGY_NUMERATOR = "各项能源消耗量"
"""How a numerator that adds several rows (综合能耗, 建筑能耗, 碳排放) is named when all of them are blank."""


@dataclass(frozen=True)
class Blocker:
    """Why a decline cannot be computed: the one input to fix and what is wrong with it, as the workbook's
    强度指标下降率 「结果」 column and the E211 finding both say it (`text`)."""

    intensity: str        # the decline intensity's key
    field: str            # the input's contract name (prev_people …), "" when several rows are concerned
    what: str             # 「2021年度用能人数为0」
    todo: str             # 「请填写实际的用能人数」

    @property
    def text(self) -> str:
        return f"无法计算：{self.what}"


def _quantity_state(raw: Any) -> str:
    """blank | bad | zero | ok — a quantity cell as the decline sees it (the workbook's clean-value column)."""
    if raw is None or (isinstance(raw, str) and raw == ""):
        return "blank"
    x = as_quantity(raw)
    return "bad" if x is None else "zero" if x == 0 else "ok"


def decline_blocker(intensity: Intensity, raw: Mapping[str, Any], results: Mapping[str, Any], years: YearTargets,
                    spec: Spec) -> Blocker | None:
    """None when the change of `intensity` is computed; else the first thing that blocks it, in this order (the
    workbook's formula follows the same order): the earlier year's denominator missing or not a number ≥ 0, then
    zero; the same for the later year; the earlier year's numerator missing, the later year's; the earlier
    year's intensity 0 (a change from 0 has no percentage).

    `raw` maps input names to the values as typed (a text stays text), `results` the evaluated figures."""
    if results.get(f"chg_{intensity.key}") is not None:
        return None
    items = {i.name: i for i in spec.items}
    den = items.get(intensity.denominator)
    single = items.get(intensity.numerator[0]) if len(intensity.numerator) == 1 else None
    for slot in SLOTS:
        y = years.data_year(slot)
        if den is not None:
            field = f"{slot}_{den.name}"
            state = _quantity_state(raw.get(field))
            if state != "ok":
                what = {"blank": "未填写", "bad": "填写有误（应为不小于0的数字）", "zero": "为0"}[state]
                return Blocker(intensity.key, field, f"{y}年度{den.label}{what}", f"请填写实际的{den.label}")
    for slot in SLOTS:
        y = years.data_year(slot)
        if results.get(f"{slot}_{intensity.key}") is None:
            if single is not None:
                field = f"{slot}_{single.name}"
                bad = _quantity_state(raw.get(field)) == "bad"
                return Blocker(intensity.key, field, f"{y}年度{single.label}{'填写有误（应为不小于0的数字）' if bad else '未填写'}",
                               f"请填写实际的{single.label}")
            return Blocker(intensity.key, "", f"{y}年度{ENERGY_NUMERATOR}均未填写", f"请填写{y}年度的能源消耗量")
    y = years.data_year("prev")
    field = f"prev_{single.name}" if single is not None else ""
    return Blocker(intensity.key, field, f"{y}年度{intensity.decline_label}为0",
                   f"请核实{y}年度的{single.label if single is not None else ENERGY_NUMERATOR}")


def decline_blockers(raw: Mapping[str, Any], results: Mapping[str, Any], year: int, spec: Spec) -> list[Blocker]:
    """`decline_blocker` of every decline intensity, in the decline table's order (only the blocked ones)."""
    years = year_of(spec, year)
    found = (decline_blocker(i, raw, results, years, spec) for i in spec.decline_intensities)
    return [b for b in found if b is not None]
