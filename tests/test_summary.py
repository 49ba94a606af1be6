"""The consolidation run's outputs: the summary workbook (XlsxWriter) and the JSON report, from a run built by hand."""
from __future__ import annotations

import dataclasses
import json
import os
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings, strategies as st
from openpyxl.utils import get_column_letter

from addin.consolidate import sheetxml, write_outputs
from addin.consolidate.columns import summary_columns, year_label
from addin.consolidate.content import BLOCKED, VALID, accounting_line, content, statistics
from addin.consolidate.model import (CONSOLIDATED, REJECTED, SKIPPED, ConsolidationRun, DuplicateGroup,
                                     FileOutcome, RosterEntry)
from addin.consolidate.prerender import render_figures
from addin.consolidate.report_json import BATCH, RENDERED, Rows, _stream, dumps, to_json, write_report
from addin.consolidate.summary import NO_ROSTER, SHEETS, write_summary
from addin.demo import plausible_inputs
from generator.ooxml import TEMP_PREFIX
from generator.wording import indicator_text
from udfs import evaluate
from udfs.intake import Finding
from workbook_templates import contract_names, load_spec

SPEC = load_spec()
YEAR, PRESET = SPEC.default_year, SPEC.default_preset


def summary_of(run: ConsolidationRun, path: Path) -> None:
    """The summary workbook of `run` (the writer renders the content dict, never the run)."""
    write_summary(content(run, SPEC), path, SPEC)


def report_of(run: ConsolidationRun, path: Path) -> None:
    """The JSON report of `run`."""
    write_report(content(run, SPEC), path)


def unit_file(path: str, name: str, code: str, level: str, region: str, *, findings=(), blocking=False,
              used=True, self_total=None) -> FileOutcome:
    inputs = plausible_inputs(code, SPEC)
    results = evaluate(inputs, YEAR, PRESET, spec=SPEC)
    if self_total is not None:     # pin a score to a bucket: the statistics test needs known figures
        results["self_total"], results["self_pass"] = self_total, self_total >= SPEC.assessment.pass_line
    return FileOutcome(path=path, size=20_000 + len(path), sha256=f"{len(path):064x}", status=CONSOLIDATED,
                       findings=list(findings), unit={"unit_name": name, "unit_code": code, "unit_level": level,
                                                      "unit_region": region},
                       meta={"template_version": "1", "assessment_year": YEAR, "factor_preset": PRESET},
                       inputs=inputs, results=results,
                       blocking=blocking, used=used)


A, B, C, D, X, Z = ("91650100MA00000001", "91652300MA00000002", "91652300MA00000003", "91650100MA00000004",
                    "91650100MA00000005", "91650100MA00000009")


