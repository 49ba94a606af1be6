"""Issue 10 §1–§3: a hostile corpus — every file built here from one good return, nothing checked in — read by one
`jieyue consolidate` run. For every kind: the run completes, the file is listed with the expected status and, where
one is expected, the expected finding code; the accounting holds; and the summary passes `scan_summary` (well-formed,
no formula, no link, no cell over 32 767 characters) and opens in openpyxl. The classes:

* §1 one file never crashes or stalls the run: escaped lone surrogates and non-characters in names and numbers, text
  at and over the cell limit, the quadratic text-number hint, file and folder names that are not UTF-8, FIFOs and
  sockets, hidden and system folders, our own temporaries;
* §2 nothing smuggled into the outputs: formulas, DDE, markup and escape look-alikes in names;
* §3 parser differentials: duplicate zip entries, a cell twice in a sheet, non-canonical `<v>` values, a defined name
  redirected in a file without saved results, values beyond the spec's bounds.

Then the pieces that a folder run cannot show: an unreadable subfolder, the time budget (cooperative and hard), a FIFO
put in a file's place, the outputs' own escaping, the hint's linear cost shown by its answer on huge input.
"""
from __future__ import annotations

import json
import os
import socket
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import openpyxl
import pytest

from addin import cli
from addin.consolidate import consolidate, write_outputs
from addin.consolidate import walk as walk_module
from addin.consolidate.model import CONSOLIDATED, REJECTED, SKIPPED
from addin.consolidate.read import read_returned
from addin.consolidate.read.preflight import Limits
from addin.consolidate.read.xmlscan import UNSAFE
from addin.consolidate.sheetxml import SafeWorksheet, TRUNCATED, cell, writable_text
from udfs.checks import _text_hint

from tests.hostile import (CELL_LIMIT, SPEC, base_return, code, duplicate_cell, redirect_name, scan_summary,
                           set_inline, set_meta_number, set_shared, set_value, with_code, with_empty_sheets,
                           with_entries, with_padding, zip_parts)

POSIX = os.name == "posix"


@dataclass(frozen=True)
class Kind:
    label: str
    path: str                                   # where it lies in the returns folder ("" for special kinds)
    build: Callable[[bytes], bytes] | None      # from a good return with its own unit code; None: made by `make`
    status: str
    code: str | None                            # a finding the file must have (None: none required)
    make: Callable[[Path], None] | None = None  # special files and folders


def named(label: str, build: Callable[[bytes], bytes], status: str = CONSOLIDATED, code_: str | None = None,
          folder: str = "") -> Kind:
    return Kind(label, f"{folder}{label}.xlsx", build, status, code_)


def text(s: str) -> str:
    """Literal text as XML content."""
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def shown(name: bytes) -> str:
    """A file name the file system gave as bytes, as the outputs show it: bytes that do not decode as UTF-8 as
    \\xNN (some GBK byte pairs happen to be valid UTF-8, and show as what they decode to)."""
    decoded = name.decode("utf-8", "surrogateescape")        # as the file system gives it (PEP 383)
    return "".join(f"\\x{ord(c) - 0xDC00:02X}" if 0xDC80 <= ord(c) <= 0xDCFF else c for c in decoded)


LONG = "长" * CELL_LIMIT
QUADRATIC = "1" * 32765 + ".万"


def _q(name: str, text: str) -> Callable[[bytes], bytes]:
    return lambda d: set_inline(d, name, text)


def _v(name: str, v: str, t: str | None = None) -> Callable[[bytes], bytes]:
    return lambda d: set_value(d, name, v, t)


def _all_quantities(text: str) -> Callable[[bytes], bytes]:
    def build(d: bytes) -> bytes:
        for item in SPEC.items:
            for slot in ("prev", "cur"):
                d = set_inline(d, f"{slot}_{item.name}", text)
        return d
    return build


