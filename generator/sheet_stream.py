"""A workbook of many sheets laid out alike, streamed: openpyxl renders the workbook once with ONE prototype sheet
standing for all of them, and every such sheet is then written as SpreadsheetML straight from its `SheetPlan`
into the zip, one at a time.

Why: a review pack holds a scorecard per unit — about 920 cells, 50 validations and 50 conditional formats each —
and openpyxl's object model took ~57 ms and ~1 MiB per scorecard, so a region-wide pack of 4 500 units took
minutes and gigabytes. Here openpyxl still writes everything that is not a streamed sheet's own (styles,
workbook protection, the other sheets) and the prototype shows how a streamed sheet is written: its style ids for
each (style, number format), its conditional formats' dxf ids, and the parts of its XML that the plan does not
vary (sheet properties, view, columns, protection, page margins, page setup, running head). `SheetWriter` writes
the rest of each sheet from its plan the way `render.render_workbook` has openpyxl write it: the same cells,
values, formulas with their cached blank-state values (`render._cache_sheet`), row heights (`render.row_heights`),
merges, conditional formats, validations, hyperlinks (with the sheet's relationships for links to files) and
sheet-local defined names. tests/test_review_pack_scale.py compares the result with `render_workbook`'s.

Two things differ on purpose: a text that begins with "=" or is an error literal (「#N/A」) is written as the text
it is, never as a formula or an error (openpyxl would turn a unit named 「=…」 into a formula); and the workbook
part (`xl/workbook.xml`, which lists every sheet and its names) is the zip's last entry, written once every sheet
is, so nothing but the sheet being written is held in memory. Texts are written inline, as openpyxl writes them:
a shared-strings table would make a pack a third smaller, but the consolidation reads a pack's table again for
every scorecard (so a pack of thousands of scorecards resaved by Excel, which always writes one, is refused).
"""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from itertools import compress, groupby
from operator import is_not, itemgetter
from typing import TYPE_CHECKING, Any, BinaryIO, Iterable, Iterator, Mapping

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils.exceptions import IllegalCharacterError
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.xml.functions import tostring

from .plan import Cell, SheetPlan, Validation, WorkbookPlan, absolute_ref, column_letter
from .print_layout import DEFAULT_WIDTH
from .render import (column_widths, font_size, merged_widths, pagination, printed_heights, printed_width,
                     render_workbook, text_height, wrapped_text)

if TYPE_CHECKING:
    from .review_layout import ReviewLayout

SHEET_LEVEL = 3
"""Deflate level of every entry. Measured on a scorecard (91 KB of XML): level 3 deflates it to 16.1 KB in half the
time zlib's default 6 (openpyxl's) takes to make 14.6 KB — deflating at 6 was a third of a scorecard's time."""

LAYOUT_MEMO = 64
"""How many layouts of a sheet (which cells, in which order: a scorecard's depends on how many files the unit
lists) a writer keeps the last sheet of, to match the next one against by identity."""

CELL_MEMO = 20_000
"""How many cells' XML a writer keeps for the next sheets: every cell the sheets share (labels, texts, formulas —
most of a scorecard) is written once; the cap bounds the memory what differs from sheet to sheet would take. A
full memo is emptied (so is one of more than `LAYOUT_MEMO` layouts): it then fills with what the next sheets
share, instead of keeping only what the first ones did."""

STRING_LIMIT = 32767
"""openpyxl cuts a text to this many characters (`Cell.check_string`)."""

_WORKSHEET = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
_HYPERLINK = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink"
_R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_SHEET_PART = re.compile(r"xl/worksheets/sheet([0-9]+)\.xml")
_SHEET_RELS = re.compile(r"xl/worksheets/_rels/sheet([0-9]+)\.xml\.rels")
_CELL_STYLE = re.compile(rb'<c r="([A-Z]+[0-9]+)" s="([0-9]+)"')
_CF_DXF = re.compile(rb'<cfRule [^>]*dxfId="([0-9]+)"')


