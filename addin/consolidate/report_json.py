"""The JSON report: `content(run)` written as deterministic, compact JSON, streamed and atomically.

Each unit's figures are written from the text the pre-render stage made where the file was read (`Rendered`,
carried in the unit's entry), or rendered here when there is none: the text is the same either way.

Every piece is written as valid UTF-8 whatever a file or a path smuggled in: a lone surrogate (which a UTF-8
writer cannot encode: the run used to end with 「错误：utf-8」) becomes U+FFFD (`writable_json`). The reader already
makes every text it returns safe; this is the writer's own guarantee for whatever else reaches it.
"""
from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator, Mapping, Sequence

from generator.ooxml import write_atomically

from .packed import unpack


JSON_OPTIONS = {"ensure_ascii": False, "sort_keys": True, "separators": (",", ":"), "allow_nan": False}
"""Deterministic, compact JSON: sorted keys, Chinese as is; NaN or inf is an error, never written."""

FIGURE_KEYS = ("inputs", "meta", "results")
"""A unit's per-file figures in its report entry: adjacent in sorted key order, so they are written as one
fragment — from the figures rendered where the file was read (`Rendered`), when there are."""


def to_json(value: Any) -> str:
    """`value` as the report writes it (`JSON_OPTIONS`)."""
    return json.dumps(value, **JSON_OPTIONS)


@dataclass(frozen=True, slots=True)
class Packed:
    """A value held as its report text (`to_json`), packed (`packed.pack`, with `dictionary`): a list of them is
    written by splicing each one's text in — e.g. the 佐证材料 section's units (`evidence.PackedEntry`), held so for
    the whole run."""

    text: bytes
    dictionary: bytes


class Rows(Sequence[dict[str, Any]]):
    """A long table of the report — a row a unit or a file — made row by row each time it is read, from the run's
    own data (`items`, one `row` each): both writers read it once, and 20 000 units' rows held as dicts between
    the two were ~40 MB. Written `BATCH` rows at a time. A row read is made anew: changing it changes nothing."""

    __slots__ = ("_items", "_row")

    def __init__(self, items: Sequence[Any], row: Callable[[Any], dict[str, Any]]) -> None:
        self._items, self._row = items, row

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return map(self._row, self._items)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self._row(x) for x in self._items[index]]
        return self._row(self._items[index])

    def __repr__(self) -> str:
        return f"Rows({len(self)} rows)"


def figures_json(inputs: Mapping[str, Any], meta: Mapping[str, Any], results: Mapping[str, Any]) -> str:
    """'"inputs":{…},"meta":{…},"results":{…}' exactly as `dumps` writes them inside a unit's entry."""
    return to_json({"inputs": dict(inputs), "meta": dict(meta), "results": dict(results)})[1:-1]


RENDERED = "rendered"
"""A unit entry's pre-rendered figures (`Rendered` or None): the writers use them, the report never shows the key."""


def dumps(data: dict[str, Any]) -> str:
    """The report's text for `content(run)` (what `write_report` writes)."""
    out = io.StringIO()
    _write(data, lambda piece: out.write(writable_json(piece)),
           lambda utf8: out.write(writable_json(utf8.decode("utf-8", "surrogatepass"))))
    return out.getvalue()


_SURROGATE = re.compile("[\ud800-\udfff]")


