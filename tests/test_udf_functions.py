"""The xlwings UDFs in `addin/functions.py`, called as plain Python (on Linux the decorators are no-ops).

Every UDF must agree cell by cell with the core function in `udfs/`, keep the shape of its inputs, and turn
anything a worksheet would call blank (and any failure) into "" instead of None, NaN, inf or a traceback.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from addin import functions as F
from addin.functions import (JY_CHANGE, JY_CO2, JY_COMPOSITE, JY_DECLINE_OK, JY_DIV, JY_KGCE,
                             JY_SCORE_OK)
from udfs import (change_pct, composite_score, counted_score, decline_ok, kgce_factors, legal_values,
                  safe_div, target_pct, to_co2_t, to_kgce)
from workbook_templates import load_spec

SPEC = load_spec()
YEAR, PRESET = SPEC.default_year, SPEC.default_preset   # what the worksheet functions use

# A grid with every kind of cell xlwings can hand over: numbers, blanks, text, booleans, negatives, zero.
MIXED = [
    [1000, 0, None],
    [12.5, -3, "2000万"],
    [True, "1,234", ""],
    [1e-9, 123456789.125, 2.675],
]


def cell(x):
    """The worksheet value a UDF must give for a core result: blank (None) and non-finite numbers are ""."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return ""
    return x


def core_or_blank(fn, *args, **kwargs):
    """The core function's result as a cell; "" where the core itself raises (see the report on udfs/)."""
    try:
        return cell(fn(*args, **kwargs))
    except Exception:
        return ""


def assert_same(actual, expected):
    """Equal cell by cell, and a bool stays a bool (Excel shows TRUE/FALSE, not 1/0)."""
    assert actual == expected
    assert [type(a) for a in np.ravel(np.array(actual, dtype=object))] == \
        [type(e) for e in np.ravel(np.array(expected, dtype=object))]


def grid_map(fn, grid):
    return [[fn(v) for v in row] for row in grid]


def assert_cells_clean(result):
    for v in np.ravel(np.array(result, dtype=object)):
        assert v is not None
        assert isinstance(v, (str, bool, float)), type(v)
        if isinstance(v, float):
            assert math.isfinite(v)
        if isinstance(v, str):
            assert v == ""


# ---------------------------------------------------------------- worked examples

def test_worked_examples_electricity():
    assert kgce_factors("electricity", PRESET, SPEC) == (0.1229, 1.0), \
        "spec factor changed: update the arithmetic below"
    # 1000 kWh × 0.1229 kgce/kWh × 1 = 122.9 kgce
    assert JY_KGCE(1000, "电") == 122.9
    # CO2: 1000 kWh = 1 MWh × 0.5703 tCO2/MWh = 0.5703 t (4 places)
    assert F._co2_table()[F._canon("electricity")] == pytest.approx(0.5703 / 1000)
    assert JY_CO2(1000, "电") == 0.5703


def test_worked_examples_fuel_and_coal():
    assert kgce_factors("coal", PRESET, SPEC) == (0.7143, 1000.0)
    assert kgce_factors("gasoline", PRESET, SPEC) == (1.4714, 0.73)
    # 2 t raw coal × 0.7143 kgce/kg × 1000 kg/t = 1428.6 kgce
    assert JY_KGCE(2, "原煤") == 1428.6
    # 100 L gasoline × 1.4714 kgce/kg × 0.73 kg/L = 107.4122 → ROUND(…, 2) = 107.41
    assert JY_KGCE(100, "汽油消耗量") == 107.41


def test_worked_examples_change_and_decline():
    assert target_pct("energy_per_capita", YEAR, SPEC) == -1.40
    # (98.6 − 100) ÷ 100 × 100 = −1.40 %: exactly on the target −1.40 → met
    assert JY_CHANGE(100, 98.6) == -1.4
    assert JY_DECLINE_OK(100, 98.6, "人均综合能耗") is True
    # (98.7 − 100) ÷ 100 × 100 = −1.30 % > −1.40 → not met
    assert JY_DECLINE_OK(100, 98.7, "人均综合能耗") is False


