"""Reading and validating a roster of units (名单) for `jieyue generate`.

A roster is the first sheet of an .xlsx file or a .csv file (UTF-8 with or without BOM, or GB18030 as Chinese
Excel saves it) whose first row names the columns 单位名称, 统一社会信用代码, 单位层级, 所属地区 in any order;
other columns are ignored. Every row is checked and every problem is collected — the user fixes the whole
roster in one pass instead of one error per run. Row numbers are those the user sees in Excel (header = row 1).
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from workbook_templates import Spec
from workbook_templates.contract import UNIT_NAMES
from workbook_templates.errors import RosterError

import udfs
from udfs.levels import find_level

COLUMNS = {"name": "单位名称", "code": "统一社会信用代码", "level": "单位层级", "region": "所属地区"}
"""Roster field → header label (required columns)."""

OPTIONAL = {"cohort": "类型", "named_year": "命名年度"}
"""Optional roster columns: 类型 (复验 | 创建; blank: 复验) and 命名年度 (the year the unit was named, e.g. 2020)."""

COHORTS = ("复验", "创建")
"""The roster's 类型: a named unit re-verified (复验, the default: it faces the 5 % 摘牌) or a unit being created
(创建: judged against the pass line, never ranked for 摘牌) — `udfs.results.COHORTS`."""


@dataclass(frozen=True)
class RosterUnit:
    name: str
    code: str          # normalised: 18 upper-case characters
    level: str         # the label: 县市区级 / 地州市级 / 自治区本级
    region: str
    row: int           # as the user sees it (header = row 1)
    cohort: str = COHORTS[0]       # 类型: 复验 | 创建
    named_year: int | None = None  # 命名年度, when given

    def unit_info(self) -> dict[str, str]:
        """The 单位信息 cells by contract name (`UNIT_NAMES`: name, code, level, region)."""
        return dict(zip(UNIT_NAMES, (self.name, self.code, self.level, self.region)))


@dataclass(frozen=True)
class Problem:
    row: int
    column: str        # a header label, or "" for the whole row
    message: str       # Chinese: what is wrong and what to do

    def __str__(self) -> str:
        where = f"第 {self.row} 行" + ("（表头）" if self.row == 1 else "")
        return f"{where}，{self.column}：{self.message}" if self.column else f"{where}：{self.message}"


@dataclass
class Roster:
    source: str
    units: list[RosterUnit] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def bad_rows(self) -> list[int]:
        """Rows with at least one problem (the header counts as row 1)."""
        return sorted({p.row for p in self.problems})


# ---------------------------------------------------------------- reading

def read_roster(path: str | Path, spec: Spec) -> Roster:
    """Read and validate a roster file (.xlsx or .csv) against the levels of `spec`."""
    path = Path(path)
    if not path.is_file():
        raise RosterError(f"找不到名单文件「{path}」：请检查路径")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        rows = _xlsx_rows(path)
    elif suffix in (".csv", ".txt"):
        rows = _csv_rows(path.read_bytes(), path)
    elif suffix in (".xls", ".et", ".wps", ".ods"):
        raise RosterError(f"名单「{path.name}」是 {suffix} 格式：请在 Excel 或 WPS 中另存为 .xlsx 或 CSV 后再试")
    else:
        raise RosterError(f"名单「{path.name}」的格式无法识别：请使用 .xlsx 或 .csv 文件")
    return validate_rows(rows, spec, source=str(path))


def _xlsx_rows(path: Path) -> Iterator[tuple[int, Sequence[Any]]]:
    import zipfile

    import openpyxl
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as e:
        raise RosterError(f"无法打开名单「{path.name}」（{e}）：请确认它是 Excel 工作簿（.xlsx），"
                          "且没有加密") from e
    try:
        ws = wb.worksheets[0]
        for r, values in enumerate(ws.iter_rows(values_only=True), start=1):
            yield r, values
    finally:
        wb.close()


def decode_csv(data: bytes, name: str = "名单") -> str:
    """CSV bytes as text: UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030 (Chinese Excel's CSV)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as e:
        raise RosterError(f"无法识别名单「{name}」的文字编码：请在 Excel 中另存为「CSV UTF-8（逗号分隔）」") from e


def _csv_rows(data: bytes, path: Path) -> Iterator[tuple[int, Sequence[Any]]]:
    text = decode_csv(data, path.name)
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    # One record is one row in Excel, even when a quoted cell spans lines.
    for r, values in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1):
        yield r, values