def make_run(roster: bool = True) -> ConsolidationRun:
    files = [
        unit_file("乌鲁木齐市/甲局.xlsx", "甲局", A, "县市区级", "乌鲁木齐市", self_total=92.0,
                  findings=[Finding("W301", "「人均能耗」的公式被改写为数字，已按原始数据重算。", "cur_energy_per_capita",
                                    "能耗数据2023!F30")]),
        unit_file("昌吉州/乙局.xlsx", "乙局", B, "地州市级", "昌吉州", self_total=75.0),
        unit_file("昌吉州/丙局.xlsx", "丙局", C, "地州市级", "昌吉州", blocking=True, self_total=99.0,
                  findings=[Finding("E201", "「2000万」不是数字：请填写纯数字。", "cur_electricity_kwh", "能耗数据2023!C9"),
                            Finding("I210", "「1,234」已按 1234 读取。", "cur_water_m3", "能耗数据2023!C10")]),
        unit_file("乌鲁木齐市/丁局-第一次.xlsx", "丁局", D, "县市区级", "乌鲁木齐市", used=False, self_total=50.0),
        unit_file("乌鲁木齐市/丁局-第二次.xlsx", "丁局", D, "县市区级", "乌鲁木齐市", self_total=81.0),
        unit_file("其他/名单外单位.xlsx", "戊局", X, "县市区级", "", self_total=65.0),
        FileOutcome(path="乌鲁木齐市/坏文件.xlsx", size=512, sha256="e" * 64, status=REJECTED,
                    findings=[Finding("F102", "文件不是 xlsx（可能是改了扩展名的 CSV）：请用模板重新填报。")]),
        FileOutcome(path="乌鲁木齐市/~$甲局.xlsx", size=165, sha256="f" * 64, status=SKIPPED,
                    skip_reason="Excel 锁定文件"),
    ]
    files.sort(key=lambda f: f.path)
    by_path = {f.path: f for f in files}
    entries = [RosterEntry("甲局", A, "县市区级", "乌鲁木齐市"), RosterEntry("乙局", B, "地州市级", "昌吉州"),
               RosterEntry("丙局", C, "地州市级", "昌吉州"), RosterEntry("丁局", D, "县市区级", "乌鲁木齐市"),
               RosterEntry("己局", Z, "县市区级", "乌鲁木齐市")]
    dup = DuplicateGroup(D, ["乌鲁木齐市/丁局-第一次.xlsx", "乌鲁木齐市/丁局-第二次.xlsx"], "乌鲁木齐市/丁局-第二次.xlsx",
                         "采用无错误且修改时间最晚的文件")
    return ConsolidationRun(folder="回收目录", year=YEAR, preset=SPEC.default_preset, files=files,
                            roster=entries if roster else None, duplicates=[dup],
                            not_returned=[entries[4]] if roster else [],
                            outside_roster=[by_path["其他/名单外单位.xlsx"]] if roster else [],
                            disappeared=["昌吉州/已删除.xlsx"])


@pytest.fixture(scope="module")
def run() -> ConsolidationRun:
    return make_run()


@pytest.fixture(scope="module")
def outputs(run, tmp_path_factory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("summary")
    summary_of(run, out / "汇总.xlsx")
    report_of(run, out / "report.json")
    return out / "汇总.xlsx", out / "report.json"


@pytest.fixture(scope="module")
def book(outputs):
    return openpyxl.load_workbook(outputs[0])


def rows(ws, start: int = 1) -> list[tuple]:
    return [r for r in ws.iter_rows(min_row=start, values_only=True)]


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(TEMP_PREFIX)]


# ---------------------------------------------------------------- 汇总

def test_sheets(book):
    assert book.sheetnames == list(SHEETS)


def test_summary_header_rows_are_meanings_and_contract_names(book):
    """Row 1 (hidden) holds the contract names, row 2 the Chinese labels — with the real data years, not
    「上一数据年度（复验年度−2）」 — and the filter."""
    ws = book["汇总"]
    cols = summary_columns(SPEC)
    assert [c.value for c in ws[1]] == [c.key for c in cols]
    assert ws.row_dimensions[1].hidden and not ws.row_dimensions[2].hidden
    contract = {n.name: n for n in contract_names(SPEC)}
    own = {"state", "errors", "warnings", "file"}        # not data-contract names: the report's keys
    assert {c.key for c in cols} - set(contract) == own
    for c, col in zip(ws[2], cols):
        if col.key in contract and col.key != "unit_level":
            assert c.value.startswith(year_label(contract[col.key].meaning, YEAR))
        assert "数据年度" not in c.value and "复验年度−" not in c.value, c.value
    labels = {col.key: c.value for c, col in zip(ws[2], cols)}
    assert labels["prev_area_m2"] == f"{YEAR - 2}年度 建筑面积（平方米）"
    assert labels["cur_area_m2"] == f"{YEAR - 1}年度 建筑面积（平方米）"
    assert f"{YEAR - 1}年较{YEAR - 2}年" in labels["chg_energy_per_capita"]
    keys = [c.key for c in cols]
    # both data years: every input and every derived figure; then decline, unit scores and the totals
    for n in contract_names(SPEC):
        if n.kind in ("input", "derived") and n.name.startswith(("prev_", "cur_")) or n.kind == "decline":
            assert n.name in keys
    assert keys[:4] == ["unit_name", "unit_code", "unit_level", "unit_region"] and keys[-1] == "file"
    assert keys[-4:-1] == ["self_total", "self_missing_count", "self_pass"]
    assert [k for k in keys if k.startswith("self_unit_")] == [f"self_unit_{i}" for i in range(1, 9)]
    assert ws.freeze_panes == "B3" and ws.auto_filter.ref.startswith("A2:")


