"""佐证材料 in a consolidation run: each unit's evidence folder or zip beside its return, indexed without opening or
running anything (`run.evidence`, the report's `evidence`, the summary's 佐证材料 sheet).

Beside the unit's chosen return, `<统一社会信用代码>_佐证材料/` (a folder, links never followed) or else
`<统一社会信用代码>_佐证材料.zip`: every file in it with its path inside, size, type and SHA-256 (files over the size
limit are not hashed). A zip goes through the returns' pre-flight limits (`read.preflight`: entry count, declared and
actual inflated size, compression ratio, encryption, duplicate names) and every member name must stay inside (no
`..`, absolute path or drive): one failure and the whole zip is unusable (bad_zip), nothing in it is listed. The
walk does not read these folders and zips as returns (`walk`). What the unit listed per indicator (`evid_<id>`, carried
with its inputs) is matched to the files and judged by `udfs.evidence`.

Hashing is the stage's whole cost, so a re-run does not hash again what it hashed last time: the ledger keeps each
file's (size, mtime, SHA-256) by the folder or zip it is in and its path inside (`Stamps`; a zip's members carry
the zip's own size and mtime), and a file whose size and mtime are unchanged keeps its digest, as the returns
themselves do (`ledger.Ledger.lookup`; `--verify` and `--no-ledger` hash everything).

A unit that hands nothing in has an entry made from its return alone (what it listed, how it scored itself): when
that return is unchanged, a re-run takes last time's entry from the ledger as it is (`KeptEntry`, `entry_key`)
instead of judging its lists again — most units of a re-run, ~0.3 ms each.
"""
from __future__ import annotations

import hashlib
import json
import os
import posixpath
import stat
import zipfile
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterator, Mapping, NamedTuple
from urllib.parse import quote

from udfs.evidence import (BAD_ZIP, EVIDENCE_PREFIX, KINDS, MISSING, NO_EVIDENCE, NOT_FILE, OTHER, UNREADABLE,
                           REFUSED_CLASS, Finding, Found, evidence_name, evidence_stem, file_type, findings,
                           listed_files, safe_member, type_class)
from workbook_templates import Spec
from workbook_templates.process import Evidence

from .evidence_sheet import evidence_row, explained_row, finding_details
from .model import SHA256_HEX, ConsolidationRun, FileOutcome, StoredFigures
from .packed import pack, unpack
from .read.preflight import OPEN_FLAGS, Limits, check_entry_names, check_zip_entries, open_regular
from .read.rejected import Rejected
from .report_json import Packed, to_json
from .unit_indicators import self_counted

CHUNK = 1024 * 1024
PARALLEL_FROM = 1000
"""Units from which indexing runs on worker processes: a unit costs ~0.3 ms here with nothing handed in, ~1.5 ms
with a folder of 20 files (hashing aside), a pool ~0.2 s to start."""
HASHING_PARALLEL_FROM = 200
"""Units with evidence to hash (none of its stamps kept) from which indexing runs on worker processes, whatever
the number of units: hashing a unit's files (a few MB of photos and PDFs) is what costs most."""
CHUNK_UNITS = 50
CHUNKS_AHEAD = 2
"""Chunks per worker sent ahead of those collected."""
Stamp = tuple[int, int, str]
"""(size, mtime_ns, SHA-256) of a file when it was hashed."""
Stamps = dict[str, dict[str, Stamp]]
"""The location of an evidence folder or zip (as in the report) → path inside → its stamp."""
ZIP_PROBLEMS = {
    "F104": "压缩包中的文件已加密，无法登记：请取消密码后重新压缩",
    "F106": "压缩包异常（条目过多、解压后过大或压缩比异常），疑似压缩炸弹或文件已损坏：请重新压缩后交回",
    "F125": "压缩包中有同名的文件：请重新压缩后交回",
}


def _hash(path: str) -> str | None:
    """SHA-256 of a regular file; None when what is there now is not one (never waits on a FIFO put in its place)."""
    fd = os.open(path, OPEN_FLAGS)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        h = hashlib.sha256()
        while block := os.read(fd, CHUNK):
            h.update(block)
        return h.hexdigest()
    finally:
        os.close(fd)