# ---------------------------------------------------------------- validation

_WHITESPACE = re.compile(r"\s+")
_SCIENTIFIC = re.compile(r"^\d+(\.\d+)?[eE]\+\d+$")       # how Excel shows a long number: 9.1365E+17


def _text(value: Any) -> str:
    """A cell as clean text: NFC, control characters dropped, runs of whitespace (Alt+Enter too) → one space."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value))
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)
    return _WHITESPACE.sub(" ", text).strip()


def _header_key(value: Any) -> str:
    return re.sub(r"[\s*＊]", "", unicodedata.normalize("NFKC", _text(value)))


def validate_rows(rows: Iterable[tuple[int, Sequence[Any]]], spec: Spec, source: str = "名单") -> Roster:
    """Validate (row number, cell values) pairs whose first pair is the header, against the levels of `spec`."""
    roster = Roster(source=source)
    rows = iter(rows)
    header_row = next(rows, None)
    if header_row is None:
        roster.problems.append(Problem(1, "", "名单是空的：第 1 行应为表头 " + "、".join(COLUMNS.values())))
        return roster
    header_at, header = header_row
    found = [_header_key(h) for h in header]
    index: dict[str, int] = {}
    for field_, label in (*COLUMNS.items(), *OPTIONAL.items()):
        if label in found:
            index[field_] = found.index(label)
    shown = "、".join(f"「{h}」" for h in found if h) or "（无）"
    for field_, label in COLUMNS.items():
        if field_ not in index:
            roster.problems.append(Problem(header_at, label, f"表头缺少「{label}」列：第 1 行现有的列为 {shown}；"
                                           f"请在第 1 行加上「{label}」列（列名须完全一致，顺序不限）"))
    if roster.problems:
        return roster

    levels = "、".join(lv.label for lv in spec.assessment.levels.values())
    candidates: list[tuple[int, dict[str, str]]] = []
    by_code: dict[str, list[int]] = {}
    for r, values in rows:
        raw = {f: (values[i] if i < len(values) else None) for f, i in index.items()}
        cells = {f: _text(v) for f, v in raw.items()}
        if not any(cells.get(f) for f in COLUMNS):
            continue                                       # blank lines are not units
        problems: list[Problem] = []
        if not cells["name"]:
            problems.append(Problem(r, COLUMNS["name"], "单位名称未填写：请填写单位全称"))

        code = None
        if isinstance(raw["code"], (int, float)) and not isinstance(raw["code"], bool):
            problems.append(Problem(r, COLUMNS["code"], f"统一社会信用代码「{raw['code']}」被 Excel 存成了数字，"
                                    "末几位可能已丢失：请把这一列设为「文本」格式后重新输入代码"))
        elif _SCIENTIFIC.match(cells["code"]):
            problems.append(Problem(r, COLUMNS["code"], f"统一社会信用代码显示为科学计数法「{cells['code']}」，"
                                    "末几位已丢失：请在 Excel 中把这一列设为「文本」格式后重新输入代码"))
        else:
            message = udfs.check_unit_code(cells["code"])
            if message:
                problems.append(Problem(r, COLUMNS["code"], message))
            else:
                code = udfs.normalize_unit_code(cells["code"])
                by_code.setdefault(code, []).append(r)

        level = None
        if not cells["level"]:
            problems.append(Problem(r, COLUMNS["level"], f"单位层级未填写：请填写 {levels} 之一"))
        elif (found_level := find_level(cells["level"], spec)) is not None:
            level = found_level.label
        else:
            problems.append(Problem(r, COLUMNS["level"], f"单位层级「{cells['level']}」无法识别：请填写 {levels} 之一"))

        if not cells["region"]:
            problems.append(Problem(r, COLUMNS["region"], "所属地区未填写：请填写地州市名称，如 昌吉回族自治州"
                                    "（自治区本级单位填 乌鲁木齐市）；生成的工作簿中此格锁定，单位无法自行补填"))
        cohort, named_year = _cohort(cells.get("cohort", ""), r, problems), _named_year(raw.get("named_year"), r, problems)
        roster.problems.extend(problems)
        if not problems:
            candidates.append((r, {"name": cells["name"], "code": code, "level": level, "region": cells["region"],
                                   "cohort": cohort, "named_year": named_year}))

    # Every row of a repeated code is a problem: which of them is right is for a person to decide.
    repeated = {r: rs for rs in by_code.values() if len(rs) > 1 for r in rs}
    for code, rs in by_code.items():
        if len(rs) > 1:
            rows_text = "、".join(map(str, rs))
            for r in rs:
                roster.problems.append(Problem(r, COLUMNS["code"], f"统一社会信用代码 {code} 在第 {rows_text} 行重复出现：每个单位只能出现一次，请删除重复的行或核对代码"))
    order = [*COLUMNS.values(), *OPTIONAL.values()]
    roster.problems.sort(key=lambda p: (p.row, order.index(p.column) if p.column in order else -1))
    roster.units = [RosterUnit(row=r, **c) for r, c in candidates if r not in repeated]
    if not roster.units and not roster.problems:
        roster.problems.append(Problem(header_at, "", "名单中没有任何单位：请从第 2 行起每行填写一个单位"))
    return roster


def _cohort(text: str, r: int, problems: list[Problem]) -> str:
    """类型: 复验 or 创建 (blank: 复验; 「复验单位」「创建单位」 read as such)."""
    t = unicodedata.normalize("NFKC", text).removesuffix("单位")
    if not t:
        return COHORTS[0]
    if t in COHORTS:
        return t
    problems.append(Problem(r, OPTIONAL["cohort"], f"类型「{text}」无法识别：请填写 {' 或 '.join(COHORTS)}"
                            f"（已命名、本次复验的单位填 复验，正在创建的单位填 创建；不填按 复验）"))
    return COHORTS[0]


def _named_year(value: Any, r: int, problems: list[Problem]) -> int | None:
    """命名年度: a four-digit year (a number or text such as 2020 / 2020年), or blank."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = unicodedata.normalize("NFKC", str(value)).strip().removesuffix("年")
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    if text.isdigit() and len(text) == 4 and 2000 <= int(text) <= 2100:
        return int(text)
    problems.append(Problem(r, OPTIONAL["named_year"], f"命名年度「{value}」不是四位年份：请填写如 2020，或留空"))
    return None


