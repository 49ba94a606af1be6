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

Every text written is writable whatever a file smuggled in (`writable_text`): a lone surrogate becomes U+FFFD
(no UTF-8 writer can carry it), U+FFFE/U+FFFF and control characters are written as `_xHHHH_` (XML 1.0 cannot
hold them), a literal `_xHHHH_` is escaped so Excel does not decode it, and a text longer than a cell holds
(32 767) is cut with a visible 「…（已截断）」. XlsxWriter's own cells get the same through `SafeWorksheet`.
`valid_cells` is the grammar of what `cell` writes: the ledger's stored cells are spliced only if they match it.
"""
from __future__ import annotations

import io
import re
import zipfile
from typing import Any, BinaryIO, Callable, Iterable, Mapping

from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from .read.xmlscan import CELL_LIMIT, unescape, utf16_length

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")
_ESCAPE_LOOKALIKE = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_NEEDS_XML_ESCAPE = re.compile(r"[&<>]")

SUMMARY_LEVEL = 1
"""Deflate level of the workbook written with spliced rows: the fastest. A summary of 5 000 units holds ~25 MB
of sheet XML, deflated on every run — a re-run after a few late returns too —; level 6 took about twice as long
for a smaller file (61 returns: 61 KB instead of 74 KB; the benchmark's 5 000, only 20 contents repeated: 0.8 MB
instead of 1.9 MB)."""


_PLAIN_TEXT = re.compile("[\x00-\x08\x0b-\x1f&<>\ud800-\udfff\ufffe\uffff]|_x|^\\s|\\s$")
_SURROGATE = re.compile("[\ud800-\udfff]")
_NON_CHARACTER = re.compile("[\ufffe\uffff]")
TRUNCATED = "…（已截断）"
"""Appended where a text was cut to fit a cell: visible, never a silent loss."""


def writable_text(value: str) -> str:
    """`value` as any writer can carry it and a cell can hold it: lone surrogates → U+FFFD, at most CELL_LIMIT
    UTF-16 units with 「…（已截断）」 at the cut. (Escaping for XML is the writer's: `text_cell`, XlsxWriter.)"""
    if _SURROGATE.search(value):
        value = _SURROGATE.sub("\ufffd", value)
    if len(value) > CELL_LIMIT // 2 and utf16_length(value) > CELL_LIMIT:
        units = value.encode("utf-16-le")[:2 * (CELL_LIMIT - len(TRUNCATED))]
        value = units.decode("utf-16-le", "ignore") + TRUNCATED     # "ignore": half a pair at the cut
    return value


class SafeWorksheet(Worksheet):
    """XlsxWriter's worksheet with every string made writable first (`writable_text`): a lone surrogate would stop
    the file being written, and XlsxWriter cuts a long text silently. It escapes control characters and
    U+FFFE/U+FFFF itself. (`_write_string` is where all of write, write_string and merge_range end up, in the
    pinned XlsxWriter; tests/test_hostile.py checks it is still there.)"""

    def _write_string(self, row, col, string, cell_format=None):
        return super()._write_string(row, col, writable_text(string), cell_format)


def text_cell(value: str, style: int) -> str:
    """An inline-string cell, escaped as XlsxWriter escapes it (and made writable: `writable_text`)."""
    if len(value) > CELL_LIMIT // 2:
        value = writable_text(value)
    if not value or _PLAIN_TEXT.search(value) is None:      # most text: nothing to escape
        return f'<c s="{style}" t="inlineStr"><is><t>{value}</t></is></c>'
    value = writable_text(value)
    if "_x" in value:
        value = _ESCAPE_LOOKALIKE.sub(r"_x005F\1", value)
    if _CONTROL.search(value):
        value = _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", value)
    if _NON_CHARACTER.search(value):
        value = _NON_CHARACTER.sub(lambda m: f"_x{ord(m.group()):04X}_", value)
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


REPEATED = 40
"""Texts up to this long are rendered once per column by `column_cell` — a status, a region, 是/否 — and the
first `REMEMBERED` of them kept: a column of paths or names would otherwise keep every one."""
REMEMBERED = 1024


def column_cell(style: int, text_style: int, yes_no_style: int, yes_no: bool = False) -> Callable[[Any], str]:
    """`cell` for the values of one column: the same text as `cell` writes, a short text the column repeats
    rendered once (a big table's rows are thousands of statuses, counts and names of regions)."""
    blank = blank_cell(style)
    seen: dict[str, str] = {}

    def one(value: Any) -> str:
        if value is None or value == "":
            return blank
        if type(value) is str:
            made = seen.get(value)
            if made is None:
                made = cell(value, style, text_style, yes_no_style, yes_no)
                if len(value) <= REPEATED and len(seen) < REMEMBERED:
                    seen[value] = made
            return made
        return cell(value, style, text_style, yes_no_style, yes_no)
    return one


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


# ---------------------------------------------------------------- the grammar of what `cell` writes

_NUMBER = r"-?[0-9]+(?:\.[0-9]+)?(?:E[+-][0-9]+)?"
_CHAR = "[^<>&\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]"
_TEXT = f"{_CHAR}*(?:&(?:amp|lt|gt);{_CHAR}*)*"


def cell_grammar(styles: Iterable[int]) -> re.Pattern[str]:
    """What `cell` writes, and nothing else, with the style numbers `styles`: number, blank and inline-string
    cells (in the order they are most common) — no formula, no markup in text, only XML-1.0 characters.
    `valid_cells` matches a row of them."""
    s = "|".join(str(n) for n in sorted(set(styles)))
    one = (f'<c(?: s="(?:{s})")?><v>{_NUMBER}</v></c>|<c(?: s="(?:{s})")?/>'
           f'|<c s="(?:{s})" t="inlineStr"><is><t(?: xml:space="preserve")?>{_TEXT}</t></is></c>')
    return re.compile(f"(?:{one})*")


_TEXTS = re.compile(r"<t[^>]*>([^<]*)</t>")


def valid_cells(text: str, grammar: re.Pattern[str], count: int) -> bool:
    """Whether `text` is exactly `count` cells as `cell` writes them (`cell_grammar`), each text within a cell's
    limit: what may be spliced into the summary from the ledger."""
    if text.count("<c") != count or not grammar.fullmatch(text):
        return False
    if len(text) <= CELL_LIMIT:                      # no text in it can be too long
        return True
    return all(utf16_length(unescape(t.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))) <= CELL_LIMIT
               for t in _TEXTS.findall(text))


__all__ = ["text_cell", "number_cell", "blank_cell", "cell", "column_cell", "row", "splice", "writable_text", "SafeWorksheet",
           "cell_grammar", "valid_cells", "TRUNCATED"]