def listing_line(rel: str, *fields: Any) -> bytes:
    """One entry of a listing — of an evidence folder (`folder_listing`) or of the walk (`fingerprint`): its path,
    then its size, mtime and mode, or why it was not gone into or could not be read."""
    return "\0".join(map(str, (rel, *fields))).encode("utf-8", "surrogatepass") + b"\n"


def listing_digest(lines: list[bytes]) -> bytes:
    return hashlib.sha256(b"".join(sorted(lines))).digest()


def _entries(root: str) -> Iterator[tuple[str, os.DirEntry | None, os.stat_result | OSError]]:
    """(path inside, entry, its stat) of everything under `root`, links not followed, sub-folders included; (path
    inside, None, the error) for a folder that could not be listed or an entry whose stat failed."""
    pending = [("", root)]
    while pending:
        prefix, current = pending.pop()
        try:
            entries = list(os.scandir(current))
        except OSError as e:
            yield prefix, None, e
            continue
        for e in entries:
            try:
                st = e.stat(follow_symlinks=False)
            except OSError as err:
                yield prefix + e.name, None, err
                continue
            if stat.S_ISDIR(st.st_mode):
                pending.append((prefix + e.name + "/", e.path))
            yield prefix + e.name, e, st


def _listed(rel: str, st: os.stat_result | OSError) -> bytes:
    if isinstance(st, OSError):
        return listing_line(rel, "unreadable", st.errno)
    return listing_line(rel, st.st_size, st.st_mtime_ns, st.st_mode)


def folder_listing(root: str) -> bytes:
    """The digest of every entry under an evidence folder (path inside, size, mtime, mode; links not followed; a
    folder that cannot be listed as such), reading no file: what a run's fingerprint holds of the folder, and what
    `scan_folder` gives too (the same `_entries`), so the run does not list every evidence file twice."""
    return listing_digest([_listed(rel, st) for rel, _, st in _entries(root)])


def scan_folder(root: str, ev: Evidence, known: dict[str, Stamp] | None = None
                ) -> tuple[list[dict[str, Any]], list[Finding], dict[str, Stamp], bytes]:
    """Every file under an evidence folder (links and special files reported, never followed nor read), by path;
    the stamps of those hashed (by path inside); the folder's listing digest (`folder_listing`). A file whose size
    and mtime are those `known` (by path inside) keeps its digest unread."""
    files, problems, stamps, lines = [], [], {}, []
    known = known or {}
    for rel, e, st in _entries(root):
        lines.append(_listed(rel, st))
        if e is None:                       # what cannot be listed or read is a finding, never the run's end
            problems.append(Finding(UNREADABLE, "", rel or "."))
            continue
        if stat.S_ISDIR(st.st_mode):
            continue
        regular = stat.S_ISREG(st.st_mode)
        digest = None
        if regular and st.st_size <= ev.max_file_bytes:
            last = known.get(rel)
            same = last is not None and last[:2] == (st.st_size, st.st_mtime_ns)
            try:
                digest = last[2] if same else _hash(e.path)
            except OSError:                 # no permission, an I/O error, gone meanwhile
                problems.append(Finding(UNREADABLE, "", rel))
                continue
            if digest is not None:
                stamps[rel] = (st.st_size, st.st_mtime_ns, digest)
        if not regular or (digest is None and st.st_size <= ev.max_file_bytes):
            problems.append(Finding(NOT_FILE, "", rel))
            continue
        kind = file_type(rel)
        files.append({"path": rel, "size": st.st_size, "type": kind,
                      "class": type_class(kind, ev.allowed_types, ev.refused_types), "sha256": digest})
    files.sort(key=lambda x: x["path"])
    problems.sort(key=lambda x: x.file)
    return files, problems, stamps, listing_digest(lines)


