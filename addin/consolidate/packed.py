"""Texts a run holds for every file, kept deflated: each consolidated file's rendered figures (`model.Rendered`), each
unit's 佐证材料 entry (`evidence.PackedEntry`).

A 20 000-file run holds them all until the outputs are written — 12.5 KB of text a file, 250 MB in all; deflated
they are 2.1 KB. The ledger stores the same bytes, so a re-run loads them without deflating anything.

Inflating is bounded (`LIMIT`) and must end exactly at the end of the stream: the ledger is a file on disk, and a
row whose bytes inflate to gigabytes, or carry anything after the text, is not a text this program wrote
(`BadPacked`; the ledger does not use the row).
"""
from __future__ import annotations

import zlib
from functools import lru_cache

WINDOW = 12
"""Deflate's window, 2**12 bytes: a unit's texts are a few KB, and setting up the default 32 KB window costs more
than deflating one of them."""
LEVEL = 1
"""Deflate's fastest level: every file's figures are packed once per run, and level 6 took half as long again a
file (98 µs against 66) to save 0.3 KB of the 2.1 (a 20 000-file run holds ~6 MB more: well inside its memory)."""
LIMIT = 4 * 1024 * 1024
"""The most a packed text may inflate to: 1 000 times a real one (a unit's 汇总 cells are about 3 KB)."""


class BadPacked(ValueError):
    """Bytes that are not a text `pack` made (corrupt, truncated, over `LIMIT`, or with more after the stream)."""


def pack(text: str, dictionary: bytes = b"") -> bytes:
    """`text` deflated (raw deflate of its UTF-8; a lone surrogate kept as it is). Texts alike that each spell out
    the same keys and wording (every unit's 佐证材料 entry) are deflated against a preset `dictionary` holding
    them (up to 32 KB, the whole window then); `unpack` is given the same one."""
    deflater = _primed(dictionary).copy() if dictionary else zlib.compressobj(LEVEL, zlib.DEFLATED, -WINDOW)
    return deflater.compress(text.encode("utf-8", "surrogatepass")) + deflater.flush()


@lru_cache(maxsize=4)
def _primed(dictionary: bytes) -> "zlib._Compress":
    """A deflater that has read `dictionary`, copied for each text: reading a 10 KB dictionary again for every text
    costs more than deflating the text."""
    return zlib.compressobj(LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS, zdict=dictionary)


def unpack(data: bytes, dictionary: bytes = b"") -> str:
    """The text `pack` deflated into `data` (with `dictionary`, when it was); `BadPacked` when `data` is anything
    else."""
    raw = unpack_utf8(data, dictionary)
    try:
        return raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError as e:
        raise BadPacked(str(e)) from None


def unpack_utf8(data: bytes, dictionary: bytes = b"") -> bytes:
    """The UTF-8 that `pack` deflated into `data`, not decoded — for a writer of UTF-8 to copy as it is (a lone
    surrogate stays as `pack` encoded it: the writer's to replace); `BadPacked` when `data` is not what `pack`
    made (its UTF-8 is checked only by `unpack`)."""
    if not isinstance(data, bytes):
        raise BadPacked("not bytes")
    inflater = (zlib.decompressobj(-zlib.MAX_WBITS, zdict=dictionary) if dictionary else
                zlib.decompressobj(-zlib.MAX_WBITS))
    try:
        raw = inflater.decompress(data, LIMIT)
    except zlib.error as e:
        raise BadPacked(str(e)) from None
    if not inflater.eof or inflater.unconsumed_tail or inflater.unused_data:
        raise BadPacked("over the limit, cut short or followed by more")
    return raw


__all__ = ["pack", "unpack", "unpack_utf8", "BadPacked", "LIMIT"]
