"""`jieyue consolidate` end to end, on one folder of returned workbooks built here (issue 4, sections 2 and 4).

The folder holds good returns from the sample roster (two of them recalculated and saved by LibreOffice, so
they carry cached values; one in a very long non-ASCII path) and one file for every kind of bad input. The
CLI runs once over it; then for every file: the run completed, the file is listed in the JSON `files` with the
expected status, its expected code is among its findings in the JSON and in the summary's 问题清单 (a skipped
file in 文件清单 with its reason), and seen = consolidated + rejected + skipped holds in the JSON and in the
printed line, with seen = the files on disk.

Then: the roster (未报送, 名单外), duplicates, determinism (a --no-ledger run gives byte-identical outputs),
the ledger (only changed or new files are read again, a deleted file is reported, the summary is the same as a
fresh run's), atomic outputs (a failed write leaves the previous summary), and the CLI's exit codes.

The LibreOffice-saved files (and the real .xls) are built by one `lo_saved` fixture, requested only when
soffice is installed: without it the folder simply lacks them, their cases are skipped (marked `libreoffice`)
and everything else runs.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import random
import re
import shutil
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import udfs
from addin import cli
from addin.consolidate import consolidate, ledger_path, read_roster_entries
from addin.consolidate import workers as workers_module
from addin.consolidate.content import BLOCKED, VALID, content
from addin.consolidate.ledger import FORMAT as LEDGER_FORMAT
from addin.consolidate.model import CONSOLIDATED, REJECTED, SKIPPED, StoredFigures
from addin.consolidate.packed import pack
from addin.consolidate.report_json import dumps
from addin.consolidate.review_content import indicator_averages
from addin.consolidate.rules import DUPLICATE_RULE
from addin.consolidate.summary import PER_RUN
from addin.consolidate.unit_indicators import counted_rows, self_counted
from addin.consolidate.walk import skip_reason
from addin.demo import plausible_inputs
from generator import fill_workbook
from generator.ooxml import TEMP_PREFIX
from generator.personalise import Personaliser
from generator.roster import RosterUnit, read_roster, safe_file_name
from workbook_templates import InputError, load_spec

from tests import libreoffice
from tests.returns import (convert, drop_defined_name, edit_factor, encrypted_workbook,
                           overwrite_formula, replace_cell, set_text, unit_code, with_entity_expansion, with_macros, zip_bomb)

SPEC = load_spec()
YEAR, PRESET = SPEC.default_year, SPEC.default_preset

with resources.as_file(resources.files("addin").joinpath("sample_data", "名单.csv")) as _p:
    SAMPLE_ROSTER_TEXT = _p.read_text("utf-8-sig")
    UNITS = read_roster(_p, SPEC).units
assert len(UNITS) == 12

# Two more roster units that never return a workbook (the sample roster's twelve all do here).
EXTRA = [RosterUnit("天池县审计局", unit_code("11652327MB0000010"), "县市区级", "昌吉回族自治州", 14),
         RosterUnit("哈密市统计局", unit_code("11650500MB0000020"), "地州市级", "哈密市", 15)]
OUTSIDE = RosterUnit("名单外测试单位（未列入本次复验）", unit_code("12659001MB0000031"), "县市区级", "阿勒泰地区", 0)
NEW_UNIT = EXTRA[0]          # the ledger test adds its return

LONG_DIR = ("回收的工作簿（2023年度节约型机关复验，各地州市机关事务管理局汇总转交）/"
            "昌吉回族自治州各县市区机关事务管理局报送材料汇总（含补报、更正与重新盖章的版本）/"
            "第二批次 邮件附件与U盘拷贝 整理后（请勿删除、请勿改名，核对后统一归档）/"
            "县市区级单位（按地区分类）/2023年8月10日前收到的第一次报送文件（经电话核实单位名称与统一社会信用代码无误）")
PROBLEMS = "问题文件"


@dataclass(frozen=True)
class Case:
    label: str
    path: str                   # relative to the returns folder
    status: str                 # consolidated | rejected | skipped
    codes: tuple[str, ...]      # finding codes the file must have
    lo: bool = False            # needs LibreOffice to build
    unit: RosterUnit | None = None
    blocking: bool = False      # a consolidated file with a 错误: listed, not ranked


def _good_path(u: RosterUnit) -> str:
    return f"{u.region}/{safe_file_name(u.code, u.name)}"


GOOD = [Case(f"good_{i + 1}", _good_path(u), CONSOLIDATED, ("D501",) if i == 0 else (), lo=i >= 4, unit=u)
        for i, u in enumerate(UNITS[:6])]
GOOD[3] = Case("good_4_long_path", f"{LONG_DIR}/{safe_file_name(UNITS[3].code, UNITS[3].name)}", CONSOLIDATED, (),
               unit=UNITS[3])
DUPLICATE = Case("duplicate", f"{UNITS[0].region}/{safe_file_name(UNITS[0].code, UNITS[0].name)[:-5]}（第一次报送）.xlsx",
                 CONSOLIDATED, ("D501",), unit=UNITS[0])

BAD = [
    Case("zero_byte", f"{PROBLEMS}/空文件.xlsx", REJECTED, ("F101",)),
    Case("random_bytes", f"{PROBLEMS}/随机字节.xlsx", REJECTED, ("F102",)),
    Case("real_xls", f"{PROBLEMS}/旧版格式（Excel 97-2003）.xls", REJECTED, ("F103",), lo=True),
    Case("encrypted", f"{PROBLEMS}/设置了打开密码.xlsx", REJECTED, ("F104",)),
    Case("xlsm_renamed", f"{PROBLEMS}/启用宏的工作簿（改了扩展名）.xlsx", REJECTED, ("F107",)),
    Case("zip_bomb", f"{PROBLEMS}/压缩炸弹.xlsx", REJECTED, ("F106",)),
    Case("entity_expansion", f"{PROBLEMS}/实体扩展.xlsx", REJECTED, ("F108",)),
    Case("missing_defined_name", f"{PROBLEMS}/缺少名称.xlsx", CONSOLIDATED, ("E208",), unit=UNITS[11], blocking=True),
    Case("unknown_version", f"{PROBLEMS}/旧版模板.xlsx", REJECTED, ("F110",)),
    Case("formula_overwritten", f"{PROBLEMS}/公式被改写（LibreOffice 保存）.xlsx", CONSOLIDATED, ("W301",), lo=True,
         unit=UNITS[6]),
    Case("edited_factor", f"{PROBLEMS}/改了参数表系数.xlsx", CONSOLIDATED, ("W303",), unit=UNITS[7]),
    Case("text_and_full_width_digits", f"{PROBLEMS}/文本数字.xlsx", CONSOLIDATED, ("E201", "I210"), unit=UNITS[8],
         blocking=True),
    Case("negative", f"{PROBLEMS}/负数.xlsx", CONSOLIDATED, ("E203",), unit=UNITS[9], blocking=True),
    Case("sub_row_above_parent", f"{PROBLEMS}/其中项大于上级.xlsx", CONSOLIDATED, ("E204",), unit=UNITS[10],
         blocking=True),
    DUPLICATE,
    Case("outside_roster", f"{PROBLEMS}/名单外单位.xlsx", CONSOLIDATED, ("D502",), unit=OUTSIDE),
    Case("lock_file", f"{UNITS[0].region}/~$x.xlsx", SKIPPED, ()),
    Case("ds_store", f"{UNITS[0].region}/.DS_Store", SKIPPED, ()),
    Case("csv_renamed", f"{PROBLEMS}/从系统导出的表格.xlsx", REJECTED, ("F102",)),
]
ALL = GOOD + BAD


def _param(case: Case):
    return pytest.param(case, id=case.label, marks=[pytest.mark.libreoffice] if case.lo else [])


# ---------------------------------------------------------------- building the folder

@pytest.fixture(scope="module")
def personaliser() -> Personaliser:
    return Personaliser(SPEC, YEAR, PRESET)


def filled(personaliser: Personaliser, unit: RosterUnit, seed: str | None = None, **changes: Any) -> bytes:
    """The unit's personalised workbook filled with plausible inputs (as a unit returns it, via openpyxl)."""
    return fill_workbook(personaliser.workbook(unit), {**plausible_inputs(seed or unit.code, SPEC), **changes})