def _zip(path: Path, ev: Evidence, known: dict[str, Stamp]) -> tuple[list[dict[str, Any]], str, dict[str, Stamp]]:
    """(the zip's files, "", their stamps by member name), or ([], why it cannot be used, {}). The limits are checked
    on every run; a member is read and hashed again unless the zip's size and mtime are those `known` for it."""
    limits = Limits(max_bytes=ev.max_zip_bytes)
    stamps: dict[str, Stamp] = {}
    try:
        with os.fdopen(open_regular(path), "rb") as handle:
            st = os.fstat(handle.fileno())
            size = st.st_size
            if size > ev.max_zip_bytes:
                return [], f"压缩包大小 {size / 1024 / 1024:.1f} MB，超过上限 {ev.max_zip_bytes // 1024 // 1024} MB", {}
            try:
                z = zipfile.ZipFile(handle)
            except (zipfile.BadZipFile, OSError) as e:
                return [], f"不是有效的 zip 压缩包（{e}）：请重新压缩后交回", {}
            infos = z.infolist()
            check_zip_entries(infos, limits)
            check_entry_names(infos)
            unsafe = [i.filename for i in infos if not safe_member(i.filename)]
            if unsafe:
                return [], f"压缩包中的文件路径越出了压缩包（如「{unsafe[0]}」，含 .. 或绝对路径）：请重新压缩后交回", {}
            budget = limits.max_total_uncompressed
            files = []
            for i in sorted(infos, key=lambda i: i.filename):
                if i.is_dir():
                    continue
                kind = file_type(i.filename)
                digest = None
                last = known.get(i.filename)
                if i.file_size <= ev.max_file_bytes and last is not None and last[:2] == (size, st.st_mtime_ns):
                    digest = last[2]
                elif i.file_size <= ev.max_file_bytes:
                    h, read = hashlib.sha256(), 0
                    with z.open(i) as member:
                        while block := member.read(CHUNK):
                            read += len(block)
                            if read > i.file_size or read > budget:
                                return [], ZIP_PROBLEMS["F106"], {}
                            h.update(block)
                    budget -= read
                    digest = h.hexdigest()
                if digest is not None:
                    stamps[i.filename] = (size, st.st_mtime_ns, digest)
                files.append({"path": i.filename, "size": i.file_size, "type": kind,
                              "class": type_class(kind, ev.allowed_types, ev.refused_types), "sha256": digest})
            return files, "", stamps
    except Rejected as e:
        return [], ZIP_PROBLEMS.get(e.finding.code, "压缩包无法读取：请重新压缩后交回"), {}
    except (zipfile.BadZipFile, NotImplementedError, EOFError, ValueError) as e:   # bad CRC, odd methods
        return [], f"压缩包数据异常（{type(e).__name__}），疑似已损坏：请重新压缩后交回", {}
    except OSError:                                   # no permission, an I/O error: a finding, not the run's end
        return [], "压缩包无法读取（没有读取权限或读取出错）：请检查文件权限后重新交回", {}


@dataclass(frozen=True)
class Convention:
    """What indexing needs of the spec, as plain data a worker process receives: the limits and types, and the
    self-scored indicators (unit 1 is scored from the data: it asks for no list) with their `evid_<id>` names."""

    ev: Evidence
    indicators: tuple[tuple[str, str], ...]            # (indicator id, evid_<id>), in the spec's order

    @classmethod
    def of(cls, spec: Spec) -> "Convention":
        return cls(spec.process.evidence, tuple((ind.id, evidence_name(ind.id)) for ind in spec.indicators
                                                if ind.rule.type != "computed_target"))


@dataclass(frozen=True)
class UnitEvidence:
    """One unit as the stage sees it: its return, what it listed and how it scored itself, the stamps of last time."""

    code: str
    path: str                                          # of its chosen return, under the returns folder
    unit: dict[str, Any]                               # unit_name, unit_region, unit_level
    lists: dict[str, Any]                              # evid_<id> → the cell's text
    scored: dict[str, float | None]                    # indicator → its self score as counted
    known: Stamps                                      # of its folder or zip, last time
    handed: str                                        # "folder", "zip" or "" (`_handed_in`)


