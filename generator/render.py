"""Writing a `WorkbookPlan` to .xlsx with openpyxl.

openpyxl is the one writer that sets workbook-structure protection; it cannot store a formula's cached
result, so those are written into the sheet XML afterwards (`_write_cached_values`, at zip level through
`ooxml.rewrite_zip`): a freshly generated file then shows the blank state (status texts, blanks) even where
nothing recalculates it.
"""
from __future__ import annotations

import io
import re
from copy import copy
from functools import lru_cache
from typing import Any, Mapping
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils.cell import column_index_from_string, get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.header_footer import _HeaderFooterPart
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.pagebreak import Break

from workbook_templates.contract import SIGNATURE_NAME, UNIT_NAMES

from .ooxml import rewrite_zip
from .plan import Cell, SheetPlan, Validation, WorkbookPlan
from .print_layout import (DEFAULT_FONT_SIZE, DEFAULT_WIDTH, HEAD_FONT_SIZE, PAGE_MARGINS, ROW_PADDING, Pagination,
                           line_height, page_height, paginate, row_height, running_head)

PROTECTION_PASSWORD = "jieyue"
"""A guard against accidental edits, not security: the legacy sheet-protection hash is trivially broken."""

_THIN = Side(style="thin", color="A6A6A6")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_INPUT_FILL = PatternFill("solid", fgColor="DDEBF7")


def _style(font=None, fill=None, border=_BOX, wrap=False, h=None, indent=0, locked=True, fmt=None) -> dict:
    return {"font": font or Font(name="宋体", size=11), "fill": fill or PatternFill(), "border": border,
            "alignment": Alignment(wrap_text=wrap, horizontal=h, vertical="center", indent=indent),
            "protection": Protection(locked=locked), "number_format": fmt}


STYLES: dict[str, dict] = {
    "title": _style(Font(name="黑体", size=14, bold=True), border=Border(), h="center"),
    "section": _style(Font(name="黑体", size=12, bold=True), border=Border()),
    "header": _style(Font(name="宋体", size=11, bold=True), PatternFill("solid", fgColor="D9D9D9"), wrap=True,
                     h="center"),
    "group": _style(Font(name="宋体", size=11, bold=True), PatternFill("solid", fgColor="E2EFDA")),
    "subgroup": _style(Font(name="宋体", size=11, bold=True), PatternFill("solid", fgColor="F2F2F2")),
    "label": _style(),
    "label_sub": _style(indent=2),
    "label_total": _style(Font(name="宋体", size=11, bold=True)),
    "unit": _style(h="center"),
    "wrap": _style(wrap=True),
    "note": _style(Font(name="宋体", size=10, color="595959"), border=Border(), wrap=True),
    "unverified": _style(fill=PatternFill("solid", fgColor="FFF2CC"), wrap=True),
    "legend_input": _style(fill=_INPUT_FILL),                 # the colour legend: looks like an input, is locked
    "input_number": _style(fill=_INPUT_FILL, locked=False, fmt="#,##0.####"),
    "input_text": _style(fill=_INPUT_FILL, locked=False, wrap=True, fmt="@"),
    "input_choice": _style(fill=_INPUT_FILL, locked=False, h="center"),
    "info_locked": _style(wrap=True, fmt="@"),
    "factor": _style(h="right"),
    "factor_extra": _style(h="right", fmt='[=1]"";General'),     # 附加系数 1 shows blank, as in the official table
    "calc": _style(),
    "calc_sub": _style(Font(name="宋体", size=11, italic=True, color="808080")),
    "calc_total": _style(Font(name="宋体", size=11, bold=True)),
    "calc_result": _style(Font(name="宋体", size=11, bold=True)),
    "status": _style(Font(name="宋体", size=10, color="C00000"), wrap=True),
    "hidden": _style(border=Border()),
    "missing": _style(fill=PatternFill("solid", fgColor="FFC7CE")),
    "warn": _style(fill=PatternFill("solid", fgColor="FFEB9C")),
    "sign": _style(border=Border()),                        # a signature line: room to write, no box
    "total_wrap": _style(Font(name="宋体", size=11, bold=True), wrap=True),   # a total that may say what is missing
}

CONDITIONAL = {
    "missing": {"fill": PatternFill("solid", bgColor="FFC7CE")},
    "warn": {"fill": PatternFill("solid", bgColor="FFEB9C")},
    "bad": {"fill": PatternFill("solid", bgColor="FFC7CE"), "font": Font(color="9C0006", bold=True)},
}


