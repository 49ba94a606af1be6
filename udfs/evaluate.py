"""`evaluate`: from a unit's inputs to every derived figure of the data contract.

The rules, in the order a worksheet computes them (each figure ROUNDed to the spec's places):

1. Each energy row: kgce = quantity × 折标系数 × 附加系数; CO2 t = quantity × CO2 per unit.
   A blank, text or negative quantity gives a blank row.
2. Totals add the rows marked `in_total` ("其中" rows never); all-blank stays blank.
3. Vehicle fuel (per the building-energy switch) is subtracted to give building energy; the CO2 switch
   decides whether it is subtracted from the CO2 used per m² as well.
4. Each intensity = Σ numerator × scale ÷ denominator; a blank or zero denominator gives blank.
5. Decline: change % = (cur − prev) ÷ prev × 100, ROUNDed, then met when ≤ the year's target (round, then
   compare: an open question of calculation.toml [decline]); unit 1 scores 2.5 per target.
6. Self-scores count only when legal; unit subtotals, total, missing count and pass (≥ 80). Under a standard
   version whose 目标管理 is a gate, pass also needs every decline target met (unknown while one is blank).

All of it runs on columns (one array element per unit), so 100 000 units cost one pass; `evaluate` is the
same code for one unit.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from workbook_templates import SLOTS, Spec

from .choices import check_switch, preset_of, year_of
from .decline import change_pct_array
from .energy import co2_t_per_unit, kgce_factors
from .numbers import div_array, from_array, plain_value, round_excel_array, sum_or_blank, to_array
from .scoring import decline_score_array, score_columns

def resolve_switches(spec: Spec, switches: Mapping[str, str] | None) -> dict[str, str]:
    """The chosen option of every switch: the spec's default unless `switches` names another."""
    chosen = {k: s.default for k, s in spec.switches.items()}
    for key, option in (switches or {}).items():
        check_switch(spec, key, option)
        chosen[key] = option
    return chosen


def evaluate_columns(columns: Mapping[str, Sequence[Any]], year: int, preset: str, *, grid_factor: str | None = None,
                     switches: Mapping[str, str] | None = None, standard: str | None = None,
                     spec: Spec) -> dict[str, np.ndarray]:
    """Every derived contract name for many units at once, for the assessment `year` with the factor `preset`
    (`grid_factor` None: the preset's own; `switches`: the spec's defaults unless named; `standard` None: the
    version of the standard the year names). Inputs are columns keyed by contract name (a missing column is all
    blank); results are float arrays with NaN for blank (booleans as 1.0/0.0)."""
    years = year_of(spec, year)
    spec.grid_factor(grid_factor, preset_of(spec, preset).id)   # fail early, in Chinese, on an unknown one
    chosen = resolve_switches(spec, switches)
    gate = spec.standard(standard, years.year).gate
    with np.errstate(all="ignore"):   # overflow and 0/0 become blanks below, not warnings in the log
        return _evaluate_columns(spec, columns, years, preset, grid_factor, chosen, gate)