def test_each_energy_items_figures_are_folded(book):
    """On screen and on paper 汇总 shows the inputs, totals, intensities, decline and scores; each energy item's
    折标准煤 and 碳排放量 are grouped and hidden (one click shows them)."""
    ws = book["汇总"]
    cols = summary_columns(SPEC)
    folded = [col.key for i, col in enumerate(cols) if ws.column_dimensions[get_column_letter(i + 1)].hidden]
    assert folded == [col.key for col in cols if col.detail]
    assert "cur_electricity_kgce" in folded and "cur_electricity_co2_t" in folded
    for shown_key in ("cur_electricity_kwh", "cur_total_kgce", "cur_co2_t", "cur_building_kgce",
                      "cur_energy_per_area", "chg_energy_per_area", "self_total"):
        assert shown_key not in folded
    assert all(ws.column_dimensions[get_column_letter(cols.index(c) + 1)].outline_level == 1
               for c in cols if c.detail)


def test_summary_rows_are_the_runs_units_and_values(book, run):
    ws = book["汇总"]
    cols = summary_columns(SPEC)
    body = rows(ws, 3)
    assert [r[1] for r in body] == [f.code for f in run.units]          # one row per unit, in the run's order
    assert "乌鲁木齐市/丁局-第一次.xlsx" not in [r[-1] for r in body]     # the duplicate not chosen
    for f, row in zip(run.units, body):
        cells = dict(zip([c.key for c in cols], row))
        assert cells["file"] == f.path
        assert cells["state"] == (BLOCKED if f.blocking else VALID)
        for col in cols:
            if col.source in ("unit", "meta"):
                continue
            value = (f.inputs if col.source == "inputs" else f.results).get(col.key)
            if isinstance(value, bool):
                value = "是" if value else "否"
            assert cells[col.key] == value, col.key
    blocked = [r for r in body if r[1] == C][0]
    assert blocked[4] == BLOCKED and blocked[5:7] == (1, 0)          # E201 counts, the I210 note does not


def test_summary_number_formats(book):
    ws = book["汇总"]
    keys = [c.value for c in ws[1]]
    fmt = {k: ws.cell(3, i + 1).number_format for i, k in enumerate(keys)}
    assert fmt["cur_total_kgce"] == "#,##0.00" and fmt["cur_electricity_kgce"] == "#,##0.00"
    assert fmt["cur_co2_t"] == "#,##0.0000"
    assert fmt["cur_energy_per_capita"] == "0.00" and fmt["chg_energy_per_area"] == "0.00"
    assert fmt["self_total"] == "0.00" and fmt["prev_people"] == "#,##0"


# ---------------------------------------------------------------- the other sheets

def test_findings_sheet(book, run):
    ws = book["问题清单"]
    assert rows(ws)[0] == ("文件", "单位名称", "统一社会信用代码", "代码", "严重程度", "问题", "处数", "数据项", "单元格",
                           "说明")
    body = rows(ws, 2)
    expected = [(f.path, x) for f in run.files for x in f.findings]
    assert len(body) == len(expected) == 4
    assert [r[0] for r in body] == sorted(r[0] for r in body)
    for row, (path, x) in zip(body, expected):
        assert row == (path, *row[1:3], x.code, x.severity(SPEC), x.title(SPEC), 1, row[7], x.cell or None,
                       x.message)
    rejected = [r for r in body if r[3] == "F102"][0]
    assert rejected[0] == "乌鲁木齐市/坏文件.xlsx" and rejected[4] == "错误" and rejected[7] is None
    e201 = [r for r in body if r[3] == "E201"][0]
    assert e201[1:3] == ("丙局", C)
    assert e201[7] == f"{YEAR - 1}年度 电消耗量"                     # the data item in Chinese, not cur_electricity_kwh
    rules = [rule.formula[0] for cf in ws.conditional_formatting for rule in cf.rules]
    assert any('"错误"' in r for r in rules) and any('"警告"' in r for r in rules)


