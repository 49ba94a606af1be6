"""`jieyue addin build`: the Excel add-in, assembled at build time from xlwings' own custom-add-in scaffold.

`xlwings quickstart NAME --addin --ribbon` only copies `quickstart_addin_ribbon.xlam` out of the installed
xlwings package (xlwings/cli.py, `quickstart`); this module copies the same file, so the VBA project always
comes from, and matches, the installed xlwings. Nothing of xlwings' VBA lives in this repository.

The VBA cannot be rewritten on Linux (and a VBA source that disagrees with its compiled p-code is what
"VBA stomping" malware looks like), so `xl/vbaProject.bin` stays byte for byte as xlwings ships it. What is
adjusted, at zip level, are plain XML parts:

- `customUI/customUI.xml`: a 节约型机关 tab with the buttons 汇总回收的工作簿 and 导入函数. The scaffold's VBA has
  one ribbon callback, `RibbonMyAddin.RunMain` (`Sub RunMain(control As IRibbonControl)`), which runs
  `import <add-in file name>; <name>.main()`; both buttons use it and `addin.ribbon.run` tells them apart
  by the active workbook (see there). The scaffold's other macros, such as `ImportPythonUDFsToAddin`, take no
  control argument, and a ribbon button cannot call a macro without one.
- the conf sheet: the scaffold ships it disabled as `_myaddin.conf`; the VBA reads settings from the sheet
  `PROJECT_NAME & ".conf"` with `PROJECT_NAME = "myaddin"`, so it is renamed `myaddin.conf` and its
  `UDF Modules` set to `addin.functions` (optionally `Interpreter_Win` and `Show Console`).

Beside `jieyue.xlam` goes `jieyue.py`, the module RunMain imports: a few lines that hand the caller to
`addin.ribbon.run`. Same template and options give the same bytes.
"""
from __future__ import annotations

import contextlib
import re
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

from generator.ooxml import rewrite_zip, zip_parts
from workbook_templates.errors import OutputError

from .ribbon import ADDIN_FILE, ADDIN_STEM, UDF_MODULES

TEMPLATE_NAME = "quickstart_addin_ribbon.xlam"      # what `xlwings quickstart NAME --addin --ribbon` copies
CUSTOM_UI = "customUI/customUI.xml"
WORKBOOK = "xl/workbook.xml"
VBA_PROJECT = "xl/vbaProject.bin"
SHARED_STRINGS = "xl/sharedStrings.xml"
PROJECT_NAME = "myaddin"                            # xlwings.bas in the scaffold: Public Const PROJECT_NAME
DISABLED_CONF_SHEET = f"_{PROJECT_NAME}.conf"
CONF_SHEET = f"{PROJECT_NAME}.conf"
CALLBACK = "RibbonMyAddin.RunMain"                  # the scaffold's only ribbon callback
TAB_LABEL = "节约型机关"

# (id, label, imageMso, supertip): imageMso names as used by xlwings' own ribbon (MacroPlay, FunctionWizard).
BUTTONS = (
    ("jieyueConsolidate", "汇总回收的工作簿", "MacroPlay",
     "先打开汇总台（jieyue console 生成）并在「设置」中填写回收目录，再点击：逐个读取、校验、重算回收的工作簿，"
     "写出汇总表，结果写在汇总台的「结果」工作表。"),
    ("jieyueImportFunctions", "导入函数", "FunctionWizard",
     "在汇总台以外的任一工作簿中点击：把 JY_KGCE、JY_COLLECT 等工作表函数导入本加载项。"
     "首次使用和升级 jieyue 后各导入一次；需要「信任对 VBA 工程对象模型的访问」。"),
)

MODULE_TEXT = '''\
"""jieyue 加载项（{addin_file}）的程序：功能区「{tab}」选项卡上的按钮运行这里的 main()。

由 jieyue addin build 生成。须与 {addin_file} 放在同一文件夹且同名：xlwings 按加载项的文件名找这个模块。
要做的事都在已安装的 jieyue 中（addin.ribbon.run）；这里只把 Excel 的调用转过去。
"""
from pathlib import Path

import xlwings as xw


def main():
    book = xw.Book.caller()
    try:
        from addin.ribbon import run
    except ImportError:
        book.app.alert("找不到 jieyue：请在 Excel 所用的 Python 中运行 pip install jieyue（安装指南见 docs/安装指南.md）。",
                       title="jieyue {tab}", mode="critical")
        return
    run(book, addin_file=Path(__file__).with_suffix(".xlam").name)
'''

class AddinBuildError(ValueError):
    """The add-in could not be built; the message (Chinese) names the path and what to do."""


@dataclass(frozen=True)
class BuiltAddin:
    """What `build_addin` wrote."""
    xlam: Path
    module: Path
    replaced: bool          # an earlier build was overwritten


def template_path() -> Path:
    """The scaffold in the installed xlwings package that `xlwings quickstart --addin --ribbon` copies."""
    import xlwings
    return Path(xlwings.__file__).resolve().parent / TEMPLATE_NAME