def _evaluate_columns(spec: Spec, columns: Mapping[str, Sequence[Any]], years, preset: str,
                      grid_factor: str | None, chosen: Mapping[str, str], gate: bool) -> dict[str, np.ndarray]:
    building = spec.switches["building_energy"].options[chosen["building_energy"]]
    co2_scope = spec.switches["co2_per_area"].options[chosen["co2_per_area"]]
    digits = spec.precision
    n = _length(columns)
    blank = np.full(n, np.nan)
    out: dict[str, np.ndarray] = {}
    intensities: dict[str, dict[str, np.ndarray]] = {}

    for slot in SLOTS:
        fig: dict[str, np.ndarray] = {}
        for item in spec.items:
            raw = columns.get(f"{slot}_{item.name}")
            fig[item.name] = blank if raw is None else to_array(raw, quantity=True)
        derived: dict[str, np.ndarray] = {}
        for item in spec.factor_items:
            q = fig[item.name]
            factor, extra = kgce_factors(item.key, preset, spec)
            derived[f"{item.key}_kgce"] = round_excel_array(q * factor * extra, digits.kgce)
            derived[f"{item.key}_co2_t"] = round_excel_array(
                q * co2_t_per_unit(item.key, preset, grid_factor, spec=spec), digits.co2_t)
        totals = [i.key for i in spec.items if i.in_total]
        derived["total_kgce"] = round_excel_array(sum_or_blank([derived[f"{k}_kgce"] for k in totals]), digits.kgce)
        derived["co2_t"] = round_excel_array(sum_or_blank([derived[f"{k}_co2_t"] for k in totals]), digits.co2_t)
        fuel = building.vehicle_fuel
        derived["vehicle_fuel_kgce"] = round_excel_array(
            sum_or_blank([derived[f"{k}_kgce"] for k in fuel]), digits.kgce)
        derived["vehicle_fuel_co2_t"] = round_excel_array(
            sum_or_blank([derived[f"{k}_co2_t"] for k in fuel]), digits.co2_t)
        derived["building_kgce"] = round_excel_array(
            derived["total_kgce"] - np.nan_to_num(derived["vehicle_fuel_kgce"]), digits.kgce)
        if co2_scope.exclude_vehicle_fuel:
            derived["area_co2_t"] = round_excel_array(
                derived["co2_t"] - np.nan_to_num(derived["vehicle_fuel_co2_t"]), digits.co2_t)
        else:
            derived["area_co2_t"] = derived["co2_t"]
        fig.update(derived)
        for ind in spec.intensities:
            numerator = sum_or_blank([fig[name] for name in ind.numerator])
            if ind.scale != 1:
                numerator = numerator * ind.scale
            derived[ind.key] = round_excel_array(div_array(numerator, fig[ind.denominator]), digits.intensity)
        intensities[slot] = derived
        out.update({f"{slot}_{k}": v for k, v in derived.items()})

    ok_by_metric: dict[str, np.ndarray] = {}
    for ind in spec.decline_intensities:
        chg = change_pct_array(intensities["prev"][ind.key], intensities["cur"][ind.key], digits.change_pct)
        target = years.targets[ind.key]
        with np.errstate(invalid="ignore"):
            ok = np.where(np.isnan(chg), np.nan, chg <= target)
        out[f"chg_{ind.key}"] = chg
        out[f"target_{ind.key}"] = np.full(n, target)
        out[f"ok_{ind.key}"] = ok_by_metric[ind.key] = ok
    unit1 = {i.score_name: decline_score_array(i, ok_by_metric[i.rule.metric])
             for i in spec.indicators if i.rule.type == "computed_target"}
    out.update(unit1)
    out.update(score_columns(columns, n, unit1, spec=spec, gate=gate_columns(list(ok_by_metric.values()), n) if gate else None))
    return out


def gate_columns(met: Sequence[np.ndarray], n: int) -> np.ndarray:
    """目标管理 as a 符合性 gate: 0 when any target is missed, 1 when every one is met, NaN (unknown) otherwise —
    a missed target fails the gate even while another decline cannot be computed yet."""
    if not met:
        return np.ones(n)
    stacked = np.vstack(met)
    missed = (stacked == 0).any(axis=0)
    known = ~np.isnan(stacked).any(axis=0)
    return np.where(missed, 0.0, np.where(known, 1.0, np.nan))


def evaluate(inputs: Mapping[str, Any], year: int, preset: str, *, grid_factor: str | None = None,
             switches: Mapping[str, str] | None = None, standard: str | None = None, spec: Spec) -> dict[str, Any]:
    """Every derived contract name for one unit, for the assessment `year` with the factor `preset`.

    `inputs` maps contract names (`prev_electricity_kwh`, `self_2_1_1`, …) to values; a missing name, None,
    text or a negative quantity is blank. Results: floats, True/False for `ok_*` and `self_pass`, an int for
    `self_missing_count`, None for blank — never an exception, NaN or inf.
    """
    columns = {k: [v] for k, v in inputs.items()}
    out = evaluate_columns(columns, year, preset, grid_factor=grid_factor, switches=switches, standard=standard,
                           spec=spec)
    return {k: plain_value(k, v[0]) for k, v in out.items()}


def columns_to_records(out: Mapping[str, np.ndarray]) -> list[dict[str, Any]]:
    """`evaluate_columns` results as one plain dict per unit."""
    names = list(out)
    # `plain_value` of every element, a unit's record at a time: a blank is None and most figures are the floats
    # `from_array` gives, so a record is zipped whole and only the boolean and count names are converted after.
    columns = [from_array(np.asarray(v, dtype=float)) for v in out.values()]
    records = [dict(zip(names, row)) for row in zip(*columns)]
    converted = [(k, type(plain_value(k, 1.0))) for k in names]
    converted = [(k, kind) for k, kind in converted if kind is not float]
    for record in records:
        for k, kind in converted:
            if record[k] is not None:
                record[k] = kind(record[k])
    return records


def _length(columns: Mapping[str, Sequence[Any]]) -> int:
    lengths = {len(v) if not isinstance(v, (str, bytes)) and hasattr(v, "__len__") else 1
               for v in columns.values()}
    if len(lengths) > 1:
        raise ValueError(f"各列长度不一致：{sorted(lengths)}")
    return lengths.pop() if lengths else 1