KINDS: list[Kind] = [
    # ---- §1 text that used to end the run, or stall it
    named("name_escaped_lone_surrogate", _q("unit_name", "测试_xD800_局")),
    named("name_escaped_low_surrogate", _q("unit_name", "_xDFFF_测试局")),
    named("region_escaped_surrogate", _q("unit_region", "昌吉_xDBFF_州")),
    named("name_escaped_fffe", _q("unit_name", "测试_xFFFE_局")),
    named("name_escaped_ffff", _q("unit_name", "测试_xFFFF_局")),
    named("name_escaped_control", _q("unit_name", "测试_x0001__x001F_局")),
    named("name_shared_string_surrogate", lambda d: set_shared(d, "unit_name", "共享_xD83D_字符串")),
    named("name_shared_string_raw_fffe", lambda d: set_shared(d, "unit_name", "共享\ufffe字符串")),
    named("name_shared_string_raw_control", lambda d: set_shared(d, "unit_name", "共享\x01字符串")),
    named("contact_escaped_surrogate", _q("contact_name", "联系人_xD800_")),
    named("name_at_cell_limit", _q("unit_name", LONG)),
    named("name_escaped_to_cell_limit", _q("unit_name", "_x957F_" * CELL_LIMIT)),
    named("name_over_cell_limit", _q("unit_name", LONG + "长"), REJECTED, "F121"),
    named("shared_string_over_cell_limit", lambda d: set_shared(d, "unit_name", LONG + "长"), REJECTED, "F121"),
    named("quantity_text_over_cell_limit", _q("cur_people", "1" * (CELL_LIMIT + 1)), REJECTED, "F121"),
    named("quantity_escaped_surrogate", _q("cur_electricity_kwh", "12_xD800_"), CONSOLIDATED, "E201"),
    named("quantity_quadratic_hint", _q("cur_electricity_kwh", QUADRATIC), CONSOLIDATED, "E201"),
    named("all_quantities_quadratic_hint", _all_quantities(QUADRATIC), CONSOLIDATED, "E201"),
    named("quantity_huge_wan", _q("cur_water_m3", "9" * 2000 + "万"), CONSOLIDATED, "E201"),
    # ---- §2 what a file would smuggle into the outputs
    named("name_hyperlink_formula", _q("unit_name", text('=HYPERLINK("http://example.com","点击")'))),
    named("name_dde", _q("unit_name", text("=cmd|' /C calc'!A0"))),
    named("name_markup", _q("unit_name", text("<f>SUM(1)</f></t></is></c><c><f>1</f></c>"))),
    named("name_cdata_like", _q("unit_name", text("]]><!-- x -->"))),
    named("name_entity_like", _q("unit_name", text("&amp;lt;&#1;"))),
    named("name_escape_lookalike", _q("unit_name", "_x005F_x0041_ 与 _x005f_xD800_")),
    named("region_leading_spaces", _q("unit_region", "   昌吉回族自治州\t\n")),
    named("name_rtl_override", _q("unit_name", "测试\u202e局")),
    # ---- §3 parser differentials
    named("zip_entry_twice", lambda d: with_entries(d, {"xl/workbook.xml": zip_parts(d)["xl/workbook.xml"]}),
          REJECTED, "F125"),
    named("zip_entry_case_twice", lambda d: with_entries(d, {"XL/Workbook.xml": zip_parts(d)["xl/workbook.xml"]}),
          REJECTED, "F125"),
    named("zip_sheet_twice", lambda d: with_entries(d, {"xl/worksheets/sheet4.xml": zip_parts(d)["xl/worksheets/sheet4.xml"]}),
          REJECTED, "F125"),
    named("cell_twice_scanned", lambda d: duplicate_cell(d, "cur_electricity_kwh", "1"), REJECTED, "F126"),
    named("cell_twice_parsed", lambda d: duplicate_cell(d, "cur_electricity_kwh", "1", force_parse=True),
          REJECTED, "F126"),
    named("name_cell_twice", lambda d: duplicate_cell(d, "unit_code", "1"), REJECTED, "F126"),
    named("number_underscore", _v("cur_electricity_kwh", "5_9"), REJECTED, "F127"),
    named("number_full_width", _v("cur_electricity_kwh", "５９"), REJECTED, "F127"),
    named("number_arabic_indic", _v("cur_electricity_kwh", "١٢٣"), REJECTED, "F127"),
    named("number_spaces", _v("cur_people", " 59 "), REJECTED, "F127"),
    named("number_infinity", _v("cur_people", "Infinity"), REJECTED, "F127"),
    named("number_nan", _v("cur_people", "NaN"), REJECTED, "F127"),
    named("number_overflow", _v("cur_people", "1e999"), REJECTED, "F127"),
    named("number_hex", _v("cur_people", "0x10"), REJECTED, "F127"),
    named("number_comma", _v("cur_people", "1,000"), REJECTED, "F127"),
    named("boolean_two", _v("cur_people", "2", "b"), REJECTED, "F127"),
    named("shared_index_underscore", _v("cur_people", "1_0", "s"), REJECTED, "F127"),
    named("shared_index_arabic", _v("cur_people", "٣", "s"), REJECTED, "F127"),
    named("unknown_cell_type", _v("cur_people", "5", "x"), REJECTED, "F127"),
    named("error_value_invented", _v("cur_people", "#hacked", "e"), REJECTED, "F127"),
    named("date_not_iso", _v("fill_date", "昨天", "d"), REJECTED, "F127"),
    named("negative_zero", _v("cur_coal_t", "-0")),
    named("number_plus_sign", _v("cur_coal_t", "+0")),
    named("name_redirected_without_results", lambda d: redirect_name(d, "cur_electricity_kwh", "$C$30"),
          CONSOLIDATED, "F128"),
    named("identity_redirected_without_results", lambda d: redirect_name(d, "unit_name", "$B$9"),
          CONSOLIDATED, "F128"),
    named("people_1e308", _v("cur_people", "1e308"), CONSOLIDATED, "E220"),
    named("people_max_double", _v("prev_people", "1.7976931348623157e308"), CONSOLIDATED, "E220"),
    named("electricity_beyond_bound", _v("cur_electricity_kwh", "1000000001"), CONSOLIDATED, "E220"),
    named("area_beyond_bound", _v("cur_area_m2", "5000000.5"), CONSOLIDATED, "E220"),
    named("tiny_negative", _v("cur_coal_t", "-1e-300"), CONSOLIDATED, "E203"),
    named("text_exponent", _q("cur_coal_t", "1e400"), CONSOLIDATED, "E201"),
]


