"""The summary's 进度 sheet: the report's `stages` (`stages.stages`) as a table — per stage and responsible party the
due date, done / total, whether it is overdue at the run's as-of date, the overdue units and review packs — and a
chart of how far each has come, under the table on the same page when both fit there. Rendered with the
summary's `_Book` (its formats, widths, print setup).
"""
from __future__ import annotations

from typing import Any

from generator.print_layout import page_height

SHEET = "进度"
COLUMNS = (("item", "阶段与负责方", 24, "wrap"), ("label", "工作内容", 34, "wrap"), ("due", "截止日期", 12, "wrap"),
           ("done", "已完成", 7, "count"), ("total", "应完成", 7, "count"), ("rate", "完成率", 8, "percent"),
           ("overdue", "逾期", 6, "yesno"), ("days_overdue", "逾期天数", 7, "count"),
           ("units", "逾期的单位", 40, "wrap"), ("packs", "逾期的评审包", 30, "wrap"))
UNITS_SHOWN = 20
"""Overdue units named in one cell; the JSON report lists them all."""
TABLE_ROW = 3
PIXEL_POINTS = 0.75
"""Points per pixel of a chart's size (96 pixels an inch)."""


def _units(units: list[dict[str, Any]]) -> str:
    named = "、".join(f"{u['unit_name']}（{u['status']}）" for u in units[:UNITS_SHOWN])
    return named + (f" 等 {len(units)} 个" if len(units) > UNITS_SHOWN else "")


def stage_rows(section: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for r in section["rows"]:
        levels = f"（{'、'.join(r['levels'])}单位）" if r["levels"] else ""
        rows.append([f"{r['period']} {r['by_label']}{levels}", r["label"],
                     r["due"] + ("（推定）" if r["assumed"] else ""), r["done"], r["total"], r["rate"],
                     None if section["as_of"] is None else "是" if r["overdue"] else "否",
                     r["days_overdue"] or None, _units(r["overdue_units"]) or None,
                     "；".join(r["overdue_packs"]) or None])
    return rows


def note(section: dict[str, Any]) -> str:
    when = (f"截至 {section['as_of']}（汇总时给出的日期）：已过截止日期仍未全部完成的为逾期，截止当日不算逾期。"
            if section["as_of"] else "汇总时没有给出日期，不判断是否逾期。")
    assumed = "标「推定」的截止日期：" + (section["question"] or "由时段推定。")
    return (when + "已完成：复验单位为交回工作簿且无错误；评审部门为评完该单位的评分表（工作簿有错误的单位不计入评审部门）；"
            "抽查复核为评完的复核评分表数，应完成数按抽查比例计算；复验结果为已有结果（达标、不达标或拟摘牌）的单位。" + assumed)


def fits_one_page(rows_points: float, chart_points: float, printed_width: float, landscape: bool) -> bool:
    """Whether rows `rows_points` tall and a chart `chart_points` tall under them print on one A4 page, the sheet
    scaled to fit its `printed_width` (column-width units) across the page as Excel scales it (7 px a unit):
    landscape at 145.7 / 175 = 83 %, a page holds 487 ÷ 0.833 = 585 pt — the demo's 478.8 pt of rows and its
    chart of 290 px = 217.5 pt do not fit (696.3 pt), 11 one-line rows (165 pt) and the chart do."""
    return rows_points + chart_points <= page_height(printed_width, landscape)


def render_stages(b: Any, data: dict[str, Any]) -> None:
    """Fill the 进度 sheet of the summary book `b` from `data["stages"]`: the chart under the table, starting a
    page of its own only when table and chart do not fit on one (a chart is never cut by a page break)."""
    ws = b.sheets[SHEET]
    section = data["stages"]
    last = len(COLUMNS) - 1
    when = f"（截至 {section['as_of']}）" if section["as_of"] else ""
    ws.write_string(0, 0, f"{section['year']}年复验进度{when}", b.f["title"])
    for c, (_, _, width, _) in enumerate(COLUMNS):
        b.width(ws, c, width)
    b.wrapped(ws, 1, 0, note(section), "note", span=len(COLUMNS))
    rows = stage_rows(section)
    landscape = b.landscape(ws, last)                   # chosen before the chart: it decides the page's height
    end = b.table(ws, TABLE_ROW, [c[1] for c in COLUMNS], None, rows, "规格（process.toml）中没有本年度的阶段",
                  [c[3] for c in COLUMNS])
    if rows:
        overdue = [c[0] for c in COLUMNS].index("overdue")
        ws.conditional_format(TABLE_ROW + 1, overdue, TABLE_ROW + len(rows), overdue,
                              {"type": "cell", "criteria": "==", "value": '"是"', "format": b.f["red"]})
        chart = b.wb.add_chart({"type": "bar"})
        rate = [c[0] for c in COLUMNS].index("rate")
        chart.add_series({"name": "完成率", "categories": [SHEET, TABLE_ROW + 1, 0, TABLE_ROW + len(rows), 0],
                          "values": [SHEET, TABLE_ROW + 1, rate, TABLE_ROW + len(rows), rate],
                          "data_labels": {"value": True, "num_format": "0%"}, "fill": {"color": "#5B9BD5"}})
        chart.set_title({"name": f"各阶段完成率{when}", "name_font": {"size": 12}})
        chart.set_legend({"none": True})
        chart.set_x_axis({"min": 0, "max": 1, "num_format": "0%"})
        chart.set_y_axis({"reverse": True, "crossing": "max", "interval_unit": 1})   # top down as in the table
        height = max(220, 80 + 30 * len(rows))
        chart.set_size({"width": 720, "height": height})
        ws.insert_chart(end + 1, 0, chart)
        if not fits_one_page(b.row_points(ws, 0, end), height * PIXEL_POINTS, b.printed_width(ws, last), landscape):
            ws.set_h_pagebreaks([end + 1])
    b.print_setup(ws, last, title_rows=(TABLE_ROW, TABLE_ROW), landscape=landscape)


__all__ = ["render_stages", "stage_rows", "fits_one_page", "SHEET", "COLUMNS"]
