"""The Excel console (`jieyue console`, `addin.console`) and JY_COLLECT, on Linux.

Excel is not here, so `run_from_book` runs against `FakeBook`: a small fake of exactly the xlwings objects it
touches (named cells, the 结果 sheet's ranges, `clear_contents`, `app.status_bar`, `fullname`), loaded from the
real console workbook that `build_console` writes. Anything else the glue tried to use would fail here with an
AttributeError, so the fake also pins how little of xlwings the glue needs. The returns are real: the demo flow
generates and fills the sample roster's workbooks.
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import re
import json
import shutil
import sys
from importlib import resources
from pathlib import Path
from types import SimpleNamespace

import openpyxl
import pytest
import xlwings
from openpyxl.utils.cell import coordinate_to_tuple

import addin.consolidate as consolidate_package
from addin import cli, console, functions
from addin.console import SETTINGS, TABLE_HEADER, build_console, module_name, run_from_book
from addin.consolidate import consolidate, ledger_path
from addin.consolidate.content import content, state
from addin.demo import plain_returns, sample_roster
from workbook_templates import load_spec

SPEC = load_spec()

LINE = re.compile(r"共 (\d+) 个文件 = 已汇总 (\d+) \+ 已拒收 (\d+) \+ 已跳过 (\d+)；有效单位 (\d+) 个")
PROGRESS = re.compile(r"jieyue 汇总中… (\d+)/(\d+)")


# ---------------------------------------------------------------- a fake of the xlwings objects used

class FakeRange:
    def __init__(self, sheet: FakeSheet, address: str):
        self.sheet, self.address = sheet, address.replace("$", "")

    @property
    def value(self):
        return self.sheet.cells.get(coordinate_to_tuple(self.address))

    @value.setter
    def value(self, value):
        """As xlwings: a scalar fills one cell, a list one row, a list of lists a block from this cell."""
        self.sheet.writes.append((self.address, value))
        row, col = coordinate_to_tuple(self.address)
        block = value if isinstance(value, list) and value and isinstance(value[0], list) else \
            [value] if isinstance(value, list) else [[value]]
        assert len({len(r) for r in block}) == 1, "xlwings needs a rectangular block"
        for i, r in enumerate(block):
            for j, v in enumerate(r):
                self.sheet.cells[(row + i, col + j)] = v


class FakeSheet:
    def __init__(self, name: str):
        self.name, self.cells, self.writes, self.cleared = name, {}, [], 0

    def range(self, address: str) -> FakeRange:
        return FakeRange(self, address)

    def clear_contents(self) -> None:
        self.cells.clear()
        self.cleared += 1

    def rows_from(self, address: str) -> list[list]:
        """The block of rows starting at `address`, as far as column A is filled."""
        row, col = coordinate_to_tuple(address)
        width = len(TABLE_HEADER)
        out = []
        while self.cells.get((row, col)) is not None:
            out.append([self.cells.get((row, col + j)) for j in range(width)])
            row += 1
        return out


class FakeNames:
    def __init__(self, names: dict[str, FakeRange]):
        self._names = names

    def __getitem__(self, name: str):
        return SimpleNamespace(refers_to_range=self._names[name])


class FakeApp:
    def __init__(self):
        self.status_bars: list = []

    @property
    def status_bar(self):
        return self.status_bars[-1] if self.status_bars else False

    @status_bar.setter
    def status_bar(self, value):
        self.status_bars.append(value)


class FakeBook:
    """What `run_from_book` may touch of an xlwings Book, and nothing more."""

    __slots__ = ("sheets", "names", "app", "fullname")

    def __init__(self, path: Path):
        wb = openpyxl.load_workbook(path)
        self.sheets = {ws.title: FakeSheet(ws.title) for ws in wb.worksheets}
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for c in row:
                    if c.value is not None:
                        self.sheets[ws.title].cells[(c.row, c.column)] = c.value
        names = {}
        for name, dn in wb.defined_names.items():
            ((sheet, ref),) = dn.destinations
            names[name] = FakeRange(self.sheets[sheet], ref)
        self.names = FakeNames(names)
        self.app = FakeApp()
        self.fullname = str(path)

    def set(self, **settings: str) -> FakeBook:
        """Type into the settings cells, by label: set(回收目录=…, 汇总表=…)."""
        labels = {label: name for name, label, _, _ in SETTINGS}
        for label, value in settings.items():
            self.names[labels[label]].refers_to_range.sheet.cells[
                coordinate_to_tuple(self.names[labels[label]].refers_to_range.address)] = value
        return self

    @property
    def results(self) -> FakeSheet:
        return self.sheets[console.RESULTS_SHEET]


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def returns(tmp_path_factory) -> SimpleNamespace:
    """Good returns of 10 of the 12 sample roster units (the last two not returned), and a mixed copy: one unit
    with text in a numeric cell (an error: not ranked), one file returned twice, one zero-byte file."""
    base = tmp_path_factory.mktemp("演示")
    folder = base / "回收的工作簿"
    plain_returns(folder, SPEC, sample_roster(SPEC)[:-2])
    mixed = base / "混合"
    shutil.copytree(folder, mixed)
    files = sorted(mixed.iterdir())
    wb = openpyxl.load_workbook(files[0])
    ((sheet, ref),) = wb.defined_names["cur_electricity_kwh"].destinations
    wb[sheet][ref].value = "2000万"
    wb.save(files[0])
    (mixed / "再交一次").mkdir()
    shutil.copy(files[1], mixed / "再交一次" / files[1].name)
    (mixed / "空.xlsx").write_bytes(b"")
    with resources.as_file(resources.files("addin").joinpath("sample_data", "名单.csv")) as roster:
        roster_copy = base / "名单.csv"
        shutil.copy(roster, roster_copy)
    return SimpleNamespace(folder=folder, mixed=mixed, roster=roster_copy, blocked=files[0].name,
                           twice=files[1].name)


@pytest.fixture
def book(tmp_path) -> FakeBook:
    path, _ = build_console(tmp_path / "汇总台.xlsx")
    return FakeBook(path)


def one_write_at(sheet: FakeSheet, address: str):
    writes = [v for a, v in sheet.writes if a == address]
    assert len(writes) == 1, f"{address} written {len(writes)} times"
    return writes[0]


# ---------------------------------------------------------------- build_console

def test_build_console_writes_the_workbook_and_its_module(tmp_path):
    path, module = build_console(tmp_path / "汇总台.xlsx")
    assert (path, module) == (tmp_path / "汇总台.xlsx", tmp_path / "汇总台.py")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["设置", "结果"]
    where = {name: next(iter(dn.destinations)) for name, dn in wb.defined_names.items()}
    assert where == {"console_folder": ("设置", "$B$4"), "console_roster": ("设置", "$B$5"),
                     "console_output": ("设置", "$B$6"), "console_json": ("设置", "$B$7"),
                     "console_spec_dir": ("设置", "$B$8"), "console_as_of": ("设置", "$B$9"),
                     "console_final": ("设置", "$B$10"), "console_notices": ("设置", "$B$11")}
    settings = wb["设置"]
    assert [settings[f"A{r}"].value for r in range(4, 12)] == ["回收目录", "名单", "汇总表", "JSON报告", "规格目录",
                                                               "进度日期", "最终汇总", "结果通知目录"]
    assert settings["B6"].value == "汇总.xlsx" and settings["B4"].value is None
    assert settings["B8"].value is None                                          # blank: the built-in spec
    assert settings["B10"].value == "否"                                          # not the final consolidation
    assert [dv.formula1 for dv in settings.data_validations.dataValidation] == ['"是,否"']
    assert all(settings[f"B{r}"].number_format == "@" for r in range(4, 12))      # paths and dates stay text
    howto = "\n".join(str(c.value) for row in settings.iter_rows() for c in row if c.value)
    for step in ("pip install jieyue", "xlwings addin install", "Run main", "汇总台.py", "WPS",
                 "jieyue consolidate"):
        assert step in howto, step
    results = wb["结果"]
    assert [c.value for c in results[4]] == list(TABLE_HEADER)
    assert "Run main" in results["A1"].value
    assert not any(p.name.startswith("~$") for p in tmp_path.iterdir())          # no temporary file left


def test_the_module_compiles_and_calls_run_from_book(tmp_path):
    _, module = build_console(tmp_path / "汇总台.xlsx")
    text = module.read_text("utf-8")
    compile(text, str(module), "exec")
    assert "xw.Book.caller()" in text and "from addin.console import run_from_book" in text
    assert "run_from_book(book)" in text and "xw.Book('汇总台.xlsx').set_mock_caller()" in text


def test_run_main_imports_the_module_and_consolidates(tmp_path, returns, monkeypatch):
    """What 「Run main」 does: import the module named like the workbook and call main(), with
    xw.Book.caller() giving the console (here the fake)."""
    path, module = build_console(tmp_path / "汇总台.xlsx")
    fake = FakeBook(path).set(回收目录=str(returns.folder))
    monkeypatch.setattr(xlwings.Book, "caller", classmethod(lambda cls: fake))
    spec = importlib.util.spec_from_file_location("汇总台", module)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert "汇总台" not in sys.modules
    mod.main()
    assert LINE.search(fake.results.cells[(1, 1)]), fake.results.cells[(1, 1)]
    assert (tmp_path / "汇总.xlsx").is_file()           # 汇总表 defaults to 汇总.xlsx beside the console


@pytest.mark.parametrize("name, fragment", [
    ("2024汇总台.xlsx", "汇总台_2024汇总台.xlsx"),
    ("汇总 台.xlsx", "汇总_台.xlsx"),
    ("jieyue-console.xlsx", "jieyue_console.xlsx"),
    ("class.xlsx", "不能作为 Python 模块名"),
    ("json.xlsx", "已有的 Python 模块同名"),
    ("xlwings.xlsx", "已有的 Python 模块同名"),
    ("汇总台.xlsm", "应以 .xlsx 结尾"),
])
def test_a_workbook_name_run_main_could_not_import_is_refused(tmp_path, name, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)):
        module_name(tmp_path / name)
    assert module_name(tmp_path / "汇总台.xlsx") == "汇总台"      # Chinese is a valid Python identifier
    assert module_name(tmp_path / "jieyue_console.xlsx") == "jieyue_console"


# ---------------------------------------------------------------- run_from_book

def test_a_run_writes_the_accounting_the_paths_and_the_units(book, returns, tmp_path):
    book.set(回收目录=str(returns.mixed), 名单=str(returns.roster), JSON报告="报告.json")
    run_from_book(book)
    rs = book.results
    line = rs.cells[(1, 1)]
    seen, consolidated, rejected, skipped, valid = map(int, LINE.search(line).groups())
    assert (seen, consolidated, rejected, skipped, valid) == (12, 11, 1, 0, 9)
    assert "未报送 2 个，名单外 0 个，重复报送 1 个单位" in line
    out = tmp_path / "汇总.xlsx"                          # relative paths are beside the console workbook
    assert rs.cells[(2, 1)] == f"汇总表：{out}（台账：{ledger_path(out)}）"
    assert rs.cells[(3, 1)] == f"JSON报告：{tmp_path / '报告.json'}"
    assert out.is_file() and ledger_path(out).is_file() and (tmp_path / "报告.json").is_file()

    # The table: one write at A4, header first, one row per unit as in the summary.
    table = one_write_at(rs, "A4")
    assert table[0] == list(TABLE_HEADER)
    spec = SPEC
    run = consolidate(returns.mixed, spec=spec)
    expected = content(run, spec)["units"]
    assert [r[0] for r in table[1:]] == ["'" + u["unit_code"] for u in expected]
    for row, u, f in zip(table[1:], expected, run.units):
        cells = dict(zip(TABLE_HEADER, row))
        assert row[1:5] == [u["unit_name"], u["unit_level"], u["unit_region"], state(f)]
        assert cells["自评总分"] == f.results["self_total"]
        assert cells["下降目标达标数"] == sum(1 for i in spec.decline_intensities if f.results[f"ok_{i.key}"] is True)
        assert (cells["综合得分"], cells["排名"], cells["拟摘牌"]) == (None, None, None)   # no review packs here
        assert [cells["错误数"], cells["警告数"], cells["文件"]] == [u["errors"], u["warnings"], f.path]
    by_file = {r[-1]: dict(zip(TABLE_HEADER, r)) for r in table[1:]}
    blocked = by_file[returns.blocked]
    assert blocked["状态"] == "有错误，不参与排名" and blocked["错误数"] >= 1
    assert sum(1 for r in table[1:] if r[4] == "有效") == 9
    assert rs.rows_from("A4") == table                                   # written where the header was


def test_progress_goes_to_the_status_bar_and_the_bar_is_handed_back(book, returns):
    run_from_book(book.set(回收目录=str(returns.folder)))
    bars = book.app.status_bars
    assert bars[-1] is False                                            # Excel has its status bar back
    progress = [PROGRESS.fullmatch(b) for b in bars if isinstance(b, str) and b.startswith("jieyue 汇总中")]
    assert progress and all(progress)
    done = [int(m.group(1)) for m in progress]
    assert {int(m.group(2)) for m in progress} == {10}
    assert done == sorted(done) and done[-1] == 10
    assert "jieyue 写入汇总表…" in bars


def test_a_second_run_uses_the_ledger_and_gives_the_same_table(book, returns):
    book.set(回收目录=str(returns.folder))
    run_from_book(book)
    first = book.results.rows_from("A4")
    run_from_book(book)
    assert book.results.rows_from("A4") == first
    assert book.app.status_bars.count(False) == 2
    assert book.results.cleared == 2                                    # each run starts from a clean sheet


@pytest.mark.parametrize("settings, message", [
    ({}, "请在「设置」工作表填写 回收目录"),
    ({"回收目录": "不存在的目录"}, "不存在或不是文件夹"),
    ({"名单": "没有这个名单.csv"}, "名单「"),
    ({"汇总表": None}, "请在「设置」工作表填写 汇总表"),
    ({"汇总表": "汇总.csv"}, "应以 .xlsx 结尾"),
    ({"JSON报告": "没有的目录/report.json"}, "JSON报告所在的文件夹"),
    ({"规格目录": "没有的规格目录"}, "规格目录「"),
    ({"进度日期": "明天"}, "进度日期「明天」不是日期"),
    ({"进度日期": "2023-13-01"}, "请写作 2023-09-15"),
    ({"最终汇总": "也许"}, "请选择「是」"),
    ({"结果通知目录": "通知"}, "请同时填写 JSON报告"),
])
def test_a_setting_problem_is_a_message_in_a1(book, returns, settings, message):
    if settings:
        settings = {"回收目录": str(returns.folder), **settings}
    book.set(**settings)
    run_from_book(book)
    rs = book.results
    assert message in rs.cells[(1, 1)]
    assert set(rs.cells) == {(1, 1)}                                    # nothing else: no stale table
    assert book.app.status_bars[-1] is False


def test_the_message_names_the_missing_folder(book, tmp_path):
    run_from_book(book.set(回收目录=str(tmp_path / "没有")))
    assert book.results.cells[(1, 1)] == f"回收目录「{tmp_path / '没有'}」不存在或不是文件夹：请检查「设置」中的路径。"


def test_an_unexpected_failure_is_a_message_not_a_popup(book, returns, monkeypatch):
    run_from_book(book.set(回收目录=str(returns.folder)))
    assert len(book.results.rows_from("A4")) == 11

    def broken(*args, **kwargs):
        raise RuntimeError("磁盘已满")
    monkeypatch.setattr(consolidate_package, "consolidate", broken)
    run_from_book(book)                                                 # does not raise
    rs = book.results
    assert rs.cells[(1, 1)].startswith("汇总未完成：磁盘已满")
    assert set(rs.cells) == {(1, 1)}                                    # the old table is gone
    assert book.app.status_bars[-1] is False


def test_outputs_inside_the_returns_folder_are_not_read_back(book, returns, tmp_path):
    folder = tmp_path / "回收"
    shutil.copytree(returns.folder, folder)
    book.set(回收目录=str(folder), 汇总表=str(folder / "汇总.xlsx"), JSON报告=str(folder / "报告.json"))
    run_from_book(book)
    run_from_book(book)
    seen, consolidated, rejected, skipped, valid = map(int, LINE.search(book.results.cells[(1, 1)]).groups())
    assert (consolidated, rejected, valid) == (10, 0, 10) and skipped >= 3      # summary, report, ledger
    assert len(book.results.rows_from("A4")) == 11


def test_quoted_paths_from_explorer_are_accepted(book, returns):
    run_from_book(book.set(回收目录=f'"{returns.folder}"'))
    assert LINE.search(book.results.cells[(1, 1)])


def test_a_console_whose_setting_names_were_deleted_says_so(book, returns):
    del book.names._names["console_output"]
    run_from_book(book.set(回收目录=str(returns.folder)))
    assert "找不到设置「汇总表」" in book.results.cells[(1, 1)]


# ---------------------------------------------------------------- jieyue console

def run_cli(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()


def test_cli_console_writes_both_files_and_says_what_next(tmp_path):
    target = tmp_path / "汇总台.xlsx"
    rc, out, err = run_cli("console", "-o", target)
    assert rc == 0, err
    assert target.is_file() and (tmp_path / "汇总台.py").is_file()
    assert f"已生成汇总台：{target}" in out and str(tmp_path / "汇总台.py") in out
    for step in ("pip install jieyue", "xlwings addin install", "Run main", "WPS", "jieyue consolidate"):
        assert step in out, step
    assert "文件名含中文" in out                                         # the unverified case is flagged

    rc, out, err = run_cli("console", "-o", tmp_path / "jieyue_console.xlsx")
    assert rc == 0 and "文件名含中文" not in out


def test_cli_console_keeps_filled_settings_unless_forced(tmp_path):
    target = tmp_path / "汇总台.xlsx"
    assert run_cli("console", "-o", target)[0] == 0
    wb = openpyxl.load_workbook(target)
    wb["设置"]["B4"] = "D:\\复验"
    wb.save(target)
    rc, out, err = run_cli("console", "-o", target)
    assert rc == 2 and "已存在" in err and "--force" in err
    assert openpyxl.load_workbook(target)["设置"]["B4"].value == "D:\\复验"
    assert run_cli("console", "-o", target, "--force")[0] == 0
    assert openpyxl.load_workbook(target)["设置"]["B4"].value is None


def test_cli_console_refuses_a_name_run_main_cannot_import(tmp_path):
    rc, out, err = run_cli("console", "-o", tmp_path / "jieyue-console.xlsx")
    assert rc == 2 and out == ""
    assert "jieyue_console.xlsx" in err
    assert not list(tmp_path.iterdir())
    rc, _, err = run_cli("console", "-o", tmp_path / "没有的目录" / "汇总台.xlsx")
    assert rc == 2 and "不存在" in err


# ---------------------------------------------------------------- JY_COLLECT

@pytest.fixture
def counted(monkeypatch):
    """Count the consolidations JY_COLLECT runs (the cache starts empty)."""
    functions._collected.cache_clear()
    calls = []
    real = consolidate_package.consolidate

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)
    monkeypatch.setattr(consolidate_package, "consolidate", counting)
    yield calls
    functions._collected.cache_clear()


def test_jy_collect_returns_a_row_per_valid_unit(returns, counted):
    names = [["unit_code", "unit_name", "self_total", "chg_co2_per_area", "cur_electricity_kwh",
              "assessment_year", "contact_name"]]
    table = functions.JY_COLLECT([[str(returns.mixed)]], names)
    assert table[0] == names[0]
    run = consolidate(returns.mixed, spec=SPEC)
    valid = [f for f in run.units if not f.blocking]
    assert len(table) == 1 + len(valid) == 10                          # the blocked unit and the copy left out
    assert returns.blocked not in {f.path for f in valid}
    for row, f in zip(table[1:], valid):
        assert row[:2] == [f.unit["unit_code"], f.unit["unit_name"]]
        assert row[2:4] == [f.results["self_total"], f.results["chg_co2_per_area"]]
        assert row[4] == f.inputs["cur_electricity_kwh"]
        assert row[5] == 2023
        assert row[6] == ""                                             # not read from the returns: blank
    assert all(len(r) == len(names[0]) for r in table)


def test_jy_collect_takes_names_as_a_row_a_column_or_one_cell(returns, counted):
    folder = str(returns.folder)
    as_row = functions.JY_COLLECT(folder, [["unit_code", "self_total"]])
    as_column = functions.JY_COLLECT([[folder]], [["unit_code"], ["self_total"]])
    with_blanks = functions.JY_COLLECT(folder, [["unit_code", None, " self_total ", ""]])
    assert as_row == as_column
    assert with_blanks[0] == ["unit_code", "self_total"] and with_blanks[1:] == as_row[1:]
    one = functions.JY_COLLECT(folder, "unit_name")
    assert one[0] == ["unit_name"] and len(one) == 11
    assert functions.JY_COLLECT(folder, [["UNIT_CODE"]])[1:] == [[r[0]] for r in as_row[1:]]


def test_jy_collect_reads_the_folder_again_only_when_it_changed(returns, counted, tmp_path):
    folder = tmp_path / "回收"
    shutil.copytree(returns.folder, folder)
    first = functions.JY_COLLECT(str(folder), [["unit_code", "self_total"]])
    again = functions.JY_COLLECT(str(folder), [["unit_name"]])          # other names, same folder state
    assert len(counted) == 1 and len(first) == len(again) == 11
    victim = sorted(folder.iterdir())[0]
    victim.unlink()                                                     # files are <code>_<name>.xlsx
    fewer = functions.JY_COLLECT(str(folder), [["unit_code", "self_total"]])
    assert len(counted) == 2
    assert fewer[1:] == [r for r in first[1:] if r[0] != victim.name.split("_")[0]] and len(fewer) == 10
    functions.JY_COLLECT(str(folder), [["unit_code", "self_total"]])
    assert len(counted) == 2


@pytest.mark.parametrize("folder, names, fragment", [
    (None, "unit_code", "请给出一个回收目录"),
    ("relative/folder", "unit_code", "请写完整路径"),
    ("/no/such/folder", "unit_code", "不存在或不是文件夹"),
    ("{folder}", "no_such_name", "未知的名称：no_such_name"),
    ("{folder}", [["unit_code", "也没有"]], "未知的名称：也没有"),
    ("{folder}", [[None, ""]], "请给出至少一个数据约定名称"),
    ("{folder}", [["unit_code", "unit_name"], ["self_total", "unit_region"]], "一行或一列"),
    ([["{folder}", "{folder}"]], "unit_code", "请给出一个回收目录"),
])
def test_jy_collect_problems_are_a_one_cell_message(returns, folder, names, fragment):
    def fill(v):
        if isinstance(v, list):
            return [fill(x) for x in v]
        return str(returns.folder) if v == "{folder}" else v
    table = functions.JY_COLLECT(fill(folder), names)
    assert len(table) == 1 and len(table[0]) == 1
    assert fragment in table[0][0]


def test_jy_collect_never_raises(monkeypatch, returns):
    functions._collected.cache_clear()

    def broken(*args, **kwargs):
        raise RuntimeError("坏了")
    monkeypatch.setattr(consolidate_package, "consolidate", broken)
    assert functions.JY_COLLECT(str(returns.folder), "unit_code") == [["无法汇总：坏了"]]
    functions._collected.cache_clear()


def test_with_review_packs_the_button_shows_composite_rank_and_elimination(book, tmp_path):
    """The whole demo flow's folder (returns and the three reviewers' packs): the console lists each unit's
    综合得分, 排名 and 拟摘牌 as the summary's 评审结果 does."""
    from addin.demo import run_flow
    run_flow(tmp_path / "演示", SPEC)
    folder = tmp_path / "演示" / "回收的工作簿"
    run_from_book(book.set(回收目录=str(folder), 汇总表=str(tmp_path / "汇总.xlsx")))
    table = one_write_at(book.results, "A4")
    rows = [dict(zip(TABLE_HEADER, r)) for r in table[1:]]
    expected = {r["unit_code"]: r for r in content(consolidate(folder, spec=SPEC), SPEC)["review_results"]}
    assert any(r["综合得分"] is not None for r in rows) and any(r["拟摘牌"] == "是" for r in rows)
    for r in rows:
        e = expected[r["统一社会信用代码"].lstrip("'")]
        assert (r["综合得分"], r["排名"], r["拟摘牌"]) == (e["composite"], e["rank"], "是" if e["eliminated"] else None)


