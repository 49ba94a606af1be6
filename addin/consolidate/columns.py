"""The summary's columns and styles, as data both the pre-render stage and the summary writer read.

`summary_columns(spec)` lists the 汇总 sheet's columns in order (unit, status, fill date, both data years,
decline, scores, file), each with its contract name, Chinese label, number format and width; `figure_columns`
the block of them that comes from a file's figures. A label names the data years as the spec's meanings do
(「上一数据年度（复验年度−2）」); `year_label` puts the run's real years in (「2021年度」). Columns marked `detail`
(each energy item's 折标准煤 and 碳排放量, and the figures only the 口径 switches use) are grouped and folded in the
summary: on screen one click shows them, on paper they are not printed. `workbook_formats` creates the summary's formats in a fixed
order, so `style_indices` — the style number of each — is the same in every process, and cells rendered in a
worker name the styles the summary workbook defines.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Callable

import xlsxwriter

from generator.formats import number_formats
from workbook_templates import SLOTS, Spec, contract_names
from workbook_templates.names import SLOT_MEANING

RED = {"bg_color": "#FFC7CE", "font_color": "#9C0006"}
YELLOW = {"bg_color": "#FFEB9C", "font_color": "#9C5700"}


@dataclass(frozen=True)
class Column:
    key: str            # row 1 of 汇总 (hidden): the contract name (or the report's key for status, counts, file)
    label: str          # row 2: the meaning, in Chinese (`year_label` names the data years)
    source: str         # where a unit's value is: "unit" (top level of the unit), "meta", "inputs" or "results"
    fmt: str = "text"   # a key of the workbook's formats
    width: float = 14
    detail: bool = False   # folded (grouped and hidden) in 汇总, and so not printed


WIDTHS = {"quantity": 14, "kgce": 14, "co2_t": 12, "intensity": 10, "change": 9, "yesno": 7, "count": 9,
          "score": 8}
"""Column width by number format: room for the largest figures of a big unit (「12,345,678.00」) and a header
that wraps in a few lines."""

TOTALS = ("total_kgce", "co2_t", "building_kgce")
"""The per-year figures shown unfolded besides the inputs and the intensities."""


def _kind(name: str, unit: str, spec: Spec) -> str:
    """Which number format a contract name's column takes."""
    bare = name.split("_", 1)[1] if name.startswith(tuple(f"{s}_" for s in SLOTS)) else name
    if unit == "是/否":
        return "yesno"
    if name.startswith(("chg_", "target_")):
        return "change"
    if bare in {i.key for i in spec.intensities}:
        return "intensity"
    if name.endswith("_kgce"):
        return "kgce"
    if name.endswith("co2_t"):
        return "co2_t"
    if name == "self_missing_count" or unit in ("人", "辆"):
        return "count"
    if name.startswith("self_"):
        return "score"
    return "quantity"


def summary_columns(spec: Spec) -> list[Column]:
    """The columns of 汇总, in order: unit, status, both data years (inputs then figures), decline, scores, file."""
    names = contract_names(spec)
    by_name = {n.name: n for n in names}

    intensities = {i.key for i in spec.intensities}
    slotted = tuple(f"{s}_" for s in SLOTS)

    def named(name: str, source: str) -> Column:
        n = by_name[name]
        label = f"{n.meaning}（{n.unit}）" if n.unit and n.unit != "是/否" else n.meaning
        kind = _kind(name, n.unit, spec)
        bare = name.split("_", 1)[1]
        detail = n.kind == "derived" and name.startswith(slotted) and bare not in TOTALS and bare not in intensities
        return Column(name, label, source, kind, WIDTHS.get(kind, 14), detail)

    widths = {"unit_name": 24, "unit_code": 20, "unit_level": 10, "unit_region": 12}
    labels = {"unit_level": "单位层级"}         # the choices are in every cell below
    cols = [Column(k, labels.get(k, by_name[k].meaning), "unit", "wrap", w) for k, w in widths.items()]
    cols += [Column("state", "状态", "unit", "wrap", 12), Column("errors", "错误数", "unit", "count", 7),
             Column("warnings", "警告数", "unit", "count", 7),
             Column("fill_date", by_name["fill_date"].meaning, "meta", "text", 11)]
    cols += [named(n.name, "inputs" if n.kind == "input" else "results") for n in names
             if n.kind in ("input", "derived") and n.name.startswith(slotted)]
    cols += [named(n.name, "results") for n in names if n.kind == "decline"]
    cols += [named(u.score_name, "results") for u in spec.units]
    cols += [named(k, "results") for k in ("self_total", "self_missing_count", "self_pass")]
    cols.append(Column("file", "文件", "unit", "wrap", 30))
    return cols