def test_roster_sheets(book):
    assert rows(book["未报送"], 2) == [("己局", Z, "县市区级", "乌鲁木齐市", None)]      # 说明: no mismatched file
    outside = rows(book["名单外"], 2)
    assert outside == [("其他/名单外单位.xlsx", "戊局", X, "县市区级", None, VALID)]


def test_duplicates_sheet(book):
    ws = book["重复报送"]
    assert "只采用其中一份" in ws["A1"].value and "采用无错误且修改时间最晚的文件" in ws["A1"].value
    body = rows(ws, 4)
    assert [(r[0], r[2], r[4]) for r in body] == [(D, "乌鲁木齐市/丁局-第一次.xlsx", "否"),
                                                (D, "乌鲁木齐市/丁局-第二次.xlsx", "是")]
    assert {r[5] for r in body} == {"采用无错误且修改时间最晚的文件"}


def test_files_sheet_accounts_for_every_file(book, run):
    head = [c.value for c in book["文件清单"][1]]
    body = [dict(zip(head, r)) for r in rows(book["文件清单"], 2)]
    assert [r["文件"] for r in body] == [f.path for f in run.files]
    status = {r["文件"]: r["状态"] for r in body}
    assert status["乌鲁木齐市/~$甲局.xlsx"] == "已跳过" and status["乌鲁木齐市/坏文件.xlsx"] == "已拒收"
    lock = [r for r in body if r["文件"] == "乌鲁木齐市/~$甲局.xlsx"][0]
    assert lock["跳过原因"] == "Excel 锁定文件" and lock["类型"] == "填报工作簿"
    assert [r["是否采用"] for r in body if r["文件"].startswith("乌鲁木齐市/丁局")] == ["否", "是"]


def test_notes_show_the_accounting_and_deleted_files(book, run):
    acc = run.accounting
    assert acc == {"seen": 8, CONSOLIDATED: 6, REJECTED: 1, SKIPPED: 1}
    cells = {r[0]: r[1] for r in rows(book["说明"]) if r[0]}
    assert cells["文件核算"] == accounting_line(acc) == "共发现文件 8 = 已汇总 6 + 已拒收 1 + 已跳过 1"
    assert cells["共发现文件"] == 8 and cells["上次汇总后被删除的文件"] == "昌吉州/已删除.xlsx"


def test_statistics_tables_and_charts(book, outputs, run):
    stats = statistics(run, SPEC)
    # units: 甲 92 (valid), 乙 75 (valid), 丙 99 (blocking), 丁 81 (valid, second file), 戊 65 (valid, no region)
    assert stats["total"]["returned"] == 5 and stats["total"]["valid"] == 4
    assert stats["total"]["self_pass"] == 2 and stats["total"]["average_self_total"] == round((92 + 75 + 81 + 65) / 4, 2)
    assert [b["count"] for b in stats["score_distribution"]] == [0, 1, 1, 1, 1]
    assert [g["group"] for g in stats["by_region"]] == ["乌鲁木齐市", "昌吉州", "（未填）"]
    assert [g["group"] for g in stats["by_level"]] == ["县市区级", "地州市级"]        # the spec's order
    changji = stats["by_region"][1]
    assert (changji["returned"], changji["valid"], changji["self_pass"], changji["pass_rate"]) == (2, 1, 0, 0.0)
    table = rows(book["统计"])
    region = [r for r in table if r[0] == "乌鲁木齐市"][0]
    urumqi = stats["by_region"][0]
    assert region[1:7] == (urumqi["returned"], urumqi["valid"], urumqi["targets_all_met"],
                           urumqi["average_self_total"], urumqi["self_pass"], urumqi["pass_rate"])
    assert [r for r in table if r[0] == "合计"][0][1:3] == (5, 4)
    with zipfile.ZipFile(outputs[0]) as z:
        names = set(z.namelist())
    assert {"xl/charts/chart1.xml", "xl/charts/chart2.xml"} <= names


def test_no_roster(tmp_path):
    path = tmp_path / "汇总.xlsx"
    summary_of(make_run(roster=False), path)
    wb = openpyxl.load_workbook(path)
    assert rows(wb["未报送"]) == [(NO_ROSTER,)]
    data = content(make_run(roster=False), SPEC)
    assert data["not_returned"] is None and data["roster_size"] is None


