"""`jieyue notices 汇总.json -o 目录` (issue 13 §3): the results handed back, from the JSON report alone.

The rules (`udfs.notices`) with worked examples first; then the demo's report (`play_flow`, once per module) made
into notices, lists and 地州市 workbooks: a notice for every result state, never a blank score, the publication lists
row for row against the summary's 评审结果, identical bytes twice, and a printed notice on one A4 page.
"""
from __future__ import annotations

import copy
import io
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from addin.cli import main
from addin.demo import EVIDENCE_MISSING, NOTICES, REPORT, SUMMARY, play_flow
from addin.notices import (LISTS_FILE, NOTICES_DIR, PREFECTURE_DIR, Report, lists_bytes, load_report, notice_bytes,
                           write_notices)
from generator.formats import number_formats
from udfs.notices import (ELIMINATED, FAILED, PASSED, PUBLISHED, SELF, WAITING, basis_of, outstanding,
                          published_list, result_of, weakest)
from udfs.results import INCOMPLETE, INCOMPLETE_CREATION, NOT_RANKED, NOT_RETURNED, REVIEWED
from workbook_templates import InputError, load_spec

from tests import libreoffice

SPEC = load_spec()


# ---------------------------------------------------------------- the rules, by hand

def entry(**kw: Any) -> dict[str, Any]:
    base = {"unit_code": "X", "unit_name": "甲局", "unit_region": "哈密市", "unit_level": "县市区级", "file": "x.xlsx",
            "state": REVIEWED, "composite": 85.0, "pass": True, "eliminated": False, "tie_at_cut": False,
            "rank": 3, "reason": "", "recheck": "", "used": {"self": 80, "county": 85, "prefecture": 86},
            "waiting": [], "not_counted": [], "scores": {"county": 85, "prefecture": 86, "region": None},
            "self_total": 80, "cohort": "复验"}
    return {**base, **kw}


def test_each_state_has_one_result():
    assert result_of(entry()) == PASSED
    assert result_of(entry(composite=75.0, **{"pass": False})) == FAILED
    # below the pass line and in the last 5 %: 拟摘牌 comes first, and it is on that list only
    both = entry(composite=70.0, eliminated=True, **{"pass": False})
    assert result_of(both) == ELIMINATED and published_list(both) == ELIMINATED
    assert result_of(entry(state=WAITING, composite=None, **{"pass": None})) == WAITING
    assert result_of(entry(state=NOT_RETURNED, file=None, composite=None, **{"pass": None})) == WAITING
    assert result_of(entry(state=NOT_RANKED, composite=None, **{"pass": None})) == WAITING
    assert result_of(entry(state=INCOMPLETE, composite=None, **{"pass": None})) == INCOMPLETE
    assert result_of(entry(state=INCOMPLETE_CREATION, composite=None, **{"pass": None})) == INCOMPLETE_CREATION
    assert published_list(entry(state=WAITING, composite=None, **{"pass": None})) is None


def test_what_is_outstanding_is_said_to_the_unit():
    labels = {"county": "县市区机关事务管理部门", "prefecture": "地州市机关事务管理部门"}
    assert outstanding(entry(), labels) == []                                   # a result: nothing outstanding
    assert outstanding(entry(state=NOT_RETURNED, file=None), labels) == ["本单位的填报工作簿尚未收到：请填写后交回"]
    assert "改正后重新交回" in outstanding(entry(state=NOT_RANKED), labels)[0]
    waiting = entry(state=WAITING, composite=None, waiting=["county", "prefecture"], **{"pass": None})
    progress = {"county": {"status": "未评完", "missing": 3}, "prefecture": {"status": "未收到", "missing": None}}
    assert outstanding(waiting, labels, progress) == ["县市区机关事务管理部门：尚有 3 项未评分",
                                                      "地州市机关事务管理部门：评分尚未收到"]
    final = entry(state=INCOMPLETE, file=None, reason="未报送：由自治区研究确定", composite=None)
    assert outstanding(final, labels) == ["本单位的填报工作簿尚未收到：请填写后交回", "本次为最终汇总：未报送：由自治区研究确定"]


