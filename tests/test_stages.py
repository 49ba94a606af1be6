"""Stages and due dates (issue 13 §2): process.toml's stages per year, `jieyue consolidate --as-of`, the report's
`stages`, the summary's 进度 sheet and 评审进度's 逾期.

The demo (`play_flow`, once per module) is judged at several dates by re-rendering its run (`content`), so each
expectation is about one date. The demo's facts the expectations rest on: 2 roster units never return and one
return has an error (果园县教育局), so 9 of 12 units are done for 8月上旬; the 自治区's scorecard of
自治区公共机构节能监测中心 (自治区本级) has 3 items blank, so the 自治区 has 1 of its 2 本级 units done for 8月中旬;
8 units have a result.
"""
from __future__ import annotations

import io
import re
import shutil
import zipfile
from datetime import date

import openpyxl
import pytest

from addin.cli import main
from addin.consolidate.content import content
from addin.consolidate.stages_sheet import fits_one_page
from addin.consolidate.summary import render
from addin.demo import AS_OF, play_flow
from udfs.stages import days_overdue, is_overdue, part_progress
from workbook_templates import load_spec
from workbook_templates.load import SPEC_DIR, SpecError
from workbook_templates.process import due_of

SPEC = load_spec()
DAYS = {"上旬": 10, "中旬": 20, "下旬": 31}


# ---------------------------------------------------------------- the rules

def test_a_period_falls_due_on_its_assumed_day():
    assert due_of("8月上旬", 2023, DAYS) == date(2023, 8, 10)
    assert due_of("10月中旬", 2023, DAYS) == date(2023, 10, 20)
    assert due_of("9月下旬", 2023, DAYS) == date(2023, 9, 30)        # 31 → the month's last day
    assert due_of("2月下旬", 2024, DAYS) == date(2024, 2, 29)
    with pytest.raises(ValueError, match="无法识别"):
        due_of("8月初", 2023, DAYS)


def test_the_2023_stages_are_the_decks():
    stages = SPEC.process.stages(2023)
    assert [(s.period, s.due, s.assumed) for s in stages] == [
        ("8月上旬", date(2023, 8, 10), True), ("8月中旬", date(2023, 8, 20), True), ("9月上旬", date(2023, 9, 10), True),
        ("10月上旬", date(2023, 10, 10), True), ("10月中旬", date(2023, 10, 20), True)]
    assert [c.by for c in stages[1].checks] == ["county", "prefecture", "region"]
    assert SPEC.process.stages(1999) == ()


def test_a_date_set_in_the_spec_is_not_an_assumption(tmp_path):
    spec_dir = tmp_path / "spec"
    shutil.copytree(SPEC_DIR, spec_dir)
    toml = spec_dir / "process.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace('period = "8月上旬"\n', 'period = "8月上旬"\ndue = 2023-08-15\n'), encoding="utf-8")
    first = load_spec(spec_dir).process.stages(2023)[0]
    assert (first.due, first.assumed) == (date(2023, 8, 15), False)
    later = tmp_path / "spec-later"                                   # load_spec caches by folder
    shutil.copytree(spec_dir, later)
    toml = later / "process.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('due = 2023-08-15', 'due = 2023-12-15'), encoding="utf-8")
    with pytest.raises(SpecError, match="先后顺序"):
        load_spec(later)


def test_overdue_is_after_the_due_date_and_not_done():
    due = date(2023, 8, 10)
    assert not is_overdue(due, date(2023, 8, 10), 9, 10)               # the due date itself: not yet
    assert is_overdue(due, date(2023, 8, 11), 9, 10) and days_overdue(due, date(2023, 8, 11)) == 1
    assert not is_overdue(due, date(2023, 9, 1), 10, 10)               # all done: never overdue
    assert not is_overdue(due, None, 0, 10)                            # no as-of date: not judged
    assert part_progress([True, False, True], due, date(2023, 8, 12)) == {
        "done": 2, "total": 3, "rate": 0.6667, "overdue": True, "days_overdue": 2}
    # a spot check: 3 complete re-checks of the 2 required count as 2
    assert part_progress([True, True, True, False], due, date(2023, 8, 12), required=2)["done"] == 2


# ---------------------------------------------------------------- the demo at given dates

@pytest.fixture(scope="module")
def flow(tmp_path_factory):
    return play_flow(tmp_path_factory.mktemp("stages") / "演示", SPEC)


def at(flow, day: date | None) -> dict:
    flow.run.as_of = day
    try:
        return content(flow.run, SPEC)
    finally:
        flow.run.as_of = AS_OF


def rows(data: dict, stage: str) -> list[dict]:
    return [r for r in data["stages"]["rows"] if r["stage"] == stage]


def test_on_the_first_due_date_nothing_is_overdue(flow):
    data = at(flow, date(2023, 8, 10))
    assert data["stages"]["as_of"] == "2023-08-10" and data["stages"]["overdue_stages"] == []
    (returns,) = rows(data, "returns")
    assert (returns["done"], returns["total"]) == (9, 12)