@pytest.fixture(scope="module")
def lo_saved(personaliser, tmp_path_factory) -> dict[str, Path]:
    """Label → a file saved by LibreOffice: good_5, good_6 and the base of formula_overwritten recalculated
    (one `libreoffice.recalculate` call), and real_xls converted to .xls (the other soffice call, alongside)."""
    staging = tmp_path_factory.mktemp("lo-staging")
    sources = {"good_5": UNITS[4], "good_6": UNITS[5], "formula_overwritten": UNITS[6]}
    files = []
    for label, unit in sources.items():
        files.append(staging / f"{label}.xlsx")
        files[-1].write_bytes(filled(personaliser, unit))
    xls_source = staging / "xls" / "real_xls.xlsx"
    xls_source.parent.mkdir()
    xls_source.write_bytes(filled(personaliser, UNITS[2]))
    xls: list[Path] = []
    thread = threading.Thread(target=lambda: xls.extend(convert([xls_source], staging / "xls-out", "xls")))
    thread.start()
    try:
        saved = libreoffice.recalculate(files, tmp_path_factory.mktemp("lo-saved"))
    finally:
        thread.join()
    assert len(xls) == 1, "LibreOffice did not convert to .xls"
    return {**dict(zip(sources, saved)), "real_xls": xls[0]}


def _bytes_for(case: Case, personaliser: Personaliser, lo: dict[str, Path]) -> bytes:
    label, u = case.label, case.unit
    if label.startswith("good_"):
        return lo[label].read_bytes() if case.lo else filled(personaliser, u)
    other = UNITS[2]                 # the unit inside rejected jieyue workbooks (never counted)
    makers = {
        "zero_byte": lambda: b"",
        "random_bytes": lambda: random.Random(4).randbytes(3000),
        "real_xls": lambda: lo["real_xls"].read_bytes(),
        "encrypted": encrypted_workbook,
        "xlsm_renamed": lambda: with_macros(filled(personaliser, other)),
        "zip_bomb": lambda: zip_bomb(filled(personaliser, other), 300),
        "entity_expansion": lambda: with_entity_expansion(filled(personaliser, other)),
        "missing_defined_name": lambda: drop_defined_name(filled(personaliser, u), "cur_water_m3"),
        "unknown_version": lambda: set_text(filled(personaliser, other), "template_version", "0.9"),
        "formula_overwritten": lambda: overwrite_formula(lo[label].read_bytes(), "cur_total_kgce", 12345),
        "edited_factor": lambda: edit_factor(filled(personaliser, u), "electricity", 0.5),
        "text_and_full_width_digits": lambda: filled(personaliser, u, prev_electricity_kwh="2000万",
                                                     cur_water_m3="１２３４"),
        "negative": lambda: filled(personaliser, u, prev_water_m3=-120),
        "sub_row_above_parent": lambda: filled(personaliser, u, cur_area_m2=8000, cur_heated_area_m2=9500),
        "duplicate": lambda: filled(personaliser, u, seed=u.code + "第一次报送"),
        "outside_roster": lambda: filled(personaliser, u),
        "lock_file": lambda: b"\x08" + "Administrator".encode("utf-16-le").ljust(160, b"\x00"),
        "ds_store": lambda: b"\x00\x00\x00\x01Bud1" + bytes(100),
        "csv_renamed": lambda: "\ufeff单位名称,统一社会信用代码,用电量\n示例局,11650000676599511L,2000万\n".encode("utf-8"),
    }
    return makers[label]()