def pinned_xlwings() -> str | None:
    """The xlwings version jieyue pins (`xlwings==X` in its installed metadata), or None when not installed."""
    try:
        requirements = metadata.requires("jieyue") or []
    except metadata.PackageNotFoundError:
        return None
    for requirement in requirements:
        if m := re.fullmatch(r"xlwings\s*==\s*([\w.]+)", requirement.split(";")[0].strip()):
            return m.group(1)
    return None


def _reinstall_hint() -> str:
    import xlwings
    return f"请运行 pip install --force-reinstall xlwings=={pinned_xlwings() or xlwings.__version__} 后重试"


def custom_ui_xml() -> str:
    """The ribbon: one 节约型机关 tab, both buttons on the scaffold's RunMain callback."""
    buttons = "\n".join(
        f'                    <button id="{bid}" label={quoteattr(label)} size="large" onAction="{CALLBACK}" '
        f'imageMso="{image}" screentip={quoteattr(label)} supertip={quoteattr(tip)} />'
        for bid, label, image, tip in BUTTONS)
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<customUI xmlns="http://schemas.microsoft.com/office/2006/01/customui">\n'
            '    <ribbon>\n        <tabs>\n'
            f'            <tab id="jieyueTab" label="{TAB_LABEL}">\n'
            '                <group id="jieyueGroup" label="复验">\n'
            f'{buttons}\n'
            '                </group>\n            </tab>\n        </tabs>\n    </ribbon>\n</customUI>\n')


def module_text(addin_file: str = ADDIN_FILE) -> str:
    """The Python module written beside the add-in (`jieyue.py`)."""
    return MODULE_TEXT.format(addin_file=addin_file, tab=TAB_LABEL)


def _conf_settings(interpreter: str, show_console: bool) -> dict[str, str | bool]:
    settings: dict[str, str | bool] = {"UDF Modules": UDF_MODULES}
    if interpreter:
        settings["Interpreter_Win"] = interpreter
    if show_console:
        settings["Show Console"] = True
    return settings


def addin_bytes(template: bytes, *, interpreter: str = "", show_console: bool = False,
                source: str | Path = TEMPLATE_NAME) -> bytes:
    """The built add-in from the scaffold's bytes. Raises AddinBuildError (naming `source`) when the template is
    not the scaffold this builder knows. Every part but the ribbon, the workbook's sheet list and the conf
    sheet is copied unchanged, in the same order and with the same timestamps (so the output is reproducible)."""
    try:
        _, parts = zip_parts(template)
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise AddinBuildError(f"「{source}」不是有效的 xlwings 加载项模板（{e}）：{_reinstall_hint()}") from None

    def need(condition: bool, what: str) -> None:
        if not condition:
            raise AddinBuildError(f"「{source}」与 jieyue 所依据的 xlwings 加载项模板不同（{what}）：{_reinstall_hint()}")

    for name in (CUSTOM_UI, WORKBOOK, VBA_PROJECT, SHARED_STRINGS):
        need(name in parts, f"缺少 {name}")
    need(f'onAction="{CALLBACK}"'.encode() in parts[CUSTOM_UI], f"功能区没有回调 {CALLBACK}")
    workbook = parts[WORKBOOK].decode("utf-8")
    need(workbook.count(f'name="{DISABLED_CONF_SHEET}"') == 1, f"没有配置工作表 {DISABLED_CONF_SHEET}")
    sheet_part = _sheet_part(parts, workbook, DISABLED_CONF_SHEET)
    need(sheet_part in parts, f"缺少 {sheet_part}")

    edited = {
        CUSTOM_UI: custom_ui_xml().encode("utf-8"),
        WORKBOOK: workbook.replace(f'name="{DISABLED_CONF_SHEET}"', f'name="{CONF_SHEET}"').encode("utf-8"),
        sheet_part: _set_conf(parts[sheet_part].decode("utf-8"), _shared_strings(parts[SHARED_STRINGS]),
                              _conf_settings(interpreter, show_console), need).encode("utf-8"),
    }
    return rewrite_zip(template, lambda name, content: edited.get(name, content))


def _sheet_part(parts: dict[str, bytes], workbook: str, sheet: str) -> str:
    """The zip path of the worksheet named `sheet`, through the workbook's relationships."""
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
          "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships"}
    rid = next((s.get(f"{{{ns['r']}}}id") for s in ET.fromstring(workbook).iterfind("m:sheets/m:sheet", ns)
                if s.get("name") == sheet), None)
    rels = ET.fromstring(parts.get("xl/_rels/workbook.xml.rels", b"<Relationships/>"))
    target = next((r.get("Target") for r in rels if r.get("Id") == rid), "")
    return target.lstrip("/") if target.startswith("/") else f"xl/{target}"


def _shared_strings(data: bytes) -> list[str]:
    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    return ["".join(t.text or "" for t in si.iter(f"{ns}t")) for si in ET.fromstring(data).iter(f"{ns}si")]


