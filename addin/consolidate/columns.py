"""The summary's columns and styles, as data both the pre-render stage and the summary writer read.

`summary_columns(spec)` lists the 汇总 sheet's columns in order (unit, status, both data years, decline,
scores, file), each with its contract name, Chinese label, number format and width; `figure_columns` the
block of them that comes from a file's figures. `workbook_formats` creates the summary's formats in a fixed
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

RED = {"bg_color": "#FFC7CE", "font_color": "#9C0006"}
YELLOW = {"bg_color": "#FFEB9C", "font_color": "#9C5700"}


@dataclass(frozen=True)
class Column:
    key: str            # row 2 of 汇总: the contract name (or the report's key for status, counts and file)
    label: str          # row 1: the meaning, in Chinese
    source: str         # where a unit's value is: "unit" (top level of the unit), "inputs" or "results"
    fmt: str = "text"   # a key of the workbook's formats
    width: float = 14


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

    def named(name: str, source: str) -> Column:
        n = by_name[name]
        label = f"{n.meaning}（{n.unit}）" if n.unit and n.unit != "是/否" else n.meaning
        kind = _kind(name, n.unit, spec)
        return Column(name, label, source, kind, 12 if kind == "yesno" else 14)

    widths = {"unit_name": 30, "unit_code": 22, "unit_level": 12, "unit_region": 12}
    cols = [Column(k, by_name[k].meaning, "unit", "text", w) for k, w in widths.items()]
    cols += [Column("state", "状态", "unit", "text", 20), Column("errors", "错误数", "unit", "count", 8),
             Column("warnings", "警告数", "unit", "count", 8)]
    slotted = tuple(f"{s}_" for s in SLOTS)
    cols += [named(n.name, "inputs" if n.kind == "input" else "results") for n in names
             if n.kind in ("input", "derived") and n.name.startswith(slotted)]
    cols += [named(n.name, "results") for n in names if n.kind == "decline"]
    cols += [named(u.score_name, "results") for u in spec.units]
    cols += [named(k, "results") for k in ("self_total", "self_missing_count", "self_pass")]
    cols.append(Column("file", "文件", "unit", "text", 40))
    return cols


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
        figures = [i for i, c in enumerate(cols) if c.source != "unit"]
        if figures != list(range(figures[0], figures[-1] + 1)):
            raise RuntimeError("汇总表的数据列应连续：这是程序错误，请报告")
        return tuple(cols[i] for i in figures)
    return _per_spec("figure columns", spec, make)
