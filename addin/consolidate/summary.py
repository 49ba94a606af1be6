"""The summary workbook of a consolidation run (XlsxWriter: output only, native charts).

It renders `content.content(run)` — the same data as the JSON report — on these sheets, all labels Chinese:

汇总      one row per unit: two header rows, the meaning (row 1) and the contract name (row 2), so a column
          is found by the same name as in the fill-in workbook, `udfs.evaluate` and the JSON report
问题清单  every finding of every file, coloured by severity
未报送    roster units with no return;  重复报送  every file of a unit returned twice, and the rule that chose one
名单外    returns whose unit is not on the roster;  统计  by region and level, with two charts
文件清单  every file seen;  说明  the accounting (seen = consolidated + rejected + skipped) and deleted files

The file is deterministic (fixed document dates, fixed zip timestamps): identical runs give identical bytes.
It is written atomically, so a failure leaves the previous summary in place.
"""
from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Iterator

import xlsxwriter

from generator.ooxml import write_atomically
from udfs.results import WAITING
from workbook_templates import Spec, contract_names
from workbook_templates.contract import UNIT_NAMES

from . import review_content as rc, sheetxml
from .columns import figure_columns, short_label, summary_columns, workbook_formats, style_indices
from .content import BLOCKED, NOT_USED, accounting_line
from .model import CONSOLIDATED, REJECTED, REVIEW, SKIPPED, STATUS_LABEL
from .prerender import unit_cells
from .report_json import RENDERED
from .review_content import NOT_RECEIVED, NOT_STARTED, UNFINISHED
from .reviews import CARD_RULE

# A fixed document date: the file must not change when nothing else did.
CREATED = datetime(2000, 1, 1)

SHEETS = ("汇总", "评审结果", "评审进度", "指标得分", "问题清单", "未报送", "重复报送", "名单外", "统计", "文件清单",
          "说明")
NO_ROSTER = "未提供名单，无法判断未报送单位"
NO_ROSTER_OUTSIDE = "未提供名单，无法判断名单外单位"
DISAPPEARED = "上次汇总后被删除的文件"



class _Book:
    """The workbook with its formats, and a cell writer that never turns text into a formula or a link."""

    def __init__(self, buffer: io.BytesIO, spec: Spec, title: str):
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
        self.sheets = {name: self.wb.add_worksheet(name) for name in SHEETS}
        self.splices: dict[str, tuple[Iterable[str], int, int]] = {}   # part → (rows, last row, last column)

    def part(self, ws) -> str:
        """The zip part XlsxWriter writes a worksheet to (sheet1.xml for the first added)."""
        return f"xl/worksheets/sheet{ws.index + 1}.xml"

    def put(self, ws, row: int, col: int, value: Any, fmt: str = "text") -> None:
        if value is None or value == "":     # a blank cell, never an empty string (ISBLANK stays true)
            return
        if isinstance(value, bool):
            ws.write_string(row, col, "是" if value else "否", self.f["yesno"])
        elif isinstance(value, (int, float)):
            ws.write_number(row, col, value, self.f.get(fmt, self.f["text"]) if fmt != "yesno" else None)
        else:
            ws.write_string(row, col, str(value), self.f[fmt] if fmt in ("yesno", "wrap") else self.f["text"])

    def big_table(self, ws, labels: list[str], widths: list[float], fmts: list[str], rows: list[list[Any]],
                  empty: str) -> None:
        """A table from A1 whose rows grow with the number of files or units: the header by XlsxWriter, the
        rows rendered as SpreadsheetML and spliced in (`sheetxml`), each column in its format."""
        if not rows:
            self.table(ws, 0, labels, widths, [], empty)
            return
        self.header(ws, 0, labels, widths)
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, len(rows), len(labels) - 1)
        style, text, yes_no = self.style, self.style["text"], self.style["yesno"]

        def render() -> Iterator[str]:
            for r, values in enumerate(rows, start=2):
                yield sheetxml.row(r, (sheetxml.cell(v, style.get(f, text), text, yes_no, f == "yesno")
                                       for v, f in zip(values, fmts)))
        self.splices[self.part(ws)] = (render(), len(rows) + 1, len(labels))

    def header(self, ws, row: int, labels: list[str], widths: list[float]) -> None:
        for c, (label, width) in enumerate(zip(labels, widths)):
            ws.write_string(row, c, label, self.f["head"])
            ws.set_column(c, c, width)

    def table(self, ws, row: int, labels: list[str], widths: list[float], rows: list[list[Any]],
              empty: str = "无") -> int:
        """A header and rows with a frozen header and a filter; returns the row after the table."""
        self.header(ws, row, labels, widths)
        ws.freeze_panes(row + 1, 0)
        for r, values in enumerate(rows, start=row + 1):
            for c, v in enumerate(values):
                self.put(ws, r, c, v, "count" if isinstance(v, int) and not isinstance(v, bool) else "text")
        if rows:
            ws.autofilter(row, 0, row + len(rows), len(labels) - 1)
            return row + 1 + len(rows)
        ws.write_string(row + 1, 0, empty, self.f["note"])
        return row + 2