def test_the_spec_folder_setting_is_prefilled_and_used(tmp_path, returns):
    """规格目录 (B8): `build_console(spec_dir=…)` writes it in, and a run with it set consolidates with that spec."""
    path, _ = build_console(tmp_path / "jieyue_console.xlsx", spec_dir=SPEC.directory)
    assert openpyxl.load_workbook(path)["设置"]["B8"].value == SPEC.directory
    fake = FakeBook(path).set(回收目录=str(returns.folder))
    run_from_book(fake)
    assert LINE.search(fake.results.cells[(1, 1)]), fake.results.cells[(1, 1)]
    assert len(fake.results.rows_from("A4")) == 11


def test_the_date_final_and_notices_settings_run_as_the_cli_does(book, returns, tmp_path):
    """进度日期, 最终汇总 and 结果通知目录 are `--as-of`, `--final` and `jieyue notices`: with 10 of the 12 roster
    units returned and no review yet, the final consolidation makes the 2 missing units 未完成复验, and a notice is
    written for each of the 12."""
    book.set(回收目录=str(returns.folder), 名单=str(returns.roster), JSON报告=str(tmp_path / "report.json"),
             进度日期="2023-09-15", 最终汇总="是", 结果通知目录=str(tmp_path / "通知"))
    run_from_book(book)
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["stages"]["as_of"] == "2023-09-15" and report["review_rules"]["final"] is True
    states = [r["state"] for r in report["review_results"]]
    assert states.count("未完成复验") == 12                     # final: nothing reviewed, 2 not returned
    assert len(list((tmp_path / "通知" / "复验结果通知").glob("*.xlsx"))) == 12
    assert "结果通知：已生成 12 份复验结果通知" in book.results.cells[(3, 1)]
    assert (tmp_path / "通知" / "公示名单.xlsx").is_file()


def test_an_excel_date_in_the_date_setting_is_taken_as_is(book, returns, tmp_path):
    from datetime import datetime
    book.set(回收目录=str(returns.folder), JSON报告=str(tmp_path / "report.json"), 进度日期=datetime(2023, 8, 21))
    run_from_book(book)
    assert json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))["stages"]["as_of"] == "2023-08-21"
