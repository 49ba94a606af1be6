"""A unit's identity as a return states it — name, level, region — compared with the roster's, or with another
return's for the same 统一社会信用代码. Plain values in, differences out.

Why: the generator pre-fills and locks these cells from the roster, so a return that disagrees with the roster
entry of its own code was changed after generation (or comes from a roster that was changed since): either way
a person must look before it is ranked under that unit. Texts are compared as the roster reader cleans them
(NFC, control characters and runs of whitespace as one space, stripped), so what a spreadsheet does to spaces
is no difference; a level is compared by what it means (县市区级 = county), not by its spelling.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any, Mapping

from workbook_templates import Spec

from .levels import find_level

IDENTITY_FIELDS = ("unit_name", "unit_level", "unit_region")
"""What is compared besides the code (the code is what the entries are matched by)."""

FIELD_LABEL = {"unit_name": "单位名称", "unit_level": "单位层级", "unit_region": "所属地区"}

_WHITESPACE = re.compile(r"\s+")


def clean_text(value: Any) -> str:
    """A cell as the roster reader keeps it: NFC, control characters as spaces, whitespace runs as one space,
    stripped; None → ""."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value))
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)
    return _WHITESPACE.sub(" ", text).strip()


def _same(field: str, a: Any, b: Any, spec: Spec) -> bool:
    if field == "unit_level":
        la, lb = find_level(a, spec), find_level(b, spec)
        if la is not None or lb is not None:
            return la is not None and lb is not None and la.key == lb.key
    return clean_text(a) == clean_text(b)


def identity_differences(found: Mapping[str, Any], expected: Mapping[str, Any], spec: Spec
                         ) -> list[tuple[str, str, str]]:
    """(field, as found, as expected) for every field of `IDENTITY_FIELDS` on which `found` (a return's unit
    cells) differs from `expected` (a roster entry's, by the same names); [] when they agree."""
    return [(f, clean_text(found.get(f)), clean_text(expected.get(f))) for f in IDENTITY_FIELDS
            if not _same(f, found.get(f), expected.get(f), spec)]


def identity_key(unit: Mapping[str, Any], spec: Spec) -> tuple[str, str, str]:
    """What two returns for one code must share to be the same unit's: the cleaned name, the level's key (or
    its cleaned text when it names no level) and the cleaned region."""
    level = find_level(unit.get("unit_level"), spec)
    return (clean_text(unit.get("unit_name")), level.key if level else clean_text(unit.get("unit_level")),
            clean_text(unit.get("unit_region")))


def describe_differences(differences: list[tuple[str, str, str]], found_label: str, expected_label: str) -> str:
    """「单位名称：文件为「甲」，名单为「乙」；所属地区：…」 — every difference, both values named."""
    def shown(text: str) -> str:
        return f"「{text}」" if text else "空白"
    return "；".join(f"{FIELD_LABEL[f]}：{found_label}为{shown(a)}，{expected_label}为{shown(b)}"
                    for f, a, b in differences)


__all__ = ["IDENTITY_FIELDS", "FIELD_LABEL", "clean_text", "identity_differences", "identity_key",
           "describe_differences"]
