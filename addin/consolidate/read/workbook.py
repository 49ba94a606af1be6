"""A workbook's defined names and the cells they point at, read into `Extracted` (plain values, no handles).

`Workbook.load` parses workbook.xml and its rels into a layout (remembered by their bytes, which files from one
template share); `extract` / `extract_local` read the cells of workbook-scoped or sheet-local names, each sheet part
inflated and scanned once (`xmlscan.sheet_values`), shared strings resolved afterwards; the 参数 sheet's
factors come as `Extracted.params`, read by the contract's column map.
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable

from udfs.intake import Extracted
from workbook_templates.contract import PARAM_COLUMNS, PARAMS_SHEET

from .preflight import Package, office_document, resolve_part
from .rejected import AGAIN, Rejected
from .xmlscan import (A_RID, BLANK, STRICT_NS, T_DEFINED, T_REL, T_SHEET, T_SHEETS, Cell, parse_xml,
                      shared_strings, sheet_values, strict_format)

PARAM_TABLE = tuple(PARAM_COLUMNS)
"""The 参数 sheet's factor columns, read as a keyed table (column A holds the row key)."""

_NAME_REF = re.compile(r"^=?\s*(?:'((?:[^']|'')+)'|([^'!\[\]]+))!\$?([A-Za-z]{1,3})\$?([0-9]{1,7})\s*$")


@dataclass
class Workbook:
    package: Package
    layout: _Layout
    scan: bool = True
    # The shared-string table, whole, once a second lookup needs it: a pack is read a scorecard at a time, and
    # inflating and scanning the table for each would be quadratic and spend the file's inflate budget N times.
    _strings: dict[int, str] | None = None
    _string_lookups: int = 0

    @classmethod
    def load(cls, package: Package, scan: bool = True) -> "Workbook":
        main = "xl/workbook.xml" if package.has("xl/workbook.xml") else office_document(package)
        if main is None:
            raise Rejected("F102", f"压缩包中没有工作簿（xl/workbook.xml）：{AGAIN}")
        rels_part = posixpath.join(posixpath.dirname(main), "_rels", posixpath.basename(main) + ".rels")
        rels = package.read(rels_part) if package.has(rels_part) else b""
        book = package.read(main)
        layout = _layout_cached if len(book) + len(rels) < LAYOUT_CACHE_LIMIT else _layout
        return cls(package, layout(book, main, rels, rels_part, package.part_names), scan)

    @property
    def sheet_parts(self) -> dict[str, str]:
        """Sheet title → part name, for the sheets the package holds."""
        return self.layout.sheet_parts

    @property
    def names(self) -> dict[str, tuple[str, str]]:
        """Workbook-scoped name → (sheet title, "C9"), for names on a sheet the package holds."""
        return self.layout.names

    @property
    def local_names(self) -> dict[str, dict[str, tuple[str, str]]]:
        """Sheet title → its sheet-local names → (sheet title, "C9"): a review pack's scorecards (none in a fill-in)."""
        return self.layout.local

    @property
    def strings_part(self) -> str | None:
        return self.layout.strings_part

    def extract(self, names: Iterable[str], params: bool) -> Extracted:
        """The named cells (and the 参数 factors), each sheet part inflated and scanned once. `names` may be
        `self.names` itself: every name, read by the plan made once for the template."""
        plan = self.layout.plan if names is self.names else _plan({n: self.names[n] for n in names})
        return self._extract(plan, params)

    def extract_local(self, title: str) -> Extracted:
        """The cells of the sheet-local names of sheet `title` (a scorecard), by name."""
        return self._extract(self.layout.local_plans[title], False)

    def _extract(self, plan: _Plan, params: bool) -> Extracted:
        with_params = params and PARAMS_SHEET in self.sheet_parts
        wanted = plan.wanted
        if with_params and PARAMS_SHEET not in wanted:
            wanted = {**wanted, PARAMS_SHEET: frozenset()}
        cells: dict[str, dict[str, Cell]] = {}
        for title, refs in wanted.items():
            part = self.sheet_parts[title]
            cells[title] = sheet_values(self.package.read(part), part, refs,
                                        PARAM_TABLE if with_params and title == PARAMS_SHEET else (), self.scan, title,
                                        self.package.deadline)
        strings = self._resolve_strings(cells)

        ex = Extracted(cells=dict(plan.cells))
        values, errors, formulas, cached = ex.values, ex.errors, ex.formulas, ex.cached
        for n, title, ref in plan.order:
            c = cells[title].get(ref, BLANK)
            if c.error is not None:
                errors[n] = c.error
            elif c.shared is not None:
                values[n] = strings[c.shared]
            else:
                values[n] = c.value
            if c.formula:
                formulas.add(n)
                if c.cached:
                    cached.add(n)
        if with_params:
            ex.params = _params(cells[PARAMS_SHEET], strings)
        return ex

    def _resolve_strings(self, cells: dict[str, dict[str, Cell]]) -> dict[int, str | None]:
        """Shared-string index → the value of a cell holding it (an empty text is blank), for every index `cells`
        hold; F108 for an index beyond the table."""
        pending = [c.shared for sheet in cells.values() for c in sheet.values() if c.shared is not None]
        if not pending:
            return {}
        if self.strings_part is None:
            raise Rejected("F108", f"工作簿引用了共享字符串，但文件中没有共享字符串表：文件已损坏；{AGAIN}")
        table = self._strings
        if table is None:
            self._string_lookups += 1
            data = self.package.read(self.strings_part)
            if self._string_lookups == 1:             # a fill-in workbook: only the entries its cells use
                wanted = set(pending)
            else:                                     # every entry there can be (<si> is each one's start)
                wanted = set(range(data.count(b"<si")))
            table = shared_strings(data, self.strings_part, wanted, self.scan, self.package.deadline)
            if self._string_lookups > 1:
                self._strings = table
        out: dict[int, str | None] = {}
        for i in pending:
            if i not in out:
                if i not in table:
                    raise Rejected("F108", f"共享字符串编号 {i} 超出范围：文件已损坏；{AGAIN}")
                out[i] = table[i] if table[i] != "" else None
        return out