def _text(value: str) -> str:
    """Character data as ElementTree escapes it (openpyxl's writer)."""
    if "&" in value:
        value = value.replace("&", "&amp;")
    if "<" in value:
        value = value.replace("<", "&lt;")
    if ">" in value:
        value = value.replace(">", "&gt;")
    return value


def _attr(value: str) -> str:
    """An attribute value as ElementTree escapes it."""
    value = _text(value)
    if '"' in value:
        value = value.replace('"', "&quot;")
    for ch, ref in (("\r", "&#13;"), ("\n", "&#10;"), ("\t", "&#09;")):
        if ch in value:
            value = value.replace(ch, ref)
    return value


def _number(value: float) -> str:
    return "%.16g" % value       # openpyxl's `safe_string`


def _split_ref(ref: str) -> tuple[int, int]:
    """(row, column number) of a cell reference."""
    col = ref.rstrip("0123456789")
    n = 0
    for ch in col:
        n = n * 26 + ord(ch) - 64
    return int(ref[len(col):]), n


def _xml_between(xml: str, start: str, end: str) -> str:
    a = xml.index(start)
    return xml[a:xml.index(end, a)]


_ROW, _COL, _XML = itemgetter(0), itemgetter(1), itemgetter(2)
_WRAP, _REF, _SPECIAL, _HEIGHT, _SIZE = 3, 4, 5, 6, 7   # the other fields of a placed cell (`SheetWriter._cell`)
_ROW_BREAKS = re.compile(r"<rowBreaks[ >].*?</rowBreaks>|<rowBreaks[^>]*/>", re.S)
_FIT_TO_HEIGHT = re.compile(r'fitToHeight="[0-9]+"')


def _key(ref: str, cell: Cell) -> tuple:
    """What a cell holds that its written form depends on (its XML, row height, link, validation, name)."""
    return (ref, cell.style, cell.number_format, cell.value, type(cell.value), cell.formula, cell.blank,
            type(cell.blank), cell.name, cell.local_name, cell.link, cell.url, cell.validation)


def _validations(special: list[tuple[str, Cell]]) -> dict[Validation, list[str]]:
    """Each validation → the cells it applies to, in the plan's order (an 「info_locked」 cell keeps none)."""
    out: dict[Validation, list[str]] = {}
    for ref, cell in special:
        if cell.validation and cell.style != "info_locked":
            out.setdefault(cell.validation, []).append(ref)
    return out


def _sheet_names(title: str, special: list[tuple[str, Cell]]) -> dict[str, str]:
    """The sheet's local names → cell, in the plan's order (`SheetPlan.local_names`)."""
    names: dict[str, str] = {}
    for ref, cell in special:
        if cell.local_name:
            if cell.local_name in names:
                raise ValueError(f"{title}: local name {cell.local_name} laid out twice")
            names[cell.local_name] = ref
    return names


def _links(special: list[tuple[str, Cell]]) -> list[tuple[str, Cell]]:
    """The cells that link somewhere, in row then column order (as openpyxl writes them)."""
    return sorted(((ref, cell) for ref, cell in special if cell.link or cell.url), key=lambda link: _split_ref(link[0]))


@dataclass
class WrittenSheet:
    """What the workbook part needs to know of a streamed sheet once its XML is written."""

    title: str
    state: str
    names: Mapping[str, str]            # sheet-local defined name → its cell, absolute (「$B$2」)
    print_title_rows: str | None