def _listed_texts(inputs: Mapping[str, Any], names: list[str]) -> dict[str, Any]:
    """The unit's `evid_<id>` texts that are not blank, from its inputs decoded and let go of: inputs held packed
    (`StoredFigures`) would keep their whole table once asked for a value they do not hold decoded, for the rest
    of the run. A unit's inputs carry an `evid_` name only when it listed something (`listed_texts`), so a text
    without the key `"evid_` (most units) is not decoded at all; one that has it inside a text value is decoded
    and found to list nothing."""
    if isinstance(inputs, StoredFigures):
        whole = inputs.text
        if f'"{EVIDENCE_PREFIX}' not in whole:
            return {}
        inputs = json.loads(whole)
    return {name: text for name in names if (text := inputs.get(name))}


UNIT_FIELDS = ("unit_name", "unit_region", "unit_level")
"""What a unit's entry says of it besides its code and its return (as the return's 单位信息 has them)."""


def identity(code: str, path: str, unit: Mapping[str, Any]) -> dict[str, Any]:
    """Who a unit's entry is of — its code, `UNIT_FIELDS` and its return's path (`file`): all that differs between
    the entries of units that hand nothing in, list nothing and score the same indicators above zero (`Unlisted`)."""
    return {"unit_code": code, **{name: unit.get(name) for name in UNIT_FIELDS}, "file": path}


def _stamps_of(f: FileOutcome, known: Stamps) -> Stamps:
    """The stamps kept of the evidence beside `f` (its folder's or its zip's, by location as the report shows it)."""
    stem = posixpath.join(posixpath.dirname(f.path), evidence_stem(f.code))
    return {k: known[k] for k in (stem + "/", stem + ".zip") if k in known}


def _evidence_paths(folder: Path, path: str, code: str) -> tuple[str, str]:
    """(the path of the evidence folder beside the return at `path`, of its zip), as the walk names them."""
    directory = os.path.join(folder, posixpath.dirname(path), evidence_stem(code))
    return directory, directory + ".zip"


def _handed_in(folder: Path, path: str, code: str, found: Mapping[str, str]) -> str:
    """Which of the evidence folder and zip beside the return at `path` is handed in — "folder", "zip" or "" —
    among what the walk found (`walk.Survey.evidence`: a real folder, a regular file; links never followed)."""
    directory, archive = _evidence_paths(folder, path, code)
    return "folder" if found.get(directory) == "folder" else "zip" if found.get(archive) == "zip" else ""


def index_unit(u: UnitEvidence, folder: Path, rules: Convention) -> tuple[dict[str, Any], Stamps, dict[str, bytes]]:
    """One unit's evidence entry (see `index_evidence`), the stamps of its files hashed and its folder's listing
    digest (by the folder's path as text; none for a zip)."""
    base = posixpath.dirname(u.path)
    stem = evidence_stem(u.code)
    source = u.handed
    files: list[dict[str, Any]] = []
    problems: list[Finding] = []
    inside: dict[str, Stamp] = {}
    listings: dict[str, bytes] = {}
    location = None
    bad_zip = ""
    if source == "folder":
        location = posixpath.join(base, stem) + "/"
        directory, _ = _evidence_paths(folder, u.path, u.code)
        files, problems, inside, listings[directory] = scan_folder(directory, rules.ev, u.known.get(location))
    elif source == "zip":
        location = posixpath.join(base, stem + ".zip")
        _, archive = _evidence_paths(folder, u.path, u.code)
        files, bad_zip, inside = _zip(Path(archive), rules.ev, u.known.get(location, {}))
    source = source or None
    stamps = {location: inside} if inside else {}
    listed = {ind: names for ind, name in rules.indicators if name in u.lists
              if (names := listed_files(u.lists[name]))}
    scored = u.scored
    found = [Found(x["path"], x["size"], x["type"], x["class"]) for x in files]
    judged, matches = findings(listed, scored, found, rules.ev.max_file_bytes)
    if bad_zip:
        judged = [Finding(BAD_ZIP, "", location)] + judged
    judged += problems
    listed_by: dict[str, list[str]] = {}
    for (ind, _), path in matches.items():
        if path is not None and ind not in listed_by.setdefault(path, []):
            listed_by[path].append(ind)
    for x in files:
        x["listed_by"] = listed_by.get(x["path"], [])
    # Those that list files, in the spec's order as `listed` is (one scored without a list is a finding: no_evidence)
    indicators = [{"indicator": ind, "self_score": scored.get(ind), "listed": names,
                   "found": [matches[(ind, n)] for n in names if matches[(ind, n)] is not None],
                   "missing": [n for n in names if matches[(ind, n)] is None]} for ind, names in listed.items()]
    counts = dict.fromkeys(KINDS, 0)
    for x in judged:
        counts[x.kind] += 1
    positive = [k for k, s in scored.items() if s is not None and s > 0]
    return {**identity(u.code, u.path, u.unit), "source": source, "location": location,
            "zip_problem": bad_zip or None, "files": files, "indicators": indicators,
            "scored": len(positive), "with_evidence": sum(1 for k in positive if k in listed),
            "listed": sum(len(v) for v in listed.values()), "counts": counts,
            # each finding's wording is the section's `kinds`, said once (5 000 units × 50 findings add up)
            "findings": [{"kind": x.kind, "indicator": x.indicator or None, "file": x.file or None}
                         for x in judged]}, stamps, listings