def test_the_basis_is_the_highest_authority_counted():
    order = ["county", "prefecture", "region"]
    full = [1.0, 2.0]
    scores = {"self": full, "county": full, "prefecture": full}
    assert basis_of(entry(), scores, order) == "prefecture"
    # the 自治区 re-check replaced the 地州市 score: its card is the basis
    rechecked = entry(recheck="自治区复核 80 分，替代地州市 86 分")
    assert basis_of(rechecked, {**scores, "region": full}, order) == "region"
    # a re-check only shown (rule none) is not
    shown = entry(not_counted=["region"])
    assert basis_of(shown, {**scores, "region": full}, order) == "prefecture"
    # an unfinished 地州市 card: the 县市区 one; no complete card at all: the self scores
    assert basis_of(entry(used={"self": 80, "county": 85}), {**scores, "prefecture": [1.0, None]}, order) == "county"
    assert basis_of(entry(used={"self": 80}), {"self": full}, order) == SELF


def test_the_weakest_indicators_fall_furthest_below_the_average():
    points = [2.5, 2.0, 2.0, 3.0, 1.0]
    own = [2.5, 1.0, 0.0, 1.5, None]             # full marks on the first: never listed; a blank counts 0
    average = [2.0, 2.0, 1.0, 3.0, 0.2]
    # rates below the average: 1 → 50 − 100 = −50 %, 2 → 0 − 50 = −50 %, 3 → 50 − 100 = −50 %, 4 → 0 − 20 = −20 %
    # equal gaps: the more points lost first (3 lost 1.5, 2 lost 2, 1 lost 1) → 2, 3, 1
    assert weakest(own, average, points) == [2, 3, 1]
    assert weakest(own, average, points, n=5) == [2, 3, 1, 4]
    assert weakest(points, average, points) == []   # every indicator at full marks


# ---------------------------------------------------------------- the demo's report

@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("notices") / "演示"
    play_flow(out, SPEC)
    return out


@pytest.fixture(scope="module")
def data(demo) -> dict[str, Any]:
    return load_report(demo / REPORT)


def book(raw: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(raw))


def texts(ws) -> list[str]:
    return [str(c.value) for row in ws.iter_rows() for c in row if c.value not in (None, "")]


def score_table(ws) -> list[tuple[Any, Any, Any]]:
    """(评分, 得分, 说明) rows of 一、各级评分."""
    rows, inside = [], False
    for r in range(1, ws.max_row + 1):
        a = ws.cell(r, 1).value
        if a == "评分":
            inside = True
            continue
        if inside:
            if a is None or str(a).startswith("二、"):
                break
            rows.append((a, ws.cell(r, 3).value, ws.cell(r, 4).value))
    return rows


def with_every_state(data: dict[str, Any]) -> dict[str, Any]:
    """The demo's report plus the states the demo does not reach: 不达标, 未完成复验, 未完成创建, a tie at the cut."""
    d = copy.deepcopy(data)
    results = d["review_results"]
    passed = next(e for e in results if result_of(e) == PASSED)
    not_returned = next(e for e in results if e["state"] == NOT_RETURNED)
    d["review_results"] += [
        {**passed, "unit_code": "FAILED", "unit_name": "不达标的单位", "composite": 78.5, "pass": False},
        {**passed, "unit_code": "TIE", "unit_name": "并列的单位", "eliminated": True, "tie_at_cut": True,
         "reason": "末位淘汰"},
        {**not_returned, "unit_code": "INCOMPLETE", "unit_name": "未完成复验的单位", "state": INCOMPLETE,
         "reason": "未报送：" + d["review_rules"]["incomplete"]},
        {**not_returned, "unit_code": "CREATION", "unit_name": "未完成创建的单位", "state": INCOMPLETE_CREATION,
         "cohort": "创建", "reason": "未报送"},
    ]
    return d


