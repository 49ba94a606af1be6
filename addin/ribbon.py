"""What the buttons on the jieyue add-in's 节约型机关 ribbon tab do (Windows Microsoft Excel only).

The add-in is xlwings' own custom-add-in scaffold (`xlwings quickstart NAME --addin --ribbon`, built by
`jieyue addin build`). Its VBA project has exactly one ribbon callback, `RibbonMyAddin.RunMain`, which runs
`main()` of the Python module named like the add-in file (`jieyue.py` beside `jieyue.xlam`). A ribbon
callback must take the clicked control as its argument (`Sub X(control As IRibbonControl)`), and RunMain does
not pass it on, so both buttons arrive here as the same call and the active workbook decides:

- the active workbook is a jieyue 汇总台 (`jieyue console`): consolidate with its settings, exactly as its
  own 「Run main」 would (`addin.console.run_from_book`);
- any other workbook: offer to import the JY_ worksheet functions (`addin.functions`) into the add-in, as
  xlwings' 「Import Functions」 would, and save the add-in so they stay after Excel restarts.

`run(book)` touches only `book.names[…].refers_to_range` (through the console), `book.app.alert(…)` and
`book.app.api.Workbooks(name)`; tests drive it with a small fake. Nothing here raises into Excel: a problem is
a Chinese message box or, for the consolidation, a message in the console's 结果!A1.
"""
from __future__ import annotations

from typing import Any, Callable

ADDIN_STEM = "jieyue"                       # jieyue.xlam + jieyue.py: RunMain imports the add-in's file name
ADDIN_FILE = f"{ADDIN_STEM}.xlam"
UDF_MODULES = "addin.functions"             # the add-in's conf sheet says the same (UDF Modules)
TITLE = "jieyue 节约型机关"

IMPORT_QUESTION = (
    "当前工作簿「{book}」不是 jieyue 汇总台。\n\n"
    "· 要汇总回收的工作簿：请先打开汇总台（在命令提示符中运行 jieyue console -o 汇总台.xlsx 生成），"
    "再点击「汇总回收的工作簿」。\n"
    "· 要使用 JY_KGCE、JY_COLLECT 等工作表函数：点「是」，函数将导入 jieyue 加载项，此后在所有工作簿中可用。\n\n"
    "现在导入函数吗？"
)
TRUST_HINT = ("请在 Excel 中依次点击 文件 → 选项 → 信任中心 → 信任中心设置 → 宏设置，"
              "勾选「信任对 VBA 工程对象模型的访问」，确定后再点击「导入函数」。")


def function_names() -> list[str]:
    """The worksheet functions the add-in imports (JY_…), sorted."""
    from . import functions
    return sorted(name for name in dir(functions) if name.startswith("JY_"))


def is_console(book: Any) -> bool:
    """True when `book` is a jieyue 汇总台: every console setting name resolves to a cell."""
    from .console import SETTINGS
    try:
        return all(book.names[name].refers_to_range is not None for name, *_ in SETTINGS)
    except Exception:       # noqa: BLE001  (a missing name is a COM error in Excel, KeyError in a fake)
        return False


def import_functions(app: Any, addin_file: str = ADDIN_FILE, *,
                     import_udfs: Callable[[str, Any], None] | None = None) -> list[str]:
    """Import the JY_ functions into the loaded add-in `addin_file` and save it; return their names.

    This is what the scaffold's `ImportPythonUDFsToAddin` macro does, done from the RunMain process because the
    ribbon cannot call that macro (it takes no control argument). `import_udfs` defaults to xlwings' own
    (`xlwings.udfs.import_udfs`, which needs pywin32 and "Trust access to the VBA project object model")."""
    if import_udfs is None:
        from xlwings.udfs import import_udfs       # Windows only: imports pywin32
    try:
        workbook = app.api.Workbooks(addin_file)
    except Exception:       # noqa: BLE001
        raise LookupError(f"找不到已加载的加载项「{addin_file}」：请在 文件 → 选项 → 加载项 → 转到 中勾选它，"
                          "不要改名（按钮按加载项的文件名找同名的 .py）") from None
    import_udfs(UDF_MODULES, workbook)
    workbook.Save()                                  # otherwise the imported functions are gone after a restart
    return function_names()


def run(book: Any, *, addin_file: str = ADDIN_FILE,
        import_udfs: Callable[[str, Any], None] | None = None) -> str:
    """Do what a 节约型机关 button means for the active workbook `book` (an xlwings Book); return what was done:
    "consolidated", "imported", "cancelled" or "failed". See the module docstring for why both buttons come here."""
    if is_console(book):
        from .console import run_from_book
        run_from_book(book)
        return "consolidated"
    app = book.app
    if app.alert(IMPORT_QUESTION.format(book=getattr(book, "name", "")), title=TITLE, buttons="yes_no") != "yes":
        return "cancelled"
    try:
        names = import_functions(app, addin_file, import_udfs=import_udfs)
    except LookupError as e:
        app.alert(str(e), title=TITLE, mode="critical")
        return "failed"
    except Exception as e:      # noqa: BLE001  (COM refuses VBProject access unless trusted; say how to allow it)
        app.alert(f"未能把函数导入加载项：{e}\n\n{TRUST_HINT}", title=TITLE, mode="critical")
        return "failed"
    app.alert(f"已导入 {len(names)} 个工作表函数：{'、'.join(names)}。\n"
              "在任一工作簿中输入 =JY_ 即可使用；函数的名称或参数有变化（升级 jieyue 后）请再导入一次。",
              title=TITLE, mode="info")
    return "imported"


__all__ = ["ADDIN_FILE", "ADDIN_STEM", "UDF_MODULES", "function_names", "import_functions", "is_console", "run"]
