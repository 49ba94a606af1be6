"""The summary workbook of a consolidation run (XlsxWriter: output only, native charts).

It renders `content.content(run)` — the same data as the JSON report — on these sheets, all labels Chinese:

汇总      one row per unit: two header rows, the contract name (row 1, hidden) — a column is found by the same
          name as in the fill-in workbook, `udfs.evaluate` and the JSON report — and the Chinese label with the
          real data years (row 2, with the filter); each energy item's intermediate figures folded
评审结果  composite, rank, 摘牌 and what each unit still needs;  评审进度  who has reviewed what
指标得分  each indicator's averages, the lowest and their chart
问题清单  the findings of each file grouped by code (count, data items, cells), coloured by severity
未报送    roster units with no return;  重复报送  every file of a unit returned twice, and the rule that chose one
名单外    returns whose unit is not on the roster;  统计  by region and level, with two charts
文件清单  every file seen;  说明  the accounting (seen = consolidated + rejected + skipped), deleted files, the
          rules, the notes said once per run and the open questions

Every sheet reads on screen (widths, frozen header, filter) and prints on A4 (`_Book.print_setup`): rows of
wrapped text as tall as the text needs (`generator.print_layout`), print titles, charts whole on a page, the
running head on every page (`_head_codes`).

The file is deterministic (fixed document dates, fixed zip timestamps, no run date): identical runs give
identical bytes. It is written atomically, so a failure leaves the previous summary in place.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Iterator

import xlsxwriter

from generator.ooxml import write_atomically
from generator.print_layout import (CELL_PADDING, DEFAULT_FONT_SIZE, DEFAULT_WIDTH, HEAD_FONT_SIZE,
                                    LANDSCAPE_PAGE_HEIGHT, LANDSCAPE_WIDTH, PAGE_MARGINS, PORTRAIT_PAGE_HEIGHT,
                                    PORTRAIT_WIDTH, ROW_PADDING, WIDTH_FACTOR, line_count, line_height, page_height,
                                    running_head)
from udfs.results import INCOMPLETE, INCOMPLETE_CREATION, NOT_RANKED, WAITING
from workbook_templates import Spec, contract_names
from workbook_templates.contract import UNIT_NAMES
from workbook_templates.review_names import review_names

from . import review_content as rc, sheetxml
from .columns import (Column, figure_columns, short_label, style_indices, summary_columns, workbook_formats,
                      year_label)
from .content import BLOCKED, NOT_USED, accounting_line
from .model import CONSOLIDATED, REJECTED, REVIEW, SKIPPED, STATUS_LABEL
from .prerender import unit_cells
from .report_json import RENDERED
from .review_content import NOT_RECEIVED, NOT_STARTED, UNFINISHED
from .reviews import CARD_RULE
from .evidence_sheet import render_evidence
from .stages_sheet import render_stages

# A fixed document date: the file must not change when nothing else did.
CREATED = datetime(2000, 1, 1)


def _head_codes(year: int) -> dict[str, str]:
    """Every printed page's header and footer, in Excel's codes (`generator.print_layout.running_head`): 「汇总」
    and the assessment year at the top left, the sheet name at the top right, 「第 N 页 共 M 页」 at the foot and,
    at the foot right, the date it was printed. The date of the run itself is not in the file — identical inputs
    give identical bytes — so the page carries the year of the data and the printing program fills in the print
    date (&D) when it prints."""
    head = running_head(f"汇总　{year}年节约型机关复验")
    size = f"&{HEAD_FONT_SIZE}"
    return {"header": "".join(f"&{k[0].upper()}{size}{v}" for k, v in head["header"].items()),
            "footer": "".join(f"&{k[0].upper()}{size}{v}" for k, v in head["footer"].items()) + f"&R{size}打印日期 &D"}

SHEETS = ("汇总", "评审结果", "评审进度", "进度", "佐证材料", "指标得分", "问题清单", "未报送", "重复报送", "名单外", "统计", "文件清单",
          "说明")
NO_ROSTER = "未提供名单，无法判断未报送单位"
NO_ROSTER_OUTSIDE = "未提供名单，无法判断名单外单位"
DISAPPEARED = "上次汇总后被删除的文件"



WRAPPING = ("wrap", "bold_wrap", "note")
"""The formats whose text wraps: a row holding one gets the height the text needs."""


class _Book:
    """The workbook with its formats, and a cell writer that never turns text into a formula or a link.

    It also keeps what the print setup needs: each sheet's column widths (`width`), the rows holding wrapped text
    and the height they need (`fit`), and `print_setup` — A4, orientation by the printed width, fitted to the page
    width (or to a few pages across for 汇总), print titles, and the running head of every page (`_head_codes`)."""

    def __init__(self, buffer: io.BytesIO, spec: Spec, title: str, year: int):
        # Text read from returned files is written as text: 「=HYPERLINK(…)」 in a unit name stays a string.
        # Not constant_memory: the sheets XlsxWriter writes are small (the big tables are spliced in), and in
        # that mode it cannot read a chart's cells back, so categories would be written as numbers (numRef) and
        # show blank — text categories need strRef with their cached text.
        self.wb = xlsxwriter.Workbook(buffer, {"strings_to_formulas": False, "strings_to_urls": False,
                                               "strings_to_numbers": False})
        self.wb.set_properties({"title": title, "subject": "节约型机关复验 汇总", "author": "jieyue",
                                "created": CREATED, "comments": "由 jieyue 汇总生成；同一批文件每次生成的文件相同"})
        self.f, self.style = workbook_formats(self.wb, spec)
        if self.style != style_indices(spec):
            raise RuntimeError("汇总表的样式编号与预先生成的单元格不一致：这是程序错误，请报告")
        self.year = year
        self.head = _head_codes(year)
        # SafeWorksheet: every text writable and within a cell, whatever a returned file smuggled in.
        self.sheets = {name: self.wb.add_worksheet(name, worksheet_class=sheetxml.SafeWorksheet)
                       for name in SHEETS}
        self.splices: dict[str, tuple[Iterable[str], int, int]] = {}   # part → (rows, last row, last column)
        self.widths: dict[str, dict[int, float]] = {}                  # sheet → column → width
        self.folded: dict[str, set[int]] = {}                          # sheet → hidden (folded) columns
        self.heights: dict[str, dict[int, float]] = {}                 # sheet → row → explicit height

    def part(self, ws) -> str:
        """The zip part XlsxWriter writes a worksheet to (sheet1.xml for the first added)."""
        return f"xl/worksheets/sheet{ws.index + 1}.xml"

    # ---------------------------------------------------------------- layout

    def width(self, ws, col: int, width: float, folded: bool = False, collapsed: bool = False) -> None:
        """Column `col`'s width; a `folded` column is grouped and hidden (one click shows it; not printed), and
        the column after a folded group carries the group's `collapsed` button."""
        options = {"level": 1, "hidden": True} if folded else {"collapsed": True} if collapsed else None
        ws.set_column(col, col, width, None, options)
        self.widths.setdefault(ws.name, {})[col] = width
        if folded:
            self.folded.setdefault(ws.name, set()).add(col)

    def col_width(self, ws, col: int) -> float:
        return self.widths.get(ws.name, {}).get(col, DEFAULT_WIDTH)

    def fit(self, ws, row: int, texts: dict[int, Any], span: dict[int, int] | None = None,
            size: float = DEFAULT_FONT_SIZE) -> None:
        """Give `row` the height its wrapped `texts` (column → text) need; a text in a merged range wraps in the
        width of `span[column]` columns. Rows only grow: the tallest text of the row decides."""
        widths = {c: sum(self.col_width(ws, c + i) for i in range((span or {}).get(c, 1))) for c in texts}
        height = wrapped_height(texts, widths, size)
        heights = self.heights.setdefault(ws.name, {})
        if height > heights.get(row, 0):
            heights[row] = height
            ws.set_row(row, height)

    def wrapped(self, ws, row: int, col: int, text: str, fmt: str = "wrap", span: int = 1) -> None:
        """A wrapped text (merged across `span` columns) in a row tall enough to show it whole."""
        if span > 1:
            ws.merge_range(row, col, row, col + span - 1, text, self.f[fmt])
        else:
            ws.write_string(row, col, text, self.f[fmt])
        self.fit(ws, row, {col: text}, {col: span})

    def printed_width(self, ws, last_col: int) -> float:
        folded = self.folded.get(ws.name, set())
        return sum(self.col_width(ws, c) for c in range(last_col + 1) if c not in folded)

    def landscape(self, ws, last_col: int) -> bool:
        """Whether columns 0…`last_col` print landscape: wider than a portrait page (`print_setup`'s choice)."""
        return self.printed_width(ws, last_col) > PORTRAIT_WIDTH

    def row_points(self, ws, first: int, last: int) -> float:
        """Points rows `first`…`last` take (15 for a row of the default height)."""
        heights = self.heights.get(ws.name, {})
        return sum(heights.get(r, 15.0) for r in range(first, last + 1))

    def print_setup(self, ws, last_col: int, *, title_rows: tuple[int, int] | None = None,
                    title_col: bool = False, pages_wide: int = 1, across: bool = False,
                    landscape: bool | None = None) -> None:
        """A4, portrait or landscape by the printed width of columns 0…`last_col` (unless `landscape` says),
        fitted to `pages_wide` pages across (any number down), `title_rows` (first, last) and the first column
        (`title_col`) repeated on every page, pages numbered left to right first when `across`, and the running
        head."""
        ws.set_paper(9)
        if self.landscape(ws, last_col) if landscape is None else landscape:
            ws.set_landscape()
        else:
            ws.set_portrait()
        ws.fit_to_pages(pages_wide, 0)
        ws.set_margins(**{k: v for k, v in PAGE_MARGINS.items() if k not in ("header", "footer")})
        ws.set_header(self.head["header"], {"margin": PAGE_MARGINS["header"]})
        ws.set_footer(self.head["footer"], {"margin": PAGE_MARGINS["footer"]})
        if title_rows is not None:
            ws.repeat_rows(*title_rows)
        if title_col:
            ws.repeat_columns(0, 0)
        if across:
            ws.print_across()

    # ---------------------------------------------------------------- cells

    def put(self, ws, row: int, col: int, value: Any, fmt: str = "text") -> None:
        if value is None or value == "":     # a blank cell, never an empty string (ISBLANK stays true)
            return
        if isinstance(value, bool):
            ws.write_string(row, col, "是" if value else "否", self.f["yesno"])
        elif isinstance(value, (int, float)):
            ws.write_number(row, col, value, self.f.get(fmt, self.f["text"]) if fmt != "yesno" else None)
        else:
            ws.write_string(row, col, str(value), self.f[fmt] if fmt in ("yesno", *WRAPPING) else self.f["text"])
            if fmt in WRAPPING:
                self.fit(ws, row, {col: str(value)})

    def big_table(self, ws, labels: list[str], widths: list[float], fmts: list[str], rows: Iterable[list[Any]],
                  empty: str, count: int) -> None:
        """A table from A1 whose `count` rows grow with the number of files or units: the header by XlsxWriter,
        the rows rendered as SpreadsheetML and spliced in (`sheetxml`), each column in its format; a row with text
        in a "wrap" column gets the height that text needs. `rows` may be a generator: it is taken once, when the
        rows are spliced, so a 20 000-unit table is never held whole."""
        if not count:
            self.table(ws, 0, labels, widths, [], empty)
            return
        self.header(ws, 0, labels, widths)
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, count, len(labels) - 1)
        style, text, yes_no, wrap = self.style, self.style["text"], self.style["yesno"], self.style["wrap"]
        wrapping = {c: widths[c] for c, f in enumerate(fmts) if f == "wrap"}

        def render() -> Iterator[str]:
            writers = [sheetxml.column_cell(wrap, wrap, yes_no) if f == "wrap" else
                       sheetxml.column_cell(style.get(f, text), text, yes_no, f == "yesno") for f in fmts]
            for r, values in enumerate(rows, start=2):
                cells = [write(v) for write, v in zip(writers, values)]
                height = wrapped_height({c: values[c] for c in wrapping}, wrapping) if wrapping else None
                yield spliced_row(r, cells, height)
        self.splices[self.part(ws)] = (render(), count + 1, len(labels))

    def header(self, ws, row: int, labels: list[str], widths: list[float] | None = None, fmt: str = "head",
               size: float = DEFAULT_FONT_SIZE) -> None:
        """A header row; `widths` set the columns' widths (None: the sheet's widths stay, for a second table
        under the same columns). The row is as tall as its longest label needs."""
        for c, label in enumerate(labels):
            ws.write_string(row, c, label, self.f[fmt])
            if widths is not None:
                self.width(ws, c, widths[c])
        self.fit(ws, row, dict(enumerate(labels)), size=size)

    def table(self, ws, row: int, labels: list[str], widths: list[float] | None, rows: list[list[Any]],
              empty: str = "无", fmts: list[str] | None = None) -> int:
        """A header and rows with a frozen header and a filter; returns the row after the table."""
        self.header(ws, row, labels, widths)
        ws.freeze_panes(row + 1, 0)
        for r, values in enumerate(rows, start=row + 1):
            for c, v in enumerate(values):
                fmt = fmts[c] if fmts else "count" if isinstance(v, int) and not isinstance(v, bool) else "text"
                self.put(ws, r, c, v, fmt)
        if rows:
            ws.autofilter(row, 0, row + len(rows), len(labels) - 1)
            return row + 1 + len(rows)
        self.wrapped(ws, row + 1, 0, empty, "note", span=len(labels))
        return row + 2