def test_a_notice_for_every_result_state_never_a_blank_score(data):
    report = Report(with_every_state(data))
    seen = set()
    for e in report.results:
        result = result_of(e)
        seen.add(result)
        ws = book(notice_bytes(e, report))["复验结果通知"]
        words = "\n".join(texts(ws))
        assert f"复验结果：{result}" in words and e["unit_name"] in words
        table = score_table(ws)
        assert table[0][0] == "单位自评" and table[-2][0] == "综合得分" and table[-1][0] == "合格线"
        assert all(score not in (None, "") for _, score, _ in table), (e["unit_name"], table)
        if result in PUBLISHED:
            assert table[-2][1] == e["composite"]
        else:                                          # no result: what is outstanding, in words
            assert "四、尚待完成的事项" in words and table[-2][1] == "尚未计算"
        assert "（盖章）" in words and "经办人" in words
    assert seen == {PASSED, FAILED, ELIMINATED, WAITING, INCOMPLETE, INCOMPLETE_CREATION}


def test_scores_print_with_the_decimals_of_the_summary_and_the_review_packs(data):
    """A unit self-scored 92.5, reviewed 90, composite 91.45: the notice prints 「92.50」「90.00」「91.45」 and the
    pass line 「80.00」 in its score column — the summary's and the packs' score format, 0.00 (two decimals) — and
    says 「综合得分 91.45 分，达到合格线 80 分」 (the pass line in words as the summary's 说明 writes it)."""
    d = copy.deepcopy(data)
    assert d["review_rules"]["score_digits"] == SPEC.precision.score == 2
    e = next(x for x in d["review_results"] if result_of(x) == PASSED)
    e.update(self_total=92.5, composite=91.45, scores={k: None if v is None else 90.0 for k, v in e["scores"].items()})
    report = Report(d)
    ws = book(notice_bytes(e, report))["复验结果通知"]
    first = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "评分") + 1
    shown = {ws.cell(r, 1).value: (ws.cell(r, 3).value, ws.cell(r, 3).number_format)
             for r in range(first, first + len(score_table(ws)))}
    score = number_formats(SPEC)["score"]
    assert score == "0.00"
    assert shown["单位自评"] == (92.5, score) and shown["综合得分"] == (91.45, score) and shown["合格线"] == (80, score)
    assert [v for k, v in shown.items() if k not in ("单位自评", "综合得分", "合格线")] and all(
        v == (90.0, score) for k, v in shown.items() if k not in ("单位自评", "综合得分", "合格线"))
    assert "综合得分 91.45 分，达到合格线 80 分" in "\n".join(texts(ws))
    assert report.score_text(88.4) == "88.40" and report.score_text(90) == "90.00"
    lists, _ = lists_bytes(report)
    ws = book(lists)[PASSED]
    column = [c.value for c in ws[2]].index("综合得分") + 1
    assert {ws.cell(r, column).number_format for r in range(3, ws.max_row + 1)} == {score}


def test_a_notice_lists_the_findings_to_correct_and_the_weakest_indicators(data):
    report = Report(data)
    error_unit = next(e for e in report.results if e["state"] == NOT_RANKED)       # 果园县教育局: 「2000万」
    words = "\n".join(texts(book(notice_bytes(error_unit, report))["复验结果通知"]))
    assert "文本型数字" in words and "2000万" in words and "改正后重新交回" in words
    # 佐证材料 findings are findings to correct too (the demo's 雪莲县人民政府办公室 left a listed file out)
    missing = next(e for e in report.results if e["unit_code"] == EVIDENCE_MISSING[0])
    words = "\n".join(texts(book(notice_bytes(missing, report))["复验结果通知"]))
    assert f"【佐证材料】列出的文件未找到：{EVIDENCE_MISSING[1]}" in words
    ranked = next(e for e in report.results if result_of(e) == PASSED)
    ws = book(notice_bytes(ranked, report))["复验结果通知"]
    header = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "指标")
    rows = [[ws.cell(r, c).value for c in range(1, 7)] for r in range(header + 1, header + 4)]
    ids = [ind.id for ind in SPEC.indicators]
    assert all(r[0] in ids for r in rows)
    for ind_id, _, points, mine, average, gap in rows:
        assert mine < points and gap == pytest.approx(mine - average, abs=0.011)


