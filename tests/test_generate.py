"""Personalised workbooks: zip-level patching equals openpyxl's own rendering, only the four 单位信息 cells (with
their 说明) and the running head of the printed pages differ from the template, files are written atomically, and
`jieyue template` / `jieyue generate` behave."""
from __future__ import annotations

import io
import os
import re
import zipfile
from importlib import resources
from pathlib import Path

import openpyxl
import pytest

import generator
from addin.cli import main
from addin.progress import Progress
from generator import named_cells
from generator.ooxml import TEMP_PREFIX, write_atomically
from generator.layout import PREFILLED_NOTE
from generator.personalise import TOKENS, Personaliser, write_workbooks
from generator.roster import read_roster, safe_file_name
from tests.libreoffice import recalculate
from workbook_templates import contract_names, load_spec
from workbook_templates.contract import UNIT_NAMES

SPEC = load_spec()
YEAR = 2023
PRESET = "xj-2023"
SAMPLE = Path(str(resources.files("addin").joinpath("sample_data", "名单.csv")))
SAMPLE_BAD = Path(str(resources.files("addin").joinpath("sample_data", "名单_有错误.csv")))
UNIT = {"unit_name": "天池县人民法院", "unit_code": "11652327190572418X", "unit_level": "县市区级",
        "unit_region": "昌吉回族自治州"}
TRICKY = {"unit_name": 'A&B <机关> "双引号" \'单引号\' &amp; ]]>', "unit_code": "11650000676599511L",
          "unit_level": "自治区本级", "unit_region": "乌鲁木齐市 & 周边"}
INFO_CELLS = {"unit_name": "B3", "unit_code": "B4", "unit_level": "B5", "unit_region": "B6"}
INFO_NOTES = ("C3", "C4", "C5", "C6")          # their 说明: how to fill them in, or that a roster prefilled them
PRINTED = [f"xl/worksheets/sheet{i}.xml" for i in range(1, 7)]   # the visible sheets, each with a running head
_HEAD = re.compile(r"<oddHeader>(.*?)</oddHeader>", re.S)


@pytest.fixture(scope="module")
def personaliser() -> Personaliser:
    return Personaliser(SPEC, YEAR, PRESET)


def entries(data: bytes) -> dict[str, bytes]:
    z = zipfile.ZipFile(io.BytesIO(data))
    assert z.testzip() is None
    return {n: z.read(n) for n in z.namelist()}


_CELL = re.compile(r'<c r="([A-Z]+[0-9]+)"(?:[^>]*/>|[^>]*>.*?</c>)', re.S)


def sheet_cells(xml: bytes) -> dict[str, str]:
    """Cell reference → the cell's whole XML element."""
    text = xml.decode("utf-8")
    return {m.group(1): m.group(0) for m in _CELL.finditer(text)}


def all_cells(data: bytes) -> dict[tuple[str, str], object]:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    return {(ws.title, c.coordinate): c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row}


# ---------------------------------------------------------------- personalised bytes

def head(xml: bytes) -> str:
    """The page header of one sheet's XML."""
    found = _HEAD.findall(xml.decode("utf-8"))
    assert len(found) == 1
    return found[0]


def test_the_placeholders_live_in_the_unit_info_sheet_as_inline_strings(personaliser):
    assert personaliser.entry == "xl/worksheets/sheet2.xml"
    base = entries(personaliser.base)
    xml = base[personaliser.entry].decode()
    for name, token in TOKENS.items():
        assert xml.count(f"<t>{token}</t>") == 1
        assert f't="inlineStr"><is><t>{token}</t></is>' in xml
    assert "sharedStrings" not in " ".join(base)
    # The unit's name also heads every printed page: once in the header of each visible sheet, nowhere else.
    assert personaliser.entries == PRINTED
    for part in PRINTED:
        assert head(base[part]).count(TOKENS["unit_name"]) == 1, part
        rest = _HEAD.sub("", base[part].decode())
        for token in TOKENS.values():
            rest = rest.replace(f"<t>{token}</t>", "")
        assert not any(token in rest for token in TOKENS.values()), part
    assert not any(token.encode() in data for part, data in base.items() if part not in PRINTED
                   for token in TOKENS.values())