# ---------------------------------------------------------------- determinism, JSON, atomicity

def test_identical_runs_give_identical_bytes(outputs, run, tmp_path):
    summary_of(run, tmp_path / "again.xlsx")
    report_of(run, tmp_path / "again.json")
    assert (tmp_path / "again.xlsx").read_bytes() == outputs[0].read_bytes()
    assert (tmp_path / "again.json").read_bytes() == outputs[1].read_bytes()


def test_figures_rendered_in_the_worker_give_the_same_bytes(outputs, tmp_path):
    """Each file's figures are rendered once where it was read (and kept in the ledger); the outputs joined from
    those fragments are byte for byte the outputs rendered from the figures themselves."""
    run = make_run()
    for f in run.files:
        if f.status == CONSOLIDATED:
            f.rendered = render_figures(f.inputs, f.results, SPEC)
    data = content(run, SPEC)
    assert all(u[RENDERED] is not None for u in data["units"])          # each unit carries its own fragments
    write_summary(data, tmp_path / "joined.xlsx", SPEC)
    write_report(data, tmp_path / "joined.json")
    assert (tmp_path / "joined.xlsx").read_bytes() == outputs[0].read_bytes()
    assert (tmp_path / "joined.json").read_bytes() == outputs[1].read_bytes()


def test_summary_cells_carry_no_reference_and_keep_their_columns(book, run):
    """Rows are written without cell references (ECMA-376 §18.3.1.4: the next column); a blank is an empty
    styled cell, so every later value stays in its column — openpyxl, like Excel, places them by position."""
    ws = book["汇总"]
    keys = [c.value for c in ws[1]]
    body = rows(ws, 3)
    assert all(len(r) == len(keys) for r in body)
    f = run.units[0]
    row = dict(zip(keys, body[0]))
    blank = [k for k, v in f.inputs.items() if v is None and k in row]
    assert all(row[k] is None for k in blank)
    assert row["self_total"] == f.results["self_total"] and row["file"] == f.path


def test_text_cells_are_escaped_as_xlsxwriter_escapes_them():
    assert sheetxml.text_cell("a<b&c>", 3) == '<c s="3" t="inlineStr"><is><t>a&lt;b&amp;c&gt;</t></is></c>'
    assert sheetxml.text_cell("\x01_x0041_", 3) == '<c s="3" t="inlineStr"><is><t>_x0001__x005F_x0041_</t></is></c>'
    assert sheetxml.text_cell(" 甲 ", 3) == '<c s="3" t="inlineStr"><is><t xml:space="preserve"> 甲 </t></is></c>'
    assert sheetxml.number_cell(0.1 + 0.2, 5) == '<c s="5"><v>0.3</v></c>'        # 16 digits, as XlsxWriter
    assert sheetxml.cell(None, 5, 3, 4) == '<c s="5"/>' and sheetxml.cell(True, 5, 3, 4).count("是") == 1


_CELL_VALUES = st.one_of(st.none(), st.just(""), st.booleans(), st.integers(-10**6, 10**6),
                         st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=50),
                         st.sampled_from(["已汇总", "是", "否", " 甲 ", "a<b", "_x0041_", "\x01", "\ud800"]))


@settings(max_examples=200, deadline=None)
@given(st.lists(_CELL_VALUES, max_size=30), st.booleans())
def test_a_columns_cell_writer_writes_what_cell_writes_however_often_a_value_repeats(values, yes_no):
    # The writer renders a short text once and gives the same markup again: the rows must not tell the difference
    write = sheetxml.column_cell(5, 3, 4, yes_no)
    for v in values + values:
        assert write(v) == sheetxml.cell(v, 5, 3, 4, yes_no)


