"""Reading one returned file safely — a unit's fill-in workbook or a reviewer's review pack — never openpyxl.

`read_returned(path)` never raises for any file content. It runs the stages of this package in order and stops
at the first that fails, as one finding (F1xx of checks.toml) whose message says what to do:

1. `preflight`: the bytes and the zip (F101–F107, F122, F125), and the bounded part reader `Package`;
2. `xmlscan`: the XML of the parts needed, scanned or parsed by defusedxml only (F108), every value in its
   canonical form (F126, F127) and every text made safe (`cell_text`, F121);
3. `workbook`: the defined names and their cells, as `Extracted`;
4. here: identity (F109 no `template_version` name: not a jieyue workbook; F110 a version this reader does not
   know) and, for a review pack, its scorecards.

Whatever goes wrong anywhere else (I/O, a bug, an unforeseen structure) becomes an F100 finding with the
exception text: the run goes on with the next file. A file gets a time budget (`Limits.seconds`, a review pack
`Limits.review_seconds`): past it, the file is rejected with F120 (`rejected.Deadline`).
"""
from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from udfs.intake import Extracted, Finding
from workbook_templates.contract import (KNOWN_REVIEW_VERSIONS, KNOWN_TEMPLATE_VERSIONS, META_NAMES, REVIEW_META_NAMES,
                                         SCORECARD_COUNT, SCORECARD_KEY, UNIT_NAMES, WORKBOOK_KIND)

from ..model import RETURN, REVIEW
from .preflight import (Limits, Package, check_empty, check_macros, check_ole, check_pack_limits, check_return_limits,
                        check_zip_signature, read_within)
from .rejected import AGAIN, Deadline, Rejected, exc_text
from .workbook import Workbook


@dataclass
class ReadResult:
    """One file as read. `status` is "rejected" when a finding of severity 错误 was made (every F101–F110 is);
    `extracted` is None when the file could not be read as a jieyue workbook (pre-flight, XML, F109), and
    filled for an unknown template version (F110) so that a report can still show what the file says."""

    status: str                     # "ok" | "rejected"
    findings: list[Finding]
    extracted: Extracted | None
    meta: dict[str, Any]            # template_version, assessment_year, factor_preset, spec_digest (as found)
    unit: dict[str, Any]            # unit_name, unit_code, unit_level, unit_region (text stripped)
    size: int                       # of the bytes read (a file too large to read: its size on disk)
    sha256: str                     # of the bytes read ("" when the file was too large or unreadable)
    kind: str = RETURN              # RETURN (a unit's fill-in workbook) | REVIEW (a reviewer's review pack)
    scorecards: list[Scorecard] = field(default_factory=list)   # a review pack's, in sheet order


@dataclass
class Scorecard:
    """One scorecard sheet of a review pack: its sheet-local names read as `Extracted` (by name)."""

    sheet: str
    cells: Extracted


@dataclass
class _Content:
    findings: list[Finding]
    extracted: Extracted | None
    meta: dict[str, Any]
    unit: dict[str, Any]
    kind: str = "return"
    scorecards: list[Scorecard] = field(default_factory=list)



def read_returned(path: Path, limits: Limits = Limits()) -> ReadResult:
    """Read one returned file by defined name; never raises (a failure is a finding). Nothing here depends on
    the spec: year, preset and spec mismatches are the checks' (F111–F114)."""
    size, sha = 0, ""
    meta: dict[str, Any] = {}
    unit: dict[str, Any] = {}
    extracted: Extracted | None = None
    findings: list[Finding] = []
    kind, scorecards = RETURN, []
    deadline = Deadline(limits.seconds)
    try:
        with deadline.armed():
            data, size, within = read_within(Path(path), limits)   # a review pack's limits: pack_limits
            sha = hashlib.sha256(data).hexdigest()
            content = _read(data, within, deadline)
        findings, extracted, meta, unit = content.findings, content.extracted, content.meta, content.unit
        kind, scorecards = content.kind, content.scorecards
    except Rejected as r:
        findings = [r.finding]
        size = r.size if r.size is not None else size
    except OSError as e:
        findings = [Finding("F100", f"无法读取文件（{exc_text(e)}）：请确认文件没有被其他程序打开、有读取权限，"
                                    "然后重新汇总")]
    except Exception as e:   # noqa: BLE001 — the file boundary: any failure is this file's finding
        findings = [Finding("F100", f"读取文件时出错（{exc_text(e)}）：文件可能已损坏；{AGAIN}")]
    status = "rejected" if findings else "ok"
    return ReadResult(status, findings, extracted, meta, unit, size, sha, kind, scorecards)



