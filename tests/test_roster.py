"""The roster (名单) for `jieyue generate`: .xlsx and .csv in the encodings Chinese Excel writes, every
problem listed with the row number the user sees, and file names that are safe on Windows."""
from __future__ import annotations

import csv
import io
from importlib import resources
from pathlib import Path

import openpyxl
import pytest
from stdnum.cn.uscc import calc_check_digit

from generator.roster import (MAX_FILE_NAME, MAX_FILE_NAME_BYTES, RosterError, read_roster, safe_file_name)
from workbook_templates import load_spec

SPEC = load_spec()
HEADER = ["单位名称", "统一社会信用代码", "单位层级", "所属地区"]


def code(n: int, region: str = "652300") -> str:
    base = f"11{region}{n:09d}"
    return base + calc_check_digit(base)


def bad_checksum(n: int) -> str:
    good = code(n)
    return good[:-1] + ("1" if good[-1] != "1" else "2")


GOOD = [
    ["天池县人民法院", code(1), "县市区级", "昌吉回族自治州"],
    ["哈密市机关事务管理局", code(2, "650500"), "地州市级", "哈密市"],
    ["自治区机关事务服务中心", code(3, "650000"), "自治区本级", "乌鲁木齐市"],
]


def write_csv(path: Path, rows, encoding: str = "utf-8-sig") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, rows) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    wb.create_sheet("其他")["A1"] = "不读取"
    wb.save(path)
    return path


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030"])
def test_csv_in_every_encoding_excel_writes(tmp_path, encoding):
    path = write_csv(tmp_path / "名单.csv", [HEADER, *GOOD], encoding)
    roster = read_roster(path, SPEC)
    assert roster.ok, roster.problems
    assert [(u.name, u.code, u.level, u.region, u.row) for u in roster.units] == [
        (*r, i) for i, r in enumerate(GOOD, start=2)]


def test_gb18030_roster_is_really_not_utf8(tmp_path):
    path = write_csv(tmp_path / "名单.csv", [HEADER, *GOOD], "gb18030")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    assert read_roster(path, SPEC).units[0].name == "天池县人民法院"


def test_xlsx_first_sheet_columns_in_any_order_extra_columns_ignored(tmp_path):
    order = [3, 0, 2, 1]
    rows = [["序号"] + [HEADER[i] for i in order] + ["备注"]]
    rows += [[n] + [r[i] for i in order] + ["随便写"] for n, r in enumerate(GOOD, start=1)]
    roster = read_roster(write_xlsx(tmp_path / "名单.xlsx", rows), SPEC)
    assert roster.ok, roster.problems
    assert [u.unit_info() for u in roster.units] == [
        {"unit_name": r[0], "unit_code": r[1], "unit_level": r[2], "unit_region": r[3]} for r in GOOD]


def test_level_by_key_or_label_is_stored_as_label(tmp_path):
    rows = [HEADER, [GOOD[0][0], GOOD[0][1], "county", GOOD[0][3]], [GOOD[1][0], GOOD[1][1], "prefecture", "哈密市"],
            [GOOD[2][0], GOOD[2][1], "region", "乌鲁木齐市"]]
    roster = read_roster(write_csv(tmp_path / "名单.csv", rows), SPEC)
    assert [u.level for u in roster.units] == ["县市区级", "地州市级", "自治区本级"]


def test_codes_are_normalised(tmp_path):
    c = GOOD[0][1]
    typed = " " + "".join(chr(ord(ch) + 0xFEE0) if ch.isalnum() else ch for ch in c[:9]).lower() + "-" + c[9:].lower()
    rows = [HEADER, [" 天池县\n人民法院 ", typed, " 县市区级 ", "昌吉回族自治州"]]
    roster = read_roster(write_csv(tmp_path / "名单.csv", rows), SPEC)
    assert roster.ok, roster.problems
    assert roster.units[0].code == c
    assert roster.units[0].name == "天池县 人民法院"       # an Alt+Enter line break becomes a space


def test_every_problem_is_listed_with_its_row(tmp_path):
    rows = [HEADER,
            GOOD[0],                                                      # 2 ok
            ["错误校验位", bad_checksum(10), "县市区级", "哈密市"],          # 3
            [GOOD[1][0], GOOD[1][1], "地州市级", "哈密市"],                 # 4 duplicate of 6
            ["省级单位", code(11), "省级", "哈密市"],                       # 5
            ["重复", GOOD[1][1], "地州市级", "哈密市"],                     # 6 duplicate of 4
            ["", code(12), "县市区级", "哈密市"],                           # 7
            ["", "", "", ""],                                            # 8 blank: not a unit
            ["全都错", "123", "", ""],                                     # 9 three problems
            GOOD[2]]                                                     # 10 ok
    roster = read_roster(write_csv(tmp_path / "名单.csv", rows), SPEC)
    got = [(p.row, p.column) for p in roster.problems]
    assert got == [(3, "统一社会信用代码"), (4, "统一社会信用代码"), (5, "单位层级"), (6, "统一社会信用代码"),
                   (7, "单位名称"), (9, "统一社会信用代码"), (9, "单位层级"), (9, "所属地区")]
    by_row = {p.row: p for p in roster.problems}
    assert "校验位不正确" in by_row[3].message
    assert "第 4、6 行" in by_row[4].message and "第 4、6 行" in by_row[6].message
    assert "「省级」" in by_row[5].message and "县市区级、地州市级、自治区本级" in by_row[5].message
    assert "单位名称未填写" in by_row[7].message
    assert [u.row for u in roster.units] == [2, 10]
    assert roster.bad_rows == [3, 4, 5, 6, 7, 9]
    assert str(by_row[7]) == "第 7 行，单位名称：单位名称未填写：请填写单位全称"