@dataclass(frozen=True, slots=True)
class PackedEntry(Packed):
    """A unit's entry as the run holds it once indexed, until the outputs are written: the entry as the report writes
    it (`text`) and its row of the 佐证材料 sheet (`row`, as JSON), both packed against the run's `dictionary`
    (`entry_dictionary`), and its unit's code. A unit that lists its files has ~30 KB of tables in its entry (a
    finding per file not found, the names per indicator): 20 000 of them would not fit in the run's memory; packed
    they are ~1.4 KB."""

    unit_code: str
    row: bytes


def entry_dictionary(rules: Convention) -> bytes:
    """What every unit's entry and sheet row spell out alike — the keys, each scored indicator's id in an entry's
    tables, the findings' wording —, from the spec alone (an entry made up: each indicator scored, one file listed
    and missing, one handed in; and its row with nothing handed in): the preset dictionary of `packed_entry`. With
    it a unit's entry and row pack to ~1.4 KB when it lists its files (1.9 KB without it), ~0.4 KB when it does not
    (0.75 KB)."""
    ids = [ind for ind, _ in rules.indicators]
    made_up = {"unit_code": "", "unit_name": "", "unit_region": "", "unit_level": "", "file": "", "source": "folder",
               "location": evidence_stem("") + "/", "zip_problem": None,
               "files": [{"path": "", "size": 0, "type": "pdf", "class": "allowed", "sha256": "",
                          "listed_by": ids[:1]}],
               "indicators": [{"indicator": ind, "self_score": 1.0, "listed": [""], "found": [], "missing": [""]}
                              for ind in ids],
               "scored": 0, "with_evidence": 0, "listed": 0, "counts": dict.fromkeys(KINDS, 0),
               "findings": [{"kind": kind, "indicator": ind, "file": file} for ind in ids
                            for kind, file in ((NO_EVIDENCE, None), (MISSING, ""))]}
    nothing = {**made_up, "source": None, "location": None}             # most units hand in nothing
    return (to_json(evidence_row(nothing)) + to_json(evidence_row(made_up)) + to_json(made_up)).encode("utf-8")


def packed_entry(entry: dict[str, Any], dictionary: bytes) -> PackedEntry:
    """`entry` (`index_unit`) held packed against `dictionary` (`entry_dictionary`)."""
    return PackedEntry(text=pack(to_json(entry), dictionary), dictionary=dictionary, unit_code=entry["unit_code"],
                       row=pack(to_json(evidence_row(entry)), dictionary))


def unpacked(held: PackedEntry) -> dict[str, Any]:
    """The entry `held` holds, as `index_unit` made it."""
    return json.loads(unpack(held.text, held.dictionary))


@dataclass(frozen=True)
class Indexed:
    """One unit indexed, as the stage keeps it (made where it was indexed, a worker or the run's process): its
    entry packed, what it adds to the section's totals, the stamps of its files hashed and its folder's listing
    digest (`index_unit`)."""

    entry: PackedEntry
    with_evidence: int
    files: int
    bytes: int
    findings: dict[str, int]                           # kind → count
    stamps: Stamps
    listings: dict[str, bytes]