class SheetWriter:
    """Writes sheets laid out like `prototype` (same style names, number formats, columns, view, print setup), as
    openpyxl wrote the prototype in `xml`: `sheet(plan)` → the sheet's XML and, when it links to files, its
    relationships part."""

    def __init__(self, prototype: SheetPlan, xml: bytes):
        self.prototype = prototype
        shown = {m.group(1).decode(): int(m.group(2)) for m in _CELL_STYLE.finditer(xml)}
        self.styles: dict[tuple[str, str | None], int] = {}
        for ref, cell in prototype.cells.items():
            if ref in shown:
                self.styles.setdefault((cell.style, cell.number_format), shown[ref])
        dxfs = [int(d) for d in _CF_DXF.findall(xml)]
        if len(dxfs) != len(prototype.conditionals) or len({c.cells for c in prototype.conditionals}) != len(dxfs):
            raise ValueError("the prototype must have one conditional format per range")
        self.dxf = {}
        for c, d in zip(prototype.conditionals, dxfs):
            self.dxf.setdefault(c.style, d)
        text = xml.decode("utf-8")
        self._head = text[:text.index("<dimension ")]
        self._view = text[text.index("<sheetViews>"):text.index("<sheetData")]
        self._protection = _xml_between(text, "<sheetProtection ", "/>") + "/>"
        tail = [text.find(tag) for tag in ("<printOptions", "<pageMargins")]
        self._tail = _tail_parts(text[min(t for t in tail if t >= 0):])
        self._validations: dict[tuple[Validation, str], str] = {}
        self._cells: dict[tuple, tuple] = {}     # what a cell holds → how it is written (`_cell`)
        self._layouts: dict[tuple[str, ...], tuple[list[Cell], list[tuple]]] = {}   # the cells of a sheet, in
        # order → the Cells the last sheet so laid out had there and how they were written (`_placed_cells`)
        self._seen: dict[tuple[str, int], tuple[Cell, tuple]] = {}   # (cell, id of a Cell there) → (the Cell, how
        # it was written): the Cells a layout shares among some of its sheets (units alike in a score, a note…);
        # kept here, so never a stale id
        self._last_conditionals: tuple[tuple, str] = ((), "")   # the previous sheet's, most often the same
        self._widths = column_widths(prototype)
        self._merges: dict[tuple[str, ...], Mapping[str, float]] = {}     # `_merged_widths`

    def _check_like_prototype(self, plan: SheetPlan) -> None:
        p = self.prototype
        same = (plan.freeze, plan.widths, plan.hidden_columns, plan.print_title_rows, plan.state, plan.landscape,
                plan.header) == (p.freeze, p.widths, p.hidden_columns, p.print_title_rows, p.state, p.landscape,
                                 p.header)
        if not same:
            raise ValueError(f"{plan.title}: laid out unlike the prototype sheet (view, columns or print setup)")

    def sheet(self, plan: SheetPlan) -> tuple[bytes, bytes | None, dict[str, str]]:
        """The sheet XML of `plan`, its relationships part (None without links to files) and its sheet-local names
        (name → cell, as `SheetPlan.local_names`)."""
        self._check_like_prototype(plan)
        placed = self._placed_cells(plan)
        special = [(p[_REF], plan.cells[p[_REF]]) for p in placed if p[_SPECIAL]]     # still in the plan's order
        placed.sort()                   # by (row, column): as openpyxl writes them; no two cells share both
        by_row = {r: "".join(map(_XML, cells)) for r, cells in groupby(placed, key=_ROW)}
        heights = self._heights(plan, placed)
        if plan.sections:               # as `render_workbook`: every row's height, for the page breaks
            sizes: dict[int, float] = {}
            for p in placed:
                if p[_SIZE] > sizes.get(p[0], 0.0):
                    sizes[p[0]] = p[_SIZE]
            heights = printed_heights(sizes, heights)
        pages = pagination(plan, heights, printed_width(plan, max(map(_COL, placed), default=0)))
        out = [self._head, self._dimension(plan, placed), self._view, "<sheetData>"]
        for r in sorted(by_row.keys() | heights.keys()):
            height = heights.get(r)
            attrs = f' ht="{_number(height)}" customHeight="1"' if height else ""
            cells = by_row.get(r)
            out.append(f'<row r="{r}"{attrs}>{cells}</row>' if cells else f'<row r="{r}"{attrs} />')
        out.append("</sheetData>")
        out.append(self._protection)
        if plan.merges:
            out.append(f'<mergeCells count="{len(plan.merges)}">')
            out.extend(f'<mergeCell ref="{rng}" />' for rng in plan.merges)
            out.append("</mergeCells>")
        out.append(self._conditionals(plan))
        validations = _validations(special)
        if validations:
            out.append(f'<dataValidations count="{len(validations)}">')
            out.extend(self._validation(v, " ".join(refs)) for v, refs in validations.items())
            out.append("</dataValidations>")
        rels: list[str] = []            # openpyxl numbers the links to files in cell order, rId1…
        links = _links(special)
        if links:
            out.append("<hyperlinks>")
            for ref, cell in links:
                if cell.link:
                    out.append(f'<hyperlink ref="{ref}" location="{_attr(cell.link)}" />')
                else:
                    rels.append(cell.url)
                    out.append(f'<hyperlink xmlns:r="{_R_NS}" ref="{ref}" r:id="rId{len(rels)}" />')
            out.append("</hyperlinks>")
        before, after = self._tail
        out.append(_FIT_TO_HEIGHT.sub(f'fitToHeight="{1 if pages.one_page else 0}"', before))
        if pages.breaks:
            out.append(f'<rowBreaks count="{len(pages.breaks)}" manualBreakCount="{len(pages.breaks)}">')
            out.extend(f'<brk id="{row - 1}" min="0" max="16383" man="1" />' for row in pages.breaks)
            out.append("</rowBreaks>")
        out.append(after)
        return "".join(out).encode("utf-8"), _relationships(rels) if rels else None, _sheet_names(plan.title, special)

    def _placed_cells(self, plan: SheetPlan) -> list[tuple]:
        """Every cell of `plan` as the sheet writes it (`_cell`), in the plan's order. The hot part of a pack: most
        cells are the very Cell an earlier sheet laid out alike (the same cells in the same order) had at that
        place — a layout shares its unit-independent cells —, so they are matched by identity all at once and only
        the others looked up, one by one (`_found`)."""
        refs, cells = tuple(plan.cells), list(plan.cells.values())
        alike = self._layouts.get(refs)
        if alike is None:
            placed = [self._found(ref, cell) for ref, cell in zip(refs, cells)]
        else:
            before, placed = alike[0], list(alike[1])
            for k in compress(range(len(cells)), map(is_not, cells, before)):
                placed[k] = self._found(refs[k], cells[k])
        if alike is None and len(self._layouts) >= LAYOUT_MEMO:
            self._layouts.clear()
        self._layouts[refs] = (cells, placed)
        return list(placed)

    def _found(self, ref: str, cell: Cell) -> tuple:
        """How `cell` is written at `ref`: as when this very Cell was last there, else `_placed`."""
        seen = self._seen.get((ref, id(cell)))
        if seen is None or seen[0] is not cell:
            seen = (cell, self._placed(ref, cell))
            if len(self._seen) >= CELL_MEMO:
                self._seen.clear()
            self._seen[(ref, id(cell))] = seen      # holds the cell: its id is not reused meanwhile
        return seen[1]

    def _placed(self, ref: str, cell: Cell) -> tuple:
        """How a cell not seen before is written: as an equal one was, or afresh (`_cell`)."""
        key = _key(ref, cell)
        found = self._cells.get(key)
        if found is None:
            found = self._cell(ref, cell)
            if len(self._cells) >= CELL_MEMO:
                self._cells.clear()
            self._cells[key] = found
        return found

    def _dimension(self, plan: SheetPlan, placed: list[tuple]) -> str:
        """The used range: every cell (`placed`, in row order) and every merged range."""
        min_row, max_row = (placed[0][0], placed[-1][0]) if placed else (1 << 30, 0)
        min_col, max_col = min(map(_COL, placed), default=1 << 30), max(map(_COL, placed), default=0)
        for rng in plan.merges:
            for ref in rng.split(":"):
                r, c = _split_ref(ref)
                min_row, max_row, min_col, max_col = (min(min_row, r), max(max_row, r), min(min_col, c),
                                                      max(max_col, c))
        if not max_row:
            return '<dimension ref="A1:A1" />'
        return f'<dimension ref="{column_letter(min_col)}{min_row}:{column_letter(max_col)}{max_row}" />'

    def _heights(self, plan: SheetPlan, placed: list[tuple]) -> dict[int, float]:
        """Each row's explicit height, as `render.fitted_heights` gives it: at least what the plan asks for and
        the largest height of its wrapped texts (each fitted in its column once per pack, when first written:
        `_cell`; in a merged range's width here)."""
        merged = self._merged_widths(plan)
        heights = dict(plan.heights)
        for p in [p for p in placed if p[_WRAP]]:
            width = merged.get(p[_REF])
            height = p[_HEIGHT] if width is None else text_height(p[_WRAP][1], p[_WRAP][2], width)
            if height and height > heights.get(p[0], 0.0):
                heights[p[0]] = height
        return heights

    def _merged_widths(self, plan: SheetPlan) -> Mapping[str, float]:
        """`render.merged_widths` of the plan's merges: the same few sets on every sheet, each summed once."""
        merges = tuple(plan.merges)
        found = self._merges.get(merges)
        if found is None:
            found = self._merges[merges] = merged_widths(plan, self._widths)
        return found

    def _cell(self, ref: str, cell: Cell) -> tuple:
        """One cell as the sheet writes it: (row, column number, XML, what its row's height must fit — (column,
        text, font size) of `render.wrapped_text`, or None (also in a hidden column) —, its reference, whether it
        carries a link, a validation or a local name, the height its text needs in its column, and its font size
        (what an empty-looking row of a paginated sheet is sized by: `render.printed_heights`))."""
        try:
            s = self.styles[(cell.style, cell.number_format)]
        except KeyError:
            raise ValueError(f"{ref}: style {cell.style} / {cell.number_format} is not in the prototype") from None
        r, c = _split_ref(ref)
        col = column_letter(c)
        wrap = wrapped_text(cell, {}) if col not in self.prototype.hidden_columns else None
        height = text_height(*wrap, self._widths.get(col, DEFAULT_WIDTH)) if wrap else 0.0
        special = bool(cell.link or cell.url or cell.local_name or (cell.validation and cell.style != "info_locked"))
        return (r, c, self._cell_xml(ref, s, cell.value, cell.formula, cell.blank), wrap and (col, *wrap), ref,
                special, height, font_size(cell.style))

    def _cell_xml(self, ref: str, s: int, value: Any, formula: str | None, blank: Any) -> str:
        if formula:
            if isinstance(blank, bool):
                return f'<c r="{ref}" s="{s}" t="b"><f>{_text(formula)}</f><v>{int(blank)}</v></c>'
            if isinstance(blank, (int, float)):
                return f'<c r="{ref}" s="{s}"><f>{_text(formula)}</f><v>{blank!r}</v></c>'
            return f'<c r="{ref}" s="{s}" t="str"><f>{_text(formula)}</f><v>{_text(str(blank))}</v></c>'
        if value is None:
            return f'<c r="{ref}" s="{s}" t="n" />'
        if isinstance(value, bool):
            return f'<c r="{ref}" s="{s}" t="b"><v>{int(value)}</v></c>'
        if isinstance(value, (int, float)):
            return f'<c r="{ref}" s="{s}" t="n"><v>{_number(value)}</v></c>'
        if not isinstance(value, str):
            raise TypeError(f"{ref}: cannot write a {type(value).__name__}")
        value = value[:STRING_LIMIT]
        if ILLEGAL_CHARACTERS_RE.search(value):
            raise IllegalCharacterError(f"{value!r} cannot be used in worksheets.")
        if not value:
            return f'<c r="{ref}" s="{s}" t="inlineStr" />'
        stripped = value.strip()
        space = ' xml:space="preserve"' if stripped and stripped != value else ""
        return f'<c r="{ref}" s="{s}" t="inlineStr"><is><t{space}>{_text(value)}</t></is></c>'

    def _conditionals(self, plan: SheetPlan) -> str:
        """The sheet's conditional formats as openpyxl writes them: rules of one range together, numbered in order."""
        key = tuple((c.cells, c.formula, c.style) for c in plan.conditionals)
        if key != self._last_conditionals[0]:
            ranges: dict[str, list[str]] = {}
            for priority, (cells, formula, style) in enumerate(key, start=1):
                ranges.setdefault(cells, []).append(
                    f'<cfRule type="expression" priority="{priority}" dxfId="{self.dxf[style]}" stopIfTrue="0">'
                    f"<formula>{_text(formula)}</formula></cfRule>")
            self._last_conditionals = (key, "".join(f'<conditionalFormatting sqref="{cells}">{"".join(rules)}'
                                                    "</conditionalFormatting>" for cells, rules in ranges.items()))
        return self._last_conditionals[1]

    def _validation(self, v: Validation, sqref: str) -> str:
        """openpyxl's own XML of the validation (as `render` makes it), once per validation and range."""
        key = (v, sqref)
        if key not in self._validations:
            dv = DataValidation(type=v.type, operator=v.operator, formula1=v.formula1, formula2=v.formula2,
                                allow_blank=v.allow_blank, showErrorMessage=True, errorStyle="stop",
                                errorTitle="输入有误", error=v.error, showInputMessage=v.prompt is not None,
                                promptTitle="填写说明" if v.prompt else None, prompt=v.prompt)
            dv.add(sqref)
            self._validations[key] = tostring(dv.to_tree()).decode("utf-8")
        return self._validations[key]