def test_unit_cells_hold_the_values_and_are_locked(personaliser):
    wb = openpyxl.load_workbook(io.BytesIO(personaliser.workbook(UNIT)))
    ws = wb["单位信息"]
    for name, ref in INFO_CELLS.items():
        assert ws[ref].value == UNIT[name]
        assert ws[ref].protection.locked
        assert ws[ref].data_type == "s"                 # the code stays text: no leading-zero or 15-digit loss
    assert {name: named_cells(wb)[name] for name in UNIT_NAMES} == {n: ("单位信息", r) for n, r in INFO_CELLS.items()}
    assert not ws["B7"].protection.locked               # 联系人 is still for the unit to fill


def test_defined_names_are_intact(personaliser):
    data = personaliser.workbook(UNIT)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    blank = openpyxl.load_workbook(io.BytesIO(generator.template_bytes(SPEC, YEAR, PRESET)))
    assert named_cells(wb) == named_cells(blank)
    assert set(named_cells(wb)) == {n.name for n in contract_names(SPEC)}


def test_only_the_four_cells_and_the_page_headers_differ_from_the_base(personaliser):
    base, mine = entries(personaliser.base), entries(personaliser.workbook(UNIT))
    assert list(base) == list(mine)
    assert [n for n in base if base[n] != mine[n]] == PRINTED
    before, after = sheet_cells(base[personaliser.entry]), sheet_cells(mine[personaliser.entry])
    assert before.keys() == after.keys()
    assert {ref for ref in before if before[ref] != after[ref]} == set(INFO_CELLS.values())
    # …and outside the cells and the page header, not one byte of any sheet moved; the header names the unit.
    strip = lambda xml: _HEAD.sub("", _CELL.sub("", xml.decode()))     # noqa: E731
    for part in PRINTED:
        assert strip(base[part]) == strip(mine[part]), part
        assert head(mine[part]) == head(base[part]).replace(TOKENS["unit_name"], UNIT["unit_name"]), part


@pytest.mark.parametrize("unit", [UNIT, TRICKY], ids=["plain", "xml-special"])
def test_equals_openpyxl_rendering_of_the_same_unit(personaliser, unit):
    """Byte for byte what `template_bytes(unit=…)` writes, except the creation time in docProps/core.xml."""
    mine = entries(personaliser.workbook(unit))
    theirs = entries(generator.template_bytes(SPEC, YEAR, PRESET, unit=unit))
    assert list(mine) == list(theirs)
    assert [n for n in mine if mine[n] != theirs[n]] in ([], ["docProps/core.xml"])


def test_every_other_cell_equals_the_blank_template(personaliser):
    """Against the blank template (where the four cells are empty inputs and their 说明 say how to fill them),
    cell for cell."""
    mine, blank = all_cells(personaliser.workbook(UNIT)), all_cells(generator.template_bytes(SPEC, YEAR, PRESET))
    assert mine.keys() == blank.keys()
    differ = {key for key in mine if mine[key] != blank[key]}
    assert differ == {("单位信息", ref) for ref in (*INFO_CELLS.values(), *INFO_NOTES)}
    assert [mine[("单位信息", ref)] for ref in INFO_NOTES] == [PREFILLED_NOTE] * len(INFO_NOTES)


def test_another_preset(tmp_path):
    p = Personaliser(SPEC, YEAR, "gbt2589-2020")
    mine, theirs = entries(p.workbook(UNIT)), entries(generator.template_bytes(SPEC, YEAR, "gbt2589-2020", unit=UNIT))
    assert [n for n in mine if mine[n] != theirs[n]] in ([], ["docProps/core.xml"])


def test_xml_special_characters_survive(personaliser):
    wb = openpyxl.load_workbook(io.BytesIO(personaliser.workbook(TRICKY)))
    assert [wb["单位信息"][ref].value for ref in INFO_CELLS.values()] == [TRICKY[n] for n in INFO_CELLS]


