"""The outcome of a consolidation run as plain data: what the summary workbook and the JSON report show.

Every file seen is one `FileOutcome` (consolidated, rejected or skipped), so the accounting
seen = consolidated + rejected + skipped always holds.
"""
from __future__ import annotations

import json
import re
from datetime import date
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Sequence

from udfs.intake import Finding

from .packed import pack, unpack, unpack_utf8

SHA256_HEX = re.compile(r"[0-9a-f]{64}")
"""A SHA-256 as this program writes it (`FileOutcome.sha256`, the ledger's stamps): 64 lowercase hex digits."""

CONSOLIDATED, REJECTED, SKIPPED = "consolidated", "rejected", "skipped"
STATUS_LABEL = {CONSOLIDATED: "已汇总", REJECTED: "已拒收", SKIPPED: "已跳过"}
RETURN, REVIEW = "return", "review"
"""What a jieyue workbook is: a unit's returned fill-in workbook, or a reviewer's returned review pack."""
EVIDENCE, FOLDER, OTHER = "evidence", "folder", "other"
"""What a skipped entry is when it is not read as a workbook: a unit's 佐证材料 folder or zip (indexed apart), any
other folder not gone into, any other file (a lock file, a system file, the run's own output …)."""
KIND_LABEL = {RETURN: "填报工作簿", REVIEW: "评审包", EVIDENCE: "佐证材料", FOLDER: "文件夹", OTHER: "其他文件"}


@dataclass(frozen=True)
class Rendered:
    """A consolidated file's figures rendered once, in the process that read the file, and kept in the ledger:
    the outputs join these instead of rendering every unit again on every run. Held deflated (`packed`): a run
    holds them for every file until its outputs are written; `of` packs, the properties give the texts."""

    packed_inputs: bytes               # the inputs as the JSON report writes them (`report_json.JSON_OPTIONS`)
    packed_results: bytes              # the recomputed figures, likewise
    packed_cells: bytes                # the figures' cells in 汇总 (`prerender.unit_cells`)
    counted: Sequence[float] = ()      # the self score per indicator as counted (NaN: blank or not legal), in the
    #                                    spec's order: the unit's contribution to the run's averages (`unit_indicators`);
    #                                    an array('d'): 8 bytes a score, thousands of units are held at once

    @classmethod
    def of(cls, inputs_json: str, results_json: str, summary_cells: str, counted: Sequence[float] = ()) -> "Rendered":
        return cls(pack(inputs_json), pack(results_json), pack(summary_cells), counted)

    @property
    def inputs_utf8(self) -> bytes:
        """The inputs' JSON text as UTF-8, for the report's writer to copy (`packed.unpack_utf8`)."""
        return unpack_utf8(self.packed_inputs)

    @property
    def results_utf8(self) -> bytes:
        """The results' JSON text as UTF-8, likewise."""
        return unpack_utf8(self.packed_results)

    @property
    def summary_cells(self) -> str:
        return unpack(self.packed_cells)


class StoredFigures(Mapping[str, Any]):
    """Inputs or results kept as packed JSON text (`packed`) — in the ledger and in the run —, decoded the first
    time a value is asked for: a re-run over thousands of unchanged files decodes only what it uses. The few names
    the run's own tables read for every unit (`covered`: totals, decline results, self-scores) come decoded already
    (`preview`)."""

    __slots__ = ("packed", "_data", "_preview", "_covered")

    def __init__(self, packed: bytes, preview: Mapping[str, Any] | None = None, covered: frozenset[str] = frozenset()):
        self.packed = packed
        self._data: dict[str, Any] | None = None
        self._preview = preview or {}
        self._covered = covered

    @property
    def text(self) -> str:
        return unpack(self.packed)

    def _decoded(self) -> dict[str, Any]:
        if self._data is None:
            self._data = json.loads(unpack(self.packed))
        return self._data

    def __getitem__(self, key: str) -> Any:
        if self._data is None and key in self._covered:
            return self._preview[key]
        return self._decoded()[key]

    def get(self, key: str, default: Any = None) -> Any:
        if self._data is None and key in self._covered:
            return self._preview.get(key, default)
        return self._decoded().get(key, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._decoded())

    def __len__(self) -> int:
        return len(self._decoded())

    def __repr__(self) -> str:
        return f"StoredFigures({self.text[:40]}…)"

    def covered_items(self, covered: frozenset[str]) -> dict[str, Any]:
        """The values of the names in `covered` it holds — from what came decoded when those are the names it
        covers (nothing decoded), else from the whole."""
        if self._data is None and covered == self._covered:
            return dict(self._preview)
        return {k: v for k, v in self._decoded().items() if k in covered}