def wrapped_height(texts: dict[int, Any], widths: dict[int, float], size: float = DEFAULT_FONT_SIZE) -> float:
    """The explicit height of a row whose wrapped cells hold `texts` (column → value) in columns of `widths`:
    the most lines any of them takes (`generator.print_layout.line_count`) × the line height, at least one line.
    A text in a font smaller than the default fits more characters on a line: its column counts as wider by the
    ratio of the sizes. A text that fits on one line even if every character were wide is not measured."""
    lines = 1
    for c, value in texts.items():
        if value is None or value == "":
            continue
        text = str(value)
        width = widths[c] * DEFAULT_FONT_SIZE / size
        if 2 * len(text) <= width * WIDTH_FACTOR - CELL_PADDING and "\n" not in text:
            continue
        lines = max(lines, line_count(text, width))
    return round(lines * line_height(size) + ROW_PADDING, 1)


def spliced_row(number: int, cells: Iterable[str], height: float | None) -> str:
    """A spliced `<row>` (1-based `number`), with an explicit height when its text wraps (`sheetxml.row` else)."""
    if height is None:
        return sheetxml.row(number, cells)
    return f'<row r="{number}" ht="{height:g}" customHeight="1">{"".join(cells)}</row>'


# ---------------------------------------------------------------- sheets