# Kinds of the file system: names, special files, folders.
def _fifo(folder: Path) -> None:
    os.mkfifo(folder / "管道.xlsx")


def _socket(folder: Path) -> None:
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(folder / "套接字.xlsx"))
    s.close()


def _bytes_name(folder: Path, name: bytes, data: bytes) -> None:
    with open(os.path.join(os.fsencode(folder), name), "wb") as f:
        f.write(data)


def _gbk_name(folder: Path) -> None:
    _bytes_name(folder, "天池县教育局.xlsx".encode("gbk"), with_code(base_return(), code(901)))


def _gbk_garbage(folder: Path) -> None:
    _bytes_name(folder, "乱码文件.xlsx".encode("gbk"), b"not a workbook")


def _gbk_folder(folder: Path) -> None:
    sub = os.path.join(os.fsencode(folder), "第二批".encode("gbk"))
    os.mkdir(sub)
    _bytes_name(Path(os.fsdecode(sub)), b"return.xlsx", with_code(base_return(), code(902)))


def _fffe_name(folder: Path) -> None:
    (folder / "名称\ufffe.xlsx").write_bytes(with_code(base_return(), code(903)))


def _lookalike_name(folder: Path) -> None:
    (folder / "名称_xFFFE__xD800_.xlsx").write_bytes(with_code(base_return(), code(904)))