def _tail_parts(tail: str) -> tuple[str, str]:
    """A prototype sheet's XML from its print options on, split where a sheet's own page breaks go (its
    `<rowBreaks>`, left out: after the header and footer, before anything else the schema allows there)."""
    found = _ROW_BREAKS.search(tail)
    if found:
        return tail[:found.start()], tail[found.end():]
    at = min(i for i in (tail.find(tag) for tag in _AFTER_ROW_BREAKS) if i >= 0)
    return tail[:at], tail[at:]


_AFTER_ROW_BREAKS = ("<colBreaks", "<customProperties", "<cellWatches", "<ignoredErrors", "<smartTags", "<drawing",
                     "<legacyDrawing", "<picture", "<oleObjects", "<controls", "<webPublishItems", "<tableParts",
                     "<extLst", "</worksheet>")
"""What a worksheet's schema puts after `<rowBreaks>` (CT_Worksheet's sequence)."""


def _relationships(urls: list[str]) -> bytes:
    rels = "".join(f'<Relationship Type="{_HYPERLINK}" Target="{_attr(url)}" TargetMode="External" Id="rId{k}" />'
                   for k, url in enumerate(urls, start=1))
    return (f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}'
            "</Relationships>").encode("utf-8")


def write_streamed(out: BinaryIO, base: bytes, frame: WorkbookPlan,
                   streams: Mapping[int, tuple[int, Iterable[SheetPlan]]]) -> None:
    """Write to `out` the workbook `base` (= `render_workbook(frame)`) with each prototype sheet — `streams` maps
    its position in `frame` (0-based) to (how many sheets stand in its place, their plans) — replaced by those
    sheets, each written from its plan (`SheetWriter`) straight into the zip. The other sheets are copied (renumbered
    after them); the sheet list, defined names, relationships and content types are rewritten for every sheet."""
    counts = [streams[i][0] if i in streams else 1 for i in range(len(frame.sheets))]
    first = [sum(counts[:i]) for i in range(len(counts))]       # where each frame sheet's first one ends up
    with zipfile.ZipFile(io.BytesIO(base)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=SHEET_LEVEL) as dst:
        written: dict[int, list[WrittenSheet]] = {}
        workbook: tuple[zipfile.ZipInfo, bytes] | None = None
        for info in src.infolist():
            name = info.filename
            data = src.read(info)
            part, rels = _SHEET_PART.fullmatch(name), _SHEET_RELS.fullmatch(name)
            number = int((part or rels).group(1)) - 1 if (part or rels) else -1
            if name == "xl/workbook.xml":
                workbook = (info, data)
                continue
            if name == "[Content_Types].xml":
                data = _content_types(data.decode("utf-8"), sum(counts)).encode("utf-8")
            elif name == "xl/_rels/workbook.xml.rels":
                data = _workbook_rels(data.decode("utf-8"), sum(counts)).encode("utf-8")
            elif rels and number in streams:
                continue                           # the prototype's own links: each streamed sheet has its own
            elif part and number in streams:
                count, sheets = streams[number]
                writer = SheetWriter(frame.sheets[number], data)
                written[number] = _stream(dst, info, writer, first[number], count, sheets)
                continue
            elif part or rels:
                name = (f"xl/worksheets/sheet{first[number] + 1}.xml" if part
                        else f"xl/worksheets/_rels/sheet{first[number] + 1}.xml.rels")
            _put(dst, name, info, data)
        if workbook is None or written.keys() != streams.keys():
            raise ValueError("the rendered workbook lacks its workbook part or a prototype sheet")
        info, data = workbook
        entry = zipfile.ZipInfo(info.filename, info.date_time)
        entry.compress_type = zipfile.ZIP_DEFLATED
        with dst.open(entry, "w") as w:       # thousands of sheets' names: written as they are made, never joined
            for chunk in _workbook(data.decode("utf-8"), first, written):
                w.write(chunk.encode("utf-8"))


