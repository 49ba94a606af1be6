"""Excel's ROUND, as `udfs.round_excel` and `udfs.numbers.round_excel_array` implement it.

The rule (udfs/numbers.py): every derived figure is rounded the way a worksheet's ROUND does it —
take the value as Excel sees it (its 15-significant-digit decimal), then round half AWAY from zero.
Never Python's round(), which rounds the binary value half-to-even and so disagrees on the last digit
that a reader of the worksheet sees. Non-numbers (blank, text, booleans, NaN, ±inf) give a blank (None),
never an exception. A result of −0.0 is shown as 0 by a worksheet and must be returned as +0.0.
"""
from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from udfs import round_excel
from udfs.numbers import round_excel_array


# ------------------------------------------------------------------ the deck's and Excel's own examples

@pytest.mark.parametrize(
    "value, digits, expected",
    [
        # 1.005 is stored as 1.00499999999999989…; Excel sees 1.005 and rounds the 5 up.
        (1.005, 2, 1.01),
        # 2.675 is stored as 2.67499999999999982…; Excel: 2.68.
        (2.675, 2, 2.68),
        # 0.285 is stored as 0.28499999999999998…; Excel: 0.29.
        (0.285, 2, 0.29),
        # Half away from zero, not half to even: 2.5 → 3, −2.5 → −3, 0.5 → 1, −0.5 → −1, 1.5 → 2.
        (2.5, 0, 3.0),
        (-2.5, 0, -3.0),
        (0.5, 0, 1.0),
        (-0.5, 0, -1.0),
        (1.5, 0, 2.0),
        (3.5, 0, 4.0),
        # Not a tie: ordinary rounding.
        (2.4999, 0, 2.0),
        (1.004999, 2, 1.0),
        # Four places (intensities): 1.23445 → 1.2345; 0.00005 → 0.0001; 24.07993 → 24.0799.
        (1.23445, 4, 1.2345),
        (0.00005, 4, 0.0001),
        (24.07993, 4, 24.0799),
        (-1.23445, 4, -1.2345),
        # Big numbers: 123456789.125 is exact in binary, a true tie → up: 123456789.13.
        (123456789.125, 2, 123456789.13),
        # 1234567890123.45 is stored as 1234567890123.449951…; Excel sees …123.45 (15 digits) → …123.5.
        (1234567890123.45, 1, 1234567890123.5),
        (98765432.1, 0, 98765432.0),
        (1e15, 2, 1e15),
        (1e20, 2, 1e20),
        # Integers stay integers.
        (7, 0, 7.0),
        (7, 4, 7.0),
        (-7, 2, -7.0),
    ],
)
def test_round_excel_examples(value, digits, expected):
    assert round_excel(value, digits) == expected
    assert round_excel_array(np.array([value], dtype=float), digits)[0] == expected


def test_round_excel_is_not_python_round():
    """Python's round() works on the binary value, half to even; Excel ROUND does not. Each case below is
    one where they disagree — and the worksheet's answer is the one we must give."""
    cases = [
        # value, digits, Excel, Python round()
        (1.005, 2, 1.01, 1.0),
        (2.675, 2, 2.68, 2.67),
        (0.285, 2, 0.29, 0.28),
        (2.5, 0, 3.0, 2.0),
        (-2.5, 0, -3.0, -2.0),
        (0.5, 0, 1.0, 0.0),
        (123456789.125, 2, 123456789.13, 123456789.12),
        (1234567890123.45, 1, 1234567890123.5, 1234567890123.4),
    ]
    for value, digits, excel, python in cases:
        assert round(value, digits) == python          # (documents Python's behaviour)
        assert round_excel(value, digits) == excel
        assert round_excel(value, digits) != round(value, digits)


