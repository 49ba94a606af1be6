"""Rows of the summary's big sheets written as SpreadsheetML text, spliced into the workbook XlsxWriter wrote.

Why not XlsxWriter for these rows too: for 5 000 units the 汇总 sheet holds about 650 000 cells and XlsxWriter's
per-cell path (about 4 µs a cell) made writing it the slowest step of a run; a re-run after a few late returns
repeated all of it for files that had not changed. So a unit's figures are rendered to cells once — in the worker
that read the file — and kept in the ledger with the file's outcome; the summary joins them.

The markup is what XlsxWriter itself writes for a number (`<c s="5"><v>1.5</v></c>`, `%.16G`) and for an inline
string (control characters as `_xHHHH_`, `xml:space="preserve"` for outer spaces), except that the cells carry no
`r`: ECMA-376 makes it optional (§18.3.1.4) and a cell without it takes the column after the previous one, which
is what lets one unit's cells be reused at any row. Excel, LibreOffice and openpyxl read such rows; a blank is an
empty styled cell (`<c s="5"/>`) so that the following cells keep their columns.

Everything else in the workbook — styles, header rows, filters, frozen panes, charts — is XlsxWriter's; `splice`
only inserts the rows before `</sheetData>` and widens `<dimension>`.
"""
from __future__ import annotations

import io
import re
import zipfile
from typing import Any, BinaryIO, Iterable, Mapping

from xlsxwriter.utility import xl_col_to_name

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")
_ESCAPE_LOOKALIKE = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_NEEDS_XML_ESCAPE = re.compile(r"[&<>]")

SUMMARY_LEVEL = 6
"""Deflate level of the spliced sheet: zlib's default, the level XlsxWriter's other parts get."""


_PLAIN_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f&<>]|_x|^\s|\s$")


def text_cell(value: str, style: int) -> str:
    """An inline-string cell, escaped as XlsxWriter escapes it."""
    if not value or _PLAIN_TEXT.search(value) is None:      # most text: nothing to escape
        return f'<c s="{style}" t="inlineStr"><is><t>{value}</t></is></c>'
    if "_x" in value:
        value = _ESCAPE_LOOKALIKE.sub(r"_x005F\1", value)
    if _CONTROL.search(value):
        value = _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", value)
    if _NEEDS_XML_ESCAPE.search(value):
        value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    space = ' xml:space="preserve"' if value[:1].isspace() or value[-1:].isspace() else ""
    return f'<c s="{style}" t="inlineStr"><is><t{space}>{value}</t></is></c>'


def number_cell(value: float, style: int | None) -> str:
    s = f' s="{style}"' if style else ""
    return f"<c{s}><v>{value:.16G}</v></c>"


def blank_cell(style: int) -> str:
    return f'<c s="{style}"/>' if style else "<c/>"


def cell(value: Any, style: int, text_style: int, yes_no_style: int, yes_no: bool = False) -> str:
    """One value as the summary shows it: blank stays blank (never ""), True/False as 是/否, numbers in the
    column's format (`style`), anything else as text — never a formula or a link."""
    if value is None or value == "":
        return blank_cell(style)
    if isinstance(value, bool):
        return text_cell("是" if value else "否", yes_no_style)
    if isinstance(value, (int, float)):
        return number_cell(value, None if yes_no else style)
    return text_cell(str(value), yes_no_style if yes_no else text_style)


def row(number: int, cells: Iterable[str]) -> str:
    """A `<row>` (1-based `number`) of rendered cells."""
    return f'<row r="{number}">{"".join(cells)}</row>'


_DIMENSION = re.compile(rb'<dimension ref="[^"]*"/>')


def splice(xlsx: bytes, rows_by_part: Mapping[str, tuple[Iterable[str], int, int]], out: BinaryIO) -> None:
    """Write `xlsx` to `out` with, for each part, its rows added at the end of the sheet data and the sheet's
    dimension set to A1:<last column><last row>. Entries keep their order, names and the fixed 1980 timestamps
    (identical inputs give identical bytes)."""
    with zipfile.ZipFile(io.BytesIO(xlsx)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=SUMMARY_LEVEL) as dst:
        missing = set(rows_by_part) - set(src.namelist())
        if missing:
            raise ValueError(f"汇总表中没有 {'、'.join(sorted(missing))}：无法写入汇总行（程序错误，请报告）")
        for info in src.infolist():
            data = src.read(info)
            with dst.open(info.filename, "w") as w:
                if info.filename not in rows_by_part:
                    w.write(data)
                    continue
                rows, last_row, last_col = rows_by_part[info.filename]
                at = data.rfind(b"</sheetData>")
                if at < 0:
                    raise ValueError(f"{info.filename} 中没有 </sheetData>：无法写入汇总行（程序错误，请报告）")
                ref = f'<dimension ref="A1:{xl_col_to_name(last_col - 1)}{last_row}"/>'.encode()
                w.write(_DIMENSION.sub(ref, data[:at], count=1))
                batch: list[str] = []
                for r in rows:
                    batch.append(r)
                    if len(batch) == 256:       # a few hundred rows at a time: little memory, few calls
                        w.write("".join(batch).encode("utf-8"))
                        batch.clear()
                w.write("".join(batch).encode("utf-8"))
                w.write(data[at:])


__all__ = ["text_cell", "number_cell", "blank_cell", "cell", "row", "splice"]