@dataclass(frozen=True)
class _Plan:
    """What `Workbook._extract` reads for a set of names. Not to be changed by the caller."""

    wanted: dict[str, frozenset[str]]                   # sheet title → its cells to read
    cells: dict[str, str]                               # key → "sheet!C9" (Extracted.cells)
    order: tuple[tuple[str, str, str], ...]             # (key, sheet title, "C9")


def _plan(where: dict[str, tuple[str, str]]) -> _Plan:
    wanted: dict[str, set[str]] = {}
    for title, ref in where.values():
        wanted.setdefault(title, set()).add(ref)
    return _Plan({title: frozenset(refs) for title, refs in wanted.items()},
                 {n: f"{title}!{ref}" for n, (title, ref) in where.items()},
                 tuple((n, title, ref) for n, (title, ref) in where.items()))


@dataclass(frozen=True)
class _Layout:
    """What workbook.xml and its rels give the reader, for the parts its package holds: the sheets (title →
    part), the names on those sheets (workbook-scoped, and each sheet's local ones), the shared-strings part, and
    the plans that read the names. Every file from one template (or one program's resave of it) has the same
    layout, so it is made once (`_layout_cached`). Not to be changed by the caller."""

    sheet_parts: dict[str, str]
    names: dict[str, tuple[str, str]]
    local: dict[str, dict[str, tuple[str, str]]]
    strings_part: str | None
    plan: _Plan                                          # every workbook-scoped name
    local_plans: dict[str, _Plan]                        # sheet title → its local names


def _layout(book: bytes, part: str, rels: bytes, rels_part: str, parts: frozenset[str]) -> _Layout:
    """The layout of a workbook.xml (`part`) with its rels, in a package holding `parts` (names in lower case,
    as `Package.has` matches them). A Rejected is raised again for each file, never remembered."""
    sheets, names, strings_part, local = _structure(book, part, rels, rels_part)
    if strings_part is None or strings_part.lower() not in parts:
        default = posixpath.join(posixpath.dirname(part), "sharedStrings.xml")
        strings_part = default if default.lower() in parts else None
    sheet_parts = {title: target for title, target in sheets.items() if target.lower() in parts}
    held = {n: ref for n, ref in names.items() if ref[0] in sheet_parts}
    held_local = {t: {n: ref for n, ref in refs.items() if ref[0] in sheet_parts}
                  for t, refs in local.items() if t in sheet_parts}
    return _Layout(sheet_parts, held, held_local, strings_part, _plan(held),
                   {t: _plan(refs) for t, refs in held_local.items()})


LAYOUT_CACHE_LIMIT = 1 << 20
"""workbook.xml and rels under 1 MB have their layout remembered by their bytes (a review pack of thousands of
scorecards is read once, not kept)."""
_layout_cached = lru_cache(maxsize=32)(_layout)


def _structure(book: bytes, part: str, rels: bytes, rels_part: str
               ) -> tuple[dict[str, str], dict[str, tuple[str, str]], str | None,
                          dict[str, dict[str, tuple[str, str]]]]:
    """(sheet title → part, workbook-scoped name → (sheet title, "C9"), shared-strings part, sheet title → its
    sheet-local names → (sheet title, "C9")) from the bytes of workbook.xml and its rels."""
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


def _params(cells: dict[str, Cell], strings: dict[int, str | None]) -> dict[str, Any]:
    """"<row key>.factor" / ".extra" / ".co2" → the 参数 sheet's C / D / E value as found (a number when the
    file is intact; text, None or the error code when someone edited it), for rows 2, 3, … while column A
    holds a cell (a row whose A is not text is passed over)."""
    out: dict[str, Any] = {}
    row = 2
    while (key_cell := cells.get(f"A{row}")) is not None:
        key = _value(key_cell, strings)
        key = key.strip() if isinstance(key, str) else ""
        if key:
            for col, part in PARAM_COLUMNS.items():
                c = cells.get(f"{col}{row}", BLANK)
                out[f"{key}.{part}"] = c.error if c.error is not None else _value(c, strings)
        row += 1
    return out


def _value(c: Cell, strings: dict[int, str | None]) -> Any:
    return strings[c.shared] if c.shared is not None else c.value
