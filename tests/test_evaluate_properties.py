"""Properties of `udfs.evaluate` that must hold for ANY input a worksheet can hold.

The rules (udfs/evaluate.py, udfs/numbers.py):
  * A missing name, None, text ("2000万", "1,234", "", "abc"), a boolean, NaN/±inf or a negative quantity is
    blank — exactly as if the cell were empty — never an exception.
  * Results are plain: float, True/False for ok_* and self_pass, an int for self_missing_count, None for
    blank — never NaN or inf.
  * The result holds exactly the contract's derived names (kinds derived, decline and score-derived, which
    include the computed unit-1 scores self_1_1_*), nothing else.
  * Totals add only the rows marked in_total: the "其中" rows (heating coal, 公务用车 fuel) never change them.
    All rows blank gives a blank total, not 0.
  * A blank or zero denominator gives a blank intensity.
  * evaluate_columns over N units is N calls of evaluate.
  * A self-score counts only when it is one of its rule's values; otherwise it is missing. Pass = total ≥ 80.
"""
from __future__ import annotations

import math
import warnings
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from udfs import columns_to_records, evaluate, evaluate_columns, legal_values, passes, to_co2_t, to_kgce
from workbook_templates import SLOTS, contract_names, load_spec

SPEC = load_spec()
YEAR, PRESET = SPEC.default_year, SPEC.default_preset   # what the commands choose without --year / --preset
CONTRACT = {c.name: c.kind for c in contract_names(SPEC)}
DERIVED_NAMES = {n for n, kind in CONTRACT.items() if kind in ("derived", "decline", "score-derived")}
INPUT_NAMES = [f"{slot}_{item.name}" for slot in SLOTS for item in SPEC.items]
SUB_ROWS = ("heating_coal_t", "official_gasoline_l", "official_diesel_l")
SELECTOR = "canteen_evaluation_implemented"
SCORE_INPUTS = [i.score_name for i in SPEC.indicators if i.rule.type != "computed_target"]

PROPS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ------------------------------------------------------------------ strategies

MISSING = object()   # "the key is not in the inputs at all"

# Valid quantities: 0, whole numbers and decimals up to 1e9 (a unit's kWh, m², litres …).
quantities = st.one_of(
    st.just(0), st.just(0.0),
    st.integers(0, 10**9),
    st.floats(min_value=1e-3, max_value=1e9, allow_nan=False, allow_infinity=False),
)
# Everything a worksheet holds that is NOT a number (ISNUMBER false) or is not a valid quantity.
texts = st.sampled_from(["2000万", "1,234", "", "abc", " ", "12", "1e3", "－5", "NaN"])
negatives = st.one_of(st.integers(-10**9, -1),
                      st.floats(max_value=-1e-3, min_value=-1e9, allow_nan=False, allow_infinity=False))
non_finite = st.sampled_from([math.nan, math.inf, -math.inf])
junk = st.one_of(st.none(), texts, st.booleans(), non_finite, negatives)
anything = st.one_of(st.just(MISSING), quantities, junk)


def evaluated(inputs: dict, preset: str = PRESET, **options) -> dict:
    """`evaluate` for the spec's default year (and preset, unless given); `options` as `evaluate` takes them."""
    return evaluate(inputs, YEAR, preset, spec=SPEC, **options)


def _drop_missing(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not MISSING}


any_inputs = st.fixed_dictionaries({name: anything for name in INPUT_NAMES}).map(_drop_missing)
valid_inputs = st.fixed_dictionaries({name: st.one_of(st.just(MISSING), quantities)
                                      for name in INPUT_NAMES}).map(_drop_missing)
full_valid_inputs = st.fixed_dictionaries({name: quantities for name in INPUT_NAMES})


def _check_plain(result: dict) -> None:
    for name, value in result.items():
        if name.startswith("ok_") or name == "self_pass":
            assert value is None or type(value) is bool, (name, value)
        elif name == "self_missing_count":
            assert type(value) is int and 0 <= value <= len(SPEC.indicators), (name, value)
        else:
            assert value is None or (type(value) is float and math.isfinite(value)), (name, value)


# ------------------------------------------------------------------ names and plain values