def year_label(label: str, year: int) -> str:
    """A label as the summary of assessment year `year` shows it: the data years by number (「2021年度 建筑面积」
    for 「上一数据年度（复验年度−2） 建筑面积」, 「2022年较2021年」 for 「本年较上年」)."""
    for slot, back in (("prev", 2), ("cur", 1)):
        prefix = SLOT_MEANING[slot]
        if label.startswith(prefix):
            return f"{year - back}年度" + label[len(prefix):]
    return label.replace("本年较上年", f"{year - 1}年较{year - 2}年")


def short_label(meaning: str) -> str:
    return meaning.split("（", 1)[0]


def workbook_formats(wb: xlsxwriter.Workbook, spec: Spec) -> tuple[dict[str, Any], dict[str, int]]:
    """The workbook's formats by name, each given its style index (xf) in this fixed order — so that cells
    rendered elsewhere (`unit_cells`, in the worker that read the file) can name the same styles."""
    add = wb.add_format
    f = {k: add({"num_format": v, "valign": "top"}) for k, v in number_formats(spec).items()}
    f["text"] = add({"valign": "top"})
    f["wrap"] = add({"valign": "top", "text_wrap": True})
    f["yesno"] = add({"align": "center", "valign": "top"})
    f["head"] = add({"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#DDEBF7",
                     "border": 1, "border_color": "#9BC2E6"})
    f["name"] = add({"font_size": 9, "font_color": "#595959", "bg_color": "#F2F2F2", "border": 1,
                     "border_color": "#BFBFBF"})
    f["title"] = add({"bold": True, "font_size": 14})
    f["note"] = add({"italic": True, "font_color": "#595959", "text_wrap": True, "valign": "top"})
    f["bold"] = add({"bold": True})
    f["total"] = add({"bold": True, "top": 1})
    for k, v in number_formats(spec).items():
        f[f"total_{k}"] = add({"bold": True, "top": 1, "num_format": v})
    f["red"] = add(RED)
    f["yellow"] = add(YELLOW)
    # Added later: new formats go last, so the numbers above (kept in ledgers' pre-rendered cells) never move.
    f["head_small"] = add({"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#DDEBF7", "border": 1,
                           "border_color": "#9BC2E6", "font_size": 9})
    f["bold_wrap"] = add({"bold": True, "text_wrap": True, "valign": "top"})
    # XlsxWriter numbers a format the first time a cell uses it (formats that look the same share a number);
    # asking now fixes the numbers in this order.
    return f, {k: fmt._get_xf_index() for k, fmt in f.items()}


_BY_SPEC: dict[tuple[str, str], Any] = {}


def _per_spec(kind: str, spec: Spec, make: Callable[[], Any]) -> Any:
    """`make()` once per spec (by its digest: a Spec is not hashable)."""
    key = (kind, spec.digest)
    if key not in _BY_SPEC:
        _BY_SPEC[key] = make()
    return _BY_SPEC[key]


def style_indices(spec: Spec) -> dict[str, int]:
    """Format name → style index in the summary workbook (the same in every process: `_formats` fixes them)."""
    def make() -> dict[str, int]:
        wb = xlsxwriter.Workbook(io.BytesIO())
        try:
            return workbook_formats(wb, spec)[1]
        finally:
            wb.fileclosed = True        # never written: nothing to close
    return _per_spec("styles", spec, make)


def figure_columns(spec: Spec) -> tuple[Column, ...]:
    """The columns of 汇总 that come from the file's figures: one block between the unit's columns and `file`."""
    def make() -> tuple[Column, ...]:
        cols = summary_columns(spec)
        figures = [i for i, c in enumerate(cols) if c.source in ("inputs", "results")]
        if figures != list(range(figures[0], figures[-1] + 1)):
            raise RuntimeError("汇总表的数据列应连续：这是程序错误，请报告")
        return tuple(cols[i] for i in figures)
    return _per_spec("figure columns", spec, make)