@pytest.fixture(scope="module")
def returns(personaliser, tmp_path_factory, request) -> SimpleNamespace:
    """The returns folder (every case present: the LibreOffice ones only when soffice is installed) and the
    roster CSV (the sample roster plus EXTRA)."""
    base = tmp_path_factory.mktemp("consolidate")
    folder = base / "回收目录（2023年复验）"
    lo = request.getfixturevalue("lo_saved") if libreoffice.soffice() else {}
    cases = [c for c in ALL if not c.lo or lo]
    for case in cases:
        path = folder / case.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_bytes_for(case, personaliser, lo))
    # Two files for one unit: the rule takes the newer, here the one whose path sorts first.
    now = time.time_ns()
    os.utime(folder / GOOD[0].path, ns=(now, now))
    os.utime(folder / DUPLICATE.path, ns=(now - 3600 * 10**9, now - 3600 * 10**9))
    assert sorted([GOOD[0].path, DUPLICATE.path])[0] == GOOD[0].path

    roster = base / "名单（含未报送单位）.csv"
    extra = "".join(f"{u.row},{u.name},{u.code},{u.level},{u.region},\n" for u in EXTRA)
    roster.write_text(SAMPLE_ROSTER_TEXT.rstrip("\n") + "\n" + extra, encoding="utf-8-sig")
    return SimpleNamespace(folder=folder, roster=roster, cases={c.label: c for c in cases}, lo=bool(lo))


def files_on_disk(folder: Path) -> list[str]:
    return sorted(Path(root, f).relative_to(folder).as_posix() for root, _, files in os.walk(folder) for f in files)


# ---------------------------------------------------------------- running the CLI

LINE = re.compile(r"共 (\d+) 个文件 = 已汇总 (\d+) \+ 已拒收 (\d+) \+ 已跳过 (\d+)")


def run_cli(*argv: str) -> tuple[int, str, str]:
    """`jieyue …` in-process, with its stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(list(map(str, argv)))
    return rc, out.getvalue(), err.getvalue()


def consolidate_args(folder: Path, roster: Path, out: Path, report: Path | None, *extra: str) -> list[str]:
    args = ["consolidate", str(folder), "--roster", str(roster), "-o", str(out)]
    return args + (["--json", str(report)] if report else []) + list(extra)


@pytest.fixture(scope="module")
def result(returns, tmp_path_factory) -> SimpleNamespace:
    """One CLI run over the folder (ledger on): exit code, output, the JSON, the summary read back."""
    out_dir = tmp_path_factory.mktemp("输出")
    summary, report = out_dir / "汇总.xlsx", out_dir / "报告.json"
    started = time.perf_counter()
    rc, stdout, stderr = run_cli(*consolidate_args(returns.folder, returns.roster, summary, report))
    elapsed = time.perf_counter() - started
    data = json.loads(report.read_text("utf-8")) if report.exists() else None
    book = openpyxl.load_workbook(summary, read_only=True) if summary.exists() else None
    sheets = {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in book.worksheets} if book else {}
    if book:
        book.close()
    return SimpleNamespace(rc=rc, stdout=stdout, stderr=stderr, data=data, sheets=sheets, summary=summary,
                           report=report, elapsed=elapsed, **vars(returns))


def evaluated(seed: str) -> dict[str, Any]:
    """What `udfs.evaluate` gives for the plausible inputs of `seed`, with the year and preset the workbooks
    were generated for (each return is recomputed with its own)."""
    return udfs.evaluate(plausible_inputs(seed, SPEC), YEAR, PRESET, spec=SPEC)


def file_entry(result, path: str) -> dict:
    entries = [f for f in result.data["files"] if f["path"] == path]
    assert len(entries) == 1, (path, [f["path"] for f in result.data["files"]])
    return entries[0]


def finding_codes(result, path: str) -> list[str]:
    return [f["code"] for f in result.data["findings"] if f["file"] == path]


def sheet_rows(result, title: str, header_row: int = 0) -> list[dict]:
    rows = result.sheets[title]
    header = rows[header_row]
    return [dict(zip(header, r)) for r in rows[header_row + 1:]]


def summary_units(result) -> list[dict]:
    """The 汇总 sheet's rows, keyed by contract name (row 1, hidden, holds the names; row 2 the labels)."""
    rows = result.sheets["汇总"]
    return [dict(zip(rows[0], r)) for r in rows[2:]]


# ---------------------------------------------------------------- the run and its accounting

def test_the_run_completes_and_accounts_for_every_file(result):
    assert result.rc == 0, result.stderr
    assert result.data is not None and result.sheets, "both outputs written"
    acc = result.data["accounting"]
    on_disk = files_on_disk(result.folder)
    assert acc["seen"] == acc["consolidated"] + acc["rejected"] + acc["skipped"]
    assert acc["seen"] == len(on_disk) == len(result.cases)
    assert [f["path"] for f in result.data["files"]] == on_disk            # every file, sorted by path
    expected = {s: sum(1 for c in result.cases.values() if c.status == s) for s in (CONSOLIDATED, REJECTED, SKIPPED)}
    assert {k: acc[k] for k in expected} == expected

    lines = [ln for ln in result.stdout.splitlines() if LINE.search(ln)]
    assert len(lines) == 1, result.stdout
    seen, consolidated, rejected, skipped = map(int, LINE.search(lines[0]).groups())
    assert seen == consolidated + rejected + skipped
    assert (seen, consolidated, rejected, skipped) == (acc["seen"], acc["consolidated"], acc["rejected"],
                                                       acc["skipped"])
    assert f"未报送 {len(result.data['not_returned'])} 个，名单外 1 个，重复报送 1 个单位" in lines[0]
    assert "删除" not in lines[0]                                           # a first run: nothing disappeared
    assert ledger_path(result.summary).exists()


def test_the_summary_sheet_lists_the_accounting(result):
    notes = [r for r in result.sheets["说明"] if r and r[0] == "文件核算"]
    acc = result.data["accounting"]
    assert len(notes) == 1
    assert re.search(rf"{acc['seen']}\D+{acc['consolidated']}\D+{acc['rejected']}\D+{acc['skipped']}$", notes[0][1])