def _set_conf(sheet: str, strings: list[str], settings: dict[str, str | bool], need) -> str:
    """Set column B of the conf sheet's rows whose key (column A, a shared string) is in `settings`.

    Edited as text, row by row, because re-serialising through ElementTree would rename the namespace
    prefixes that `mc:Ignorable` refers to. Strings go in as inline strings, so sharedStrings.xml is untouched;
    the style of the key cell is kept."""
    rows = {}
    for m in re.finditer(r'<c r="A(\d+)"( s="\d+")? t="s"\s*>\s*<v>(\d+)</v>\s*</c>', sheet):
        key = strings[int(m.group(3))] if int(m.group(3)) < len(strings) else ""
        rows[key.upper()] = (int(m.group(1)), m.group(2) or "")
    for key, value in settings.items():
        need(key.upper() in rows, f"配置工作表没有「{key}」一行")
        row, style = rows[key.upper()]
        if isinstance(value, bool):
            cell = f'<c r="B{row}"{style} t="b"><v>{int(value)}</v></c>'
        else:
            cell = f'<c r="B{row}"{style} t="inlineStr"><is><t>{escape(value)}</t></is></c>'
        pattern = re.compile(rf'<row r="{row}"([^>]*)>(.*?)</row>', re.S)
        m = pattern.search(sheet)
        need(m is not None, f"配置工作表第 {row} 行的格式无法识别")
        cells = re.sub(rf'<c r="B{row}"[^>]*?(/>|>.*?</c>)', "", m.group(2), flags=re.S) + cell
        attrs = re.sub(r' spans="[^"]*"', "", m.group(1))
        sheet = f'{sheet[:m.start()]}<row r="{row}" spans="1:2"{attrs}>{cells}</row>{sheet[m.end():]}'
    return sheet


def build_addin(out_dir: str | Path, *, template: str | Path | None = None, interpreter: str = "",
                show_console: bool = False) -> BuiltAddin:
    """Build `jieyue.xlam` and `jieyue.py` into `out_dir` (created if missing) and return their paths.

    Everything is checked and assembled in memory first; then each file is written atomically, and a failed
    write undoes what this run added, so an earlier build is left as it was and nothing is half-done. Raises
    AddinBuildError (Chinese, naming the path and what to do) for a missing or unexpected template, an xlwings
    version other than the pinned one, an output path that is a file, or an add-in file Excel keeps locked."""
    import xlwings

    from generator import ooxml
    source = Path(template) if template is not None else template_path()
    pinned = pinned_xlwings()
    if template is None and pinned and pinned != xlwings.__version__:
        raise AddinBuildError(f"已安装的 xlwings 是 {xlwings.__version__}，jieyue 固定的是 {pinned}：加载项中的 VBA 必须与"
                              f"Excel 所用 Python 中的 xlwings 版本一致。请运行 pip install xlwings=={pinned} 后重试")
    if not source.is_file():
        raise AddinBuildError(f"找不到 xlwings 的加载项模板「{source}」：xlwings 安装不完整或版本不对，{_reinstall_hint()}")
    data = addin_bytes(source.read_bytes(), interpreter=interpreter.strip().strip('"'),
                       show_console=show_console, source=source)
    try:
        out = ooxml.check_output(out_dir, None, "输出目录")
    except OutputError as e:
        raise AddinBuildError(str(e)) from None
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise AddinBuildError(f"无法创建输出目录「{out}」（{e.strerror or e}）：请换一个位置，如 -o dist") from None
    xlam, module = out / ADDIN_FILE, out / f"{ADDIN_STEM}.py"
    replaced, module_existed = xlam.exists(), module.exists()
    # The module first: its text is the same for every build, so if the add-in then cannot be written, an
    # earlier build is still whole; a module this run added alone (and a folder it created) is removed again.
    written: list[Path] = []
    try:
        for path, content in ((module, module_text().encode("utf-8")), (xlam, data)):
            try:
                ooxml.write_atomically(path, content)
            except PermissionError:
                raise AddinBuildError(f"无法写入「{path}」：文件可能正被 Excel 使用。请在 Excel 的 文件 → 选项 → 加载项 中"
                                      "取消勾选 jieyue（或关闭 Excel）后重新运行") from None
            except OSError as e:
                raise AddinBuildError(f"无法写入「{path}」（{e.strerror or e}）：请检查磁盘空间和写入权限，"
                                      "或换一个输出目录") from None
            written.append(path)
    except AddinBuildError:
        with contextlib.suppress(OSError):
            if module in written and not module_existed:
                module.unlink()
            if created:
                out.rmdir()
        raise
    return BuiltAddin(xlam, module, replaced)


__all__ = ["AddinBuildError", "BuiltAddin", "build_addin", "addin_bytes", "custom_ui_xml", "module_text",
           "template_path", "pinned_xlwings", "TEMPLATE_NAME", "CONF_SHEET", "PROJECT_NAME", "CALLBACK",
           "TAB_LABEL", "BUTTONS"]
