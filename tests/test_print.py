"""What people see and print (issue 11), proved on the files themselves: the blank fill-in workbook, one
personalised from a roster, and a review pack built from a folder of returns (`tests/reviews.py`).

On every visible sheet: no raw year placeholder (`{cur_year}` …), no provenance tag of the spec (「（seed）」
「（inferred）」「（推断）」「【待核实】」), no doubt about a coefficient (「疑为课件笔误」「未经核实」) and no developer
word (file, module or function names); a deliberate print setup — A4, portrait or landscape by the width of its
columns, fit to the page width, the header rows repeated on every page, a running head with the unit's name (the
reviewer's for a pack), the sheet name and 「第 &P 页 共 &N 页」; an explicit height on every row holding wrapped text,
at least the estimated lines × the line height (`generator.print_layout`); and the signature lines on the pages a
unit or a reviewer signs. 单位信息 checks the phone number and the date. The LibreOffice tests print to PDF: one
unit's workbook has at most `MAX_UNIT_PAGES` pages with the unit's name on every one and the whole of 填表说明 on
them (nothing cut at the right edge); a review pack has at most `MAX_PACK_PAGES` and the reviewer on every page.
"""
from __future__ import annotations

import datetime
import io
import re
from functools import lru_cache

import openpyxl
import pytest
from openpyxl.utils.cell import get_column_letter, range_boundaries

from generator import fill_workbook, template_bytes
from generator.layout import GUIDE_WIDTH, PREFILLED_NOTE, SIGNATURE, UNIT_HEADER
from generator.personalise import Personaliser
from generator.print_layout import (DEFAULT_WIDTH, MIN_ONE_PAGE_SCALE, PAGE_NUMBER, PORTRAIT_PAGE_HEIGHT,
                                    PORTRAIT_WIDTH, Pagination, fits_lines, line_count, paginate)
from generator.review_layout import GUIDE as PACK_GUIDE
from generator.review_layout import REVIEW_SIGNATURE, WHOLE_LIST
from generator.render import pagination, printed_heights, printed_width, row_font_sizes, row_heights
from workbook_templates import load_spec
from workbook_templates.contract import sheet_names

from tests.libreoffice import convert, needs_poppler, pdf_pages, recalculate
from tests.reviews import build_packs, write_returns
from tests.workbooks import plan

SPEC = load_spec()
YEAR = SPEC.default_year
PRESET = SPEC.default_preset
UNIT = {"unit_name": "天池县人民法院", "unit_code": "11652327190572418X", "unit_level": "县市区级",
        "unit_region": "昌吉回族自治州"}
NAMES = sheet_names(YEAR)

MAX_UNIT_PAGES = 12
"""One unit's fill-in workbook on A4: 填表说明 1, 单位信息 1, each 能耗数据 1, 强度指标下降率 1, 自评表 at most 7
(printed with Excel's column widths: Carlito, metric-compatible with Calibri, installed by `.ci/run`)."""
MAX_PAGES_PER_SCORECARD = 7
"""A review pack: 说明 and 总览 (at most 2 pages each), then at most this many per unit's scorecard (broken where a
page is full, every row its explicit height, never under a heading: 7 pages for a unit listing no 佐证材料)."""

PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
PROVENANCE = ("（seed）", "（inferred）", "（推断）", "【待核实】")
DOUBTS = ("疑为课件笔误", "未经核实", "待核实", "推断")
DEVELOPER = ("assessment.toml", ".toml", "Python", "sorted", "random.Random", "udfs.", "docs/", ".csv",
             "workbook_kind", "_meta", "--region", "--seed", "spec")
_LITERAL = re.compile(r'"((?:[^"]|"")*)"')


# ---------------------------------------------------------------- the files

@lru_cache(maxsize=None)
def unit_bytes() -> bytes:
    return Personaliser(SPEC, YEAR, PRESET).workbook(UNIT)


@lru_cache(maxsize=None)
def blank_bytes() -> bytes:
    return template_bytes(SPEC, YEAR, PRESET)


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    """The 地州市 pack of 昌吉回族自治州 (with a unit left out for an error) and its 自治区 pack."""
    packs = build_packs(write_returns(tmp_path_factory.mktemp("returns") / "回收的工作簿"))
    return packs["prefecture_changji"]