def test_the_day_after_the_units_not_done_are_overdue(flow):
    data = at(flow, date(2023, 8, 11))
    assert data["stages"]["overdue_stages"] == ["returns"]
    (returns,) = rows(data, "returns")
    assert returns["days_overdue"] == 1
    assert {(u["unit_name"], u["status"]) for u in returns["overdue_units"]} == {
        ("自治区档案资料保管中心", "未交回工作簿"), ("白杨河县人民检察院", "未交回工作簿"),
        ("果园县教育局", "工作簿有错误，待改正后重新交回")}
    assert not any(p["overdue"] for p in data["review_progress"])     # no review is due yet


def test_after_mid_august_the_unfinished_scorecard_is_overdue(flow):
    data = at(flow, date(2023, 8, 21))
    assert data["stages"]["overdue_stages"] == ["returns", "own_level"]
    late = [r for r in rows(data, "own_level") if r["overdue"]]
    assert [(r["by"], r["done"], r["total"]) for r in late] == [("region", 1, 2)]
    assert late[0]["overdue_units"] == [{"unit_code": late[0]["overdue_units"][0]["unit_code"],
                                         "unit_name": "自治区公共机构节能监测中心", "unit_region": "乌鲁木齐市",
                                         "status": "尚有 3 项未评分"}]
    assert late[0]["overdue_packs"] == ["全区 自治区机关事务管理局：尚有 1 个单位未评完"]
    marked = [(p["unit_name"], p["reviewer"]) for p in data["review_progress"] if p["overdue"]]
    assert marked == [("自治区公共机构节能监测中心", "region")]


def test_after_the_last_due_date_the_units_without_a_result_are_overdue(flow):
    data = at(flow, date(2023, 10, 21))
    (results,) = rows(data, "results")
    assert results["overdue"] and (results["done"], results["total"]) == (8, 12)
    assert len(results["overdue_units"]) == 4


def test_without_a_date_nothing_is_judged(flow):
    data = at(flow, None)
    assert data["stages"]["as_of"] is None and data["stages"]["overdue_stages"] == []


def test_the_progress_sheet_and_identical_bytes(flow):
    one, two = render(at(flow, date(2023, 8, 21)), SPEC), render(at(flow, date(2023, 8, 21)), SPEC)
    assert one == two                                                  # the as-of date is an input, nothing else
    assert render(at(flow, date(2023, 8, 22)), SPEC) != one
    wb = openpyxl.load_workbook(io.BytesIO(one))
    ws = wb["进度"]
    assert "截至 2023-08-21" in ws["A1"].value
    table = [r for r in ws.iter_rows(min_row=5, values_only=True) if r[0]]
    assert table[0][2] == "2023-08-10（推定）" and table[0][6] == "是" and "白杨河县人民检察院" in table[0][8]
    assert any(r[6] == "是" and r[9] == "全区 自治区机关事务管理局：尚有 1 个单位未评完" for r in table)
    with zipfile.ZipFile(io.BytesIO(one)) as z:                           # the chart (openpyxl drops charts)
        assert any("各阶段完成率" in z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/"))
    head = [c.value for c in wb["评审进度"][1]]
    late = head.index("逾期")
    assert [r[late] for r in wb["评审进度"].iter_rows(min_row=2, values_only=True)].count("是") == 1


def test_the_chart_shares_the_tables_page_only_when_both_fit():
    """进度 is printed landscape, scaled to its 175 column-width units across the page's 145.7: 83 %, so a page
    holds 487 ÷ 0.833 = 585 pt of rows and charts. The demo's 7 stages take 478.8 pt of rows (title, note, header,
    rows of 2–4 lines, the gap) and their chart 290 px = 217.5 pt: 696.3 pt, the chart starts a page. Rows of one
    line: 11 × 15 = 165 pt + 217.5 = 382.5 pt, one page. Portrait within the page width: 733.9 pt a page."""
    assert not fits_one_page(478.8, 217.5, 175, landscape=True)
    assert fits_one_page(165, 217.5, 175, landscape=True)
    assert fits_one_page(500, 217.5, 90, landscape=False) and not fits_one_page(520, 217.5, 90, landscape=False)


def test_the_progress_sheet_breaks_before_the_chart_only_when_needed(flow):
    def breaks(data: dict) -> bool:
        """Whether 进度 has a manual page break (XlsxWriter writes sheet k + 1 for the k-th sheet)."""
        with zipfile.ZipFile(io.BytesIO(render(data, SPEC))) as z:
            names = re.findall(r'<sheet name="([^"]+)"', z.read("xl/workbook.xml").decode())
            return b"<rowBreaks" in z.read(f"xl/worksheets/sheet{names.index('进度') + 1}.xml")
    assert breaks(at(flow, date(2023, 8, 21)))
    short = at(flow, None)
    for r in short["stages"]["rows"]:
        r.update(label="核查", by_label="甲", levels=[], overdue_units=[], overdue_packs=[])
    assert not breaks(short)


def test_as_of_on_the_command_line(tmp_path, capsys):
    assert main(["consolidate", str(tmp_path), "-o", str(tmp_path / "汇总.xlsx"), "--as-of", "8月10日"]) == 2
    assert "--as-of" in capsys.readouterr().err