def _hidden(name: str) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        (folder / name).mkdir()
        (folder / name / "objects.xlsx").write_bytes(b"not read")
        (folder / name / "sub").mkdir()
        (folder / name / "sub" / "more.xlsx").write_bytes(b"not read")
    return make


def _our_temporary(folder: Path) -> None:
    (folder / "~$jieyue-0123456789-abcdef.tmp").write_bytes(b"half-written")


SPECIAL: list[Kind] = [
    Kind("fifo", "管道.xlsx", None, SKIPPED, None, _fifo),
    Kind("socket", "套接字.xlsx", None, SKIPPED, None, _socket),
    Kind("gbk_file_name", shown("天池县教育局.xlsx".encode("gbk")), None, CONSOLIDATED, "I124", _gbk_name),
    Kind("gbk_garbage_name", shown("乱码文件.xlsx".encode("gbk")), None, REJECTED, "F102", _gbk_garbage),
    Kind("gbk_folder_name", shown("第二批".encode("gbk")) + "/return.xlsx", None, CONSOLIDATED, "I124", _gbk_folder),
    Kind("fffe_file_name", "名称\ufffe.xlsx", None, CONSOLIDATED, None, _fffe_name),
    Kind("lookalike_file_name", "名称_xFFFE__xD800_.xlsx", None, CONSOLIDATED, None, _lookalike_name),
    Kind("git_folder", ".git/", None, SKIPPED, None, _hidden(".git")),
    Kind("macosx_folder", "__MACOSX/", None, SKIPPED, None, _hidden("__MACOSX")),
    Kind("recycle_bin", "$RECYCLE.BIN/", None, SKIPPED, None, _hidden("$RECYCLE.BIN")),
    Kind("our_temporary", "~$jieyue-0123456789-abcdef.tmp", None, SKIPPED, None, _our_temporary),
]


# Review packs (issue 14 §1): a pack's limits are derived from the scorecards its `_meta` declares, as many as its
# zip holds; a file cannot claim a bigger budget than that. Built from a genuine two-unit pack.
OVER_A_RETURNS_LIMIT = Limits().max_bytes + 1024 * 1024


@lru_cache(maxsize=None)
def genuine_pack() -> bytes:
    """A genuine review pack (县市区, two units), built from two good returns in a folder of its own."""
    from addin.review.pack import build_review_pack
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "回收目录"
        folder.mkdir()
        for i in (1, 2):
            (folder / f"单位{i}.xlsx").write_bytes(with_code(base_return(), code(700 + i)))
        return build_review_pack(folder, "县市区", seed=1, spec=SPEC).data