@dataclass(slots=True)         # a run holds one per file: 20 000 of them
class FileOutcome:
    path: str                          # relative to the returns folder, "/" separators
    size: int
    sha256: str
    status: str                        # consolidated | rejected | skipped
    findings: list[Finding] = field(default_factory=list)
    unit: dict[str, Any] = field(default_factory=dict)     # unit_name, unit_code, unit_level, unit_region as read
    meta: dict[str, Any] = field(default_factory=dict)     # template_version, assessment_year, factor_preset, spec_digest
    inputs: Mapping[str, Any] = field(default_factory=dict)   # clean inputs (consolidated files)
    results: Mapping[str, Any] = field(default_factory=dict)  # recomputed figures, udfs.evaluate (consolidated)
    blocking: bool = False             # has a 错误 finding: not ranked
    used: bool = True                  # False for the file not chosen among duplicates
    skip_reason: str = ""
    rendered: Rendered | None = field(default=None, repr=False, compare=False)
    kind: str = RETURN                 # RETURN: a unit's fill-in workbook; REVIEW: a reviewer's review pack;
                                       # a skipped entry: EVIDENCE, FOLDER or OTHER
    # A review pack's scorecards as read: {"sheet", "values": name → value, "errors": name → error code,
    # "cells": name → "sheet!C9", "uncached": formula names saved without a result} — scored at the run
    # level, where each is matched to its unit's return.
    scorecards: list[dict[str, Any]] = field(default_factory=list)

    @property
    def code(self) -> str:
        return str(self.unit.get("unit_code") or "")


@dataclass
class DuplicateGroup:
    unit_code: str
    files: list[str]                   # every path returned for this unit, sorted
    chosen: str                        # the path used (with a conflict: only shown, not ranked)
    rule: str                          # the rule that chose it, in Chinese
    conflict: str = ""                 # how the files disagree on the unit's identity (Chinese); "" when they agree


@dataclass
class RosterEntry:
    name: str
    code: str
    level: str
    region: str
    cohort: str = "复验"               # the roster's 类型: 复验 | 创建 (udfs.results.COHORTS)
    named_year: int | None = None      # the roster's 命名年度, when given


@dataclass
class ReviewCard:
    """One scorecard of a returned review pack, scored against its unit's consolidated return."""

    path: str                          # the pack file
    sheet: str
    level: str                         # reviewer key (county | prefecture | region)
    unit_code: str
    unit_name: str
    items: dict[str, float | None]     # indicator id → counted score (udfs.review.score_card)
    total: float | None                # None while unfinished (or the unit's return is missing)
    missing: int                       # items not (legally) scored yet
    reviewer: str
    date: Any
    used: bool = True                  # False: another scorecard of the same unit and level was chosen
    matched: bool = True               # False: no consolidated return with this unit code
    blank: bool = False                # nothing entered: no review (a pack covers more units than are scored)
    duplicated: bool = False           # its pack holds another scorecard for the same unit (R608): none counts

    @property
    def chosen(self) -> bool:
        """The one scorecard that counts for its unit and level: chosen among duplicates, matched to a
        consolidated return, not left untouched, and the only one for its unit in its pack."""
        return self.used and self.matched and not self.blank and not self.duplicated


