"""The administrator's console: an Excel workbook whose one button runs `jieyue consolidate` (and, when asked,
`jieyue notices` on its report).

`build_console(path)` writes a plain .xlsx (openpyxl) and, beside it, a Python module of the same name. The
xlwings add-in's 「Run main」 button runs `main()` of the module named like the active workbook (so the
workbook needs no macros), and that `main()` calls `run_from_book(xw.Book.caller())`.

`run_from_book(book)` is the only code that touches Excel, and it touches little: it reads the named setting
cells (`book.names[…].refers_to_range.value`), clears and writes the 结果 sheet (`sheets[…].clear_contents()`,
`sheets[…].range(…).value = …`), shows progress in `book.app.status_bar`, and reads `book.fullname` to
resolve relative paths. Everything else is the same library call as the CLI. A problem, whatever it is,
becomes a Chinese message in 结果!A1, never a traceback popup; the status bar is always handed back to Excel.

Windows Microsoft Excel only: xlwings does not support WPS, whose users run `jieyue consolidate`.
"""
from __future__ import annotations

import importlib.util
import io
import keyword
import re
import sys
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

from generator.ooxml import check_output, write_atomically
from workbook_templates import JieyueError, OutputError

SETTINGS_SHEET, RESULTS_SHEET = "设置", "结果"

# (defined name, label, default, hint): the settings, in the order they appear in B4:B8.
SETTINGS = (
    ("console_folder", "回收目录", "",
     "存放交回工作簿的文件夹（含子文件夹），如 D:\\复验\\回收的工作簿"),
    ("console_roster", "名单", "",
     "可选：名单 .xlsx 或 .csv；填写后列出未报送和名单外的单位"),
    ("console_output", "汇总表", "汇总.xlsx",
     "汇总表的保存位置（.xlsx）；旁边另有台账 汇总.jieyue-ledger.sqlite，再次汇总只读取新增或修改的文件"),
    ("console_json", "JSON报告", "",
     "可选：同时输出的 JSON 报告，如 D:\\复验\\report.json"),
    ("console_spec_dir", "规格目录", "",
     "可选：管理员修改过的规格文件夹（如新增年度）；空白时用 jieyue 内置的规格"),
    ("console_as_of", "进度日期", "",
     "可选：「进度」按这一天判断各阶段是否逾期，写作 2023-09-15；空白时为当天"),
    ("console_final", "最终汇总", "否",
     "截止后的最终汇总填「是」：尚未完成的单位（未报送、错误未改正、仍待评审）记为「未完成复验」；平时填「否」"),
    ("console_notices", "结果通知目录", "",
     "可选：汇总后同时生成每个单位的复验结果通知、公示名单和各地州市的结果，存入此文件夹（须同时填写 JSON报告）"),
)
FINAL_CHOICES = ("是", "否")
FIRST_SETTING_ROW = 4

TABLE_AT = "A4"
TABLE_HEADER = ("统一社会信用代码", "单位名称", "单位层级", "所属地区", "状态", "自评总分", "下降目标达标数",
                "综合得分", "排名", "拟摘牌", "错误数", "警告数", "文件")
NOT_RUN = "尚未运行：在「设置」中填写回收目录，保存后点击 xlwings 选项卡上的「Run main」，结果写在这里。"

MODULE_TEMPLATE = '''\
"""jieyue 汇总台「{workbook}」的程序：xlwings 加载项的「Run main」按钮运行这里的 main()。

由 `jieyue console` 生成。须与「{workbook}」放在同一文件夹，并与它同名（xlwings 按工作簿的名称找模块）；
可随时重新生成。
"""
import xlwings as xw


def main():
    book = xw.Book.caller()
    try:
        from addin.console import run_from_book
    except ImportError:
        book.sheets["结果"].range("A1").value = ("找不到 jieyue：请在 Excel 所用的 Python 中运行 pip install jieyue，"
                                                 "或在 xlwings 选项卡的 Interpreter 中填写安装了 jieyue 的 python.exe")
        return
    run_from_book(book)


if __name__ == "__main__":      # 调试：在 Excel 中打开工作簿后，在命令行运行 python {module}.py
    xw.Book({workbook_literal}).set_mock_caller()
    main()
'''


class ConsoleError(JieyueError):
    """A problem with the console's settings: its message (Chinese) goes into 结果!A1."""