def _pack_file(name: str, build: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_bytes(build(genuine_pack()))


def _claims_5000(data: bytes) -> bytes:
    """Declares 5 000 scorecards, holds 2, and is larger than a return may be."""
    return with_padding(set_meta_number(data, "scorecard_count", 5000), OVER_A_RETURNS_LIMIT)


def _empty_sheets_as_scorecards(data: bytes) -> bytes:
    """Declares 5 000 scorecards and lists 2 100 empty sheets besides its 2 scorecards, so that its zip seems to
    hold 2 102 (whose limits would allow 66 MB); it is larger than a return may be. Read, it holds 2."""
    return with_padding(set_meta_number(with_empty_sheets(data, 2100), "scorecard_count", 5000), OVER_A_RETURNS_LIMIT)


PACKS: list[Kind] = [
    Kind("pack_genuine", "评审包_真的.xlsx", None, CONSOLIDATED, None, _pack_file("评审包_真的.xlsx", lambda d: d)),
    Kind("pack_declares_huge_count", "评审包_声称5000张.xlsx", None, REJECTED, "F105",
         _pack_file("评审包_声称5000张.xlsx", _claims_5000)),
    Kind("pack_count_disagrees_with_sheets", "评审包_空表冒充评分表.xlsx", None, REJECTED, "F105",
         _pack_file("评审包_空表冒充评分表.xlsx", _empty_sheets_as_scorecards)),
]


def test_the_corpus_has_sixty_kinds():
    assert len(KINDS) + len(SPECIAL) >= 60
    assert len({k.label for k in KINDS + SPECIAL + PACKS}) == len(KINDS) + len(SPECIAL) + len(PACKS)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict:
    """The corpus in one folder, consolidated once by the CLI (two processes: more than 40 files)."""
    if not POSIX:
        pytest.skip("FIFOs, sockets and non-UTF-8 names need POSIX")
    folder = tmp_path_factory.mktemp("hostile") / "回收目录"
    folder.mkdir()
    good = base_return()
    for n, kind in enumerate(KINDS):
        (folder / kind.path).write_bytes(kind.build(with_code(good, code(n + 1))))
    for kind in SPECIAL + PACKS:
        kind.make(folder)
    (folder / "正常的单位.xlsx").write_bytes(with_code(good, code(999)))
    out = folder.parent / "输出"
    out.mkdir()
    summary, report = out / "汇总.xlsx", out / "报告.json"
    rc = cli.main(["consolidate", str(folder), "-o", str(summary), "--json", str(report)])
    assert rc == 0
    data = json.loads(report.read_text("utf-8"))
    return {"folder": folder, "summary": summary, "report": data,
            "files": {f["path"]: f for f in data["files"]},
            "codes": _codes(data)}


def _codes(report: dict) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in report["findings"]:
        out.setdefault(f["file"], []).append(f["code"])
    return out


@pytest.mark.parametrize("kind", KINDS + SPECIAL + PACKS, ids=lambda k: k.label)
def test_every_kind_has_its_status_and_finding(corpus, kind):
    entry = corpus["files"].get(kind.path)
    assert entry is not None, (kind.path, sorted(corpus["files"])[:20])
    codes = corpus["codes"].get(kind.path, [])
    assert entry["status"] == kind.status, (entry, codes)
    if kind.code is not None:
        assert kind.code in codes, codes
    if kind.status == CONSOLIDATED and kind.code is None:
        assert not [c for c in codes if c.startswith("F")], codes
    if kind.status == REJECTED:
        assert codes and all(c.startswith(("F", "I")) for c in codes), codes


def test_the_run_accounts_for_every_entry(corpus):
    acc = corpus["report"]["accounting"]
    assert acc["seen"] == acc["consolidated"] + acc["rejected"] + acc["skipped"] == len(corpus["files"])
    assert acc["seen"] == len(KINDS) + len(SPECIAL) + len(PACKS) + 1
    assert corpus["files"]["正常的单位.xlsx"]["status"] == CONSOLIDATED


def test_a_fake_pack_gets_no_bigger_budget_and_is_told_about_packs(corpus):
    """5 000 scorecards declared, 2 held: the budget is that of 2 (a return's: 64 MB), so a 65 MB file is too
    large, before it is read; one whose 2 100 empty sheets won it a 66 MB budget is held, once read, to the
    budget of the 2 scorecards it holds. Both messages speak of review packs, not of pasted images."""
    messages = {f["file"]: f["message"] for f in corpus["report"]["findings"] if f["code"] == "F105"}
    claimed = messages["评审包_声称5000张.xlsx"]
    assert claimed.startswith("评审包大小") and "按评审包中的 2 张评分表计算" in claimed
    assert "review-pack --split" in claimed and "粘贴进去的图片" not in claimed
    emptied = messages["评审包_空表冒充评分表.xlsx"]
    assert "评审包记录有 5000 张评分表，实际有 2 张" in emptied and "按 2 张评分表计算" in emptied
    assert corpus["files"]["评审包_空表冒充评分表.xlsx"]["size"] > OVER_A_RETURNS_LIMIT - 1024


def test_an_honest_pack_larger_than_a_return_may_be_is_read(tmp_path):
    """The limits of a return (here shrunk to 30 KB, 10 zip entries and 150 KB inflated) do not bind a genuine
    pack: it gets its scorecards' allowance (2 × 32 KB over 1 MB of fixed parts, 2 × 4 entries over 64, 2 ×
    256 KB over 16 MB inflated)."""
    path = tmp_path / "评审包.xlsx"
    path.write_bytes(genuine_pack())
    small = Limits(max_bytes=30_000, max_entries=10, inflate_budget=100_000, max_total_uncompressed=150_000,
                   review_inflate_budget=150_000)
    assert path.stat().st_size > small.max_bytes
    result = read_returned(path, small)
    assert result.status == "ok" and len(result.scorecards) == 2, result.findings
    assert result.meta["scorecard_count"] == 2
    # a return as large is still a return: its own limit and advice
    big_return = tmp_path / "单位.xlsx"
    big_return.write_bytes(with_padding(base_return(), 60_000))
    refused = read_returned(big_return, small)
    assert [f.code for f in refused.findings] == ["F105"] and "粘贴进去的图片" in refused.findings[0].message


def test_a_pack_over_its_scorecards_allowance_is_refused_before_it_is_read(tmp_path):
    """2 scorecards allow 1 MB + 2 × 32 KB = 1.06 MB: a 1.2 MB pack is refused from its size, with the advice
    to split it."""
    path = tmp_path / "评审包.xlsx"
    path.write_bytes(with_padding(genuine_pack(), 1_200_000))
    result = read_returned(path, Limits(max_bytes=50_000))
    assert [f.code for f in result.findings] == ["F105"]
    assert "按评审包中的 2 张评分表计算" in result.findings[0].message and "--split" in result.findings[0].message
    assert result.sha256 == ""                          # never read


def test_a_return_that_declares_scorecards_is_held_to_a_returns_limits(tmp_path):
    """A return with 40 empty sheets and a `_meta` row 10 (where a pack keeps scorecard_count) saying 5 000 wins
    the budget of 47 sheets (1 MB + 47 × 32 KB) before it is read; read, it is a return: held to a return's
    limit (here 1 MB), F105."""
    from workbook_templates.contract import META_SHEET
    from tests.returns import patched
    from tests.workbooks import sheet_xml_parts
    data = with_empty_sheets(base_return(), 40)
    row = b'<row r="10"><c r="B10"><v>5000</v></c></row></sheetData>'
    data = patched(data, {sheet_xml_parts(data)[META_SHEET]: lambda xml: xml.replace(b"</sheetData>", row)})
    path = tmp_path / "单位.xlsx"
    path.write_bytes(with_padding(data, 1_500_000))
    result = read_returned(path, Limits(max_bytes=1_000_000))
    assert [f.code for f in result.findings] == ["F105"], result.findings
    assert "不是评审包" in result.findings[0].message and result.sha256        # read, then held


def test_the_summary_is_well_formed_and_carries_nothing_smuggled(corpus):
    scan_summary(corpus["summary"])
    book = openpyxl.load_workbook(corpus["summary"], read_only=True)
    names = [row[0] for row in book["汇总"].iter_rows(min_row=3, values_only=True)]
    book.close()
    assert len(names) == sum(1 for f in corpus["files"].values()
                             if f["status"] == CONSOLIDATED and f["kind"] == "return")
    assert '=HYPERLINK("http://example.com","点击")' in names      # a name, shown as text, never a formula


def test_what_no_writer_can_carry_is_shown_as_a_replacement_character(corpus):
    units = {u["file"]: u for u in corpus["report"]["units"]}
    assert units["name_escaped_lone_surrogate.xlsx"]["unit_name"] == "测试\ufffd局"
    assert units["name_escaped_fffe.xlsx"]["unit_name"] == "测试\ufffd局"
    assert units["name_shared_string_raw_control.xlsx"]["unit_name"] == "共享\ufffd字符串"
    assert units["name_at_cell_limit.xlsx"]["unit_name"] == LONG
    for unit in units.values():              # what the reader returns (a file's path is shown as it is)
        for key, value in unit.items():
            assert key == "file" or not (isinstance(value, str) and UNSAFE.search(value)), unit["file"]


def test_the_text_hint_quotes_a_bounded_window():
    assert _text_hint(QUADRATIC, "千瓦时") == "请填写纯数字，如 2000万 填 20000000"
    assert _text_hint("用电 2000 万", "千瓦时") == "请填写纯数字，如 2000万 填 20000000"
    assert _text_hint("1.5亿", "千瓦时") == "请填写纯数字，如 1.5亿 填 150000000"


# ---------------------------------------------------------------- outside a folder run

def test_an_unreadable_subfolder_is_rejected_and_the_run_goes_on(tmp_path, monkeypatch):
    folder = tmp_path / "回收目录"
    (folder / "锁住的文件夹").mkdir(parents=True)
    (folder / "锁住的文件夹" / "a.xlsx").write_bytes(b"x")
    (folder / "好的.xlsx").write_bytes(with_code(base_return(), code(1)))
    real = os.scandir

    def scandir(path):
        if Path(path).name == "锁住的文件夹":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)
    monkeypatch.setattr(walk_module.os, "scandir", scandir)
    run = consolidate(folder, spec=SPEC, workers=1)
    files = {f.path: f for f in run.files}
    assert files["锁住的文件夹/"].status == REJECTED and files["锁住的文件夹/"].findings[0].code == "F123"
    assert "读取权限" in files["锁住的文件夹/"].findings[0].message
    assert files["好的.xlsx"].status == CONSOLIDATED
    write_outputs(run, tmp_path / "汇总.xlsx", tmp_path / "r.json", SPEC)
    scan_summary(tmp_path / "汇总.xlsx")