# ---------------------------------------------------------------- sheets

def _unit_figures(unit: dict[str, Any], spec: Spec) -> str:
    """A unit's figure cells: as the pre-render stage made them where the file was read, or rendered now."""
    rendered = unit.get(RENDERED)
    return rendered.summary_cells if rendered else unit_cells(unit["inputs"], unit["results"], spec)


def _summary(b: _Book, data: dict[str, Any], spec: Spec) -> None:
    ws = b.sheets["汇总"]
    cols = summary_columns(spec)
    ws.set_row(0, 90)
    for c, col in enumerate(cols):     # row by row: constant-memory mode writes rows out as it goes
        ws.write_string(0, c, col.label, b.f["head"])
        ws.set_column(c, c, col.width)
    for c, col in enumerate(cols):
        ws.write_string(1, c, col.key, b.f["name"])
    first = [c for c in cols if c.source == "unit" and c.key != "file"]
    if cols.index(first[-1]) + 1 != cols.index(figure_columns(spec)[0]) or cols[-1].key != "file":
        raise RuntimeError("汇总表的列顺序与写入方式不一致：这是程序错误，请报告")
    style, text, yes_no = b.style, b.style["text"], b.style["yesno"]

    def rows() -> Iterator[str]:
        for r, unit in enumerate(data["units"], start=3):
            head = "".join(sheetxml.cell(unit.get(c.key), style.get(c.fmt, text), text, yes_no) for c in first)
            tail = sheetxml.cell(unit["file"], text, text, yes_no)
            yield sheetxml.row(r, (head, _unit_figures(unit, spec), tail))
    last = len(data["units"]) + 2
    if data["units"]:
        b.splices[b.part(ws)] = (rows(), last, len(cols))
    last -= 1                           # 0-based from here on, as XlsxWriter counts
    ws.freeze_panes(2, 1)
    ws.autofilter(1, 0, last, len(cols) - 1)
    if data["units"]:
        state = [c for c, col in enumerate(cols) if col.key == "state"][0]
        ws.conditional_format(2, state, last, state, {"type": "cell", "criteria": "==", "value": f'"{BLOCKED}"',
                                                      "format": b.f["red"]})


FINDING_COLUMNS = (("file", "文件", 36), ("unit_name", "单位名称", 28), ("unit_code", "统一社会信用代码", 22),
                   ("name", "名称", 26), ("cell", "单元格", 20), ("code", "代码", 8), ("severity", "严重程度", 10),
                   ("title", "问题", 22), ("message", "说明", 70))


def _findings(b: _Book, data: dict[str, Any]) -> None:
    ws = b.sheets["问题清单"]
    rows = [[f[k] for k, _, _ in FINDING_COLUMNS] for f in data["findings"]]
    b.big_table(ws, [l for _, l, _ in FINDING_COLUMNS], [w for _, _, w in FINDING_COLUMNS],
                ["text"] * len(FINDING_COLUMNS), rows, "未发现问题")
    if rows:
        sev = chr(ord("A") + [k for k, _, _ in FINDING_COLUMNS].index("severity"))
        for word, fmt in (("错误", "red"), ("警告", "yellow")):
            ws.conditional_format(1, 0, len(rows), len(FINDING_COLUMNS) - 1,
                                  {"type": "formula", "criteria": f'=${sev}2="{word}"', "format": b.f[fmt]})


