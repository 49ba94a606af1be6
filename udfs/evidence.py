"""佐证材料：单位列出的文件与交回的文件之间的对照规则 — plain functions of plain values.

The convention (seed deck PART 03: 「复验单位完成佐证资料上传」; every indicator's 印证材料):
- In the 自评表 a unit lists, per indicator, the files it provides in the cell named `evid_<id>` (`evidence_name`),
  separated by 「；」 (also 「;」 or a line break); an item may carry a short caption (图说) after the name, in
  brackets 「（…）」 or after 「：」: 「宣传栏.jpg（节能宣传周展板）」 lists 「宣传栏.jpg」.
- It hands the files in beside its workbook, in a folder 「<统一社会信用代码>_佐证材料」 or a zip of that name
  (`EVIDENCE_SUFFIX`); a listed name matches the file at that path inside (「照片/宣传栏.jpg」), or else the one
  file of that name anywhere inside (names compared without case, full-width forms folded).
- Findings (`KINDS`): an indicator self-scored above 0 with nothing listed; a listed file not found; a file handed in
  that no indicator lists; a file of a refused type (executables, scripts, macro documents: never linked); a type
  outside the allowed list; a file over the size limit (the spec's [evidence]).
"""
from __future__ import annotations

import posixpath
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Mapping, NamedTuple, Sequence

EVIDENCE_PREFIX = "evid_"
EVIDENCE_SUFFIX = "_佐证材料"
ZIP = ".zip"

NO_EVIDENCE, MISSING, UNLISTED, REFUSED, OTHER_TYPE, OVERSIZE, BAD_ZIP, NOT_FILE, UNREADABLE = (
    "no_evidence", "missing", "unlisted", "refused", "type", "oversize", "bad_zip", "not_file", "unreadable")
KINDS = {
    NO_EVIDENCE: "自评得分但未列佐证材料",
    MISSING: "列出的文件未找到",
    UNLISTED: "交回的文件未在自评表中列出",
    REFUSED: "文件类型不允许（可执行文件、脚本或含宏的文档），未登记链接",
    OTHER_TYPE: "文件类型不在允许的范围内，未登记链接",
    OVERSIZE: "文件超过大小上限",
    BAD_ZIP: "佐证材料压缩包无法使用",
    NOT_FILE: "不是普通文件（链接或特殊文件），未登记",
    UNREADABLE: "无法读取（没有读取权限或读取出错），未登记：请检查文件夹的权限后重新交回",
}
"""Each finding kind as the unit and the administrator read it."""

ALLOWED, REFUSED_CLASS, OTHER = "allowed", "refused", "other"

_SPLIT = re.compile(r"[；;\n\r]+")
_CAPTION = re.compile(r"[（(：:]")
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,5}$")


def evidence_name(indicator_id: str) -> str:
    """The defined name of an indicator's list of files: 2.1.1 → evid_2_1_1."""
    return EVIDENCE_PREFIX + indicator_id.replace(".", "_")


def listed_texts(values: Mapping[str, object]) -> dict[str, str]:
    """The `evid_<id>` cells a workbook has text in (surrounding spaces dropped), by name: what a return's inputs
    carry besides the contract's numbers (blank cells are left out)."""
    return {n: v.strip() for n, v in values.items()
            if n.startswith(EVIDENCE_PREFIX) and isinstance(v, str) and v.strip()}


def evidence_stem(unit_code: str) -> str:
    """「<统一社会信用代码>_佐证材料」: the folder's name, and the zip's without .zip."""
    return f"{unit_code}{EVIDENCE_SUFFIX}"


def is_evidence_name(name: str) -> bool:
    """Whether a file or folder name follows the evidence convention (`<code>_佐证材料` or its .zip)."""
    base = name[:-len(ZIP)] if name.lower().endswith(ZIP) else name
    return base.endswith(EVIDENCE_SUFFIX) and len(base) > len(EVIDENCE_SUFFIX)


@lru_cache(maxsize=8192)     # units list much the same names: each is folded once a run, not per unit
def fold(name: str) -> str:
    """A name as compared: NFKC (full-width forms), lower case, `/` separators, no leading ./ or /."""
    text = unicodedata.normalize("NFKC", name).replace("\\", "/").strip().lower()
    while text.startswith(("./", "/")):
        text = text[2:] if text.startswith("./") else text[1:]
    return text