@dataclass
class SignatureCheck:
    """How the run checked the generator's signatures (`signatures.verify_signatures`): with a key, each
    consolidated return's and pack's status by path; without one, only that nothing was checked."""

    checked: bool                      # False: no key was given, no signature was checked
    key_id: str = ""                   # the key's fingerprint (`udfs.signature.key_id`)
    status: dict[str, str] = field(default_factory=dict)   # path → valid | failed | missing (checked runs)


@dataclass
class ConsolidationRun:
    folder: str
    year: int                          # the assessment year of this run (`year_source` says where it came from)
    preset: str | None                 # the only preset accepted (`--preset`), None: each file's own is accepted
    files: list[FileOutcome]           # every file seen, sorted by path
    year_source: str = "returns"       # option (--year) | returns (the most common year) | spec (no returns)
    presets_used: dict[str, list[str]] = field(default_factory=dict)   # preset → returns recomputed with it
    roster: list[RosterEntry] | None = None
    duplicates: list[DuplicateGroup] = field(default_factory=list)
    not_returned: list[RosterEntry] = field(default_factory=list)
    outside_roster: list[FileOutcome] = field(default_factory=list)
    disappeared: list[str] = field(default_factory=list)   # files in the previous run's ledger, gone now
    notices: list[str] = field(default_factory=list)       # what the run says about itself: ledger set aside or
    #                                                        rows not used, a killed run's outputs completed (Chinese)
    scope: str = "region"              # the ranking scope used: region | prefecture
    review_cards: list[ReviewCard] = field(default_factory=list)   # every scorecard of the consolidated packs
    results: dict[str, Any] = field(default_factory=dict)   # unit code → udfs.results.UnitResult
    final: bool = False                # the consolidation after the deadline: units not done are 未完成复验
    as_of: date | None = None          # the date the stages are judged at (`--as-of`): an input, never "today" here
    evidence: dict[str, Any] | None = None   # 佐证材料 indexed beside the returns (`evidence.index_evidence`)
    elimination_base: dict[str, int] | None = None   # ranking group → the 5 % base used (None: the units ranked)
    signatures: SignatureCheck = field(default_factory=lambda: SignatureCheck(checked=False))
    roster_mismatch: dict[str, list[str]] = field(default_factory=dict)
    """Roster code → the returns under it whose name, level or region differ from the roster's (D504)."""
    fingerprint: str | None = None
    """What the run was made of (`fingerprint`), stored in the ledger with the outputs; None without a ledger."""

    @property
    def accounting(self) -> dict[str, int]:
        count = {s: sum(1 for f in self.files if f.status == s) for s in (CONSOLIDATED, REJECTED, SKIPPED)}
        return {"seen": len(self.files), **count}

    _sorted_units: tuple[list[int], list[FileOutcome]] = field(default=([], []), init=False, repr=False,
                                                               compare=False)
    """(the ids of the files chosen, the same files sorted) when `units` was last asked: every table asks, ~17 times
    a run, and sorting 5 000 files each time was a twentieth of a re-run after a few late returns."""

    @property
    def units(self) -> list[FileOutcome]:
        """One consolidated file per unit (duplicates resolved), by region then code."""
        chosen = [f for f in self.files if f.status == CONSOLIDATED and f.used and f.kind == RETURN]
        # Sorted again only when other files are chosen (a rule changed a status): what the order is made of — a
        # file's unit and path — is fixed once the file is read. The sorted list keeps the files, so their ids
        # stay theirs.
        ids = list(map(id, chosen))
        if ids != self._sorted_units[0]:
            self._sorted_units = (ids, sorted(chosen, key=lambda f: (str(f.unit.get("unit_region") or ""),
                                                                        f.code, f.path)))
        return list(self._sorted_units[1])

    @property
    def packs(self) -> list[FileOutcome]:
        """The review packs read (not rejected), by path."""
        return [f for f in self.files if f.status == CONSOLIDATED and f.kind == REVIEW]