def test_leading_spaces_are_preserved_and_control_characters_refused(personaliser):
    data = personaliser.workbook(UNIT | {"unit_region": "  哈密市 "})
    assert openpyxl.load_workbook(io.BytesIO(data))["单位信息"]["B6"].value == "  哈密市 "
    with pytest.raises(ValueError, match="控制字符"):
        personaliser.workbook(UNIT | {"unit_name": "坏\x01名称"})


def test_personalised_files_keep_the_protection(personaliser):
    data = personaliser.workbook(UNIT)
    parts = entries(data)
    assert 'lockStructure="1"' in parts["xl/workbook.xml"].decode()
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert all(ws.protection.sheet for ws in wb.worksheets)
    assert wb["参数"].sheet_state == "veryHidden" and wb["_meta"].sheet_state == "hidden"


@pytest.mark.libreoffice
def test_libreoffice_opens_personalised_files(personaliser, tmp_path):
    files = []
    for i, unit in enumerate((UNIT, TRICKY)):
        path = tmp_path / "in" / f"unit{i}.xlsx"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(personaliser.workbook(unit))
        files.append(path)
    for path, unit in zip(recalculate(files, tmp_path / "out"), (UNIT, TRICKY)):
        wb = openpyxl.load_workbook(path, data_only=True)
        assert [wb["单位信息"][ref].value for ref in INFO_CELLS.values()] == [unit[n] for n in INFO_CELLS]
        errors = [(ws.title, c.coordinate, c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row
                  if isinstance(c.value, str) and c.value.startswith("#")]
        assert not errors


# ---------------------------------------------------------------- atomic writes

def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(TEMP_PREFIX)]


def test_atomic_write_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "a.xlsx"
    write_atomically(target, b"one")
    write_atomically(target, b"two")
    assert target.read_bytes() == b"two" and leftovers(tmp_path) == []


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_atomic_write_failure_removes_the_temporary_file_and_keeps_the_old_one(tmp_path, monkeypatch, error):
    target = tmp_path / "a.xlsx"
    target.write_bytes(b"old")
    seen = []

    def fail(src, dst):
        seen.append(Path(src).name)
        assert Path(src).exists() and Path(src).read_bytes() == b"new"
        raise error

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(type(error)):
        write_atomically(target, b"new")
    assert seen and seen[0].startswith(TEMP_PREFIX)
    assert target.read_bytes() == b"old" and leftovers(tmp_path) == []


def test_a_file_that_cannot_be_written_is_reported_and_the_rest_go_on(tmp_path, monkeypatch, personaliser):
    units = read_roster(SAMPLE, SPEC).units[:3]
    real = os.replace

    def locked(src, dst):
        if units[1].name in str(dst):
            raise PermissionError(13, "Permission denied")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", locked)
    result = write_workbooks(units, tmp_path, personaliser)
    assert len(result.written) == 2 and [u for u, _ in result.failed] == [units[1]]
    assert "关闭后重新运行" in result.failed[0][1]
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------- commands

def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_generate_from_the_sample_roster(capsys, tmp_path):
    out_dir = tmp_path / "输出"
    code, out, err = run(capsys, "generate", "--roster", SAMPLE, "--year", YEAR, "-o", out_dir)
    units = read_roster(SAMPLE, SPEC).units
    assert code == 0 and err.startswith("未使用签名密钥") and err.count("\n") == 1     # only: no key, not signed
    assert out.strip() == f"已生成 12 个工作簿到 {out_dir}；跳过 0 行"
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(safe_file_name(u.code, u.name) for u in units)
    slash = next(u for u in units if "/" in u.name)
    path = out_dir / safe_file_name(slash.code, slash.name)
    assert "/" not in path.name and path.exists()
    ws = openpyxl.load_workbook(path)["单位信息"]
    assert [ws[ref].value for ref in INFO_CELLS.values()] == [slash.name, slash.code, slash.level, slash.region]

    code, out, _ = run(capsys, "generate", "--roster", SAMPLE, "--year", YEAR, "-o", out_dir)
    assert code == 0 and "其中 12 个替换了同名的旧文件" in out
    assert len(list(out_dir.iterdir())) == 12