def test_negative_value_rounding_to_zero_is_plus_zero():
    """ROUND(−0.001, 2) is shown as 0, not −0: the result must be +0.0 (copysign(1, r) == 1)."""
    r = round_excel(-0.001, 2)
    assert r == 0.0
    assert math.copysign(1, r) == 1
    for x, d in [(-0.001, 2), (-0.4, 0), (-0.00004, 4), (-0.0, 2), (-1e-300, 6)]:
        r = round_excel(x, d)
        assert r == 0.0 and math.copysign(1, r) == 1, (x, d)
        a = round_excel_array(np.array([x]), d)[0]
        assert a == 0.0 and math.copysign(1, a) == 1, (x, d)


@pytest.mark.parametrize("digits", [0, 2, 4])
def test_same_value_at_digits_0_2_4(digits):
    """One value, three precisions used by the spec (scores/changes 2, kgce 2, intensities 4, whole 0)."""
    value = 1292.67349
    expected = {0: 1293.0, 2: 1292.67, 4: 1292.6735}[digits]
    assert round_excel(value, digits) == expected
    assert round_excel_array(np.array([value]), digits)[0] == expected


@pytest.mark.parametrize(
    "value",
    [None, "", "abc", "1.005", "2000万", "1,234", True, False, np.bool_(True),
     float("nan"), float("inf"), float("-inf"), [1.0], {"x": 1}],
)
def test_non_numbers_are_blank(value):
    """Blank, text, booleans, NaN and ±inf are not numbers to a worksheet (ISNUMBER false): blank result."""
    assert round_excel(value, 2) is None


def test_numpy_and_decimal_numbers_are_numbers():
    assert round_excel(np.float64(2.675), 2) == 2.68
    assert round_excel(np.int64(3), 0) == 3.0
    assert round_excel(Decimal("1.005"), 2) == 1.01


def test_array_blanks_stay_nan_and_shape_is_kept():
    """Inside arrays blank is NaN; ±inf is never produced from a finite input."""
    x = np.array([[1.005, np.nan], [-2.5, 0.285]])
    out = round_excel_array(x, 2)
    assert out.shape == (2, 2)
    assert out[0, 0] == 1.01
    assert math.isnan(out[0, 1])
    assert out[1, 0] == -2.5
    assert out[1, 1] == 0.29
    assert round_excel_array(np.array([-2.5]), 0)[0] == -3.0


# ------------------------------------------------------------------ array == scalar, as a property

def _same(a: float | None, b: float) -> bool:
    if a is None:
        return math.isnan(b)
    return a == b and math.copysign(1, a) == math.copysign(1, b)


@st.composite
def near_ties(draw, max_scaled: int):
    """k/10**d + 0.5/10**d (the exact tie of the d-th place) and its immediate float neighbours."""
    d = draw(st.integers(0, 6))
    k = draw(st.integers(0, max_scaled))
    x = k / 10**d + 0.5 / 10**d
    x = draw(st.sampled_from([x, math.nextafter(x, math.inf), math.nextafter(x, -math.inf),
                              (2 * k + 1) / (2 * 10**d)]))
    if draw(st.booleans()):
        x = -x
    return x, d


@st.composite
def in_worksheet_range(draw):
    """(x, d) with |x| × 10**d < 1e9 — every figure of a real unit: kgce < 10 000 000 at 2 places,
    CO2 < 100 000 t at 4, intensities < 100 000 at 4. Here the array and the scalar must agree exactly."""
    d = draw(st.integers(0, 6))
    bound = 1e9 / 10**d
    x = draw(st.floats(min_value=-bound, max_value=bound, exclude_min=True, exclude_max=True))
    return x, d


@settings(max_examples=500, deadline=None)
@given(st.one_of(in_worksheet_range(), near_ties(max_scaled=10**8)))
def test_array_equals_scalar_in_worksheet_range(case):
    x, d = case
    assert _same(round_excel(x, d), round_excel_array(np.array([x]), d)[0])


