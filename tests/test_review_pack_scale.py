"""A review pack at the scale of a region (issue 14): the scorecards are streamed into the file
(`generator.sheet_stream`), each written straight from its plan, and the result must be what openpyxl writes for
the same plan (`render.render_workbook`, kept as the reference) — the same cells, values, formulas and cached
values, styles, merges, validations, conditional formats, names, protection, row heights and print setup.

Then 2 000 units the way a 自治区 reviewer gets them: returns copied from a few filled ones (each with its own
统一社会信用代码 and name), consolidated, laid out and streamed into one pack; its structure is checked like
test_review_pack's (sheets, names on every scorecard, protection, validations), a sample of its scorecards is
recalculated in LibreOffice, and the pack is consolidated with the returns without being refused (F105/F106).
"""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest

from addin.consolidate import consolidate
from addin.consolidate.model import CONSOLIDATED
from addin.review.pack import build_review_pack
from addin.review.select import reviewer_for
from generator import fill_workbook
from generator.personalise import Personaliser
from generator.render import render_workbook
from generator.review_layout import GUIDE, META_SHEET, OVERVIEW, PARAMS, PackPart, ReviewLayout, build_review_plan
from generator.roster import safe_file_name
from generator.sheet_stream import write_review_workbook
from workbook_templates.review_names import review_names

from tests.libreoffice import recalculate
from tests.returns import unit_code
from tests.reviews import NASTY, SAMPLE_UNITS, SEED, SPEC, unit_inputs, write_returns
from tests.workbooks import is_error, read_values

UNITS = 2000
LEVEL = "自治区"


def streamed(layout: ReviewLayout) -> bytes:
    out = io.BytesIO()
    write_review_workbook(layout, out)
    return out.getvalue()


# ---------------------------------------------------------------- the same as openpyxl writes

def _style(c) -> tuple:
    side = c.border.left
    return (c.font.name, c.font.sz, c.font.b, c.font.i, c.font.color.rgb if c.font.color else None, c.fill.fill_type,
            c.fill.fgColor.rgb, side.style if side else None, c.alignment.wrap_text, c.alignment.horizontal,
            c.alignment.vertical, c.alignment.indent, c.protection.locked, c.number_format)


def describe(data: bytes) -> dict:
    """Everything a reader sees of a workbook, by sheet (openpyxl; cached values with data_only)."""
    wb = openpyxl.load_workbook(io.BytesIO(data))
    cached = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    out: dict = {"sheets": [(ws.title, ws.sheet_state) for ws in wb.worksheets],
                 "names": {n: d.attr_text for n, d in wb.defined_names.items()},
                 "protection": (wb.security.lockStructure, wb.security.workbookPassword),
                 "calc": wb.calculation.fullCalcOnLoad}
    for ws in wb.worksheets:
        cw = cached[ws.title]
        out[ws.title] = {
            "cells": {c.coordinate: (c.value, c.data_type, cw[c.coordinate].value, _style(c),
                                     (c.hyperlink.target, c.hyperlink.location) if c.hyperlink else None)
                      for row in ws.iter_rows() for c in row if c.value is not None or c.has_style},
            "merges": sorted(str(m) for m in ws.merged_cells.ranges),
            "validations": sorted((str(v.sqref), v.type, v.operator, v.formula1, v.formula2, v.allow_blank, v.error,
                                   v.errorTitle, v.prompt, v.promptTitle, v.showErrorMessage, v.showInputMessage)
                                  for v in ws.data_validations.dataValidation),
            "conditional": sorted((str(cf.sqref), r.type, r.priority, tuple(r.formula), r.dxfId)
                                  for cf in ws.conditional_formatting for r in cf.rules),
            "local_names": {n: d.attr_text for n, d in ws.defined_names.items()},
            "protection": (ws.protection.sheet, ws.protection.password, ws.protection.selectLockedCells),
            "print": (ws.page_setup.paperSize, ws.page_setup.orientation, ws.page_setup.fitToWidth,
                      ws.page_setup.fitToHeight, ws.sheet_properties.pageSetUpPr.fitToPage, ws.print_title_rows,
                      str(ws.oddHeader.left.text), str(ws.oddFooter.center.text), ws.page_margins.left),
            "heights": {r: d.height for r, d in ws.row_dimensions.items() if d.height},
            "breaks": [(b.id, b.min, b.max, b.man) for b in ws.row_breaks.brk],
            "widths": {c: d.width for c, d in ws.column_dimensions.items()},
            "freeze": ws.freeze_panes,
            "dimension": ws.dimensions,
        }
    return out