@pytest.mark.parametrize("case", [_param(c) for c in BAD])
def test_every_bad_file_is_listed_with_its_code(result, case):
    assert case.label in result.cases
    entry = file_entry(result, case.path)
    assert entry["status"] == case.status, (entry, finding_codes(result, case.path))
    codes = finding_codes(result, case.path)
    assert set(case.codes) <= set(codes), codes
    # …and in the summary workbook, read back
    problems = [r for r in sheet_rows(result, "问题清单") if r["文件"] == case.path]
    # One row per code (its count in 处数); the note said once per run (I304) is in 说明, not here.
    grouped = list(dict.fromkeys(c for c in codes if c not in PER_RUN))
    assert [r["代码"] for r in problems] == grouped
    for r in problems:
        assert r["严重程度"] == SPEC.checks[r["代码"]].severity and r["说明"]
        assert r["处数"] == codes.count(r["代码"])
    listed = [r for r in sheet_rows(result, "文件清单") if r["文件"] == case.path]
    assert len(listed) == 1 and listed[0]["状态"] == entry["status_label"]

    if case.status == SKIPPED:
        assert codes == [] and entry["skip_reason"] == skip_reason(Path(case.path)) and listed[0]["跳过原因"]
        assert listed[0]["类型"] == "其他文件"                   # a lock or system file is no 填报工作簿
        assert entry["sha256"] == ""                                       # never opened
    elif case.status == REJECTED:
        assert all(SPEC.checks[c].severity == "错误" for c in codes)
        assert all(u["file"] != case.path for u in result.data["units"])
        assert len(entry["sha256"]) == 64
    else:
        units = [u for u in result.data["units"] if u["file"] == case.path]
        used = case is not DUPLICATE
        assert len(units) == int(used)
        if used:
            unit = units[0]
            assert unit["unit_code"] == case.unit.code and unit["unit_name"] == case.unit.name
            assert unit["blocking"] is case.blocking
            assert unit["state"] == (BLOCKED if case.blocking else VALID)
            assert [r["state"] for r in summary_units(result) if r["file"] == case.path] == [unit["state"]]


def test_error_findings_quote_what_was_typed(result):
    case = result.cases["text_and_full_width_digits"]
    found = {f["code"]: f for f in result.data["findings"] if f["file"] == case.path}
    assert "2000万" in found["E201"]["message"] and found["E201"]["name"] == "prev_electricity_kwh"
    assert found["E201"]["cell"]
    assert "１２３４" in found["I210"]["message"] and "1234" in found["I210"]["message"]
    unit = next(u for u in result.data["units"] if u["file"] == case.path)
    assert unit["inputs"]["prev_electricity_kwh"] is None                  # not counted
    assert unit["inputs"]["cur_water_m3"] == 1234                           # normalised and counted


@pytest.mark.libreoffice
def test_an_overwritten_formula_is_recomputed(result):
    case = result.cases["formula_overwritten"]
    w301 = [f for f in result.data["findings"] if f["file"] == case.path and f["code"] == "W301"]
    assert [f["name"] for f in w301] == ["cur_total_kgce"]
    unit = next(u for u in result.data["units"] if u["file"] == case.path)
    expected = evaluated(case.unit.code)
    assert unit["results"]["cur_total_kgce"] == expected["cur_total_kgce"] != 12345
    assert not {"W302", "I304"} & set(finding_codes(result, case.path))   # the cache is otherwise intact


@pytest.mark.parametrize("case", [_param(c) for c in GOOD])
def test_good_returns_are_consolidated_with_recomputed_figures(result, case):
    assert file_entry(result, case.path)["status"] == CONSOLIDATED
    codes = finding_codes(result, case.path)
    assert set(case.codes) <= set(codes)
    assert not [c for c in codes if SPEC.checks[c].severity == "错误"], codes
    unit = next(u for u in result.data["units"] if u["file"] == case.path)
    assert unit["state"] == VALID and unit["unit_code"] == case.unit.code
    assert unit["unit_region"] == case.unit.region and unit["unit_level"] == case.unit.level
    expected = json.loads(dumps(evaluated(case.unit.code)))
    assert unit["results"] == expected
    if case.lo:   # saved by LibreOffice: cached values present and equal to the recomputation
        assert not {"I304", "W301", "W302", "W303"} & set(codes), codes
    else:         # filled by openpyxl, never recalculated: noted, and recomputed anyway
        assert "I304" in codes


def test_a_long_non_ascii_path(result):
    case = result.cases["good_4_long_path"]
    assert len(case.path) > 200 and not case.path.isascii()
    assert len(str(result.folder / case.path)) > 200
    assert file_entry(result, case.path)["status"] == CONSOLIDATED
    assert [r["file"] for r in summary_units(result) if r["unit_code"] == case.unit.code] == [case.path]


def test_two_files_for_one_unit(result):
    first, second = GOOD[0], DUPLICATE
    assert result.data["duplicates"] == [{"unit_code": first.unit.code, "files": sorted([first.path, second.path]),
                                          "chosen": first.path, "rule": DUPLICATE_RULE, "conflict": ""}]
    for case in (first, second):
        d501 = [f for f in result.data["findings"] if f["file"] == case.path and f["code"] == "D501"]
        assert len(d501) == 1
        other = second if case is first else first
        assert other.path in d501[0]["message"]
    assert file_entry(result, first.path)["used"] is True
    assert file_entry(result, second.path)["used"] is False
    assert [u["file"] for u in result.data["units"] if u["unit_code"] == first.unit.code] == [first.path]
    rows = sheet_rows(result, "重复报送", header_row=2)
    assert sorted((r["文件"], r["是否采用"]) for r in rows) == sorted([(first.path, "是"), (second.path, "否")])
    assert all(r["采用规则"] == DUPLICATE_RULE for r in rows)


def test_a_unit_not_on_the_roster(result):
    case = result.cases["outside_roster"]
    assert [(o["path"], o["unit_code"]) for o in result.data["outside_roster"]] == [(case.path, OUTSIDE.code)]
    rows = sheet_rows(result, "名单外")
    assert [(r["文件"], r["状态"]) for r in rows] == [(case.path, VALID)]


def test_units_without_a_return(result):
    returned = {c.unit.code for c in result.cases.values() if c.status == CONSOLIDATED and c.unit}
    roster = [*UNITS, *EXTRA]
    expected = [u.code for u in roster if u.code not in returned]
    assert [e["code"] for e in result.data["not_returned"]] == expected
    if result.lo:
        assert expected == [u.code for u in EXTRA]
    assert result.data["roster_size"] == len(roster)
    rows = sheet_rows(result, "未报送")
    assert [r["统一社会信用代码"] for r in rows] == expected
    assert [r["单位名称"] for r in rows] == [u.name for u in roster if u.code in expected]