def test_result_names_are_exactly_the_derived_contract_names():
    """Every derived / decline / score-derived contract name is returned, and nothing that isn't a contract
    name: the two sets are equal (unit-1's self_1_1_* are score-derived, so they are in it)."""
    result = evaluated({})
    assert set(result) == DERIVED_NAMES
    assert set(result) <= set(CONTRACT)
    assert {f"self_1_1_{i}" for i in range(1, 5)} <= set(result)
    # and no input, meta or typed-in score name comes back
    assert not set(result) & {n for n, k in CONTRACT.items() if k in ("input", "meta", "score-input")}
    assert len(result) == len(DERIVED_NAMES) == 95


@PROPS
@given(any_inputs)
def test_never_raises_and_every_value_is_plain(inputs):
    result = evaluated(inputs)
    assert set(result) == DERIVED_NAMES
    _check_plain(result)


@PROPS
@given(any_inputs, st.sampled_from(["xj-2023", "gbt2589-2020"]),
       st.sampled_from([None, "northwest-2022", "national-2023"]),
       st.sampled_from(["all_vehicle_fuel", "official_vehicle_fuel"]),
       st.sampled_from(["all_co2", "excluding_vehicle_fuel"]))
def test_never_raises_under_every_preset_grid_and_switch(inputs, preset, grid, building, co2):
    result = evaluate(inputs, 2023, preset, grid_factor=grid,
                      switches={"building_energy": building, "co2_per_area": co2}, spec=SPEC)
    assert set(result) == DERIVED_NAMES
    _check_plain(result)


# ------------------------------------------------------------------ junk is blank

@PROPS
@given(full_valid_inputs, st.data())
def test_text_negative_bool_nan_inputs_are_exactly_blank(base, data):
    """Replacing some inputs by junk gives the same result as deleting those keys."""
    keys = data.draw(st.lists(st.sampled_from(INPUT_NAMES), min_size=1, unique=True), label="junked keys")
    junked = dict(base)
    for k in keys:
        junked[k] = data.draw(junk, label=k)
    deleted = {k: v for k, v in base.items() if k not in keys}
    assert evaluated(junked) == evaluated(deleted)


@pytest.mark.parametrize("value", [None, "", "abc", "2000万", "1,234", "100", True, False,
                                   math.nan, math.inf, -math.inf, -1, -0.5, -1e9])
def test_each_kind_of_junk_in_every_input_is_blank(value):
    full = {name: 100 for name in INPUT_NAMES}
    for name in INPUT_NAMES:
        without = {k: v for k, v in full.items() if k != name}
        assert evaluated(full | {name: value}) == evaluated(without), name


def test_numbers_of_any_numeric_type_are_numbers():
    """numpy scalars and Decimal are numbers (ISNUMBER true); numpy's bool is not."""
    plain = evaluated({"prev_electricity_kwh": 100, "prev_people": 3})
    for value in (np.float64(100), np.int64(100), np.float32(100), Decimal("100"), 100.0):
        assert evaluated({"prev_electricity_kwh": value, "prev_people": 3}) == plain, type(value)
    assert evaluated({"prev_electricity_kwh": np.bool_(True), "prev_people": 3}) == evaluated({"prev_people": 3})


@PROPS
@given(st.data())
def test_junk_self_scores_and_selector_are_blank(data):
    """A self-score that is text, a boolean (True is not 1), NaN or None is simply not entered."""
    name = data.draw(st.sampled_from(SCORE_INPUTS))
    value = data.draw(st.one_of(st.none(), texts, st.booleans(), non_finite, st.just("3")))
    assert evaluated({name: value}) == evaluated({})


# ------------------------------------------------------------------ totals