def differences(a, b, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in a.keys() | b.keys():
            if k not in a or k not in b:
                out.append(f"{path}/{k}: only in {'the reference' if k in a else 'the streamed pack'}")
            else:
                out += differences(a[k], b[k], f"{path}/{k}")
        return out
    return [] if a == b else [f"{path}: {a!r} ≠ {b!r}"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return write_returns(tmp_path_factory.mktemp("returns") / "回收的工作簿")


def test_each_streamed_scorecard_is_what_openpyxl_writes(folder):
    """Five units as the 自治区 sees them, varied where scorecards differ: evidence files (links, so the sheet has
    relationships) or none, evidence listed by an indicator, a spot-check mark, a name with characters Excel
    forbids in sheet names, one with markup characters and outer spaces, a blank unit-1 score. The streamed pack
    equals `render_workbook`'s, sheet by sheet."""
    pack = build_review_pack(folder, LEVEL, seed=SEED, spec=SPEC)
    units = pack.units[:5]
    units[0] = replace(units[0], evidence_files=(("佐证/制度 & <规定>.pdf", "佐证/%E5%88%B6.pdf", "2.1.1、2.1.2"),
                                                 ("照片.jpg", "照片.jpg", "3.1.1")),
                       evidence={"2.1.1": "制度.pdf"}, spot=("地州市抽查", "自治区抽查"))
    units[2] = replace(units[2], recomputed={**units[2].recomputed, "1.1.4": None})
    units[3] = replace(units[3], name=NASTY.name, evidence_files=(("a.pdf", "a.pdf", "8.1.1"),))
    units[4] = replace(units[4], name=' 测试{}单位 & <甲> "乙" ')
    reviewer = reviewer_for(LEVEL, SPEC, seed=SEED)
    args = dict(spec=SPEC, year=pack.year, presets=pack.presets, seed=SEED, region=None,
                skipped=["一个未纳入的单位"], part=PackPart("scale-test"))
    reference = render_workbook(build_review_plan(reviewer, units, **args))
    ours = streamed(ReviewLayout(reviewer, units, **args))
    assert zipfile.ZipFile(io.BytesIO(ours)).testzip() is None
    wrong = differences(describe(reference), describe(ours))
    assert not wrong, wrong[:20]


# ---------------------------------------------------------------- 2 000 units

def copy_return(data: bytes, old: dict[str, str], new: dict[str, str]) -> bytes:
    """A filled return with another unit's code and name written where the original's were."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info)
            if info.filename.endswith(".xml"):
                for key in ("unit_code", "unit_name"):
                    content = content.replace(old[key].encode(), new[key].encode())
            dst.writestr(zipfile.ZipInfo(info.filename, info.date_time), content, zipfile.ZIP_DEFLATED)
    return out.getvalue()


@pytest.fixture(scope="module")
def region(tmp_path_factory) -> tuple[Path, Path, object]:
    """2 000 returns (copies of the sample roster's twelve, each its own unit), and the 自治区's pack of them."""
    folder = tmp_path_factory.mktemp("region") / "回收的工作簿"
    folder.mkdir()
    personaliser = Personaliser(SPEC, SPEC.default_year, SPEC.default_preset)
    filled = [(u.unit_info(), fill_workbook(personaliser.workbook(u), unit_inputs(u))) for u in SAMPLE_UNITS]
    for n in range(UNITS):
        info, data = filled[n % len(filled)]
        new = {"unit_code": unit_code(f"11659900MC{n:07d}"), "unit_name": f"{info['unit_name']}{n:04d}"}
        (folder / safe_file_name(new["unit_code"], new["unit_name"])).write_bytes(copy_return(data, info, new))
    pack = build_review_pack(folder, LEVEL, seed=SEED, spec=SPEC)
    out = folder.parent / "评审包" / "评审包.xlsx"
    out.parent.mkdir()
    with out.open("wb") as f:
        pack.parts[0].write(f)
    return folder, out, pack


def test_a_pack_of_two_thousand_units_has_every_scorecard_whole(region):
    """Every unit has its scorecard, each with all the published names pointing at its own cells, protected, with
    the same validations and conditional formats as the first; the workbook's structure is locked."""
    _, out, pack = region
    assert len(pack.units) == UNITS
    with zipfile.ZipFile(out) as z:
        assert z.testzip() is None
        workbook = z.read("xl/workbook.xml").decode()
        titles = re.findall(r'<sheet name="([^"]*)"', workbook)
        assert titles[:2] == [GUIDE, OVERVIEW] and titles[-2:] == [PARAMS, META_SHEET]
        assert len(titles) == UNITS + 4
        assert '<workbookProtection workbookPassword="' in workbook and 'lockStructure="1"' in workbook
        local = {n.name for n in review_names(SPEC, pack.reviewer.key) if n.scope == "scorecard"}
        names: dict[int, set[str]] = {}
        for name, sheet in re.findall(r'<definedName name="([^"]+)" localSheetId="([0-9]+)">', workbook):
            names.setdefault(int(sheet), set()).add(name)
        for k in range(2, UNITS + 2):
            assert names[k] - {"_xlnm.Print_Titles"} == local, titles[k]
        first = z.read("xl/worksheets/sheet3.xml").decode()
        shape = [first.count(tag) for tag in ("<dataValidation ", "<cfRule ", "<mergeCell ")]
        for k in range(3, UNITS + 3):
            xml = z.read(f"xl/worksheets/sheet{k}.xml").decode()
            assert "<sheetProtection " in xml and 'sheet="1"' in xml, k
            assert [xml.count(tag) for tag in ("<dataValidation ", "<cfRule ", "<mergeCell ")] == shape, k
        codes = {u.code for u in pack.units}
        for k, unit in enumerate(pack.units[:50], start=3):
            assert f"<t>{unit.code}</t>" in z.read(f"xl/worksheets/sheet{k}.xml").decode()
        assert len(codes) == UNITS


@pytest.mark.libreoffice
def test_a_sample_of_the_scorecards_recalculates_without_errors(region, tmp_path):
    """Twenty units of the region, streamed the same way, recalculated in LibreOffice: no error value anywhere,
    and each total shows what the generator cached (nothing entered yet: 「尚有N项未评分」)."""
    _, _, pack = region
    units = pack.units[::UNITS // 20]
    layout = ReviewLayout(pack.reviewer, units, spec=SPEC, year=pack.year, presets=pack.presets, seed=SEED,
                          part=PackPart("sample"))
    path = tmp_path / "sample.xlsx"
    path.write_bytes(streamed(layout))
    values = read_values(recalculate([path], tmp_path / "recalculated")[0])
    errors = [f"{s}!{ref} = {v}" for (s, ref), v in values.items() if is_error(v)]
    assert not errors, errors[:20]
    for k, title in enumerate(layout.titles):
        cached = layout.scorecard(k).cells["B5"].blank
        assert values[(title, "B5")] == cached, title


def test_the_region_pack_is_consolidated_with_the_returns(region):
    """`jieyue consolidate` reads the 2 000-scorecard pack back: not refused as too large (F105) or as a zip bomb
    (F106), and every scorecard is read."""
    folder, out, _ = region
    run = consolidate(folder, reviews=out.parent, spec=SPEC)
    outcome = next(f for f in run.files if Path(f.path).name == out.name)
    assert not [f.code for f in outcome.findings if f.code in ("F105", "F106")]
    assert outcome.status == CONSOLIDATED
    assert len({c.unit_code for c in run.review_cards}) == UNITS
