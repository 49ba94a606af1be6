"""The reader's fast paths give exactly what its general paths give (`addin.consolidate.read`).

* a cell decoded in line (`xmlscan._decoded`: a number, a shared-string index, a blank) is the cell the whole-part
  parse gives — or the same refusal, word for word — on the awkward forms: exponents, signs, a bare ".5", spaces,
  `_`, full-width digits, inf/nan, an index with leading zeros or eleven digits, an explicit or empty type;
* a zip entry inflated straight from the file's bytes (`preflight._inflated_whole`) is what zipfile reads, and
  anything unusual (a bad CRC, a cut stream, a local header naming another part, another method) is left to
  zipfile, which says what is wrong;
* a part read again with the same bytes (`sheet_values`, `Package.read`) gives the same cells and bytes, and one
  byte changed is read afresh.
"""
from __future__ import annotations

import io
import struct
import zipfile
import zlib

import pytest

from addin.consolidate.read.preflight import Limits, Package, _inflated_whole
from addin.consolidate.read.rejected import Rejected
from addin.consolidate.read.xmlscan import sheet_values

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def sheet(cells: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{MAIN}">'
            f'<sheetData><row r="1">{cells}</row></sheetData></worksheet>').encode()


def read(part: bytes, scan: bool):
    """The cells at A1 and B1, or the finding that refuses the part."""
    try:
        return sheet_values(part, "xl/worksheets/sheet1.xml", {"A1", "B1"}, scan=scan, title="表")
    except Rejected as e:
        return e.finding


AWKWARD = [
    # numbers: what `_number` takes, and what it refuses (F127) — the in-line test must agree on each
    '<c r="A1"><v>1</v></c>', '<c r="A1"><v>-0</v></c>', '<c r="A1"><v>+2.5</v></c>', '<c r="A1"><v>.5</v></c>',
    '<c r="A1"><v>1.</v></c>', '<c r="A1"><v>1E+308</v></c>', '<c r="A1"><v>2.5e-3</v></c>',
    '<c r="A1"><v>1e999</v></c>', '<c r="A1"><v>inf</v></c>', '<c r="A1"><v>nan</v></c>',
    '<c r="A1"><v>Infinity</v></c>', '<c r="A1"><v> 1</v></c>', '<c r="A1"><v>1 </v></c>', '<c r="A1"><v>1_0</v></c>',
    '<c r="A1"><v>１２</v></c>', '<c r="A1"><v>3,25</v></c>', '<c r="A1"><v>0x10</v></c>', '<c r="A1"><v>-</v></c>',
    '<c r="A1" t="n"><v>7</v></c>', '<c r="A1" t=""><v>7</v></c>', '<c r="A1" t="n"><v>x</v></c>',
    # formulas: cached or not, blank results
    '<c r="A1"><f>B1*2</f><v>4</v></c>', '<c r="A1"><f>B1</f><v/></c>', '<c r="A1"><f>B1</f><v></v></c>',
    '<c r="A1"><f>B1</f></c>', '<c r="A1"><f/></c>', '<c r="A1" t="str"><f>""</f><v></v></c>',
    '<c r="A1" t="s"><f>B1</f><v>0</v></c>',
    # blanks
    '<c r="A1"/>', '<c r="A1" s="3"/>', '<c r="A1"></c>', '<c r="A1" t="n"/>', '<c r="A1" t="zz"/>',
    '<c r="A1" t="zz"><v>1</v></c>',
    # shared-string indices (beyond the table is the workbook's to refuse; here only the index itself)
    '<c r="A1" t="s"><v>0</v></c>', '<c r="A1" t="s"><v>007</v></c>', '<c r="A1" t="s"><v>9999999999</v></c>',
    '<c r="A1" t="s"><v>12345678901</v></c>', '<c r="A1" t="s"><v>-1</v></c>', '<c r="A1" t="s"><v>1.0</v></c>',
    '<c r="A1" t="s"><v>１</v></c>', '<c r="A1" t="s"><v></v></c>', '<c r="A1" t="s"/>',
    # the other types go the general way in both
    '<c r="A1" t="b"><v>1</v></c>', '<c r="A1" t="e"><v>#N/A</v></c>', '<c r="A1" t="str"><v>文本 _x0041_</v></c>',
    '<c r="A1" t="d"><v>2023-08-10</v></c>', '<c r="A1" t="inlineStr"><is><t>内联</t></is></c>',
    '<c r="A1" t="str"><v>a &amp; b</v></c>',
]


