"""Building returned workbooks, good and bad, for the consolidation tests: every fixture is made here, none is
checked in.

The byte-level helpers (zip parts, a cell replaced in the sheet XML, a DOCTYPE inserted, a fake OLE file) are the
ones `tests/test_read_returned.py` uses for the reader; here they build whole files for a consolidation run.
"""
from __future__ import annotations

import io
import re
import struct
import zipfile
from typing import Callable

from stdnum.cn import uscc

from tests import libreoffice
from tests.workbooks import named_locations, plan, sheet_xml_parts

WORKBOOK = "xl/workbook.xml"


# ---------------------------------------------------------------- zip parts

def zip_parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def make_zip(parts: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in parts.items():
            z.writestr(name, content)
    return buffer.getvalue()


def patched(data: bytes, edits: dict[str, bytes | Callable[[bytes], bytes]]) -> bytes:
    """The workbook with parts replaced: {part: new bytes, or a function of the old bytes}."""
    parts = zip_parts(data)
    for name, edit in edits.items():
        parts[name] = edit(parts[name]) if callable(edit) else edit
    return make_zip(parts)


def replace_cell(data: bytes, name: str, new_cell: Callable[[str], str]) -> bytes:
    """The workbook with the `<c>` of a contract name replaced by new_cell(ref)."""
    title, ref = named_locations()[name]
    part = sheet_xml_parts(data)[title]
    pattern = re.compile(rb'<c r="%s"[^>]*?(?:/>|>.*?</c>)' % ref.encode(), re.S)

    def edit(xml: bytes) -> bytes:
        out, n = pattern.subn(new_cell(ref).encode(), xml, count=1)
        assert n == 1, (name, ref)
        return out
    return patched(data, {part: edit})


def overwrite_formula(data: bytes, name: str, number: float) -> bytes:
    """A derived name's formula cell replaced by a plain number (what a unit does by typing over it)."""
    return replace_cell(data, name, lambda ref: f'<c r="{ref}" t="n"><v>{number}</v></c>')


def set_text(data: bytes, name: str, text: str) -> bytes:
    """A named cell replaced by an inline string."""
    return replace_cell(data, name, lambda ref: f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>')


def drop_defined_name(data: bytes, name: str) -> bytes:
    """The workbook with one defined name removed from workbook.xml (the cell itself stays)."""
    def drop(xml: bytes) -> bytes:
        out, n = re.subn(rb'<definedName name="%s"[^>]*>[^<]*</definedName>' % name.encode(), b"", xml)
        assert n == 1, name
        return out
    return patched(data, {WORKBOOK: drop})


def edit_factor(data: bytes, key: str, value: float) -> bytes:
    """The 参数 sheet's factor (column C) of energy item `key` set to `value`."""
    params = plan().sheet("参数")
    row = next(r for r in range(2, 100) if params.cells[f"A{r}"].value == key)
    part = sheet_xml_parts(data)["参数"]

    def edit(xml: bytes) -> bytes:
        cell = b'<c r="C%d"><v>%s</v></c>' % (row, repr(value).encode())
        out, n = re.subn(rb'<c r="C%d"[^>]*?(?:/>|>.*?</c>)' % row, cell, xml, count=1, flags=re.S)
        assert n == 1
        return out
    return patched(data, {part: edit})


def with_macros(data: bytes) -> bytes:
    """An .xlsm's content: a VBA project part and the macro-enabled content type."""
    parts = zip_parts(data)
    parts["xl/vbaProject.bin"] = bytes(2048)
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"spreadsheetml.sheet.main+xml", b"ms-excel.sheet.macroEnabled.main+xml")
    return make_zip(parts)


LAUGHS = (b'<!DOCTYPE lolz [<!ENTITY lol "lol">' +
          b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%s;" % (str(i - 1).encode() if i > 1 else b"")) * 10)
                   for i in range(1, 10)) + b"]>")


def with_entity_expansion(data: bytes) -> bytes:
    """workbook.xml with a billion-laughs DTD and its entity referenced in a defined name."""
    def laughs(xml: bytes) -> bytes:
        decl_end = xml.index(b"?>") + 2 if xml.startswith(b"<?xml") else 0
        xml = xml[:decl_end] + LAUGHS + xml[decl_end:]
        where = b'<definedName name="unit_name">'
        i = xml.index(where) + len(where)
        return xml[:i] + b"&lol9;" + xml[i:]
    return patched(data, {WORKBOOK: laughs})


def zip_bomb(data: bytes, megabytes: int = 300) -> bytes:
    """The workbook plus one entry of `megabytes` MB of zeros (about 1 KB deflated per MB), streamed in 1 MB
    chunks so that building it never holds the whole."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in zip_parts(data).items():
            z.writestr(name, content)
        with z.open("xl/media/image1.png", "w", force_zip64=True) as f:
            chunk = bytes(1 << 20)
            for _ in range(megabytes):
                f.write(chunk)
    return buffer.getvalue()


def ole_file(*directory_names: str) -> bytes:
    """An OLE compound-file header followed by directory entries (names in UTF-16LE, as OLE stores them)."""
    header = bytes.fromhex("D0CF11E0A1B11AE1") + bytes(16) + struct.pack("<HH", 0x3E, 3) + bytes(512 - 28)
    entries = b"".join(name.encode("utf-16-le").ljust(64, b"\0") + bytes(64) for name in directory_names)
    return header + entries + bytes(1024)


def encrypted_workbook() -> bytes:
    """What Excel writes for a workbook with an open password: an OLE file holding EncryptionInfo."""
    return ole_file("Root Entry", "EncryptionInfo", "EncryptedPackage", "\x06DataSpaces")


# ---------------------------------------------------------------- units

def unit_code(first17: str) -> str:
    """A valid 统一社会信用代码 from its first 17 characters (the check character computed)."""
    code = first17 + uscc.calc_check_digit(first17)
    assert uscc.is_valid(code), code
    return code


# ---------------------------------------------------------------- LibreOffice

convert = libreoffice.convert   # --convert-to another format (xls) with a private profile
