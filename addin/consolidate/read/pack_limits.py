"""A review pack's limits: derived from the number of scorecards its `_meta` declares, verified against the zip.

A unit's return is small (`Limits`); a review pack holds one scorecard per unit, so what it may be grows with the
number of units — 4 545 scorecards are a 64.6 MB file. Any pack the generator writes must be readable, and a file
that only claims to be a big pack must not get a big budget. So:

1. before the file is read (only when it is larger than a return may be, or its zip holds more than a return's
   entries or inflates past a return's budget), a few bounded reads find what it declares: the end of its zip's
   central directory, the central directory, the start of workbook.xml (its sheet list), the workbook's rels and
   the `_meta` sheet, whose `scorecard_count` row (`contract.REVIEW_META_NAMES`) holds the declared number;
2. the count granted is the smaller of that number and the sheets present — listed in workbook.xml, with a part in
   the zip, other than the pack's fixed sheets — and the limits are `Limits.for_pack(count)`;
3. once the pack is read, the count is checked again against the scorecards actually found (`recheck`): a pack
   whose scorecards are fewer than it was granted for is held to the limits of what it holds.

Nothing here decides what a value is: the reader reads `_meta` by name afterwards, and these scans (regular
expressions over bounded text, linear) only size the budget; every answer they cannot give is "no pack budget".
"""
from __future__ import annotations

import posixpath
import re
import struct
import zlib
from typing import Callable

from workbook_templates.contract import REVIEW_META_NAMES, REVIEW_SHEETS, SCORECARD_COUNT

ReadAt = Callable[[int, int], bytes]
"""(offset, length) → up to `length` bytes of the file from `offset`."""

KIB, MIB = 1024, 1024 * 1024

# Per scorecard, measured on packs the generator wrote (openpyxl path, 13 units, and the issue-14 region pack of
# 4 545 units: 64.6 MB, i.e. 14.6 KB a scorecard) and on the same 13-unit pack saved again by LibreOffice (12.9 KB
# a scorecard): a scorecard sheet is ~14.6 KB deflated and ~91 KB inflated, its names ~0.7 KB deflated and
# ~15 KB (LibreOffice: ~22 KB) inflated in workbook.xml, its row on 总览 ~0.3 KB. The allowances are about twice
# that, for Excel's and WPS's resaves and what a reviewer types.
SCORECARD_BYTES = 32 * KIB            # file size per scorecard (F105)
SCORECARD_ENTRIES = 4                 # zip entries per scorecard: its sheet, its rels (links), printer settings (F106)
SCORECARD_INFLATED = 256 * KIB        # inflated per scorecard: its sheet, its names, its share of shared strings (F106)
PACK_FIXED_BYTES = 1 * MIB            # 说明, 总览's header, 参数, _meta, styles, theme (~10 KB written)
PACK_FIXED_ENTRIES = 64               # the fixed parts (~12 written)
PACK_FIXED_INFLATED = 16 * MIB        # the fixed parts inflated (~140 KB written)
PACK_MAX_SCORECARDS = 10_000
"""The absolute ceiling: no pack is granted more than the limits of 10 000 scorecards (twice Xinjiang's units) —
320 MB, 40 000 entries, 2.5 GB inflated in all. A larger review is written in parts (`review-pack --split`)."""

EOCD_SEARCH = 22 + 0xFFFF             # the end-of-central-directory record and the longest zip comment
CENTRAL_DIRECTORY_MAX = PACK_MAX_SCORECARDS * SCORECARD_ENTRIES * 256   # 46 bytes and a name of up to 210 a part
SHEET_LIST_MAX = 8 * MIB              # workbook.xml up to </sheets>: 10 000 <sheet> elements of ~100 bytes
PART_MAX = 4 * MIB                    # the workbook's rels, the _meta sheet
META_SHEET = REVIEW_SHEETS["meta"]
FIXED_SHEETS = frozenset(REVIEW_SHEETS.values())
COUNT_ROW = REVIEW_META_NAMES.index(SCORECARD_COUNT) + 1


