"""Reading one returned workbook safely (the `addin.consolidate.read` package): every fixture is built here, none checked in.

* the generated workbook, filled with openpyxl and recalculated by LibreOffice (a stand-in for a WPS/Excel
  save: shared strings, cached results, a 参数 sheet that became "hidden") reads back to the very values
  `udfs.evaluate` gives, with formulas, cached results, factors and identity;
* the openpyxl-saved file (never recalculated) has formulas but no cached results;
* bad input — empty, random bytes, a real .xls, an encrypted file, macros, zip bombs (honest and lying
  headers), entity expansion and external entities, HTML and CSV renamed, missing and unknown versions, a
  formula overwritten by a number, an error value, an I/O error, mutated bytes — each gives its F1xx code and
  `read_returned` never raises;
* the scan (byte search for the needed cells) and the whole-part parse give the same result;
* lock, hidden and system files are skipped; a long non-ASCII path reads fine.
"""
from __future__ import annotations

import hashlib
import io
import os
import random
import re
import struct
import time
import zipfile
from functools import lru_cache
from pathlib import Path

import pytest

import generator
from addin.consolidate.read import ReadResult, read_returned
from addin.consolidate.read.preflight import Limits, Package
from addin.consolidate.read.rejected import Rejected
from addin.consolidate.read.workbook import Workbook
from addin.consolidate.read.xmlscan import _cut_cells, _scan_strings, shared_strings, sheet_values
from addin.consolidate.walk import skip_reason
from udfs.intake import Extracted
from workbook_templates import load_spec
from workbook_templates.contract import KNOWN_TEMPLATE_VERSIONS, PARAM_COLUMNS, TEMPLATE_VERSION

from tests import libreoffice
from tests.returns import convert, make_zip, patched, replace_cell, zip_parts
from tests.workbooks import complete_unit, edge_states, mismatches, named_locations, plan, sheet_xml_parts

SPEC = load_spec()
YEAR, PRESET = SPEC.default_year, SPEC.default_preset
UNIT = {"unit_name": "昌吉市测试局", "unit_code": "11652301MB12345630", "unit_level": "县市区级",
        "unit_region": "昌吉回族自治州"}
UNIT_NAMES = tuple(UNIT)
WORKBOOK = "xl/workbook.xml"
PARAMS = tuple(PARAM_COLUMNS)          # the 参数 sheet's keyed table: ("C", "D", "E")


# ---------------------------------------------------------------- building fixtures

def _inputs(state: dict) -> dict:
    """A fill state without the unit cells (the personalised template already holds UNIT)."""
    return {k: v for k, v in state.items() if k not in UNIT_NAMES}


STATES = {"complete": _inputs(complete_unit()), "text_in_numbers": _inputs(dict(edge_states())["text_in_numbers"])}


@lru_cache(maxsize=None)
def filled(label: str = "complete") -> bytes:
    """The personalised template filled with openpyxl, as a unit would (no cached results)."""
    return generator.fill_workbook(generator.template_bytes(SPEC, YEAR, PRESET, unit=UNIT), STATES[label])


def write(tmp_path: Path, data: bytes, name: str = "returned.xlsx") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def read_ok(path: Path, **kwargs) -> ReadResult:
    result = read_returned(path, **kwargs)
    assert isinstance(result, ReadResult)
    assert result.status == "ok", result.findings
    assert result.findings == [] and isinstance(result.extracted, Extracted)
    return result


def rejected(path: Path, code: str, **kwargs) -> ReadResult:
    """`read_returned` did not raise, rejected the file with exactly this code, and said what to do."""
    result = read_returned(path, **kwargs)
    assert isinstance(result, ReadResult)
    assert result.status == "rejected"
    assert [f.code for f in result.findings] == [code], result.findings
    assert result.findings[0].severity(SPEC) == "错误"
    assert "请" in result.findings[0].message
    return result


def sheet_part(data: bytes, name: str) -> tuple[str, str]:
    """(worksheet part, cell) holding a contract name, resolved through the file's own rels."""
    title, ref = named_locations()[name]
    return sheet_xml_parts(data)[title], ref


def derived_formula_names() -> set[str]:
    """Contract names whose cell the plan lays out as a formula."""
    return {name for name, (sheet, ref) in plan().named().items() if sheet.cells[ref].formula is not None}


def input_values_equal(ex: Extracted, inputs: dict) -> list[str]:
    bad = []
    for name, want in inputs.items():
        got = ex.values.get(name)
        if isinstance(want, (int, float)) and not isinstance(want, bool):
            ok = isinstance(got, float) and got == float(want)
        else:
            ok = got == (want if want != "" else None)
        if not ok:
            bad.append(f"{name}: read {got!r}, filled {want!r}")
    return bad


# ---------------------------------------------------------------- LibreOffice fixtures