def _unit_figures(unit: dict[str, Any], spec: Spec) -> str:
    """A unit's figure cells: as the pre-render stage made them where the file was read, or rendered now."""
    rendered = unit.get(RENDERED)
    return rendered.summary_cells if rendered else unit_cells(unit["inputs"], unit["results"], spec)



SUMMARY_SCALE = 0.65
"""The smallest print scale of 汇总 (of 100 %): its columns are printed on as many landscape pages across as this
scale needs, each page with the unit names repeated at the left — a few pages across instead of one unreadable."""


def _summary(b: _Book, data: dict[str, Any], spec: Spec) -> None:
    """汇总: row 1 (hidden) the contract names — a column is found by the same name as in the fill-in workbook,
    `udfs.evaluate` and the JSON report —, row 2 the Chinese labels with the real years and the filter, then one
    row per unit. Each energy item's 折标准煤 and 碳排放量 are folded (not printed)."""
    ws = b.sheets["汇总"]
    cols = summary_columns(spec)
    labels = [year_label(col.label, b.year) for col in cols]
    for c, col in enumerate(cols):
        ws.write_string(0, c, col.key, b.f["name"])
        ws.write_string(1, c, labels[c], b.f["head_small"])
        folded = col.detail
        b.width(ws, c, col.width, folded=folded, collapsed=not folded and c > 0 and cols[c - 1].detail)
    ws.set_row(0, None, None, {"hidden": True})
    b.fit(ws, 1, dict(enumerate(labels)), size=HEAD_FONT_SIZE)
    first = [c for c in cols if c.source in ("unit", "meta") and c.key != "file"]
    if cols.index(first[-1]) + 1 != cols.index(figure_columns(spec)[0]) or cols[-1].key != "file":
        raise RuntimeError("汇总表的列顺序与写入方式不一致：这是程序错误，请报告")
    style, text, yes_no, wrap = b.style, b.style["text"], b.style["yesno"], b.style["wrap"]
    wrapping = {i: c.width for i, c in enumerate(cols) if c.fmt == "wrap"}
    where = {i: c for i, c in enumerate(cols)}

    def value(unit: dict[str, Any], col: Column) -> Any:
        return (unit.get("meta") or {}).get(col.key) if col.source == "meta" else unit.get(col.key)

    def rows() -> Iterator[str]:
        writers = [(c, sheetxml.column_cell(wrap, wrap, yes_no) if c.fmt == "wrap" else
                    sheetxml.column_cell(style.get(c.fmt, text), text, yes_no)) for c in first]
        for r, unit in enumerate(data["units"], start=3):
            head = "".join([write(value(unit, c)) for c, write in writers])
            tail = sheetxml.cell(unit["file"], wrap, wrap, yes_no)
            height = wrapped_height({i: value(unit, where[i]) for i in wrapping}, wrapping)
            yield spliced_row(r, (head, _unit_figures(unit, spec), tail), height)
    last = len(data["units"]) + 2
    if data["units"]:
        b.splices[b.part(ws)] = (rows(), last, len(cols))
    last -= 1                           # 0-based from here on, as XlsxWriter counts
    ws.freeze_panes(2, 1)
    ws.autofilter(1, 0, max(last, 1), len(cols) - 1)
    if data["units"]:
        state = [c for c, col in enumerate(cols) if col.key == "state"][0]
        ws.conditional_format(2, state, last, state, {"type": "cell", "criteria": "==", "value": f'"{BLOCKED}"',
                                                      "format": b.f["red"]})
    name = cols[0].width
    printed = sum(c.width for c in cols if not c.detail)
    across = max(1, math.ceil((printed - name) / (LANDSCAPE_WIDTH / SUMMARY_SCALE - name)))
    b.print_setup(ws, len(cols) - 1, title_rows=(0, 1), title_col=True, pages_wide=across, across=True)


FINDING_COLUMNS = (("file", "文件", 26, "wrap"), ("unit_name", "单位名称", 18, "wrap"),
                   ("unit_code", "统一社会信用代码", 20, "text"), ("code", "代码", 6, "text"),
                   ("severity", "严重程度", 7, "wrap"), ("title", "问题", 14, "wrap"), ("count", "处数", 6, "count"),
                   ("names", "数据项", 22, "wrap"), ("cells", "单元格", 16, "wrap"), ("message", "说明", 44, "wrap"))
"""问题清单: one row per file and problem code, with how many times it occurs, where, and what to do."""

PER_RUN = ("I304",)
"""Notes said once for the run in 说明 (how many files), not on a row of 问题清单 for every file."""

LISTED = 10
"""At most this many data items or cells named in a row of 问题清单; the rest are counted (「等 50 处」)."""


def name_labels(spec: Spec, year: int) -> dict[str, str]:
    """Contract name → its meaning as 问题清单 names it: 「2021年度 电消耗量（千瓦时）」, 「自评分 2.1.1」,
    「统一社会信用代码」, a review pack's 「自治区机关事务管理局评分 总分」."""
    labels = {n.name: short_label(n.meaning) if n.kind == "meta" else year_label(n.meaning, year)
              for n in contract_names(spec)}
    for level in spec.assessment.reviewers:
        for n in review_names(spec, level):
            labels.setdefault(n.name, short_label(n.meaning))
    return labels


def _listed(items: list[str], unit: str) -> str:
    shown_items = "、".join(items[:LISTED])
    return shown_items + (f" 等 {len(items)} {unit}" if len(items) > LISTED else "")


def _cells_text(cells: list[str]) -> str:
    """「能耗数据2021!C9、C10；自评表!F12」: the cells by sheet, each sheet named once."""
    by_sheet: dict[str, list[str]] = {}
    for cell in dict.fromkeys(cells):
        sheet, _, ref = cell.rpartition("!")
        by_sheet.setdefault(sheet, []).append(ref)
    refs = [(sheet, ref) for sheet, found in by_sheet.items() for ref in found]
    shown_refs: dict[str, list[str]] = {}
    for sheet, ref in refs[:LISTED]:
        shown_refs.setdefault(sheet, []).append(ref)
    text = "；".join((f"{sheet}!" if sheet else "") + "、".join(found) for sheet, found in shown_refs.items())
    return text + (f" 等 {len(refs)} 处" if len(refs) > LISTED else "")