def _stream(dst: zipfile.ZipFile, like: zipfile.ZipInfo, writer: SheetWriter, at: int, count: int,
            sheets: Iterable[SheetPlan]) -> list[WrittenSheet]:
    """The `count` sheets of `sheets` written as sheets number at + 1 … into `dst`; what the workbook part needs of
    each."""
    written: list[WrittenSheet] = []
    names: Mapping[str, str] = {}
    absolute: Mapping[str, str] = {}
    for k, plan in enumerate(sheets):
        if k >= count:
            raise ValueError(f"more than {count} sheets to stream")
        xml, links, local = writer.sheet(plan)
        n = at + 1 + k
        _put(dst, f"xl/worksheets/sheet{n}.xml", like, xml)
        if links:
            _put(dst, f"xl/worksheets/_rels/sheet{n}.xml.rels", like, links)
        if local != names:                  # one dict for all sheets whose names are alike, made absolute once
            names, absolute = local, {name: absolute_ref("", ref).split("!", 1)[1] for name, ref in local.items()}
        written.append(WrittenSheet(plan.title, plan.state, absolute, plan.print_title_rows))
    if len(written) != count:
        raise ValueError(f"{len(written)} sheets streamed, {count} announced")
    return written


def _put(dst: zipfile.ZipFile, name: str, like: zipfile.ZipInfo, data: bytes) -> None:
    """One deflated entry, stamped with the time of the entry `like` (the rendered workbook's)."""
    dst.writestr(zipfile.ZipInfo(name, like.date_time), data, zipfile.ZIP_DEFLATED, SHEET_LEVEL)


