"""F128: a defined name moved off the cell the template put it in, in a file that has no saved results.

What Excel shows is what the workbook's formulas compute from their cells; what this reader takes is the cell a
*name* points at. In a file saved by Excel, WPS or LibreOffice the two are tied together by the saved results:
point `cur_electricity_kwh` at another cell and the saved results disagree with the recomputation (W302). A file
with no saved results at all (written by a script, I304) has nothing to compare with — so there every name must
sit exactly where the template puts it, or the file is refused rather than read as something Excel would not show.

Where the template puts a name is the generator's layout (`generator.layout.build_plan`: plain data, no openpyxl,
a few ms), for the year, preset and choices the file records — built once per process for each, here in the
checking stage: the reader (`read/`) stays independent of the generator, and the spec is the only source of
both. Recording the cells in the file's own `_meta` was the alternative; it was not taken because whoever moves a
name can rewrite that record too.
"""
from __future__ import annotations

from typing import Any

from udfs.intake import Extracted, Finding
from workbook_templates import Spec

from .read.rejected import AGAIN

_EXPECTED: dict[tuple[str, str], dict[str, str]] = {}


def expected_cells(spec: Spec, choice: tuple[Any, ...]) -> dict[str, str]:
    """Contract name → "sheet!C9" as the template of `choice` (year, preset[, Choices]) lays it out."""
    key = (spec.digest, repr(choice))
    cells = _EXPECTED.get(key)
    if cells is None:
        from generator.layout import build_plan          # the checking stage only: the reader never needs it
        year, preset, *rest = choice
        plan = build_plan(spec, year, preset, **(rest[0].kwargs() if rest else {}))
        cells = {name: f"{sheet.title}!{ref}" for name, (sheet, ref) in plan.named().items()}
        _EXPECTED[key] = cells
    return cells


def check_placement(ex: Extracted | None, choice: tuple[Any, ...] | Finding, spec: Spec) -> Finding | None:
    """F128 when a file without any saved result has a contract name pointing elsewhere than the template
    puts it (None when it has saved results: the integrity checks W301/W302 then tell)."""
    if ex is None or ex.cached or isinstance(choice, Finding):
        return None
    expected = expected_cells(spec, choice)
    moved = [(n, cell, expected[n]) for n, cell in ex.cells.items() if n in expected and cell != expected[n]]
    if not moved:
        return None
    name, found, want = moved[0]
    more = f"等 {len(moved)} 个名称" if len(moved) > 1 else ""
    return Finding("F128", f"文件没有保存计算结果（不是在 Excel/WPS 中保存的），而名称 {name}{more}指向的单元格与下发的"
                           f"工作簿不同（{found}，应为 {want}）：按名称读到的数可能不是表格中显示的数，不予采用；{AGAIN}",
                   name, found)
