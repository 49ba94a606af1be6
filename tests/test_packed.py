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
