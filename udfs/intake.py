"""The plain data that intake works on: what a returned workbook says, and what was found wrong with it.

The reader (`addin/consolidate/read.py`) turns a file into `Extracted`; the checks (`udfs/checks.py`) turn
`Extracted` into findings, clean inputs and recomputed figures. Neither side sees the other's internals.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workbook_templates import Spec


@dataclass(frozen=True)
class Finding:
    """One problem or note about a returned file. `message` is Chinese and says what to do."""

    code: str            # a code of checks.toml, e.g. "E201"
    message: str
    name: str = ""       # the contract name concerned ("" for the whole file)
    cell: str = ""       # where a person finds it, e.g. "能耗数据2022!C9"

    def severity(self, spec: Spec) -> str:
        """错误 | 警告 | 提示, as the spec's checks.toml gives it for the code."""
        return spec.checks[self.code].severity

    def title(self, spec: Spec) -> str:
        """The code's short title in the spec's checks.toml (e.g. 文本型数字)."""
        return spec.checks[self.code].title


@dataclass
class Extracted:
    """A returned workbook read by defined name — plain values, no file handles.

    values:   name → the cell's value as stored: number, text, bool, None for blank. For a formula cell,
              its cached result (None when the file has none).
    errors:   name → the error value a cell holds ("#DIV/0!", "#REF!"…); such names are absent from `values`.
    formulas: names whose cell holds a formula (a derived name whose cell does not was overwritten).
    cached:   names of formula cells that carry a cached result.
    cells:    name → "sheet!A1".
    params:   the factors found on the 参数 sheet: "<row key>.factor" / ".extra" / ".co2" → value.
    """

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    formulas: set[str] = field(default_factory=set)
    cached: set[str] = field(default_factory=set)
    cells: dict[str, str] = field(default_factory=dict)
    params: dict[str, float] = field(default_factory=dict)