def test_the_time_budget_rejects_a_file_that_takes_too_long(tmp_path):
    path = tmp_path / "slow.xlsx"
    path.write_bytes(base_return())
    result = read_returned(path, Limits(seconds=0.0))
    assert [f.code for f in result.findings] == ["F120"]
    assert "秒" in result.findings[0].message


@pytest.mark.skipif(not POSIX, reason="the hard stop is an interval timer (POSIX)")
def test_the_hard_stop_interrupts_a_step_that_never_asks(tmp_path, monkeypatch):
    """A step of the reader that loops without asking the deadline (a defect some file could trigger) is
    interrupted by the timer: the file is rejected with F120, the run goes on."""
    from addin.consolidate import read as read_module

    def forever(data, limits, deadline=None):
        while True:
            pass
    monkeypatch.setattr(read_module, "_read", forever)
    path = tmp_path / "stuck.xlsx"
    path.write_bytes(base_return())
    result = read_returned(path, Limits(seconds=0.2))
    assert [f.code for f in result.findings] == ["F120"]


@pytest.mark.skipif(not POSIX, reason="FIFOs are POSIX")
def test_a_fifo_in_a_files_place_is_never_waited_on(tmp_path):
    fifo = tmp_path / "换成管道.xlsx"
    os.mkfifo(fifo)
    assert [f.code for f in read_returned(fifo).findings] == ["F122"]       # returns at once: no writer needed