def finding_rows(findings: list[dict[str, Any]], labels: dict[str, str], packs: set[str] = frozenset()
                 ) -> list[list[Any]]:
    """The rows of 问题清单 (`FINDING_COLUMNS`): the findings of each unit grouped by code — one blank return's 50
    unscored indicators are one row of 50 — in file order, each code where it first occurs; `PER_RUN` codes left
    out (说明 counts them). A unit is a returned file, or in a review pack (`packs`) one scorecard: the sheet of
    the finding's cell."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for f in findings:
        if f["code"] not in PER_RUN:
            card = (f["cell"] or "").rpartition("!")[0] if f["file"] in packs else ""
            groups.setdefault((f["file"], card, f["code"]), []).append(f)
    rows = []
    for (path, _, code), found in groups.items():
        first = found[0]
        names = list(dict.fromkeys(labels.get(f["name"], f["name"]) for f in found if f["name"]))
        messages = list(dict.fromkeys(f["message"] for f in found))
        message = "；".join(messages[:3]) + (f"……（共 {len(found)} 处）" if len(messages) > 3 else "")
        rows.append([path, first["unit_name"], first["unit_code"], code, first["severity"], first["title"],
                     len(found), _listed(names, "项"), _cells_text([f["cell"] for f in found if f["cell"]]), message])
    return rows


def _findings(b: _Book, data: dict[str, Any], spec: Spec, facts: FileFacts) -> None:
    ws = b.sheets["问题清单"]
    rows = finding_rows(data["findings"], name_labels(spec, b.year), facts.packs)
    empty = "未发现问题" + ("（文件无计算结果缓存的提示见「说明」）" if data["findings"] else "")
    b.big_table(ws, [c[1] for c in FINDING_COLUMNS], [c[2] for c in FINDING_COLUMNS],
                [c[3] for c in FINDING_COLUMNS], rows, empty, len(rows))
    if rows:
        sev = chr(ord("A") + [c[0] for c in FINDING_COLUMNS].index("severity"))
        for word, fmt in (("错误", "red"), ("警告", "yellow")):
            ws.conditional_format(1, 0, len(rows), len(FINDING_COLUMNS) - 1,
                                  {"type": "formula", "criteria": f'=${sev}2="{word}"', "format": b.f[fmt]})
    b.print_setup(ws, len(FINDING_COLUMNS) - 1, title_rows=(0, 0))


def _unit_labels(spec: Spec) -> dict[str, str]:
    by_name = {n.name: n for n in contract_names(spec)}
    return {k: short_label(by_name[k].meaning) for k in UNIT_NAMES}


def _without_roster(b: _Book, ws, data: dict[str, Any], note: str) -> bool:
    """No roster given: the sheet says what it cannot tell, instead of an empty table."""
    if data["not_returned"] is not None:
        return False
    b.width(ws, 0, 60)
    b.wrapped(ws, 0, 0, note, "note")
    b.print_setup(ws, 0)
    return True


def _not_returned(b: _Book, data: dict[str, Any], spec: Spec) -> None:
    ws = b.sheets["未报送"]
    if _without_roster(b, ws, data, NO_ROSTER):
        return
    lab = _unit_labels(spec)
    rows = [[e["name"], e["code"], e["level"], e["region"], _mismatch_note(e["mismatched_files"])]
            for e in data["not_returned"]]
    b.table(ws, 0, [lab["unit_name"], lab["unit_code"], lab["unit_level"], lab["unit_region"], "说明"],
            [24, 20, 10, 12, 32], rows, "无：名单内单位均已报送", ["wrap", "text", "text", "wrap", "wrap"])
    b.print_setup(ws, 4, title_rows=(0, 0))


def _mismatch_note(paths: list[str]) -> str:
    """Why a unit whose code came back is still 未报送: the files under its code do not match the roster (D504)."""
    if not paths:
        return ""
    return (f"以该代码交回的文件与名单不符（D504）：{'、'.join(paths)}。请核实是否为该单位交回；确认前按未报送处理")


def _duplicates(b: _Book, data: dict[str, Any], spec: Spec, facts: FileFacts) -> None:
    ws = b.sheets["重复报送"]
    rules = sorted({d["rule"] for d in data["duplicates"]})
    note = ("同一统一社会信用代码收到多份文件时，只采用其中一份（是否采用＝是），其余文件列出但不参与汇总和排名。"
            + (f"采用规则：{'；'.join(rules)}" if rules else ""))
    rows = []
    for d in data["duplicates"]:
        for path in d["files"]:
            f = facts.duplicated.get(path, {})
            used = "是" if path == d["chosen"] else "否"
            if d["conflict"]:
                used = "暂列，须人工确认" if path == d["chosen"] else "否，须人工确认"
            rows.append([d["unit_code"], f.get("unit_name"), path, f.get("status_label"), used,
                         d["rule"] + (f"不一致之处：{d['conflict']}" if d["conflict"] else "")])
    lab = _unit_labels(spec)
    b.table(ws, 2, [lab["unit_code"], lab["unit_name"], "文件", "文件状态", "是否采用", "采用规则"],
            [20, 18, 28, 8, 10, 40], rows, "未发现重复报送", ["text", "wrap", "wrap", "text", "wrap", "wrap"])
    b.wrapped(ws, 0, 0, note, "note", span=6)        # after the table has set the widths it wraps in
    b.print_setup(ws, 5, title_rows=(2, 2))


def _outside(b: _Book, data: dict[str, Any], spec: Spec) -> None:
    ws = b.sheets["名单外"]
    if _without_roster(b, ws, data, NO_ROSTER_OUTSIDE):
        return
    lab = _unit_labels(spec)
    rows = [[f["path"], f["unit_name"], f["unit_code"], f["unit_level"], f["unit_region"], f["state"]]
            for f in data["outside_roster"]]
    b.table(ws, 0, ["文件", lab["unit_name"], lab["unit_code"], lab["unit_level"], lab["unit_region"], "状态"],
            [26, 18, 20, 10, 12, 12], rows, "无：所有报送单位均在名单内", ["wrap", "wrap", "text", "text", "wrap", "wrap"])
    b.print_setup(ws, 5, title_rows=(0, 0))


STAT_COLUMNS = (("returned", "报送数", "count"), ("valid", "有效数", "count"), ("targets_all_met", None, "count"),
                ("average_self_total", "平均自评分", "score"), ("self_pass", None, "count"),
                ("pass_rate", "自评达标率", "percent"))
_NUMERALS = "零一二三四五六七八九十"


def _stat_labels(stats: dict[str, Any]) -> list[str]:
    n = stats["targets"]
    labels = {"targets_all_met": f"{_NUMERALS[n] if n <= 10 else n}项目标全部达标数",
              "self_pass": f"自评达到{stats['pass_line']:g}分数"}
    return [label or labels[key] for key, label, _ in STAT_COLUMNS]


STAT_WIDTHS = [18] + [10] * len(STAT_COLUMNS)
CHART_WIDTH = 7 * sum(STAT_WIDTHS) + 5
"""Pixels: the charts of 统计 under its tables are as wide as the tables (7 pixels a width unit)."""
CHART_GAP, CHART_GAP_PX, MIN_CHART_WIDTH = 2, 20, 400
"""The column between the tables and the charts beside them; pixels between the two charts; the narrowest chart
(pixels) placed beside the tables."""


def _stat_table(b: _Book, ws, row: int, first: str, groups: list[dict[str, Any]], total: dict[str, Any],
                labels: list[str]) -> int:
    b.header(ws, row, [first, *labels])
    for r, g in enumerate(groups, start=row + 1):
        b.put(ws, r, 0, g["group"], "wrap")
        for c, (key, _, fmt) in enumerate(STAT_COLUMNS, start=1):
            b.put(ws, r, c, g[key], fmt)
    r = row + 1 + len(groups)
    ws.write_string(r, 0, "合计", b.f["total"])
    for c, (key, _, fmt) in enumerate(STAT_COLUMNS, start=1):
        if total[key] is None:
            ws.write_blank(r, c, None, b.f["total"])
        else:
            ws.write_number(r, c, total[key], b.f[f"total_{fmt}"])
    return r + 2


def _statistics(b: _Book, data: dict[str, Any]) -> None:
    """Three tables (by region, by level, the score distribution) and two charts: beside the tables on one
    landscape page when they fit there, else under them from a new page — whole on a page either way."""
    ws = b.sheets["统计"]
    stats = data["statistics"]
    labels = _stat_labels(stats)
    for c, w in enumerate(STAT_WIDTHS):
        b.width(ws, c, w)
    ws.write_string(0, 0, "统计（按所属地区、单位层级）", b.f["title"])
    b.wrapped(ws, 1, 0, f"报送数：参与汇总的单位（每个单位一份文件）；有效数：其中无错误的单位。达标数、"
              f"平均自评分、自评达到{stats['pass_line']:g}分数和达标率只计有效单位；自评达标率＝自评达到"
              f"{stats['pass_line']:g}分数 ÷ 有效数。", "note", span=len(STAT_WIDTHS))
    region_row = 3
    row = _stat_table(b, ws, region_row, "所属地区", stats["by_region"], stats["total"], labels)
    row = _stat_table(b, ws, row, "单位层级", stats["by_level"], stats["total"], labels)
    dist_row = row
    b.header(ws, dist_row, ["自评总分分数段（有效单位，含下限不含上限）", "单位数"])
    for r, bucket in enumerate(stats["score_distribution"], start=dist_row + 1):
        ws.write_string(r, 0, bucket["label"], b.f["text"])
        ws.write_number(r, 1, bucket["count"], b.f["count"])

    n = len(stats["score_distribution"])
    regions = len(stats["by_region"])
    dist_height, bar_height = 250, max(230, 90 + 34 * regions)          # pixels
    # Beside the tables on one landscape page when both charts fit its height there; else under the tables,
    # from a new portrait page (a chart is never cut by a page break).
    beside_width = int(7 * (LANDSCAPE_WIDTH - sum(STAT_WIDTHS) - CHART_GAP))
    beside = (b.row_points(ws, 0, region_row - 1) + 0.75 * (dist_height + CHART_GAP_PX + bar_height)
              <= LANDSCAPE_PAGE_HEIGHT) and beside_width >= MIN_CHART_WIDTH
    if beside:
        b.width(ws, len(STAT_WIDTHS), CHART_GAP)
        at, col, width = region_row, len(STAT_WIDTHS) + 1, beside_width
        second, offset = region_row, dist_height + CHART_GAP_PX
    else:
        at, col, width = dist_row + n + 2, 0, CHART_WIDTH
        second, offset = at + math.ceil(dist_height / 20) + 2, 0            # default rows: 20 pixels
        ws.set_h_pagebreaks([at] + ([second] if (second - at) * 15 + bar_height * 0.75 > PORTRAIT_PAGE_HEIGHT else []))
    dist = b.wb.add_chart({"type": "column"})
    dist.add_series({"name": "单位数", "categories": ["统计", dist_row + 1, 0, dist_row + n, 0],
                     "values": ["统计", dist_row + 1, 1, dist_row + n, 1], "data_labels": {"value": True},
                     "fill": {"color": "#5B9BD5"}})
    dist.set_title({"name": "自评总分分布（有效单位）", "name_font": {"size": 12}})
    dist.set_legend({"none": True})
    dist.set_y_axis({"name": "单位数", "min": 0, "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    dist.set_size({"width": width, "height": dist_height})
    ws.insert_chart(at, col, dist)

    if regions:
        rate_col = 1 + [k for k, _, _ in STAT_COLUMNS].index("pass_rate")
        bar = b.wb.add_chart({"type": "bar"})
        bar.add_series({"name": "自评达标率", "categories": ["统计", region_row + 1, 0, region_row + regions, 0],
                        "values": ["统计", region_row + 1, rate_col, region_row + regions, rate_col],
                        "data_labels": {"value": True, "num_format": "0.0%", "position": "inside_end"},
                        "fill": {"color": "#70AD47"}})
        bar.set_title({"name": f"各地区自评达到{stats['pass_line']:g}分的比例（有效单位）", "name_font": {"size": 12}})
        bar.set_legend({"none": True})
        bar.set_x_axis({"min": 0, "max": 1, "num_format": "0%"})
        bar.set_y_axis({"reverse": True, "crossing": "max", "interval_unit": 1})   # top down as in the table
        bar.set_size({"width": width, "height": bar_height})
        ws.insert_chart(second, col, bar, {"y_offset": offset})
    else:
        b.wrapped(ws, second, 0, "没有参与汇总的单位，未生成各地区达标率图。", "note", span=len(STAT_WIDTHS))
    b.print_setup(ws, len(STAT_WIDTHS) - 1, title_rows=(0, 0), landscape=beside)


FILE_COLUMNS = (("path", "文件", 34, "wrap"), ("kind_label", "类型", 10, "text"), ("size", "大小（字节）", 9, "count"),
                ("sha256", "文件校验码（SHA-256）", 66, "text"), ("status_label", "状态", 7, "text"),
                ("unit_code", "统一社会信用代码", 20, "text"), ("unit_name", "单位名称", 18, "wrap"),
                ("used", "是否采用", 6, "text"), ("skip_reason", "跳过原因", 20, "wrap"),
                ("template_version", "模板版本", 8, "text"), ("errors", "错误数", 6, "count"),
                ("warnings", "警告数", 6, "count"))


def _files(b: _Book, data: dict[str, Any]) -> None:
    rows = ([f[k] if k != "used" or f[k] is None else ("是" if f[k] else "否") for k, _, _, _ in FILE_COLUMNS]
            for f in data["files"])
    ws = b.sheets["文件清单"]
    b.big_table(ws, [c[1] for c in FILE_COLUMNS], [c[2] for c in FILE_COLUMNS], [c[3] for c in FILE_COLUMNS], rows,
                "没有发现文件", len(data["files"]))
    # The SHA-256 is for programs that check a file, not for paper: folded (one click shows it), not printed.
    sha = [c[0] for c in FILE_COLUMNS].index("sha256")
    b.width(ws, sha, FILE_COLUMNS[sha][2], folded=True)
    b.width(ws, sha + 1, FILE_COLUMNS[sha + 1][2], collapsed=True)
    b.print_setup(ws, len(FILE_COLUMNS) - 1, title_rows=(0, 0))


# ---------------------------------------------------------------- review results

def _yes(value: Any) -> str | None:
    return None if value is None else "是" if value else "否"


NO_REVIEWS = ("本次汇总没有读取到评审包，所有单位都在等待评审，不计算综合得分和排名。评审部门用 jieyue review-pack 生成"
              "评审包、评分后交回，放入回收目录（或用 --reviews 指定目录）再次汇总即可。")


def _no_reviews(b: _Book, ws, data: dict[str, Any], facts: FileFacts) -> bool:
    """Before any review pack came back, one note instead of a row per unit that all say the same."""
    if data["reviews"] or facts.packs or data["review_rules"]["final"]:
        return False                    # (the final consolidation lists every unit's state, reviewed or not)
    b.width(ws, 0, 90)
    b.wrapped(ws, 0, 0, NO_REVIEWS, "note")
    b.print_setup(ws, 0)
    return True


def _results(b: _Book, data: dict[str, Any], spec: Spec, facts: FileFacts) -> None:
    ws = b.sheets["评审结果"]
    if _no_reviews(b, ws, data, facts):
        return
    reviewers = list(spec.assessment.reviewers)
    lab = _unit_labels(spec)
    labels = [lab["unit_name"], lab["unit_code"], lab["unit_level"], lab["unit_region"], "类型", "自评分",
              *(f"{spec.assessment.reviewers[k]}" for k in reviewers), "综合得分", "状态", "排名",
              f"达标（≥{spec.assessment.pass_line:g}分）", "拟摘牌", "摘牌线并列（待定）", "说明", "文件"]
    widths = [20, 20, 9, 10, 5, 7, *([9] * len(reviewers)), 7, 10, 5, 6, 6, 7, 30, 24]
    fmts = ["wrap", "text", "wrap", "wrap", "text"] + ["score"] * (2 + len(reviewers)) + ["wrap", "count", "text",
                                                                                          "text", "text", "wrap", "wrap"]
    rows = ([r["unit_name"], r["unit_code"], r["unit_level"], r["unit_region"], r["cohort"], r["self_total"],
             *(r["scores"][k] for k in reviewers), r["composite"], r["state"], r["rank"], _yes(r["pass"]),
             "是" if r["eliminated"] else None, "是" if r["tie_at_cut"] else None, _explain(r, spec), r["file"]]
            for r in data["review_results"])
    last = len(data["review_results"])
    b.big_table(ws, labels, widths, fmts, rows, "没有参与汇总的单位", last)
    if last:
        eliminated = labels.index("拟摘牌")
        state = labels.index("状态")
        ws.conditional_format(1, eliminated, last, eliminated, {"type": "cell", "criteria": "==", "value": '"是"',
                                                                "format": b.f["red"]})
        ws.conditional_format(1, state, last, state, {"type": "text", "criteria": "begins with",
                                                      "value": WAITING, "format": b.f["yellow"]})
        for word in (INCOMPLETE, INCOMPLETE_CREATION):
            ws.conditional_format(1, state, last, state, {"type": "cell", "criteria": "==", "value": f'"{word}"',
                                                          "format": b.f["red"]})
    b.print_setup(ws, len(labels) - 1, title_rows=(0, 0))


def _explain(r: dict[str, Any], spec: Spec) -> str:
    """Why a unit stands where it stands, in one line: what its return needs, waiting for whom, the re-check,
    摘牌 reason."""
    parts = []
    if r["state"] == NOT_RANKED:            # no review waits for a return with errors: the unit must act first
        parts.append(RESUBMIT)
    elif r["waiting"]:
        parts.append("等待" + "、".join(spec.assessment.reviewers[k] for k in r["waiting"]))
    if r["recheck"]:
        parts.append(r["recheck"])
    if r["not_counted"]:
        parts.append("不计入：" + "、".join(spec.assessment.reviewers[k] for k in r["not_counted"]))
    if r["reason"]:
        parts.append(r["reason"])
    if r["tie_at_cut"]:
        parts.append("与摘牌线上的单位得分相同，是否摘牌请人工确定")
    return "；".join(parts)


RESUBMIT = "单位交回的工作簿有错误（见「问题清单」）：须由单位改正后重新报送，再纳入评审和排名"
"""评审结果 of a unit whose return has a 错误: what is needed, instead of the reviews it would otherwise wait for."""

PROGRESS_COLUMNS = (("unit_name", "单位名称", 20, "wrap"), ("unit_code", "统一社会信用代码", 20, "text"),
                    ("unit_level", "单位层级", 9, "wrap"), ("unit_region", "所属地区", 10, "wrap"),
                    ("reviewer_label", "评审部门", 16, "wrap"), ("weighed", "计入综合得分", 6, "text"),
                    ("status", "评审状态", 10, "wrap"), ("missing", "未评项数", 6, "count"),
                    ("total", "评审总分", 7, "score"), ("reviewer_name", "评审人", 12, "wrap"),
                    ("file", "评审包", 24, "wrap"), ("sheet", "评分表", 16, "wrap"),
                    ("overdue", "逾期", 6, "text"))


def _progress(b: _Book, data: dict[str, Any], facts: FileFacts) -> None:
    ws = b.sheets["评审进度"]
    if _no_reviews(b, ws, data, facts):
        return
    rows = ([_yes(p.get(k)) if k in ("weighed", "overdue") else p[k] for k, _, _, _ in PROGRESS_COLUMNS]
            for p in data["review_progress"])
    count = len(data["review_progress"])
    b.big_table(ws, [c[1] for c in PROGRESS_COLUMNS], [c[2] for c in PROGRESS_COLUMNS],
                [c[3] for c in PROGRESS_COLUMNS], rows, "没有参与汇总的单位", count)
    if count:
        status = [c[0] for c in PROGRESS_COLUMNS].index("status")
        for word, fmt in ((NOT_RECEIVED, "red"), (NOT_STARTED, "red"), (UNFINISHED, "yellow")):
            ws.conditional_format(1, status, count, status, {"type": "cell", "criteria": "==",
                                                                 "value": f'"{word}"', "format": b.f[fmt]})
        late = len(PROGRESS_COLUMNS) - 1                  # 逾期: past its stage's due date (进度)
        ws.conditional_format(1, late, count, late, {"type": "cell", "criteria": "==", "value": '"是"',
                                                         "format": b.f["red"]})
    b.print_setup(ws, len(PROGRESS_COLUMNS) - 1, title_rows=(0, 0))


AVERAGE_COLUMNS = (("indicator", "指标", 7, "text"), ("text", "指标内容", 72, "wrap"), ("points", "分值", 6, "score"),
                   ("self_average", "自评平均分", 8, "score"), ("self_rate", "自评得分率", 8, "percent"),
                   ("review_average", "评审平均分", 8, "score"), ("review_rate", "评审得分率", 8, "percent"),
                   ("scorecards", "评分表数", 7, "count"))


def _averages(b: _Book, data: dict[str, Any]) -> None:
    """Every indicator's averages under one header; then the lowest (the same columns, under the same frozen
    header) and their chart, which starts a page so that no page break cuts it."""
    ws = b.sheets["指标得分"]
    averages = data["indicator_averages"]
    keys = [c[0] for c in AVERAGE_COLUMNS]
    b.header(ws, 1, [c[1] for c in AVERAGE_COLUMNS], [c[2] for c in AVERAGE_COLUMNS])
    b.wrapped(ws, 0, 0, "各项指标的平均得分与得分率（自评：无错误的单位；评审：已评完并采用的评分表；未得分计0）",
              "bold_wrap", span=len(AVERAGE_COLUMNS))
    ws.freeze_panes(2, 1)

    def row(r: int, a: dict[str, Any]) -> None:
        for c, (key, _, _, fmt) in enumerate(AVERAGE_COLUMNS):
            b.put(ws, r, c, a[key], fmt)
    for r, a in enumerate(averages, start=2):
        row(r, a)
    low = rc.lowest(averages)
    at = len(averages) + 3
    b.wrapped(ws, at, 0, f"得分率最低的 {len(low)} 项（按评审得分率，无评审时按自评得分率）", "bold_wrap",
              span=len(AVERAGE_COLUMNS))
    for r, a in enumerate(low, start=at + 1):
        row(r, a)
    if low:
        chart = b.wb.add_chart({"type": "bar"})
        first, last = at + 1, at + len(low)
        for key, name, color in (("review_rate", "评审得分率", "#ED7D31"), ("self_rate", "自评得分率", "#5B9BD5")):
            col = keys.index(key)
            chart.add_series({"name": name, "categories": ["指标得分", first, 0, last, 0],
                              "values": ["指标得分", first, col, last, col], "fill": {"color": color}})
        chart.set_title({"name": "得分率最低的指标（哪些要求最常失分）"})
        chart.set_x_axis({"min": 0, "max": 1, "num_format": "0%"})
        chart.set_y_axis({"reverse": True, "crossing": "max"})
        chart.set_legend({"position": "bottom"})
        height = 150 + 20 * len(low)
        chart.set_size({"width": 7 * sum(c[2] for c in AVERAGE_COLUMNS), "height": height})
        ws.insert_chart(last + 2, 0, chart)
        # A new page for the lowest and their chart when they fit on one, else for the chart alone: a chart is
        # never cut by a page break.
        room = page_height(b.printed_width(ws, len(AVERAGE_COLUMNS) - 1), landscape=False) - b.row_points(ws, 1, 1)
        section = b.row_points(ws, at, last + 1) + height * 0.75
        ws.set_h_pagebreaks([at if section <= room else last + 2])
    # Portrait, scaled to the width: a long list of texts takes fewer pages than landscape at full size.
    b.print_setup(ws, len(AVERAGE_COLUMNS) - 1, title_rows=(1, 1), landscape=False)


def _review_notes(b: _Book, ws, r: int, data: dict[str, Any], spec: Spec, facts: FileFacts) -> int:
    """The review counts and every rule (with its open question) that decided composites, ranks and 摘牌."""
    a, rules = spec.assessment, data["review_rules"]
    counts = data["review_summary"]
    packs = _packs_read(data, facts.used_packs)
    b.put(ws, r, 0, "评审与排名", "bold_wrap")
    weights = "；".join(f"{lv.label} " + " + ".join(f"{w:g}×{'自评' if k == 'self' else a.reviewers[k]}"
                                                   for k, w in lv.weights.items()) for lv in a.levels.values())
    lines = [
        f"读取评审包 {packs}、评分表 {len(data['reviews'])} 张；单位 {counts['units']} 个：已评审 {counts['reviewed']}，"
        f"待评审 {counts['waiting']}，参与排名 {counts['ranked']}，达标 {counts['passed']}，不达标 {counts['failed']}，"
        f"拟摘牌 {counts['eliminated']}（其中摘牌线并列待定 {counts['tie_at_cut']}）。",
        f"综合得分：{weights}。所需评审部门的评分未收到或未评完的单位为「待评审」，不计为0分、不参与排名。",
        f"自治区复核：{rules['recheck_text']}。（{rules['open_questions'][0]}）",
        f"排名与摘牌：本次{rules['scope_text']}（可用命令参数 --scope 全区 或 --scope 地州市 改选）；末位 {rules['ratio']:.0%}"
        f"（{rules['rounding_text']}）为拟摘牌；得分并列时排名相同，摘牌线落在并列分数内时全部标记「待定」，由人工确定；"
        f"综合得分低于{rules['pass_line']:g}分为不达标，"
        f"{'同时摘牌' if rules['below_pass_line_eliminated'] else '单独列示，不自动摘牌'}。（{rules['open_questions'][1]}）",
        f"重复评分表：{CARD_RULE}",
        "有错误的单位工作簿不参与排名；评审包中的分数均按评审给分和处数重算，第一单元按单位交回的数据重算。",
        *_base_lines(rules, counts, spec),
    ]
    for line in lines:
        b.put(ws, r, 1, line, "wrap")
        r += 1
    return r + 1


def _packs_read(data: dict[str, Any], used: frozenset[str]) -> str:
    """「3 份」, or with packs in parts (`review-pack --split`) each counted once: 「3 份（其中 1 份分为 4 个工作簿，
    收到 3 个，缺少第 2 部分，见「问题清单」R609）」."""
    split = [p for p in data["review_packs"] if p["parts"] > 1 and any(q["file"] in used for q in p["received"])]
    in_parts = {q["file"] for p in split for q in p["received"]}
    count = len(used - in_parts) + len(split)
    if not split:
        return f"{count} 份"
    notes = []
    for p in split:
        received = len({q["part"] for q in p["received"] if q["used"]})
        missing = "、".join(f"第 {n} 部分" for n in p["missing"][:5]) + ("等" if len(p["missing"]) > 5 else "")
        notes.append(f"{p['reviewer_label'].removesuffix('评分')}的评审包分为 {p['parts']} 个工作簿，收到 {received} 个"
                     + (f"，缺少{missing}（见「问题清单」R609）" if p["missing"] else ""))
    return f"{count} 份（其中{'；'.join(notes)}）"


def _base_lines(rules: dict[str, Any], counts: dict[str, Any], spec: Spec) -> list[str]:
    """The 5 % base this run used and how many units it counted, the cohorts, and what happens to a unit that did
    not complete (a person decides)."""
    groups = rules["elimination_groups"]
    per_group = ("；".join(f"{g['group']}：基数 {g['base']}，参与排名 {g['ranked']}，拟摘牌 {g['count']} 个" for g in groups)
                 if len(groups) > 1 else "")
    ranked = sum(g["ranked"] for g in groups)
    return [
        f"摘牌比例的基数：{rules['elimination_base_text']}。"
        f"本次基数 {rules['elimination_base_units']} 个单位，参与排名 {ranked} 个，拟摘牌 {rules['elimination_count']} 个"
        f"（{rules['ratio']:.0%} × {rules['elimination_base_units']}，{rules['rounding_text']}，不超过参与排名的单位数）"
        + (f"。{per_group}" if per_group else "") + f"。（{rules['open_questions'][2]}）",
        f"复验与创建：名单「类型」列为复验的单位参与摘牌排名；为创建的单位按{spec.assessment.pass_line:g}分判定达标或不达标，"
        f"不参与摘牌排名（本次创建单位 {counts['creation']} 个；名单没有「类型」列时均按复验计）。",
        ("本次为截止后的最终汇总（--final）：未报送、工作簿有错误未改正、仍待评审的单位列为「未完成复验」"
         f"（本次 {counts['incomplete']} 个），不参与排名；{rules['incomplete']}。" if rules["final"] else
         f"本次不是最终汇总：名单中尚未交回的单位列为「未报送」（本次 {counts['not_returned']} 个）。截止后用 --final "
         f"再汇总一次，未报送、有错误未改正、仍待评审的单位列为「未完成复验」；{rules['incomplete']}。"),
    ]


YEAR_SOURCE = {"option": "按命令参数 --year 指定；其他年度的文件报 F111",
               "returns": "交回的工作簿中最多的年度；其他年度的文件报 F111",
               "spec": "没有交回的工作簿，按规格的最新年度"}


def presets_line(data: dict[str, Any]) -> str:
    """Which presets the returns were recomputed with: each file with the preset it was made for."""
    used = data["presets_used"]
    counts = "、".join(f"{p}（{len(paths)} 个工作簿）" for p, paths in used.items()) or "（没有可重算的工作簿）"
    only = f"；本次只接受 {data['preset']}（--preset），其他预设的文件报 F113" if data["preset"] else ""
    mixed = "；混用了不同的预设，见「问题清单」D503" if len(used) > 1 else ""
    return f"每个工作簿按其生成时的系数预设重算：{counts}{only}{mixed}"


def _notes(b: _Book, data: dict[str, Any], spec: Spec, facts: FileFacts) -> None:
    ws = b.sheets["说明"]
    acc = data["accounting"]
    b.width(ws, 0, 16)
    b.width(ws, 1, 80)
    ws.write_string(0, 0, f"{data['year']}年节约型机关复验 汇总说明", b.f["title"])
    year = spec.year(data["year"]) if data["year"] in spec.years else None
    rows = [("复验年度", f"{data['year']}（{YEAR_SOURCE[data['year_source']]}）"),
            *([("本年度的选择", f"规格为 {year.year} 年复验所列：系数预设 {year.preset}，电力排放因子 {year.grid_factor}，"
                              f"评价标准「{spec.standard(None, year.year).label}」")] if year else []),
            ("系数预设", presets_line(data)), ("回收目录", data["folder"]), ("文件核算", accounting_line(acc)),
            ("签名核验", data["signatures"]["note"]),
            *((("本次汇总的提示", "\n".join(data["notices"])),) if data["notices"] else ())]
    r = 2
    for label, value in rows:
        b.put(ws, r, 0, label, "bold_wrap")
        b.put(ws, r, 1, value, "wrap")
        r += 1
    r += 1
    b.header(ws, r, ["文件状态", "文件数"])
    for label, n in ((STATUS_LABEL[CONSOLIDATED], acc[CONSOLIDATED]), (STATUS_LABEL[REJECTED], acc[REJECTED]),
                     (STATUS_LABEL[SKIPPED], acc[SKIPPED])):
        r += 1
        ws.write_string(r, 0, label)
        ws.write_number(r, 1, n, b.f["count"])
    r += 1
    ws.write_string(r, 0, "共发现文件", b.f["total"])
    ws.write_number(r, 1, acc["seen"], b.f["total_count"])
    total = data["statistics"]["total"]
    not_used = facts.not_used
    r += 2
    for label, n in (("参与汇总的单位", total["returned"]), ("其中有效（无错误）", total["valid"]),
                     (f"{NOT_USED}的文件", not_used)):
        b.put(ws, r, 0, label, "wrap")
        ws.write_number(r, 1, n, b.f["count"])
        r += 1
    r += 1
    b.put(ws, r, 0, DISAPPEARED, "bold_wrap")
    if not data["disappeared"]:
        ws.write_string(r, 1, "无")
    for path in data["disappeared"]:
        b.put(ws, r, 1, path, "wrap")
        r += 1
    r += 2
    r = _review_notes(b, ws, r, data, spec, facts)
    b.put(ws, r, 0, "状态说明", "bold_wrap")
    for line in (f"{STATUS_LABEL[CONSOLIDATED]}：文件已读取并重算，单位列入「汇总」；有错误的单位列入但不参与排名。",
                 f"{STATUS_LABEL[REJECTED]}：文件无法使用（不是本程序生成的填报工作簿或评审包等），原因见「问题清单」。",
                 f"{STATUS_LABEL[SKIPPED]}：不作为工作簿读取（佐证材料另行登记，见「佐证材料」；Excel 锁定文件 ~$…、隐藏或"
                 "系统文件等不是报送文件），原因见「文件清单」。",
                 "所有数值均由本程序按填报的原始数据重新计算，不采用文件中缓存的计算结果。",
                 *_per_run_notes(data)):
        b.put(ws, r, 1, line, "wrap")
        r += 1
    r += 1
    for title, lines in (("读表与打印", READING), ("待核实的取值", _open_questions(data, spec))):
        b.put(ws, r, 0, title, "bold_wrap")
        for line in lines:
            b.put(ws, r, 1, line, "wrap")
            r += 1
        r += 1
    b.print_setup(ws, 1, title_rows=(0, 0))


READING = (
    "「汇总」每个单位一行。第 1 行（已隐藏）是各列的数据约定名称，与填报工作簿中的名称、JSON 报告的键相同，供编程或"
    "公式引用（取消隐藏即可看到；各名称的含义可用命令 jieyue spec --names 列出）；第 2 行是各列的中文标题和筛选按钮。",
    "「汇总」中各能源的折标准煤、碳排放量等中间结果列已折叠：点击列标上方的「+」展开；折叠的列不打印。"
    "打印时每页左侧重复单位名称，按先左右、后上下的顺序分页。",
    "「问题清单」每个文件的每种问题一行，写明处数、涉及的数据项和单元格；每一处问题的明细见同时生成的 JSON 报告。",
    "每页的页眉为「汇总」、复验年度和工作表名称，页脚为页码和打印日期（打印日期由 Excel、WPS 在打印时填入，"
    "因此同一批文件每次生成的汇总表完全相同）。",
)


def _per_run_notes(data: dict[str, Any]) -> list[str]:
    """The `PER_RUN` findings said once: how many files they concern (问题清单 leaves them out)."""
    out = []
    for code in PER_RUN:
        found = [f for f in data["findings"] if f["code"] == code]
        if found:
            files = len({f["file"] for f in found})
            out.append(f"{found[0]['title']}（{code}，{found[0]['severity']}）：{files} 个文件。{found[0]['message']}；"
                       "结果不受影响，不在「问题清单」中逐个列出。")
    return out


def _open_questions(data: dict[str, Any], spec: Spec) -> list[str]:
    """What the administrator should know is not settled (the units are not told): the unverified factors of
    every preset this run used, the 口径 choices and the inferred indicators."""
    out = list(data.get("year_flags") or ())
    for pid in data["presets_used"] or [spec.default_preset]:
        preset = spec.preset(pid)
        out += [f"系数预设 {pid}（已按此取值计算）：{line}"
                for line in preset.flag_lines(spec.items, spec.grid_factor(None, pid))]
    out += [sw.question for sw in spec.switches.values() if sw.question]
    out += [spec.decline.question, spec.not_applicable.question]
    inferred = [i.id for i in spec.indicators if i.unverified]
    if inferred:
        out.append(f"指标 {'、'.join(inferred)} 的文字与分值为推断，取得正式文本后核实（填报单位和评审人看到的是"
                   "不加标注的文字）。")
    return out or ["无"]


def render(data: dict[str, Any], spec: Spec) -> bytes:
    """The summary workbook's bytes for `content(run)`."""
    out = io.BytesIO()
    render_into(data, spec, out)
    return out.getvalue()