@pytest.fixture(scope="module")
def recalculated(tmp_path_factory) -> dict[str, Path]:
    """State label → the filled workbook recalculated and saved by LibreOffice (one soffice call)."""
    src = tmp_path_factory.mktemp("filled")
    files = [write(src, filled(label), f"{label}.xlsx") for label in STATES]
    outputs = libreoffice.recalculate(files, tmp_path_factory.mktemp("recalculated"))
    return dict(zip(STATES, outputs))


@pytest.fixture(scope="module")
def legacy_xls(tmp_path_factory) -> Path:
    src = write(tmp_path_factory.mktemp("for-xls"), filled(), "returned.xlsx")
    return convert([src], tmp_path_factory.mktemp("xls"), "xls")[0]


# ---------------------------------------------------------------- a recalculated returned workbook

@pytest.mark.libreoffice
@pytest.mark.parametrize("label", list(STATES))
def test_recalculated_workbook_reads_back_what_udfs_computes(recalculated, label):
    path = recalculated[label]
    result = read_ok(path)
    ex = result.extracted
    assert zip_parts(path.read_bytes()).get("xl/sharedStrings.xml"), "LibreOffice saves shared strings"
    assert ex.errors == {}
    assert mismatches(ex.values, STATES[label]) == []            # every derived name equals udfs.evaluate
    assert input_values_equal(ex, STATES[label]) == []            # numbers as numbers, text as text
    formulas = derived_formula_names()
    assert ex.formulas == formulas and ex.cached == formulas
    assert set(ex.cells) == set(named_locations())
    assert all(ex.cells[n] == "!".join(named_locations()[n]) for n in ex.cells)


@pytest.mark.libreoffice
def test_recalculated_workbook_identity_unit_and_shared_strings(recalculated):
    path = recalculated["text_in_numbers"]
    result = read_ok(path)
    assert result.unit == UNIT                                    # text read from the shared-string table
    expected = {"template_version": TEMPLATE_VERSION, "assessment_year": SPEC.year(None).year,
                "factor_preset": SPEC.preset(None).id, "spec_digest": SPEC.digest}
    assert {k: result.meta.get(k) for k in expected} == expected   # (and the choices and signature `_meta` records)
    assert result.extracted.values["prev_electricity_kwh"] == "2000万"
    assert result.extracted.values["cur_water_m3"] == "1,234"
    assert result.extracted.values["prev_area_m2"] == " "         # kept as stored (the checks decide)
    data = path.read_bytes()
    assert result.size == len(data) and result.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.libreoffice
def test_recalculated_workbook_params_from_a_hidden_sheet(recalculated):
    path = recalculated["complete"]
    book = zip_parts(path.read_bytes())[WORKBOOK].decode()
    assert re.search(r'<sheet name="参数"[^>]*state="hidden"', book), "LibreOffice turns veryHidden into hidden"
    params = read_ok(path).extracted.params
    assert params == pytest.approx(expected_params(), rel=1e-12)  # LibreOffice writes 15 significant digits


def expected_params() -> dict[str, float]:
    sheet = plan().sheet("参数")
    out, row = {}, 2
    while f"A{row}" in sheet.cells:
        key = sheet.cells[f"A{row}"].value
        for col, part in (("C", "factor"), ("D", "extra"), ("E", "co2")):
            out[f"{key}.{part}"] = sheet.cells[f"{col}{row}"].value
        row += 1
    assert len(out) >= 3 * 8
    return out


@pytest.mark.libreoffice
def test_scan_and_whole_part_parse_agree_on_a_libreoffice_save(recalculated):
    for path in recalculated.values():
        assert extract_both(path.read_bytes())


@pytest.mark.libreoffice
def test_formula_overwritten_in_a_libreoffice_save(recalculated, tmp_path):
    data = replace_cell(recalculated["complete"].read_bytes(), "cur_total_kgce",
                        lambda ref: f'<c r="{ref}" s="0" t="n"><v>12345</v></c>')
    ex = read_ok(write(tmp_path, data)).extracted
    assert "cur_total_kgce" not in ex.formulas and "cur_total_kgce" not in ex.cached
    assert ex.values["cur_total_kgce"] == 12345.0
    assert "prev_total_kgce" in ex.formulas


@pytest.mark.libreoffice
def test_real_xls_is_rejected(legacy_xls):
    assert legacy_xls.read_bytes()[:8] == bytes.fromhex("D0CF11E0A1B11AE1")
    result = rejected(legacy_xls, "F103")
    assert ".xlsx" in result.findings[0].message and result.extracted is None


# ---------------------------------------------------------------- the openpyxl-saved file and the template

def test_openpyxl_saved_file_has_formulas_but_no_cached_results(tmp_path):
    result = read_ok(write(tmp_path, filled()))
    ex = result.extracted
    assert ex.formulas == derived_formula_names()
    assert ex.cached == set()
    assert all(ex.values[n] is None for n in ex.formulas)         # nothing cached: blank, never 0
    assert input_values_equal(ex, STATES["complete"]) == []
    assert result.unit == UNIT and result.meta["template_version"] == TEMPLATE_VERSION
    assert "xl/sharedStrings.xml" not in zip_parts(filled())      # inline strings only
    assert ex.params == expected_params()