def test_outputs_escape_what_xml_cannot_hold():
    xml = cell("甲\ufffe乙\ud800丙\x02丁_x0041_", 5, 6, 7)
    assert "_xFFFE_" in xml and "\ufffd" in xml and "_x0002_" in xml and "_x005F_x0041_" in xml
    long = writable_text("汉" * (CELL_LIMIT + 10))
    assert long.endswith(TRUNCATED) and len(long) == CELL_LIMIT
    pairs = writable_text("😀" * CELL_LIMIT)
    assert pairs.endswith(TRUNCATED) and len(pairs.encode("utf-16-le")) // 2 <= CELL_LIMIT
    assert hasattr(SafeWorksheet.__mro__[1], "_write_string")            # the XlsxWriter hook is still there


def test_the_summary_of_the_worst_names_opens_and_is_clean(tmp_path):
    """XlsxWriter's own cells too (统计 groups regions, 说明 lists the folder): a region of lone surrogates and
    a 40 000-character name."""
    folder = tmp_path / "回收目录_\udcb5"
    folder.mkdir()
    d = with_code(base_return(), code(5))
    d = set_inline(d, "unit_region", "_xD800_" * 10 + "州")
    d = set_inline(d, "unit_name", "名" * CELL_LIMIT)
    (folder / "a.xlsx").write_bytes(d)
    run = consolidate(folder, spec=SPEC, workers=1)
    write_outputs(run, tmp_path / "汇总.xlsx", tmp_path / "r.json", SPEC)
    scan_summary(tmp_path / "汇总.xlsx")
    report = json.loads((tmp_path / "r.json").read_text("utf-8"))
    assert report["folder"].endswith("回收目录_\\xB5")
    openpyxl.load_workbook(tmp_path / "汇总.xlsx").close()


