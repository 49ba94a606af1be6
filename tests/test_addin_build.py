"""`jieyue addin build`: the Excel add-in built from xlwings' scaffold, checked on Linux.

Excel is not here, so the built file is read the way Excel and xlwings would read it:
- oletools' olevba reads the VBA project (xlwings' own, copied unchanged): its project name, the xlwings
  version compiled into it, the PROJECT_NAME that decides which conf sheet is read, and the procedures the
  ribbon calls, with the signature a ribbon callback needs;
- the ribbon XML and the conf sheet are parsed from the zip here, independently of the builder;
- what the buttons run (`jieyue.py` → `addin.ribbon.run`) is driven with a small fake of the xlwings objects
  it touches, in the style of tests/test_console.py.
"""
from __future__ import annotations

import importlib.util
import io
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from types import SimpleNamespace
from xml.etree import ElementTree as ET

import warnings

import pytest
import xlwings

with warnings.catch_warnings():          # oletools 0.60.2 uses pyparsing names deprecated in pyparsing 3.3
    warnings.simplefilter("ignore", DeprecationWarning)
    from oletools.olevba import VBA_Parser, VBA_Project

from addin import build, cli, ribbon
from addin.build import AddinBuildError, addin_bytes, build_addin, template_path

ROOT = Path(__file__).resolve().parents[1]
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
UI = "{http://schemas.microsoft.com/office/2006/01/customui}"
EDITED = {"customUI/customUI.xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml"}
needs_git = pytest.mark.skipif(not (ROOT / ".git").exists(), reason="not a git checkout")


# ---------------------------------------------------------------- readers (independent of the builder)

def vba(path: Path) -> SimpleNamespace:
    """The VBA project of an .xlam as olevba reads it: project name and {module name: code}."""
    parser = VBA_Parser(str(path))
    try:
        assert parser.detect_vba_macros(), "olevba finds no VBA project"
        modules = {Path(name).stem: code for _, _, name, code in parser.extract_macros()}
        ((ole, (root, project, dir_path)),) = [(sub.ole_file, p) for sub in parser.ole_subfiles
                                               for p in sub.find_vba_projects()]
        name = VBA_Project(ole, root, project, dir_path).projectname
    finally:
        parser.close()
    return SimpleNamespace(name=name, modules=modules)


def constant(code: str, name: str) -> str:
    (value,) = re.findall(rf'^\s*Public Const {name} As String = "([^"]*)"', code, re.M)
    return value


def procedures(code: str) -> dict[str, str]:
    """{procedure name: parameter list} of the Subs and Functions in one module's code."""
    return {m.group(2): m.group(3).strip() for m in
            re.finditer(r"^\s*(?:Public |Private )?(Sub|Function) (\w+)\((.*?)\)", code, re.M)}


def ribbon_xml(zf: zipfile.ZipFile) -> ET.Element:
    return ET.fromstring(zf.read("customUI/customUI.xml"))


def conf_sheets(zf: zipfile.ZipFile) -> dict[str, list[tuple[int, str, object]]]:
    """{sheet name: [(row, column A, column B), …]} for every worksheet, rows in order, as Excel shows them."""
    strings = [("".join(t.text or "" for t in si.iter(f"{MAIN}t")))
               for si in ET.fromstring(zf.read("xl/sharedStrings.xml")).iter(f"{MAIN}si")]
    rels = {r.get("Id"): r.get("Target") for r in ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))}
    out = {}
    for sheet in ET.fromstring(zf.read("xl/workbook.xml")).iter(f"{MAIN}sheet"):
        xml = ET.fromstring(zf.read("xl/" + rels[sheet.get(f"{REL}id")]))
        rows = []
        for row in xml.iter(f"{MAIN}row"):
            values = {}
            for c in row.iter(f"{MAIN}c"):
                kind, v = c.get("t"), c.find(f"{MAIN}v")
                if kind == "s":
                    value = strings[int(v.text)]
                elif kind == "inlineStr":
                    value = "".join(t.text or "" for t in c.iter(f"{MAIN}t"))
                elif kind == "b":
                    value = v.text == "1"
                else:
                    value = None if v is None else v.text
                values[re.match(r"[A-Z]+", c.get("r")).group()] = value
            if values.get("A") is not None:
                rows.append((int(row.get("r")), values["A"], values.get("B")))
        out[sheet.get("name")] = rows
    return out