_SHEET_OVERRIDE = re.compile(r'<Override PartName="/xl/worksheets/sheet[0-9]+\.xml" '
                             rf'ContentType="{re.escape(_SHEET_TYPE)}" />')


def _content_types(xml: str, sheets: int) -> str:
    """[Content_Types].xml listing `sheets` worksheets, where openpyxl listed its own."""
    count = len(_SHEET_OVERRIDE.findall(xml))
    if not count:
        raise ValueError("[Content_Types].xml lists no worksheet")
    listed = "".join(f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{_SHEET_TYPE}" />'
                     for n in range(1, sheets + 1))
    parts = iter([listed] + [""] * (count - 1))
    return _SHEET_OVERRIDE.sub(lambda _: next(parts), xml)


_RELATIONSHIP = re.compile(r'<Relationship Type="([^"]*)" Target="([^"]*)" Id="rId[0-9]+" />')


def _workbook_rels(xml: str, sheets: int) -> str:
    """openpyxl numbers the sheets' relationships rId1…, the others (styles, theme) after them."""
    found = _RELATIONSHIP.findall(xml)
    others = [(t, target) for t, target in found if t != _WORKSHEET]
    if len(found) != xml.count("<Relationship "):
        raise ValueError("xl/_rels/workbook.xml.rels is not as openpyxl writes it")
    rels = [(_WORKSHEET, f"/xl/worksheets/sheet{n}.xml") for n in range(1, sheets + 1)] + others
    body = "".join(f'<Relationship Type="{t}" Target="{target}" Id="rId{k}" />' for k, (t, target) in
                   enumerate(rels, start=1))
    start = xml.index("<Relationship ")
    end = xml.rindex("</Relationships>")
    return xml[:start] + body + xml[end:]


