"""Keyed signatures (HMAC-SHA256) over the identity the generator wrote — plain values in, hex digest out.

Why: a returned workbook's 单位信息 cells and a review pack's `_meta` are locked, but the protection password
is in the source, so anyone can change them. With a key only the administrator holds, the generator signs what
it wrote; the consolidation recomputes the signature from what the file says and compares. A file whose signed
identity was changed (re-coded with another unit's code, another level or region, a pack turned into the
自治区's) no longer matches; one made without the key has no valid signature at all. What the signature does not
cover — the figures a unit types, a reviewer's scores — it cannot vouch for (README「签名与身份」).

The message is canonical JSON (UTF-8, keys sorted, no spaces, Chinese as is) of text values only, so the same
identity always gives the same bytes on every machine and a value can never spill into the next field:

    workbook  {"assessment_year":"2023","calc_switches":"","factor_preset":"xj-2023","grid_factor":"…",
               "kind":"workbook","scheme":"jieyue-hmac-sha256-2","standard_version":"…","template_version":"1.0",
               "unit_code":"…","unit_level":"县市区级","unit_name":"…","unit_region":"…"}
    pack      {"assessment_year":"2023","kind":"review_pack","pack_id":"…","pack_part":"1","pack_parts":"3",
               "review_level":"county","review_region":"…","scheme":"jieyue-hmac-sha256-2",
               "scorecards":[["<code>","<sheet title>"],…],"template_version":"review-1.0"}

Values are made text the same way on both sides (`canonical_text`): None → "", an integral number → its
digits (a year read back as 2023.0 is "2023"), text stripped; a 统一社会信用代码 as `normalize_unit_code` makes it
(as the reader does), when it is one. The pack's scorecards are sorted (code, sheet):
the signature covers the set, and the workbook's structure lock keeps their order anyway. `kind` keeps a
workbook's signature from standing for a pack's and the reverse; `scheme` names this format, so a future one
cannot be confused with it (2: the workbook's grid factor, switches and standard version, and the pack's part
fields, were added).

The key is bytes the caller read (`addin.keys`); nothing here reads a file.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any, Iterable, Mapping

from .unit_code import normalize_unit_code

SCHEME = "jieyue-hmac-sha256-2"
"""The signature format, part of every message."""

WORKBOOK_FIELDS = ("unit_code", "unit_name", "unit_level", "unit_region", "template_version", "factor_preset",
                   "assessment_year", "grid_factor", "calc_switches", "standard_version")
"""What a fill-in workbook's signature covers: the four 单位信息 cells and the `_meta` choices the file is
recomputed with (version, preset, year, and the grid factor, calculation switches and standard version chosen
at generation: a unit that edits one to get a kinder rule breaks the signature)."""

KEY_BYTES = 32
"""A key is 32 random bytes (256 bits, the HMAC-SHA256 block's natural size)."""


def canonical_text(value: Any) -> str:
    """A cell value as the message holds it: None → "", an integral number → its digits, text stripped. A
    non-integral number keeps Python's shortest repr (no field signed here is one)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return repr(value)
    return str(value).strip()


_CANONICAL_CODE = re.compile(r"[0-9A-Z]{18}")


def _code(value: Any) -> str:
    text = canonical_text(value)
    if _CANONICAL_CODE.fullmatch(text):
        return text         # what normalize_unit_code gives it, valid or not — without its ~30 µs (per workbook)
    return normalize_unit_code(text) or text


def _encode(fields: Mapping[str, Any]) -> bytes:
    # surrogatepass: a hostile file's lone surrogate gives a message (that fails), never an exception.
    return json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8", "surrogatepass")


def workbook_message(identity: Mapping[str, Any]) -> bytes:
    """The canonical message of a fill-in workbook: `identity` maps every name of `WORKBOOK_FIELDS` (the unit's
    four names and template_version, factor_preset, assessment_year); a missing one is a KeyError (a caller's
    bug — a file lacking the name passes None)."""
    fields = {name: _code(identity[name]) if name == "unit_code" else canonical_text(identity[name])
              for name in WORKBOOK_FIELDS}
    return _encode({"scheme": SCHEME, "kind": "workbook", **fields})


def pack_message(*, template_version: Any, assessment_year: Any, review_level: Any, review_region: Any,
                 scorecards: Iterable[tuple[Any, Any]], pack_id: Any, pack_part: Any, pack_parts: Any) -> bytes:
    """The canonical message of a review pack (one workbook of it): its version, year, reviewer level (key) and
    region, the set of its scorecards as (unit code, sheet title), and which part of which pack it is (the pack's
    id, this part's number, the number of parts: `review-pack --split`)."""
    cards = sorted([_code(code), canonical_text(title)] for code, title in scorecards)
    return _encode({"scheme": SCHEME, "kind": "review_pack", "template_version": canonical_text(template_version),
                    "assessment_year": canonical_text(assessment_year), "review_level": canonical_text(review_level),
                    "review_region": canonical_text(review_region), "scorecards": cards,
                    "pack_id": canonical_text(pack_id), "pack_part": canonical_text(pack_part),
                    "pack_parts": canonical_text(pack_parts)})


def sign(key: bytes, message: bytes) -> str:
    """HMAC-SHA256 of `message` under `key`, as 64 lower-case hex digits."""
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def verify(key: bytes, message: bytes, signature: Any) -> bool:
    """Whether `signature` (as read from the file: any value) is `message`'s under `key`; compared in constant
    time, so the comparison does not tell a forger how many leading digits were right."""
    if not isinstance(signature, str):
        return False
    given = signature.strip().lower().encode("ascii", "replace")
    return hmac.compare_digest(given, sign(key, message).encode("ascii"))


def key_id(key: bytes) -> str:
    """A short fingerprint of the key (12 hex digits), shown in reports so that an administrator can tell which
    key a run used; it reveals nothing usable about the key."""
    return hmac.new(key, b"jieyue key id", hashlib.sha256).hexdigest()[:12]


__all__ = ["SCHEME", "WORKBOOK_FIELDS", "KEY_BYTES", "canonical_text", "workbook_message", "pack_message", "sign",
           "verify", "key_id"]