def test_the_run_is_quick(result):
    assert result.elapsed < 10, f"the run over {len(result.cases)} files took {result.elapsed:.1f} s"


# ---------------------------------------------------------------- determinism

def test_a_second_run_without_ledger_gives_identical_outputs(result, tmp_path):
    summary, report = tmp_path / "汇总.xlsx", tmp_path / "报告.json"
    rc, stdout, stderr = run_cli(*consolidate_args(result.folder, result.roster, summary, report, "--no-ledger"))
    assert rc == 0, stderr
    assert summary.read_bytes() == result.summary.read_bytes()
    assert report.read_text("utf-8") == result.report.read_text("utf-8")
    assert not ledger_path(summary).exists()
    assert [ln for ln in stdout.splitlines() if LINE.search(ln)][0].split("。汇总表")[0] == \
        [ln for ln in result.stdout.splitlines() if LINE.search(ln)][0].split("。汇总表")[0]


def test_parallel_workers_give_the_same_content(result, monkeypatch):
    """Two worker processes, several chunks each: the same content, in the same order, as the in-process run."""
    monkeypatch.setattr(workers_module, "PARALLEL_FROM", 2)
    monkeypatch.setattr(workers_module, "CHUNK", 4)
    roster, problems = read_roster_entries(result.roster, SPEC)
    assert problems == []
    as_of = date.fromisoformat(result.data["stages"]["as_of"])         # the CLI's --as-of (default today)
    run = consolidate(result.folder, spec=SPEC, roster=roster, workers=2, as_of=as_of)
    assert json.loads(dumps(content(run, SPEC))) == result.data


# ---------------------------------------------------------------- the ledger

class Reads:
    """Records the files `consolidate` reads, by wrapping `workers.read_chunk` (which reads a chunk of files;
    below PARALLEL_FROM files it runs in this process, so the wrapper sees every one)."""

    def __init__(self, monkeypatch):
        self.paths: list[str] = []
        real = workers_module.read_chunk

        def recording(item):
            _, _, jobs = item
            self.paths += [job.rel for job in jobs]
            return real(item)
        monkeypatch.setattr(workers_module, "read_chunk", recording)


def test_ledger_rereads_only_new_and_changed_files(result, personaliser, tmp_path, monkeypatch):
    folder = tmp_path / "回收目录副本"
    shutil.copytree(result.folder, folder)
    out = tmp_path / "输出"
    out.mkdir()
    summary, report = out / "汇总.xlsx", out / "报告.json"
    reads = Reads(monkeypatch)
    assert len(result.cases) < workers_module.PARALLEL_FROM        # in-process: the wrapper sees every read

    rc, _, err = run_cli(*consolidate_args(folder, result.roster, summary, report))
    assert rc == 0, err
    assert reads.paths == [c.path for c in sorted(result.cases.values(), key=lambda c: c.path)
                           if c.status != SKIPPED]

    changed, deleted = GOOD[1], GOOD[2]
    (folder / changed.path).write_bytes(filled(personaliser, changed.unit, seed="改过的数据"))
    (folder / deleted.path).unlink()
    added = f"新增/{safe_file_name(NEW_UNIT.code, NEW_UNIT.name)}"
    (folder / added).parent.mkdir()
    (folder / added).write_bytes(filled(personaliser, NEW_UNIT))

    reads.paths.clear()
    rc, stdout, err = run_cli(*consolidate_args(folder, result.roster, summary, report))
    assert rc == 0, err
    assert sorted(reads.paths) == sorted([changed.path, added])
    data = json.loads(report.read_text("utf-8"))
    assert data["disappeared"] == [deleted.path]
    assert "上次汇总后删除了 1 个文件" in stdout
    unit = next(u for u in data["units"] if u["file"] == changed.path)
    assert unit["results"] == json.loads(dumps(evaluated("改过的数据")))
    acc = data["accounting"]
    assert acc["seen"] == len(files_on_disk(folder)) == acc["consolidated"] + acc["rejected"] + acc["skipped"]

    # the same content as a fresh run over the same folder, except for the report of the deleted file
    fresh_summary, fresh_report = tmp_path / "全新" / "汇总.xlsx", tmp_path / "全新" / "报告.json"
    fresh_summary.parent.mkdir()
    rc, _, err = run_cli(*consolidate_args(folder, result.roster, fresh_summary, fresh_report, "--no-ledger"))
    assert rc == 0, err
    fresh = json.loads(fresh_report.read_text("utf-8"))
    assert fresh["disappeared"] == []
    assert {**data, "disappeared": []} == fresh

    # nothing changed since: nothing is read, and the outputs are byte for byte the fresh run's
    reads.paths.clear()
    rc, stdout, err = run_cli(*consolidate_args(folder, result.roster, summary, report))
    assert rc == 0, err
    assert reads.paths == [] and "删除" not in stdout
    assert summary.read_bytes() == fresh_summary.read_bytes()
    assert report.read_bytes() == fresh_report.read_bytes()


UNCHANGED = "没有改写任何文件"


