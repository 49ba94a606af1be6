"""The spot-check lists (实地抽查名单) as a workbook: consolidate the returns, draw the lists from every
consolidated unit with the seed (`udfs.spot_checks`, through `select.draw_spot_checks` — the same draw a review pack
marks), and write them with XlsxWriter: 抽查名单 (seed, ratios, method, counts, the lists, how to redo them) and
抽查总体 (every unit and the lists it is on), each printed on A4 with the running head, and beside the seed the
lines where the person who drew the lists signs and dates them. Identical inputs give identical bytes.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from generator.ooxml import FIXED_TIME, write_atomically
from generator.print_layout import HEAD_FONT_SIZE, PAGE_MARGINS, PORTRAIT_WIDTH, row_height, running_head
from udfs.spot_checks import SpotCheckGroup, spot_check_marks, spot_check_method
from workbook_templates import InputError, Spec

from ..consolidate.model import FileOutcome
from .select import draw_spot_checks


@dataclass
class SpotCheck:
    seed: int | str
    year: int
    folder: str
    groups: list[SpotCheckGroup]
    units: dict[str, FileOutcome]           # code → the unit's consolidated return


def draw_spot_check(folder: str | Path, seed: int | str, *, spec: Spec, year: int | None = None,
                    preset: str | None = None, outputs: Iterable[str | Path] = (),
                    progress: Callable[[int, int], None] | None = None) -> SpotCheck:
    """Consolidate `folder` and draw the spot-check lists from its units with `seed` (`year` and `preset` are the
    consolidation's checks; None: the returns' most common year, each return's own preset)."""
    from ..consolidate import consolidate
    run = consolidate(folder, spec=spec, year=year, preset=preset, outputs=tuple(outputs), progress=progress)
    units = {f.code: f for f in run.units if f.code}
    if not units:
        raise InputError(f"回收目录「{folder}」中没有已汇总的单位，无法抽查：请检查目录")
    return SpotCheck(seed=seed, year=run.year, folder=str(folder), groups=draw_spot_checks(run.units, seed, spec),
                     units=units)


DRAWER = ("抽取人（签字）：" + "_" * 14, "抽取日期：" + "_" * 8 + "年" + "_" * 4 + "月" + "_" * 4 + "日")
"""Who drew the lists and when, written by hand beside the seed on the printed list."""
SIGNATURE_HEIGHT = 30.0
"""Points of the row the drawer signs: room to write by hand."""

LIST_WIDTHS = (22, 6, 28, 20, 10, 12)
"""抽查名单: 抽查范围, 序号 (比例), 单位名称 (单位数), 统一社会信用代码 (抽取数), 单位层级, 所属地区 — one portrait page wide."""


def spot_check_workbook(check: SpotCheck, spec: Spec) -> bytes:
    """The spot-check lists as .xlsx (XlsxWriter): 抽查名单 (seed beside the drawer's signature and date, ratios,
    method, counts, the lists) and 抽查总体 (every unit and the lists it is on). Both print on A4 fitted to the
    page width, with their header repeated and the running head (「抽查名单」, the sheet, 「第 N 页 共 M 页」).
    Identical inputs give identical bytes."""
    import xlsxwriter
    buffer = io.BytesIO()
    wb = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False})
    wb.set_properties({"title": "实地抽查名单", "created": FIXED_TIME})
    title = wb.add_format({"bold": True, "font_size": 14})
    bold = wb.add_format({"bold": True})
    seed_format = wb.add_format({"bold": True, "valign": "bottom"})
    sign = wb.add_format({"valign": "bottom"})
    head = wb.add_format({"bold": True, "bg_color": "#D9D9D9", "border": 1, "text_wrap": True, "valign": "vcenter"})
    cell = wb.add_format({"border": 1, "valign": "vcenter", "text_wrap": True})
    text = wb.add_format({"border": 1, "num_format": "@", "valign": "vcenter"})
    pct = wb.add_format({"border": 1, "num_format": "0%", "valign": "vcenter"})
    count = wb.add_format({"border": 1, "num_format": "0", "valign": "vcenter"})
    note = wb.add_format({"text_wrap": True, "valign": "top"})

    ws = wb.add_worksheet("抽查名单")
    widths = dict(enumerate(LIST_WIDTHS))
    for c, w in widths.items():
        ws.set_column(c, c, w)
    last = len(LIST_WIDTHS) - 1

    def fit(r: int, texts: dict[int, str], span: dict[int, int] | None = None) -> None:
        """Row `r` as tall as its wrapped texts need (a merged text wraps in the width of its columns)."""
        spans = span or {}
        ws.set_row(r, row_height(texts, {c: sum(widths[c + i] for i in range(spans.get(c, 1))) for c in texts}))

    def merged(r: int, first: int, text: str, fmt, to: int = last) -> None:
        ws.merge_range(r, first, r, to, text, fmt)
        fit(r, {first: text}, {first: to - first + 1})

    ws.merge_range(0, 0, 0, last, f"节约型机关复验实地抽查名单（{check.year}年复验）", title)
    merged(1, 0, f"回收目录：{check.folder}", note)
    seed_line, *method = spot_check_method(check.seed, spec)
    ws.merge_range(2, 0, 2, 1, seed_line, seed_format)           # the seed, and beside it who drew, and when
    ws.write(2, 2, DRAWER[0], sign)
    ws.merge_range(2, 3, 2, last, DRAWER[1], sign)
    ws.set_row(2, SIGNATURE_HEIGHT)
    r = 2
    for line in method:
        r += 1
        merged(r, 0, line, note)
    r += 1
    merged(r, 0, f"重做：jieyue spot-check 回收目录 --seed {check.seed} -o 抽查名单.xlsx（同一回收目录得到同样的名单）", note)
    r += 2
    ws.write(r, 0, "各范围的抽取数", bold)
    r += 1
    for c, h in enumerate(("抽查范围", "比例", "单位数", "抽取数")):
        ws.write(r, c, h, head)
    fit(r, {0: "抽查范围"})
    for g in check.groups:
        r += 1
        ws.write(r, 0, g.title, cell)
        ws.write_number(r, 1, g.ratio, pct)
        ws.write_number(r, 2, len(g.population), count)
        ws.write_number(r, 3, len(g.sample), count)
        fit(r, {0: g.title})
    r += 2
    ws.write(r, 0, "抽中的单位", bold)
    r += 1
    labels = ("抽查范围", "序号", "单位名称", "统一社会信用代码", "单位层级", "所属地区")
    for c, h in enumerate(labels):
        ws.write(r, c, h, head)
    fit(r, dict(enumerate(labels)))
    ws.freeze_panes(r + 1, 0)
    for g in check.groups:
        for k, code in enumerate(g.sample, start=1):
            r += 1
            u = check.units[code].unit
            values = (g.title, k, u.get("unit_name") or "", code, u.get("unit_level") or "", u.get("unit_region") or "")
            for c, v in enumerate(values):
                ws.write(r, c, v, text if c == 3 else cell)
            fit(r, {c: str(v) for c, v in enumerate(values) if c != 3})
    _print_setup(ws, sum(LIST_WIDTHS))

    marks = spot_check_marks(check.groups)
    markers = list(dict.fromkeys(g.marker for g in check.groups))
    ws2 = wb.add_worksheet("抽查总体")
    widths2 = [20, 20, 10, 12, *([8] * len(markers)), 20]
    for c, w in enumerate(widths2):
        ws2.set_column(c, c, w)
    labels2 = ("单位名称", "统一社会信用代码", "单位层级", "所属地区", *markers, "交回的工作簿")
    for c, h in enumerate(labels2):
        ws2.write(0, c, h, head)
    ws2.set_row(0, row_height(dict(enumerate(labels2)), dict(enumerate(widths2))))
    ws2.freeze_panes(1, 0)
    for r2, (code, f) in enumerate(sorted(check.units.items(), key=lambda kv: (
            str(kv[1].unit.get("unit_region") or ""), kv[0])), start=1):
        u = f.unit
        row = [u.get("unit_name") or "", code, u.get("unit_level") or "", u.get("unit_region") or ""]
        row += ["是" if m in marks.get(code, ()) else "" for m in markers]
        row.append(f.path + ("（有错误）" if f.blocking else ""))
        for c, v in enumerate(row):
            ws2.write(r2, c, v, text if c == 1 else cell)
        ws2.set_row(r2, row_height({c: v for c, v in enumerate(row) if c != 1}, dict(enumerate(widths2))))
    ws2.autofilter(0, 0, max(1, len(check.units)), len(labels2) - 1)
    _print_setup(ws2, sum(widths2))
    wb.close()
    return buffer.getvalue()


def _print_setup(ws, width: float) -> None:
    """A4, portrait or landscape by the printed `width`, fitted to the page width, the first row repeated on
    every page, `PAGE_MARGINS` and the running head: 「抽查名单」, the sheet name, 「第 N 页 共 M 页」."""
    ws.set_paper(9)
    if width > PORTRAIT_WIDTH:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.fit_to_pages(1, 0)
    ws.set_margins(**{k: v for k, v in PAGE_MARGINS.items() if k not in ("header", "footer")})
    ws.repeat_rows(0, 0)
    size = f"&{HEAD_FONT_SIZE}"
    head = running_head("抽查名单")
    for part, setter in (("header", ws.set_header), ("footer", ws.set_footer)):
        setter("".join(f"&{k[0].upper()}{size}{v}" for k, v in head[part].items()), {"margin": PAGE_MARGINS[part]})


def write_spot_check(check: SpotCheck, out: str | Path, spec: Spec) -> None:
    """The spot-check workbook, written atomically (the old file stays until the new one is complete)."""
    write_atomically(Path(out), spot_check_workbook(check, spec))


__all__ = ["SpotCheck", "DRAWER", "draw_spot_check", "spot_check_workbook", "write_spot_check"]