def _unit_labels(spec: Spec) -> dict[str, str]:
    by_name = {n.name: n for n in contract_names(spec)}
    return {k: short_label(by_name[k].meaning) for k in UNIT_NAMES}


def _without_roster(b: _Book, ws, data: dict[str, Any], note: str) -> bool:
    """No roster given: the sheet says what it cannot tell, instead of an empty table."""
    if data["not_returned"] is not None:
        return False
    ws.write_string(0, 0, note, b.f["note"])
    ws.set_column(0, 0, 60)
    return True


def _not_returned(b: _Book, data: dict[str, Any], spec: Spec) -> None:
    ws = b.sheets["未报送"]
    if _without_roster(b, ws, data, NO_ROSTER):
        return
    lab = _unit_labels(spec)
    rows = [[e["name"], e["code"], e["level"], e["region"]] for e in data["not_returned"]]
    b.table(ws, 0, [lab["unit_name"], lab["unit_code"], lab["unit_level"], lab["unit_region"]], [30, 22, 12, 12],
            rows, "无：名单内单位均已报送")


def _duplicates(b: _Book, data: dict[str, Any], spec: Spec) -> None:
    ws = b.sheets["重复报送"]
    rules = sorted({d["rule"] for d in data["duplicates"]})
    note = ("同一统一社会信用代码收到多份文件时，只采用其中一份（是否采用＝是），其余文件列出但不参与汇总和排名。"
            + (f"采用规则：{'；'.join(rules)}" if rules else ""))
    ws.set_row(0, 45)
    ws.merge_range(0, 0, 0, 5, note, b.f["note"])
    files = {f["path"]: f for f in data["files"]}
    rows = []
    for d in data["duplicates"]:
        for path in d["files"]:
            f = files.get(path, {})
            rows.append([d["unit_code"], f.get("unit_name"), path, f.get("status_label"),
                         "是" if path == d["chosen"] else "否", d["rule"]])
    lab = _unit_labels(spec)
    b.table(ws, 2, [lab["unit_code"], lab["unit_name"], "文件", "文件状态", "是否采用", "采用规则"],
            [22, 28, 40, 10, 10, 60], rows, "未发现重复报送")


def _outside(b: _Book, data: dict[str, Any], spec: Spec) -> None:
    ws = b.sheets["名单外"]
    if _without_roster(b, ws, data, NO_ROSTER_OUTSIDE):
        return
    lab = _unit_labels(spec)
    rows = [[f["path"], f["unit_name"], f["unit_code"], f["unit_level"], f["unit_region"], f["state"]]
            for f in data["outside_roster"]]
    b.table(ws, 0, ["文件", lab["unit_name"], lab["unit_code"], lab["unit_level"], lab["unit_region"], "状态"],
            [40, 28, 22, 12, 12, 20], rows, "无：所有报送单位均在名单内")


STAT_COLUMNS = (("returned", "报送数", "count"), ("valid", "有效数", "count"), ("targets_all_met", None, "count"),
                ("average_self_total", "平均自评分", "score"), ("self_pass", None, "count"),
                ("pass_rate", "自评达标率", "percent"))
_NUMERALS = "零一二三四五六七八九十"


def _stat_labels(stats: dict[str, Any]) -> list[str]:
    n = stats["targets"]
    labels = {"targets_all_met": f"{_NUMERALS[n] if n <= 10 else n}项目标全部达标数",
              "self_pass": f"自评达到{stats['pass_line']:g}分数"}
    return [label or labels[key] for key, label, _ in STAT_COLUMNS]