def book(data: bytes, **kwargs) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data), **kwargs)


def visible(wb: openpyxl.Workbook):
    return [ws for ws in wb.worksheets if ws.sheet_state == "visible"]


def texts(data: bytes):
    """(sheet, cell, text) for every text a visible sheet shows or may show: constants, cached formula results
    and the string literals of formulas (the messages a status cell chooses among)."""
    formulas, cached = book(data), book(data, data_only=True)
    for ws in visible(formulas):
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.value.startswith("="):
                    for m in _LITERAL.finditer(c.value):
                        yield ws.title, c.coordinate, m.group(1)
                    shown = cached[ws.title][c.coordinate].value
                    if isinstance(shown, str):
                        yield ws.title, c.coordinate, shown
                elif isinstance(c.value, str):
                    yield ws.title, c.coordinate, c.value


FILES = {"blank": blank_bytes, "unit": unit_bytes}


# ---------------------------------------------------------------- words

@pytest.mark.parametrize("which", FILES)
def test_fill_in_workbook_speaks_to_the_unit(which):
    bad = [(t, ref, text) for t, ref, text in texts(FILES[which]())
           if PLACEHOLDER.search(text) or any(w in text for w in PROVENANCE + DOUBTS + DEVELOPER)]
    assert not bad, bad[:10]


def test_the_evidence_names_the_real_years():
    evidence = [text for t, _, text in texts(unit_bytes()) if t == NAMES["self"]]
    assert any(f"{YEAR - 2}、{YEAR - 1}年度" in t for t in evidence)
    assert any(f"{YEAR}年以来" in t for t in evidence)


def test_review_pack_speaks_to_the_reviewer(pack):
    bad = [(t, ref, text) for t, ref, text in texts(pack.data)
           if PLACEHOLDER.search(text) or any(w in text for w in PROVENANCE + DOUBTS + DEVELOPER)]
    assert not bad, bad[:10]


def test_the_guide_tells_units_what_to_do_not_what_is_doubted():
    guide = [text for t, _, text in texts(blank_bytes()) if t == NAMES["guide"]]
    joined = "\n".join(guide)
    assert "0.96" in joined and "0.98" in joined              # the factors, as plain values
    assert "签字" in joined and "盖章" in joined and "页码" in joined


# ---------------------------------------------------------------- 单位信息

def _validations(ws) -> dict[str, object]:
    return {ref: dv for dv in ws.data_validations.dataValidation for ref in str(dv.sqref).split()}


def test_phone_and_date_are_validated_with_excel_2007_formulas():
    ws = book(blank_bytes())[NAMES["info"]]
    dvs = _validations(ws)
    phone, date = dvs["B8"], dvs["B9"]
    assert phone.type == "custom" and len(phone.formula1) <= 255
    assert "LEN(B8)>=7" in phone.formula1 and "LEN(B8)<=20" in phone.formula1
    assert all(f'"{ch}"' in phone.formula1 for ch in "0123456789-")
    assert phone.showErrorMessage and "数字和连字符" in phone.error
    assert (date.type, date.operator) == ("date", "between")
    assert (date.formula1, date.formula2) == (f"DATE({YEAR - 2},1,1)", f"DATE({YEAR},12,31)")
    assert date.showErrorMessage and f"{YEAR - 2}-01-01" in date.error and f"{YEAR}-12-31" in date.error
    assert ws["B9"].number_format == "yyyy-mm-dd"


def test_prefilled_unit_cells_say_so():
    """A roster-generated workbook's locked identity cells do not ask to pick from a list."""
    mine, blank = book(unit_bytes())[NAMES["info"]], book(blank_bytes())[NAMES["info"]]
    assert blank["C5"].value == "从下拉列表选择"
    assert [mine[f"C{r}"].value for r in range(3, 7)] == [PREFILLED_NOTE] * 4
    assert not any("下拉" in str(mine[f"C{r}"].value) for r in range(3, 7))