def indexed(u: UnitEvidence, folder: Path, rules: Convention, dictionary: bytes) -> Indexed:
    """`index_unit`, its entry packed against `dictionary` and counted at once: the tables are let go of where
    they were made (on a worker, the packing is done in parallel too)."""
    entry, stamps, listings = index_unit(u, folder, rules)
    return Indexed(packed_entry(entry, dictionary), 1 if entry["source"] else 0, len(entry["files"]),
                   sum(x["size"] for x in entry["files"]), entry["counts"], stamps, listings)


_NO_FINDINGS = ',"findings":[],'


@dataclass(frozen=True)
class Unlisted:
    """The entry of a unit that hands nothing in and lists nothing, but for who the unit is (`identity`): made by
    `index_unit` for a unit made up with the same indicators scored above zero — the only thing of its scores such an
    entry depends on — and taken by every unit alike (most units of a run before the 佐证材料 come in). Its findings'
    JSON, the bulk of the entry, is encoded once (`entry_text`)."""

    entry: dict[str, Any]                               # the entry, the made-up unit's identity in it
    findings_json: str                                  # to_json(entry["findings"])
    details: str | None                                 # its row's 问题说明 (`evidence_sheet.finding_details`)

    @classmethod
    def of(cls, positive: tuple[str, ...], rules: "Convention") -> "Unlisted":
        """For units whose self scores are above zero on the indicators `positive` (ids, in the spec's order)."""
        made_up = UnitEvidence("", "", {}, {}, {ind: 1.0 if ind in positive else None for ind, _ in rules.indicators},
                               {}, "")
        entry, _, _ = index_unit(made_up, Path(), rules)
        return cls(entry, to_json(entry["findings"]), finding_details(entry))

    def entry_text(self, who: dict[str, Any]) -> str:
        """to_json of the entry of the unit `who` (`identity`), the findings' JSON spliced in: `,"findings":[],` can
        only be the key itself (inside a JSON string every quote is escaped)."""
        text = to_json({**self.entry, **who, "findings": []})
        at = text.find(_NO_FINDINGS)
        if at < 0 or text.find(_NO_FINDINGS, at + 1) >= 0:       # not the entry's shape: encoded whole
            return to_json({**self.entry, **who})
        return f'{text[:at]},"findings":{self.findings_json},{text[at + len(_NO_FINDINGS):]}'


def indexed_unlisted(unlisted: Unlisted, who: dict[str, Any], dictionary: bytes) -> Indexed:
    """`indexed` for a unit that hands nothing in and lists nothing, from the entry of units alike (`Unlisted`): the
    same entry, packed the same, without judging its lists and scores again. `who`: who it is (`identity`)."""
    row = explained_row({**unlisted.entry, **who}, unlisted.details)
    held = PackedEntry(text=pack(unlisted.entry_text(who), dictionary), dictionary=dictionary,
                       unit_code=who["unit_code"], row=pack(to_json(row), dictionary))
    return Indexed(held, 0, 0, 0, unlisted.entry["counts"], {}, {})


@dataclass(frozen=True, slots=True)   # a run keeps one per unit (20 000 of them)
class KeptEntry:
    """The entry of a unit that handed nothing in, as a run made it and the ledger keeps it for the next run: taken
    again, as it is, by a unit whose `entry_key` is still `key`."""

    key: str                                           # `entry_key` of the unit it was made for
    text: bytes                                        # the entry and its sheet row, packed (`PackedEntry`)
    row: bytes
    findings: tuple[int, ...]                          # the count of each kind (`KINDS`' order), for the totals


def entry_key(f: FileOutcome, form: str) -> str | None:
    """What the entry of a unit that hands nothing in is made from: its return (path and SHA-256: what it listed,
    how it scored itself), its code and identity, and the form of entries (`form`: a digest of the entries'
    `entry_dictionary`, which changes with the spec's indicators and the entry's keys). None for a return without
    a SHA-256 (made by hand): never kept."""
    if not isinstance(f.sha256, str) or not SHA256_HEX.fullmatch(f.sha256):
        return None
    made_of = json.dumps([form, f.path, f.sha256, f.code,
                          *(f.unit.get(name) for name in UNIT_FIELDS)],
                         ensure_ascii=False, default=str)
    return hashlib.sha256(made_of.encode("utf-8", "surrogatepass")).hexdigest()