def _read(data: bytes, limits: Limits, deadline: Deadline | None = None) -> _Content:
    for check in (check_empty, check_ole, check_zip_signature):
        check(data)
    package = Package(data, limits, deadline)
    check_macros(package)
    book = Workbook.load(package)
    names = book.names
    if "template_version" not in names:
        check_return_limits(package)             # limits raised for a pack it is not: held to a return's
        # Not ours: read what unit information there is (for the report), nothing else.
        found = book.extract([n for n in (*META_NAMES, *UNIT_NAMES) if n in names], params=False)
        return _Content([Finding("F109", "不是 jieyue 生成的填报工作簿（没有模板版本标记 template_version）："
                                         "请使用下发的工作簿填写，不要把数据复制到其他表格中提交")],
                        None, _meta(found), _unit(found))
    if "workbook_kind" in names:
        kind = book.extract(["workbook_kind"], params=False).values.get("workbook_kind")
        if isinstance(kind, str) and kind.strip() == WORKBOOK_KIND:
            return _read_review(book)
    check_return_limits(package)
    extracted = book.extract(names, params=True)            # every name
    meta, unit = _meta(extracted), _unit(extracted)
    version = meta.get("template_version")
    if version not in KNOWN_TEMPLATE_VERSIONS:
        return _Content([_unknown_version("工作簿", version, KNOWN_TEMPLATE_VERSIONS,
                                          "请使用本次下发的工作簿重新填写（旧版或改动过的工作簿无法可靠汇总）",
                                          extracted.cells.get("template_version", ""))], extracted, meta, unit)
    return _Content([], extracted, meta, unit)


def _unknown_version(what: str, version: Any, known: frozenset[str], todo: str, cell: str) -> Finding:
    shown = "空白" if version in (None, "") else f"「{version}」"
    return Finding("F110", f"{what}的模板版本为{shown}，本程序只识别 {'、'.join(sorted(known))} 版：{todo}",
                   "template_version", cell)


def _read_review(book: "Workbook") -> _Content:
    """A review pack: its `_meta` (workbook names) and every scorecard — a sheet with a sheet-local
    `rev_unit_code` — read by its sheet-local names. A pack may inflate more than a unit's return (one sheet
    per unit): its budget is raised to the review pack's."""
    limits = book.package.limits
    book.package.budget += limits.review_inflate_budget - limits.inflate_budget
    if book.package.deadline is not None:
        book.package.deadline.extend(limits.review_seconds)
    found = book.extract([n for n in REVIEW_META_NAMES if n in book.names], params=False)
    meta = {n: (v.strip() if isinstance(v, str) else v) for n, v in found.values.items()}
    version = meta.get("template_version")
    if version not in KNOWN_REVIEW_VERSIONS:
        return _Content([_unknown_version("评审包", version, KNOWN_REVIEW_VERSIONS,
                                          "请用 jieyue review-pack 重新生成评审包并评分",
                                          found.cells.get("template_version", ""))], None, meta, {}, REVIEW)
    cards = [Scorecard(title, book.extract_local(title)) for title, local in book.local_names.items()
             if SCORECARD_KEY in local]
    check_pack_limits(book.package, meta.get(SCORECARD_COUNT), len(cards))
    return _Content([], None, meta, {}, REVIEW, cards)


def _meta(ex: Extracted) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in META_NAMES:
        if name not in ex.cells:
            continue
        v = ex.values.get(name)
        if isinstance(v, str):
            v = v.strip()
        if name == "template_version" and isinstance(v, float):
            v = str(v)                                  # "1.0" retyped as a number
        if name == "assessment_year":
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            elif isinstance(v, str) and v.isascii() and v.isdigit():
                v = int(v)
        out[name] = v
    if "fill_date" in ex.cells and ex.values.get("fill_date") not in (None, ""):
        out["fill_date"] = date_text(ex.values["fill_date"])      # the unit's 填报日期, for the outputs
    return out


EXCEL_EPOCH = datetime.date(1899, 12, 30)
"""Day 0 of Excel's 1900 date system, for day numbers from 61 (1900-03-01) on: Excel counts a 1900-02-29 that
never was, so earlier day numbers start a day later."""


def date_text(value: Any) -> str:
    """A date cell as ISO text: a workbook stores a date as Excel's day number (45148 → 「2023-08-10」); text a
    unit typed is kept as typed, stripped."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 1 <= value < 2958466:
        day = int(value)
        return (EXCEL_EPOCH + datetime.timedelta(days=day if day >= 61 else day + 1)).isoformat()
    return str(value).strip()


def _unit(ex: Extracted) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in UNIT_NAMES:
        if name in ex.cells:
            v = ex.values.get(name)
            out[name] = v.strip() if isinstance(v, str) else v
    return out