@pytest.mark.libreoffice
def test_phone_and_date_status_in_libreoffice(tmp_path):
    """The status beside the phone and the date, recalculated: a hint while blank, nothing when right, what is
    wrong otherwise — never an error value."""
    cases = {
        "blank": ({}, ("如 0994-2345678 或 13912345678", f"如 {YEAR}-08-10")),
        "right": ({"contact_phone": "0994-2345678", "fill_date": datetime.date(YEAR, 8, 10)}, ("", "")),
        "mobile": ({"contact_phone": "13912345678", "fill_date": datetime.date(YEAR - 2, 1, 1)}, ("", "")),
        "wrong": ({"contact_phone": "0994 234", "fill_date": datetime.date(YEAR + 1, 1, 1)},
                  ("只能填写数字和连字符（-），7至20位", f"应在 {YEAR - 2}-01-01 至 {YEAR}-12-31 之间")),
        "short": ({"contact_phone": "12345", "fill_date": "八月十日"},
                  ("只能填写数字和连字符（-），7至20位", f"请填写日期，如 {YEAR}-08-10")),
    }
    files = []
    for name, (inputs, _) in cases.items():
        path = tmp_path / "in" / f"{name}.xlsx"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(fill_workbook(blank_bytes(), inputs))
        files.append(path)
    for path, (name, (_, expected)) in zip(recalculate(files, tmp_path / "out"), cases.items()):
        ws = openpyxl.load_workbook(path, data_only=True)[NAMES["info"]]
        assert (ws["C8"].value or "", ws["C9"].value or "") == expected, name


# ---------------------------------------------------------------- print setup

def _widths(ws) -> dict[str, float]:
    """Column → width as printed (hidden columns 0), for the columns the sheet uses."""
    out = {}
    for i in range(1, ws.max_column + 1):
        col = get_column_letter(i)
        dim = ws.column_dimensions.get(col)
        out[col] = 0.0 if dim is not None and dim.hidden else (dim.width if dim is not None and dim.customWidth
                                                               else DEFAULT_WIDTH)
    return out


