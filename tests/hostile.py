"""Hostile returns for the tests of issue 10 (tests/test_hostile.py, test_fuzz_reader.py, test_faults.py): one good
return built once, every hostile variant made from it at the byte, zip or XML level — nothing checked in — and
`scan_summary`, the check every summary must pass whatever the files held.
"""
from __future__ import annotations

import io
import re
import warnings
import zipfile
from functools import lru_cache
from pathlib import Path
from xml.etree import ElementTree

from stdnum.cn import uscc

import generator
from workbook_templates import load_spec

from tests.returns import make_zip, patched, zip_parts
from tests.workbooks import complete_unit, named_locations, sheet_xml_parts

SPEC = load_spec()
YEAR, PRESET = SPEC.default_year, SPEC.default_preset
BASE_CODE = "11652301MB12345630"
UNIT = {"unit_name": "昌吉市测试局", "unit_code": BASE_CODE, "unit_level": "县市区级", "unit_region": "昌吉回族自治州"}
CELL_LIMIT = 32767
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


@lru_cache(maxsize=None)
def base_return() -> bytes:
    """The personalised template filled with openpyxl: a complete, valid return without saved results."""
    inputs = {k: v for k, v in complete_unit().items() if k not in UNIT}
    return generator.fill_workbook(generator.template_bytes(SPEC, YEAR, PRESET, unit=UNIT), inputs)


def code(n: int) -> str:
    """The n-th valid 统一社会信用代码 of the tests (checksum computed)."""
    first = f"1165{n:013d}"[:17]
    return first + uscc.calc_check_digit(first)


def with_code(data: bytes, new_code: str) -> bytes:
    """`data` with the base unit code replaced everywhere (each file its own unit: no duplicate noise)."""
    return patched(data, {name: (lambda x: x.replace(BASE_CODE.encode(), new_code.encode()))
                          for name, content in zip_parts(data).items() if BASE_CODE.encode() in content})


def where(data: bytes, name: str) -> tuple[str, str]:
    """(worksheet part, cell) of a contract name."""
    title, ref = named_locations()[name]
    return sheet_xml_parts(data)[title], ref


def cell_xml(data: bytes, name: str, new_cell) -> bytes:
    """The `<c>` of a contract name replaced by new_cell(ref) (raw XML text)."""
    part, ref = where(data, name)
    pattern = re.compile(rb'<c r="%s"[^>]*?(?:/>|>.*?</c>)' % ref.encode(), re.S)

    def edit(xml: bytes) -> bytes:
        out, n = pattern.subn(lambda m: new_cell(ref).encode("utf-8", "surrogatepass"), xml, count=1)
        assert n == 1, (name, ref)
        return out
    return patched(data, {part: edit})


def text_xml(text: str) -> str:
    """`text` escaped for XML content (the _xHHHH_ escapes in it are left for the reader to decode)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def set_inline(data: bytes, name: str, raw_text: str) -> bytes:
    """A contract name's cell as an inline string whose XML text is `raw_text` (already escaped)."""
    return cell_xml(data, name, lambda ref: f'<c r="{ref}" t="inlineStr"><is><t>{raw_text}</t></is></c>')


def set_value(data: bytes, name: str, v: str, t: str | None = None) -> bytes:
    """A contract name's cell as `<c r t><v>v</v></c>`, `v` as raw XML text."""
    kind = f' t="{t}"' if t else ""
    return cell_xml(data, name, lambda ref: f'<c r="{ref}"{kind}><v>{v}</v></c>')


def set_shared(data: bytes, name: str, raw_text: str) -> bytes:
    """A contract name's cell as a shared string (a sharedStrings part added) whose XML text is `raw_text`: the
    scan's quick path for shared strings."""
    parts = zip_parts(cell_xml(data, name, lambda ref: f'<c r="{ref}" t="s"><v>0</v></c>'))
    parts["xl/sharedStrings.xml"] = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                                     f'<sst xmlns="{MAIN}" count="1" uniqueCount="1"><si><t>{raw_text}</t></si></sst>'
                                     ).encode("utf-8", "surrogatepass")
    rel = ('<Relationship Id="rIdSST" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
           'sharedStrings" Target="sharedStrings.xml"/></Relationships>')
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(b"</Relationships>", rel.encode())
    return make_zip(parts)


def redirect_name(data: bytes, name: str, ref: str) -> bytes:
    """workbook.xml with the defined name `name` pointing at another cell `ref` of the same sheet."""
    def edit(xml: bytes) -> bytes:
        out, n = re.subn(rb'(<definedName name="%s"[^>]*>[^<]*!)\$?[A-Z]+\$?[0-9]+(</definedName>)' % name.encode(),
                         lambda m: m.group(1) + ref.encode() + m.group(2), xml)
        assert n == 1, name
        return out
    return patched(data, {"xl/workbook.xml": edit})


