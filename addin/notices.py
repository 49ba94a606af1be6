"""`jieyue notices 汇总.json -o 目录`: the results handed back, made from the consolidation's JSON report alone
(the report is the contract: no workbook, pack or ledger is opened again).

    目录/复验结果通知/<统一社会信用代码>_<单位名称>.xlsx   one notice per unit: one A4 page, protected, to sign and seal
    目录/公示名单.xlsx                                   达标, 不达标, 拟摘牌, and the rules in words (说明)
    目录/地州市/<地州市>_复验结果.xlsx                     each 地州市 authority's units' results only

The rules (which result, which list, what is outstanding, the weakest indicators) are `udfs.notices`; this module
only lays them out. Every file is deterministic — fixed document dates, sorted rows, no run date — and written
atomically: identical reports give identical bytes.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

import xlsxwriter

from generator.formats import number_format
from generator.ooxml import check_output, write_atomically
from generator.print_layout import (DEFAULT_FONT_SIZE, HEAD_FONT_SIZE, PAGE_MARGINS, line_count, line_height,
                                    running_head)
from generator.roster import safe_file_name
from udfs.notices import (ELIMINATED, FAILED, PASSED, PUBLISHED, SELF, WAITING, averages, basis_of, list_order,
                          outstanding, published_list, result_of, weakest)
from udfs.numbers import round_excel
from udfs.results import CREATION_COHORT, INCOMPLETE, INCOMPLETE_CREATION
from workbook_templates.errors import InputError

CREATED = datetime(2000, 1, 1)
"""A fixed document date: identical reports give identical files."""
PROTECTION_PASSWORD = "jieyue"
"""The same sheet protection as the generated workbooks (`generator.render`): it keeps a result from being edited
by mistake, it is no lock."""

NOTICES_DIR, PREFECTURE_DIR, LISTS_FILE = "复验结果通知", "地州市", "公示名单.xlsx"
PREFECTURE_REVIEWER = "prefecture"
"""The reviewer whose 地州市 authority receives a workbook of its units (its levels, in its region)."""

SEVERE = ("错误", "警告")
"""The findings a unit is asked to correct (提示 are for the administrator)."""
MAX_FINDING_GROUPS = 8
"""Kinds of problem listed on a notice; more are counted (the page stays one page)."""
LAST_PLACES = "末位淘汰"
"""`udfs.ranking`'s reason for 拟摘牌 by rank, which the notice says in full instead."""

WIDTHS = (8, 33, 13, 11, 13, 11)
"""The notice's six columns (Excel width units): within a portrait A4 page."""
LAST = len(WIDTHS) - 1


@dataclass(frozen=True)
class Written:
    notices: list[Path]
    lists: Path
    prefectures: list[Path]
    counts: dict[str, int]               # result → units


# ---------------------------------------------------------------- reading the report

