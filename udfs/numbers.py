"""Numbers the way a worksheet sees them.

A value counts as a number only if the worksheet's ISNUMBER would say so: text ("2000万", "1,234"), booleans,
blanks, NaN and infinities are *blank* here, never an exception. Every derived figure is rounded with Excel's
ROUND (half away from zero on the 15-significant-digit decimal value), never Python's round(), so that
Excel, WPS, LibreOffice and this code agree on the last displayed digit.

Blank is `None` in scalar results and NaN inside arrays; `from_array` turns NaN back into None.
`rounded_count` takes a ratio of a number of units (摘牌, 抽查) in exact decimal arithmetic.
"""
from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Context, Decimal
from fractions import Fraction
from numbers import Real
from typing import Any, Iterable, Sequence

import numpy as np

Number = float | None

# Enough digits to quantize any double (up to ~1.8e308) to 10 decimals without InvalidOperation.
_WIDE = Context(prec=400)


def as_number(value: Any) -> Number:
    """`value` as a float if a worksheet would treat it as a number, else None (blank)."""
    if type(value) is float:            # the common case, without the slower checks against abstract types
        return value if math.isfinite(value) else None
    if isinstance(value, bool) or not isinstance(value, (Real, Decimal, np.number)) or isinstance(value, np.bool_):
        return None
    try:
        x = float(value)
    except (OverflowError, ValueError):   # an int beyond float range, a signalling Decimal
        return None
    return x if math.isfinite(x) else None


def as_quantity(value: Any) -> Number:
    """A quantity (energy, area, people …): a number ≥ 0, else None. A negative quantity is invalid, not a refund."""
    x = as_number(value)
    return x if x is not None and x >= 0 else None


def round_excel(value: Any, digits: int) -> Number:
    """Excel's ROUND: 1.005→1.01, 2.675→2.68, −2.5→−3 (at 0 digits). Blank for non-numbers."""
    x = as_number(value)
    if x is None:
        return None
    d = Decimal(f"{x:.15g}").quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP, context=_WIDE)
    return float(d) + 0.0   # + 0.0 turns −0.0 into 0.0, as a worksheet shows it


def safe_div(numerator: Any, denominator: Any) -> Number:
    """numerator ÷ denominator, or None when either is blank/non-numeric or the denominator is 0."""
    n, d = as_number(numerator), as_number(denominator)
    if n is None or d is None or d == 0:
        return None
    q = n / d
    return q if math.isfinite(q) else None   # 1e308 ÷ 1e-10 overflows: blank, like every unusable figure


# ---------------------------------------------------------------- arrays (NaN = blank)

def to_array(values: Iterable[Any] | Any, quantity: bool = False) -> np.ndarray:
    """A float array with NaN for every value `as_number` (or `as_quantity`) would call blank."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        out = np.where(np.isfinite(values), values, np.nan)
    else:
        if not isinstance(values, (list, tuple, np.ndarray)):
            values = list(values) if isinstance(values, Iterable) and not isinstance(values, (str, bytes)) else [values]
        out = _plain_floats(values)
        if out is None:
            # Exact type checks first: plain ints and floats skip the general coercion.
            out = np.fromiter((v if type(v) is float else _slow_number(v) for v in values),
                              dtype=float, count=len(values))
        out[~np.isfinite(out)] = np.nan
    if quantity:
        out = np.where(out >= 0, out, np.nan)
    return out


_PLAIN = {int, float, type(None)}


def _plain_floats(values: Sequence[Any]) -> np.ndarray | None:
    """Fast path: a column of only int, float and None converts in one numpy call (None → NaN)."""
    if not set(map(type, values)) <= _PLAIN:
        return None
    try:
        return np.array(values, dtype=float)
    except OverflowError:
        return None


def _slow_number(v: Any) -> float:
    x = as_number(v)
    return np.nan if x is None else x


def from_array(values: np.ndarray) -> list[Number]:
    """NaN → None, everything else a plain float."""
    return [None if x != x else x for x in values.tolist()]


def round_excel_array(values: np.ndarray, digits: int) -> np.ndarray:
    """`round_excel` over an array, exact: values near a .5 tie go through the Decimal path.

    "Near" grows with magnitude because Excel first rounds to 15 significant digits, which can move a value
    onto a tie (…19.49 → …19.5) once |x|·10^digits has few fractional digits left. ±inf and NaN are blank.
    """
    x = np.asarray(values, dtype=float)
    scale = 10.0 ** digits
    with np.errstate(all="ignore"):
        v = np.abs(x) * scale
        out = np.copysign(np.floor(v + 0.5) / scale, x)
        tie = np.abs((v - np.floor(v)) - 0.5) <= np.maximum(1e-6, v * 1e-14)
    tie |= ~np.isfinite(v)      # |x|·10^digits overflowed: the Decimal path rounds x itself
    tie &= np.isfinite(x)
    for i in np.flatnonzero(tie):
        out.flat[i] = round_excel(float(x.flat[i]), digits)
    out[~np.isfinite(out)] = np.nan
    return out + 0.0


def div_array(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Element-wise `safe_div`: NaN where either side is blank or the denominator is 0."""
    with np.errstate(all="ignore"):
        q = np.where(denominator != 0, numerator / np.where(denominator != 0, denominator, 1.0), np.nan)
    return np.where(np.isfinite(q), q, np.nan)


def sum_or_blank(columns: Sequence[np.ndarray]) -> np.ndarray:
    """Worksheet SUM over several figures, except that all-blank stays blank (not a misleading 0)."""
    stacked = np.vstack(columns)
    total = np.nansum(stacked, axis=0)
    return np.where(np.all(np.isnan(stacked), axis=0), np.nan, total)


ROUNDING_TEXT = {"ceil": "向上取整", "round": "四舍五入", "floor": "向下取整"}
"""The spec's rounding options of a count (assessment.toml [elimination] and [spot_check]) as users read them."""


def rounded_count(n: int, ratio: float, rounding: str) -> int:
    """ratio × n as a count, rounded as `rounding` says (ceil | floor | round: half up): ceil(5 % × 931) = 47.

    Exact decimal arithmetic: 7 % × 100 is 7, not 7.000000000000001 (which ceil would push to 8)."""
    exact = Fraction(str(ratio)) * n
    if rounding == "ceil":
        return math.ceil(exact)
    if rounding == "floor":
        return math.floor(exact)
    return math.floor(exact + Fraction(1, 2))   # half up


def plain_value(name: str, x: float) -> Any:
    """One array element as the contract's plain value (None, bool, int or float)."""
    if x != x:
        return None
    if name.startswith("ok_") or name == "self_pass":
        return bool(x)
    if name == "self_missing_count":
        return int(x)
    return float(x)
