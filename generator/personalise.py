"""Personalised workbooks in bulk, patched at the zip level.

openpyxl needs ~40 ms to build one workbook; thousands of units would take minutes. Instead the workbook is
rendered ONCE with a unique placeholder for each unit value (`TOKENS`): in each 单位信息 cell (openpyxl writes
inline strings, `<t>TOKEN</t>`), and for the unit's name also in the running head of every printed sheet (the
`<oddHeader>` of each visible sheet's XML, where it is header/footer text: `&` doubled). Each zip entry holding a
placeholder is split at them once; the part before the first placeholder is deflated once, ending on a full flush
(a byte-aligned block boundary with no back-references across it). Each unit's file then deflates only the rest of
those entries with the placeholders replaced by the XML-escaped values, appended to the part deflated once (the
CRC-32 continues from the prefix's), while every other entry's local record — header and compressed bytes — is
copied unchanged from the base; only the central directory is rebuilt. A personalised file is therefore identical,
entry for entry, to the base except for the four cells and the unit's name in the page headers, and equal to what
`render_workbook` writes for the same unit. The zip-level reading and patching is `generator.ooxml` (`read_zip`,
`inflate`, `replace_entries`), and every file is written with `ooxml.write_atomically`, so an interrupted run never
leaves a half-written workbook under a real name.

With a key (`addin.keys`), each unit's workbook also carries the keyed signature of its identity
(`udfs.signature.workbook_message`: the four cells and the `_meta` version, preset, year and choices) in `_meta`
`signature`: one more placeholder, in the `_meta` sheet's entry, patched the same way (that entry is small, and
HMAC-SHA256 of a short message costs microseconds, so signing hardly slows generation). Without a key the cell
stays blank, as in the blank template.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping
from xml.sax.saxutils import escape

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from udfs.signature import sign, workbook_message
from workbook_templates import Spec
from workbook_templates.contract import CHOICE_NAMES, SIGNATURE_NAME, UNIT_NAMES

from .layout import build_plan
from .ooxml import Deflated, inflate, read_zip, replace_entries, write_atomically
from .print_layout import header_text
from .render import render_workbook
from .roster import RosterUnit, safe_file_name

TOKENS = {name: f"JYTOKEN_{name}_{i:04d}" for i, name in enumerate(UNIT_NAMES, start=1)}
"""Placeholder text per personalised 单位信息 cell: unique, ASCII, never escaped, never a prefix of another."""

SIGNATURE_TOKEN = f"JYTOKEN_{SIGNATURE_NAME}_{len(UNIT_NAMES) + 1:04d}"
"""The placeholder of the `_meta` signature cell (only in a base rendered with a key)."""

SIGNED_META = ("template_version", "factor_preset", "assessment_year", *CHOICE_NAMES)
"""The `_meta` values a workbook's signature covers besides the unit's cells (`udfs.signature.WORKBOOK_FIELDS`)."""


class Personaliser:
    """Makes personalised copies of one rendered workbook, ~0.3 ms each (see `bench/bench_generate.py`).

    The workbook is `build_plan(spec, year, preset, **choices)`: the caller chooses the year and the preset."""

    def __init__(self, spec: Spec, year: int, preset: str, *, key: bytes | None = None, compresslevel: int = 6,
                 **choices):
        plan = build_plan(spec, year, preset, **choices)
        self.key = key
        """The signing key (None: the workbooks are not signed)."""
        tokens = {**TOKENS, SIGNATURE_NAME: SIGNATURE_TOKEN} if key is not None else dict(TOKENS)
        where = plan.named()
        self.identity = {n: where[n][0].cells[where[n][1]].value for n in SIGNED_META}
        """The `_meta` values each signature covers, as this workbook writes them."""
        self.base = render_workbook(plan, tokens)
        self.compresslevel = compresslevel
        self._entries = read_zip(self.base)
        self._patches: dict[int, _Patch] = {}
        for k, e in enumerate(self._entries):
            xml = inflate(e)
            if any(t.encode() in xml for t in tokens.values()):
                self._patches[k] = _Patch(e.name, xml, compresslevel, tokens)
        cells = sorted(name for p in self._patches.values() for name, kind in p.order if kind == "cell")
        holders = [p.entry for p in self._patches.values()
                   if any(kind == "cell" and name in UNIT_NAMES for name, kind in p.order)]
        if cells != sorted(tokens) or len(holders) != 1:
            raise RuntimeError(f"every placeholder must appear exactly once as a cell (<t>…</t>), the unit's in one "
                               f"entry, found {cells}; the unit's in {holders}")
        self.entry = holders[0]
        """The 单位信息 sheet's entry (the cells)."""
        self.entries = [p.entry for p in self._patches.values()]
        """Every entry patched: the 单位信息 sheet, the printed sheets whose running head names the unit, and with
        a key the `_meta` sheet (the signature)."""

    def values(self, unit: Mapping[str, Any] | RosterUnit) -> dict[str, Any]:
        """What one unit's workbook fills in: its four 单位信息 cells and, with a key, the signature of its
        identity (what `render_workbook(plan, values)` writes too)."""
        values = dict(unit.unit_info() if isinstance(unit, RosterUnit) else unit)
        if self.key is not None:
            values[SIGNATURE_NAME] = sign(self.key, workbook_message({**values, **self.identity}))
        return values

    def xml(self, unit: Mapping[str, Any] | RosterUnit) -> bytes:
        """The patched 单位信息 entry (uncompressed) for one unit."""
        values = unit.unit_info() if isinstance(unit, RosterUnit) else unit
        patch = next(p for p in self._patches.values() if p.entry == self.entry)
        return patch.head + patch.tail(values)

    def workbook(self, unit: Mapping[str, Any] | RosterUnit) -> bytes:
        """The .xlsx bytes of one unit's workbook: `unit` maps unit_name, unit_code, unit_level, unit_region."""
        values = self.values(unit)
        return replace_entries(self._entries, {k: p.deflated(values) for k, p in self._patches.items()},
                               self.compresslevel)