def load_report(path: str | Path) -> dict[str, Any]:
    """The JSON report `jieyue consolidate --json` wrote; an InputError (Chinese) when it is not one."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"找不到汇总报告「{path}」：请给出 jieyue consolidate --json 写出的 JSON 文件")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"「{path}」不是 jieyue 汇总的 JSON 报告（{e}）：请给出 jieyue consolidate --json 写出的文件")
    if not isinstance(data, dict) or "review_results" not in data:
        raise InputError(f"「{path}」不是 jieyue 汇总的 JSON 报告：请给出 jieyue consolidate --json 写出的文件")
    if "unit_indicators" not in data or "score_digits" not in (data.get("review_rules") or {}):
        raise InputError(f"汇总报告「{path}」没有各单位的逐项得分或得分的小数位数（由较早的版本生成）：请用本版本的 "
                         "jieyue consolidate 重新汇总后再生成结果通知")
    return data


class Report:
    """The report's parts a notice needs, looked up by unit code."""

    def __init__(self, data: dict[str, Any]):
        self.data = data
        self.year = data.get("year")
        self.rules = data.get("review_rules") or {}
        self.pass_line = self.rules.get("pass_line")
        self.digits: int = self.rules["score_digits"]
        """Decimals a score is shown with (the spec's precision, as in the summary and the review packs)."""
        self.results = list(data["review_results"])
        ui = data["unit_indicators"]
        self.reviewers = [r["key"] for r in ui["reviewers"]]
        self.labels = {r["key"]: r["label"] for r in ui["reviewers"]}
        self.shorts = {r["key"]: r["short"] for r in ui["reviewers"]}    # 县市区, 地州市, 自治区: column headers
        self.covers = {r["key"]: list(r["levels"]) for r in ui["reviewers"]}
        self.scores: dict[str, dict[str, list]] = ui["scores"]
        self.indicators = {a["indicator"]: a for a in data.get("indicator_averages") or ()}
        self.ids = list(ui["indicators"])
        self.points = [float((self.indicators.get(i) or {}).get("points") or 0) for i in self.ids]
        self.blocking = {u["unit_code"]: bool(u.get("blocking")) for u in data.get("units") or ()}
        self.findings: dict[str, list[dict[str, Any]]] = {}
        for x in data.get("findings") or ():
            if x.get("severity") in SEVERE:
                self.findings.setdefault(x["file"], []).append(x)
        self.progress: dict[str, dict[str, dict[str, Any]]] = {}
        for p in data.get("review_progress") or ():
            self.progress.setdefault(p["unit_code"], {})[p["reviewer"]] = p
        self.groups = {g["group"]: g for g in self.rules.get("elimination_groups") or ()}
        self.evidence = {u["unit_code"]: u for u in (data.get("evidence") or {}).get("units", ())}
        self.evidence_kinds = (data.get("evidence") or {}).get("kinds") or {}
        self._averages: dict[str, list[float | None]] = {}
        self._bases = {e["unit_code"]: basis_of(e, self.scores.get(e["unit_code"], {}), self.reviewers)
                       for e in self.results if e["unit_code"] in self.scores}

    def basis(self, code: str) -> str | None:
        return self._bases.get(code)

    def average(self, kind: str) -> tuple[list[float | None], int]:
        """Each indicator's average of all units whose return has no error, and how many: of their self scores
        (`kind` SELF), or of the review scores of those compared on a review."""
        if kind == SELF:
            lists = [self.scores[c][SELF] for c in sorted(self.scores) if not self.blocking.get(c)]
        else:
            lists = [self.scores[c][b] for c, b in sorted(self._bases.items())
                     if not self.blocking.get(c) and b != SELF]
        return averages(lists, len(self.ids)), len(lists)

    def authority(self, key: str) -> str:
        """县市区机关事务管理部门评分 → 县市区机关事务管理部门."""
        return self.labels.get(key, key).removesuffix("评分")

    def score_text(self, x: float) -> str:
        """A score in words with the decimals of the score cells: 88.4 → 「88.40」 (two decimals)."""
        return f"{round_excel(float(x), self.digits):.{self.digits}f}"


def _rule_figure(x: Any) -> str:
    """A figure of the rules in words, as the summary's 说明 writes it: the pass line 80.0 → 「80」, 5 %."""
    return f"{round_excel(float(x), 2):g}"


# ---------------------------------------------------------------- the notice

class _Sheet:
    """A one-page sheet written row by row: each row as tall as its wrapped text needs."""

    def __init__(self, wb: xlsxwriter.Workbook, name: str, widths: tuple[float, ...], f: dict[str, Any]):
        self.ws = wb.add_worksheet(name)
        self.widths, self.f, self.row = widths, f, 0
        for c, w in enumerate(widths):
            self.ws.set_column(c, c, w)

    def cells(self, parts: list[tuple[int, int, Any, str]], min_height: float = 0.0,
              size: float = DEFAULT_FONT_SIZE) -> None:
        """One row of (first column, last column, value, format) parts, merged where a part spans columns."""
        lines = 1
        for first, last, value, fmt in parts:
            text = value if isinstance(value, str) else ""          # a number takes one line
            if first != last:
                self.ws.merge_range(self.row, first, self.row, last, "", self.f[fmt])
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.ws.write_number(self.row, first, float(value), self.f[fmt])
            else:
                self.ws.write_string(self.row, first, text, self.f[fmt])
            width = sum(self.widths[first:last + 1])
            lines = max(lines, line_count(text, width) if text else 1)
        self.ws.set_row(self.row, max(min_height, round(lines * line_height(size) + 4, 1)))
        self.row += 1

    def line(self, text: str, fmt: str = "wrap", min_height: float = 0.0, size: float = DEFAULT_FONT_SIZE) -> None:
        self.cells([(0, LAST, text, fmt)], min_height, size)

    def gap(self, height: float = 6.0) -> None:
        self.ws.set_row(self.row, height)
        self.row += 1