# ---------------------------------------------------------------- building the console

def module_name(path: str | Path) -> str:
    """The Python module that 「Run main」 imports for this workbook: its file name without the extension.
    Raises OutputError (in Chinese: the name to use instead) when that is not a name Python can import."""
    path = Path(path)
    stem = path.stem
    if path.suffix.lower() != ".xlsx":
        raise OutputError(f"汇总台「{path.name}」应以 .xlsx 结尾，如 -o 汇总台.xlsx")
    if not stem.isidentifier() or keyword.iskeyword(stem):
        suggestion = re.sub(r"\W", "_", stem)
        suggestion = suggestion if suggestion.isidentifier() and not keyword.iskeyword(suggestion) \
            else f"汇总台_{suggestion}"
        raise OutputError(f"汇总台的文件名「{stem}」不能作为 Python 模块名（xlwings 的「Run main」按工作簿的名称导入"
                         f"同名模块）：只能用汉字、字母、数字和下划线，且不以数字开头，如 -o {suggestion}.xlsx")
    if stem in sys.stdlib_module_names or stem in sys.builtin_module_names:
        found = True
    else:                                   # installed under that name (xlwings, numpy …), not our own module
        spec = importlib.util.find_spec(stem)
        found = spec is not None and spec.origin is not None and \
            Path(spec.origin).resolve() != path.with_suffix(".py").resolve()
    if found:
        raise OutputError(f"汇总台的文件名「{stem}」与已有的 Python 模块同名，「Run main」会导入那个模块："
                         f"请换一个名称，如 -o 汇总台.xlsx")
    return stem


def module_warning(path: str | Path) -> str:
    """A note for a non-ASCII workbook name: Run main's command line with Chinese has not been verified."""
    if Path(path).stem.isascii():
        return ""
    return ("注意：文件名含中文。xlwings 在 Windows 上经命令行运行「import 模块名」，含中文的模块名尚未在 Excel 中验证；"
            "若点击「Run main」后提示 SyntaxError 或 No module named，请改用英文文件名重新生成，"
            "如 jieyue console -o jieyue_console.xlsx。")


def module_text(path: str | Path) -> str:
    """The companion module's source for the console workbook at `path`."""
    path = Path(path)
    return MODULE_TEMPLATE.format(workbook=path.name, module=module_name(path), workbook_literal=repr(path.name))


def build_console(path: str | Path, *, overwrite: bool = False, spec_dir: str | None = None) -> tuple[Path, Path]:
    """Write the console workbook at `path` and its module `<stem>.py` beside it; return both paths.

    Refuses (OutputError, in Chinese) a name that is not a Python module name, a missing folder, or an existing
    workbook unless `overwrite` (its settings would be lost). `spec_dir` prefills the 规格目录 setting. Both
    files are written atomically."""
    path = check_output(path, ".xlsx", "汇总台")
    stem = module_name(path)
    if path.exists() and not overwrite:
        raise OutputError(f"「{path}」已存在：其中填写的设置会被覆盖；确需重新生成请加 --force")
    module = path.with_name(f"{stem}.py")
    buffer = io.BytesIO()
    _console_workbook(path.name, module.name, spec_dir or "").save(buffer)
    write_atomically(path, buffer.getvalue())
    write_atomically(module, module_text(path).encode("utf-8"))
    return path, module