def test_worked_example_composite():
    # 县市区级: 0.1 × 80 + 0.3 × 85 + 0.6 × 90 = 8 + 25.5 + 54 = 87.5
    assert JY_COMPOSITE("县市区级", 80, 85, 90) == 87.5
    # 地州市级: 0.2 × 80 + 0.8 × 90 = 88 (county is not used at this level)
    assert JY_COMPOSITE("地州市级", 80, None, 90) == 88.0


# ---------------------------------------------------------------- shapes

@pytest.mark.parametrize("fn, args", [
    (JY_KGCE, ("电",)), (JY_CO2, ("电",)), (JY_DIV, (4,)), (JY_CHANGE, (100,)),
    (JY_DECLINE_OK, (100, "人均能耗")), (JY_COMPOSITE, None), (JY_SCORE_OK, None),
])
def test_shape_follows_the_range(fn, args):
    def call(values):
        if fn is JY_COMPOSITE:
            return fn("地州市级", values, None, 90)
        if fn is JY_SCORE_OK:
            return fn("2.1.1", values)
        if fn is JY_DECLINE_OK:
            return fn(args[0], values, args[1])
        return fn(values, *args)

    assert not isinstance(call(50), list)
    one_d = call([50, None, "x"])
    assert isinstance(one_d, list) and len(one_d) == 3 and not isinstance(one_d[0], list)
    two_d = call([[50, 60], [None, 70], ["x", 80]])
    assert [len(r) for r in two_d] == [2, 2, 2]
    assert call([[50]]) == [[call(50)]]
    column = call([[v] for v in range(100)])
    assert len(column) == 100 and all(len(r) == 1 for r in column)
    assert call([]) == [] and call([[]]) == [[]]


def test_single_cells_broadcast_against_a_range():
    qty = [[1000], [2000], [None]]
    expected = [[122.9], [245.8], [""]]
    assert JY_KGCE(qty, "电") == expected
    assert JY_KGCE(qty, [["电"]]) == expected          # a 1×1 range (what ndim=2 makes of "电") too
    assert JY_KGCE([[1000]], "电") == [[122.9]]
    assert JY_KGCE(1000, [["电"]]) == [[122.9]]
    # the item may be a range of its own, row by row
    assert JY_KGCE(qty, [["电"], ["electricity"], ["电"]]) == expected
    assert JY_KGCE([[1000, 1000]], [["电", "原煤"]]) == [[122.9, 714300.0]]


def test_mismatched_ranges_give_blank_cells_of_the_larger_shape():
    assert JY_DIV([[1], [2], [3]], [[1], [2]]) == [[""], [""], [""]]
    assert JY_DIV([[1, 2]], [[1], [2], [3]]) == [[""], [""], [""]]
    assert JY_DIV([1, 2, 3], [[1, 2, 3]]) == ["", "", ""]     # same size, different shape: first wins
    assert JY_KGCE([[1], [2]], [["电"], ["电"], ["电"]]) == [[""], [""], [""]]


@pytest.mark.parametrize("bad", [[[1, 2], [3]], [1, [2, 3]], [[1], 2]])
def test_ragged_or_mixed_ranges_give_blank(bad):
    assert JY_DIV(bad, 1) == ""
    assert JY_KGCE(bad, "电") == ""


def test_numpy_arrays_are_accepted():
    assert JY_DIV(np.array([[2.0, 4.0]]), 2) == [[1.0, 2.0]]
    assert JY_KGCE(np.array([1000.0]), "电") == [122.9]


# ---------------------------------------------------------------- equality with the core, cell by cell

def test_kgce_and_co2_equal_the_core_on_every_row():
    for it in SPEC.factor_items:
        assert_same(JY_KGCE(MIXED, it.key), grid_map(lambda v: cell(to_kgce(v, it.key, PRESET, SPEC)), MIXED))
        assert_same(JY_CO2(MIXED, it.key), grid_map(lambda v: cell(to_co2_t(v, it.key, PRESET, spec=SPEC)), MIXED))


def test_div_equals_safe_div():
    dens = [[3, 0, 2], [None, -4, 7], ["x", 0.5, 8], [False, 3, 1e-300]]
    expected = [[cell(safe_div(n, d)) for n, d in zip(rn, rd)] for rn, rd in zip(MIXED, dens)]
    assert_same(JY_DIV(MIXED, dens), expected)
    assert JY_DIV(-4, 2) == -2.0                  # negatives divide: only quantities refuse them
    assert JY_DIV(1, 3) == 1 / 3                  # no rounding