class Indexing(NamedTuple):
    """What the stage gives the run: the report's `evidence` section, the stamps of every evidence file hashed
    (for the ledger), each folder scanned's listing digest (for the run's fingerprint) and the entries of the
    units that handed nothing in (by the path of their return, for the ledger: `KeptEntry`)."""

    section: dict[str, Any]
    stamps: Stamps
    listings: dict[str, bytes]
    kept: dict[str, KeptEntry]


def _index_chunk(units: list[tuple[int, UnitEvidence]], folder: Path, rules: Convention, dictionary: bytes
                 ) -> list[tuple[int, Indexed]]:
    return [(k, indexed(u, folder, rules, dictionary)) for k, u in units]


def index_evidence(run: ConsolidationRun, folder: Path, spec: Spec, known: Stamps, *, kept: Mapping[str, KeptEntry],
                   found: Mapping[str, str], workers: int = 2) -> Indexing:
    """The report's `evidence` section — the convention and limits, and one entry per unit of the run — and what the
    ledger keeps of it (`Indexing`). `known`: the stamps the ledger kept ({} to hash everything); `kept`: the
    entries it kept of units that handed nothing in ({} to make every entry), taken again where their
    `entry_key` is unchanged; `found`: the 佐证材料 folders and zips the run's walk found (`walk.Survey.evidence`).
    Each other unit is indexed on its own (`index_unit`), on `workers` processes when
    there are many."""
    ev = spec.process.evidence
    rules = Convention.of(spec)
    ids = [ind.id for ind in spec.indicators]
    chosen = run.units
    counted = self_counted(chosen, spec)                 # row k: chosen[k]'s self scores as counted

    names = [name for _, name in rules.indicators]
    # What each unit handed in, as the walk found it (most units hand in nothing).
    handed = [_handed_in(folder, f.path, f.code, found) for f in chosen]
    # The stamps kept of what the units that hand something in handed in last time: what need not be hashed again.
    stamps_kept = {k: _stamps_of(chosen[k], known) for k in range(len(chosen)) if handed[k]}
    dictionary = entry_dictionary(rules)
    form = hashlib.sha256(dictionary).hexdigest()[:16]
    keys = [None if handed[k] else entry_key(f, form) for k, f in enumerate(chosen)]

    def described(k: int) -> UnitEvidence:
        """chosen[k] as the stage sees it — made when it is indexed, not all at once (20 000 units × two tables
        of 43 entries would be held together for nothing)."""
        f, scores = chosen[k], dict(zip(ids, counted[k].tolist()))
        return UnitEvidence(
            f.code, f.path, {name: f.unit.get(name) for name in UNIT_FIELDS},
            _listed_texts(f.inputs, names),
            {ind: None if scores[ind] != scores[ind] else float(scores[ind]) for ind, _ in rules.indicators},
            stamps_kept.get(k, {}), handed[k])
    to_hash = sum(1 for stamps in stamps_kept.values() if not stamps)
    # Each entry is counted and packed as soon as it is made: the tables of all units are never held together.
    units: list[PackedEntry | None] = [None] * len(chosen)
    stamps: Stamps = {}
    listings: dict[str, bytes] = {}
    totals = {"units": len(chosen), "with_evidence": 0, "files": 0, "bytes": 0, "findings": dict.fromkeys(KINDS, 0)}
    kept_now: dict[str, KeptEntry] = {}

    def hold(k: int, done: Indexed) -> None:
        # an entry from a worker brings its own copies of the dictionary and the code: held with the run's ones
        units[k] = (done.entry if done.entry.dictionary is dictionary else
                    replace(done.entry, dictionary=dictionary, unit_code=chosen[k].code))
        totals["with_evidence"] += done.with_evidence
        totals["files"] += done.files
        totals["bytes"] += done.bytes
        for kind, n in done.findings.items():
            totals["findings"][kind] += n
        stamps.update(done.stamps)
        listings.update(done.listings)
        if keys[k] is not None:
            kept_now[chosen[k].path] = KeptEntry(keys[k], done.entry.text, done.entry.row,
                                                 tuple(done.findings[kind] for kind in KINDS))

    # A unit that hands nothing in and lists nothing: its entry made here from the one of units alike (`Unlisted`),
    # by the indicators it scored above zero (a NaN score is not above zero).
    self_scored = [ids.index(ind) for ind, _ in rules.indicators]
    above_zero = counted[:, self_scored] > 0
    alike: dict[bytes, Unlisted] = {}
    to_index = []
    for k, key in enumerate(keys):
        old = kept.get(chosen[k].path) if key is not None else None
        if old is not None and old.key == key:
            hold(k, Indexed(PackedEntry(old.text, dictionary, chosen[k].code, old.row), 0, 0, 0,
                            dict(zip(KINDS, old.findings)), {}, {}))
        elif handed[k] or _listed_texts(chosen[k].inputs, names):
            to_index.append(k)
        else:
            scored = above_zero[k]
            shape = scored.tobytes()
            if shape not in alike:
                positive = tuple(ind for (ind, _), above in zip(rules.indicators, scored.tolist()) if above)
                alike[shape] = Unlisted.of(positive, rules)
            f = chosen[k]
            hold(k, indexed_unlisted(alike[shape], identity(f.code, f.path, f.unit), dictionary))
    pooled = workers >= 2 and (len(to_index) >= PARALLEL_FROM or to_hash >= HASHING_PARALLEL_FROM)
    if pooled:
        # Each chunk is sent as soon as it is described and collected a few chunks later: the workers start at
        # once, and the units described (their lists and all) wait in the pool a few chunks at a time.
        with ProcessPoolExecutor(workers) as pool:
            sent: deque[Future] = deque()
            for start in range(0, len(to_index), CHUNK_UNITS):
                chunk = [(k, described(k)) for k in to_index[start:start + CHUNK_UNITS]]
                sent.append(pool.submit(_index_chunk, chunk, folder, rules, dictionary))
                last = start + CHUNK_UNITS >= len(to_index)
                while sent and (last or len(sent) > CHUNKS_AHEAD * workers):
                    for k, done in sent.popleft().result():
                        hold(k, done)
    else:
        for k in to_index:
            hold(k, indexed(described(k), folder, rules, dictionary))
    return Indexing({"folder": evidence_stem("<统一社会信用代码>"), "allowed_types": sorted(ev.allowed_types),
                     "refused_types": sorted(ev.refused_types), "max_file_bytes": ev.max_file_bytes,
                     "max_zip_bytes": ev.max_zip_bytes, "kinds": dict(KINDS), "totals": totals,
                     "units": units}, stamps, listings, kept_now)