def _formats(wb: xlsxwriter.Workbook, digits: int) -> dict[str, Any]:
    """The notices' formats; "score" shows a score with `digits` decimals (92.5 → 92.50), "number" a count."""
    base = {"font_name": "宋体", "font_size": DEFAULT_FONT_SIZE, "valign": "vcenter", "text_wrap": True,
            "locked": True}
    def fmt(**kw):
        return wb.add_format({**base, **kw})
    return {
        "title": fmt(bold=True, font_size=16, align="center"),
        "wrap": fmt(),
        "bold": fmt(bold=True),
        "section": fmt(bold=True, font_size=12),
        "result": fmt(bold=True, font_size=14),
        "head": fmt(bold=True, border=1, align="center", bg_color="#D9E1F2"),
        "cell": fmt(border=1),
        "center": fmt(border=1, align="center"),
        "number": fmt(border=1, align="center", num_format="General"),
        "score": fmt(border=1, align="center", num_format=number_format(digits)),
        "right": fmt(align="right"),
    }


def _head(left: str) -> tuple[str, str]:
    head = running_head(left)
    size = f"&{HEAD_FONT_SIZE}"
    # A space after the font size: text starting with a digit (the year) would be read as part of the size.
    return ("".join(f"&{k[0].upper()}{size} {v}" for k, v in head["header"].items()),
            "".join(f"&{k[0].upper()}{size} {v}" for k, v in head["footer"].items()))


def _print_one_page(ws, last_row: int, last_col: int, head: str, landscape: bool = False,
                    one_page: bool = True) -> None:
    ws.set_paper(9)
    ws.set_landscape() if landscape else ws.set_portrait()
    ws.fit_to_pages(1, 1 if one_page else 0)
    ws.set_margins(**{k: v for k, v in PAGE_MARGINS.items() if k not in ("header", "footer")})
    header, footer = _head(head)
    ws.set_header(header, {"margin": PAGE_MARGINS["header"]})
    ws.set_footer(footer, {"margin": PAGE_MARGINS["footer"]})
    ws.print_area(0, 0, max(last_row, 0), last_col)
    ws.center_horizontally()
    ws.protect(PROTECTION_PASSWORD, {"select_locked_cells": True, "select_unlocked_cells": True})


def _new_book(buffer: io.BytesIO, title: str) -> xlsxwriter.Workbook:
    wb = xlsxwriter.Workbook(buffer, {"strings_to_formulas": False, "strings_to_urls": False,
                                      "strings_to_numbers": False})
    wb.set_properties({"title": title, "subject": "节约型机关复验结果", "author": "jieyue", "created": CREATED,
                       "comments": "由 jieyue 根据汇总报告生成；同一份报告每次生成的文件相同"})
    return wb


def result_sentence(entry: Mapping[str, Any], report: Report) -> str:
    """The line under the result: the composite against the pass line, the rank, why."""
    result = result_of(entry)
    c, line = entry.get("composite"), report.pass_line
    parts, group = [], None
    if result in (PASSED, FAILED, ELIMINATED) and c is not None:
        parts.append(f"综合得分 {report.score_text(c)} 分，{'达到' if c >= line else '低于'}合格线 {_rule_figure(line)} 分")
        if entry.get("rank") is not None:
            group = report.groups.get("全区" if report.rules.get("scope") == "region" else entry.get("unit_region"))
            among = f"（共 {group['ranked']} 个单位参与排名）" if group else ""
            parts.append(f"{report.rules.get('scope_text', '排名')}第 {entry['rank']} 名{among}")
        if result == ELIMINATED and group:
            parts.append(f"列入末位 {group['count']} 个拟摘牌单位")
        if entry.get("tie_at_cut"):
            parts.append("与摘牌线上的单位得分相同，是否摘牌由管理部门确定")
        parts += [x for x in str(entry.get("reason") or "").split("；") if x and x != LAST_PLACES]
    elif result in (INCOMPLETE, INCOMPLETE_CREATION):
        parts.append(f"截至最终汇总，本单位未完成{'创建' if entry.get('cohort') == CREATION_COHORT else '复验'}"
                     f"，不计算综合得分、不参与排名")
    else:
        parts.append("复验尚未完成，结果待定，不计算综合得分、不参与排名；尚待完成的事项见下文")
    return "；".join(parts) + "。"