def test_change_equals_change_pct():
    cur = [[1010, 5, 3], [12.4, 6, 1], [7, 8, 9], [1e-9, 123456789.0, 2.68]]
    expected = [[cell(change_pct(p, c, SPEC)) for p, c in zip(rp, rc)] for rp, rc in zip(MIXED, cur)]
    assert_same(JY_CHANGE(MIXED, cur), expected)


def test_decline_ok_equals_core_for_every_indicator():
    prev = [[100, 100, 100], [0, None, "x"], [100, -100, 100]]
    cur = [[98.6, 98.5, 99], [1, 100, 100], [True, -99, 101]]
    for it in SPEC.decline_intensities:
        t = target_pct(it.key, YEAR, SPEC)
        expected = [[cell(decline_ok(change_pct(p, c, SPEC), t)) for p, c in zip(rp, rc)] for rp, rc in zip(prev, cur)]
        for name in (it.key, it.label, it.decline_label):
            assert_same(JY_DECLINE_OK(prev, cur, name), expected)


def test_score_ok_against_legal_values_for_every_indicator():
    for ind in SPEC.indicators:
        legal = list(legal_values(ind, spec=SPEC))
        illegal = [max(legal) + 1, -1, 0.25 if 0.25 not in legal else 0.3]
        got = JY_SCORE_OK(ind.id, [[v] for v in legal + illegal])
        assert got == [[True]] * len(legal) + [[False]] * len(illegal), ind.id
        scores = [v for row in MIXED for v in row] + legal
        expected = [(counted_score(ind, s, spec=SPEC) is not None)
                    if isinstance(s, (int, float)) and not isinstance(s, bool) else "" for s in scores]
        assert_same(JY_SCORE_OK(ind.id, scores), expected)


def test_score_ok_blank_text_and_unknown_id():
    assert JY_SCORE_OK("2.1.1", None) == ""
    assert JY_SCORE_OK("2.1.1", "3") == ""             # text, even of a legal number
    assert JY_SCORE_OK("2.1.1", True) == ""
    assert JY_SCORE_OK("9.9.9", 1) == ""
    assert JY_SCORE_OK(2.11, 1) == ""
    assert JY_SCORE_OK(" 2.1.1 ", 3) is True
    assert JY_SCORE_OK([["2.1.1"], ["9.9.9"]], 1) == [[True], [""]]


def test_composite_equals_core():
    rows = [
        ("县市区级", 80, 85, 90, None), ("county", 80, 85, 90, None), ("县市区级", 80, None, 90, None),
        ("地州市级", 80, None, 90, None), ("prefecture", 100, 0, 0, 0), ("自治区本级", 70, None, None, 95.5),
        ("region", 101, None, None, 90), ("region", -1, None, None, 90), ("地州市级", "80", None, 90, None),
        ("未知层级", 80, 85, 90, 95), (None, 80, 85, 90, 95), ("county", True, 85, 90, None),
    ]
    columns = [[[r[i]] for r in rows] for i in range(5)]
    expected = [[core_or_blank(composite_score, *r, spec=SPEC)] for r in rows]
    assert_same(JY_COMPOSITE(*columns), expected)
    assert JY_COMPOSITE("地州市级", 80, prefecture=90) == 88.0     # optional reviewers may be left out
    assert JY_COMPOSITE("地州市级", 80) == ""
    assert JY_COMPOSITE(" 县市区级 ", 80, 85, 90) == 87.5


# ---------------------------------------------------------------- names of rows and indicators

def test_item_aliases_resolve():
    for it in SPEC.factor_items:
        want = to_kgce(1000, it.key, PRESET, SPEC)
        label = it.label.removeprefix("其中：")
        ambiguous = sum(1 for other in SPEC.items if other.label == it.label) > 1
        names = [it.key, it.name, it.key.upper(), f"  {it.name} "]
        if not ambiguous:
            names += [it.label, label, label.removesuffix("消耗量"), it.label.replace("：", ":")]
        for name in names:
            assert JY_KGCE(1000, name) == want, name
            assert JY_CO2(1000, name) == to_co2_t(1000, it.key, PRESET, spec=SPEC), name
    assert JY_KGCE(1000, "其中：供热面积") == to_kgce(1000, "heated_area", PRESET, SPEC)
    assert JY_KGCE(1000, "电") == JY_KGCE(1000, "电消耗量") == JY_KGCE(1000, "electricity_kwh")