def test_notices_are_written_for_every_unit_and_are_print_ready(demo, data):
    folder = demo / NOTICES / NOTICES_DIR
    files = sorted(folder.glob("*.xlsx"))
    assert len(files) == len(data["review_results"])
    for path in files:
        wb = openpyxl.load_workbook(path)
        ws = wb["复验结果通知"]
        assert ws.protection.sheet and ws.page_setup.paperSize == 9 and ws.page_setup.orientation == "portrait"
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToHeight in (None, 1)   # 1 is the default
        assert ws.oddHeader.left.text and ws.oddFooter.center.text


def test_the_publication_lists_agree_with_the_review_results_row_for_row(demo):
    ws = openpyxl.load_workbook(demo / SUMMARY)["评审结果"]
    head = [c.value for c in ws[1]]
    col = {name: head.index(next(h for h in head if h and h.startswith(name))) for name in
           ("统一社会信用代码", "综合得分", "状态", "排名", "达标", "拟摘牌", "所属地区", "单位名称")}
    expected = {}
    for row in ws.iter_rows(min_row=2, values_only=True):
        code = row[col["统一社会信用代码"]]
        if row[col["拟摘牌"]] == "是":
            which = ELIMINATED
        elif row[col["状态"]] == REVIEWED and row[col["达标"]] == "否":
            which = FAILED
        elif row[col["状态"]] == REVIEWED and row[col["达标"]] == "是":
            which = PASSED
        else:
            which = None
        expected[code] = (which, row[col["综合得分"]], row[col["排名"]], row[col["所属地区"]], row[col["单位名称"]])
    lists = openpyxl.load_workbook(demo / NOTICES / LISTS_FILE)
    listed = {}
    for which in PUBLISHED:
        ws = lists[which]
        head = [c.value for c in ws[2]]
        rows = [r for r in ws.iter_rows(min_row=3, values_only=True) if r[0] != "（无）"]
        for r in rows:
            code = r[head.index("统一社会信用代码")]
            assert code not in listed, f"{code} is on two lists"
            listed[code] = (which, r[head.index("综合得分")], r[head.index("排名")], r[head.index("所属地区")],
                            r[head.index("单位名称")])
        order = [(r[head.index("所属地区")], r[head.index("单位名称")]) for r in rows]
        assert order == sorted(order)                                     # by region, then name
        assert f"（共 {len(rows)} 个）" in ws["A1"].value
    assert listed == {code: e for code, e in expected.items() if e[0] is not None}
    assert {e[0] for e in listed.values()} >= {PASSED, ELIMINATED}        # the demo has both
    rules = "\n".join(texts(lists["说明"]))
    assert "80 分" in rules and "末位 5%" in rules and "向上取整" in rules and "阶段性结果" in rules


def test_each_prefecture_gets_its_units_only(demo, data):
    folder = demo / NOTICES / PREFECTURE_DIR
    report = Report(data)
    covered = set(report.covers["prefecture"])
    for path in sorted(folder.glob("*.xlsx")):
        region = path.name.split("_")[0]
        ws = openpyxl.load_workbook(path)["复验结果"]
        header = [c.value for c in ws[2]]
        assert [h for h in header if h and h.endswith("评分") and h != "自评分"] == ["县市区评分", "地州市评分", "自治区评分"]
        codes = [r[2] for r in ws.iter_rows(min_row=3, values_only=True) if isinstance(r[0], int)]
        assert codes == [e["unit_code"] for e in sorted(data["review_results"],
                                                         key=lambda e: (e["unit_name"], e["unit_code"]))
                         if e["unit_region"] == region and e["unit_level"] in covered]
    assert {p.name.split("_")[0] for p in folder.glob("*.xlsx")} == {
        e["unit_region"] for e in data["review_results"] if e["unit_level"] in covered}