@dataclass(frozen=True)
class FileFacts:
    """What several sheets need from the report's file list, gathered in one pass over it: the list is made row by
    row each time it is read (`report_json.Rows`), and five sheets reading it whole each was a fifth of writing
    the summary of a 5 000-file re-run."""

    packs: frozenset[str]               # review packs, whatever their status
    used_packs: frozenset[str]          # review packs consolidated
    not_used: int                       # files not used (a unit's other return)
    duplicated: dict[str, dict[str, Any]]   # path → row, of the files of units that returned more than one


def file_facts(data: dict[str, Any]) -> FileFacts:
    """The `FileFacts` of `content(run)`."""
    duplicated = {path for d in data["duplicates"] for path in d["files"]}
    packs, used, rows, not_used = set(), set(), {}, 0
    for f in data["files"]:
        if f["kind"] == REVIEW:
            packs.add(f["path"])
            if f["status"] == CONSOLIDATED:
                used.add(f["path"])
        if f["used"] is False:
            not_used += 1
        if f["path"] in duplicated:
            rows[f["path"]] = f
    return FileFacts(frozenset(packs), frozenset(used), not_used, rows)


def render_into(data: dict[str, Any], spec: Spec, out: BinaryIO) -> None:
    """The summary workbook for `content(run)` written to `out`: the sheets' structure laid out by XlsxWriter in
    memory, the rows that grow with the units streamed into it (`sheetxml.splice`) — a 20 000-unit summary is
    never held whole."""
    buffer = io.BytesIO()
    b = _Book(buffer, spec, f"{data['year']}年节约型机关复验 汇总表", data["year"])
    facts = file_facts(data)
    _summary(b, data, spec)
    _results(b, data, spec, facts)
    _progress(b, data, facts)
    render_stages(b, data)                   # 进度: stages, due dates, overdue (`stages_sheet`)
    render_evidence(b, data)                 # 佐证材料: each unit's files and findings (`evidence_sheet`)
    _averages(b, data)
    _findings(b, data, spec, facts)
    _not_returned(b, data, spec)
    _duplicates(b, data, spec, facts)
    _outside(b, data, spec)
    _statistics(b, data)
    _files(b, data)
    _notes(b, data, spec, facts)
    b.wb.close()
    if not b.splices:
        out.write(buffer.getvalue())
        return
    sheetxml.splice(buffer.getvalue(), b.splices, out)


def write_summary(data: dict[str, Any], path: str | Path, spec: Spec) -> None:
    """The summary workbook of `content(run)` at `path`, written atomically: the previous summary stays until
    the new one is whole."""
    write_atomically(path, render(data, spec))
