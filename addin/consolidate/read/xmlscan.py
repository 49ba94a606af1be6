"""The XML scanner: a worksheet's or the shared-string table's needed cells, through defusedxml only.

A worksheet or the shared-string table is *scanned* first: when the part has no DTD, comment, CDATA or
processing instruction, no prefixed element and every cell start tag is `<c r="…"` (as LibreOffice and
openpyxl write them — checked by the tests — and, as far as known, Excel and WPS), only the needed
`<c>…</c>` / `<si>…</si>` elements are cut out (in well-formed XML a `<` in text or an attribute is always
escaped, so the byte search cannot match inside content). A cut-out element in the plain form (no entity or
character reference, no nested markup beyond `<f>`/`<v>` or one `<t>`) is decoded from its bytes; the others
are parsed by defusedxml as one small document under the part's own root tag. Anything else falls back to
parsing the whole part with defusedxml (DTDs forbidden: no entity expansion, no external entities). A DOCTYPE
before the root element is refused outright (F108).

Parsing every needed part whole through defusedxml takes about 16 ms per LibreOffice-saved workbook here;
with the scan the whole read takes about 2.5 ms.

What we read must be what Excel shows (no parser differential): a cell reference that appears twice in a sheet
is refused (F126), and every value must be in its canonical form (F127) — a number as xsd:double without INF/NaN
and in ASCII digits only (Python's float() also takes `5_9`, full-width and Arabic-Indic digits, spaces), a
boolean as 0/1/true/false, a shared-string index as ASCII digits, an error value as Excel writes them, a known
cell type. Every text the reader returns goes through `cell_text`: longer than a cell can hold (32 767) is
refused (F121) before anything else looks at it, and what no XML or Unicode writer can carry — a lone
surrogate (`_xD800_`), U+FFFE/U+FFFF, a C0 control other than tab and line breaks — becomes U+FFFD, visibly.
"""
from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any, Callable, Iterator, NamedTuple
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as _defused_fromstring


from .rejected import AGAIN, Deadline, Rejected, exc_text

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"
DOC_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_M = "{" + MAIN_NS + "}"
T_SHEET, T_SHEETS, T_DEFINED = _M + "sheet", _M + "sheets", _M + "definedName"
T_SHEETDATA, T_ROW, T_C, T_F, T_V, T_IS, T_T, T_R, T_SI = (
    _M + "sheetData", _M + "row", _M + "c", _M + "f", _M + "v", _M + "is", _M + "t", _M + "r", _M + "si")
T_REL = "{" + PKG_REL_NS + "}Relationship"
A_RID = "{" + DOC_REL_NS + "}id"


def parse_xml(data: bytes, part: str) -> Element:
    """A whole part, parsed by defusedxml with DTDs forbidden (F108 for a DTD, an entity or broken XML)."""
    try:
        return _defused_fromstring(data, forbid_dtd=True)
    except DefusedXmlException as e:
        raise Rejected("F108", f"{part} 含有 DTD 或实体声明（{type(e).__name__}），可能是恶意构造的文件，"
                               f"已拒绝读取：{AGAIN}") from None
    except (ParseError, ValueError, UnicodeError, LookupError) as e:
        raise Rejected("F108", f"{part} 的 XML 已损坏（{exc_text(e)}）：{AGAIN}") from None