def _first_header_row(plan_sheet) -> int | None:
    rows = [int(ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")) for ref, c in plan_sheet.cells.items() if c.style == "header"]
    return min(rows) if rows else None


def check_print_setup(data: bytes, plan, left: str) -> None:
    wb = book(data)
    for ws in wb.worksheets:
        assert int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4), ws.title
        sections = plan.sheet(ws.title).sections
        starts = [b.id + 1 for b in ws.row_breaks.brk]          # the rows a manual page break starts a page at
        assert sections or not starts, ws.title
        assert not {r - 1 for r in starts} & set(sections), f"{ws.title}: a heading left at the foot of a page"
        # Fitted to the page width, as many pages tall as it needs (the manual breaks kept); a sheet in sections
        # that overflows one page by little is shrunk onto it.
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        fit = (int(ws.page_setup.fitToWidth), int(ws.page_setup.fitToHeight))
        if plan.sheet(ws.title).one_page:                       # a 能耗数据 form: signed under its figures
            assert fit == (1, 1) and not starts, ws.title
        else:
            assert fit in ((1, 0), (1, 1)) if sections and not starts else fit == (1, 0), ws.title
    for ws in visible(wb):
        width = sum(_widths(ws).values())
        assert ws.page_setup.orientation == ("landscape" if width > PORTRAIT_WIDTH else "portrait"), (ws.title, width)
        header_row = _first_header_row(plan.sheet(ws.title))
        if header_row is not None and header_row <= 10:
            assert ws.print_title_rows, f"{ws.title}: header rows not repeated on every page"
            first, last = (int(x.strip("$")) for x in ws.print_title_rows.split(":"))
            assert first <= header_row <= last, ws.title
        assert ws.oddHeader.left.text == left.replace("&", "&&"), ws.title
        assert ws.oddHeader.right.text == "&A", ws.title
        assert ws.oddFooter.center.text == PAGE_NUMBER, ws.title
        assert "&P" in PAGE_NUMBER and "&N" in PAGE_NUMBER


def test_fill_in_print_setup():
    check_print_setup(blank_bytes(), plan(), UNIT_HEADER)
    check_print_setup(unit_bytes(), plan(), UNIT["unit_name"])


def test_review_pack_print_setup(pack):
    check_print_setup(pack.data, pack.plan, pack.reviewer.label + f"（{pack.region}）")


def test_a_sheet_in_sections_fits_one_page_or_breaks_before_a_heading():
    """Rows of 20 pt; a page holds 100 pt in these examples (5 rows), a break before a heading may leave at most a
    third of it (33 pt) empty."""
    def rows(n: int) -> dict[int, float]:
        return {r: 20.0 for r in range(1, n + 1)}

    assert paginate(rows(4), (1,), page=100) == Pagination()                     # 80 pt: one page as it is
    assert paginate(rows(5) | {6: 10.0}, (1,), page=100) == Pagination(one_page=True)   # 110 pt: at 91 % ≥ 85 %
    # Row 6 does not fit: the page ends before the heading at row 5 (20 pt left empty), not under it.
    assert paginate(rows(8), (1, 5), page=100) == Pagination(breaks=(5,))
    # A heading 3 rows back would leave 60 pt empty: the page is filled, the next starts at row 6.
    assert paginate(rows(10), (1, 3), page=100) == Pagination(breaks=(6,))
    # A section longer than a page breaks where the page is full.
    assert paginate(rows(12), (1,), page=100) == Pagination(breaks=(6, 11))
    # Rows 6–7 alone on the last page: the break moves back to the heading at row 4 (rows 4–7, 80 pt, fit).
    assert paginate(rows(7), (1, 4, 6), page=100) == Pagination(breaks=(4,))
    # Print titles of 20 pt on every page after the first: a page then holds 4 rows of its own.
    assert paginate(rows(13), (1,), page=100, titles=20) == Pagination(breaks=(6, 10))


def test_a_long_table_breaks_where_the_page_is_full_and_carries_its_headings_over():
    """A table (`whole_sections=False`): a page holds what fits; only headings right above the break go with it —
    a unit heading at row 4 and its first subarea's at row 5 both, when row 6 does not fit (pages of 100 pt,
    rows of 20)."""
    def rows(n: int) -> dict[int, float]:
        return {r: 20.0 for r in range(1, n + 1)}

    assert paginate(rows(12), (1, 3), page=100, whole_sections=False) == Pagination(breaks=(6, 11))
    assert paginate(rows(12), (1, 4, 5), page=100, whole_sections=False) == Pagination(breaks=(4, 9))
    # A 说明 (whole sections) breaks alike: its page ends before the last heading on it (row 5), and the heading
    # right above that (row 4) goes with it.
    assert paginate(rows(12), (1, 4, 5), page=100) == Pagination(breaks=(4, 9))


@pytest.mark.parametrize("files", [0, 1, WHOLE_LIST, 40])
def test_a_scorecard_breaks_where_full_never_under_a_heading_and_a_short_evidence_list_whole(pack, files):
    """A scorecard's pages (as `render_workbook` and the streamed writer both compute them): no unit, subarea or
    7.1-choice heading at the foot of a page, the decline table whole, and a 佐证材料 list of up to `WHOLE_LIST`
    files whole on one page (continued, it would sit under the scorecard's own repeated header); a longer list
    breaks where the page is full, every page holding more than its repeated header."""
    import copy
    from dataclasses import replace
    layout = copy.copy(pack.parts[0].layout)
    layout.units = [replace(layout.units[0], evidence_files=tuple(
        (f"佐证/{k:02d} 节能制度和会议记录.pdf", f"%E4%BD%90/{k:02d}.pdf", "2.1.1、2.1.2") for k in range(files)))]
    card = layout.scorecard(0)
    heights = printed_heights(row_font_sizes(card), row_heights(card, {}))
    pages = pagination(card, heights, printed_width(card))
    starts = [1, *pages.breaks, max(heights) + 1]
    assert pages.breaks and all(b - a >= 3 for a, b in zip(starts, starts[1:])), pages.breaks
    text = {int(ref[1:]): c.value for ref, c in card.cells.items() if ref[0] == "A" and ref[1:].isdigit()}
    headings = {r for r, v in text.items() if isinstance(v, str) and re.match(r"第\d+单元 |\d+\.\d+ ", v)}
    assert not {b - 1 for b in pages.breaks} & headings
    decline = next(r for r, v in text.items() if isinstance(v, str) and v.startswith("第一单元 强度指标下降率"))
    assert not any(decline < b <= decline + 6 for b in pages.breaks)           # heading, header, 4 rows and the note
    listed = next(r for r, v in text.items() if isinstance(v, str) and v.startswith("单位交回的佐证材料"))
    inside = [b for b in pages.breaks if listed < b <= listed + 1 + files]
    assert not inside if files <= WHOLE_LIST else inside, pages.breaks


def test_a_long_review_pack_guide_breaks_before_a_section(pack):
    """This pack's 说明 (~1.26 pages of rows as estimated: a unit left out) is too long to shrink onto one page: its
    second page starts at a section heading (the demo's, ~1.1 pages, is shrunk onto one page)."""
    ws = book(pack.data)[PACK_GUIDE]
    total = sum(ws.row_dimensions[r].height for r in range(1, ws.max_row + 1))
    assert total > PORTRAIT_PAGE_HEIGHT / MIN_ONE_PAGE_SCALE, total
    starts = [b.id + 1 for b in ws.row_breaks.brk]
    assert starts and all(r in pack.plan.sheet(PACK_GUIDE).sections for r in starts), starts
    assert int(ws.page_setup.fitToHeight) == 0


def test_single_column_guides_fit_a_portrait_page():
    """LibreOffice scales a sheet to the page width only across columns: a guide's one column must fit as is."""
    assert GUIDE_WIDTH <= 74
    assert book(blank_bytes())[NAMES["guide"]].column_dimensions["A"].width == GUIDE_WIDTH


# ---------------------------------------------------------------- row heights

def check_row_heights(data: bytes) -> int:
    """Every wrapped text's row is at least as tall as its estimated lines; returns how many cells were checked."""
    wb, cached = book(data), book(data, data_only=True)
    checked = 0
    for ws in visible(wb):
        widths = _widths(ws)
        merged = {}
        for rng in ws.merged_cells.ranges:
            c1, r1, c2, _ = range_boundaries(str(rng))
            merged[f"{get_column_letter(c1)}{r1}"] = sum(widths.get(get_column_letter(i), DEFAULT_WIDTH)
                                                         for i in range(c1, c2 + 1))
        for row in ws.iter_rows():
            for c in row:
                if not c.alignment.wrap_text or c.value is None:
                    continue
                width = merged.get(c.coordinate, widths.get(c.column_letter, DEFAULT_WIDTH))
                if width == 0:
                    continue
                candidates = [cached[ws.title][c.coordinate].value]
                if isinstance(c.value, str) and c.value.startswith("="):
                    candidates += [m.group(1) for m in _LITERAL.finditer(c.value)]
                else:
                    candidates = [c.value]
                lines = max(line_count(str(t), width) for t in candidates if t not in (None, ""))
                height = ws.row_dimensions[c.row].height
                assert height is not None, f"{ws.title}!{c.coordinate}: wrapped text in a row without a height"
                assert fits_lines(height, lines, c.font.sz or 11), \
                    f"{ws.title}!{c.coordinate}: {lines} lines need more than {height} pt"
                checked += 1
    return checked


@pytest.mark.parametrize("which", FILES)
def test_fill_in_wrapped_rows_have_their_height(which):
    assert check_row_heights(FILES[which]()) > 200


def test_review_pack_wrapped_rows_have_their_height(pack):
    assert check_row_heights(pack.data) > 200


# ---------------------------------------------------------------- signatures

def sheet_text(ws) -> str:
    return "\n".join(str(c.value) for row in ws.iter_rows() for c in row if c.value is not None)


def test_the_pages_a_unit_signs_carry_the_signature_block():
    wb = book(unit_bytes())
    for key in ("prev", "cur", "self"):
        text = sheet_text(wb[NAMES[key]])
        for words in ("单位负责人（签字）", "填报人", "联系电话", "填报日期", "（单位盖章）"):
            assert words in text, (key, words)
        assert all(line in text for line in SIGNATURE)


def test_every_scorecard_carries_the_reviewer_signature(pack):
    wb = book(pack.data)
    cards = [ws for ws in visible(wb) if "rev_unit_code" in ws.defined_names]
    assert len(cards) == len(pack.units)
    for ws in cards:
        text = sheet_text(ws)
        assert "评审人（签字）" in text and "日期" in text and REVIEW_SIGNATURE[0] in text, ws.title


# ---------------------------------------------------------------- printed by LibreOffice



def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.libreoffice
def test_a_unit_workbook_prints_on_a_few_pages_with_its_name_on_each(tmp_path):
    needs_poppler()
    path = tmp_path / "unit.xlsx"
    path.write_bytes(unit_bytes())
    pages = pdf_pages(convert([path], tmp_path / "pdf", "pdf")[0])
    assert 7 <= len(pages) <= MAX_UNIT_PAGES, len(pages)
    for i, page in enumerate(pages, start=1):
        assert UNIT["unit_name"] in page, f"page {i} does not name the unit"
        assert f"第{i}页共{len(pages)}页" in squeeze(page), f"page {i} has no page number"
    # Nothing cut at the right edge: every text of 填表说明 is on its pages, whole.
    guide = squeeze("".join(p for p in pages if NAMES["guide"] in p))
    wb = book(unit_bytes())
    missing = [c.value for row in wb[NAMES["guide"]].iter_rows() for c in row
               if isinstance(c.value, str) and squeeze(c.value) not in guide]
    assert not missing, missing
    # The signature block is printed with the sheets it belongs to: each 能耗数据 form on one page, signed under its
    # figures; 自评表's totals on the page it is signed on.
    assert sum("单位负责人（签字）" in p for p in pages) == 3
    heads = ["".join([squeeze(line) for line in p.splitlines() if squeeze(line)][:2]) for p in pages]  # unit, sheet
    for slot in ("prev", "cur"):
        form = [p for p, head in zip(pages, heads) if head.endswith(NAMES[slot])]
        assert len(form) == 1 and "单位负责人（签字）" in form[0], (slot, len(form))
    self_pages = [p for p, head in zip(pages, heads) if head.endswith(NAMES["self"])]
    signed = [p for p in self_pages if "单位负责人（签字）" in p]
    assert len(signed) == 1 and "自评总分" in signed[0] and "是否达" in signed[0]
    # No unit or subarea heading at the foot of a page: it goes to the next page with what it heads.
    sheet = plan().sheet(NAMES["self"])
    headings = {squeeze(c.value) for c in sheet.cells.values() if c.style in ("group", "subgroup")}
    for i, page in enumerate(self_pages[:-1], start=1):
        body = [squeeze(line) for line in page.splitlines() if squeeze(line)][:-1]        # the page number last
        assert body[-1] not in headings, f"自评表 page {i} ends with the heading {body[-1]}"


@pytest.mark.libreoffice
def test_a_review_pack_prints_with_the_reviewer_on_each_page(tmp_path, pack):
    needs_poppler()
    path = tmp_path / "pack.xlsx"
    path.write_bytes(pack.data)
    pages = pdf_pages(convert([path], tmp_path / "pdf", "pdf")[0])
    assert len(pages) <= 4 + MAX_PAGES_PER_SCORECARD * len(pack.units), len(pages)
    for i, page in enumerate(pages, start=1):
        assert pack.reviewer.label in page and f"第{i}页共{len(pages)}页" in squeeze(page), i
    guide = squeeze("".join(p for p in pages if PACK_GUIDE in p))
    wb = book(pack.data)
    missing = [c.value for row in wb[PACK_GUIDE].iter_rows() for c in row
               if isinstance(c.value, str) and squeeze(c.value) not in guide]
    assert not missing, missing
    # The 说明's pages after the first start at a section heading: no line is left alone on a page.
    guide_plan = pack.plan.sheet(PACK_GUIDE)
    headings = [squeeze(guide_plan.cells[f"A{r}"].value) for r in guide_plan.sections]
    head = squeeze(pack.reviewer.label + f"（{pack.region}）" + PACK_GUIDE)       # the running head of its pages
    guide_pages = [squeeze(p) for p in pages if squeeze(p).startswith(head)]
    assert len(guide_pages) == 2, len(guide_pages)
    for page in guide_pages[1:]:
        body = page[len(head):]
        assert any(body.startswith(h) for h in headings), body[:40]
    assert sum("评审人（签字）" in p for p in pages) == len(pack.units)
    # Every page as planned: LibreOffice keeps each scorecard's breaks (`check_print_setup`: never under a heading)
    # and needs none of its own — no page overflows the height its rows were planned for.
    planned = {ws.title: len(ws.row_breaks.brk) + 1 for ws in visible(wb) if ws.title not in (PACK_GUIDE,)}
    assert len(pages) == len(guide_pages) + sum(planned.values()), (len(pages), planned)
