"""Print layout shared by every workbook the generator writes (the fill-in workbook and the review pack): row
heights for wrapped text, the page setup and the running header and footer.

Excel grows a row to fit wrapped text only while nobody has set its height, and LibreOffice and WPS do not
reliably do it at all when they open a generated file: the lines of a long 评价内容 then overlap and cannot be read
on screen or on paper. So every row holding wrapped text gets an explicit height, estimated from the text and the
width it wraps in (`row_height`): a CJK (wide) character takes two column-width units, any other one, and each line
takes `LINE_HEIGHT` × the font size in points — enough for SimSun in Excel and WPS and for the Noto CJK fallback
LibreOffice uses. The estimate errs on the tall side: a little white space, never a cut line.

Every printed page carries the same running head (`header_footer`): the unit's name (or the reviewer's) on the
left, the sheet name on the right, 「第 N 页 共 M 页」 at the foot; `PAGE_MARGINS` leave room for them on A4.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Collection, Mapping

LINE_HEIGHT = 1.4
"""Points of row height per point of font size, for one line of text (SimSun in Excel: 1.3; LibreOffice's Noto CJK:
1.45, which `ROW_PADDING` makes up for up to four lines)."""

ROW_PADDING = 2.0
"""Points added to every estimated height (the cell's top and bottom margin)."""

CELL_PADDING = 1.0
"""Column-width units a cell loses to its left and right margins."""

WIDTH_FACTOR = 0.95
"""The share of a column's width a line of text may fill: a CJK character in SimSun 11 pt is 14.7 px, a little more
than the two 7-px units it is counted as, so a line holds slightly fewer than width ÷ 2 of them."""

DEFAULT_WIDTH = 8.43
"""Excel's width of a column whose width is not set."""

DEFAULT_FONT_SIZE = 11.0

PAGE_MARGINS = {"left": 0.5, "right": 0.5, "top": 0.75, "bottom": 0.75, "header": 0.3, "footer": 0.3}
"""Inches: narrower sides than Excel's default (0.7) leave more width for text; room for the header and footer."""

PORTRAIT_WIDTH = 99
"""Column-width units across a portrait A4 page within `PAGE_MARGINS` (in Excel, 7 px a unit): a sheet whose
printed columns are wider is laid out landscape."""

PAGE_NUMBER = "第 &P 页 共 &N 页"
"""The footer, in Excel's header/footer codes (&P page, &N pages)."""


def char_width(ch: str) -> int:
    """Column-width units of one character: 2 for CJK and other wide or full-width characters, else 1."""
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


class _Classes(dict):
    """Code point → its class for wrapping, worked out on first sight (`str.translate` then classes a whole text
    at C speed — the summary measures thousands of unit names and file paths): "W" wide, "S" wide space, "s"
    space, "n" any other character."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        space = ch.isspace()
        cls = ("S" if space else "W") if char_width(ch) == 2 else ("s" if space else "n")
        self[code] = cls
        return cls


_CLASSES = _Classes()
_TOKEN = re.compile(r"n+|W+|[Ss]")
"""Wrapping units in a text's classes: runs of narrow non-space characters (a word moves to the next line whole),
runs of wide characters (each may end a line: counted in bulk), each space alone."""


def _width(classes: str) -> int:
    return len(classes) + classes.count("W") + classes.count("S")


def text_width(text: str) -> int:
    """Column-width units `text` takes on one line."""
    return _width(text.translate(_CLASSES))


@lru_cache(maxsize=65536)
def line_count(text: str, width: float) -> int:
    """How many lines `text` wraps into in a cell `width` units wide (each paragraph starts a new line)."""
    usable = max(width * WIDTH_FACTOR - CELL_PADDING, 1.0)
    lines = 0
    for paragraph in str(text).split("\n"):
        lines += max(1, _wrapped_lines(paragraph, usable))
    return lines


def _wrapped_lines(paragraph: str, usable: float) -> int:
    """Lines of one paragraph: CJK text breaks between any two characters; a run of other characters (a word, a
    number) moves to the next line whole when it does not fit on the current one."""
    classes = paragraph.translate(_CLASSES)
    if _width(classes) <= usable:                # fits on one line: nothing to wrap
        return 1
    lines, used = 1, 0
    per_line = int(usable // 2)                  # wide characters on a line of their own
    for match in _TOKEN.finditer(classes):
        token = match.group()
        if token[0] == "W" and per_line:         # a run of CJK: fill this line, then whole lines, then the rest
            n, room = len(token), int((usable - used) // 2)
            if n <= room:
                used += 2 * n
            else:
                more = -(-(n - room) // per_line)
                lines, used = lines + more, 2 * (n - room - (more - 1) * per_line)
            continue
        cw = 2 if token[0] in ("W", "S") else 1  # the width of each of the token's characters
        w = cw * len(token)
        if used + w <= usable:
            used += w
            continue
        if token in ("s", "S"):                  # a space at the end of a line takes no room
            continue
        if w <= usable:
            lines, used = lines + 1, w
        else:                                    # longer than a line: broken character by character
            for _ in range(len(token)):
                if used + cw > usable:
                    lines, used = lines + 1, 0
                used += cw
    return lines


def line_height(font_size: float = DEFAULT_FONT_SIZE) -> float:
    """Points one line of text in `font_size` takes."""
    return LINE_HEIGHT * font_size


def row_height(texts_by_column: Mapping[str, str | tuple[str, float]], widths: Mapping[str, float]) -> float:
    """The height in points a row needs so that every one of its wrapped texts shows whole.

    `texts_by_column` maps a column (or any key of `widths`) to its text, or to (text, font size in points);
    `widths` maps the same keys to the width the text wraps in (a merged cell's is the sum of its columns'),
    in Excel's column-width units; a key without a width has Excel's default width."""
    needed = 0.0
    for column, entry in texts_by_column.items():
        text, size = entry if isinstance(entry, tuple) else (entry, DEFAULT_FONT_SIZE)
        if text is None or text == "":
            continue
        lines = line_count(text, widths.get(column, DEFAULT_WIDTH))
        needed = max(needed, lines * line_height(size))
    return round(needed + ROW_PADDING, 1) if needed else 0.0


HEAD_FONT_SIZE = 9


def header_text(text: str) -> str:
    """Literal text for a header or footer: Excel reads `&` as the start of a code, so it is doubled."""
    return text.replace("&", "&&")


def running_head(left: str) -> dict[str, dict[str, str]]:
    """What every printed page carries, by part (header, footer) and section (left, center, right), in Excel's
    header/footer codes: `left` (literal text) at the top left, the sheet name at the top right, the page number
    centred at the foot."""
    return {"header": {"left": header_text(left), "right": "&A"}, "footer": {"center": PAGE_NUMBER}}


PORTRAIT_PAGE_HEIGHT = (297 / 25.4 - PAGE_MARGINS["top"] - PAGE_MARGINS["bottom"]) * 72
"""Points of rows a portrait A4 page holds between `PAGE_MARGINS` (the header and footer print in the margins)."""

LANDSCAPE_WIDTH = PORTRAIT_WIDTH * (297 - 25.4) / (210 - 25.4)
"""Column-width units across a landscape A4 page within `PAGE_MARGINS` (as `PORTRAIT_WIDTH` is for portrait)."""

LANDSCAPE_PAGE_HEIGHT = (210 / 25.4 - PAGE_MARGINS["top"] - PAGE_MARGINS["bottom"]) * 72
"""Points of rows a landscape A4 page holds between `PAGE_MARGINS`."""


def page_height(printed_width: float, landscape: bool) -> float:
    """Points of rows (at 100 %) one page holds when a sheet `printed_width` column-width units wide is printed
    fitted to the page width: a 178-unit 自评表, landscape, prints at 145.7 ÷ 178 = 82 %, so a page holds
    487.3 ÷ 0.82 = 595 pt of its rows. The estimate counts 7 px a unit, as Excel draws its default font; a program
    that draws columns wider (LibreOffice without Calibri's metrics) prints smaller, so a page planned here still
    fits, with a little room to spare."""
    width, height = (LANDSCAPE_WIDTH, LANDSCAPE_PAGE_HEIGHT) if landscape else (PORTRAIT_WIDTH, PORTRAIT_PAGE_HEIGHT)
    return height / min(1.0, width / printed_width) if printed_width else height

MIN_ONE_PAGE_SCALE = 0.85
"""A sheet laid out in sections (`paginate`) that overflows its page by little is shrunk onto one page, to no less
than this scale (11 pt text prints at 9.4 pt: still easy to read); a longer one is broken before a section."""

CARRIED_AT_MOST = 1 / 3
"""The share of a page a break before a heading may leave empty at the foot of the page (`paginate`)."""

ORPHAN_ROWS = 2
"""Rows too few to make a last page of their own when a heading before them can start it (`paginate`)."""


@dataclass(frozen=True)
class Pagination:
    """How a sheet laid out in sections prints (`paginate`): shrunk onto one page, or on pages of its own size,
    each after the first starting at a row of `breaks`."""

    one_page: bool = False
    breaks: tuple[int, ...] = ()


def paginate(heights: Mapping[int, float], sections: Collection[int], page: float = PORTRAIT_PAGE_HEIGHT,
             titles: float = 0.0, whole_sections: bool = True) -> Pagination:
    """Where a sheet of rows `heights` (row → points, every printed row) breaks into pages of `page` points, each
    page after the first also carrying `titles` points of print titles (a table's header repeated).
    `whole_sections` (a 说明): a full page ends before the last row of `sections` (a section's heading) on it when
    that carries at most `CARRIED_AT_MOST` of a page over, else before the row that does not fit. Otherwise (a long
    table, its subareas headed): before the row that does not fit. Either way the headings right above the break
    go to the next page with what they head: never a heading at the foot of a page.
    The last page never holds `ORPHAN_ROWS` rows or fewer when the break can move back to a heading. A sheet up to
    1 ÷ `MIN_ONE_PAGE_SCALE` pages long is shrunk onto one page instead (the 说明 of a review pack, 1.1 pages: one
    page at 90 %). For a sheet where every row has an explicit height, so that Excel, WPS and LibreOffice break
    its pages alike; one scaled to the page width passes the `page` that holds (`page_height`)."""
    rows = sorted(heights)
    total = sum(heights.values())
    if total <= page:
        return Pagination()
    if total * MIN_ONE_PAGE_SCALE <= page:
        return Pagination(one_page=True)
    headings = set(sections)
    above = dict(zip(rows[1:], rows))               # row → the printed row right above it

    def points(first: int, last: int) -> float:     # rows first … last - 1
        return sum(heights[r] for r in rows if first <= r < last)

    def with_headings(start: int, top: int) -> int:  # `start`, or the first of the headings right above it
        while above.get(start, top) > top and above[start] in headings:
            start = above[start]
        return start

    breaks: list[int] = []
    top, used = rows[0], 0.0
    for row in rows:
        if used + heights[row] > page and row != top:
            starts = [s for s in sections if top < s <= row] if whole_sections else []
            start = max(starts) if starts and points(max(starts), row) <= CARRIED_AT_MOST * page else row
            start = with_headings(start, top)
            breaks.append(start)
            top, used = start, titles + points(start, row)
        used += heights[row]
    if breaks and sum(1 for r in rows if r >= breaks[-1]) <= ORPHAN_ROWS:
        before = breaks[-2] if len(breaks) > 1 else rows[0]
        starts = [s for s in sections if before < s < breaks[-1] and titles + points(s, rows[-1] + 1) <= page]
        if starts:
            breaks[-1] = with_headings(max(starts), before)
    return Pagination(breaks=tuple(breaks))


def fits_lines(height: float, lines: int, font_size: float = DEFAULT_FONT_SIZE) -> bool:
    """Whether a row of `height` points shows `lines` lines of `font_size` text (what the tests check)."""
    return height + 1e-6 >= lines * line_height(font_size)


__all__ = ["LINE_HEIGHT", "PAGE_MARGINS", "PAGE_NUMBER", "PORTRAIT_WIDTH", "char_width", "text_width", "line_count", "line_height",
           "row_height", "header_text", "running_head", "fits_lines", "PORTRAIT_PAGE_HEIGHT", "MIN_ONE_PAGE_SCALE",
           "LANDSCAPE_WIDTH", "LANDSCAPE_PAGE_HEIGHT", "page_height", "Pagination", "paginate"]