def test_text_from_files_is_never_a_formula(tmp_path):
    run = make_run()
    run.files[0].unit["unit_name"] = '=HYPERLINK("http://example.com","点我")'
    summary_of(run, tmp_path / "s.xlsx")
    with zipfile.ZipFile(tmp_path / "s.xlsx") as z:
        sheets = [z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
    assert not any(b"<f>" in s for s in sheets) and not any(b"hyperlink" in s for s in sheets)


def test_json_report(outputs, run):
    text = outputs[1].read_text(encoding="utf-8")
    data = json.loads(text)
    assert dumps(data) == text                       # sorted keys, compact, Chinese as is
    assert "已汇总" in text and "\\u" not in text
    assert set(data) == {"year", "year_source", "preset", "presets_used", "folder", "accounting", "units",
                         "findings", "files", "roster_size", "not_returned", "duplicates", "outside_roster",
                         "disappeared", "notices", "statistics", "reviews", "review_results", "review_summary",
                         "review_rules", "review_progress", "review_packs", "indicator_averages", "signatures",
                         "year_flags",
                         "unit_indicators", "stages", "evidence"}
    assert all(RENDERED not in u for u in data["units"])         # the pre-rendered figures are never written
    acc = data["accounting"]
    assert acc["seen"] == acc["consolidated"] + acc["rejected"] + acc["skipped"] == len(data["files"]) == 8
    assert [u["unit_code"] for u in data["units"]] == [f.code for f in run.units]
    for u, f in zip(data["units"], run.units):
        assert u["results"] == f.results and u["inputs"] == f.inputs and u["file"] == f.path
    assert len(data["findings"]) == 4 and data["disappeared"] == ["昌吉州/已删除.xlsx"]
    assert data["duplicates"][0]["chosen"] == "乌鲁木齐市/丁局-第二次.xlsx"
    assert data["not_returned"] == [{"name": "己局", "code": Z, "level": "县市区级", "region": "乌鲁木齐市",
                                     "mismatched_files": []}]
    assert data["signatures"]["checked"] is False and data["signatures"]["counts"] is None
    assert data["statistics"] == json.loads(dumps(statistics(run, SPEC)))


def test_the_long_tables_are_made_where_written_and_read_alike(run):
    # A row a unit or a file (four rows a unit at most in 评审进度): made where each output reads them, not held.
    data = content(run, SPEC)
    long = ("units", "files", "review_results", "review_progress")
    assert all(isinstance(data[k], Rows) for k in long)
    assert len(data["files"]) == 8 and len(data["units"]) == len(run.units) and len(data["review_progress"]) > 0
    for k in long:
        first, again = list(data[k]), list(data[k])      # read by the summary, then by the report
        assert first == again and len(data[k]) == len(first)
        assert first[0] is not again[0] and data[k][0] == first[0] and data[k][1:3] == first[1:3]
    # The report writes a table made where written as the list it reads as.
    assert dumps(data) == dumps({k: list(v) if isinstance(v, Rows) else v for k, v in data.items()})


def test_unbalanced_accounting_writes_nothing(tmp_path):
    run = make_run()
    run.files[0].status = "lost"
    # The accounting is checked where the run becomes content, which both outputs render: neither is written.
    with pytest.raises(AssertionError, match="文件核算不平"):
        content(run, SPEC)
    with pytest.raises(AssertionError, match="文件核算不平"):
        write_outputs(run, tmp_path / "s.xlsx", tmp_path / "r.json", SPEC)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("writer, name", [(summary_of, "汇总.xlsx"), (report_of, "report.json")],
                         ids=["summary", "report"])
def test_a_failed_write_leaves_the_previous_output(writer, name, tmp_path, monkeypatch):
    target = tmp_path / name
    writer(make_run(roster=False), target)
    before = target.read_bytes()

    def fail(src, dst):
        raise PermissionError(13, "文件被占用")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(PermissionError):
        writer(make_run(), target)
    assert target.read_bytes() == before and leftovers(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


@pytest.mark.libreoffice
def test_libreoffice_reads_the_rows_as_openpyxl_does(outputs, book, tmp_path):
    """The rows without cell references, read by a real spreadsheet program: LibreOffice saves the summary
    again as .xlsx (with references) and every cell of 汇总 and 文件清单 is where openpyxl found it."""
    from tests.libreoffice import convert
    resaved = openpyxl.load_workbook(convert([outputs[0]], tmp_path / "lo")[0])
    for sheet in ("汇总", "文件清单"):
        ours = rows(book[sheet])
        theirs = [tuple(v for v in r) for r in resaved[sheet].iter_rows(max_col=book[sheet].max_column,
                                                                         values_only=True)]
        assert theirs[:len(ours)] == ours, sheet


def test_before_any_review_pack_the_review_sheets_say_so_once(book):
    """No pack read yet: 评审结果 and 评审进度 hold one note (what to do), not a 待评审 row per unit."""
    from addin.consolidate.summary import NO_REVIEWS
    for sheet in ("评审结果", "评审进度"):
        assert rows(book[sheet]) == [(NO_REVIEWS,)]
    assert len(rows(book["指标得分"], 3)) >= len(SPEC.indicators)        # the self-score averages are there


def test_chart_categories_are_text_with_their_cached_labels(outputs):
    """Region names and score bands are text: a chart must refer to them as strRef with the labels cached,
    or spreadsheet programs show the category axis blank."""
    import re
    with zipfile.ZipFile(outputs[0]) as z:
        charts = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/chart")]
    assert charts
    for xml in charts:
        cats = re.findall(r"<c:cat>(.*?)</c:cat>", xml, re.S)
        assert cats and all(c.startswith("<c:strRef>") and "<c:strCache>" in c for c in cats)
    assert any("60分以下" in xml for xml in charts)


def test_notes_state_the_review_rules_in_words_with_the_scope_used(book, run):
    """The option values of the spec (replace_top, ceil, region) are shown as sentences, and the ranking scope
    is the one this run used (the --scope option), not only the spec's default."""
    text = "\n".join(str(v) for r in rows(book["说明"]) for v in r if v)
    assert "全区统一排名" in text and "向上取整" in text and "5%" in text and SPEC.assessment.recheck.question in text
    data = content(dataclasses.replace(run, scope="prefecture"), SPEC)
    assert data["review_rules"]["scope_text"] == "各地州市分别排名"


def test_indicator_texts_wrap_in_their_column(book):
    ws = book["指标得分"]
    head = [c.value for c in ws[2]]
    first = ws.cell(3, head.index("指标内容") + 1)
    # The text as units read it: the year's target in place of {target} (「同比下降1.40%以上」 for 2023).
    assert first.value == indicator_text(SPEC.indicators[0], SPEC, SPEC.default_year) and first.alignment.wrap_text
    assert "{target}" not in first.value and "1.40%" in first.value


def test_notes_say_where_the_year_came_from_and_which_presets_were_used(tmp_path):
    """说明: the year with its source, and the 系数预设 row naming every preset the returns were recomputed with
    (each file with its own), the --preset filter when given, and D503 when they were mixed."""
    run = make_run()
    consolidated = [f.path for f in run.files if f.status == CONSOLIDATED]
    other = next(p for p in SPEC.presets if p != PRESET)
    run.presets_used = {PRESET: consolidated[:-1], other: consolidated[-1:]}
    run.year_source = "option"
    data = content(run, SPEC)
    assert data["year_source"] == "option"
    assert data["presets_used"] == {p: run.presets_used[p] for p in sorted(run.presets_used)}
    write_summary(data, tmp_path / "s.xlsx", SPEC)
    cells = {r[0]: r[1] for r in rows(openpyxl.load_workbook(tmp_path / "s.xlsx")["说明"]) if r[0]}
    assert cells["复验年度"].startswith(str(YEAR)) and "--year" in cells["复验年度"]
    presets = cells["系数预设"]
    assert f"{PRESET}（{len(consolidated) - 1} 个工作簿）" in presets and f"{other}（1 个工作簿）" in presets
    assert f"只接受 {PRESET}" in presets and "D503" in presets


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=BATCH + 40) | st.dictionaries(st.text(max_size=4), inner, max_size=6),
    max_leaves=700)


@settings(max_examples=200, deadline=None)
@given(_JSON_VALUES, st.integers(0, 3))
def test_a_section_written_in_pieces_is_the_text_dumps_writes(value, depth):
    """The report streams each section (tables key by key, short lists item by item, long lists BATCH items a
    json.dumps): whatever the shape and depth, the pieces join into exactly `json.dumps` of the whole."""
    pieces: list[str] = []
    _stream(value, pieces.append, depth)
    assert "".join(pieces) == to_json(value)