def _score_rows(entry: Mapping[str, Any], report: Report) -> list[tuple[str, Any, str]]:
    """(评分, 得分 — a number or what stands in for it, 说明) of the score table: never a blank score."""
    returned = bool(entry.get("file"))
    used = entry.get("used") or {}
    rows: list[tuple[str, Any, str]] = []
    self_total = entry.get("self_total")
    rows.append(("单位自评", self_total if self_total is not None else
                 "尚未交回" if not returned else "无法计算",
                 "计入综合得分" if "self" in used else "" if returned else "交回工作簿后计算"))
    progress = report.progress.get(entry["unit_code"], {})
    waiting = set(entry.get("waiting") or ())
    not_counted = set(entry.get("not_counted") or ())
    for key in report.reviewers:
        score = (entry.get("scores") or {}).get(key)
        p = progress.get(key)
        if score is None and key not in waiting and key not in used and p is None:
            continue
        if score is not None:
            shown: Any = score
        elif p and p.get("status") == "未评完":
            shown = f"尚有 {p.get('missing')} 项未评"
        elif p and p.get("status") == "未填写":
            shown = "尚未评分"
        elif p and not p.get("weighed") and key not in waiting:
            continue
        elif report.blocking.get(entry["unit_code"]):
            shown = "待改正后评审"
        else:
            shown = "尚未收到"
        rechecked = entry.get("recheck") and key == report.reviewers[-1]
        replaced = key in used and score is not None and used[key] != score
        note = ("不计入综合得分（只列示）" if key in not_counted else
                entry["recheck"] if rechecked else
                "已由复核评分替代，不计入综合得分" if replaced else
                "计入综合得分" if key in used else
                "完成后计入综合得分" if key in waiting else "")
        rows.append((report.authority(key), shown, note))
    composite = entry.get("composite")
    rows.append(("综合得分", composite if composite is not None else "尚未计算",
                 "按单位层级对自评和各级评分加权" if composite is not None else "各项评分齐全后计算"))
    rows.append(("合格线", report.pass_line, "综合得分不低于合格线为达标"))
    return rows


def evidence_lines(u: Mapping[str, Any] | None, labels: Mapping[str, str]) -> list[str]:
    """The unit's 佐证材料 findings, one line per kind (`labels`: the report's evidence `kinds`): what, and where
    (indicators or files, a few named)."""
    if not u:
        return []
    if u.get("zip_problem"):
        return [f"【佐证材料】{u['zip_problem']}"]
    by_kind: dict[str, list[str]] = {}
    for x in u.get("findings") or ():
        what = x["file"] or (f"指标 {x['indicator']}" if x["indicator"] else "")
        if what and what not in by_kind.setdefault(x["kind"], []):
            by_kind[x["kind"]].append(what)
    lines = []
    for kind, items in by_kind.items():
        named = "、".join(items[:4]) + (f" 等 {len(items)} 项" if len(items) > 4 else "")
        lines.append(f"【佐证材料】{labels.get(kind, '佐证材料有问题')}：{named}")
    if not u.get("source") and u.get("scored"):
        lines.insert(0, "【佐证材料】没有找到佐证材料：请放在工作簿旁名为「统一社会信用代码_佐证材料」的文件夹或压缩包中交回")
    return lines


def _finding_lines(entry: Mapping[str, Any], report: Report) -> list[str]:
    found = report.findings.get(entry.get("file") or "", [])
    groups: dict[str, list[dict[str, Any]]] = {}
    for x in found:
        groups.setdefault(x["code"], []).append(x)
    lines = []
    for code in sorted(groups, key=lambda k: (SEVERE.index(groups[k][0]["severity"]), k)):
        xs = groups[code]
        where = "、".join(x["cell"] for x in xs[:3] if x.get("cell"))
        more = f"等 {len(xs)} 处" if len(xs) > 1 else ""
        lines.append(f"【{xs[0]['severity']}】{xs[0]['title']}{('（' + where + more + '）') if where or more else ''}："
                     f"{xs[0]['message']}")
    lines += evidence_lines(report.evidence.get(entry.get("unit_code") or ""), report.evidence_kinds)
    if len(lines) > MAX_FINDING_GROUPS:
        rest = len(lines) - MAX_FINDING_GROUPS + 1
        lines = lines[:MAX_FINDING_GROUPS - 1] + [f"另有 {rest} 类问题，请向管理部门索取本单位的问题清单。"]
    return lines