def with_entries(data: bytes, extra: dict[str, bytes]) -> bytes:
    """`data` with more zip entries appended — names may repeat existing ones (zipfile warns; we mean it)."""
    buffer = io.BytesIO(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as z:
            for name, content in extra.items():
                z.writestr(name, content)
    return buffer.getvalue()


def duplicate_cell(data: bytes, name: str, value: str, force_parse: bool = False) -> bytes:
    """A second `<c>` with the reference of `name`'s cell, right after it (and, with force_parse, a comment in the
    sheet data so that the part is parsed whole instead of scanned)."""
    part, ref = where(data, name)

    def edit(xml: bytes) -> bytes:
        i = xml.index(b'<c r="%s"' % ref.encode())
        end = xml.index(b"</c>", i) + 4 if xml.find(b"/>", i, xml.find(b">", i) + 1) < 0 else xml.index(b"/>", i) + 2
        extra = b'<c r="%s"><v>%s</v></c>' % (ref.encode(), value.encode())
        if force_parse:
            extra = b"<!-- x -->" + extra
        return xml[:end] + extra + xml[end:]
    return patched(data, {part: edit})


# ---------------------------------------------------------------- what every summary must be

_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def scan_summary(path: Path) -> None:
    """What the issue asks of every summary, whatever the files held: every part well-formed XML; no formula; no
    external link, DDE link or hyperlink part; no cell text over 32 767 characters (as Excel counts them)."""
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        assert len(names) == len(set(names)), "duplicate zip entries"
        for name in names:
            content = z.read(name)
            lower = name.lower()
            assert "externallink" not in lower and "ddelink" not in lower, name
            if not (lower.endswith(".xml") or lower.endswith(".rels")):
                continue
            root = ElementTree.fromstring(content)               # well-formed, or this raises
            if lower.endswith(".rels"):
                for rel in root:
                    kind = rel.get("Type", "")
                    assert not kind.endswith(("/hyperlink", "/externalLink", "/oleObject")), (name, kind)
                    assert rel.get("TargetMode") != "External", (name, rel.attrib)
            if lower.startswith("xl/worksheets/"):
                assert b"<f>" not in content and b"<f " not in content, f"formula in {name}"
                assert b"<hyperlink" not in content, f"hyperlink in {name}"
            if lower.startswith("xl/worksheets/") or lower == "xl/sharedstrings.xml":
                for t in root.iter(f"{{{MAIN}}}t"):
                    text = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), t.text or "")
                    assert len(text.encode("utf-16-le", "surrogatepass")) // 2 <= CELL_LIMIT, name


def set_local_inline(data: bytes, name: str, raw_text: str) -> bytes:
    """Every sheet-local name `name` (a review pack's scorecards: rev_reviewer …) set to an inline string."""
    book = zip_parts(data)["xl/workbook.xml"].decode("utf-8")
    titles = re.findall(r'<sheet [^>]*name="([^"]*)"', book)
    parts = sheet_xml_parts(data)
    edits: dict[str, list[str]] = {}
    for scope, target in re.findall(r'<definedName name="%s" localSheetId="(\d+)"[^>]*>([^<]*)</definedName>' % name,
                                    book):
        title = titles[int(scope)].replace("&amp;", "&").replace("&apos;", "'")
        ref = target.rsplit("!", 1)[1].replace("$", "")
        edits.setdefault(parts[title], []).append(ref)
    assert edits, name

    def edit_for(refs: list[str]):
        def edit(xml: bytes) -> bytes:
            for ref in refs:
                cell = f'<c r="{ref}" t="inlineStr"><is><t>{raw_text}</t></is></c>'.encode("utf-8", "surrogatepass")
                xml, n = re.subn(rb'<c r="%s"[^>]*?(?:/>|>.*?</c>)' % ref.encode(), lambda m: cell, xml, count=1,
                                 flags=re.S)
                assert n == 1, ref
            return xml
        return edit
    return patched(data, {part: edit_for(refs) for part, refs in edits.items()})


# ---------------------------------------------------------------- review packs that claim a bigger budget (issue 14)

def set_meta_number(data: bytes, name: str, value: int) -> bytes:
    """A review pack with the `_meta` value of `name` (a number: scorecard_count …) set to `value`."""
    from workbook_templates.contract import META_SHEET, REVIEW_META_NAMES
    part = sheet_xml_parts(data)[META_SHEET]
    ref = f"B{REVIEW_META_NAMES.index(name) + 1}"

    def edit(xml: bytes) -> bytes:
        out, n = re.subn(rb'<c r="%s"[^>]*?(?:/>|>.*?</c>)' % ref.encode(),
                         lambda m: b'<c r="%s" t="n"><v>%d</v></c>' % (ref.encode(), value), xml, count=1, flags=re.S)
        assert n == 1, (name, ref)
        return out
    return patched(data, {part: edit})


def with_padding(data: bytes, size: int) -> bytes:
    """`data` grown to at least `size` bytes by a stored entry of random bytes (a picture pasted in, as far as
    size goes: it cannot be compressed)."""
    import os as _os
    buffer = io.BytesIO(data)
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_STORED) as z:
        z.writestr("xl/media/image1.png", _os.urandom(max(0, size - len(data))))
    return buffer.getvalue()


def with_empty_sheets(data: bytes, n: int) -> bytes:
    """`data` with `n` more worksheets, listed in workbook.xml, each an empty sheet with a part of its own — sheets
    a fake pack would add to look as if it held more scorecards than it does."""
    parts = zip_parts(data)
    sheets, rels, types = [], [], []
    for i in range(1, n + 1):
        parts[f"xl/worksheets/extra{i}.xml"] = (f'<worksheet xmlns="{MAIN}"><sheetData/></worksheet>').encode()
        sheets.append(f'<sheet name="空表{i}" sheetId="{10000 + i}" r:id="rIdExtra{i}"/>')
        rels.append(f'<Relationship Id="rIdExtra{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                    f'relationships/worksheet" Target="worksheets/extra{i}.xml"/>')
        types.append(f'<Override PartName="/xl/worksheets/extra{i}.xml" ContentType="application/'
                     'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>')
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(b"</sheets>", "".join(sheets).encode() + b"</sheets>")
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", "".join(rels).encode() + b"</Relationships>")
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>", "".join(types).encode() + b"</Types>")
    return make_zip(parts)