def test_a_reviewer_name_that_no_writer_can_carry(tmp_path):
    """A review pack whose reviewer typed (or a tool wrote) `_xD800_` and `_xFFFE_`: read, scored, written."""
    from addin.review.pack import build_review_pack
    from tests.hostile import set_local_inline

    folder = tmp_path / "回收目录"
    folder.mkdir()
    for i in (1, 2):
        (folder / f"单位{i}.xlsx").write_bytes(with_code(base_return(), code(800 + i)))
    pack = build_review_pack(folder, "县市区", region=None, seed=1, spec=SPEC).data
    (folder / "评审包.xlsx").write_bytes(set_local_inline(pack, "rev_reviewer", "评审_xD800_人_xFFFE_"))
    run = consolidate(folder, spec=SPEC, workers=1)
    packs = [f for f in run.files if f.kind == "review"]
    assert len(packs) == 1 and packs[0].status == CONSOLIDATED, packs[0].findings
    reviewers = {c["values"].get("rev_reviewer") for c in packs[0].scorecards}
    assert reviewers == {"评审\ufffd人\ufffd"}
    write_outputs(run, tmp_path / "汇总.xlsx", tmp_path / "r.json", SPEC)
    scan_summary(tmp_path / "汇总.xlsx")
    json.loads((tmp_path / "r.json").read_text("utf-8"))


def test_the_walk_shows_each_path_relative_to_its_folder_and_unique(tmp_path):
    """The paths the outputs show are each file's and skipped folder's path relative to the returns folder with `/`
    (as pathlib's relative_to().as_posix() gives it), the reviews folder's under its name; a name shown like
    another one (a review folder named like a returns sub-folder) gets 「 #2」 in path order."""
    returns, reviews = tmp_path / "回收", tmp_path / "外部" / "评审包"
    for rel in ("a.xlsx", "a-b/c.xlsx", "a/b/c.xlsx", "评审包/x.xlsx", "sp ace/. x.xlsx"):
        (returns / rel).parent.mkdir(parents=True, exist_ok=True)
        (returns / rel).write_bytes(b"x")
    odd = os.fsencode(returns) + b"/" + "天池县".encode("gbk") + b".xlsx"     # not UTF-8: shown as \xCC…
    with open(odd, "wb") as f:
        f.write(b"x")
    (returns / ".git").mkdir()
    reviews.mkdir(parents=True)
    (reviews / "x.xlsx").write_bytes(b"x")
    found = walk_module.survey(returns, reviews)
    expected = {p: (p.relative_to(returns).as_posix() if p.is_relative_to(returns)
                    else "评审包/" + p.relative_to(reviews).as_posix()) for p in found.files}
    expected[returns / ".git"] = ".git/"
    expected = {p: walk_module.shown_path(rel) for p, rel in expected.items()}
    expected[reviews / "x.xlsx"] = "评审包/x.xlsx #2"        # after 回收/评审包/x.xlsx in path order
    assert found.rels == expected
    assert "\\xCC\\xEC\\xB3\\xD8\\xCF\\xD8.xlsx" in found.rels.values()
