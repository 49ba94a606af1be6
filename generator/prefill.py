"""Carrying a unit's earlier data year forward from last year's report: `jieyue generate --prefill-from`.

The 2024 form asks for 2022 and 2023; the 2023 form asked for 2021 and 2022, so a unit's 2022 figures are already
known. `carried_year(report_year, year)` says which slot of last year's report holds the data year this year's form
asks first (`prev`), and `Prefill` patches each personalised workbook at the zip level (`ooxml.read_zip`, only the
earlier year's data sheet is rewritten): the quantity cells get last year's values as plain numbers — still blue,
unlocked and validated, so the unit checks them and changes what was wrong — and the sheet's note says they were
pre-filled, from which year's report, and that they can be edited. The workbook recalculates on opening (as every
generated workbook does), so its results follow the pre-filled values.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping
from xml.sax.saxutils import escape

from udfs.numbers import as_quantity
from workbook_templates import Spec
from workbook_templates.contract import sheet_names
from workbook_templates.errors import InputError

from .layout import build_plan
from .ooxml import inflate, read_zip, replace_entries

NOTE_CELL = "A2"
"""The data sheet's note (an inline string), where a pre-filled sheet says so."""


def carried_year(report_year: int, year: int) -> str:
    """The slot (`prev` | `cur`) of a report for assessment year `report_year` that holds the data year a form for
    assessment `year` asks first (year − 2): `cur` of last year's report (2023's 2022 column for 2024), `prev` of
    a report of the same year. An `InputError`, in Chinese, for a report that holds no such data year."""
    wanted = year - 2
    for slot, data_year in (("cur", report_year - 1), ("prev", report_year - 2)):
        if data_year == wanted:
            return slot
    raise InputError(f"上年汇总是 {report_year} 年复验的（数据年度 {report_year - 2}、{report_year - 1} 年），不含 {year} 年复验"
                     f"需要预填的 {wanted} 年度数据：请用 {year - 1} 年复验的汇总报告或回收目录")


def carried_values(inputs: Mapping[str, Any], slot: str, spec: Spec) -> dict[str, float]:
    """A unit's quantities of `slot` in last year's report as this year's `prev_*` inputs: only numbers ≥ 0 (a
    blank, a text or a negative figure is left for the unit to fill)."""
    out = {}
    for item in spec.items:
        x = as_quantity(inputs.get(f"{slot}_{item.name}"))
        if x is not None:
            out[f"prev_{item.name}"] = x
    return out


def prefill_note(source: str, report_year: int, data_year: int) -> str:
    return (f"本表已按你单位在{report_year}年复验中报送的{data_year}年度数据预填（{source}），请逐项核对；如有变动或错误，"
            "直接修改蓝色单元格即可。其余自动计算，无需填写。合署办公且不承担能源资源费用的，由负责能源资源费管理的部门提供数据。")


@dataclass
class Prefill:
    """Pre-fills the earlier data year of personalised workbooks of one layout (`spec`, `year`, `preset` and the
    other choices, as `Personaliser` made them) with each unit's values (`values`: unit code → {prev_* name → number})."""

    spec: Spec
    year: int
    preset: str
    values: Mapping[str, Mapping[str, float]]
    note: str
    choices: Mapping[str, Any] | None = None

    def __post_init__(self):
        plan = build_plan(self.spec, self.year, self.preset, **(self.choices or {}))
        title = sheet_names(self.year)["prev"]
        index = [s.title for s in plan.sheets].index(title)
        self.entry = f"xl/worksheets/sheet{index + 1}.xml"
        where = plan.named()
        self.cells = {name: ref for name, (sheet, ref) in where.items() if sheet.title == title}

    def workbook(self, data: bytes, code: str) -> tuple[bytes, int]:
        """The workbook `data` of unit `code` with its earlier year pre-filled, and how many cells were filled
        (0: the unit is not in last year's report, the workbook is returned unchanged)."""
        values = self.values.get(code)
        if not values:
            return data, 0
        entries = read_zip(data)
        k = next(i for i, e in enumerate(entries) if e.name == self.entry)
        xml, filled = fill_sheet(inflate(entries[k]).decode("utf-8"), {self.cells[n]: v for n, v in values.items()
                                                                       if n in self.cells}, self.note)
        return replace_entries(entries, {k: xml.encode("utf-8")}), filled


_NOTE = re.compile(r'(<c r="%s"[^>]*t="inlineStr"[^>]*><is><t[^>]*>)(.*?)(</t></is></c>)' % NOTE_CELL, re.S)


def fill_sheet(xml: str, values: Mapping[str, float], note: str) -> tuple[str, int]:
    """The sheet XML with each empty input cell of `values` (cell → number) holding its number, and the note."""
    filled = 0
    for ref, value in values.items():
        pattern = re.compile(r'<c r="%s"((?: [a-z]+="[^"]*")*?)\s*/>' % ref)
        m = pattern.search(xml)
        if m is None:
            raise ValueError(f"单元格 {ref} 不是空白的填报单元格：无法预填")
        attrs = re.sub(r'\st="[^"]*"', "", m.group(1))
        xml = xml[:m.start()] + f'<c r="{ref}"{attrs}><v>{float(value)!r}</v></c>' + xml[m.end():]
        filled += 1
    xml, n = _NOTE.subn(lambda m: m.group(1) + escape(note) + m.group(3), xml, count=1)
    if n != 1:
        raise ValueError("找不到数据表的说明单元格：无法标明预填")
    return xml, filled