def _weak_rows(entry: Mapping[str, Any], report: Report) -> tuple[str, list[list[Any]]]:
    """(the basis in words, rows of 指标 | 评价内容 | 分值 | 本单位 | 全部单位平均 | 差距)."""
    code = entry["unit_code"]
    basis = report.basis(code)
    if basis is None:
        return "尚无本单位的逐项得分：交回工作簿并完成评审后提供。", []
    if report.blocking.get(code):
        return "本单位交回的工作簿有错误，逐项得分尚不能确定：改正后重新交回、完成评审后提供。", []
    own = report.scores[code][basis]
    avg, n = report.average(basis)
    chosen = weakest(own, avg, report.points)
    who = "本单位自评" if basis == SELF else report.authority(basis) + "的评分"
    among = "交回工作簿且无错误的" if basis == SELF else "已有评审得分的"
    said = (f"按{who}逐项比较，与全部 {n} 个{among}单位该项的平均得分相比，本单位差距最大的 {len(chosen)} 项"
            "（只列未得满分的指标）：")
    if not chosen:
        return f"按{who}逐项计算，各项指标均得满分。", []
    rows = []
    for i in chosen:
        a = report.indicators.get(report.ids[i]) or {}
        mine, mean = own[i] or 0.0, avg[i]
        rows.append([report.ids[i], a.get("text") or "", report.points[i], round_excel(mine, report.digits),
                     None if mean is None else round_excel(mean, report.digits),
                     None if mean is None else round_excel(mine - mean, report.digits)])
    return said, rows


def notice_bytes(entry: Mapping[str, Any], report: Report) -> bytes:
    """One unit's 复验结果通知: one A4 page, protected, with the issuing authority's signature and seal block."""
    buffer = io.BytesIO()
    name, code, year = entry.get("unit_name") or "", entry.get("unit_code") or "", report.year
    wb = _new_book(buffer, f"{year}年节约型机关复验结果通知 {name}")
    f = _formats(wb, report.digits)
    s = _Sheet(wb, "复验结果通知", WIDTHS, f)
    s.line(f"{year}年节约型机关复验结果通知", "title", 30, 16)
    s.gap()
    s.line(f"{name}：", "bold")
    s.line(f"　　贵单位（统一社会信用代码 {code}，{entry.get('unit_level') or '层级未填'}，"
           f"{entry.get('unit_region') or '地区未填'}）参加{year}年节约型机关复验，现将结果通知如下。")
    s.gap()
    result = result_of(entry)
    s.cells([(0, 1, f"复验结果：{result}", "result"), (2, LAST, "", "wrap")], 26, 14)
    s.line(result_sentence(entry, report))
    s.gap()
    s.line("一、各级评分", "section", size=12)
    s.cells([(0, 1, "评分", "head"), (2, 2, "得分", "head"), (3, LAST, "说明", "head")])
    for label, score, note in _score_rows(entry, report):
        s.cells([(0, 1, label, "cell"), (2, 2, score, "score"), (3, LAST, note, "cell")])
    s.gap()
    s.line("二、须改正的问题", "section", size=12)
    lines = _finding_lines(entry, report)
    if not entry.get("file"):
        s.line("　　本单位的工作簿尚未收到，交回后检查。")
    elif not lines:
        s.line("　　本单位交回的工作簿没有须改正的问题。")
    for k, text in enumerate(lines, start=1):
        s.line(f"　　{k}. {text}")
    s.gap()
    s.line("三、与全部单位平均相比较弱的指标", "section", size=12)
    said, rows = _weak_rows(entry, report)
    s.line(f"　　{said}")
    if rows:
        s.cells([(0, 0, "指标", "head"), (1, 1, "评价内容", "head"), (2, 2, "分值", "head"),
                 (3, 3, "本单位得分", "head"), (4, 4, "全部单位平均", "head"), (5, 5, "差距", "head")])
        for r in rows:
            s.cells([(0, 0, r[0], "center"), (1, 1, r[1], "cell"), (2, 2, r[2], "score"), (3, 3, r[3], "score"),
                     (4, 4, r[4] if r[4] is not None else "—", "score"),
                     (5, 5, r[5] if r[5] is not None else "—", "score")])
    todo = outstanding(entry, {k: report.authority(k) for k in report.reviewers},
                       report.progress.get(code, {}), report.blocking.get(code, False))
    if todo:
        s.gap()
        s.line("四、尚待完成的事项", "section", size=12)
        for k, text in enumerate(todo, start=1):
            s.line(f"　　{k}. {text}")
    s.gap(18)
    s.cells([(0, 2, "经办人：________________", "wrap"), (3, LAST, "（盖章）", "right")], 28)
    s.cells([(0, 2, "联系电话：______________", "wrap"), (3, LAST, "______年____月____日", "right")], 28)
    _print_one_page(s.ws, s.row - 1, LAST, f"{name}　{year}年节约型机关复验结果通知")
    wb.close()
    return buffer.getvalue()


