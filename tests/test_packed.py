"""The texts a run holds for every file are kept deflated (`addin.consolidate.packed`): what `pack` makes, `unpack`
gives back exactly; anything else — from a tampered ledger — is refused, never inflated without bound."""
from __future__ import annotations

import zlib

import pytest
from hypothesis import given, strategies as st

from addin.consolidate.packed import LIMIT, BadPacked, pack, unpack


@given(st.text())
def test_any_text_comes_back_as_it_was(text):
    assert unpack(pack(text)) == text


def test_a_units_cells_take_a_fraction_of_their_text():
    cells = '<c s="4"><v>19452</v></c><c s="9" t="inlineStr"><is><t>达标</t></is></c>' * 40
    assert len(pack(cells)) * 10 < len(cells.encode("utf-8"))
    assert unpack(pack("\ud800 孤立的代理项")) == "\ud800 孤立的代理项"      # kept as it is, as the run had it


@given(st.text(), st.binary(min_size=1, max_size=40_000))
def test_a_text_packed_against_a_dictionary_comes_back_with_that_dictionary(text, dictionary):
    assert unpack(pack(text, dictionary), dictionary) == text


def test_a_dictionary_spares_what_texts_alike_all_spell_out():
    """Each unit's 佐证材料 entry repeats the same keys and indicator ids: against a dictionary holding them, a short
    entry packs to a fraction of its size alone; without the dictionary it does not unpack."""
    dictionary = "".join(f'{{"file":null,"indicator":"{i}.1.1","kind":"no_evidence"}},' for i in range(9)).encode()
    entry = '{"file":null,"indicator":"2.1.1","kind":"no_evidence"},{"file":null,"indicator":"5.1.1"}'
    assert len(pack(entry, dictionary)) * 2 < len(pack(entry))
    with pytest.raises(BadPacked):
        unpack(pack(entry, dictionary))


def _deflated(raw: bytes) -> bytes:
    d = zlib.compressobj(9, zlib.DEFLATED, -15)
    return d.compress(raw) + d.flush()


@pytest.mark.parametrize("data, why", [
    (_deflated(b" " * (LIMIT + 1)), "inflates past the limit (a deflate bomb is cut at LIMIT)"),
    (pack("{}") + b"more", "bytes after the stream"),
    (pack("x" * 1000)[:-3], "cut short"),
    (b"\x00garbage\xff", "not deflate"),
    (_deflated("文本".encode("utf-16-le")), "not UTF-8"),
    ("{}", "text, not bytes"),
])
def test_anything_else_is_refused(data, why):
    with pytest.raises(BadPacked):
        unpack(data)


def test_the_report_copies_pre_rendered_figures_as_utf8_and_replaces_a_lone_surrogate():
    """The report writer copies a unit's pre-rendered figures as the UTF-8 they are kept as; the text is what
    `dumps` gives (and json.dumps of the same data), a lone surrogate — kept as it came — written as U+FFFD, and
    a Korean syllable (whose UTF-8 also starts with 0xED) kept."""
    import io
    import json

    from addin.consolidate.model import Rendered
    from addin.consolidate.packed import unpack_utf8
    from addin.consolidate.report_json import JSON_OPTIONS, RENDERED, dump_report, dumps

    inputs, results = {"name": "天池\ud800县", "n": 1.5}, {"word": "한", "ok": True}
    rendered = Rendered.of(json.dumps(inputs, **JSON_OPTIONS), json.dumps(results, **JSON_OPTIONS), "")
    assert unpack_utf8(rendered.packed_inputs) == json.dumps(inputs, **JSON_OPTIONS).encode("utf-8", "surrogatepass")
    unit = {"file": "a.xlsx", "inputs": inputs, "meta": {"v": "1.0"}, "results": results, "state": "有效",
            RENDERED: rendered}
    data = {"units": [unit, {**unit, RENDERED: None}], "year": 2026}
    out = io.BytesIO()
    dump_report(data, out)
    written = out.getvalue().decode("utf-8")                     # valid UTF-8
    assert written == dumps(data)
    entry = {"file": "a.xlsx", "inputs": {"name": "天池\ufffd县", "n": 1.5}, "meta": {"v": "1.0"},
             "results": results, "state": "有效"}
    assert json.loads(written) == {"units": [entry, entry], "year": 2026}