@st.composite
def any_finite(draw):
    """Any finite float whose |x| × 10**d is still a finite double (the whole range a worksheet can hold)."""
    d = draw(st.integers(0, 6))
    bound = 1.7e308 / 10**d
    return draw(st.floats(min_value=-bound, max_value=bound)), d


@settings(max_examples=1000, deadline=None)
@example(case=(630363653.555, 2))       # Excel: 630363653.56 (a tie of the 15-digit value, 6.3e10 in cents)
@example(case=(157879046.105, 2))       # = 4629884.05 GJ × 34.1, see test_evaluate_properties
@example(case=(-166284.055615, 5))
@example(case=(12345678.12499997, 2))   # 15 digits: 12345678.1250000 → a tie → …8.13
@example(case=(1e25, 6))                # Excel: 1E+25 unchanged (more than 28 digits at 6 places)
@example(case=(5e-324, 6))
@given(st.one_of(any_finite(), near_ties(max_scaled=10**14)))
def test_array_equals_scalar_for_arbitrary_floats(case):
    """The rule holds for every finite float: round_excel_array is round_excel elementwise, ties included."""
    x, d = case
    assert _same(round_excel(x, d), round_excel_array(np.array([x]), d)[0])


@pytest.mark.parametrize("value, digits, expected", [
    (630363653.555, 2, 630363653.56),
    (157879046.105, 2, 157879046.11),
    (-166284.055615, 5, -166284.05562),
    (12345678.12499997, 2, 12345678.13),     # Excel sees 12345678.1250000 (15 significant digits)
    (293249512.54499996, 2, 293249512.55),   # Excel sees 293249512.545000
])
def test_large_ties_round_like_excel(value, digits, expected):
    """Ties of the 15-digit value round away from zero at any magnitude, in the scalar and the array."""
    assert round_excel(value, digits) == expected
    assert round_excel_array(np.array([value]), digits)[0] == expected


@pytest.mark.parametrize("value, digits", [(1e25, 6), (1e27, 2), (1e300, 2), (-1.7e308, 0), (1e300, 6)])
def test_huge_values_round_to_themselves(value, digits):
    """ROUND of a number with no decimals left to drop is the number itself — never an exception
    (Decimal's default 28-digit context cannot quantize 1e25 to 6 places)."""
    assert round_excel(value, digits) == value
    assert round_excel_array(np.array([value]), digits)[0] == value


@pytest.mark.parametrize("value, digits", [(1e305, 6), (1.7e308, 2), (-1e303, 6)])
def test_array_keeps_finite_values_whose_scaled_value_overflows(value, digits):
    """|x|·10^digits overflowing is no reason to blank x: ROUND gives the value itself."""
    assert round_excel(value, digits) == value
    assert round_excel_array(np.array([value]), digits)[0] == value


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 6).flatmap(lambda d: st.tuples(
    st.just(d),
    st.lists(st.one_of(st.floats(min_value=-1e9 / 10**d, max_value=1e9 / 10**d,
                                 exclude_min=True, exclude_max=True),
                       st.just(float("nan"))), min_size=1, max_size=20))))
def test_array_is_elementwise(case):
    """Many elements at once give the same as one at a time (no cross-talk between units)."""
    d, xs = case
    out = round_excel_array(np.array(xs), d)
    for x, o in zip(xs, out):
        expected = None if math.isnan(x) else round_excel(x, d)
        assert _same(expected, o)


@pytest.mark.parametrize("digits", [0, 2, 4, 6])
def test_ties_round_away_from_zero_at_every_place(digits):
    """(k + 0.5) / 10**d → (k + 1) / 10**d, and the mirror for negatives, for a spread of k."""
    for k in [0, 1, 2, 12, 99, 100, 12345, 99999, 1234567]:
        x = (2 * k + 1) / (2 * 10**digits)
        up = (k + 1) / 10**digits
        assert round_excel(x, digits) == up, x
        assert round_excel(-x, digits) == -up, -x
        assert round_excel_array(np.array([x, -x]), digits).tolist() == [up, -up], x