def _console_workbook(book_name: str, module_file: str, spec_dir: str) -> openpyxl.Workbook:
    wb = openpyxl.Workbook()
    font = Font(name="宋体", size=11)
    bold = Font(name="宋体", size=11, bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")

    ws = wb.active
    ws.title = SETTINGS_SHEET
    ws["A1"] = "jieyue 汇总台"
    ws["A1"].font = Font(name="宋体", size=14, bold=True)
    ws["A2"] = ("一键汇总回收的填报工作簿：逐个安全读取、校验、重算，写出汇总表和 JSON 报告，每个文件都有交代；"
                "结果写在「结果」工作表。与命令 jieyue consolidate 做的是同一件事。")
    ws["A2"].alignment = wrap
    ws.merge_cells("A2:C2")
    ws.row_dimensions[2].height = 30
    for col, text in zip("ABC", ("设置", "填写（蓝色单元格）", "说明")):
        ws[f"{col}3"] = text
        ws[f"{col}3"].font = bold
        ws[f"{col}3"].fill = PatternFill("solid", fgColor="D9D9D9")
    for row, (name, label, default, hint) in enumerate(SETTINGS, start=FIRST_SETTING_ROW):
        ws.cell(row, 1, label).font = bold
        cell = ws.cell(row, 2, (spec_dir if name == "console_spec_dir" else default) or None)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cell.number_format = "@"                 # a path stays text, whatever is typed
        cell.font = font
        ws.cell(row, 3, hint).alignment = wrap
        wb.defined_names[name] = DefinedName(name, attr_text=f"'{SETTINGS_SHEET}'!$B${row}")
        if name == "console_final":
            choice = DataValidation(type="list", formula1='"' + ",".join(FINAL_CHOICES) + '"', allow_blank=True,
                                    showErrorMessage=True, errorTitle="最终汇总", error="请选择「是」或「否」")
            choice.add(cell.coordinate)
            ws.add_data_validation(choice)
    ws.cell(FIRST_SETTING_ROW + len(SETTINGS), 3,
            "路径可以是完整路径，也可以相对于本工作簿所在的文件夹（如 回收的工作簿、汇总.xlsx）。").alignment = wrap

    steps = [
        "使用方法（仅限 Windows 版 Microsoft Excel）",
        "1. 安装 Python 3.11 或更高版本（python.org；安装时勾选「Add python.exe to PATH」）。",
        "2. 打开「命令提示符」，运行：pip install jieyue",
        "3. 再运行：xlwings addin install（安装 xlwings 加载项），然后重新打开 Excel：功能区出现「xlwings」选项卡。",
        f"4. 本工作簿「{book_name}」须与程序文件「{module_file}」放在同一文件夹，且不要改名"
        "（「Run main」按工作簿的名称找程序；改名后请重新运行 jieyue console 生成）。",
        "5. 打开本工作簿，在上方蓝色单元格填写回收目录（名单、JSON报告可不填），保存。",
        "6. 点击 xlwings 选项卡上的「Run main」：状态栏显示进度（jieyue 汇总中… 已处理/共计），"
        "完成后「结果」工作表列出文件核算、输出位置和每个单位的状态；问题明细见汇总表。",
        "7. 没有反应或提示找不到 Python：在 xlwings 选项卡的 Interpreter 中填写 python.exe 的完整路径；"
        "勾选 Show Console 可看到出错信息。",
        "WPS 用户：xlwings 不支持 WPS，「Run main」在 WPS 中不可用。请在命令提示符中运行："
        "jieyue consolidate 回收目录 --roster 名单.xlsx -o 汇总.xlsx --json report.json，结果相同。",
    ]
    start = FIRST_SETTING_ROW + len(SETTINGS) + 2
    for i, text in enumerate(steps):
        cell = ws.cell(start + i, 1, text)
        cell.font = bold if i in (0, len(steps) - 1) else font
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.merge_cells(start_row=start + i, start_column=1, end_row=start + i, end_column=3)
        ws.row_dimensions[start + i].height = 30
    ws.column_dimensions["A"].width = 14
    ws.column_dimensions["B"].width = 48
    ws.column_dimensions["C"].width = 70

    rs = wb.create_sheet(RESULTS_SHEET)
    rs["A1"] = NOT_RUN
    rs["A2"] = "第 1 行：文件核算（共发现文件 = 已汇总 + 已拒收 + 已跳过）与有效单位数，或出错时的说明。"
    rs["A3"] = "第 2、3 行：汇总表、台账和 JSON 报告的位置。第 4 行起：每个已汇总的单位一行。"
    for col, text in enumerate(TABLE_HEADER, start=1):
        cell = rs.cell(4, col, text)
        cell.font = bold
        cell.fill = PatternFill("solid", fgColor="D9D9D9")
    for col, width in zip("ABCDEFGHIJKLM", (22, 36, 12, 18, 22, 10, 16, 10, 6, 8, 8, 8, 40)):
        rs.column_dimensions[col].width = width
    rs.freeze_panes = "A5"
    return wb


# ---------------------------------------------------------------- running from Excel

def run_from_book(book: Any) -> None:
    """Consolidate with the settings of the console `book` (an xlwings Book) and write the results into it.

    Never raises for a problem of the run: the message goes into 结果!A1. The status bar is reset at the end."""
    from workbook_templates import load_spec

    from .consolidate import (Ledger, check_outputs, claim_outputs, consolidate, ledger_path, outcome_line,
                              read_roster_entries, write_outputs)
    from .consolidate.content import content
    from .keys import find_key, ledger_secret
    from .notices import summary_line, write_notices

    sheet = book.sheets[RESULTS_SHEET]
    app = book.app
    try:
        sheet.clear_contents()
        sheet.range("A1").value = "jieyue 汇总中…"
        chosen = _settings(book)
        folder, roster_path, output, report = chosen.folder, chosen.roster, chosen.output, chosen.report
        spec = load_spec(chosen.spec_dir)
        check_outputs(output, report)
        roster, roster_note = None, ""
        if roster_path:
            roster, problems = read_roster_entries(roster_path, spec)
            if problems:
                roster_note = f"；名单有 {len(problems)} 行有问题，未计入名单：请核对名单"
        def progress(done: int, total: int) -> None:
            app.status_bar = f"jieyue 汇总中… {done}/{total}"

        key = find_key(None, roster_path)     # jieyue.key beside the roster, as `jieyue consolidate --roster`
        key_note = f"；已用名单旁的密钥（指纹 {key.key_id}）核验签名" if key.key else "；未核验签名（名单旁没有 jieyue.key）"
        with claim_outputs(output, report) as notices:   # as `jieyue consolidate`: the lock, a killed run finished
            ledger = Ledger.load(ledger_path(output), spec, secret=ledger_secret())
            run = consolidate(folder, spec=spec, roster=roster, ledger=ledger, progress=progress,
                              outputs=tuple(p for p in (output, report, ledger_path(output)) if p), key=key.key,
                              final=chosen.final, as_of=chosen.as_of)
            run.notices[:0] = notices
            app.status_bar = "jieyue 写入汇总表…"
            write_outputs(run, output, report, spec, ledger)
        notices_line = ""
        if chosen.notices is not None:                 # as `jieyue notices <JSON报告> -o <结果通知目录>`
            app.status_bar = "jieyue 生成结果通知…"
            notices_line = "；结果通知：" + summary_line(write_notices(report, chosen.notices), chosen.notices)
        data = content(run, spec)
        reviews = {r["unit_code"]: r for r in data["review_results"]}
        sheet.range("A1").value = [
            [outcome_line(run) + roster_note + key_note + "。"],
            [f"汇总表：{output}（台账：{ledger_path(output)}）"],
            [(f"JSON报告：{report}" if report else "JSON报告：未设置") + notices_line],
        ]
        sheet.range(TABLE_AT).value = [list(TABLE_HEADER)] + [
            _unit_row(u, reviews.get(u["unit_code"], {}), spec) for u in data["units"]]
    except JieyueError as e:
        sheet.range("A1").value = str(e)
    except Exception as e:      # noqa: BLE001  (anything else: a message in the sheet, not a popup)
        sheet.range("A1").value = (f"汇总未完成：{_describe(e)}。请检查「设置」中的路径；"
                                   "仍有问题时请用命令 jieyue consolidate 运行以查看详情。")
    finally:
        app.status_bar = False


def _unit_row(u: dict[str, Any], review: dict[str, Any], spec) -> list[Any]:
    results = u["results"]
    met = sum(1 for i in spec.decline_intensities if results.get(f"ok_{i.key}") is True)
    code = u.get("unit_code")
    return [
        f"'{code}" if code else None,       # the apostrophe keeps Excel from reading 18 digits as a number
        u.get("unit_name"), u.get("unit_level"), u.get("unit_region"), u["state"],
        results.get("self_total"), met, review.get("composite"), review.get("rank"),
        "是" if review.get("eliminated") else None,
        u["errors"], u["warnings"], u["file"],
    ]


def _describe(e: BaseException) -> str:
    if isinstance(e, OSError) and e.strerror:
        return f"{e.strerror}（{e.filename or ''}）"
    return str(e) or type(e).__name__


def _text(value: Any) -> str:
    """A setting cell as text: blank is "", surrounding spaces and quotes (Explorer's 「复制为路径」) removed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip().strip('"').strip()


def _book_folder(book: Any) -> Path | None:
    """The folder of the console workbook, for relative paths; None when it is not a local file."""
    try:
        fullname = str(book.fullname)
    except Exception:       # noqa: BLE001
        return None
    if not fullname or "://" in fullname:
        return None
    return Path(fullname).parent


@dataclass(frozen=True)
class ConsoleSettings:
    """The 设置 sheet, checked: paths resolved against the console's folder."""

    folder: Path                         # 回收目录
    roster: Path | None                  # 名单
    output: Path                         # 汇总表
    report: Path | None                  # JSON报告
    spec_dir: str | None                 # 规格目录 (None: the built-in spec)
    as_of: date                          # 进度日期 (blank: today, as `jieyue consolidate` without --as-of)
    final: bool                          # 最终汇总 = 是 (`--final`)
    notices: Path | None                 # 结果通知目录 (`jieyue notices`)


def _settings(book: Any) -> ConsoleSettings:
    """The settings from the named cells, checked; ConsoleError says what to fix."""
    raw, values = {}, {}
    for name, label, _, _ in SETTINGS:
        try:
            values[label] = book.names[name].refers_to_range.value
        except Exception:       # noqa: BLE001
            raise ConsoleError(f"找不到设置「{label}」（名称 {name}）：「设置」工作表被改动过，"
                               "请用 jieyue console 重新生成汇总台") from None
        raw[label] = _text(values[label])
    base = _book_folder(book)

    def resolve(label: str) -> Path | None:
        text = raw[label]
        if not text:
            return None
        p = Path(text)
        if not p.is_absolute():
            if base is None:
                raise ConsoleError(f"{label}「{text}」请填写完整路径（如 D:\\复验\\…）：本工作簿不在本地文件夹中")
            p = base / p
        return p

    folder = resolve("回收目录")
    if folder is None:
        raise ConsoleError("请在「设置」工作表填写 回收目录（存放交回工作簿的文件夹），保存后再点击「Run main」。")
    if not folder.is_dir():
        raise ConsoleError(f"回收目录「{folder}」不存在或不是文件夹：请检查「设置」中的路径。")
    roster = resolve("名单")
    if roster is not None and not roster.is_file():
        raise ConsoleError(f"名单「{roster}」不存在：请检查路径，或清空此格（不用名单）。")
    output = resolve("汇总表")
    if output is None:
        raise ConsoleError("请在「设置」工作表填写 汇总表 的保存位置，如 汇总.xlsx。")
    check_output(output, ".xlsx", "汇总表")         # OutputError, shown in A1 like a ConsoleError
    report = resolve("JSON报告")
    if report is not None:
        check_output(report, ".json", "JSON报告")
    spec_dir = resolve("规格目录")
    if spec_dir is not None and not spec_dir.is_dir():
        raise ConsoleError(f"规格目录「{spec_dir}」不存在或不是文件夹：请检查路径，或清空此格（用内置规格）。")
    final = raw["最终汇总"] or "否"
    if final not in FINAL_CHOICES:
        raise ConsoleError(f"最终汇总「{final}」无法识别：请选择「是」（截止后的最终汇总）或「否」。")
    notices = resolve("结果通知目录")
    if notices is not None and report is None:
        raise ConsoleError("生成结果通知要用汇总的 JSON 报告：请同时填写 JSON报告（如 report.json），或清空 结果通知目录。")
    if notices is not None:
        check_output(notices, None, "结果通知目录")
    return ConsoleSettings(folder, roster, output, report, str(spec_dir) if spec_dir else None,
                           _day(values["进度日期"], raw["进度日期"]), final == "是", notices)


def _day(value: Any, text: str) -> date:
    """进度日期 as a date: a date Excel stored, or text 2023-09-15 (also 2023/9/15); blank is today."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not text:
        return date.today()
    try:
        return date(*(int(part) for part in re.split(r"[-/.年月日]", text.rstrip("日")) if part))
    except (TypeError, ValueError):
        raise ConsoleError(f"进度日期「{text}」不是日期：请写作 2023-09-15（年-月-日），或清空此格（按当天）。") from None


__all__ = ["build_console", "run_from_book", "module_name", "module_text", "module_warning", "SETTINGS",
           "TABLE_HEADER", "ConsoleError"]
