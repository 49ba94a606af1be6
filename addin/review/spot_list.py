"""The spot-check lists (实地抽查名单) as a workbook: consolidate the returns, draw the lists from every
consolidated unit with the seed (`udfs.spot_checks`, through `select.draw_spot_checks` — the same draw a review pack
marks), and write them with XlsxWriter: 抽查名单 (seed, ratios, method, counts, the lists, how to redo them) and
抽查总体 (every unit and the lists it is on). Identical inputs give identical bytes.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from generator.ooxml import FIXED_TIME, write_atomically
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


def spot_check_workbook(check: SpotCheck, spec: Spec) -> bytes:
    """The spot-check lists as .xlsx (XlsxWriter): 抽查名单 (seed, ratios, method, counts, the lists) and
    抽查总体 (every unit and the lists it is on). Identical inputs give identical bytes."""
    import xlsxwriter
    buffer = io.BytesIO()
    wb = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False})
    wb.set_properties({"title": "实地抽查名单", "created": FIXED_TIME})
    title = wb.add_format({"bold": True, "font_size": 14})
    bold = wb.add_format({"bold": True})
    head = wb.add_format({"bold": True, "bg_color": "#D9D9D9", "border": 1, "text_wrap": True, "valign": "vcenter"})
    cell = wb.add_format({"border": 1, "valign": "vcenter"})
    text = wb.add_format({"border": 1, "num_format": "@", "valign": "vcenter"})
    pct = wb.add_format({"border": 1, "num_format": "0%"})
    note = wb.add_format({"text_wrap": True, "valign": "top"})

    ws = wb.add_worksheet("抽查名单")
    ws.set_column(0, 0, 34)
    ws.set_column(1, 1, 8)
    ws.set_column(2, 2, 40)
    ws.set_column(3, 3, 22)
    ws.set_column(4, 5, 18)
    ws.write(0, 0, f"节约型机关复验实地抽查名单（{check.year}年复验）", title)
    r = 1
    ws.write(r, 0, f"回收目录：{check.folder}")
    for line in spot_check_method(check.seed, spec):
        r += 1
        ws.merge_range(r, 0, r, 5, line, note)
        ws.set_row(r, 32)
    r += 1
    ws.write(r, 0, f"重做：jieyue spot-check 回收目录 --seed {check.seed} -o 抽查名单.xlsx（同一回收目录得到同样的名单）")
    r += 2
    ws.write(r, 0, "各范围的抽取数", bold)
    r += 1
    for c, h in enumerate(("抽查范围", "比例", "单位数", "抽取数")):
        ws.write(r, c, h, head)
    for g in check.groups:
        r += 1
        ws.write(r, 0, g.title, cell)
        ws.write_number(r, 1, g.ratio, pct)
        ws.write_number(r, 2, len(g.population), cell)
        ws.write_number(r, 3, len(g.sample), cell)
    r += 2
    ws.write(r, 0, "抽中的单位", bold)
    r += 1
    for c, h in enumerate(("抽查范围", "序号", "单位名称", "统一社会信用代码", "单位层级", "所属地区")):
        ws.write(r, c, h, head)
    ws.freeze_panes(r + 1, 0)
    for g in check.groups:
        for k, code in enumerate(g.sample, start=1):
            r += 1
            u = check.units[code].unit
            for c, v in enumerate((g.title, k, u.get("unit_name") or "", code, u.get("unit_level") or "",
                                   u.get("unit_region") or "")):
                ws.write(r, c, v, text if c == 3 else cell)

    marks = spot_check_marks(check.groups)
    markers = list(dict.fromkeys(g.marker for g in check.groups))
    ws2 = wb.add_worksheet("抽查总体")
    ws2.set_column(0, 0, 40)
    ws2.set_column(1, 1, 22)
    ws2.set_column(2, 3 + len(markers), 16)
    for c, h in enumerate(("单位名称", "统一社会信用代码", "单位层级", "所属地区", *markers, "交回的工作簿")):
        ws2.write(0, c, h, head)
    ws2.freeze_panes(1, 0)
    for r2, (code, f) in enumerate(sorted(check.units.items(), key=lambda kv: (
            str(kv[1].unit.get("unit_region") or ""), kv[0])), start=1):
        u = f.unit
        row = [u.get("unit_name") or "", code, u.get("unit_level") or "", u.get("unit_region") or ""]
        row += ["是" if m in marks.get(code, ()) else "" for m in markers]
        row.append(f.path + ("（有错误）" if f.blocking else ""))
        for c, v in enumerate(row):
            ws2.write(r2, c, v, text if c == 1 else cell)
    ws2.autofilter(0, 0, max(1, len(check.units)), len(row) - 1 if check.units else 0)
    wb.close()
    return buffer.getvalue()


def write_spot_check(check: SpotCheck, out: str | Path, spec: Spec) -> None:
    """The spot-check workbook, written atomically (the old file stays until the new one is complete)."""
    write_atomically(Path(out), spot_check_workbook(check, spec))


__all__ = ["SpotCheck", "draw_spot_check", "spot_check_workbook", "write_spot_check"]