def declared_scorecards(read_at: ReadAt, size: int) -> int | None:
    """The number of scorecards the file at `read_at` (of `size` bytes) declares in its `_meta`, no more than the
    scorecard sheets its zip holds — or None when it declares none (a return, an older pack, not a zip, a zip
    this scan does not follow)."""
    entries = _central_directory(read_at, size)            # by part name in lower case: names are case-insensitive
    if entries is None or "xl/workbook.xml" not in entries:
        return None
    sheets = _sheet_list(_inflate(read_at, entries["xl/workbook.xml"], SHEET_LIST_MAX, stop=b"</sheets>"))
    rels = entries.get("xl/_rels/workbook.xml.rels")
    if not sheets or rels is None:
        return None
    targets = _targets(_inflate(read_at, rels, PART_MAX))
    # sheet name → its part (the first <sheet> of a name wins, as in the reader); sheets sharing a part count once
    parts = {name: targets[rid].lower() for name, rid in reversed(sheets) if rid in targets}
    present = {name: part for name, part in parts.items() if part in entries}      # listed, with a part of its own
    if META_SHEET not in present:
        return None
    declared = _count(_inflate(read_at, entries[present[META_SHEET]], PART_MAX))
    if declared is None:
        return None
    return min(declared, len({part for name, part in present.items() if name not in FIXED_SHEETS}))


# ---------------------------------------------------------------- the zip's central directory

class _Entry:
    __slots__ = ("method", "flags", "compressed", "size", "offset")

    def __init__(self, method: int, flags: int, compressed: int, size: int, offset: int):
        self.method, self.flags, self.compressed, self.size, self.offset = method, flags, compressed, size, offset


def _central_directory(read_at: ReadAt, size: int) -> dict[str, _Entry] | None:
    tail_start = max(0, size - EOCD_SEARCH)
    tail = read_at(tail_start, size - tail_start)
    pos = tail.rfind(b"PK\x05\x06")
    if pos < 0 or pos + 22 > len(tail):
        return None
    count, cd_size, cd_offset = struct.unpack_from("<HII", tail, pos + 10)
    if count == 0xFFFF or cd_offset == 0xFFFFFFFF or cd_size > CENTRAL_DIRECTORY_MAX or cd_offset + cd_size > size:
        return None                                      # zip64, or not where it says: no pack budget
    data = read_at(cd_offset, cd_size)
    entries: dict[str, _Entry] = {}
    at = 0
    while at + 46 <= len(data) and data[at:at + 4] == b"PK\x01\x02":
        flags, method = struct.unpack_from("<HH", data, at + 8)
        compressed, plain, name_len, extra_len, comment_len = struct.unpack_from("<IIHHH", data, at + 20)
        (offset,) = struct.unpack_from("<I", data, at + 42)
        name = data[at + 46:at + 46 + name_len].decode("utf-8" if flags & 0x800 else "cp437", "replace")
        entries.setdefault(name.lower(), _Entry(method, flags, compressed, plain, offset))
        at += 46 + name_len + extra_len + comment_len
    return entries if len(entries) <= count else None


def _inflate(read_at: ReadAt, entry: _Entry, limit: int, stop: bytes | None = None) -> bytes:
    """The part's text, never more than `limit` bytes inflated (and no further than `stop`); b"" when it cannot be
    read here (encrypted, another method, a bad header or stream)."""
    if entry.flags & 0x1 or entry.method not in (0, 8):
        return b""
    header = read_at(entry.offset, 30)
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        return b""
    name_len, extra_len = struct.unpack_from("<HH", header, 26)
    start, remaining = entry.offset + 30 + name_len + extra_len, entry.compressed
    inflater = zlib.decompressobj(-15) if entry.method == 8 else None
    out = bytearray()
    try:
        while remaining > 0 and len(out) < limit:
            chunk = read_at(start, min(remaining, 256 * KIB))
            if not chunk:
                break
            start, remaining = start + len(chunk), remaining - len(chunk)
            searched = max(0, len(out) - len(stop or b""))
            out += inflater.decompress(chunk, limit - len(out)) if inflater else chunk[:limit - len(out)]
            if stop is not None and out.find(stop, searched) >= 0:
                break
            if inflater is not None and inflater.unconsumed_tail:
                break                                    # the limit is reached
    except zlib.error:
        return b""
    return bytes(out)