def test_an_invalid_roster_writes_nothing_and_lists_every_problem(capsys, tmp_path):
    out_dir = tmp_path / "输出"
    code, out, err = run(capsys, "generate", "--roster", SAMPLE_BAD, "--year", YEAR, "-o", out_dir)
    assert code == 2 and out == ""
    assert not out_dir.exists() or not any(out_dir.iterdir())
    for problem in read_roster(SAMPLE_BAD, SPEC).problems:
        assert str(problem) in err
    for row in (3, 4, 5, 6, 7, 8):
        assert f"第 {row} 行" in err
    assert "--skip-invalid" in err and "未生成任何工作簿" in err


def test_skip_invalid_writes_the_valid_ones_and_lists_the_rest(capsys, tmp_path):
    out_dir = tmp_path / "输出"
    code, out, err = run(capsys, "generate", "--roster", SAMPLE_BAD, "--year", YEAR, "-o", out_dir, "--skip-invalid")
    roster = read_roster(SAMPLE_BAD, SPEC)
    assert code == 0
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(safe_file_name(u.code, u.name) for u in roster.units)
    assert out.strip() == f"已生成 {len(roster.units)} 个工作簿到 {out_dir}；跳过 {len(roster.bad_rows)} 行"
    assert all(str(p) in err for p in roster.problems)


def test_skip_invalid_with_no_valid_row_exits_2(capsys, tmp_path):
    roster = tmp_path / "名单.csv"
    roster.write_text("单位名称,统一社会信用代码,单位层级,所属地区\n,123,省级,\n", encoding="utf-8")
    code, out, err = run(capsys, "generate", "--roster", roster, "--year", YEAR, "-o", tmp_path / "o",
                         "--skip-invalid")
    assert code == 2 and "未生成任何工作簿" in err


def test_generate_from_xlsx_with_a_missing_column(capsys, tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(["单位名称", "信用代码", "单位层级", "所属地区"])
    wb.save(tmp_path / "名单.xlsx")
    code, _, err = run(capsys, "generate", "--roster", tmp_path / "名单.xlsx", "--year", YEAR, "-o", tmp_path / "o")
    assert code == 2 and "缺少「统一社会信用代码」列" in err and "「信用代码」" in err


@pytest.mark.parametrize("argv, fragment", [
    (["--year", "1999"], "1999"),
    (["--year", "2023", "--preset", "nope"], "未知的系数预设「nope」"),
])
def test_generate_rejects_unknown_year_or_preset(capsys, tmp_path, argv, fragment):
    code, _, err = run(capsys, "generate", "--roster", SAMPLE, *argv, "-o", tmp_path / "o")
    assert code == 2 and fragment in err and not (tmp_path / "o").exists()


def test_template_command(capsys, tmp_path):
    target = tmp_path / "模板.xlsx"
    code, out, _ = run(capsys, "template", "--year", YEAR, "-o", target)
    assert code == 0 and str(target) in out and "xj-2023" in out
    assert all_cells(target.read_bytes()) == all_cells(generator.template_bytes(SPEC, YEAR, PRESET))
    assert leftovers(tmp_path) == []
    code, _, err = run(capsys, "template", "--year", YEAR, "-o", tmp_path / "模板.xls")
    assert code == 2 and ".xlsx" in err


def test_progress_bar_only_for_long_runs_or_terminals():
    quiet, log = io.StringIO(), io.StringIO()
    short, long = Progress(50, stream=quiet), Progress(5000, "生成 ", stream=log)
    for i in range(1, 51):
        short(i)
    for i in range(1, 5001):
        long(i)
    assert quiet.getvalue() == ""
    lines = log.getvalue().splitlines()
    assert lines[-1] == "生成 5000/5000（100%）" and len(lines) == 11