@pytest.mark.parametrize("item", [
    "其中：公务用车消耗量",      # two rows (汽油, 柴油) share this label: ambiguous, so refused
    "公务用车", "煤气", "", "建筑面积", "water", "用能人数", None, 1, True, {"电": 1},
])
def test_unknown_or_non_energy_item_gives_blank(item):
    assert JY_KGCE(1000, item) == ""
    assert JY_CO2(1000, item) == ""
    assert JY_KGCE([[1000], [2000]], item) == [[""], [""]]


@pytest.mark.parametrize("name", ["人均用电", "electricity_per_capita", "人均", "", None, 3])
def test_unknown_or_non_decline_indicator_gives_blank(name):
    assert JY_DECLINE_OK(100, 90, name) == ""


def test_decline_indicator_aliases():
    assert JY_DECLINE_OK(100, 98, "energy_per_capita") is True
    assert JY_DECLINE_OK(100, 98, "人均能耗") is True
    assert JY_DECLINE_OK(100, 98, " 人均综合能耗 ") is True
    assert JY_DECLINE_OK(100, 98.6, "单位建筑面积碳排放量") is False      # −1.40 > −1.50


# ---------------------------------------------------------------- blanks and bad input

@pytest.mark.parametrize("bad", [None, "", " ", "abc", "1,234", "2000万", True, False, -1, -0.001,
                                 float("nan"), float("inf"), float("-inf"), {"a": 1}, object()])
def test_bad_quantities_give_blank(bad):
    assert JY_KGCE(bad, "电") == ""
    assert JY_CO2(bad, "电") == ""
    assert JY_KGCE([[bad], [1000]], "电") == [[""], [122.9]]


@pytest.mark.parametrize("bad", [None, "", "abc", True, float("nan"), float("inf")])
def test_bad_operands_give_blank(bad):
    assert JY_DIV(bad, 2) == "" and JY_DIV(2, bad) == ""
    assert JY_CHANGE(bad, 2) == "" and JY_CHANGE(2, bad) == ""
    assert JY_DECLINE_OK(bad, 2, "人均能耗") == "" and JY_DECLINE_OK(2, bad, "人均能耗") == ""
    assert JY_COMPOSITE("地州市级", bad, None, 90) == ""


def test_zero_denominator_and_zero_previous_year_give_blank():
    assert JY_DIV(5, 0) == "" and JY_DIV(0, 5) == 0.0
    assert JY_CHANGE(0, 5) == "" and JY_CHANGE(5, 0) == -100.0


def test_overflow_is_blank_never_inf():
    assert safe_div(1e308, 1e-10) is None          # overflow is blank in the core, and so in a cell
    assert JY_DIV(1e308, 1e-10) == ""
    assert JY_CHANGE(1e-300, 1e300) == ""
    assert JY_KGCE(1e308, "原煤") == ""              # 1e308 × 0.7143 × 1000 overflows
    assert JY_KGCE(float(2**53), "电") == core_or_blank(to_kgce, float(2**53), "electricity", PRESET, SPEC)


def test_huge_values_blank_only_their_own_cell():
    # The core cannot round every huge value (see the report); whatever it does, the other cells survive.
    got = JY_KGCE([[1e30], [1000], [10**400]], "电")
    assert got[1] == [122.9]
    assert got[0] == [core_or_blank(to_kgce, 1e30, "electricity", PRESET, SPEC)]
    assert got[2] == [core_or_blank(to_kgce, 10**400, "electricity", PRESET, SPEC)]


def test_a_failing_kernel_blanks_only_the_failing_cells():
    def kernel(values):
        if 2 in values:
            raise RuntimeError("boom")
        return [v * 10 for v in values]

    assert F._apply(kernel, [[1], [2], [3]]) == [[10], [""], [30]]
    assert F._apply(kernel, 2) == ""


# ---------------------------------------------------------------- property: nothing ever escapes

def test_huge_values_round_like_the_scalar_core():
    # 2 253 990 903 245 L × 0.002972064 tCO2/L = 6 699 005 219.861947…; to 15 digits 6699005219.86195,
    # which Excel's ROUND (and round_excel) takes up to …219.8620, the array path down to …219.8619.
    assert JY_CO2(2253990903245, "diesel") == to_co2_t(2253990903245, "diesel", PRESET, spec=SPEC)