@pytest.mark.parametrize("cell", AWKWARD)
def test_a_cell_decoded_in_line_is_the_cell_the_parser_gives(cell):
    part = sheet(cell + '<c r="B1"><v>2</v></c>')
    assert read(part, scan=True) == read(part, scan=False)


def test_a_cell_decoded_in_line_keeps_its_number_exactly():
    # 0.1 + 0.2 as LibreOffice writes it (17 digits) and Excel's 15: both read to the very float
    part = sheet('<c r="A1"><v>0.30000000000000004</v></c><c r="B1"><v>0.3</v></c>')
    found = read(part, scan=True)
    assert found["A1"].value == 0.1 + 0.2 and found["B1"].value == 0.3
    assert found == read(part, scan=False)


def test_a_part_read_again_with_the_same_bytes_gives_the_same_cells():
    part = sheet('<c r="A1"><v>1</v></c><c r="B1"><v>2</v></c>')
    first = read(part, scan=True)
    assert read(bytes(part), scan=True) == first                  # equal bytes, another object
    changed = part.replace(b"<v>2</v>", b"<v>3</v>")
    assert read(changed, scan=True)["B1"].value == 3.0            # one byte changed: read afresh
    assert read(part, scan=True)["B1"].value == 2.0


# ---------------------------------------------------------------- zip entries

def zipped(parts: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """The parts, then an xl/workbook.xml (a package without one is not a workbook at all: F102)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as z:
        for name, data in {**parts, "xl/workbook.xml": b"<workbook/>"}.items():
            z.writestr(name, data)
    return out.getvalue()


PART = b"<worksheet>" + b"<row><c><v>1</v></c></row>" * 200 + b"</worksheet>"


def entry(data: bytes, name: str = "xl/a.xml") -> zipfile.ZipInfo:
    return zipfile.ZipFile(io.BytesIO(data)).getinfo(name)


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_an_entry_inflated_straight_from_the_bytes_is_what_zipfile_reads(method):
    data = zipped({"xl/a.xml": PART, "xl/b.xml": b""}, method)
    for name in ("xl/a.xml", "xl/b.xml"):
        assert _inflated_whole(data, entry(data, name)) == zipfile.ZipFile(io.BytesIO(data)).read(name)


def _with_crc(data: bytes, crc: int) -> bytes:
    """The zip with the first entry's CRC changed in the central directory (what zipfile checks)."""
    at = data.index(b"PK\x01\x02")
    return data[:at + 16] + struct.pack("<I", crc) + data[at + 20:]


def unusual() -> dict[str, bytes]:
    data = zipped({"xl/a.xml": PART})
    local_name = data.index(b"xl/a.xml")
    info = entry(data)
    end = info.header_offset + 30 + len(b"xl/a.xml") + info.compress_size    # where a.xml's stream ends
    return {
        "bad CRC": _with_crc(data, zlib.crc32(PART) ^ 1),
        "local header names another part": data[:local_name] + b"xl/b.xml" + data[local_name + 8:],
        "stream cut short": data[:end - 8] + b"\0" * 8 + data[end:],
        "bzip2": zipped({"xl/a.xml": PART}, zipfile.ZIP_BZIP2),
    }


@pytest.mark.parametrize("case", list(unusual()))
def test_an_unusual_entry_is_left_to_zipfile(case):
    data = unusual()[case]
    info = entry(data)
    if case == "bzip2":                                  # zipfile reads it: the package reads it the same
        assert _inflated_whole(data, info) is None
        assert Package(data, Limits()).read("xl/a.xml") == PART
        return
    assert _inflated_whole(data, info) is None
    with pytest.raises(Rejected) as e:                   # zipfile says what is wrong, as before
        Package(data, Limits()).read("xl/a.xml")
    assert e.value.finding.code == "F106"


def test_an_entry_read_again_with_the_same_compressed_bytes_gives_the_same_bytes():
    data = zipped({"xl/a.xml": PART})
    assert Package(data, Limits()).read("xl/a.xml") == PART
    assert Package(bytes(data), Limits()).read("xl/a.xml") == PART
    other = PART.replace(b"<v>1</v>", b"<v>2</v>", 1)
    assert Package(zipped({"xl/a.xml": other}), Limits()).read("xl/a.xml") == other
    # the same compressed bytes under a CRC that does not match them: zipfile's refusal, not the bytes read before
    with pytest.raises(Rejected):
        Package(_with_crc(data, zlib.crc32(PART) ^ 1), Limits()).read("xl/a.xml")