def render_workbook(plan: WorkbookPlan, unit: Mapping[str, Any] | None = None) -> bytes:
    """The workbook as .xlsx bytes. With `unit`, the 单位信息 cells it names are filled in and locked, and its
    `signature` (if it has one) is written in `_meta`."""
    wb = Workbook()
    styles = _register_styles(wb)
    for sheet_plan in plan.sheets:
        _sheet(wb, sheet_plan, unit or {}, styles)
    for name, (sheet, ref) in plan.named().items():
        wb.defined_names[name] = DefinedName(name, attr_text=sheet.ref(ref))
    for sheet in plan.sheets:
        ws = wb[sheet.title]
        for name, ref in sheet.local_names().items():
            ws.defined_names[name] = DefinedName(name, attr_text=sheet.ref(ref))
    wb.security = WorkbookProtection(workbookPassword=PROTECTION_PASSWORD, lockStructure=True)
    wb.calculation.fullCalcOnLoad = True      # Excel and WPS recalculate everything on open
    wb.active = 0
    buffer = io.BytesIO()
    wb.save(buffer)
    return _write_cached_values(buffer.getvalue(), plan)


def _register_styles(wb: Workbook) -> dict[str, StyleArray]:
    """Give every named style its style id up front, in a fixed order, on a scratch sheet that is then
    removed: a personalised file (locked unit cells) then differs from the blank template only in those
    cells, not in style ids shifted by first use. Returns each style's registered ids, which cells then copy:
    setting font, fill, border … one by one hashes every style object again, per cell (most of the time of a
    review pack with hundreds of scorecards)."""
    scratch = wb.active
    registered = {}
    for row, (key, style) in enumerate(STYLES.items(), start=1):
        cell = scratch.cell(row, 1)
        for attr, v in style.items():
            if v is not None:
                setattr(cell, attr, v)
        cell.style_id           # registers the combination (cellXfs entry) now, not at first use on save
        registered[key] = copy(cell._style)
    wb.remove(scratch)
    return registered


def _sheet(wb: Workbook, plan: SheetPlan, unit: Mapping[str, Any], styles: Mapping[str, StyleArray]) -> None:
    ws = wb.create_sheet(plan.title)
    validations: dict[Validation, list[str]] = {}
    for ref, cell in plan.cells.items():
        value, style_name = _shown(cell, unit)
        target = ws[ref]
        target.value = "=" + cell.formula if cell.formula else value
        target._style = copy(styles[style_name])
        if cell.number_format:
            target.number_format = cell.number_format
        if cell.link:
            target.hyperlink = Hyperlink(ref=ref, location=cell.link)
        elif cell.url:
            target.hyperlink = cell.url         # a relative path: opens the file beside the workbook
        if cell.validation and style_name != "info_locked":
            validations.setdefault(cell.validation, []).append(ref)
    for v, refs in validations.items():
        dv = DataValidation(type=v.type, operator=v.operator, formula1=v.formula1, formula2=v.formula2,
                            allow_blank=v.allow_blank,
                            showErrorMessage=True, errorStyle="stop", errorTitle="输入有误", error=v.error,
                            showInputMessage=v.prompt is not None, promptTitle="填写说明" if v.prompt else None,
                            prompt=v.prompt)
        dv.add(" ".join(refs))
        ws.add_data_validation(dv)
    for c in plan.conditionals:
        ws.conditional_formatting.add(c.cells, FormulaRule(formula=[c.formula], stopIfTrue=False,
                                                           **CONDITIONAL[c.style]))
    for rng in plan.merges:
        ws.merge_cells(rng)
    for col, width in plan.widths.items():
        ws.column_dimensions[col].width = width
    for col in plan.hidden_columns:
        ws.column_dimensions[col].hidden = True
    heights = row_heights(plan, unit)
    if plan.sections:
        heights = printed_heights(row_font_sizes(plan), heights)
    for row, height in heights.items():
        ws.row_dimensions[row].height = height
    ws.freeze_panes = plan.freeze
    ws.sheet_state = plan.state
    ws.protection.sheet = True
    ws.protection.password = PROTECTION_PASSWORD
    ws.protection.selectLockedCells = False
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if plan.landscape else "portrait"
    pages = pagination(plan, heights, printed_width(plan))
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1 if pages.one_page else 0   # 0: as many pages as needed, manual breaks kept
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    for row in pages.breaks:
        ws.row_breaks.append(Break(id=row - 1))
    ws.page_margins = PageMargins(**PAGE_MARGINS)
    if plan.print_title_rows:
        ws.print_title_rows = plan.print_title_rows
    if plan.header:
        for part, sections in running_head(unit.get("unit_name", plan.header)).items():
            item = ws.oddHeader if part == "header" else ws.oddFooter
            for section, text in sections.items():
                setattr(item, section, _HeaderFooterPart(text, size=HEAD_FONT_SIZE))