# ---------------------------------------------------------------- file names

_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
MAX_FILE_NAME = 150
"""Characters in a whole file name, so that paths stay well below Windows' 260-character limit."""
MAX_FILE_NAME_BYTES = 240
"""UTF-8 bytes: Linux and macOS allow 255 per name, and one Chinese character is 3 bytes."""


def safe_file_name(code: str, name: str, suffix: str = ".xlsx") -> str:
    """`<code>_<name>.xlsx`, safe on Windows, macOS and Linux.

    Characters Windows forbids (`<>:"/\\|?*`, control characters) become `_`; trailing dots and spaces are
    dropped; a reserved device name (CON, NUL, COM1 …) gets a leading `_`; the name is shortened so that the
    whole file name has at most 150 characters and 240 UTF-8 bytes.
    """
    code = _FORBIDDEN.sub("_", _text(code))
    name = _FORBIDDEN.sub("_", _text(name))
    stem = f"{code}_{name}" if code and name else (code or name or "未命名")
    room = MAX_FILE_NAME - len(suffix)
    while len(stem) > room or len((stem + suffix).encode("utf-8")) > MAX_FILE_NAME_BYTES:
        stem = stem[:-1]
    stem = stem.rstrip(". ").lstrip(" ") or "未命名"
    if stem.split(".", 1)[0].rstrip(" ").upper() in _RESERVED:
        stem = "_" + stem
    return stem + suffix