@PROPS
@given(valid_inputs, st.data())
def test_sub_rows_never_change_totals(inputs, data):
    """Heating coal and 公务用车 fuel are "其中" rows, already inside their parents: whatever they hold,
    total kgce and CO2 are the same. With the default switch building energy is the same too."""
    other = dict(inputs)
    for slot in SLOTS:
        for row in SUB_ROWS:
            other[f"{slot}_{row}"] = data.draw(st.one_of(st.just(MISSING), quantities, junk))
    other = _drop_missing(other)
    for switch in ("all_vehicle_fuel", "official_vehicle_fuel"):
        a = evaluated(inputs, switches={"building_energy": switch})
        b = evaluated(other, switches={"building_energy": switch})
        for slot in SLOTS:
            for name in ("total_kgce", "co2_t", "energy_per_capita"):
                assert a[f"{slot}_{name}"] == b[f"{slot}_{name}"], name
            for item in SPEC.items:
                if item.in_total:
                    assert a[f"{slot}_{item.key}_kgce"] == b[f"{slot}_{item.key}_kgce"]
                    assert a[f"{slot}_{item.key}_co2_t"] == b[f"{slot}_{item.key}_co2_t"]
            if switch == "all_vehicle_fuel":
                assert a[f"{slot}_building_kgce"] == b[f"{slot}_building_kgce"]
                assert a[f"{slot}_area_co2_t"] == b[f"{slot}_area_co2_t"]


@PROPS
@given(valid_inputs)
def test_total_is_blank_exactly_when_every_counted_row_is_blank(inputs):
    result = evaluated(inputs)
    for slot in SLOTS:
        counted = [f"{slot}_{i.name}" for i in SPEC.items if i.in_total]
        if any(k in inputs for k in counted):
            assert result[f"{slot}_total_kgce"] is not None
            assert result[f"{slot}_co2_t"] is not None
        else:
            assert result[f"{slot}_total_kgce"] is None
            assert result[f"{slot}_co2_t"] is None
            assert result[f"{slot}_building_kgce"] is None
            assert result[f"{slot}_energy_per_capita"] is None


def test_all_blank_gives_blank_totals_not_zero():
    result = evaluated({})
    for slot in SLOTS:
        assert result[f"{slot}_total_kgce"] is None
        assert result[f"{slot}_co2_t"] is None
        assert result[f"{slot}_building_kgce"] is None
        assert result[f"{slot}_area_co2_t"] is None
    # area, people and water are filled but no energy row: still no total
    result = evaluated({"prev_area_m2": 1000, "prev_people": 10, "prev_water_m3": 500,
                       "prev_heating_coal_t": 3, "prev_official_gasoline_l": 100})
    assert result["prev_total_kgce"] is None
    assert result["prev_water_per_capita"] == 50.0        # 500 ÷ 10
    assert result["prev_energy_per_capita"] is None
    # …whereas a real zero is a zero
    result = evaluated({"prev_electricity_kwh": 0, "prev_people": 10})
    assert result["prev_total_kgce"] == 0.0
    assert result["prev_energy_per_capita"] == 0.0


def test_blank_rows_count_as_zero_when_another_row_is_filled():
    # only diesel: fuel per vehicle = (blank gasoline + 500 L) ÷ 5 = 100
    result = evaluated({"cur_diesel_l": 500, "cur_vehicles": 5})
    assert result["cur_fuel_per_vehicle"] == 100.0
    # total = diesel alone: 500 × 1.4571 × 0.96 = 699.408 → 699.41; building = 699.41 − 699.41 = 0
    assert result["cur_total_kgce"] == 699.41
    assert result["cur_building_kgce"] == 0.0


# ------------------------------------------------------------------ denominators

PER_DENOMINATOR = {
    "people": ["energy_per_capita", "electricity_per_capita", "water_per_capita"],
    "area_m2": ["energy_per_area", "co2_per_area", "electricity_per_area"],
    "vehicles": ["fuel_per_vehicle"],
    "official_vehicles": ["fuel_per_official_vehicle"],
}


@PROPS
@given(full_valid_inputs, st.sampled_from(sorted(PER_DENOMINATOR)), st.sampled_from(SLOTS),
       st.sampled_from([0, 0.0, MISSING, None, "abc", -3]))
def test_zero_or_blank_denominator_gives_blank_intensity(inputs, denominator, slot, value):
    inputs = _drop_missing(inputs | {f"{slot}_{denominator}": value})
    result = evaluated(inputs)
    for key in PER_DENOMINATOR[denominator]:
        assert result[f"{slot}_{key}"] is None, key
        decline = next((i for i in SPEC.decline_intensities if i.key == key), None)
        if decline is not None:
            # no intensity in one year → no change rate, no verdict, no unit-1 score
            assert result[f"chg_{key}"] is None
            assert result[f"ok_{key}"] is None