def test_generated_template_caches_blank_results(tmp_path):
    """The generator writes `t="str"` with an empty `<v></v>` for a blank result: cached, value None."""
    ex = read_ok(write(tmp_path, generator.template_bytes(SPEC, YEAR, PRESET, unit=UNIT))).extracted
    assert ex.cached == ex.formulas == derived_formula_names()
    assert ex.values["cur_total_kgce"] is None
    assert ex.values["self_missing_count"] == len(SPEC.indicators)


def test_scan_and_whole_part_parse_agree_on_openpyxl_files():
    assert extract_both(filled())
    assert extract_both(filled("text_in_numbers"))
    assert extract_both(generator.template_bytes(SPEC, YEAR, PRESET))


def extract_both(data: bytes) -> bool:
    """The scan and the whole-part parse give the same Extracted, and the scan really is used (no fallback)."""
    package = Package(data, Limits())
    for title, part in Workbook.load(package).sheet_parts.items():
        if title != "填表说明":
            assert _cut_cells(package.read(part), part, {"A1"}, PARAMS if title == "参数" else ()) is not None, part
    if package.has("xl/sharedStrings.xml"):
        assert _scan_strings(package.read("xl/sharedStrings.xml"), "sst", {0, 5}) is not None
    results = []
    for scan in (True, False):
        book = Workbook.load(Package(data, Limits()), scan=scan)
        results.append(book.extract(list(book.names), params=True))
    assert results[0] == results[1]
    assert len(results[0].values) + len(results[0].errors) > 150
    return True


def test_formula_overwritten_by_a_number(tmp_path):
    data = replace_cell(filled(), "cur_energy_per_capita", lambda ref: f'<c r="{ref}"><v>88.5</v></c>')
    ex = read_ok(write(tmp_path, data)).extracted
    assert "cur_energy_per_capita" not in ex.formulas
    assert ex.values["cur_energy_per_capita"] == 88.5
    assert ex.formulas == derived_formula_names() - {"cur_energy_per_capita"}


def test_error_values_are_errors_not_values(tmp_path):
    data = replace_cell(filled(), "chg_energy_per_capita",
                        lambda ref: f'<c r="{ref}" t="e"><f>(E4-D4)/D4*100</f><v>#DIV/0!</v></c>')
    data = replace_cell(data, "cur_people", lambda ref: f'<c r="{ref}" t="e"><v>#N/A</v></c>')
    ex = read_ok(write(tmp_path, data)).extracted
    assert ex.errors == {"chg_energy_per_capita": "#DIV/0!", "cur_people": "#N/A"}
    assert "chg_energy_per_capita" not in ex.values and "cur_people" not in ex.values
    assert "chg_energy_per_capita" in ex.formulas and "chg_energy_per_capita" in ex.cached
    assert ex.cells["cur_people"] == "!".join(named_locations()["cur_people"])


def test_edited_factor_is_read_as_edited(tmp_path):
    sheet = sheet_xml_parts(filled())["参数"]
    row = next(r for r in range(2, 40) if plan().sheet("参数").cells[f"A{r}"].value == "electricity")

    def edit(xml: bytes) -> bytes:
        return re.sub(rb'<c r="C%d"[^>]*?(?:/>|>.*?</c>)' % row, b'<c r="C%d"><v>0.5</v></c>' % row, xml, count=1)
    params = read_ok(write(tmp_path, patched(filled(), {sheet: edit}))).extracted.params
    assert params["electricity.factor"] == 0.5
    assert params["electricity.extra"] == expected_params()["electricity.extra"]


# ---------------------------------------------------------------- identity

def test_missing_template_version_is_not_a_jieyue_workbook(tmp_path):
    def drop(xml: bytes) -> bytes:
        out, n = re.subn(rb'<definedName name="template_version">[^<]*</definedName>', b"", xml)
        assert n == 1
        return out
    result = rejected(write(tmp_path, patched(filled(), {WORKBOOK: drop})), "F109")
    assert result.extracted is None
    assert result.unit == UNIT                                    # still shown in the report
    assert "下发的工作簿" in result.findings[0].message


def test_workbook_without_any_names(tmp_path):
    import openpyxl
    wb = openpyxl.Workbook()
    wb.active["A1"] = "单位名称"
    buffer = io.BytesIO()
    wb.save(buffer)
    result = rejected(write(tmp_path, buffer.getvalue()), "F109")
    assert result.unit == {} and result.meta == {}


def test_unknown_template_version(tmp_path):
    assert KNOWN_TEMPLATE_VERSIONS == {TEMPLATE_VERSION}
    data = replace_cell(filled(), "template_version",
                        lambda ref: f'<c r="{ref}" t="inlineStr"><is><t>0.9</t></is></c>')
    result = rejected(write(tmp_path, data), "F110")
    assert result.meta["template_version"] == "0.9"
    assert "0.9" in result.findings[0].message
    assert result.findings[0].cell == "!".join(named_locations()["template_version"])
    assert result.extracted is not None and result.unit == UNIT   # shown, not consolidated