# ---------------------------------------------------------------- lists

CODE_WIDTH = 24
"""The 统一社会信用代码 column: 18 characters on one line, also in the wider digits of the fonts that stand in for
宋体 where it is not installed (LibreOffice, WPS on Linux: ~8 px a character); a code split over two lines is
misread on a posted list."""
LIST_COLUMNS = (("序号", 5), ("所属地区", 14), ("单位名称", 30), ("统一社会信用代码", CODE_WIDTH), ("单位层级", 10),
                ("综合得分", 9), ("排名", 6), ("说明", 31))
RULES_WIDTH, RULES_COLUMNS = 90, 3
"""The 说明 sheet's text width, within a portrait A4 page, merged across a few columns (LibreOffice prints one
column that wide beyond the page)."""
LIST_TITLES = {PASSED: "达标单位名单", FAILED: "不达标单位名单", ELIMINATED: "拟摘牌单位名单"}


def rules_text(report: Report, counts: Mapping[str, int]) -> list[str]:
    """The rules of the publication lists, in words, from the report's review_rules."""
    r = report.rules
    line = _rule_figure(report.pass_line)
    text = [
        f"达标：综合得分不低于 {line} 分、且未列入拟摘牌的单位。",
        f"不达标：综合得分低于 {line} 分（或第一单元目标管理的符合性要求未完成）的单位；同时列入拟摘牌的单位只列在"
        "拟摘牌名单中，不重复列出。",
        f"拟摘牌：参与排名的复验单位按综合得分从高到低{r.get('scope_text', '')}，末位 {_rule_figure((r.get('ratio') or 0) * 100)}%"
        f"（基数为{r.get('elimination_base_text', '')}，{r.get('rounding_text', '')}，本次共 {r.get('elimination_count', 0)} 个）"
        "列为拟摘牌；得分相同的名次相同，摘牌线落在得分相同的单位之间时，这些单位全部列入并注明「待定」，由管理部门确定。"
        + (f"综合得分低于 {line} 分的单位也列为拟摘牌。" if r.get("below_pass_line_eliminated") else ""),
        f"创建单位按 {line} 分判定达标与否，不参与摘牌排名。",
        f"自治区复核：{r.get('recheck_text', '')}。",
        "每份名单按所属地区、再按单位名称排序。",
    ]
    waiting = counts.get(WAITING, 0)
    incomplete = counts.get(INCOMPLETE, 0) + counts.get(INCOMPLETE_CREATION, 0)
    if r.get("final"):
        text.append(f"本名单为最终结果。未完成复验的 {incomplete} 个单位未列入名单：{r.get('incomplete', '')}。")
    else:
        text.append(f"本名单为阶段性结果：尚有 {waiting} 个单位的复验结果待定（未报送、工作簿有错误待改正或评审未完成），"
                    "未列入任何名单，结果确定后另行公布。")
    return text


def _entry_note(entry: Mapping[str, Any]) -> str:
    parts = []
    if entry.get("tie_at_cut"):
        parts.append("摘牌线并列，待定")
    if entry.get("reason"):
        parts.append(entry["reason"])
    if entry.get("cohort") == CREATION_COHORT and "创建" not in "".join(parts):
        parts.append("创建单位")
    return "；".join(parts)


