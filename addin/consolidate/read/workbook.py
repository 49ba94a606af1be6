"""A workbook's defined names and the cells they point at, read into `Extracted` (plain values, no handles).

`Workbook.load` parses workbook.xml and its rels (remembered by their bytes, which files from one template
share); `extract` / `extract_at` read the cells of workbook-scoped or sheet-local names, each sheet part
inflated and scanned once (`xmlscan.sheet_values`), shared strings resolved afterwards; the 参数 sheet's
factors come as `Extracted.params`, read by the contract's column map.
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable

from udfs.intake import Extracted
from workbook_templates.contract import PARAM_COLUMNS, PARAMS_SHEET

from .preflight import Package, office_document, resolve_part
from .rejected import AGAIN, Rejected
from .xmlscan import (A_RID, STRICT_NS, T_DEFINED, T_REL, T_SHEET, T_SHEETS, Cell, parse_xml, shared_strings,
                      sheet_values, strict_format)

PARAM_TABLE = tuple(PARAM_COLUMNS)
"""The 参数 sheet's factor columns, read as a keyed table (column A holds the row key)."""

_NAME_REF = re.compile(r"^=?\s*(?:'((?:[^']|'')+)'|([^'!\[\]]+))!\$?([A-Za-z]{1,3})\$?([0-9]{1,7})\s*$")


@dataclass
class Workbook:
    package: Package
    sheet_parts: dict[str, str]                                  # sheet title → part name
    names: dict[str, tuple[str, str]] = field(default_factory=dict)   # name → (sheet title, "C9")
    strings_part: str | None = None
    scan: bool = True
    # sheet title → its sheet-local names → (sheet title, "C9"): a review pack's scorecards (none in a fill-in)
    local_names: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)
    # The shared-string table, whole, once a second lookup needs it: a pack is read a scorecard at a time, and
    # inflating and scanning the table for each would be quadratic and spend the file's inflate budget N times.
    _strings: dict[int, str] | None = None
    _string_lookups: int = 0

    @classmethod
    def load(cls, package: Package, scan: bool = True) -> "Workbook":
        main = "xl/workbook.xml" if package.has("xl/workbook.xml") else office_document(package)
        if main is None:
            raise Rejected("F102", f"压缩包中没有工作簿（xl/workbook.xml）：{AGAIN}")
        base = posixpath.dirname(main)
        rels_part = posixpath.join(base, "_rels", posixpath.basename(main) + ".rels")
        rels = package.read(rels_part) if package.has(rels_part) else b""
        book = package.read(main)
        structure = _structure_cached if len(book) + len(rels) < STRUCTURE_CACHE_LIMIT else _structure
        sheets, names, strings_part, local = structure(book, main, rels, rels_part)
        if strings_part is None or not package.has(strings_part):
            default = posixpath.join(base, "sharedStrings.xml")
            strings_part = default if package.has(default) else None
        sheet_parts = {title: target for title, target in sheets.items() if package.has(target)}
        return cls(package, sheet_parts, {n: ref for n, ref in names.items() if ref[0] in sheet_parts},
                   strings_part, scan, {t: {n: ref for n, ref in refs.items() if ref[0] in sheet_parts}
                                        for t, refs in local.items() if t in sheet_parts})

    def extract(self, names: Iterable[str], params: bool) -> Extracted:
        """The named cells (and the 参数 factors), each sheet part inflated and scanned once."""
        return self.extract_at({n: self.names[n] for n in names}, params)

    def extract_at(self, where: dict[str, tuple[str, str]], params: bool = False) -> Extracted:
        """The cells at `where` (a key → (sheet title, "C9")) as `Extracted` by key — workbook names, or a
        scorecard's sheet-local names; with `params` also the 参数 factors."""
        wanted: dict[str, set[str]] = {}
        for title, ref in where.values():
            wanted.setdefault(title, set()).add(ref)
        with_params = params and PARAMS_SHEET in self.sheet_parts
        if with_params:
            wanted.setdefault(PARAMS_SHEET, set())
        cells: dict[str, dict[str, Cell]] = {}
        for title, refs in wanted.items():
            part = self.sheet_parts[title]
            cells[title] = sheet_values(self.package.read(part), part, refs,
                                        PARAM_TABLE if with_params and title == PARAMS_SHEET else (), self.scan, title,
                                        self.package.deadline)
        self._resolve_strings(cells)

        ex = Extracted()
        for n, (title, ref) in where.items():
            ex.cells[n] = f"{title}!{ref}"
            c = cells[title].get(ref) or Cell()
            if c.error is not None:
                ex.errors[n] = c.error
            else:
                ex.values[n] = c.value
            if c.formula:
                ex.formulas.add(n)
                if c.cached:
                    ex.cached.add(n)
        if with_params:
            ex.params = _params(cells[PARAMS_SHEET])
        return ex

    def _resolve_strings(self, cells: dict[str, dict[str, Cell]]) -> None:
        pending = [c for sheet in cells.values() for c in sheet.values() if c.shared is not None]
        if not pending:
            return
        if self.strings_part is None:
            raise Rejected("F108", f"工作簿引用了共享字符串，但文件中没有共享字符串表：文件已损坏；{AGAIN}")
        table = self._strings
        if table is None:
            self._string_lookups += 1
            data = self.package.read(self.strings_part)
            if self._string_lookups == 1:             # a fill-in workbook: only the entries its cells use
                wanted = {c.shared for c in pending}
            else:                                     # every entry there can be (<si> is each one's start)
                wanted = set(range(data.count(b"<si")))
            table = shared_strings(data, self.strings_part, wanted, self.scan, self.package.deadline)
            if self._string_lookups > 1:
                self._strings = table
        for c in pending:
            if c.shared not in table:
                raise Rejected("F108", f"共享字符串编号 {c.shared} 超出范围：文件已损坏；{AGAIN}")
            text = table[c.shared]
            c.value = text if text != "" else None
            c.shared = None