# ---------------------------------------------------------------- pre-flight

def test_zero_byte_file(tmp_path):
    result = rejected(write(tmp_path, b""), "F101")
    assert result.size == 0 and result.sha256 == hashlib.sha256(b"").hexdigest()


def test_random_bytes_named_xlsx(tmp_path):
    data = random.Random(7).randbytes(5000)
    assert not data.startswith((b"PK", bytes.fromhex("D0CF")))
    rejected(write(tmp_path, data), "F102")


@pytest.mark.parametrize("content, word", [
    (b"<!DOCTYPE html><html><head><meta charset='utf-8'></head><body><table><tr><td>1</td></tr></table>"
     b"</body></html>", "HTML"),
    ("\ufeff单位名称,用电量\n示例局,2000万\n".encode("utf-8"), "CSV"),
    ("单位名称,用电量\r\n示例局,2000万\r\n".encode("gbk"), "CSV"),
    (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "PDF"),
])
def test_renamed_html_csv_pdf_say_what_they_look_like(tmp_path, content, word):
    result = rejected(write(tmp_path, content), "F102")
    assert word in result.findings[0].message


@pytest.mark.parametrize("parts, word", [
    ({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<x/>"}, "ods"),
    ({"a.xlsx": b"PK", "b.xlsx": b"PK"}, "解压"),
    ({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"}, "Word"),
])
def test_zips_that_are_not_workbooks(tmp_path, parts, word):
    result = rejected(write(tmp_path, make_zip(parts)), "F102")
    assert word in result.findings[0].message


def test_truncated_zip(tmp_path):
    rejected(write(tmp_path, filled()[:20000]), "F102")


def test_too_large(tmp_path):
    path = write(tmp_path, filled())
    result = rejected(path, "F105", limits=Limits(max_bytes=10_000))
    assert result.size == path.stat().st_size and result.sha256 == ""
    assert read_returned(path).status == "ok"                      # the default limit is 20 MB


def ole_file(*directory_names: str) -> bytes:
    """An OLE compound-file header followed by directory entries (names in UTF-16LE, as OLE stores them)."""
    header = bytes.fromhex("D0CF11E0A1B11AE1") + bytes(16) + struct.pack("<HH", 0x3E, 3) + bytes(512 - 28)
    entries = b"".join(name.encode("utf-16-le").ljust(64, b"\0") + bytes(64) for name in directory_names)
    return header + entries + bytes(1024)


def test_fake_encrypted_workbook(tmp_path):
    result = rejected(write(tmp_path, ole_file("Root Entry", "EncryptionInfo", "EncryptedPackage")), "F104")
    assert "密码" in result.findings[0].message


def test_ole_without_encryption_is_a_legacy_file(tmp_path):
    rejected(write(tmp_path, ole_file("Root Entry", "Workbook", "\x05SummaryInformation")), "F103")


def test_vba_project_is_rejected(tmp_path):
    parts = zip_parts(filled())
    parts["xl/vbaProject.bin"] = bytes(2048)
    result = rejected(write(tmp_path, make_zip(parts)), "F107")
    assert "不含宏" in result.findings[0].message and result.extracted is None


def test_macro_enabled_content_type_is_rejected(tmp_path):
    def macro(xml: bytes) -> bytes:
        return xml.replace(b"spreadsheetml.sheet.main+xml", b"ms-excel.sheet.macroEnabled.main+xml")
    data = patched(filled(), {"[Content_Types].xml": macro})
    assert b"macroEnabled" in zip_parts(data)["[Content_Types].xml"]
    rejected(write(tmp_path, data), "F107")


def test_zip_encrypted_entry(tmp_path):
    data = bytearray(make_zip({"[Content_Types].xml": b"<Types/>", WORKBOOK: b"<workbook/>"}))
    for sig, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        for m in re.finditer(re.escape(sig), bytes(data)):
            data[m.start() + flag_at] |= 1
    rejected(write(tmp_path, bytes(data)), "F104")


# ---------------------------------------------------------------- zip bombs

BOMB_MB = 300


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """A workbook-looking zip whose xl/workbook.xml inflates to 300 MB of zeros (about 300 KB deflated),
    written in 1 MB chunks so that building it never holds the 300 MB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", zip_parts(filled())["[Content_Types].xml"])
        with z.open(WORKBOOK, "w") as f:
            chunk = bytes(1 << 20)
            for _ in range(BOMB_MB):
                f.write(chunk)
    return buffer.getvalue()


def test_zip_bomb_is_refused_from_the_central_directory(tmp_path, bomb):
    assert len(bomb) < 2 << 20
    started = time.perf_counter()
    result = rejected(write(tmp_path, bomb), "F106")
    assert time.perf_counter() - started < 1.0
    assert "压缩" in result.findings[0].message


def test_zip_bomb_with_lying_sizes_stops_at_the_declared_size(tmp_path, bomb):
    """Headers claiming 2 000 bytes for the 300 MB entry: the bounded reader stops there (the CRC then
    fails) instead of inflating the rest."""
    data = bytearray(bomb)
    name = WORKBOOK.encode()
    for sig, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        for m in re.finditer(re.escape(sig), bytes(data)):
            if data[m.start() + name_at:m.start() + name_at + len(name)] == name:
                struct.pack_into("<I", data, m.start() + size_at, 2000)
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        assert z.getinfo(WORKBOOK).file_size == 2000
    started = time.perf_counter()
    rejected(write(tmp_path, bytes(data)), "F106")
    assert time.perf_counter() - started < 1.0


def test_compression_ratio_limit(tmp_path):
    data = make_zip({"[Content_Types].xml": b"<Types/>", WORKBOOK: b"<workbook/>", "xl/media/x.bin": bytes(5 << 20)})
    result = rejected(write(tmp_path, data), "F106")
    assert "压缩比" in result.findings[0].message


def test_too_many_entries(tmp_path):
    parts = {f"xl/media/image{i}.png": b"x" for i in range(Limits().max_entries + 1)}
    rejected(write(tmp_path, make_zip(parts)), "F106")


def test_a_return_inflates_within_its_budget_a_review_pack_within_a_larger_one():
    """A unit's return may inflate 100 MB; a review pack (one sheet per unit) is allowed more, once its
    workbook names say it is one."""
    limits = Limits()
    assert Package(filled(), limits).budget == limits.inflate_budget < limits.review_inflate_budget
    assert limits.max_total_uncompressed >= limits.review_inflate_budget


def test_total_budget_counts_what_is_actually_inflated():
    package = Package(filled(), Limits())
    package.budget = len(zip_parts(filled())[WORKBOOK]) + 100
    package.read(WORKBOOK)
    with pytest.raises(Rejected) as e:
        package.read("xl/worksheets/sheet4.xml")
    assert e.value.finding.code == "F106"


# ---------------------------------------------------------------- XML attacks

LAUGHS = (b'<!DOCTYPE lolz [<!ENTITY lol "lol">' +
          b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%s;" % (str(i - 1).encode() if i > 1 else b"")) * 10)
                   for i in range(1, 10)) + b"]>")


def with_doctype(xml: bytes, doctype: bytes, reference: bytes, where: bytes) -> bytes:
    """The part with a DOCTYPE after its XML declaration and an entity reference placed after `where`."""
    decl_end = xml.index(b"?>") + 2 if xml.startswith(b"<?xml") else 0
    xml = xml[:decl_end] + doctype + xml[decl_end:]
    i = xml.index(where) + len(where)
    return xml[:i] + reference + xml[i:]


def test_billion_laughs_in_workbook_xml(tmp_path):
    laughs = lambda xml: with_doctype(xml, LAUGHS, b"&lol9;", b'<definedName name="unit_name">')  # noqa: E731
    data = patched(filled(), {WORKBOOK: laughs})
    started = time.perf_counter()
    result = rejected(write(tmp_path, data), "F108")
    assert time.perf_counter() - started < 1.0
    assert "DTD" in result.findings[0].message


def test_external_entity_in_a_worksheet(tmp_path):
    doctype = b'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    part, ref = sheet_part(filled(), "template_version")
    data = patched(filled(), {part: lambda x: with_doctype(x, doctype, b"&xxe;", b"<t>")})
    result = rejected(write(tmp_path, data), "F108")
    assert "root:" not in result.findings[0].message
    # the whole-part parser refuses it the same way
    with pytest.raises(Rejected) as e:
        sheet_values(zip_parts(data)[part], part, {ref}, scan=False)
    assert e.value.finding.code == "F108"


@pytest.mark.libreoffice
def test_entity_in_shared_strings(recalculated, tmp_path):
    data = patched(recalculated["complete"].read_bytes(),
                   {"xl/sharedStrings.xml": lambda x: with_doctype(x, LAUGHS, b"", b"<sst")})
    rejected(write(tmp_path, data), "F108")


def test_broken_xml(tmp_path):
    data = patched(filled(), {WORKBOOK: lambda x: x.replace(b"</definedNames>", b"</definedName>")})
    rejected(write(tmp_path, data), "F108")


# ---------------------------------------------------------------- never raises

def test_io_errors_are_findings(tmp_path):
    rejected(tmp_path, "F122" if os.name == "posix" else "F100")   # a directory: not a regular file
    result = rejected(tmp_path / "gone.xlsx", "F100")
    assert "无法读取" in result.findings[0].message


def test_mutated_files_never_raise(tmp_path):
    rng = random.Random(20231)
    original = filled()
    path = tmp_path / "m.xlsx"
    codes = set()
    for k in range(150):
        data = bytearray(original)
        if k % 3 == 0:
            data = data[:rng.randrange(len(data))]
        else:
            for _ in range(rng.randint(1, 20)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        path.write_bytes(bytes(data))
        result = read_returned(path)
        assert result.status in ("ok", "rejected")
        assert result.status == "ok" or all(f.code.startswith("F1") for f in result.findings)
        codes.update(f.code for f in result.findings)
    assert "F102" in codes and codes - {"F102"}                  # truncated, and damaged inside


# ---------------------------------------------------------------- parsing details on a hand-made workbook

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"

SST = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
       f'<sst xmlns="{MAIN}" count="5" uniqueCount="5">'
       '<si><t>1.0</t></si>'
       '<si><r><rPr><b/><color rgb="FFFF0000"/></rPr><t>富</t></r><r><t xml:space="preserve">文本 </t></r>'
       '<rPh sb="0" eb="1"><t>ふ</t></rPh></si>'
       '<si><t>第一行_x000D_第二行 &amp; _x005F_x0041_</t></si>'
       '<si/>'
       '<si><t>electricity</t></si>'
       '</sst>')


def sheet(cells: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{MAIN}" xmlns:r="{REL}">'
            f'<dimension ref="A1:F9"/><sheetData>{cells}</sheetData></worksheet>')


DATA_CELLS = (
    '<row r="1"><c r="A1" t="s"><v>1</v></c><c r="B1" t="str"><f>"x"&amp;"y"</f><v>xy</v></c>'
    '<c r="C1" t="str"><f>IF(TRUE,"","")</f><v></v></c>'
    '<c r="D1" t="inlineStr"><is><r><t>内</t></r><r><t>联</t></r></is></c>'
    '<c r="E1" t="b"><v>1</v></c><c r="F1" t="e"><f>1/0</f><v>#DIV/0!</v></c></row>'
    '<row r="2"><c r="A2"><v>2</v></c><c r="B2" t="n"><f t="shared" ref="B2:B3" si="0">A2*2</f><v>4</v></c>'
    '<c r="C2" s="1"/><c r="D2" t="d"><v>2023-08-10T00:00:00</v></c><c r="E2"><f>A2</f><v/></c>'
    '<c r="F2" t="s"><v>2</v></c></row>'
    '<row r="3"><c r="A3"><v>3.25</v></c><c r="B3"><f t="shared" si="0"/><v>6.5</v></c><c r="C3" t="s"><v>3</v></c>'
    '<c r="D3" t="b"><f>A3&gt;1</f><v>0</v></c></row>'
)
META_CELLS = '<row r="1"><c r="A1" t="inlineStr"><is><t>template_version</t></is></c><c r="B1" t="s"><v>0</v></c></row>'
PARAM_CELLS = ('<row r="1"><c r="A1" t="inlineStr"><is><t>行</t></is></c></row>'
               '<row r="2"><c r="A2" t="s"><v>4</v></c><c r="C2"><v>0.1229</v></c><c r="D2"><v>1</v></c>'
               '<c r="E2"><v>0.0005703</v></c></row>'
               '<row r="3"><c r="A3" t="inlineStr"><is><t> water </t></is></c>'
               '<c r="C3" t="inlineStr"><is><t>改</t></is></c>'
               '<c r="E3" t="e"><v>#REF!</v></c></row>'
               '<row r="5"><c r="A5" t="inlineStr"><is><t>after_a_gap</t></is></c><c r="C5"><v>9</v></c></row>')
NAMES = {
    "template_version": "_meta!$B$1", "shared": "'数据 表'!$A$1", "formula_text": "'数据 表'!$B$1",
    "blank_result": "'数据 表'!$C$1", "inline_rich": "'数据 表'!$D$1", "boolean": "'数据 表'!$E$1",
    "error": "'数据 表'!$F$1", "number": "'数据 表'!$A$2", "shared_formula": "'数据 表'!$B$2",
    "styled_empty": "'数据 表'!$C$2", "date": "'数据 表'!$D$2", "uncached": "'数据 表'!$E$2",
    "escaped": "'数据 表'!$F$2", "decimal": "'数据 表'!$A$3", "shared_formula_child": "'数据 表'!$B$3",
    "empty_string": "'数据 表'!$C$3", "false": "'数据 表'!$D$3", "absent": "'数据 表'!$F$9",
    "quoted": "'It''s'!$A$1", "unquoted": "_meta!B1",
}
EXPECTED = Extracted(
    values={"template_version": "1.0", "shared": "富文本 ", "formula_text": "xy", "blank_result": None,
            "inline_rich": "内联", "boolean": True, "number": 2.0, "shared_formula": 4.0, "styled_empty": None,
            "date": "2023-08-10T00:00:00", "uncached": None, "escaped": "第一行\r第二行 & _x0041_",
            "decimal": 3.25, "shared_formula_child": 6.5, "empty_string": None, "false": False, "absent": None,
            "quoted": 7.0, "unquoted": "1.0"},
    errors={"error": "#DIV/0!"},
    formulas={"formula_text", "blank_result", "error", "shared_formula", "uncached", "shared_formula_child", "false"},
    cached={"formula_text", "blank_result", "error", "shared_formula", "shared_formula_child", "false"},
    cells={n: ref.replace("$", "").replace("''", "'").replace("'数据 表'", "数据 表").replace("'It's'", "It's")
           for n, ref in NAMES.items()},
    params={"electricity.factor": 0.1229, "electricity.extra": 1.0, "electricity.co2": 0.0005703,
            "water.factor": "改", "water.extra": None, "water.co2": "#REF!"},
)


def hand_made(data_cells: str = DATA_CELLS, sst: str = SST, data_sheet=sheet) -> bytes:
    names = "".join(f'<definedName name="{n}">{ref.replace("&", "&amp;")}</definedName>' for n, ref in NAMES.items())
    names += ('<definedName name="_xlnm.Print_Area" localSheetId="0">\'数据 表\'!$A$1:$F$3</definedName>'
              '<definedName name="local_one" localSheetId="0">\'数据 表\'!$A$2</definedName>'
              '<definedName name="deleted">#REF!</definedName>'
              '<definedName name="deleted_cell">\'数据 表\'!#REF!</definedName>'
              '<definedName name="a_range">\'数据 表\'!$A$1:$B$2</definedName>'
              '<definedName name="a_constant">0.5</definedName>'
              '<definedName name="other_book">[1]Sheet1!$A$1</definedName>'
              '<definedName name="no_such_sheet">\'没有\'!$A$1</definedName>')
    book = (f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>'
            '<sheet name="数据 表" sheetId="1" r:id="rId1"/><sheet name="It\'s" sheetId="2" r:id="rId2"/>'
            '<sheet name="_meta" sheetId="3" state="hidden" r:id="rId3"/>'
            '<sheet name="参数" sheetId="4" state="veryHidden" r:id="rId4"/></sheets>'
            f'<definedNames>{names}</definedNames></workbook>')
    rels = (f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG}">'
            f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="/xl/worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{REL}/worksheet" Target="worksheets/sheet2.xml"/>'
            f'<Relationship Id="rId3" Type="{REL}/worksheet" Target="./worksheets/../worksheets/sheet3.xml"/>'
            f'<Relationship Id="rId4" Type="{REL}/worksheet" Target="worksheets/sheet4.xml"/>'
            f'<Relationship Id="rId5" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
            f'<Relationship Id="rId6" Type="{REL}/hyperlink" Target="http://example.com" TargetMode="External"/>'
            '</Relationships>')
    return make_zip({
        "[Content_Types].xml": b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/'
                               b'2006/content-types"/>',
        WORKBOOK: book.encode(), "xl/_rels/workbook.xml.rels": rels.encode(), "xl/sharedStrings.xml": sst.encode(),
        "xl/worksheets/sheet1.xml": data_sheet(data_cells).encode(),
        "xl/worksheets/sheet2.xml": sheet('<row r="1"><c r="A1"><v>7</v></c></row>').encode(),
        "xl/worksheets/sheet3.xml": sheet(META_CELLS).encode(),
        "xl/worksheets/sheet4.xml": sheet(PARAM_CELLS).encode(),
    })


def test_hand_made_workbook_every_cell_type(tmp_path):
    result = read_ok(write(tmp_path, hand_made()))
    assert result.extracted == EXPECTED
    assert result.meta == {"template_version": "1.0"} and result.unit == {}
    data = hand_made()
    for scan in (True, False):
        book = Workbook.load(Package(data, Limits()), scan=scan)
        assert book.extract(list(book.names), params=True) == EXPECTED


@pytest.mark.parametrize("variant", ["attributes_reordered", "no_references", "comment", "cdata", "prefixed"])
def test_unusual_but_valid_sheets_are_parsed_whole_with_the_same_result(tmp_path, variant):
    cells = DATA_CELLS
    if variant == "attributes_reordered":
        cells = re.sub(r'<c r="([A-Z]+[0-9]+)"( [^>/]+)', r'<c\2 r="\1"', cells)
    elif variant == "no_references":                         # r is optional: positions are implied
        cells = re.sub(r' r="[A-Z]+[0-9]+"', "", cells)
    elif variant == "comment":                               # a commented-out cell must not be found
        cells = '<!-- <c r="A2"><v>999</v></c> -->' + cells
    elif variant == "cdata":
        cells = cells.replace("<v>xy</v>", '<v><![CDATA[xy]]></v>')
    elif variant == "prefixed":
        cells = cells.replace('<c r="A2"><v>2</v></c>', f'<x:c xmlns:x="{MAIN}" r="A2"><x:v>2</x:v></x:c>')
    if variant == "no_references":
        data = hand_made(cells)
        part = zip_parts(data)["xl/worksheets/sheet1.xml"]
        found = sheet_values(part, "sheet1", {"A1", "B2", "D3"})
        assert sorted(found) == ["A1", "B2", "D3"] and found["B2"].value == 4 and found["B2"].formula
        return
    result = read_ok(write(tmp_path, hand_made(cells)))
    assert result.extracted == EXPECTED


EXCEL_ROOT = (f'<worksheet xmlns="{MAIN}" xmlns:r="{REL}" '
              'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" mc:Ignorable="x14ac xr" '
              'xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac" '
              'xmlns:xr="http://schemas.microsoft.com/office/spreadsheetml/2014/revision" '
              'xr:uid="{00000000-0001-0000-0000-000000000000}">')


def excel_like_sheet(cells: str) -> str:
    """As Excel writes it: CRLF after the declaration, namespaces on the root, prefixed attributes on rows."""
    cells = re.sub(r'<row r="(\d+)">', r'<row r="\1" spans="1:6" x14ac:dyDescent="0.25">', cells)
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n' + EXCEL_ROOT +
            f'<dimension ref="A1:F9"/><sheetViews><sheetView workbookViewId="0"/></sheetViews>'
            f'<sheetFormatPr defaultRowHeight="15" x14ac:dyDescent="0.25"/><sheetData>{cells}</sheetData>'
            '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>')


def prefixed_sheet(cells: str) -> str:
    """As some OpenXML SDK writers do: every element prefixed (`<x:c>`), no default namespace."""
    xml = sheet(cells).replace(f'xmlns="{MAIN}"', f'xmlns:x="{MAIN}"')
    return re.sub(r"<(/?)(?![?!])(\w+)([ />])", r"<\1x:\2\3", xml)


def test_excel_like_sheet_is_scanned(tmp_path):
    data = hand_made(data_sheet=excel_like_sheet)
    part = zip_parts(data)["xl/worksheets/sheet1.xml"]
    assert _cut_cells(part, "sheet1", {"A1", "B3"}, ()) is not None
    assert read_ok(write(tmp_path, data)).extracted == EXPECTED


def test_fully_prefixed_sheet_is_parsed_whole(tmp_path):
    data = hand_made(data_sheet=prefixed_sheet)
    part = zip_parts(data)["xl/worksheets/sheet1.xml"]
    assert part.count(b"<x:c ") > 10 and _cut_cells(part, "sheet1", {"A1"}, ()) is None
    assert read_ok(write(tmp_path, data)).extracted == EXPECTED


def test_shared_string_lookup_scan_and_parse():
    data = SST.encode()
    for scan in (True, False):
        assert shared_strings(data, "sst", {0, 2, 4, 99}, scan=scan) == {
            0: "1.0", 2: "第一行\r第二行 & _x0041_", 4: "electricity"}


def test_shared_string_index_out_of_range(tmp_path):
    rejected(write(tmp_path, hand_made(DATA_CELLS.replace('<c r="A1" t="s"><v>1</v>', '<c r="A1" t="s"><v>77</v>'))),
             "F108")


def test_number_that_is_not_a_number(tmp_path):
    result = rejected(write(tmp_path, hand_made(DATA_CELLS.replace("<v>3.25</v>", "<v>3,25</v>"))), "F127")
    assert result.findings[0].cell == "数据 表!A3"


# ---------------------------------------------------------------- paths and skipped files

def test_long_non_ascii_path(tmp_path):
    folder = tmp_path
    for part in ("回收目录（2023年节约型机关复验）", "昌吉回族自治州各县市区机关事务管理局报送材料汇总",
                 "第二批次 邮件附件与U盘拷贝 整理后（请勿删除）", "县市区级单位（按地区分类，含补报与更正材料）",
                 "昌吉市", "2023年8月10日前收到的第一次报送文件"):
        folder = folder / part
    folder.mkdir(parents=True)
    path = write(folder, filled(), "昌吉市某某局 节约型机关复验填报工作簿（最终修改版）（已盖章）.xlsx")
    assert len(str(path)) > 200 and not str(path).isascii()
    result = read_ok(path)
    assert result.unit == UNIT


@pytest.mark.parametrize("name, skipped", [
    ("~$填报工作簿.xlsx", "锁定"), ("~$x.xlsx", "锁定"), (".~填报工作簿.xlsx", "隐藏"), ("._填报工作簿.xlsx", "隐藏"),
    (".hidden.xlsx", "隐藏"), ("Thumbs.db", "系统"), ("desktop.ini", "系统"), (".DS_Store", "系统"),
    ("填报工作簿.xlsx", None), ("填报工作簿.xls", None), ("名单.csv", None), ("说明.pdf", None), ("a~$b.xlsx", None),
])
def test_skip_reason(name, skipped):
    reason = skip_reason(Path("回收目录") / name)
    if skipped is None:
        assert reason is None
    else:
        assert reason is not None and skipped in reason


def test_skipped_names_are_not_read(tmp_path):
    """skip_reason looks at the name only: a lock file's content is never opened."""
    lock = tmp_path / "~$填报.xlsx"
    lock.write_bytes(b"\x00" * 165)
    assert skip_reason(lock) is not None