def lists_bytes(report: Report) -> tuple[bytes, dict[str, list[dict[str, Any]]]]:
    """公示名单.xlsx and the entries of each list (达标, 不达标, 拟摘牌), sorted by region and name."""
    lists: dict[str, list[dict[str, Any]]] = {k: [] for k in PUBLISHED}
    counts: dict[str, int] = {}
    for e in report.results:
        result = result_of(e)
        counts[result] = counts.get(result, 0) + 1
        if (which := published_list(e)) is not None:
            lists[which].append(e)
    for k in lists:
        lists[k].sort(key=list_order)
    buffer = io.BytesIO()
    wb = _new_book(buffer, f"{report.year}年节约型机关复验 公示名单")
    f = _formats(wb, report.digits)
    widths = tuple(w for _, w in LIST_COLUMNS)
    last = len(LIST_COLUMNS) - 1
    scored = [label for label, _ in LIST_COLUMNS].index("综合得分")
    for result in PUBLISHED:
        ws = wb.add_worksheet(result)
        for c, w in enumerate(widths):
            ws.set_column(c, c, w)
        ws.merge_range(0, 0, 0, last, f"{report.year}年节约型机关复验{LIST_TITLES[result]}（共 {len(lists[result])} 个）",
                       f["title"])
        ws.set_row(0, 30)
        for c, (label, _) in enumerate(LIST_COLUMNS):
            ws.write_string(1, c, label, f["head"])
        for i, e in enumerate(lists[result], start=1):
            row = i + 1
            values = [i, e.get("unit_region") or "", e.get("unit_name") or "", e.get("unit_code") or "",
                      e.get("unit_level") or "", e.get("composite"), e.get("rank"), _entry_note(e)]
            for c, v in enumerate(values):
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    ws.write_number(row, c, v, f["score" if c == scored else "number"])
                else:
                    ws.write_string(row, c, "" if v is None else str(v), f["cell"])
            texts = {c: values[c] for c in (1, 2, 3, 7)}
            lines = max(line_count(str(t), widths[c]) if t else 1 for c, t in texts.items())
            ws.set_row(row, round(lines * line_height() + 4, 1))
        if not lists[result]:
            ws.merge_range(2, 0, 2, last, "（无）", f["cell"])
        ws.repeat_rows(1, 1)
        _print_one_page(ws, max(len(lists[result]) + 1, 2), last, f"{report.year}年节约型机关复验 公示名单",
                        landscape=True, one_page=False)
    ws = wb.add_worksheet("说明")
    ws.set_column(0, RULES_COLUMNS - 1, RULES_WIDTH / RULES_COLUMNS)
    ws.merge_range(0, 0, 0, RULES_COLUMNS - 1, f"{report.year}年节约型机关复验公示名单的规则", f["title"])
    ws.set_row(0, 30)
    for i, text in enumerate(rules_text(report, counts), start=1):
        ws.merge_range(i, 0, i, RULES_COLUMNS - 1, f"{i}. {text}", f["wrap"])
        ws.set_row(i, round(line_count(f"{i}. {text}", RULES_WIDTH) * line_height() + 4, 1))
    _print_one_page(ws, len(rules_text(report, counts)), RULES_COLUMNS - 1,
                    f"{report.year}年节约型机关复验 公示名单", one_page=False)
    wb.close()
    return buffer.getvalue(), lists


PREFECTURE_COLUMNS = (("序号", 5), ("单位名称", 26), ("统一社会信用代码", CODE_WIDTH), ("单位层级", 9), ("自评分", 7))