def test_missing_header_column_names_it_and_the_columns_found(tmp_path):
    rows = [["单位名称", "代码", "单位层级", "地区"], GOOD[0]]
    roster = read_roster(write_xlsx(tmp_path / "名单.xlsx", rows), SPEC)
    assert not roster.units
    assert [(p.row, p.column) for p in roster.problems] == [(1, "统一社会信用代码"), (1, "所属地区")]
    message = roster.problems[0].message
    assert "「统一社会信用代码」" in message and "「代码」" in message and "「地区」" in message


def test_code_stored_as_a_number_in_excel_is_a_problem(tmp_path):
    rows = [HEADER, ["数字代码", 116523270000000001, "县市区级", "哈密市"],
            ["科学计数法", "1.16523E+17", "县市区级", "哈密市"]]
    roster = read_roster(write_xlsx(tmp_path / "名单.xlsx", rows), SPEC)
    assert [p.row for p in roster.problems] == [2, 3]
    assert all("文本" in p.message for p in roster.problems)


def test_empty_roster_and_unknown_format(tmp_path):
    roster = read_roster(write_csv(tmp_path / "名单.csv", [HEADER]), SPEC)
    assert not roster.units and "没有任何单位" in roster.problems[0].message
    (tmp_path / "名单.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(RosterError, match="另存为 .xlsx 或 CSV"):
        read_roster(tmp_path / "名单.xls", SPEC)
    with pytest.raises(RosterError, match="找不到"):
        read_roster(tmp_path / "没有.csv", SPEC)
    (tmp_path / "坏.xlsx").write_bytes(b"not a zip")
    with pytest.raises(RosterError, match="无法打开"):
        read_roster(tmp_path / "坏.xlsx", SPEC)


def test_shipped_sample_rosters():
    folder = resources.files("addin").joinpath("sample_data")
    good = read_roster(Path(str(folder.joinpath("名单.csv"))), SPEC)
    assert good.ok and len(good.units) == 12
    assert {u.level for u in good.units} == {"县市区级", "地州市级", "自治区本级"}
    assert len({u.region for u in good.units}) >= 4
    assert folder.joinpath("名单.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    bad = read_roster(Path(str(folder.joinpath("名单_有错误.csv"))), SPEC)
    messages = " ".join(p.message for p in bad.problems)
    for fragment in ("校验位不正确", "重复出现", "无法识别", "单位名称未填写"):
        assert fragment in messages
    assert bad.units          # some rows are valid, for --skip-invalid


# ---------------------------------------------------------------- file names

@pytest.mark.parametrize("name, expected", [
    ("天池县人民法院", "C_天池县人民法院.xlsx"),
    ('发改委/粮食局<临时>:"办公室"|?*', "C_发改委_粮食局_临时___办公室____.xlsx"),
    ("名称末尾有点...  ", "C_名称末尾有点.xlsx"),
    ("tab\tand\x01control", "C_tab and control.xlsx"),      # control characters are whitespace
])
def test_safe_file_name(name, expected):
    c = code(1)
    assert safe_file_name(c, name) == expected.replace("C", c, 1)


@pytest.mark.parametrize("stem", ["CON", "con", "NUL", "COM1", "LPT9", "aux"])
def test_reserved_device_names_are_never_produced(stem):
    assert safe_file_name("", stem) == f"_{stem}.xlsx"
    assert safe_file_name("", stem + ".txt").startswith("_")
    assert safe_file_name(code(1), stem).startswith(code(1))


def test_long_names_are_cut_to_the_limits():
    for ch in ("很", "a"):
        name = safe_file_name(code(1), ch * 400)
        assert name.endswith(".xlsx") and name.startswith(code(1) + "_" + ch)
        assert len(name) <= MAX_FILE_NAME and len(name.encode("utf-8")) <= MAX_FILE_NAME_BYTES
    assert len(safe_file_name(code(1), "a" * 400)) == MAX_FILE_NAME
    cut = safe_file_name(code(1), "a" * 120 + "." * 40)          # a cut never leaves a trailing dot
    assert not cut[:-5].endswith(".")


def test_file_names_of_distinct_codes_never_collide():
    names = {safe_file_name(code(i), "同名单位" * 60) for i in range(50)}
    assert len(names) == 50