_SHEET = re.compile(r'<sheet name="([^"]*)" sheetId="([0-9]+)" state="([a-zA-Z]+)" r:id="rId([0-9]+)" />')
_NAME = re.compile(r'<definedName name="[^"]*"(?: localSheetId="([0-9]+)")?>[^<]*</definedName>')


def _workbook(xml: str, first: list[int], written: Mapping[int, list[WrittenSheet]]) -> Iterator[str]:
    """xl/workbook.xml, in pieces, with each prototype sheet and its local names replaced by the sheets streamed in
    its place (`written`), every other sheet's local names renumbered (`first`: where each frame sheet's first one
    is)."""
    listed = _SHEET.findall(xml)
    if len(listed) != xml.count("<sheet ") or len(listed) != len(first):
        raise ValueError("xl/workbook.xml lists its sheets unlike openpyxl")
    if "<definedNames>" not in xml:
        raise ValueError("xl/workbook.xml has no defined names")
    start, end = xml.index("<sheets>") + len("<sheets>"), xml.index("</sheets>")
    yield xml[:start]
    n = 0
    for i, (name, _, state, _) in enumerate(listed):
        for title, state in ([(_attr(w.title), w.state) for w in written[i]] if i in written else [(name, state)]):
            n += 1
            yield f'<sheet name="{title}" sheetId="{n}" state="{state}" r:id="rId{n}" />'
    names_at, names_end = xml.index("<definedNames>") + len("<definedNames>"), xml.index("</definedNames>")
    yield xml[end:names_at]
    local: dict[int, list[str]] = {}
    for m in _NAME.finditer(xml[names_at:names_end]):
        if m.group(1) is None:
            yield m.group(0)
        else:
            local.setdefault(int(m.group(1)), []).append(m.group(0))
    for i in range(len(first)):
        if i in written:
            yield from (_local_names(w, first[i] + k) for k, w in enumerate(written[i]))
        else:
            yield from (n.replace(f' localSheetId="{i}"', f' localSheetId="{first[i]}"', 1) for n in local.get(i, ()))
    yield xml[names_end:]