CELLS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(),
    st.floats(min_value=-1e7, max_value=1e7), st.integers(min_value=-10**6, max_value=10**6),
    st.text(max_size=6), st.sampled_from(["", " ", "电", "1,234", "2000万", "2.1.1", "县市区级", "人均能耗"]),
)


@st.composite
def grids(draw, rows=None, cols=None):
    r = rows if rows is not None else draw(st.integers(1, 5))
    c = cols if cols is not None else draw(st.integers(1, 4))
    return [[draw(CELLS) for _ in range(c)] for _ in range(r)], (r, c)


@st.composite
def grid_pairs(draw):
    a, (r, c) = draw(grids())
    b, _ = draw(grids(r, c))
    return a, b


@settings(max_examples=150, deadline=None)
@given(grid_pairs(), st.sampled_from([it.key for it in SPEC.factor_items] + ["电", "汽油", "x", None]))
def test_property_kgce_co2_never_escape_and_match_the_core(pair, item):
    qty, items = pair
    for fn, core in ((JY_KGCE, to_kgce), (JY_CO2, to_co2_t)):
        got = fn(qty, item)
        assert_cells_clean(got)
        assert [len(r) for r in got] == [len(r) for r in qty]
        key = F._item_aliases().get(F._canon(item)) if isinstance(item, str) else None
        if key in {it.key for it in SPEC.factor_items}:
            for got_row, row in zip(got, qty):
                for g, v in zip(got_row, row):
                    assert g == core_or_blank(core, v, key, PRESET, spec=SPEC), (v, key)
        else:
            assert all(v == "" for row in got for v in row)
        assert_cells_clean(fn(qty, items))          # any junk as the item range


@settings(max_examples=150, deadline=None)
@given(grid_pairs())
def test_property_div_change_never_escape_and_match_the_core(pair):
    a, b = pair
    got_div, got_change = JY_DIV(a, b), JY_CHANGE(a, b)
    for got in (got_div, got_change):
        assert_cells_clean(got)
        assert [len(r) for r in got] == [len(r) for r in a]
    assert got_div == [[core_or_blank(safe_div, x, y) for x, y in zip(ra, rb)] for ra, rb in zip(a, b)]
    for got_row, ra, rb in zip(got_change, a, b):
        for g, x, y in zip(got_row, ra, rb):
            assert g == core_or_blank(change_pct, x, y, SPEC), (x, y)


@settings(max_examples=100, deadline=None)
@given(grid_pairs(), grids(), st.data())
def test_property_bool_and_composite_never_escape(pair, other, data):
    a, b = pair
    c = data.draw(grids(len(a), len(a[0])))[0]
    junk, _ = other                 # any shape: may clash with `a`
    results = [
        JY_DECLINE_OK(a, b, "人均能耗"), JY_DECLINE_OK(a, b, c), JY_DECLINE_OK(a, junk, c),
        JY_SCORE_OK("2.1.1", a), JY_SCORE_OK(c, a), JY_SCORE_OK(junk, a),
        JY_COMPOSITE("县市区级", a, b, c), JY_COMPOSITE(c, a, b, a, b), JY_COMPOSITE(junk, a),
        JY_KGCE(a, junk), JY_DIV(junk, a),
    ]
    for got in results:
        assert isinstance(got, (list, str))
        assert_cells_clean(got)
    for r, row in enumerate(results[0]):
        for k, v in enumerate(row):
            target = target_pct("energy_per_capita", YEAR, SPEC)
            expected = core_or_blank(lambda p, q: decline_ok(change_pct(p, q, SPEC), target), a[r][k], b[r][k])
            assert v == expected and type(v) is type(expected)


@settings(max_examples=100, deadline=None)
@given(CELLS, CELLS, CELLS)
def test_property_scalars_stay_scalars(x, y, z):
    for got in (JY_KGCE(x, y), JY_CO2(x, "电"), JY_DIV(x, y), JY_CHANGE(x, y), JY_DECLINE_OK(x, y, z),
                JY_SCORE_OK(z, x), JY_COMPOSITE(z, x, y)):
        assert not isinstance(got, list)
        assert_cells_clean([got])