# ---------------------------------------------------------------- what the parts say

_SHEET = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?sheet\s([^>]{0,2000})>")
_NAME = re.compile(rb'\sname="([^"]{0,400})"|\sname=\'([^\']{0,400})\'')
_RID = re.compile(rb'\s[A-Za-z_][\w.-]*:id="([^"]{0,200})"|\s[A-Za-z_][\w.-]*:id=\'([^\']{0,200})\'')
_RELATIONSHIP = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?Relationship\s([^>]{0,4000})>")
_ID = re.compile(rb'\sId="([^"]{0,200})"|\sId=\'([^\']{0,200})\'')
_TARGET = re.compile(rb'\sTarget="([^"]{0,1000})"|\sTarget=\'([^\']{0,1000})\'')
_CELL = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c(\s[^>]{0,800}?)(/?)>")
_REF = re.compile(rb'\sr="([^"]{0,20})"|\sr=\'([^\']{0,20})\'')
_VALUE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?v>\s*([0-9]{1,7})(?:\.0*)?\s*</")
_CELL_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?c>")
COUNT_CELL = f"B{COUNT_ROW}"
_CELL_TYPE = re.compile(rb'\st="([^"]{0,20})"|\st=\'([^\']{0,20})\'')


def _attr(pattern: re.Pattern, text: bytes) -> str | None:
    m = pattern.search(b" " + text)
    if m is None:
        return None
    raw = m.group(1) if m.group(1) is not None else m.group(2)
    return raw.decode("utf-8", "replace").replace("&amp;", "&")


def _sheet_list(book: bytes) -> list[tuple[str, str]]:
    """(sheet name, relationship id) of every <sheet> of workbook.xml's sheet list."""
    end = book.find(b"</sheets>")
    out = []
    for m in _SHEET.finditer(book, 0, end if end >= 0 else len(book)):
        name, rid = _attr(_NAME, m.group(1)), _attr(_RID, m.group(1))
        if name is not None and rid is not None:
            out.append((name, rid))
    return out


def _targets(rels: bytes) -> dict[str, str]:
    """Relationship id → the part it names (relative to xl/, or absolute)."""
    out: dict[str, str] = {}
    for m in _RELATIONSHIP.finditer(rels):
        rid, target = _attr(_ID, m.group(1)), _attr(_TARGET, m.group(1))
        if rid is not None and target:
            part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
            out.setdefault(rid, part)
    return out


def _count(sheet: bytes) -> int | None:
    """The number in `_meta`'s scorecard_count cell (B of its row), when it is a plain number."""
    for m in _CELL.finditer(sheet):
        if _attr(_REF, m.group(1)) != COUNT_CELL:
            continue
        kind = _attr(_CELL_TYPE, m.group(1))
        if m.group(2) or kind not in (None, "n"):
            return None
        end = _CELL_END.search(sheet, m.end(), m.end() + 4096)
        value = _VALUE.search(sheet, m.end(), end.start() if end else m.end())
        return int(value.group(1)) if value else None
    return None


__all__ = ["ReadAt", "declared_scorecards", "SCORECARD_BYTES", "SCORECARD_ENTRIES", "SCORECARD_INFLATED",
           "PACK_FIXED_BYTES", "PACK_FIXED_ENTRIES", "PACK_FIXED_INFLATED", "PACK_MAX_SCORECARDS"]