def test_a_rerun_with_nothing_changed_rewrites_nothing(result, tmp_path, monkeypatch):
    """Same files (size and mtime), same options, spec, roster and date as the run that wrote the outputs: nothing is
    read and nothing written — the summary, the report and the ledger keep their modification times — and the
    CLI says so in Chinese. A changed option, a deleted or edited output, a changed file: all written again."""
    folder = tmp_path / "回收目录副本"
    shutil.copytree(result.folder, folder)
    summary, report = tmp_path / "汇总.xlsx", tmp_path / "报告.json"
    outputs = (summary, report, ledger_path(summary))

    def run(*extra: str) -> str:
        rc, stdout, err = run_cli(*consolidate_args(folder, result.roster, summary, report, *extra))
        assert rc == 0, err
        return stdout

    def stamps() -> list[int]:
        return [p.stat().st_mtime_ns for p in outputs]

    assert UNCHANGED not in run("--as-of", "2023-09-15")
    written = stamps()
    reads = Reads(monkeypatch)
    stdout = run("--as-of", "2023-09-15")
    assert UNCHANGED in stdout and "上次汇总：共 " in stdout and str(summary) in stdout
    assert reads.paths == [] and stamps() == written

    # another as-of date is another input of the outputs: written again; then current again
    assert UNCHANGED not in run("--as-of", "2023-09-16") and stamps() != written
    assert UNCHANGED in run("--as-of", "2023-09-16")
    # a deleted report, an edited summary: written again
    report.unlink()
    assert UNCHANGED not in run("--as-of", "2023-09-16") and report.exists()
    summary.write_bytes(summary.read_bytes() + b" ")
    assert UNCHANGED not in run("--as-of", "2023-09-16")
    assert UNCHANGED in run("--as-of", "2023-09-16")
    # a file touched (its mtime moved): the run goes through the ledger again (no file read: same SHA-256)
    touched = folder / GOOD[0].path
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))
    reads.paths.clear()
    assert UNCHANGED not in run("--as-of", "2023-09-16") and reads.paths == []
    # without the ledger, or with --verify, every run writes its outputs
    written = stamps()
    assert UNCHANGED not in run("--as-of", "2023-09-16", "--verify") and stamps() != written
    # 佐证材料 are inputs too: a file added to an evidence folder, one of it edited (same size, new mtime), a
    # subfolder added — each is written again, then current again
    evidence = (folder / GOOD[1].path).parent / f"{GOOD[1].unit.code}_佐证材料"
    evidence.mkdir()
    (evidence / "制度.pdf").write_bytes(b"%PDF-1.4")
    assert UNCHANGED not in run("--as-of", "2023-09-16")
    assert UNCHANGED in run("--as-of", "2023-09-16")
    st = (evidence / "制度.pdf").stat()
    (evidence / "制度.pdf").write_bytes(b"%PDF-1.5")
    os.utime(evidence / "制度.pdf", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert UNCHANGED not in run("--as-of", "2023-09-16")
    (evidence / "照片").mkdir()
    assert UNCHANGED not in run("--as-of", "2023-09-16")
    assert UNCHANGED in run("--as-of", "2023-09-16")


def test_averages_from_each_units_contribution_equal_a_full_recount(result):
    """Each unit's self scores as counted come with its figures, computed where the file was read (and kept in the
    ledger): the run's per-indicator averages made from these contributions equal counting every unit again."""
    roster, _ = read_roster_entries(result.roster, SPEC)
    run = consolidate(result.folder, spec=SPEC, roster=roster, as_of=date(2023, 9, 15))
    units = run.units
    assert units and all(len(f.rendered.counted) == len(SPEC.indicators) for f in units)
    recounted = counted_rows([f.inputs for f in units], [f.results for f in units], SPEC)
    np.testing.assert_array_equal(self_counted(units, SPEC), recounted)     # NaN (blank) where NaN
    averages = indicator_averages(run, SPEC)
    for f in units:                                                          # no contributions: counted afresh
        f.rendered = dataclasses.replace(f.rendered, counted=())
    assert indicator_averages(run, SPEC) == averages


def test_the_units_follow_every_rule_that_changes_a_files_status():
    """`run.units` is sorted once and asked for by every table: a file a rule rejects or sets aside afterwards
    (a failed signature, a duplicate not chosen) leaves it at once, one put back returns in its place, and what a
    caller does with the list it was given changes nothing."""
    from addin.consolidate.model import ConsolidationRun, FileOutcome

    def unit(path: str, code: str, region: str) -> FileOutcome:
        return FileOutcome(path=path, size=1, sha256="", status=CONSOLIDATED,
                           unit={"unit_code": code, "unit_region": region})

    b, a2, a1 = unit("b.xlsx", "2", "乙地区"), unit("a2.xlsx", "9", "甲地区"), unit("a1.xlsx", "1", "甲地区")
    run = ConsolidationRun(folder=".", year=2023, preset=None, files=[a1, a2, b])     # by path
    by_region_then_code = [b, a1, a2]                   # 乙 (U+4E59) before 甲 (U+7532); then 1 before 9
    assert run.units == by_region_then_code
    given = run.units
    given.clear()                                        # the caller's own list
    assert run.units == by_region_then_code
    a2.status = REJECTED                                 # as `signatures` does after the first tables
    assert run.units == [b, a1]
    b.used = False                                       # as `resolve_duplicates` does
    assert run.units == [a1]
    a2.status, b.used = CONSOLIDATED, True
    assert run.units == by_region_then_code and all(x is y for x, y in zip(run.units, by_region_then_code))


_SCORES = st.one_of(st.none(), st.floats(-2, 12, allow_nan=False).map(lambda x: round(x * 2) / 2),
                    st.text("0123456789.是否AB", max_size=4))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.lists(_SCORES, min_size=len(SPEC.indicators), max_size=len(SPEC.indicators)),
                          st.lists(_SCORES, min_size=len(SPEC.indicators), max_size=len(SPEC.indicators))),
                max_size=8), st.integers(1, 8))
def test_units_counted_in_any_chunks_equal_all_counted_at_once(units, chunk):
    """A unit's contribution does not depend on the units it was read with: counted chunk by chunk (as the workers
    do, a chunk at a time) is counted all at once. E.g. three units in chunks of 2: rows [u1, u2] + [u3]."""
    def figures(scores: list, picks: list) -> tuple[dict, dict]:
        inputs = {ind.score_name: v for ind, v in zip(SPEC.indicators, scores)}
        inputs.update({ind.rule.selector: p for ind, p in zip(SPEC.indicators, picks) if ind.rule.selector})
        return inputs, {ind.score_name: v for ind, v in zip(SPEC.indicators, scores)}
    pairs = [figures(scores, picks) for scores, picks in units]
    whole = counted_rows([i for i, _ in pairs], [r for _, r in pairs], SPEC)
    parts = [counted_rows([i for i, _ in pairs[k:k + chunk]], [r for _, r in pairs[k:k + chunk]], SPEC)
             for k in range(0, len(pairs), chunk)]
    np.testing.assert_array_equal(np.vstack(parts) if parts else whole, whole)