def writable_json(text: str) -> str:
    """JSON text with every lone surrogate (json.dumps writes them raw with ensure_ascii=False) as U+FFFD."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def _write(data: dict[str, Any], write: Callable[[str], Any], write_utf8: Callable[[bytes], Any]) -> None:
    """`json.dumps(data, **JSON_OPTIONS)` + newline (without each unit's `rendered`), written piecewise: each
    unit's figures from its pre-rendered text where there is one, given to `write_utf8` as the UTF-8 it is kept
    as (a 5 000-unit report is ~50 MB of figures: decoded and encoded again, they were a third of writing it).
    The text is the same either way (tests hold it to that)."""
    write("{")
    for i, key in enumerate(sorted(data)):
        write(("," if i else "") + json.dumps(key, ensure_ascii=False) + ":")
        if key != "units":
            _stream(data[key], write, SECTION_DEPTH)
            continue
        write("[")
        for j, unit in enumerate(data["units"]):
            before = {k: v for k, v in unit.items() if k < FIGURE_KEYS[0]}
            after = {k: v for k, v in unit.items() if k > FIGURE_KEYS[-1] and k != RENDERED}
            if len(before) + len(after) + len(FIGURE_KEYS) + (RENDERED in unit) != len(unit):
                raise AssertionError(f"报告中单位条目的键与数据片段重叠：{sorted(unit)}")
            head, tail = to_json(before)[1:-1], to_json(after)[1:-1]
            write(("," if j else "") + "{" + (head + "," if head else ""))
            rendered = unit.get(RENDERED)
            if rendered is None:
                write(figures_json(unit["inputs"], unit["meta"], unit["results"]))
            else:
                write('"inputs":')
                write_utf8(rendered.inputs_utf8)
                write(f',"meta":{to_json(unit["meta"])},"results":')
                write_utf8(rendered.results_utf8)
            write(("," + tail if tail else "") + "}")
        write("]")
    write("}\n")


SECTION_DEPTH = 2
"""How deep the report's sections are opened (`_stream`): a section's table and the tables in it, the lists on the
way costing no depth — e.g. the 佐证材料 section's list of units, and 进度's stages each with its list of overdue
units. A long list's items are written whole, `BATCH` at a time; nothing is ever one string per section."""

BATCH = 256
"""List items written by one `json.dumps`: one call per row costs more than the encoding itself."""


def _stream(value: Any, write: Callable[[str], Any], depth: int) -> None:
    """`to_json(value)` written in pieces: a table of text keys key by key down to `depth` levels, a long list
    and any `Rows` `BATCH` items at a time, a short one item by item, a list of `Packed` values from their texts (the same text:
    compact separators, sorted keys)."""
    if isinstance(value, list) and value and isinstance(value[0], Packed):
        write("[")
        for i, item in enumerate(value):
            write(("," if i else "") + unpack(item.text, item.dictionary))
        write("]")
    elif isinstance(value, Rows) or isinstance(value, list) and len(value) > BATCH:
        write("[")
        for i in range(0, len(value), BATCH):
            write(("," if i else "") + to_json(value[i:i + BATCH])[1:-1])
        write("]")
    elif depth and isinstance(value, list):
        write("[")
        for i, item in enumerate(value):
            if i:
                write(",")
            _stream(item, write, depth)
        write("]")
    elif depth and isinstance(value, dict) and all(isinstance(k, str) for k in value):
        write("{")
        for i, k in enumerate(sorted(value)):
            write(("," if i else "") + json.dumps(k, ensure_ascii=False) + ":")
            _stream(value[k], write, depth - 1)
        write("}")
    else:
        write(to_json(value))


def dump_report(data: dict[str, Any], binary: BinaryIO) -> None:
    """The JSON report of `content(run)` streamed to a binary file (a 5 000-unit report is never one string in
    memory): the pieces of text gathered and encoded together, the figures' UTF-8 added as it is, written about
    `ENCODED` bytes at a time — a file write and an encoding per piece cost more than making the piece."""
    pieces: list[str] = []
    encoded: list[bytes] = []
    size = 0

    def encode() -> None:
        text = "".join(pieces)
        try:
            encoded.append(text.encode("utf-8"))
        except UnicodeEncodeError:          # a lone surrogate: the encoding is the check, text without one
            encoded.append(writable_json(text).encode("utf-8"))   # costs nothing more
        pieces.clear()

    def flush() -> None:
        nonlocal size
        encode()
        binary.write(b"".join(encoded))
        encoded.clear()
        size = 0

    def write(piece: str) -> None:
        nonlocal size
        pieces.append(piece)
        size += len(piece)
        if size >= ENCODED:
            flush()

    def write_utf8(utf8: bytes) -> None:
        nonlocal size
        if b"\xed" in utf8:                # perhaps a lone surrogate as `pack` keeps it (0xED starts its UTF-8)
            utf8 = writable_json(utf8.decode("utf-8", "surrogatepass")).encode("utf-8")
        encode()
        encoded.append(utf8)
        size += len(utf8)
        if size >= ENCODED:
            flush()
    _write(data, write, write_utf8)
    flush()


ENCODED = 1 << 20
"""About how many characters and bytes of the report `dump_report` writes at once."""


def write_report(data: dict[str, Any], path: str | Path) -> None:
    """The JSON report of `content(run)`, streamed and written atomically: `path` is the previous report or the
    complete new one."""
    write_atomically(path, lambda binary: dump_report(data, binary))
