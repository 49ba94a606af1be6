"""The small shared helpers: `generator.ooxml` (output-path check, zip-level reading and rewriting) and
`generator.formats` (number formats from the spec's precision) — and that neither they nor the contract constants
(`workbook_templates.contract`) import openpyxl, so the consolidation can use them without it."""
from __future__ import annotations

import io
import subprocess
import sys
import zipfile

import pytest

from generator.formats import number_format, number_formats
from generator.ooxml import (FIXED_TIME, check_output, inflate, read_zip, replace_entries, rewrite_zip,
                             with_fixed_times)
from workbook_templates import OutputError, load_spec

SPEC = load_spec()


def a_zip(**parts: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return out.getvalue()


def contents(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.testzip() is None
        return {n: z.read(n) for n in z.namelist()}


@pytest.mark.parametrize("module", ["generator.ooxml", "generator.formats", "workbook_templates.contract"])
def test_importing_leaves_openpyxl_out(module):
    code = f"import sys, {module}; assert 'openpyxl' not in sys.modules, sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_check_output_names_the_path_and_what_to_do(tmp_path):
    assert check_output(tmp_path / "汇总.XLSX", ".xlsx", "汇总表") == tmp_path / "汇总.XLSX"
    with pytest.raises(OutputError, match=r"评审包「.*x\.xls」应以 \.xlsx 结尾"):
        check_output(tmp_path / "x.xls", ".xlsx", "评审包")
    with pytest.raises(OutputError, match=r"汇总表所在的文件夹「.*没有」不存在：请先创建"):
        check_output(tmp_path / "没有" / "汇总.xlsx", ".xlsx", "汇总表")
    (tmp_path / "a.xlsx").mkdir()
    with pytest.raises(OutputError, match="是一个文件夹"):
        check_output(tmp_path / "a.xlsx", ".xlsx", "评审包")
    (tmp_path / "dist").write_text("")
    with pytest.raises(OutputError, match="是一个文件：-o 应为输出目录"):
        check_output(tmp_path / "dist", None, "输出目录")
    assert check_output(tmp_path / "新目录", None, "输出目录") == tmp_path / "新目录"


def test_replace_entries_changes_only_those_entries():
    base = a_zip(**{"a.xml": b"<a/>" * 100, "b.xml": b"<b/>", "c.xml": b"<c/>" * 50})
    entries = read_zip(base)
    assert [e.name for e in entries] == ["a.xml", "b.xml", "c.xml"]
    assert [inflate(e) for e in entries] == [b"<a/>" * 100, b"<b/>", b"<c/>" * 50]
    new = replace_entries(entries, {0: b"<x/>", 2: b"<y/>" * 3})
    assert contents(new) == {"a.xml": b"<x/>", "b.xml": b"<b/>", "c.xml": b"<y/>" * 3}
    assert read_zip(new)[1].local == entries[1].local            # untouched entries are copied byte for byte
    assert replace_entries(entries, {}) == base


def test_rewrite_zip_edits_parts_and_fixes_times():
    base = a_zip(**{"docProps/core.xml": b"<dcterms:created x='1'>2024-05-06T07:08:09Z</dcterms:created>",
                    "b.xml": b"<b/>"})
    assert contents(rewrite_zip(base)) == contents(base)
    assert contents(rewrite_zip(base, lambda name, data: data.upper()))["b.xml"] == b"<B/>"
    fixed = with_fixed_times(base)
    assert b"2000-01-01T00:00:00Z" in contents(fixed)["docProps/core.xml"]
    assert {i.date_time for i in zipfile.ZipFile(io.BytesIO(fixed)).infolist()} == {FIXED_TIME.timetuple()[:6]}
    assert with_fixed_times(base) == fixed


def test_number_formats_follow_the_precision():
    assert (number_format(2), number_format(4, True), number_format(0, True)) == ("0.00", "#,##0.0000", "#,##0")
    p = SPEC.precision
    f = number_formats(SPEC)
    assert f["kgce"] == number_format(p.kgce, True) and f["co2_t"] == number_format(p.co2_t, True)
    assert f["change"] == number_format(p.change_pct) and f["score"] == number_format(p.score)
    f["extra"] = "@"
    assert "extra" not in number_formats(SPEC)                    # a fresh dict each time