def _stat_table(b: _Book, ws, row: int, first: str, groups: list[dict[str, Any]], total: dict[str, Any],
                labels: list[str]) -> int:
    b.header(ws, row, [first, *labels], [16] + [12] * len(labels))
    for r, g in enumerate(groups, start=row + 1):
        ws.write_string(r, 0, g["group"], b.f["text"])
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
    ws = b.sheets["统计"]
    stats = data["statistics"]
    labels = _stat_labels(stats)
    ws.write_string(0, 0, "统计（按所属地区、单位层级）", b.f["title"])
    ws.set_row(1, 45)
    ws.merge_range(1, 0, 1, 6, f"报送数：参与汇总的单位（每个单位一份文件）；有效数：其中无错误的单位。达标数、"
                   f"平均自评分、自评达到{stats['pass_line']:g}分数和达标率只计有效单位；自评达标率＝自评达到"
                   f"{stats['pass_line']:g}分数 ÷ 有效数。", b.f["note"])
    region_row = 3
    row = _stat_table(b, ws, region_row, "所属地区", stats["by_region"], stats["total"], labels)
    row = _stat_table(b, ws, row, "单位层级", stats["by_level"], stats["total"], labels)
    dist_row = row
    b.header(ws, dist_row, ["自评总分分数段（有效单位，含下限不含上限）", "单位数"], [16, 12])
    for r, bucket in enumerate(stats["score_distribution"], start=dist_row + 1):
        ws.write_string(r, 0, bucket["label"], b.f["text"])
        ws.write_number(r, 1, bucket["count"], b.f["count"])
    ws.set_column(0, 0, 22)

    n = len(stats["score_distribution"])
    dist = b.wb.add_chart({"type": "column"})
    dist.add_series({"name": "单位数", "categories": ["统计", dist_row + 1, 0, dist_row + n, 0],
                     "values": ["统计", dist_row + 1, 1, dist_row + n, 1], "data_labels": {"value": True},
                     "fill": {"color": "#5B9BD5"}})
    dist.set_title({"name": "自评总分分布（有效单位）"})
    dist.set_legend({"none": True})
    dist.set_y_axis({"name": "单位数", "min": 0, "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    ws.insert_chart(region_row, 9, dist, {"x_scale": 1.2, "y_scale": 1.1})

    regions = len(stats["by_region"])
    if regions:
        rate_col = 1 + [k for k, _, _ in STAT_COLUMNS].index("pass_rate")
        bar = b.wb.add_chart({"type": "bar"})
        bar.add_series({"name": "自评达标率", "categories": ["统计", region_row + 1, 0, region_row + regions, 0],
                        "values": ["统计", region_row + 1, rate_col, region_row + regions, rate_col],
                        "data_labels": {"value": True, "num_format": "0.0%"}, "fill": {"color": "#70AD47"}})
        bar.set_title({"name": f"各地区自评达到{stats['pass_line']:g}分的比例（有效单位）"})
        bar.set_legend({"none": True})
        bar.set_x_axis({"min": 0, "max": 1, "num_format": "0%"})
        bar.set_y_axis({"reverse": True, "crossing": "max"})   # regions top down as in the table, axis below
        ws.insert_chart(region_row + 18, 9, bar, {"x_scale": 1.2, "y_scale": max(1.0, 0.25 + regions * 0.08)})
    else:
        ws.write_string(region_row + 18, 9, "没有参与汇总的单位，未生成各地区达标率图。", b.f["note"])


FILE_COLUMNS = (("path", "文件", 40, "text"), ("kind_label", "类型", 10, "text"), ("size", "大小（字节）", 12, "count"),
                ("sha256", "SHA-256", 20, "text"), ("status_label", "状态", 8, "text"),
                ("unit_code", "统一社会信用代码", 22, "text"), ("unit_name", "单位名称", 28, "text"),
                ("used", "是否采用", 9, "text"), ("skip_reason", "跳过原因", 24, "text"),
                ("template_version", "模板版本", 10, "text"), ("errors", "错误数", 8, "count"),
                ("warnings", "警告数", 8, "count"))


def _files(b: _Book, data: dict[str, Any]) -> None:
    rows = [[f[k] if k != "used" or f[k] is None else ("是" if f[k] else "否") for k, _, _, _ in FILE_COLUMNS]
            for f in data["files"]]
    b.big_table(b.sheets["文件清单"], [c[1] for c in FILE_COLUMNS], [c[2] for c in FILE_COLUMNS],
                [c[3] for c in FILE_COLUMNS], rows, "没有发现文件")


# ---------------------------------------------------------------- review results

def _yes(value: Any) -> str | None:
    return None if value is None else "是" if value else "否"


NO_REVIEWS = ("本次汇总没有读取到评审包，所有单位都在等待评审，不计算综合得分和排名。评审部门用 jieyue review-pack 生成"
              "评审包、评分后交回，放入回收目录（或用 --reviews 指定目录）再次汇总即可。")


def _no_reviews(b: _Book, ws, data: dict[str, Any]) -> bool:
    """Before any review pack came back, one note instead of a row per unit that all say the same."""
    if data["reviews"] or any(f["kind"] == REVIEW for f in data["files"]):
        return False
    ws.set_column(0, 0, 100)
    ws.write_string(0, 0, NO_REVIEWS, b.f["note"])
    return True


def _results(b: _Book, data: dict[str, Any], spec: Spec) -> None:
    ws = b.sheets["评审结果"]
    if _no_reviews(b, ws, data):
        return
    reviewers = list(spec.assessment.reviewers)
    lab = _unit_labels(spec)
    labels = [lab["unit_name"], lab["unit_code"], lab["unit_level"], lab["unit_region"], "自评分",
              *(f"{spec.assessment.reviewers[k]}" for k in reviewers), "综合得分", "状态", "排名",
              f"达标（≥{spec.assessment.pass_line:g}分）", "拟摘牌", "摘牌线并列（待定）", "说明", "文件"]
    widths = [28, 22, 10, 14, 9, *([14] * len(reviewers)), 10, 18, 7, 10, 8, 10, 60, 36]
    fmts = ["text"] * 4 + ["score"] * (2 + len(reviewers)) + ["text", "count", "text", "text", "text", "text",
                                                                "text"]
    rows = [[r["unit_name"], r["unit_code"], r["unit_level"], r["unit_region"], r["self_total"],
             *(r["scores"][k] for k in reviewers), r["composite"], r["state"], r["rank"], _yes(r["pass"]),
             "是" if r["eliminated"] else None, "是" if r["tie_at_cut"] else None, _explain(r, spec), r["file"]]
            for r in data["review_results"]]
    b.big_table(ws, labels, widths, fmts, rows, "没有参与汇总的单位")
    if rows:
        last = len(rows)
        eliminated = labels.index("拟摘牌")
        state = labels.index("状态")
        ws.conditional_format(1, eliminated, last, eliminated, {"type": "cell", "criteria": "==", "value": '"是"',
                                                                "format": b.f["red"]})
        ws.conditional_format(1, state, last, state, {"type": "text", "criteria": "begins with",
                                                      "value": WAITING, "format": b.f["yellow"]})


def _explain(r: dict[str, Any], spec: Spec) -> str:
    """Why a unit stands where it stands, in one line: waiting for whom, the re-check, 摘牌 reason."""
    parts = []
    if r["waiting"]:
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


PROGRESS_COLUMNS = (("unit_name", "单位名称", 28, "text"), ("unit_code", "统一社会信用代码", 22, "text"),
                    ("unit_level", "单位层级", 10, "text"), ("unit_region", "所属地区", 14, "text"),
                    ("reviewer_label", "评审部门", 30, "text"), ("weighed", "计入综合得分", 12, "text"),
                    ("status", "评审状态", 10, "text"), ("missing", "未评项数", 9, "count"),
                    ("total", "评审总分", 10, "score"), ("reviewer_name", "评审人", 12, "text"),
                    ("file", "评审包", 36, "text"), ("sheet", "评分表", 24, "text"))


def _progress(b: _Book, data: dict[str, Any]) -> None:
    ws = b.sheets["评审进度"]
    if _no_reviews(b, ws, data):
        return
    rows = [[_yes(p[k]) if k == "weighed" else p[k] for k, _, _, _ in PROGRESS_COLUMNS] for p in data["review_progress"]]
    b.big_table(ws, [c[1] for c in PROGRESS_COLUMNS], [c[2] for c in PROGRESS_COLUMNS],
                [c[3] for c in PROGRESS_COLUMNS], rows, "没有参与汇总的单位")
    if rows:
        status = [c[0] for c in PROGRESS_COLUMNS].index("status")
        for word, fmt in ((NOT_RECEIVED, "red"), (NOT_STARTED, "red"), (UNFINISHED, "yellow")):
            ws.conditional_format(1, status, len(rows), status, {"type": "cell", "criteria": "==",
                                                                 "value": f'"{word}"', "format": b.f[fmt]})


AVERAGE_COLUMNS = (("indicator", "指标", 8, "text"), ("text", "指标内容", 60, "wrap"), ("points", "分值", 7, "score"),
                   ("self_average", "自评平均分", 11, "score"), ("self_rate", "自评得分率", 11, "percent"),
                   ("review_average", "评审平均分", 11, "score"), ("review_rate", "评审得分率", 11, "percent"),
                   ("scorecards", "评分表数", 9, "count"))


def _averages(b: _Book, data: dict[str, Any]) -> None:
    ws = b.sheets["指标得分"]
    averages = data["indicator_averages"]
    ws.write_string(0, 0, "各项指标的平均得分与得分率（自评：无错误的单位；评审：已评完并采用的评分表；未得分计0）",
                    b.f["bold"])
    b.header(ws, 1, [c[1] for c in AVERAGE_COLUMNS], [c[2] for c in AVERAGE_COLUMNS])
    ws.freeze_panes(2, 1)
    for r, a in enumerate(averages, start=2):
        for c, (key, _, _, fmt) in enumerate(AVERAGE_COLUMNS):
            b.put(ws, r, c, a[key], fmt)
    low = rc.lowest(averages)
    at = len(averages) + 4
    ws.write_string(at, 0, f"得分率最低的 {len(low)} 项（按评审得分率，无评审时按自评得分率）", b.f["bold"])
    b.header(ws, at + 1, ["指标", "评审得分率", "自评得分率"], [8, 11, 11])
    for r, a in enumerate(low, start=at + 2):
        b.put(ws, r, 0, a["indicator"])
        b.put(ws, r, 1, a["review_rate"], "percent")
        b.put(ws, r, 2, a["self_rate"], "percent")
    if low:
        chart = b.wb.add_chart({"type": "bar"})
        first, last = at + 2, at + 1 + len(low)
        for col, name, color in ((1, "评审得分率", "#ED7D31"), (2, "自评得分率", "#5B9BD5")):
            chart.add_series({"name": name, "categories": ["指标得分", first, 0, last, 0],
                              "values": ["指标得分", first, col, last, col], "fill": {"color": color}})
        chart.set_title({"name": "得分率最低的指标（哪些要求最常失分）"})
        chart.set_x_axis({"min": 0, "max": 1, "num_format": "0%"})
        chart.set_y_axis({"reverse": True, "crossing": "max"})
        ws.insert_chart(at, 4, chart, {"x_scale": 1.3, "y_scale": max(1.0, 0.3 + len(low) * 0.09)})


def _review_notes(b: _Book, ws, r: int, data: dict[str, Any], spec: Spec) -> int:
    """The review counts and every rule (with its open question) that decided composites, ranks and 摘牌."""
    a, rules = spec.assessment, data["review_rules"]
    counts = data["review_summary"]
    packs = sum(1 for f in data["files"] if f["kind"] == REVIEW and f["status"] == CONSOLIDATED)
    ws.write_string(r, 0, "评审与排名", b.f["bold"])
    weights = "；".join(f"{lv.label} " + " + ".join(f"{w:g}×{'自评' if k == 'self' else a.reviewers[k]}"
                                                   for k, w in lv.weights.items()) for lv in a.levels.values())
    lines = [
        f"读取评审包 {packs} 份、评分表 {len(data['reviews'])} 张；单位 {counts['units']} 个：已评审 {counts['reviewed']}，"
        f"待评审 {counts['waiting']}，参与排名 {counts['ranked']}，达标 {counts['passed']}，不达标 {counts['failed']}，"
        f"拟摘牌 {counts['eliminated']}（其中摘牌线并列待定 {counts['tie_at_cut']}）。",
        f"综合得分：{weights}。所需评审部门的评分未收到或未评完的单位为「待评审」，不计为0分、不参与排名。",
        f"自治区复核（assessment.toml [recheck] rule = {rules['recheck']}）：{rules['recheck_text']}。"
        f"（{rules['open_questions'][0]}）",
        f"排名与摘牌：本次{rules['scope_text']}（命令参数 --scope 全区|地州市）；末位 {rules['ratio']:.0%}"
        f"（{rules['rounding_text']}）为拟摘牌；得分并列时排名相同，摘牌线落在并列分数内时全部标记「待定」，由人工确定；"
        f"综合得分低于{rules['pass_line']:g}分为不达标，"
        f"{'同时摘牌' if rules['below_pass_line_eliminated'] else '单独列示，不自动摘牌'}。（{rules['open_questions'][1]}）",
        f"重复评分表：{CARD_RULE}",
        "有错误的单位工作簿不参与排名；评审包中的分数均按评审给分和处数重算，第一单元按单位交回的数据重算。",
    ]
    for line in lines:
        ws.write_string(r, 1, line, b.f["wrap"])
        r += 1
    return r + 1


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


def _notes(b: _Book, data: dict[str, Any], spec: Spec) -> None:
    ws = b.sheets["说明"]
    acc = data["accounting"]
    ws.set_column(0, 0, 26)
    ws.set_column(1, 1, 70)
    ws.write_string(0, 0, f"{data['year']}年节约型机关复验 汇总说明", b.f["title"])
    rows = [("复验年度", f"{data['year']}（{YEAR_SOURCE[data['year_source']]}）"),
            ("系数预设", presets_line(data)), ("回收目录", data["folder"]), ("文件核算", accounting_line(acc))]
    r = 2
    for label, value in rows:
        ws.write_string(r, 0, label, b.f["bold"])
        b.put(ws, r, 1, value, "text")
        r += 1
    r += 1
    b.header(ws, r, ["文件状态", "文件数"], [26, 70])
    for label, n in ((STATUS_LABEL[CONSOLIDATED], acc[CONSOLIDATED]), (STATUS_LABEL[REJECTED], acc[REJECTED]),
                     (STATUS_LABEL[SKIPPED], acc[SKIPPED])):
        r += 1
        ws.write_string(r, 0, label)
        ws.write_number(r, 1, n, b.f["count"])
    r += 1
    ws.write_string(r, 0, "共发现文件", b.f["total"])
    ws.write_number(r, 1, acc["seen"], b.f["total_count"])
    total = data["statistics"]["total"]
    not_used = sum(1 for f in data["files"] if f["used"] is False)
    r += 2
    for label, n in (("参与汇总的单位", total["returned"]), ("其中有效（无错误）", total["valid"]),
                     (f"{NOT_USED}的文件", not_used)):
        ws.write_string(r, 0, label)
        ws.write_number(r, 1, n, b.f["count"])
        r += 1
    r += 1
    ws.write_string(r, 0, DISAPPEARED, b.f["bold"])
    if not data["disappeared"]:
        ws.write_string(r, 1, "无")
    for path in data["disappeared"]:
        ws.write_string(r, 1, path)
        r += 1
    r += 2
    r = _review_notes(b, ws, r, data, spec)
    ws.write_string(r, 0, "状态说明", b.f["bold"])
    for line in (f"{STATUS_LABEL[CONSOLIDATED]}：文件已读取并重算，单位列入「汇总」；有错误的单位列入但不参与排名。",
                 f"{STATUS_LABEL[REJECTED]}：文件无法使用（不是有效的 jieyue 工作簿等），原因见「问题清单」。",
                 f"{STATUS_LABEL[SKIPPED]}：不是报送文件（如 Excel 锁定文件 ~$…、隐藏或系统文件），原因见「文件清单」。",
                 "所有数值均由本程序按填报的原始数据重新计算，不采用文件中缓存的计算结果。"):
        ws.write_string(r, 1, line, b.f["wrap"])
        r += 1


def render(data: dict[str, Any], spec: Spec) -> bytes:
    """The summary workbook's bytes for `content(run)`."""
    buffer = io.BytesIO()
    b = _Book(buffer, spec, f"{data['year']}年节约型机关复验 汇总表")
    _summary(b, data, spec)
    _results(b, data, spec)
    _progress(b, data)
    _averages(b, data)
    _findings(b, data)
    _not_returned(b, data, spec)
    _duplicates(b, data, spec)
    _outside(b, data, spec)
    _statistics(b, data)
    _files(b, data)
    _notes(b, data, spec)
    b.wb.close()
    if not b.splices:
        return buffer.getvalue()
    out = io.BytesIO()
    sheetxml.splice(buffer.getvalue(), b.splices, out)
    return out.getvalue()


def write_summary(data: dict[str, Any], path: str | Path, spec: Spec) -> None:
    """The summary workbook of `content(run)` at `path`, written atomically: the previous summary stays until
    the new one is whole."""
    write_atomically(path, render(data, spec))
