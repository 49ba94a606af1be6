"""The formula shapes of the fill-in workbook, each mirroring one rule of `udfs/`.

Only Excel-2007 functions (the whitelist below), no volatile functions, no whole-column references, and
every division guarded by an explicit test rather than IFERROR (which would also hide a broken reference).
Each builder returns the formula text without the leading "=".
"""
from __future__ import annotations

from typing import Sequence

ALLOWED_FUNCTIONS = frozenset({
    "IF", "AND", "OR", "NOT", "ISNUMBER", "ISBLANK", "N", "ROUND", "SUM", "COUNT", "COUNTIF", "ABS",
    "LEN", "SUBSTITUTE", "DATE",     # 单位信息: the phone number and the date a unit fills in
})


def text(s: str) -> str:
    """A string literal."""
    return '"' + s.replace('"', '""') + '"'


def clean_quantity(raw: str) -> str:
    """udfs.as_quantity: the number if it is one and ≥ 0, else blank."""
    return f'IF(ISNUMBER({raw}),IF({raw}>=0,{raw},""),"")'


def product_rounded(clean: str, factors: Sequence[str], digits: int) -> str:
    """ROUND(q × f1 × f2 …, digits), blank when q is blank (kgce and CO2 of one row)."""
    return f'IF(ISNUMBER({clean}),ROUND({"*".join([clean, *factors])},{digits}),"")'


def sum_or_blank(cells: Sequence[str], digits: int | None = None) -> str:
    """udfs.numbers.sum_or_blank: SUM, but blank (not 0) when every cell is blank."""
    args = ",".join(cells)
    total = f"SUM({args})" if digits is None else f"ROUND(SUM({args}),{digits})"
    return f'IF(COUNT({args})=0,"",{total})'


def minus_or_blank(total: str, part: str, digits: int) -> str:
    """total − part (a blank part counts as 0), blank when the total is blank (building energy)."""
    return f'IF(ISNUMBER({total}),ROUND({total}-N({part}),{digits}),"")'


def ratio(numerators: Sequence[str], denominator: str, digits: int, scale: float = 1) -> str:
    """udfs intensity: Σ numerators × scale ÷ denominator, ROUNDed; blank for a blank or zero denominator."""
    args = ",".join(numerators)
    top = f"SUM({args})" if scale == 1 else f"SUM({args})*{scale:g}"
    return (f'IF(COUNT({args})=0,"",IF(ISNUMBER({denominator}),'
            f'IF({denominator}<>0,ROUND({top}/{denominator},{digits}),""),""))')


def change_pct(prev: str, cur: str, digits: int) -> str:
    """udfs.change_pct: ROUND((cur − prev) ÷ prev × 100), blank when either is blank or prev is 0."""
    return (f'IF(AND(ISNUMBER({prev}),ISNUMBER({cur})),'
            f'IF({prev}<>0,ROUND(({cur}-{prev})/{prev}*100,{digits}),""),"")')


def at_most(value: str, limit: str) -> str:
    """TRUE/FALSE value ≤ limit, blank when value is blank (the decline check on rounded figures)."""
    return f'IF(ISNUMBER({value}),{value}<={limit},"")'


def counted_score(score: str, legal_ranges: Sequence[tuple[str | None, str]], selector: str | None = None) -> str:
    """udfs.counted_score: the score if it is one of the legal values, else blank.

    `legal_ranges` is [(selector value, range)], the last with selector None for "no path chosen". COUNTIF
    matches numbers exactly, so 1.004 does not count as 1; ISNUMBER first, because COUNTIF would match the
    text "3" against the number 3.
    """
    def count(rng: str) -> str:
        return f"COUNTIF({rng},{score})>0"
    test = count(legal_ranges[-1][1])
    for when, rng in reversed(legal_ranges[:-1]):
        test = f"IF({selector}={text(when)},{count(rng)},{test})"
    return f'IF(ISNUMBER({score}),IF({test},{score},""),"")'