def test_identical_reports_give_identical_bytes(demo, tmp_path):
    assert main(["notices", str(demo / REPORT), "-o", str(tmp_path / "again")]) == 0
    first = {p.relative_to(demo / NOTICES): p.read_bytes() for p in (demo / NOTICES).rglob("*.xlsx")}
    second = {p.relative_to(tmp_path / "again"): p.read_bytes() for p in (tmp_path / "again").rglob("*.xlsx")}
    assert first == second and len(first) > 12


def test_a_file_that_is_not_a_report_is_refused(tmp_path):
    (tmp_path / "a.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(InputError, match="不是 jieyue 汇总的 JSON 报告"):
        write_notices(tmp_path / "a.json", tmp_path / "out")
    (tmp_path / "old.json").write_text(json.dumps({"review_results": []}), encoding="utf-8")
    with pytest.raises(InputError, match="重新汇总"):
        write_notices(tmp_path / "old.json", tmp_path / "out")
    older = {"review_results": [], "unit_indicators": {}, "review_rules": {"pass_line": 80}}   # no score_digits
    (tmp_path / "older.json").write_text(json.dumps(older), encoding="utf-8")
    with pytest.raises(InputError, match="重新汇总"):
        write_notices(tmp_path / "older.json", tmp_path / "out")
    assert main(["notices", str(tmp_path / "无此文件.json"), "-o", str(tmp_path / "out")]) == 2


@pytest.mark.libreoffice
def test_a_posted_list_prints_every_code_whole(demo, tmp_path):
    """公示名单 and a 地州市's results are printed and posted: every 统一社会信用代码 on them prints on one line, whole
    (LibreOffice stands in for 宋体 with a font of wider digits: a narrower column split codes over two lines)."""
    libreoffice.needs_poppler()
    out = demo / NOTICES
    lists = out / LISTS_FILE
    region = sorted((out / PREFECTURE_DIR).iterdir())[0]
    for path in (lists, region):
        pdf = libreoffice.convert([path], tmp_path / "pdf", "pdf")[0]
        lines = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                               check=True).stdout
        codes = {c.value for ws in book(path.read_bytes()).worksheets for row in ws.iter_rows(min_row=3)
                 for c in row if isinstance(c.value, str) and re.fullmatch(r"[0-9A-Z]{18}", c.value)}
        assert codes, path.name
        assert all(code in lines for code in codes), (path.name, [c for c in codes if c not in lines])


@pytest.mark.libreoffice
def test_a_full_notice_prints_on_one_a4_page(data, tmp_path):
    libreoffice.needs_poppler()
    d = copy.deepcopy(data)
    report = Report(d)
    # the longest notice there can be: a waiting unit with many kinds of long finding
    e = next(x for x in report.results if x["state"] == NOT_RANKED)
    report.findings[e["file"]] = [
        {"code": f"E2{k:02d}", "severity": "错误", "title": "文本型数字", "cell": f"能耗数据2022!D{k}",
         "message": "「2022年度 电消耗量」填的是文本「2000万」，未计入：请写成数字，如 20000000" * 2}
        for k in range(12)]
    path = tmp_path / "通知.xlsx"
    path.write_bytes(notice_bytes(e, report))
    pdf = libreoffice.convert([path], tmp_path / "pdf", "pdf")[0]
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M), info
    assert "A4" in info or "595" in info
    text = re.sub(r"\s+", "", subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                                             check=True).stdout)
    assert e["unit_name"] in text and "复验结果：待评审" in text and "（盖章）" in text and "第1页共1页" in text