def test_zero_people_blanks_per_capita_and_its_unit_1_scores():
    base = {"prev_people": 100, "prev_area_m2": 1000, "prev_electricity_kwh": 100_000, "prev_water_m3": 1000,
            "cur_people": 0, "cur_area_m2": 1000, "cur_electricity_kwh": 90_000, "cur_water_m3": 900}
    r = evaluated(base)
    assert r["cur_energy_per_capita"] is None and r["cur_water_per_capita"] is None
    assert r["chg_energy_per_capita"] is None and r["ok_energy_per_capita"] is None
    assert r["self_1_1_1"] is None and r["self_1_1_4"] is None       # per capita: blank, not 0
    # per m² is unaffected: 12290 → 11061 kgce per 1000 m², −10 %
    assert r["chg_energy_per_area"] == -10.0 and r["self_1_1_2"] == 2.5
    assert r["self_unit_1"] == 5.0                                   # 2.5 + 2.5, the two blanks not counted


# ------------------------------------------------------------------ columns = many single units

@st.composite
def units(draw):
    unit = draw(any_inputs)
    for name in draw(st.lists(st.sampled_from(SCORE_INPUTS), max_size=8, unique=True)):
        unit[name] = draw(st.one_of(st.sampled_from([0, 0.5, 1, 1.5, 2, 2.5, 3, 4, 4.5, 6, 8]),
                                    st.floats(-1, 9), junk))
    if draw(st.booleans()):
        unit[SELECTOR] = draw(st.sampled_from(["是", "否", "", None, "其他"]))
    return unit


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(units(), min_size=1, max_size=8))
def test_evaluate_columns_is_evaluate_per_unit(many):
    names = sorted({k for u in many for k in u})
    columns = {k: [u.get(k) for u in many] for k in names}
    records = columns_to_records(evaluate_columns(columns, YEAR, PRESET, spec=SPEC))
    assert len(records) == len(many)
    for unit, record in zip(many, records):
        assert record == evaluated(unit)


# ------------------------------------------------------------------ self-scores through evaluate

# A unit that meets all four 2023 targets: every intensity falls by 10 %.
#   prev: 100 000 kWh → 12290 kgce, 57.03 t; 1000 m³ water; 100 people; 1000 m²
#   cur:   90 000 kWh → 11061 kgce, 51.327 t; 900 m³ water
#   per capita 122.9 → 110.61 (−10.00 %), per m² 12.29 → 11.061 (−10.00 %),
#   water 10 → 9 (−10.00 %), CO2 per m² 57.03 → 51.327 kg (−10.00 %)
ALL_MET = {"prev_people": 100, "prev_area_m2": 1000, "prev_electricity_kwh": 100_000, "prev_water_m3": 1000,
           "cur_people": 100, "cur_area_m2": 1000, "cur_electricity_kwh": 90_000, "cur_water_m3": 900}


def full_marks(selector="是") -> dict:
    scores = {i.score_name: i.points for i in SPEC.indicators if i.rule.type != "computed_target"}
    scores[SELECTOR] = selector
    return scores


def test_all_met_unit_scores_10():
    r = evaluated(ALL_MET)
    assert [r[f"chg_{k}"] for k in ("energy_per_capita", "energy_per_area", "water_per_capita",
                                    "co2_per_area")] == [-10.0, -10.0, -10.0, -10.0]
    assert r["self_unit_1"] == 10.0


@pytest.mark.parametrize("selector", ["是", "否"])
def test_all_max_scores_with_all_targets_met_is_100_and_passes(selector):
    r = evaluated(ALL_MET | full_marks(selector))
    # 10 + 21 + 22 + 6 + 14 + 13 + 8 + 6 = 100
    assert [r[f"self_unit_{u}"] for u in range(1, 9)] == [10.0, 21.0, 22.0, 6.0, 14.0, 13.0, 8.0, 6.0]
    assert r["self_total"] == 100.0
    assert r["self_missing_count"] == 0
    assert r["self_pass"] is True