def test_a_file_whose_mtime_alone_changed_is_not_read_again(result, tmp_path, monkeypatch):
    """Copying a folder resets every mtime: the ledger then compares SHA-256 and reuses what it knows."""
    folder = tmp_path / "回收目录副本"
    shutil.copytree(result.folder, folder)
    summary, report = tmp_path / "汇总.xlsx", tmp_path / "报告.json"
    rc, _, err = run_cli(*consolidate_args(folder, result.roster, summary, report))
    assert rc == 0, err
    first = report.read_bytes()
    touched = folder / GOOD[0].path
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))
    reads = Reads(monkeypatch)
    rc, _, err = run_cli(*consolidate_args(folder, result.roster, summary, report))
    assert rc == 0, err
    assert reads.paths == [] and report.read_bytes() == first
    db = sqlite3.connect(ledger_path(summary))         # the new mtime is recorded: next time no hashing either
    (mtime,) = db.execute("SELECT mtime_ns FROM files WHERE path=?", (GOOD[0].path,)).fetchone()
    db.close()
    assert mtime == touched.stat().st_mtime_ns


def test_stored_figures_decode_on_first_use_and_compare_as_dicts():
    stored = StoredFigures(pack('{"self_total":81.5,"self_pass":true,"cur_people":null}'))
    assert stored._data is None
    assert stored["self_total"] == 81.5 and stored.get("missing") is None
    assert stored == {"self_total": 81.5, "self_pass": True, "cur_people": None}
    assert dict(stored) == {**stored}
    # the names every run's tables read come decoded already: asking for them decodes nothing
    previewed = StoredFigures(pack('{"self_total":81.5,"cur_people":12}'), {"self_total": 81.5},
                              frozenset({"self_total", "self_pass"}))
    assert previewed["self_total"] == 81.5 and previewed.get("self_pass") is None and previewed._data is None
    assert previewed.get("cur_people") == 12 and previewed._data is not None


def test_a_ledger_of_an_older_format_is_emptied_and_every_file_read(result, tmp_path, monkeypatch):
    summary, report = tmp_path / "汇总.xlsx", tmp_path / "报告.json"
    old = sqlite3.connect(ledger_path(summary))
    with old:
        old.execute("CREATE TABLE files (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, outcome TEXT)")
        old.execute("INSERT INTO files VALUES ('甲.xlsx', 1, 1, '{}')")
    old.close()
    reads = Reads(monkeypatch)
    rc, _, err = run_cli(*consolidate_args(result.folder, result.roster, summary, report))
    assert rc == 0, err
    assert len(reads.paths) == sum(1 for c in result.cases.values() if c.status != SKIPPED)
    assert json.loads(report.read_text("utf-8"))["disappeared"] == []
    assert report.read_text("utf-8") == result.report.read_text("utf-8")
    db = sqlite3.connect(ledger_path(summary))
    assert db.execute("PRAGMA user_version").fetchone()[0] == LEDGER_FORMAT
    db.close()


# ---------------------------------------------------------------- atomic outputs and exit codes

def _fail_replace(monkeypatch) -> None:
    def refuse(src, dst, *args, **kwargs):
        raise PermissionError(13, "模拟：文件被占用，无法替换", str(dst))
    monkeypatch.setattr(os, "replace", refuse)


