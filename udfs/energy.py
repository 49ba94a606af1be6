"""Converting one row's quantity to standard coal (kgce) and CO2 (t), by the preset's factors."""
from __future__ import annotations

from typing import Any

from workbook_templates import Spec

from .choices import preset_of
from .numbers import Number, as_quantity, round_excel

# Unit arithmetic of the CO2 factor units in factors.toml (not factors: 1 MWh = 1000 kWh, 1 t = 1000 kg).
_PER_TONNE = {"tCO2/MWh": 1 / 1000, "tCO2/GJ": 1.0, "kgCO2/m3": 1 / 1000}


def kgce_factors(item: str, preset: str, spec: Spec) -> tuple[float, float]:
    """(折标系数, 附加系数) of a row under the preset; a 公务用车 sub-row uses its parent's."""
    f = preset_of(spec, preset).kgce[spec.item(item).factor_of]
    return f.factor, f.extra


def co2_t_per_unit(item: str, preset: str, grid_factor: str | None = None, *, spec: Spec) -> float:
    """Tonnes of CO2 per input unit of a row (e.g. per kWh, per litre), derived from the preset's factors;
    electricity uses `grid_factor` (None: the preset's own grid factor).

    Kept to 15 significant digits — what a worksheet stores (openpyxl writes it, LibreOffice and Excel
    re-save it that way) — so the workbook's 参数 cell and this function multiply by the same number.
    """
    return float(f"{_co2_t_per_unit(item, preset, grid_factor, spec):.15g}")


def _co2_t_per_unit(item: str, preset: str, grid_factor: str | None, spec: Spec) -> float:
    p = preset_of(spec, preset)
    key = spec.item(item).factor_of
    if key == "electricity":
        return spec.grid_factor(grid_factor, p.id).factor / 1000          # tCO2/MWh → t per kWh
    c, k = p.co2[key], p.kgce[key]
    if c.unit == "kgCO2/kg":
        return k.extra * c.factor / 1000   # extra = kg per input unit (1000 kg/t, or density kg/L)
    if c.unit == "as_heat":
        heat_kgce, heat_co2 = p.kgce["heat"], p.co2["heat"]
        return k.factor * k.extra / heat_kgce.factor * heat_co2.factor * _PER_TONNE[heat_co2.unit] * c.factor
    return c.factor * _PER_TONNE[c.unit]


def to_kgce(quantity: Any, item: str, preset: str, spec: Spec) -> Number:
    """kgce of a row = quantity × 折标系数 × 附加系数, ROUNDed; blank for a blank, text or negative quantity."""
    q = as_quantity(quantity)
    if q is None:
        return None
    factor, extra = kgce_factors(item, preset, spec)
    return round_excel(q * factor * extra, spec.precision.kgce)


def to_co2_t(quantity: Any, item: str, preset: str, grid_factor: str | None = None, *, spec: Spec) -> Number:
    """CO2 in tonnes of a row = quantity × `co2_t_per_unit`, ROUNDed; blank for a blank, text or negative quantity."""
    q = as_quantity(quantity)
    if q is None:
        return None
    return round_excel(q * co2_t_per_unit(item, preset, grid_factor, spec=spec), spec.precision.co2_t)