def test_79_5_fails_and_80_passes():
    # 100 − 4 (5.1.1) − 6 (3.3.1) − 3.5 (6.2.3) − 4.5 (2.2.2) − 2 (7.1.1 on path 否: 6 of 8) = 80
    eighty = ALL_MET | full_marks("否") | {"self_5_1_1": 0, "self_3_3_1": 0, "self_6_2_3": 0,
                                          "self_2_2_2": 0, "self_7_1_1": 6}
    r = evaluated(eighty)
    assert r["self_total"] == 80.0 and r["self_missing_count"] == 0
    assert r["self_pass"] is True
    # one more half point off (2.3.2: 1.5 → 1.0): 79.5
    r = evaluated(eighty | {"self_2_3_2": 1.0})
    assert r["self_total"] == 79.5
    assert r["self_pass"] is False
    assert passes(80, SPEC) is True and passes(79.5, SPEC) is False and passes(79.99, SPEC) is False


@pytest.mark.parametrize("indicator, illegal", [
    ("self_2_1_1", 2.7),     # per_item step 1: 0, 1, 2, 3 only
    ("self_2_1_1", "3"),     # text, even if it reads as a number
    ("self_2_1_1", 4),       # more than the indicator's 3 points
    ("self_2_1_1", -1),
    ("self_2_1_1", True),    # a boolean is not the number 1
    ("self_2_1_1", 1.004),   # not one of the values (and not rounded onto 1)
    ("self_2_1_2", 1),       # per_occurrence step 1.5: 0, 1.5, 3
    ("self_2_2_1", 1),       # fixed: 0 or 2
    ("self_3_3_1", 2),       # multiples of 1.5 up to 6
    ("self_6_2_3", 3.75),    # multiples of 0.5 up to 3.5
])
def test_illegal_self_score_is_not_counted_and_is_missing(indicator, illegal):
    base = ALL_MET | full_marks()
    unit = indicator.split("_")[1]
    good = evaluated(base)
    bad = evaluated(base | {indicator: illegal})
    assert good["self_missing_count"] == 0 and good["self_total"] == 100.0
    assert bad["self_missing_count"] == 1
    points = SPEC.indicator(indicator[len("self_"):].replace("_", ".")).points
    assert bad[f"self_unit_{unit}"] == good[f"self_unit_{unit}"] - points
    assert bad["self_total"] == 100.0 - points


def test_illegal_only_score_leaves_unit_blank():
    r = evaluated({"self_2_1_1": 2.7})
    assert r["self_unit_2"] is None
    assert r["self_missing_count"] == 54      # nothing counted: 50 typed-in + 4 unit-1 (no energy data)
    r = evaluated({"self_2_1_1": 3})
    assert r["self_unit_2"] == 3.0
    assert r["self_missing_count"] == 53


def test_unit_1_scores_are_computed_never_typed_in():
    """1.1.x are filled from the decline table: a typed-in value is ignored, in both directions."""
    assert evaluated(ALL_MET | {"self_1_1_1": 0})["self_1_1_1"] == 2.5     # met → 2.5, whatever was typed
    assert evaluated({"self_1_1_1": 2.5})["self_1_1_1"] is None           # no data → blank, not the typed 2.5
    assert evaluated({"self_1_1_1": 2.5})["self_missing_count"] == 54


UNIT7_YES = [0, 2, 4, 8]                                  # 是: 优秀 8 / 良好 4 / 合格 2 / 其他 0
UNIT7_NO = [k / 2 for k in range(0, 17)]                  # 否: 1.5 + 1.5 + 1.5 + (0…3.5 step 0.5) → 0…8 step 0.5


@pytest.mark.parametrize("score", sorted(set(UNIT7_NO) | {8.5, 9, -0.5, 0.25, 7.75}))
def test_unit_7_selector_picks_the_legal_scores(score):
    yes = evaluated({SELECTOR: "是", "self_7_1_1": score})["self_unit_7"]
    no = evaluated({SELECTOR: "否", "self_7_1_1": score})["self_unit_7"]
    either = evaluated({"self_7_1_1": score})["self_unit_7"]     # blank selector: either path
    assert yes == (float(score) if score in UNIT7_YES else None)
    assert no == (float(score) if score in UNIT7_NO else None)
    assert either == (float(score) if score in UNIT7_NO else None)