def listed_files(text: object) -> list[str]:
    """The file names a cell lists, in order, each once, captions dropped.

    A caption starts at the first bracket or colon that follows a file extension, so 「照片(1).jpg」 is one name.

    >>> listed_files("宣传栏.jpg（节能宣传周展板）；制度.pdf; 照片/会议.png：培训现场\\n制度.pdf；照片(1).jpg")
    ['宣传栏.jpg', '制度.pdf', '照片/会议.png', '照片(1).jpg']
    """
    if not isinstance(text, str):
        return []
    out: list[str] = []
    for item in _SPLIT.split(text):
        name = item
        for m in _CAPTION.finditer(item):
            if _EXTENSION.search(item[:m.start()].rstrip()):
                name = item[:m.start()]
                break
        name = name.strip().strip("「」“”\"'").strip()
        if name and name not in out:
            out.append(name)
    return out


def file_type(name: str) -> str:
    """The type of a file by its extension, lower case without the dot ("" when it has none)."""
    ext = posixpath.splitext(posixpath.basename(name.replace("\\", "/")))[1]
    return unicodedata.normalize("NFKC", ext[1:]).lower() if ext else ""


def type_class(kind: str, allowed: Iterable[str], refused: Iterable[str]) -> str:
    """allowed | refused | other — a type in neither list is `other` (not linked, reported)."""
    if kind in refused:
        return REFUSED_CLASS
    return ALLOWED if kind in allowed else OTHER


@dataclass(frozen=True)
class Found:
    """A file handed in: its path inside the folder or zip (`/` separators), size and type class."""

    path: str
    size: int
    kind: str                     # the extension
    klass: str                    # allowed | refused | other


class Finding(NamedTuple):
    """One finding of a unit's evidence (a tuple: thousands of units each have tens of them, and a frozen
    dataclass costs five times as much to make)."""

    kind: str                     # one of KINDS
    indicator: str = ""
    file: str = ""


def match(listed: Mapping[str, Sequence[str]], found: Sequence[Found]) -> dict[tuple[str, str], str | None]:
    """(indicator, listed name) → the path of the file it names, or None when it is not there: the same path
    (folded), else the only file of that name."""
    by_path = {fold(f.path): f.path for f in found}
    by_name: dict[str, list[str]] = {}
    for f in found:
        by_name.setdefault(posixpath.basename(fold(f.path)), []).append(f.path)
    out = {}
    for ind, names in listed.items():
        for name in names:
            key = fold(name)
            hit = by_path.get(key)
            if hit is None:
                same = by_name.get(posixpath.basename(key), [])
                hit = same[0] if len(same) == 1 else None
            out[(ind, name)] = hit
    return out


def findings(listed: Mapping[str, Sequence[str]], scored: Mapping[str, float | None], found: Sequence[Found],
             max_file_bytes: int) -> tuple[list[Finding], dict[tuple[str, str], str | None]]:
    """Every finding of one unit's evidence (module rules), in a fixed order, and the matches (`match`).

    `listed`: indicator → names listed; `scored`: indicator → the counted self score (None: none)."""
    matches = match(listed, found)
    out = [Finding(NO_EVIDENCE, ind) for ind, score in scored.items()
           if score is not None and score > 0 and not listed.get(ind)]
    out += [Finding(MISSING, ind, name) for (ind, name), path in matches.items() if path is None]
    used = {path for path in matches.values() if path is not None}
    for f in sorted(found, key=lambda f: f.path):
        if f.path not in used:
            out.append(Finding(UNLISTED, "", f.path))
        if f.klass == REFUSED_CLASS:
            out.append(Finding(REFUSED, "", f.path))
        elif f.klass == OTHER:
            out.append(Finding(OTHER_TYPE, "", f.path))
        if f.size > max_file_bytes:
            out.append(Finding(OVERSIZE, "", f.path))
    return out, matches


def safe_member(name: str) -> bool:
    """Whether a zip member's name stays inside the folder it would be unpacked to (no ..、absolute path, drive
    or backslash) — a traversal name makes the whole zip unusable."""
    if not name or name.startswith(("/", "\\")) or "\\" in name or re.match(r"^[A-Za-z]:", name):
        return False
    return ".." not in name.split("/")


__all__ = ["EVIDENCE_PREFIX", "EVIDENCE_SUFFIX", "KINDS", "Found", "Finding", "evidence_name", "evidence_stem",
           "is_evidence_name", "fold", "listed_files", "file_type", "type_class", "match", "findings", "safe_member"]