_WRAPPED = {key: float(style["font"].sz or 11) for key, style in STYLES.items() if style["alignment"].wrap_text}
"""Styles that wrap their text → their font size: the rows holding them get a height that fits the text."""

_LITERAL = re.compile(r'"((?:[^"]|"")*)"')


def _shown(cell: Cell, unit: Mapping[str, Any]) -> tuple[Any, str]:
    """The value a cell is written with and its style: with `unit`, its 单位信息 cells are the unit's, locked."""
    if cell.name in UNIT_NAMES and cell.name in unit:
        return unit[cell.name], "info_locked"
    if cell.name == SIGNATURE_NAME and cell.name in unit:
        return unit[cell.name], cell.style      # the unit's signature (`personalise.Personaliser.values`), in _meta
    if unit and cell.personalised is not None:
        return cell.personalised, cell.style
    return cell.value, cell.style


def row_heights(plan: SheetPlan, unit: Mapping[str, Any]) -> dict[int, float]:
    """Each row's explicit height (points) as the sheet is written (for `unit`, as in `render_workbook`): enough
    for the wrapped texts it may show, and at least what the plan asks for."""
    wrapped: dict[int, dict[str, tuple[str, float]]] = {}     # row → cell → (text it may show, font size)
    for ref, cell in plan.cells.items():
        text = wrapped_text(cell, unit)
        if text:
            col = ref.rstrip("0123456789")
            wrapped.setdefault(int(ref[len(col):]), {})[col] = text
    return fitted_heights(plan, wrapped)


def font_size(style: str) -> float:
    """Points of the font of `style`."""
    return float(STYLES[style]["font"].sz or DEFAULT_FONT_SIZE)