def _structure(book: bytes, part: str, rels: bytes, rels_part: str
               ) -> tuple[dict[str, str], dict[str, tuple[str, str]], str | None,
                          dict[str, dict[str, tuple[str, str]]]]:
    """(sheet title → part, workbook-scoped name → (sheet title, "C9"), shared-strings part, sheet title → its
    sheet-local names → (sheet title, "C9")) from the bytes of workbook.xml and its rels. Files from one template (or one program's resave of it) share these bytes, so
    the result is remembered by them for parts under 1 MB (`_structure_cached`; a Rejected is raised again
    each time, never remembered). The caller must not change the dicts returned."""
    root = parse_xml(book, part)
    if root.tag.startswith("{" + STRICT_NS):
        raise strict_format()
    base = posixpath.dirname(part)
    targets: dict[str, str] = {}
    strings_part = None
    if rels:
        for rel in parse_xml(rels, rels_part).iter(T_REL):
            if rel.get("TargetMode") == "External":
                continue
            target = resolve_part(base, rel.get("Target", ""))
            targets[rel.get("Id", "")] = target
            if rel.get("Type", "").endswith("/sharedStrings"):
                strings_part = target
    sheets: dict[str, str] = {}
    order: list[str] = []                                # every <sheet> in order: what localSheetId counts
    found = root.find(T_SHEETS)
    for sheet in (found if found is not None else ()):
        if sheet.tag != T_SHEET:
            continue
        order.append(sheet.get("name", ""))
        target = targets.get(sheet.get(A_RID, ""))
        if target:
            sheets.setdefault(sheet.get("name", ""), target)
    names: dict[str, tuple[str, str]] = {}
    local: dict[str, dict[str, tuple[str, str]]] = {}
    for dn in root.iter(T_DEFINED):
        name = dn.get("name", "")
        if not name or name.lower().startswith("_xlnm."):
            continue
        m = _NAME_REF.match(dn.text or "")
        if m is None:
            continue                                     # #REF!, a range, a constant, another workbook
        title = m.group(1).replace("''", "'") if m.group(1) is not None else m.group(2).strip()
        if title not in sheets:
            continue
        where = (title, f"{m.group(3).upper()}{m.group(4)}")
        scope = dn.get("localSheetId")
        if scope is None:
            names.setdefault(name, where)
        elif scope.isdigit() and int(scope) < len(order):
            local.setdefault(order[int(scope)], {}).setdefault(name, where)
    return sheets, names, strings_part, local


STRUCTURE_CACHE_LIMIT = 1 << 20
_structure_cached = lru_cache(maxsize=32)(_structure)




def _params(cells: dict[str, Cell]) -> dict[str, Any]:
    """"<row key>.factor" / ".extra" / ".co2" → the 参数 sheet's C / D / E value as found (a number when the
    file is intact; text, None or the error code when someone edited it), for rows 2, 3, … while column A
    holds a cell (a row whose A is not text is passed over)."""
    out: dict[str, Any] = {}
    row = 2
    while (key_cell := cells.get(f"A{row}")) is not None:
        key = key_cell.value.strip() if isinstance(key_cell.value, str) else ""
        if key:
            for col, part in PARAM_COLUMNS.items():
                c = cells.get(f"{col}{row}") or Cell()
                out[f"{key}.{part}"] = c.error if c.error is not None else c.value
        row += 1
    return out