def _local_names(sheet: WrittenSheet, index: int) -> str:
    """A sheet's local names as openpyxl writes them: each name, then the print titles."""
    sheet_ref = _text(absolute_ref(sheet.title, "A1")[:-len("!$A$1")])      # 「'01 某单位'」 (a title may hold "!")
    out = [f'<definedName name="{name}" localSheetId="{index}">{sheet_ref}!{cell}</definedName>'
           for name, cell in sheet.names.items()]
    if sheet.print_title_rows:
        first, last = sheet.print_title_rows.split(":")
        out.append(f'<definedName name="_xlnm.Print_Titles" localSheetId="{index}">'
                   f"{sheet_ref}!${first}:${last}</definedName>")
    return "".join(out)




def write_review_workbook(layout: ReviewLayout, out: BinaryIO) -> None:
    """A review pack (`review_layout.ReviewLayout`) as .xlsx written to `out`: rendered by openpyxl with prototypes
    of 总览 (its first row) and of the scorecards (the first unit's), then 总览 and every scorecard streamed in their
    place (`write_streamed`), each laid out when it is written."""
    overview, scorecard = layout.overview(first=1), layout.scorecard(0)
    frame = layout.workbook(overview, [scorecard])
    count = len(layout.titles)
    where = {id(sheet): k for k, sheet in enumerate(frame.sheets)}
    write_streamed(out, render_workbook(frame), frame,
                   {where[id(overview)]: (1, (layout.overview() for _ in range(1))),     # laid out when written
                    where[id(scorecard)]: (count, (layout.scorecard(k) for k in range(count)))})


__all__ = ["SheetWriter", "WrittenSheet", "write_streamed", "write_review_workbook", "SHEET_LEVEL"]