def test_a_failed_write_leaves_the_previous_summary(result, tmp_path, monkeypatch):
    summary, report = tmp_path / "汇总.xlsx", tmp_path / "报告.json"
    args = consolidate_args(result.folder, result.roster, summary, report, "--no-ledger")
    rc, _, err = run_cli(*args)
    assert rc == 0, err
    before = summary.read_bytes(), report.read_bytes()

    _fail_replace(monkeypatch)
    rc, stdout, err = run_cli(*args)
    monkeypatch.undo()
    assert rc != 0                                     # the run itself failed: non-zero
    assert "运行失败" in err and "汇总.xlsx" in err        # the CLI's wording for an I/O failure (was 「错误：」)
    assert (summary.read_bytes(), report.read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["报告.json", "汇总.xlsx"]   # no temporary file left
    assert not any(p.name.startswith(TEMP_PREFIX) for p in tmp_path.iterdir())
    assert not LINE.search(stdout)                     # no result line claims a summary that was not written


def test_a_failed_write_does_not_lose_the_report_of_a_deleted_file(result, tmp_path, monkeypatch):
    """The ledger must not forget a file while the run that noticed its disappearance wrote no output:
    the next successful run reports it (issue 4 §2: "a file that disappeared since the last run is reported")."""
    folder = tmp_path / "回收目录副本"
    shutil.copytree(result.folder, folder)
    summary, report = tmp_path / "汇总.xlsx", tmp_path / "报告.json"
    args = consolidate_args(folder, result.roster, summary, report)
    assert run_cli(*args)[0] == 0
    deleted = GOOD[1].path
    (folder / deleted).unlink()

    _fail_replace(monkeypatch)
    assert run_cli(*args)[0] != 0
    monkeypatch.undo()
    assert json.loads(report.read_text("utf-8"))["disappeared"] == []       # the previous report, intact

    rc, stdout, err = run_cli(*args)
    assert rc == 0, err
    assert json.loads(report.read_text("utf-8"))["disappeared"] == [deleted]
    assert "上次汇总后删除了 1 个文件" in stdout


def test_a_missing_folder_is_a_run_failure_named_in_chinese(tmp_path):
    missing = tmp_path / "不存在的回收目录"
    rc, stdout, err = run_cli("consolidate", missing, "-o", tmp_path / "汇总.xlsx")
    assert rc != 0
    assert str(missing) in err and "不存在" in err
    assert not (tmp_path / "汇总.xlsx").exists() and not ledger_path(tmp_path / "汇总.xlsx").exists()
    assert stdout == ""
    with pytest.raises(InputError, match="不存在"):        # the user's error, raised before any work
        consolidate(missing, spec=SPEC)


def test_a_missing_folder_message_has_no_empty_brackets(tmp_path):
    rc, _, err = run_cli("consolidate", tmp_path / "不存在的回收目录", "-o", tmp_path / "汇总.xlsx")
    assert rc != 0 and "（）" not in err, err


def test_an_output_not_ending_in_xlsx(result, tmp_path):
    for name in ("汇总.csv", "汇总", "汇总.xls"):
        rc, _, err = run_cli("consolidate", result.folder, "-o", tmp_path / name)
        assert rc == 2 and ".xlsx" in err, (name, err)
    assert list(tmp_path.iterdir()) == []


def test_bad_files_never_make_the_exit_code_non_zero(result, tmp_path):
    """A folder of nothing but bad files is a completed run."""
    folder = tmp_path / "只有坏文件"
    for case in BAD:
        if case.status != CONSOLIDATED and case.label in result.cases:
            (folder / case.path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(result.folder / case.path, folder / case.path)
    rc, stdout, err = run_cli("consolidate", folder, "-o", tmp_path / "汇总.xlsx", "--no-ledger")
    assert rc == 0, err
    seen, consolidated, rejected, skipped = map(int, LINE.search(stdout).groups())
    assert seen == len(files_on_disk(folder)) == rejected + skipped and consolidated == 0


def test_zip_bomb_stays_small_on_disk(result):
    assert (result.folder / result.cases["zip_bomb"].path).stat().st_size < 2 << 20


def test_outputs_inside_the_returns_folder_are_skipped_not_read(tmp_path, capsys):
    """A summary, report and ledger written into the returns folder are this run's own files: skipped with
    that reason on later runs, never read back as returns (which would add rejected files each time)."""
    import json as _json

    from addin.demo import plain_returns, sample_roster

    folder = tmp_path / "回收的工作簿"
    plain_returns(folder, SPEC, sample_roster(SPEC)[:-2])
    out, report = folder / "汇总.xlsx", folder / "报告.json"
    argv = ["consolidate", str(folder), "-o", str(out), "--json", str(report)]
    assert cli.main(argv) == 0
    first = _json.loads(report.read_text(encoding="utf-8"))["accounting"]
    assert cli.main(argv) == 0
    second = _json.loads(report.read_text(encoding="utf-8"))
    capsys.readouterr()
    assert second["accounting"]["consolidated"] == first["consolidated"] == 10
    assert second["accounting"]["rejected"] == 0
    own = {f["path"]: f for f in second["files"] if f["status"] == "skipped"}
    assert {"汇总.xlsx", "报告.json", "汇总.jieyue-ledger.sqlite"} <= set(own)


# ---------------------------------------------------------------- each return's own year and preset

OTHER_PRESET = next(p for p in SPEC.presets if p != PRESET)


def test_each_return_is_recomputed_with_its_own_year_and_preset(personaliser, tmp_path):
    """A workbook generated with another preset is recomputed with that preset's factors (D503: the run mixes
    presets); --preset accepts only its own preset's files (F113, listed but not ranked); a year or preset the
    spec does not have rejects the file (F114); without --year the run's year is the returns' most common."""
    folder = tmp_path / "回收"
    folder.mkdir()
    own, other = [UNITS[0], UNITS[1]], UNITS[2]
    files = {u.code: f"{u.code}.xlsx" for u in UNITS[:5]}
    for u in own:
        (folder / files[u.code]).write_bytes(filled(personaliser, u))
    (folder / files[other.code]).write_bytes(filled(Personaliser(SPEC, YEAR, OTHER_PRESET), other))
    unknown_preset, unknown_year = UNITS[3], UNITS[4]
    (folder / files[unknown_preset.code]).write_bytes(set_text(filled(personaliser, unknown_preset),
                                                               "factor_preset", "没有的预设"))
    (folder / files[unknown_year.code]).write_bytes(replace_cell(
        filled(personaliser, unknown_year), "assessment_year", lambda ref: f'<c r="{ref}"><v>1999</v></c>'))

    run = consolidate(folder, spec=SPEC)
    by_code = {f.path: f for f in run.files}
    assert (run.year, run.year_source, run.preset) == (YEAR, "returns", None)
    mixed = by_code[files[other.code]]
    assert mixed.status == CONSOLIDATED and not mixed.blocking and mixed.meta["factor_preset"] == OTHER_PRESET
    expected = udfs.evaluate(plausible_inputs(other.code, SPEC), YEAR, OTHER_PRESET, spec=SPEC)
    assert json.loads(dumps(dict(mixed.results))) == json.loads(dumps(expected))
    assert expected != evaluated(other.code)                   # the preset's factors made a difference
    assert [x.code for x in mixed.findings if x.code.startswith(("D5", "F11"))] == ["D503"]
    for u in own:
        assert not [x for x in by_code[files[u.code]].findings if x.code in ("D503", "F113", "F114")]
    assert run.presets_used == {PRESET: sorted(files[u.code] for u in own), OTHER_PRESET: [files[other.code]]}
    for u, name in ((unknown_preset, "factor_preset"), (unknown_year, "assessment_year")):
        f = by_code[files[u.code]]
        assert f.status == REJECTED and [(x.code, x.name) for x in f.findings] == [("F114", name)], f.findings
    data = content(run, SPEC)
    assert data["year_source"] == "returns" and data["presets_used"] == run.presets_used

    only = consolidate(folder, spec=SPEC, year=YEAR, preset=PRESET)
    assert (only.year, only.year_source, only.preset) == (YEAR, "option", PRESET)
    refused = next(f for f in only.files if f.path == files[other.code])
    assert refused.status == CONSOLIDATED and refused.blocking              # listed, not ranked
    assert [x.code for x in refused.findings if x.code in ("D503", "F113")] == ["F113"]
    assert OTHER_PRESET in next(x for x in refused.findings if x.code == "F113").message
    assert only.presets_used == {PRESET: sorted(files[u.code] for u in own)}
    assert not any(x.code == "D503" for f in only.files for x in f.findings)


def test_a_run_without_returns_takes_the_specs_year(tmp_path):
    (tmp_path / "空").mkdir()
    run = consolidate(tmp_path / "空", spec=SPEC)
    assert (run.year, run.year_source, run.presets_used) == (SPEC.default_year, "spec", {})