def prefecture_bytes(region: str, entries: list[dict[str, Any]], report: Report) -> bytes:
    """One 地州市's units and their results: every score, the result and what is outstanding."""
    buffer = io.BytesIO()
    wb = _new_book(buffer, f"{report.year}年节约型机关复验结果 {region}")
    f = _formats(wb, report.digits)
    columns = [*PREFECTURE_COLUMNS, *((f"{report.shorts[k]}评分", 12) for k in report.reviewers),   # one line
               ("综合得分", 8), ("复验结果", 9), ("排名", 6), ("说明、尚待完成", 40)]
    first_score = len(PREFECTURE_COLUMNS) - 1                     # 自评分, each authority's, 综合得分
    scored = range(first_score, first_score + len(report.reviewers) + 2)
    last = len(columns) - 1
    ws = wb.add_worksheet("复验结果")
    for c, (_, w) in enumerate(columns):
        ws.set_column(c, c, w)
    ws.merge_range(0, 0, 0, last, f"{region} {report.year}年节约型机关复验结果（共 {len(entries)} 个单位）", f["title"])
    ws.set_row(0, 30)
    for c, (label, _) in enumerate(columns):
        ws.write_string(1, c, label, f["head"])
    ws.set_row(1, round(max(line_count(label, w) for label, w in columns) * line_height() + 4, 1))
    for i, e in enumerate(entries, start=1):
        code = e["unit_code"]
        todo = outstanding(e, {k: report.authority(k) for k in report.reviewers}, report.progress.get(code, {}),
                           report.blocking.get(code, False))
        note = "；".join(x for x in (_entry_note(e), *todo) if x)
        scores = e.get("scores") or {}
        values = [i, e.get("unit_name") or "", code, e.get("unit_level") or "", e.get("self_total"),
                  *(scores.get(k) for k in report.reviewers), e.get("composite"), result_of(e), e.get("rank"), note]
        for c, v in enumerate(values):
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                ws.write_number(i + 1, c, v, f["score" if c in scored else "number"])
            else:
                ws.write_string(i + 1, c, "—" if v is None else str(v), f["cell"])
        lines = max(line_count(str(values[c]), columns[c][1]) if values[c] else 1 for c in (1, 2, last))
        ws.set_row(i + 1, round(lines * line_height() + 4, 1))
    ws.repeat_rows(1, 1)
    ws.merge_range(len(entries) + 3, 0, len(entries) + 3, last, "「—」表示该项评分尚无（未收到、未评完或不适用于该单位层级），"
                   "「说明、尚待完成」写明缺什么；复验结果的规则见公示名单的「说明」。", f["wrap"])
    _print_one_page(ws, len(entries) + 3, last, f"{region} {report.year}年节约型机关复验结果", landscape=True,
                    one_page=False)
    wb.close()
    return buffer.getvalue()


def prefecture_groups(report: Report) -> dict[str, list[dict[str, Any]]]:
    """地州市 → its units the 地州市 authority reviews (the levels it covers, in its region), by name."""
    levels = set(report.covers.get(PREFECTURE_REVIEWER, ()))
    groups: dict[str, list[dict[str, Any]]] = {}
    for e in report.results:
        region = str(e.get("unit_region") or "").strip()
        if region and e.get("unit_level") in levels:
            groups.setdefault(region, []).append(e)
    return {r: sorted(groups[r], key=list_order) for r in sorted(groups)}


# ---------------------------------------------------------------- the command

def write_notices(report_path: str | Path, out_dir: str | Path) -> Written:
    """Every output of `jieyue notices` into `out_dir` (created when missing)."""
    report = Report(load_report(report_path))
    out = check_output(out_dir, None, "输出目录")
    (out / NOTICES_DIR).mkdir(parents=True, exist_ok=True)
    notices = []
    counts: dict[str, int] = {}
    for e in sorted(report.results, key=list_order):
        result = result_of(e)
        counts[result] = counts.get(result, 0) + 1
        path = out / NOTICES_DIR / safe_file_name(e.get("unit_code") or "", e.get("unit_name") or "")
        write_atomically(path, notice_bytes(e, report))
        notices.append(path)
    data, _ = lists_bytes(report)
    lists = out / LISTS_FILE
    write_atomically(lists, data)
    prefectures = []
    groups = prefecture_groups(report)
    if groups:
        (out / PREFECTURE_DIR).mkdir(exist_ok=True)
    for region, entries in groups.items():
        path = out / PREFECTURE_DIR / safe_file_name(region, "复验结果")
        write_atomically(path, prefecture_bytes(region, entries, report))
        prefectures.append(path)
    return Written(notices, lists, prefectures, counts)


def summary_line(w: Written, out: Path) -> str:
    said = "、".join(f"{k} {w.counts[k]}" for k in (*PUBLISHED, INCOMPLETE, INCOMPLETE_CREATION, WAITING)
                    if w.counts.get(k))
    return (f"已生成 {len(w.notices)} 份复验结果通知（{said or '无单位'}）→ {out / NOTICES_DIR}；"
            f"公示名单 → {w.lists}；{len(w.prefectures)} 个地州市的结果 → {out / PREFECTURE_DIR}")


__all__ = ["write_notices", "notice_bytes", "lists_bytes", "prefecture_bytes", "prefecture_groups", "load_report",
           "Report", "rules_text", "summary_line", "Written"]