def linkable(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The files of a unit's entry a scorecard may link to: allowed types, in a folder (a zip's members have no
    path of their own), listed by an indicator."""
    if entry.get("source") != "folder":
        return []
    return [x for x in entry["files"] if x["class"] not in (REFUSED_CLASS, OTHER) and x["listed_by"]]


def scorecard_evidence(held: PackedEntry | None, folder: str | Path, pack_dir: str | Path
                       ) -> tuple[dict[str, str], tuple[tuple[str, str, str], ...]]:
    """What a unit's scorecard shows of its evidence (its entry as the run holds it): indicator → the names it listed
    (「（未找到）」 after a missing one), and each file that may be opened as (its path inside, a link relative to the
    pack's folder `pack_dir`, the indicators listing it). The returns folder is `folder`."""
    if held is None:
        return {}, ()
    entry = unpacked(held)
    listed = {i["indicator"]: "；".join(n + ("（未找到）" if n in i["missing"] else "") for n in i["listed"])
              for i in entry["indicators"] if i["listed"]}
    files = []
    for x in linkable(entry):
        target = Path(folder) / entry["location"] / x["path"]
        relative = Path(os.path.relpath(target.resolve(), Path(pack_dir).resolve())).as_posix()
        files.append((x["path"], quote(relative, safe="/"), "、".join(x["listed_by"])))
    return listed, tuple(files)


__all__ = ["index_evidence", "index_unit", "entry_key", "Indexing", "KeptEntry", "linkable", "scorecard_evidence", "PackedEntry", "entry_dictionary",
           "packed_entry", "unpacked"]