class _Patch:
    """One zip entry holding placeholders, cut at them: the literal parts between them and what each fills in."""

    def __init__(self, entry: str, xml: bytes, compresslevel: int, placeholders: Mapping[str, str]):
        self.entry = entry
        self.compresslevel = compresslevel
        tokens = {t.encode(): name for name, t in placeholders.items()}
        parts: list[bytes] = []
        self.order: list[tuple[str, str]] = []      # (name, "cell" | "header") per placeholder, in order
        rest = xml
        while True:
            hits = [(rest.find(t), t) for t in tokens if t in rest]
            if not hits:
                break
            at, token = min(hits)
            name = tokens[token]
            cell = rest[max(0, at - 3):at] == b"<t>" and rest[at + len(token):at + len(token) + 4] == b"</t>"
            if cell:
                parts.append(rest[:at - 3])
                rest = rest[at + len(token) + 4:]
            elif name == "unit_name":
                parts.append(rest[:at])
                rest = rest[at + len(token):]
            else:
                raise RuntimeError(f"{entry}: placeholder {name} outside a cell")
            self.order.append((name, "cell" if cell else "header"))
        parts.append(rest)
        self.head, self._parts = parts[0], parts[1:]
        packer = zlib.compressobj(compresslevel, zlib.DEFLATED, -15)
        self._head_deflated = packer.compress(self.head) + packer.flush(zlib.Z_FULL_FLUSH)
        self._head_crc = zlib.crc32(self.head)

    def tail(self, values: Mapping[str, Any]) -> bytes:
        """Everything after the part before the first placeholder, with `values` filled in."""
        pieces = []
        for (name, kind), literal in zip(self.order, self._parts):
            pieces.append(_text_element(name, values[name]) if kind == "cell" else _header_text(name, values[name]))
            pieces.append(literal)
        return b"".join(pieces)

    def deflated(self, values: Mapping[str, Any]) -> Deflated:
        """The entry's content for `values`, deflated: the head deflated once, then the tail."""
        tail = self.tail(values)
        packer = zlib.compressobj(self.compresslevel, zlib.DEFLATED, -15)
        data = self._head_deflated + packer.compress(tail) + packer.flush()
        return Deflated(data, zlib.crc32(tail, self._head_crc), len(self.head) + len(tail))


def _text_element(name: str, value: Any) -> bytes:
    text = "" if value is None else str(value)
    if ILLEGAL_CHARACTERS_RE.search(text):
        raise ValueError(f"「{name}」含有不能写入 Excel 的控制字符：{text!r}")
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f"<t{space}>{escape(text)}</t>".encode("utf-8")


def _header_text(name: str, value: Any) -> bytes:
    """`value` as literal text of a page header in the sheet XML (as `render_workbook` writes it)."""
    text = "" if value is None else str(value)
    if ILLEGAL_CHARACTERS_RE.search(text):
        raise ValueError(f"「{name}」含有不能写入 Excel 的控制字符：{text!r}")
    return escape(header_text(text)).encode("utf-8")


@dataclass
class BatchResult:
    written: list[Path] = field(default_factory=list)
    replaced: int = 0                                              # files that existed before and were replaced
    failed: list[tuple[RosterUnit, str]] = field(default_factory=list)   # unit, Chinese reason


def write_workbooks(units: Iterable[RosterUnit], out_dir: str | Path, personaliser: Personaliser,
                    on_progress: Callable[[int], None] | None = None) -> BatchResult:
    """One workbook per unit in `out_dir`, named `safe_file_name(code, name)`, each written atomically.

    A file that cannot be written (open in Excel, no permission) is reported in `failed`; the others go on.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = BatchResult()
    for done, unit in enumerate(units, start=1):
        path = out_dir / safe_file_name(unit.code, unit.name)
        existed = path.exists()
        try:
            write_atomically(path, personaliser.workbook(unit))
        except OSError as e:
            result.failed.append((unit, f"无法写入「{path.name}」（{e.strerror or e}）：文件是否正在 Excel 或 WPS 中打开？"
                                        "请关闭后重新运行"))
        else:
            result.written.append(path)
            result.replaced += existed
        if on_progress:
            on_progress(done)
    return result