_DECL = re.compile(rb"<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_ROOT = re.compile(rb"<([A-Za-z_][\w.-]*)((?:\s+[^\s=>/]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)\s*(/?)>")
# What a scanned region may not hold: a comment, CDATA, DTD or processing instruction (`<!`, `<?`), a prefixed
# element (`<x:`), or a cell whose start tag is not `<c r="…"` (another attribute first, other quoting).
_UNSCANNABLE = re.compile(rb'<(?:[!?]|c(?! r=")[\s/>]|[\w.-]+:)')
_PREFIXED = re.compile(rb'<[\w.-]+:')


def _scannable(data: bytes, part: str, root: bytes) -> tuple[bytes, int] | None:
    """(the part's root start tag, where it ends) when the part may be scanned by byte search, else None.
    A DOCTYPE (which can only stand before the root element) is refused here (F108), as defusedxml would."""
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    if data.startswith(b"<?xml", start):
        end = data.find(b"?>", start)
        if end < 0:
            return None
        decl = _DECL.match(data, start, end + 2)
        if decl and decl.group(1).lower().replace(b"_", b"-") not in (b"utf-8", b"utf8"):
            return None                                  # another encoding: the parser decodes it
        start = end + 2
    m = _ROOT.search(data, start)
    if m is None:
        return None
    prolog = data[start:m.start()]
    if b"<!" in prolog or b"<?" in prolog:
        if b"<!DOCTYPE" in prolog or b"<!ENTITY" in prolog:
            raise Rejected("F108", f"{part} 含有 DTD 或实体声明，可能是恶意构造的文件，已拒绝读取：{AGAIN}")
        return None
    if m.group(1) != root or m.group(3) or prolog.strip():
        return None                                      # prefixed or unexpected root, or an empty part
    return m.group(0), m.end()


def _plain(data: bytes, lo: int, hi: int) -> bool:
    """Nothing in data[lo:hi] that would make a byte search find what a parser would not (in well-formed
    XML a `<` in text or an attribute is always escaped, so a tag found by bytes is a tag)."""
    return _UNSCANNABLE.search(data, lo, hi) is None and data.find(b"xmlns", lo, hi) < 0


def _plain_strings(data: bytes, lo: int, hi: int) -> bool:
    """`_plain` for the shared-string table, where a cell cannot stand: no comment, CDATA, DTD or processing
    instruction, no prefixed element, no `xmlns`. Counted first (a C search each; the regex is 2–3× slower on a
    100 KB table): when every colon is xml:space's (after a blank: no prefix), only `<!` and `<?` remain to find."""
    if data.find(b"xmlns", lo, hi) >= 0 or _holds(data, b"<!", lo, hi) or _holds(data, b"<?", lo, hi):
        return False
    return (data.count(b":", lo, hi) == data.count(b' xml:space="', lo, hi)
            or _PREFIXED.search(data, lo, hi) is None)


def _holds(data: bytes, pair: bytes, lo: int, hi: int) -> bool:
    """Whether data[lo:hi] holds `pair` (`<!`, `<?`): its rare second byte looked for first (a C memchr, ~50× faster
    than a search for a pair starting with the ubiquitous `<`)."""
    return data.find(pair[1:], lo, hi) >= 0 and data.find(pair, lo, hi) >= 0


def _fragments_root(root_tag: bytes, fragments: list[bytes], close: bytes) -> list[Element] | None:
    """The cut-out elements, parsed by defusedxml as one document under the part's own root tag (so that
    every namespace the part declares is declared); None when that fails (then the whole part is parsed)."""
    try:
        root = _defused_fromstring(root_tag + b"".join(fragments) + close, forbid_dtd=True)
    except (DefusedXmlException, ParseError, ValueError):
        return None
    items = list(root)
    return items if len(items) == len(fragments) else None


def _cut(data: bytes, start: int, close: bytes, hi: int) -> bytes | None:
    """The element starting at `start`: up to its end tag `close`, or its own "/>"."""
    gt = data.find(b">", start, hi)
    if gt < 0:
        return None
    if data[gt - 1] == 0x2F:                             # "/>": an empty element
        return data[start:gt + 1]
    end = data.find(close, gt, hi)
    return None if end < 0 else data[start:end + len(close)]


# ---------------------------------------------------------------- worksheets and shared strings

_REF = re.compile(r"([A-Z]{1,3})([0-9]{1,7})")
_SELF_CLOSED = re.compile(rb"<sheetData\s*/>")
# Inside <sheetData>: every cell start `<c r="…"` (group 1: the reference), or what makes the part unscannable
# (group 1 None): a comment, CDATA, DTD or processing instruction, a cell whose start tag is not `<c r="…"`. One
# pass both finds every cell and proves the sheet data plain. A prefixed element can only be a cell when the root
# binds a prefix to the main namespace (an `xmlns` inside the sheet data is refused outright): `_plain_root`.
_CELL_OR_UNSCANNABLE = re.compile(rb'<(?:c r="([A-Z]{1,3}[0-9]{1,7})"|[!?]|c[\s/>])')
_XMLNS = re.compile(rb'\sxmlns(?::([\w.-]+))?\s*=\s*(?:"([^"]*)"|\'([^\']*)\')')
CHECK_EVERY = 4096
"""Entries between two looks at the file's deadline in the reader's loops."""


def sheet_values(data: bytes, part: str, refs: set[str] | frozenset[str], table: tuple[str, ...] = (),
                 scan: bool = True, title: str = "", deadline: Deadline | None = None) -> dict[str, Cell]:
    """The cells of a worksheet part at `refs` ("C9") as plain data (`Cell`), by reference (a cell the part
    does not hold is absent); with `table` also a keyed table's cells — column A and the `table` columns from
    row 2 on, at least while A is present (the 参数 sheet's factors). Scanned when the part allows it, else parsed
    whole. A scanned cell in the common plain form (`_QUICK_CELL`: no entity or character reference, no nested
    markup beyond `<f>` and `<v>`) is decoded from its bytes; any other cut-out cell is parsed by defusedxml as
    before. The caller must not change the dict returned: the same part read again with the same bytes (the
    参数 and _meta sheets of every file from one template) is answered with it (`_SAME_PART`)."""
    key = (part, title, frozenset(refs), table, scan)
    last = _SAME_PART.get(key)
    if last is not None and last[0] == data:
        return last[1]
    out = _sheet_values(data, part, refs, table, scan, title, deadline)
    if len(data) <= SAME_PART_LIMIT:
        if len(_SAME_PART) >= SAME_PART_KEYS:
            del _SAME_PART[next(iter(_SAME_PART))]
        _SAME_PART.pop(key, None)
        _SAME_PART[key] = (data, out)
    return out


SAME_PART_LIMIT = 1 << 18
SAME_PART_KEYS = 16
_SAME_PART: dict[tuple, tuple[bytes, dict[str, Cell]]] = {}
"""(part, title, refs, table, scan) → the bytes last read there and their cells: the result of `sheet_values` is a
function of its arguments alone, and equal bytes (compared in full, never by a hash) give equal cells. At most
`SAME_PART_KEYS` parts of up to `SAME_PART_LIMIT` bytes are held (the oldest dropped first)."""


def _sheet_values(data: bytes, part: str, refs: set[str] | frozenset[str], table: tuple[str, ...], scan: bool,
                  title: str, deadline: Deadline | None) -> dict[str, Cell]:
    if scan:
        located = _locate_cells(data, part, refs, table, deadline, title)
        if located is not None:
            root_tag, hi, starts = located
            plain: dict[str, re.Match[bytes]] = {}
            rest: dict[str, bytes] = {}
            match = _QUICK_CELL.match
            for ref, start in starts.items():
                m = match(data, start, hi)
                if m is not None:
                    plain[ref] = m                       # exactly the bytes `_cut` would cut out (`_QUICK_CELL`)
                    continue
                fragment = _cut(data, start, b"</c>", hi)
                if fragment is None:
                    break
                rest[ref] = fragment
            else:
                out = _decoded(plain, rest, title)
                if rest:
                    items = _fragments_root(root_tag, list(rest.values()), b"</worksheet>")
                    if items is None:
                        return {ref: _cell(el, f"{title}!{ref}") for ref, el in
                                _parse_cells(data, part, _wanted(refs, table), deadline, title).items()}
                    out.update((ref, _cell(el, f"{title}!{ref}")) for ref, el in zip(rest, items))
                return out
    return {ref: _cell(el, f"{title}!{ref}")
            for ref, el in _parse_cells(data, part, _wanted(refs, table), deadline, title).items()}


def _decoded(plain: dict[str, re.Match[bytes]], rest: dict[str, bytes], title: str) -> dict[str, Cell]:
    """The plain cells (matched by `_QUICK_CELL`) decoded in order, exactly as `_quick_cell` decodes them; one not
    in the plain form after all (an inline string, a value that is not UTF-8) joins `rest`. The common forms — a
    number, a shared-string index, a blank — are decoded here in line (the cells are most of a file's reading);
    the others, and whatever is not canonical (to say what is wrong), by `_quick_cell`."""
    out: dict[str, Cell] = {}
    new = tuple.__new__                                  # a `Cell` without its Python-level __new__
    for ref, m in plain.items():
        t_raw, f, raw, ev = m.group(1, 2, 3, 4)          # t, f, v, ev
        formula = f is not None
        if not t_raw or t_raw == b"n":
            if not raw:                                  # blank (a formula's cached result only for t="str")
                out[ref] = new(Cell, (None, None, formula, False, None))
                continue
            # `_number`: ASCII, no `_`, no blank at either end, finite — else the general way says what is wrong
            if raw.isascii() and raw[0] > 32 and raw[-1] > 32 and b"_" not in raw:
                try:
                    number = float(raw)
                except ValueError:
                    number = math.nan
                if number - number == 0:
                    out[ref] = new(Cell, (number, None, formula, formula, None))
                    continue
        elif t_raw == b"s" and raw and len(raw) <= 10 and raw.isdigit():     # CANONICAL_INDEX (ASCII digits)
            out[ref] = new(Cell, (None, None, formula, formula, int(raw)))
            continue
        quick = _quick_cell(m, f"{title}!{ref}")
        if quick is None:
            rest[ref] = m.group()
        else:
            out[ref] = quick
    return out


def _wanted(refs: set[str], table: tuple[str, ...]) -> Callable[[str, int], bool]:
    return lambda col, row: f"{col}{row}" in refs or (bool(table) and row >= 2 and (col == "A" or col in table))


def _cut_cells(data: bytes, part: str, refs: set[str], table: tuple[str, ...], deadline: Deadline | None = None,
               title: str = "") -> tuple[bytes, dict[str, bytes]] | None:
    """(the part's root start tag, ref → the cut-out `<c>…</c>` bytes) when the part may be scanned, else None.
    A cell reference that appears twice is refused (F126)."""
    located = _locate_cells(data, part, refs, table, deadline, title)
    if located is None:
        return None
    root_tag, hi, starts = located
    fragments = {ref: _cut(data, s, b"</c>", hi) for ref, s in starts.items()}
    if None in fragments.values():
        return None
    return root_tag, fragments


def _locate_cells(data: bytes, part: str, refs: set[str], table: tuple[str, ...], deadline: Deadline | None = None,
                  title: str = "") -> tuple[bytes, int, dict[str, int]] | None:
    """(the part's root start tag, where its sheet data ends, ref → where its `<c` starts) for the cells at `refs`
    and the keyed `table` the part holds, when the part may be scanned, else None. A cell reference that appears
    twice is refused (F126)."""
    head = _scannable(data, part, b"worksheet")
    if head is None:
        return None
    root_tag, pos = head
    hi = data.find(b"</sheetData>", pos)
    if hi < 0:
        lo = data.find(b"<sheetData", pos)
        return (root_tag, pos, {}) if lo >= 0 and _SELF_CLOSED.match(data, lo) and _plain(data, pos, lo) else None
    lo = data.find(b"<sheetData", pos, hi)
    if lo < 0 or not _plain_root(root_tag) or not _plain(data, pos, lo) or data.find(b"xmlns", lo, hi) >= 0:
        return None
    present = _cell_refs(data, lo, hi, title or part)
    if present is None:
        return None
    starts: dict[str, int] = {}
    at = lo
    find = data.find
    for ref, key, pattern in _document_order(frozenset(refs)):   # in document order: one pass through the part
        if key in present:
            s = find(pattern, at, hi)
            starts[ref] = at = s if s >= 0 else _find_cell(data, pattern, at, lo, hi, deadline)
    if table:
        at = lo
        for row in _table_rows(table):
            (a_ref, a_key, a_pattern), *others = row
            if a_key not in present:
                break
            s = find(a_pattern, at, hi)
            at = s if s >= 0 else _find_cell(data, a_pattern, at, lo, hi, deadline)
            starts.setdefault(a_ref, at)
            for ref, key, pattern in others:
                if key in present and ref not in starts:
                    s = find(pattern, at, hi)
                    starts[ref] = s if s >= 0 else _find_cell(data, pattern, at, lo, hi, deadline)
    return root_tag, hi, starts


def _table_rows(table: tuple[str, ...]) -> Iterator[tuple[tuple[str, bytes, bytes], ...]]:
    """A keyed table's rows from row 2 on: each its column A's and `table` columns' (ref, its bytes, its cell's
    start tag), made once per table (`_TABLE_ROWS`) for the rows any file had so far."""
    made = _TABLE_ROWS.setdefault(table, [])
    row = 0
    while True:
        if row < len(made):
            yield made[row]
        else:
            cells = tuple((ref, ref.encode("ascii"), b'<c r="%s"' % ref.encode("ascii"))
                          for ref in (f"{col}{row + 2}" for col in ("A", *table)))
            if row < TABLE_ROWS_KEPT:
                made.append(cells)
            yield cells
        row += 1


TABLE_ROWS_KEPT = 1000
_TABLE_ROWS: dict[tuple[str, ...], list[tuple[tuple[str, bytes, bytes], ...]]] = {}


@lru_cache(maxsize=64)
def _plain_root(root_tag: bytes) -> bool:
    """Whether a worksheet's root puts its elements in the main namespace by default and binds no prefix to it:
    then every cell in the sheet data is written `<c …>` (or the part holds an `xmlns` and is parsed whole), and a
    cell in another namespace cannot be taken for one. (Files from one template share their root tag.)"""
    bound = {prefix: double or single for prefix, double, single in _XMLNS.findall(root_tag)}
    main = MAIN_NS.encode()
    return bound.get(b"") == main and not any(uri == main for prefix, uri in bound.items() if prefix)


def _cell_refs(data: bytes, lo: int, hi: int, where: str) -> set[bytes] | None:
    """The references of every cell of the sheet data, in one pass (in C); None when something in it makes the
    part unscannable. A reference found twice is refused (F126): Excel and this reader could each take another
    of the two cells."""
    found = _CELL_OR_UNSCANNABLE.findall(data, lo, hi)
    present = set(found)
    if b"" in present:
        return None
    if len(present) != len(found):
        seen: set[bytes] = set()
        for ref in found:
            if ref in seen:
                raise duplicate_cell(where, ref.decode("ascii"))
            seen.add(ref)
    return present


def _find_cell(data: bytes, pattern: bytes, at: int, lo: int, hi: int, deadline: Deadline | None) -> int:
    """Where `pattern` (`<c r="C9"`) starts, for a cell the part holds (once): searched from `at` on, then (cells
    out of order) from `lo`. Out-of-order cells cost a search of the part each: the deadline bounds a file of them."""
    s = data.find(pattern, at, hi)
    if s < 0:
        if deadline is not None:
            deadline.check()
        s = data.find(pattern, lo, at + len(pattern))
    return s


@lru_cache(maxsize=64)
def _document_order(refs: frozenset[str]) -> tuple[tuple[str, bytes, bytes], ...]:
    """(ref, its bytes, its cell's start tag) by row, then column (files from one template ask for the same refs:
    sorted and encoded once)."""
    return tuple((ref, ref.encode("ascii"), b'<c r="%s"' % ref.encode("ascii")) for ref in sorted(refs, key=_ref_order))


def _ref_order(ref: str) -> tuple[int, int]:
    m = _REF.fullmatch(ref)
    return (int(m.group(2)), _col_number(m.group(1))) if m else (0, 0)


def duplicate_cell(where: str, ref: str) -> Rejected:
    return Rejected("F126", f"工作表「{where}」中单元格 {ref} 出现了两次：Excel 与本程序可能读到不同的值，"
                            f"这不是 Excel/WPS 保存的文件；{AGAIN}", cell=f"{where}!{ref}")


def _parse_cells(data: bytes, part: str, want: Callable[[str, int], bool], deadline: Deadline | None = None,
                 title: str = "") -> dict[str, Element]:
    """The wanted cells from the whole part (cells and rows may omit `r`: positions are then implied). A cell
    position that appears twice, written or implied, is refused (F126)."""
    root = parse_xml(data, part)
    if root.tag.startswith("{" + STRICT_NS):
        raise strict_format()
    sheet_data = root.find(T_SHEETDATA)
    out: dict[str, Element] = {}
    if sheet_data is None:
        return out
    seen: set[str] = set()
    row_no = 0
    for row in sheet_data.iter(T_ROW):
        if deadline is not None:
            deadline.check()
        r = row.get("r")
        if r is not None and not CANONICAL_INDEX.fullmatch(r):
            raise _not_canonical(f"{title or part} 第 {row_no + 1} 行", f"行号「{_shown(r)}」无法识别")
        row_no = int(r) if r else row_no + 1
        col_no = 0
        for c in row.iter(T_C):
            ref = c.get("r")
            m = _REF.fullmatch(ref) if ref is not None else None
            if ref is not None and m is None:
                raise _not_canonical(f"{title or part}", f"单元格位置「{_shown(ref)}」无法识别")
            if m:
                col, rr = m.group(1), int(m.group(2))
                col_no = _col_number(col)
            else:
                col_no += 1
                col, rr = _col_letters(col_no), row_no
            key = f"{col}{rr}"
            if key in seen:
                raise duplicate_cell(title or part, key)
            seen.add(key)
            if want(col, rr):
                out[key] = c
    return out


# A cell as LibreOffice, openpyxl and Excel write it in the common case: `r` first, plain attributes (no `>` in
# their values), an optional `<f>` (its text may hold the predefined entities; only its presence matters) and an
# optional `<v>` whose text has no markup and no reference at all. Matched where the cell starts, it spans exactly
# what `_cut` cuts out: the start tag ends at the first `>`, and nothing in it can pass a `<` before its `</c>`.
# Anything else is parsed by defusedxml.
_QUICK_CELL = re.compile(
    rb'<c r="[A-Z]{1,3}[0-9]{1,7}"(?:\s+(?:t="(?P<t>[^"<&>]*)"|[A-Za-z]+="[^"<&>]*"))*\s*'
    rb'(?:/>|>(?P<f><f(?:\s+[A-Za-z]+="[^"<&>]*")*\s*(?:/>|>[^<&]*(?:&(?:amp|lt|gt|quot|apos);[^<&]*)*</f>))?'
    rb'(?:<v>(?P<v>[^<&\r]*)</v>|(?P<ev><v/>))?</c>)')


def _quick_cell(m: re.Match[bytes], where: str) -> "Cell | None":
    """One plain `<c>` (matched by `_QUICK_CELL`) decoded from its bytes, exactly as `_cell` would from the parsed
    element; None when it is not in the plain form after all (an inline string, a value that is not UTF-8)."""
    t_raw, f, raw, ev = m.group(1, 2, 3, 4)              # t, f, v, ev
    t = (t_raw.decode("ascii", "replace") if t_raw else "") or "n"
    if t == "inlineStr":
        return None
    try:
        text = raw.decode("utf-8") if raw is not None else None
    except UnicodeDecodeError:
        return None                                      # the parser says what is wrong with it
    formula = f is not None
    return _typed(formula, formula and (raw is not None or ev is not None) and (bool(text) or t == "str"), t, text,
                  where)


def _col_letters(n: int) -> str:
    """The letters of the 1-based column `n` (1 → A, 27 → AA): a cell whose position is implied."""
    out = ""
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def _col_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def shared_strings(data: bytes, part: str, indices: set[int], scan: bool = True,
                   deadline: Deadline | None = None) -> dict[int, str]:
    """The entries `indices` of the shared-string table (rich-text runs concatenated, phonetic runs left out);
    an index beyond the table is absent."""
    if scan:
        found = _scan_strings(data, part, indices, deadline)
        if found is not None:
            return found
    root = parse_xml(data, part)
    items = root.findall(T_SI)
    return {i: text_of(items[i], f"{part} #{i}") for i in indices if 0 <= i < len(items)}


def _scan_strings(data: bytes, part: str, indices: set[int], deadline: Deadline | None = None
                  ) -> dict[int, str] | None:
    head = _scannable(data, part, b"sst")
    if head is None:
        return None
    root_tag, pos = head
    end = data.find(b"</sst>", pos)
    if end < 0 or not _plain_strings(data, pos, end):
        return None
    fragments = _plain_entries(data[pos:end], indices)
    if fragments is None:
        fragments = _entries(data, pos, end, indices, deadline)
    if fragments is None:
        return None
    if deadline is not None:
        deadline.check()
    out: dict[int, str] = {}
    rest = []
    for i, fragment in fragments:
        m = _QUICK_STRING.match(fragment)
        if m is not None:
            runs = [m.group(1)]
        elif _QUICK_RICH.match(fragment):
            runs = _RUN_TEXT.findall(fragment)
        else:
            rest.append((i, fragment))
            continue
        try:
            out[i] = cell_text(b"".join(runs).decode("utf-8"), f"{part} #{i}")
        except UnicodeDecodeError:
            return None                                  # the parser says what is wrong with it
    if rest:
        items = _fragments_root(root_tag, [f for _, f in rest], b"</sst>")
        if items is None:
            return None
        out.update((i, text_of(el, f"{part} #{i}")) for (i, _), el in zip(rest, items))
    return out


def _plain_entries(region: bytes, indices: set[int]) -> list[tuple[int, bytes]] | None:
    """(index, its `<si>…</si>`) of the wanted entries when every entry of the table starts `<si>` (split in one
    pass); an index beyond the table is left out. None otherwise (then `_entries` looks at each start tag)."""
    pieces = region.split(b"<si")                       # pieces[k + 1]: entry k, up to the next entry
    if not all(p[:1] == b">" for p in pieces[1:]):
        return None
    out = []
    for i in sorted(x for x in indices if 0 <= x < len(pieces) - 1):
        piece = pieces[i + 1]
        close = piece.find(b"</si>")
        if close < 0:
            return None
        out.append((i, b"<si" + piece[:close + 5]))
    return out


def _entries(data: bytes, pos: int, end: int, indices: set[int], deadline: Deadline | None = None
             ) -> list[tuple[int, bytes]] | None:
    """(index, its `<si …>…</si>`) of the wanted entries, found one start tag at a time; None when something other
    than an entry starts `<si` (then the whole part is parsed)."""
    out = []
    at, k = pos, -1                                      # `at`: where entry k starts
    for i in sorted(x for x in indices if x >= 0):
        while k < i:
            at = data.find(b"<si", at + 1 if k >= 0 else at, end)
            if at < 0:
                break
            if data[at + 3] not in b" \t\r\n/>":
                return None                              # some other element: parse the whole part
            k += 1
            if deadline is not None and k % CHECK_EVERY == 0:
                deadline.check()
        if at < 0:
            break                                        # beyond the table: the caller reports it
        fragment = _cut(data, at, b"</si>", end)
        if fragment is None:
            return None
        out.append((i, fragment))
    return out


# A shared string as one plain run (`<si><t>…</t></si>`), its text without markup or references.
_QUICK_STRING = re.compile(rb'<si><t(?: xml:space="preserve")?>([^<&\r]*)</t></si>\Z')
# A shared string as rich-text runs (LibreOffice splits a typed text into runs): each `<r>` an optional `<rPr>` of
# empty elements with plain attributes, then one plain `<t>`; its text is the runs' texts joined (`text_of`).
_QUICK_RICH = re.compile(rb'<si>(?:<r>(?:<rPr>(?:<[A-Za-z]+(?:\s+[A-Za-z]+="[^"<&>]*")*\s*/>)*</rPr>)?'
                         rb'<t(?: xml:space="preserve")?>[^<&\r]*</t></r>)+</si>\Z')
_RUN_TEXT = re.compile(rb'<t(?: xml:space="preserve")?>([^<&\r]*)</t>')


_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")


def unescape(text: str) -> str:
    """OOXML's escaping of characters XML cannot hold (`_x000D_` for a carriage return)."""
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x" in text else text


CELL_LIMIT = 32767
"""The most characters (UTF-16 code units) a cell can hold in Excel and WPS."""
ESCAPE_WIDTH = 7
"""The longest any one character is written in a cell's XML (`_xHHHH_`)."""
UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""What no XML 1.0 or UTF-8 writer can carry as it is: C0 controls but tab and line breaks, lone surrogates, the
non-characters U+FFFE and U+FFFF."""
REPLACEMENT = "\ufffd"


def safe_text(text: str) -> str:
    """`text` with every character `UNSAFE` replaced by U+FFFD: what the reader returns can be written to any
    output (XML, JSON, SQLite, the console) and shows where something was replaced."""
    return UNSAFE.sub(REPLACEMENT, text) if UNSAFE.search(text) else text


def utf16_length(text: str) -> int:
    """The length as Excel counts it (characters beyond U+FFFF count twice)."""
    return len(text) if len(text) <= CELL_LIMIT // 2 else len(text.encode("utf-16-le", "surrogatepass")) // 2


def cell_text(raw: str, where: str) -> str:
    """A text as found in a cell's XML → the text the reader returns: unescaped, made safe (`safe_text`); longer
    than a cell can hold is refused (F121) before anything looks at it."""
    if len(raw) > CELL_LIMIT * ESCAPE_WIDTH:
        raise too_long(where, len(raw))
    text = unescape(raw)
    n = utf16_length(text)
    if n > CELL_LIMIT:
        raise too_long(where, n)
    return safe_text(text)


def too_long(where: str, n: int) -> Rejected:
    return Rejected("F121", f"{where} 的文字有 {n} 个字符以上，超过 Excel 单元格的上限 {CELL_LIMIT}：这不是 Excel/WPS "
                            f"保存的文件，可能被其他程序构造或改动；{AGAIN}", cell=where)


def text_of(el: Element, where: str) -> str:
    """The text of an `<si>` or `<is>`: its `<t>`, or its rich-text runs' `<t>` concatenated."""
    parts = []
    for child in el:
        if child.tag == T_T:
            parts.append(child.text or "")
        elif child.tag == T_R:
            t = child.find(T_T)
            if t is not None:
                parts.append(t.text or "")
    return cell_text("".join(parts), where)



def strict_format() -> Rejected:
    """F102 for a workbook saved as Strict Open XML (another namespace: nothing would be found by name)."""
    return Rejected("F102", "这是「Strict Open XML 电子表格」格式：请在 Excel 中另存为「Excel 工作簿 (*.xlsx)」"
                            "格式后重新提交")


_BOOL = {"1": True, "true": True, "0": False, "false": False}
"""xsd:boolean, as a cell of type b holds it."""
CANONICAL_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
"""A number as Excel, LibreOffice and openpyxl write it: xsd:double without INF and NaN, ASCII digits only.
float() also reads `5_9`, `５`, `١٢` and surrounding spaces, which Excel does not: such a file is refused."""
CANONICAL_INDEX = re.compile(r"[0-9]{1,10}")
CANONICAL_ERROR = re.compile(r"#[A-Z0-9_/]{1,20}[!?]?")
"""An error value as Excel writes it: #DIV/0!, #N/A, #VALUE!, #REF!, #NAME?, #NUM!, #NULL!, #SPILL!, #GETTING_DATA …"""
CANONICAL_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?Z?)?")
CELL_TYPES = frozenset({"n", "s", "str", "b", "e", "d", "inlineStr"})


class Cell(NamedTuple):
    """One cell as plain data. A tuple, never changed once made: the cells of a part read before are handed out
    again (`sheet_values`), so a shared-string index is resolved beside it (`Workbook`), not into it."""

    value: Any = None
    error: str | None = None
    formula: bool = False
    cached: bool = False
    shared: int | None = None        # a shared-string index still to resolve


BLANK = Cell()


def _cell(el: Element, where: str) -> Cell:
    """One `<c>` as plain data: value (or error), whether it holds a formula and a cached result."""
    t = el.get("t") or "n"
    v = el.find(T_V)
    text = v.text if v is not None else None
    formula = el.find(T_F) is not None
    cached = formula and v is not None and (bool(text) or t == "str")
    if t == "inlineStr":
        is_ = el.find(T_IS)
        return Cell((text_of(is_, where) or None) if is_ is not None else None, None, formula, cached)
    return _typed(formula, cached, t, text, where)


def _typed(formula: bool, cached: bool, t: str, text: str | None, where: str) -> Cell:
    """The value of a cell of type `t` whose `<v>` holds `text` (None: no `<v>`), each in its canonical form only
    (F127 otherwise: what Excel would show is not certain)."""
    if text is None or text == "":
        if t not in CELL_TYPES:
            raise _not_canonical(where, f"单元格类型「{_shown(t)}」无法识别")
        return Cell(None, None, formula, cached)         # blank (a formula's "" result is cached as blank)
    if t == "n":
        return Cell(_number(text, where), None, formula, cached)
    if t == "s":
        if not CANONICAL_INDEX.fullmatch(text):
            raise _not_canonical(where, f"共享字符串编号「{_shown(text)}」不是整数")
        return Cell(None, None, formula, cached, int(text))
    if t == "str":
        return Cell(cell_text(text, where), None, formula, cached)
    if t == "b":
        if text not in _BOOL:
            raise _not_canonical(where, f"逻辑值「{_shown(text)}」应为 0 或 1")
        return Cell(_BOOL[text], None, formula, cached)
    if t == "e":
        if not CANONICAL_ERROR.fullmatch(text):
            raise _not_canonical(where, f"错误值「{_shown(text)}」不是 Excel 的错误值")
        return Cell(None, text, formula, cached)
    if t == "d":
        if not CANONICAL_DATE.fullmatch(text):
            raise _not_canonical(where, f"日期「{_shown(text)}」不是 ISO 8601 日期")
        return Cell(text, None, formula, cached)         # ISO 8601, as stored
    raise _not_canonical(where, f"单元格类型「{_shown(t)}」无法识别")


def _number(text: str, where: str) -> float:
    """A `<v>` number in its canonical form (`CANONICAL_NUMBER`), finite. What float() accepts beyond it is
    exactly: non-ASCII digits and spaces, `_` between digits, surrounding whitespace, inf and nan — so those
    are refused before float() reads the rest (cheaper than matching the grammar on every cell)."""
    if not text.isascii() or "_" in text or text[0] <= " " or text[-1] <= " ":
        raise _not_canonical(where, f"数值「{_shown(text)}」的写法不规范（Excel 与本程序可能读成不同的数）")
    try:
        number = float(text)
    except ValueError:
        raise _not_canonical(where, f"数值「{_shown(text)}」无法识别") from None
    if not math.isfinite(number):                        # inf, nan, infinity, 1e999
        raise _not_canonical(where, f"数值「{_shown(text)}」超出 Excel 能表示的范围")
    return number


def _shown(text: str) -> str:
    """A raw value in a message: at most 20 characters, made safe."""
    return safe_text(text[:20]) + ("…" if len(text) > 20 else "")


def _not_canonical(where: str, what: str) -> Rejected:
    return Rejected("F127", f"{where} 的{what}：这不是 Excel/WPS 保存的文件，可能被其他程序改动；{AGAIN}", cell=where)