@PROPS
@given(st.sampled_from(SCORE_INPUTS), st.integers(-4, 40).map(lambda k: k / 4))
def test_a_score_counts_iff_it_is_a_step_of_its_rule(name, score):
    """Quarter-point grid from −1 to 10: counted (unit subtotal = score) exactly when the rule allows it."""
    ind = SPEC.indicator(name[len("self_"):].replace("_", "."))
    r = evaluated({name: score})
    expected = score if score in legal_values(ind, spec=SPEC) else None
    assert r[f"self_unit_{ind.unit_id}"] == expected
    assert r["self_missing_count"] == (53 if expected is not None else 54)
    if expected is not None:
        # every legal value is a multiple of 0.5 between 0 and the indicator's points
        assert 0 <= score <= ind.points and (score * 2).is_integer()


# ------------------------------------------------------------------ rows agree with the scalar functions

# Quantities with 2 decimals up to 5000: many products land exactly on a .5 tie of the last place.
small_quantities = st.integers(0, 500_000).map(lambda k: k / 100)


@PROPS
@given(st.fixed_dictionaries({f"prev_{i.name}": small_quantities for i in SPEC.factor_items}),
       st.sampled_from(["xj-2023", "gbt2589-2020"]))
def test_rows_equal_to_kgce_and_to_co2_t(inputs, preset):
    """evaluate's row figures are the scalar UDFs' (=ROUND(q × factor × extra, 2) etc.), tie for tie."""
    r = evaluated(inputs, preset=preset)
    for item in SPEC.factor_items:
        q = inputs[f"prev_{item.name}"]
        assert r[f"prev_{item.key}_kgce"] == to_kgce(q, item.key, preset, SPEC), item.key
        assert r[f"prev_{item.key}_co2_t"] == to_co2_t(q, item.key, preset, spec=SPEC), item.key


def test_large_row_ties_round_like_excel():
    """Ties are ties at any magnitude (HEAD 23f1b4e's round_excel_array gave 157879046.1 here)."""
    q = 4629884.05                       # GJ of heat; × 34.1 = 157 879 046.105 kgce
    assert to_kgce(q, "heat", PRESET, SPEC) == 157879046.11
    assert evaluated({"prev_heat_gj": q})["prev_heat_kgce"] == 157879046.11


# ------------------------------------------------------------------ the docstring's "never an exception"

@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.parametrize("inputs, name, expected", [
    # 1e30 kWh × 0.1229 = 1.229e29 kgce: ROUND(…, 2) is the number itself (HEAD 23f1b4e raised
    # decimal.InvalidOperation: 32 digits do not fit Decimal's default 28-digit context)
    ({"prev_electricity_kwh": 1e30}, "prev_electricity_kgce", 1.229e29),
    # 1e9 m³ ÷ 1e-20 people = 1e29 m³ per person
    ({"prev_people": 1e-20, "prev_water_m3": 1e9}, "prev_water_per_capita", 1e29),
    # 1e307 GJ × 34.1 overflows a double: blank, not inf
    ({"prev_heat_gj": 1e307}, "prev_heat_kgce", None),
    # 1e300 m³ ÷ 1e-300 people overflows: blank
    ({"prev_people": 1e-300, "prev_water_m3": 1e300}, "prev_water_per_capita", None),
    # an int beyond the float range is not a number a worksheet can hold: blank
    ({"prev_electricity_kwh": 10**400}, "prev_electricity_kgce", None),
])
def test_huge_quantities_do_not_raise(inputs, name, expected):
    """The docstring's promise: never an exception, NaN or inf — whatever the magnitude."""
    result = evaluated(inputs)
    _check_plain(result)
    assert result[name] == (pytest.approx(expected, rel=1e-15) if expected is not None else None)


extreme_quantities = st.one_of(st.floats(min_value=0, allow_infinity=False), st.integers(0, 10**400))


@PROPS
@given(st.fixed_dictionaries({name: st.one_of(st.just(MISSING), extreme_quantities, junk)
                              for name in INPUT_NAMES}).map(_drop_missing))
def test_never_raises_at_any_magnitude(inputs):
    """Subnormal people, 1e308 litres, 10**400 kWh: plain values (blank where a figure overflows)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # numpy's overflow notice is not the result
        result = evaluated(inputs)
    assert set(result) == DERIVED_NAMES
    _check_plain(result)