def row_font_sizes(plan: SheetPlan) -> dict[int, float]:
    """Row → the largest font size of its cells, for each row holding a cell (`printed_heights`)."""
    sizes: dict[int, float] = {}
    for ref, cell in plan.cells.items():
        row = int(ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
        sizes[row] = max(sizes.get(row, 0.0), font_size(cell.style))
    return sizes


def printed_heights(sizes: Mapping[int, float], heights: Mapping[int, float]) -> dict[int, float]:
    """`heights` (`row_heights`) with every other row up to the last one holding a cell given the height of one line
    of its largest font (`sizes`, `row_font_sizes`; an empty row: of 11 pt): a sheet paginated by its sections
    (`print_layout.paginate`) then breaks into pages as estimated, alike in Excel, WPS and LibreOffice (each sizes
    a row without a height by its own font metrics)."""
    single = {row: round(line_height(sizes.get(row, DEFAULT_FONT_SIZE)) + ROW_PADDING, 1)
              for row in range(1, max(sizes) + 1)}         # an empty row in between too
    return {**single, **heights}


def wrapped_text(cell: Cell, unit: Mapping[str, Any]) -> tuple[str, float] | None:
    """The longest text a cell that wraps may show, and its font size (None: it does not wrap, or shows nothing):
    what its row's height must fit (`row_heights`)."""
    if cell.style in _WRAPPED and cell.name not in UNIT_NAMES:   # (the plan gives the unit's rows a height)
        text = _longest_text(cell.formula, cell.blank) if cell.formula else _shown(cell, unit)[0]
        if text is not None and text != "":
            return str(text), _WRAPPED[cell.style]
    return None


@lru_cache(maxsize=4096, typed=True)       # typed: a blank of True shows 「True」, of 1 「1」
def _longest_text(formula: str, blank: Any) -> str:
    """The longest text a formula cell may show: its blank-state value or one of the formula's string literals
    (status formulas choose among literal messages)."""
    texts = [str(blank)] + [m.group(1).replace('""', '"') for m in _LITERAL.finditer(formula)]
    return max(texts, key=len)


def fitted_heights(plan: SheetPlan, wrapped: Mapping[int, Mapping[str, tuple[str, float]]]) -> dict[int, float]:
    """Each row's explicit height: enough for its wrapped texts (row → column → `wrapped_text`; a merged cell
    wraps in the width of all its columns), and at least what the plan asks for."""
    widths = column_widths(plan)
    merged = merged_widths(plan, widths)
    heights = dict(plan.heights)
    for row, texts in wrapped.items():
        shown = tuple((col, text) for col, text in texts.items() if col not in plan.hidden_columns)
        height = _fitted(shown, tuple(merged.get(f"{col}{row}", widths.get(col, DEFAULT_WIDTH)) for col, _ in shown))
        if height:
            heights[row] = max(heights.get(row, 0.0), height)
    return heights


def pagination(plan: SheetPlan, heights: Mapping[int, float], width: float) -> Pagination:
    """How the sheet of `plan` prints, its rows `heights` (every printed row: `printed_heights`) and `width` units
    wide (`printed_width`): on one page when the plan says so (a form signed at its foot), by its sections
    (`print_layout.paginate`), or as the page setup says without any."""
    if plan.one_page:
        return Pagination(one_page=True)
    if not plan.sections:
        return Pagination()
    return paginate(heights, plan.sections, page_height(width, plan.landscape), title_points(plan, heights),
                    plan.whole_sections)


def printed_width(plan: SheetPlan, last_used: int | None = None) -> float:
    """Column-width units of the sheet's printed columns: each from A to the last one used (a hidden one: none).
    `last_used`: the number of the last column holding a cell, when the caller has it (a streamed sheet)."""
    if last_used is None:
        last_used = max((column_index_from_string(ref.rstrip("0123456789")) for ref in plan.cells), default=0)
    last = max([last_used] + [column_index_from_string(c) for c in plan.widths])
    columns = [get_column_letter(i) for i in range(1, last + 1)]
    return sum(plan.widths.get(c, DEFAULT_WIDTH) for c in columns if c not in plan.hidden_columns)


def title_points(plan: SheetPlan, heights: Mapping[int, float]) -> float:
    """Points of the rows printed again at the top of every page (`print_title_rows`, "1:2"), of `heights`."""
    if not plan.print_title_rows:
        return 0.0
    first, last = (int(r.strip("$")) for r in plan.print_title_rows.split(":"))
    return sum(heights.get(r, 0.0) for r in range(first, last + 1))


def column_widths(plan: SheetPlan) -> dict[str, float]:
    """Each sized column's width as a text wraps in it (a hidden column's is 0)."""
    return {col: (0.0 if col in plan.hidden_columns else w) for col, w in plan.widths.items()}


def merged_widths(plan: SheetPlan, widths: Mapping[str, float]) -> dict[str, float]:
    """First cell of each merged range → the width its text wraps in: the sum of the range's columns'."""
    merged: dict[str, float] = {}
    for rng in plan.merges:
        first, last = rng.split(":")
        a, b = (column_index_from_string(ref.rstrip("0123456789")) for ref in (first, last))
        merged[first] = sum(widths.get(get_column_letter(i), DEFAULT_WIDTH) for i in range(a, b + 1))
    return merged


@lru_cache(maxsize=8192)
def text_height(text: str, size: float, width: float) -> float:
    """`row_height` of a row holding just this text (font size `size`) wrapped in `width`. A row's height is the
    largest of its texts' (`row_height` takes the largest need, then rounds: rounding keeps the order), so a
    streaming writer fits each text once per pack, not each row of each sheet."""
    return row_height({"": (text, size)}, {"": width})


@lru_cache(maxsize=4096)
def _fitted(texts: tuple[tuple[str, tuple[str, float]], ...], widths: tuple[float, ...]) -> float:
    """`row_height` of a row's texts (column, (text, font size)) in their widths: rows repeat on every scorecard."""
    return row_height(dict(texts), {col: w for (col, _), w in zip(texts, widths)})


_FORMULA_CELL = re.compile(r'<c r="([A-Z]+[0-9]+)"([^>]*)><f>(.*?)</f><v\s*/></c>', re.S)


def _write_cached_values(data: bytes, plan: WorkbookPlan) -> bytes:
    """Put each formula's blank-state value into the sheet XML (openpyxl writes an empty <v/>)."""
    sheet_paths = {f"xl/worksheets/sheet{i}.xml": s for i, s in enumerate(plan.sheets, start=1)}

    def cache(name: str, raw: bytes) -> bytes:
        sheet = sheet_paths.get(name)
        return raw if sheet is None else _cache_sheet(raw.decode("utf-8"), sheet.cells).encode("utf-8")
    return rewrite_zip(data, cache)


def _cache_sheet(xml: str, cells: Mapping[str, Cell]) -> str:
    def repl(m: re.Match) -> str:
        ref, attrs, formula = m.groups()
        value = cells[ref].blank
        attrs = re.sub(r'\st="[^"]*"', "", attrs)
        if isinstance(value, bool):
            return f'<c r="{ref}"{attrs} t="b"><f>{formula}</f><v>{int(value)}</v></c>'
        if isinstance(value, (int, float)):
            return f'<c r="{ref}"{attrs}><f>{formula}</f><v>{value!r}</v></c>'
        return f'<c r="{ref}"{attrs} t="str"><f>{formula}</f><v>{escape(str(value))}</v></c>'
    return _FORMULA_CELL.sub(repl, xml)