def config(rows: list[tuple[int, str, object]]) -> dict[str, object]:
    """What xlwings' GetConfigFromSheet reads: keys upper-cased, from A1 down to the first blank."""
    block = [r for i, r in enumerate(rows) if r[0] == i + 1]
    return {key.upper(): value for _, key, value in block}


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def built(tmp_path_factory) -> SimpleNamespace:
    out = tmp_path_factory.mktemp("dist")
    result = build_addin(out)
    return SimpleNamespace(result=result, zip=zipfile.ZipFile(result.xlam), vba=vba(result.xlam),
                           template=zipfile.ZipFile(template_path()))


def pinned_xlwings() -> str:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["dependencies"]
    (pin,) = [d.split("#")[0].strip() for d in deps if d.startswith("xlwings")]
    assert pin.startswith("xlwings=="), f"xlwings must be pinned exactly, not {pin!r}"
    return pin.removeprefix("xlwings==")


# ---------------------------------------------------------------- the VBA project (olevba)

def test_the_template_is_what_xlwings_quickstart_addin_ribbon_writes(tmp_path):
    """`xlwings quickstart NAME --addin --ribbon` runs on Linux and copies the scaffold unchanged: the same file."""
    proc = subprocess.run([sys.executable, "-c", "from xlwings.cli import main; main()",
                           "quickstart", "probe", "--addin", "--ribbon"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "probe" / "probe.xlam").read_bytes() == template_path().read_bytes()
    assert template_path().parent == Path(xlwings.__file__).resolve().parent


def test_the_vba_is_xlwings_own_byte_for_byte(built):
    assert built.zip.read("xl/vbaProject.bin") == built.template.read("xl/vbaProject.bin")


@needs_git
def test_no_vba_or_office_binary_is_committed():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert not [f for f in tracked.splitlines() if Path(f).suffix.lower() in {".xlam", ".xlsm", ".bas", ".bin"}]


def test_the_vba_xlwings_version_equals_the_pinned_and_installed_package(built):
    code = built.vba.modules["xlwings"]
    assert constant(code, "XLWINGS_VERSION") == pinned_xlwings() == xlwings.__version__
    assert f"xlwings64-{xlwings.__version__}.dll" in code and f"xlwings32-{xlwings.__version__}.dll" in code


def test_nothing_runs_on_open_and_the_source_matches_the_compiled_code(built, tmp_path):
    """What antivirus heuristics look for first: auto-run macros, and VBA "stomping" (source ≠ p-code)."""
    bin_path = tmp_path / "vbaProject.bin"
    bin_path.write_bytes(built.zip.read("xl/vbaProject.bin"))
    parser = VBA_Parser(str(bin_path))          # on disk: olevba checks stomping only for OLE files
    try:
        assert parser.detect_vba_stomping() is False
        assert [keyword for kind, keyword, _ in parser.analyze_macros() if kind == "AutoExec"] == []
    finally:
        parser.close()


def ms_ovba_decrypt(hex_text: str) -> bytes:
    """The data of a PROJECT stream's CMG / DPB / GC value ([MS-OVBA] 2.4.3.3 Data Encryption, decryption)."""
    b = bytes.fromhex(hex_text)
    seed, state = b[0], {"unencrypted": b[0] ^ b[2], "encrypted1": b[2], "encrypted2": b[1]}
    assert seed ^ b[1] == 2, "unknown encryption version"

    def decrypt(enc: int) -> int:
        byte = enc ^ ((state["encrypted2"] + state["unencrypted"]) & 0xFF)
        state.update(encrypted2=state["encrypted1"], encrypted1=enc, unencrypted=byte)
        return byte
    rest = iter(b[3:])
    for _ in range((seed & 6) // 2):                    # ignored bytes
        decrypt(next(rest))
    length = int.from_bytes(bytes(decrypt(next(rest)) for _ in range(4)), "little")
    return bytes(decrypt(next(rest)) for _ in range(length))


def test_the_vba_project_is_not_locked_so_functions_can_be_imported(built, tmp_path):
    """导入函数 writes the UDF wrappers into the add-in's VBA project: a password would make that fail."""
    import olefile
    bin_path = tmp_path / "vbaProject.bin"
    bin_path.write_bytes(built.zip.read("xl/vbaProject.bin"))
    with olefile.OleFileIO(str(bin_path)) as ole:
        project = dict(line.split("=", 1) for line in ole.openstream("PROJECT").read().decode("latin-1").splitlines()
                       if "=" in line and not line.startswith("&H"))
    assert ms_ovba_decrypt(project["CMG"].strip('"')) == b"\0\0\0\0"       # ProjectProtectionState: none
    assert ms_ovba_decrypt(project["DPB"].strip('"')) == b"\0"                 # no password
    assert project["Name"] == '"MyAddin"'


def test_the_project_name_and_the_conf_sheet_agree(built):
    project = constant(built.vba.modules["xlwings"], "PROJECT_NAME")
    assert built.vba.name.lower() == project == build.PROJECT_NAME
    assert 'Set sht = wb.Sheets(PROJECT_NAME & ".conf")' in built.vba.modules["xlwings"]
    assert list(conf_sheets(built.zip)) == [f"{project}.conf"]          # enabled: no leading underscore
    assert list(conf_sheets(built.template)) == [f"_{project}.conf"]    # as xlwings ships it: disabled


def test_every_ribbon_callback_is_a_ribbon_procedure_in_the_vba(built):
    actions = {b.get("onAction") for b in ribbon_xml(built.zip).iter(f"{UI}button")}
    assert actions == {build.CALLBACK}
    for action in actions:
        module, procedure = action.split(".")
        params = procedures(built.vba.modules[module])
        assert procedure in params, f"{action} is not in the VBA"
        assert re.fullmatch(r"\w+ As IRibbonControl", params[procedure]), \
            f"{action}({params[procedure]}) cannot be called by the ribbon"


def test_run_main_imports_the_module_named_like_the_addin(built):
    code = built.vba.modules["RibbonMyAddin"]
    assert "mymodule = Left(ThisWorkbook.Name" in code
    assert 'RunPython "import " & mymodule & ";" & mymodule & ".main()"' in code
    assert built.result.xlam.stem == built.result.module.stem == ribbon.ADDIN_STEM
    assert built.result.xlam.parent == built.result.module.parent


# ---------------------------------------------------------------- ribbon and conf sheet

def test_the_ribbon_has_the_tab_and_both_buttons(built):
    (tab,) = ribbon_xml(built.zip).iter(f"{UI}tab")
    assert tab.get("label") == "节约型机关"
    assert [b.get("label") for b in tab.iter(f"{UI}button")] == ["汇总回收的工作簿", "导入函数"]
    assert all(b.get("imageMso") and b.get("supertip") for b in tab.iter(f"{UI}button"))


def test_the_conf_sheet_loads_the_udf_module(built):
    rows = conf_sheets(built.zip)[f"{build.PROJECT_NAME}.conf"]
    settings = config(rows)
    assert settings["UDF MODULES"] == ribbon.UDF_MODULES == "addin.functions"
    assert importlib.util.find_spec(settings["UDF MODULES"]) is not None
    # the scaffold's other settings are kept, unchanged and contiguous from A1 (GetConfigFromSheet stops at a blank)
    template = config(conf_sheets(built.template)["_myaddin.conf"])
    assert len(settings) == len(rows) == 9 and set(settings) == set(template)
    assert template["UDF MODULES"] is None
    assert {k: v for k, v in settings.items() if k != "UDF MODULES"} == \
        {k: v for k, v in template.items() if k != "UDF MODULES"}


def test_options_set_the_interpreter_and_the_console(tmp_path):
    result = build_addin(tmp_path, interpreter='"C:\\Program Files\\Python311\\python.exe"', show_console=True)
    settings = config(conf_sheets(zipfile.ZipFile(result.xlam))["myaddin.conf"])
    assert settings["INTERPRETER_WIN"] == "C:\\Program Files\\Python311\\python.exe"
    assert settings["SHOW CONSOLE"] is True and settings["UDF MODULES"] == "addin.functions"


def test_only_the_ribbon_and_the_conf_sheet_change(built):
    names = [i.filename for i in built.template.infolist()]
    assert [i.filename for i in built.zip.infolist()] == names
    changed = {n for n in names if built.zip.read(n) != built.template.read(n)}
    assert changed == EDITED
    assert built.zip.testzip() is None


def test_the_build_is_reproducible(built, tmp_path):
    again = build_addin(tmp_path)
    assert again.xlam.read_bytes() == built.result.xlam.read_bytes()
    assert again.module.read_text("utf-8") == built.result.module.read_text("utf-8")
    other = zipfile.ZipFile(io.BytesIO(addin_bytes(template_path().read_bytes(), interpreter="python.exe")))
    assert other.read("customUI/customUI.xml") == built.zip.read("customUI/customUI.xml")


# ---------------------------------------------------------------- failures: Chinese, naming the path, nothing written

def test_a_missing_template_names_it_and_says_what_to_do(tmp_path):
    missing = tmp_path / "没有" / build.TEMPLATE_NAME
    with pytest.raises(AddinBuildError, match=r"找不到 xlwings 的加载项模板「.*quickstart_addin_ribbon\.xlam」.*pip install"):
        build_addin(tmp_path / "dist", template=missing)
    assert not (tmp_path / "dist").exists()


@pytest.mark.parametrize("damage, message", [
    (lambda parts: {"customUI/customUI.xml": b"<x/>"} | {k: v for k, v in parts.items()
                                                         if k != "customUI/customUI.xml"},
     "功能区没有回调 RibbonMyAddin.RunMain"),
    (lambda parts: {k: v for k, v in parts.items() if k != "xl/vbaProject.bin"}, "缺少 xl/vbaProject.bin"),
    (lambda parts: parts | {"xl/workbook.xml": parts["xl/workbook.xml"].replace(b"_myaddin.conf", b"Sheet1")},
     "没有配置工作表 _myaddin.conf"),
])
def test_an_unexpected_template_is_refused(tmp_path, damage, message):
    with zipfile.ZipFile(template_path()) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    bad = tmp_path / "坏模板.xlam"
    with zipfile.ZipFile(bad, "w") as z:
        for name, data in damage(parts).items():
            z.writestr(name, data)
    with pytest.raises(AddinBuildError, match=f"「{re.escape(str(bad))}」.*{message}.*pip install"):
        build_addin(tmp_path / "dist", template=bad)
    assert not (tmp_path / "dist").exists()


def test_a_template_that_is_not_a_zip_is_refused(tmp_path):
    bad = tmp_path / "x.xlam"
    bad.write_text("not a zip")
    with pytest.raises(AddinBuildError, match="不是有效的 xlwings 加载项模板"):
        build_addin(tmp_path / "dist", template=bad)


def test_an_output_that_is_a_file_is_refused_and_kept(tmp_path):
    out = tmp_path / "dist"
    out.write_text("keep me")
    code, err = run_cli(["addin", "build", "-o", str(out)])
    assert code == 2 and f"「{out}」是一个文件" in err and "-o 应为输出目录" in err and "未写入任何文件" in err
    assert out.read_text() == "keep me"


def test_a_locked_addin_leaves_the_earlier_build_whole(tmp_path, monkeypatch):
    first = build_addin(tmp_path)
    before = first.xlam.read_bytes()
    import generator.ooxml as ooxml
    real = ooxml.write_atomically

    def locked(path, data):
        if Path(path).suffix == ".xlam":
            raise PermissionError(13, "Permission denied", str(path))
        real(path, data)
    monkeypatch.setattr(ooxml, "write_atomically", locked)
    with pytest.raises(AddinBuildError, match=r"无法写入「.*jieyue\.xlam」：文件可能正被 Excel 使用"):
        build_addin(tmp_path, show_console=True)
    assert first.xlam.read_bytes() == before
    fresh = tmp_path / "新目录"
    with pytest.raises(AddinBuildError):
        build_addin(fresh)
    assert not fresh.exists()                        # the module it wrote alone and the folder are gone again
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jieyue.py", "jieyue.xlam"]     # no temp files


def test_another_xlwings_version_than_the_pinned_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(build, "pinned_xlwings", lambda: "0.0.1")
    with pytest.raises(AddinBuildError, match=r"jieyue 固定的是 0\.0\.1.*pip install xlwings==0\.0\.1"):
        build_addin(tmp_path / "dist")
    assert not (tmp_path / "dist").exists()


# ---------------------------------------------------------------- CLI

def run_cli(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys, "stderr", err)
        mp.setattr(sys, "stdout", out)
        code = cli.main(argv)
    return code, err.getvalue() + out.getvalue()


def test_cli_builds_and_says_what_next(tmp_path):
    code, text = run_cli(["addin", "build", "-o", str(tmp_path / "dist")])
    assert code == 0
    assert (tmp_path / "dist" / "jieyue.xlam").is_file() and (tmp_path / "dist" / "jieyue.py").is_file()
    assert "节约型机关" in text and "安装指南" in text and "WPS" in text
    code, text = run_cli(["addin", "build", "-o", str(tmp_path / "dist")])
    assert code == 0 and "替换了上一次生成的文件" in text


@needs_git
def test_dist_is_ignored_by_git():
    proc = subprocess.run(["git", "check-ignore", "-q", "dist/jieyue.xlam"], cwd=ROOT)
    assert proc.returncode == 0, "dist/ must be git-ignored: built add-ins are not committed"


def test_the_install_guide_exists_and_readme_links_it():
    guide = (ROOT / "docs" / "安装指南.md").read_text("utf-8")
    for topic in ("64 位", "pip install jieyue", "pywin32", "信任对 VBA 工程对象模型的访问", "杀毒软件", "节约型机关",
                  "导入函数", "故障排除", "WPS", "jieyue consolidate", "xlwings addin install", "jieyue addin build"):
        assert topic in guide, topic
    assert "](docs/安装指南.md)" in (ROOT / "README.md").read_text("utf-8")


# ---------------------------------------------------------------- what the buttons run, with a fake

class FakeCOMWorkbook:
    def __init__(self, name: str):
        self.Name, self.saved = name, 0

    def Save(self):
        self.saved += 1


class FakeApp:
    """xlwings App as `addin.ribbon` uses it: alert() and api.Workbooks(name)."""

    def __init__(self, answer: str = "yes", addins: tuple[str, ...] = ("jieyue.xlam",)):
        self.answer, self.alerts = answer, []
        self.workbooks = {name.lower(): FakeCOMWorkbook(name) for name in addins}
        self.api = SimpleNamespace(Workbooks=self._workbook)

    def _workbook(self, name):
        return self.workbooks[name.lower()]          # Excel: case-insensitive; a COM error when not loaded

    def alert(self, prompt, title=None, buttons="ok", mode=None, callback=None):
        self.alerts.append(SimpleNamespace(prompt=prompt, title=title, buttons=buttons, mode=mode))
        return self.answer if buttons == "yes_no" else "ok"


class FakeBook:
    __slots__ = ("name", "names", "app")

    def __init__(self, app: FakeApp, names: dict | None = None, name: str = "工作簿1"):
        self.name, self.names, self.app = name, names or {}, app


def console_book(app: FakeApp) -> FakeBook:
    from addin.console import SETTINGS
    return FakeBook(app, {name: SimpleNamespace(refers_to_range=object()) for name, *_ in SETTINGS}, "汇总台.xlsx")


def load_module(path: Path):
    spec = importlib.util.spec_from_file_location(f"built_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_built_module_hands_the_caller_to_the_ribbon_glue(built, monkeypatch):
    module = load_module(built.result.module)
    fake = FakeBook(FakeApp())
    calls = []
    monkeypatch.setattr(xlwings.Book, "caller", classmethod(lambda cls: fake))
    monkeypatch.setattr(ribbon, "run", lambda book, **kw: calls.append((book, kw)))
    module.main()
    assert calls == [(fake, {"addin_file": "jieyue.xlam"})]


def test_in_a_console_the_button_consolidates(monkeypatch):
    import addin.console
    ran = []
    monkeypatch.setattr(addin.console, "run_from_book", ran.append)
    app = FakeApp()
    book = console_book(app)
    assert ribbon.run(book) == "consolidated"
    assert ran == [book] and app.alerts == []


def test_elsewhere_the_button_imports_the_functions_into_the_addin(tmp_path):
    app = FakeApp(answer="yes")
    imported = []
    result = ribbon.run(FakeBook(app), import_udfs=lambda modules, wb: imported.append((modules, wb.Name)))
    assert result == "imported"
    assert imported == [("addin.functions", "jieyue.xlam")]
    assert app.workbooks["jieyue.xlam"].saved == 1                  # kept after Excel restarts
    question, done = app.alerts
    assert "不是 jieyue 汇总台" in question.prompt and question.buttons == "yes_no"
    assert "jieyue console" in question.prompt
    assert "已导入 8 个工作表函数" in done.prompt and "JY_KGCE" in done.prompt and "JY_COLLECT" in done.prompt


def test_answering_no_changes_nothing():
    app = FakeApp(answer="no")
    assert ribbon.run(FakeBook(app), import_udfs=lambda *a: pytest.fail("imported")) == "cancelled"
    assert app.workbooks["jieyue.xlam"].saved == 0 and len(app.alerts) == 1


def test_untrusted_vba_access_says_how_to_allow_it():
    app = FakeApp()

    def refused(modules, wb):
        raise Exception("Programmatic access to Visual Basic Project is not trusted")
    assert ribbon.run(FakeBook(app), import_udfs=refused) == "failed"
    assert "信任对 VBA 工程对象模型的访问" in app.alerts[-1].prompt and app.alerts[-1].mode == "critical"
    assert app.workbooks["jieyue.xlam"].saved == 0


def test_a_renamed_addin_is_named_in_the_message():
    app = FakeApp(addins=("other.xlam",))
    assert ribbon.run(FakeBook(app), import_udfs=lambda *a: None) == "failed"
    assert "找不到已加载的加载项「jieyue.xlam」" in app.alerts[-1].prompt


def test_the_function_list_is_the_registered_udfs():
    from tests.test_udf_registration import EXPECTED
    assert set(ribbon.function_names()) == EXPECTED
