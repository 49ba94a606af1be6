"""Stage 3 of a run: the ledger — what each file was last time, so a re-run reads only new or changed files.

The ledger is an SQLite file beside the summary (`ledger_path`). `Ledger.load` reads every row made with the
same spec at once (and writes nothing); `lookup` answers for one file — unchanged when its size and mtime are, or, when only the
mtime moved (a copied folder), when its SHA-256 is; `commit` stores what this run read, only after the
outputs were written, so a failed write still reports the same files next time.

A row keeps a file's outcome *as the reading stage left it* (`row_for`, taken before any run-level rule —
duplicates, roster, years, presets, reviews — is applied; those are applied afresh on every run) and its
rendered figures (`Rendered`), which a re-run reuses as they are.

The ledger is trusted as data, never as markup. What a re-run takes from it is re-validated first
(`valid_row`): the outcome as plain data of the right types with known finding codes, the figures as one JSON
object each, and the stored 汇总 cells only if they are exactly what `sheetxml.cell` writes (no formula, no link, only
our styles, every text within a cell). A row that fails is not used — the file is read again — and the run says
so (`notices`). A ledger that SQLite cannot read (truncated, garbage, another file's header) is set aside under a
timestamped name and rebuilt; the run says that in one line too. What the ledger cannot protect against is
someone who rewrites a row with valid but different figures for an unchanged file: it is a cache beside the
summary, with the same protection as the summary's folder (`--no-ledger` reads everything; `--verify` hashes
every file instead of trusting size and modification time).

Checking every row costs a re-run more than reading the few files that changed (~0.3 ms a row). So each row is
sealed when stored: an HMAC over the whole row with this machine's secret (`addin.keys.ledger_secret`, never in the
ledger). A row whose seal is right is one this program wrote here and is taken as written (`decoded_row`); one
without a seal or with a wrong one (written elsewhere, edited, a seal copied from another row) is checked as above.

Beside the files, the ledger keeps the stamps of the 佐证材料 hashed last time (`evidence.Stamps`, table
`evidence_files`), so a re-run hashes only new or changed evidence files; and, sealed, the entries of the units that
handed nothing in (`evidence.KeptEntry`, table `evidence_entries`), taken again while their returns are unchanged.
Unsealed entries (no secret, or a seal that is not right) are never used: the stage makes them again.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import marshal
import math
import os
import re
import sqlite3
import sys
from array import array
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Sequence

from udfs.intake import Finding
from workbook_templates import Spec
from workbook_templates.contract import KNOWN_REVIEW_VERSIONS, KNOWN_TEMPLATE_VERSIONS

from . import sheetxml
from .columns import figure_columns, style_indices
from .model import (CONSOLIDATED, REJECTED, RETURN, REVIEW, SHA256_HEX, SKIPPED, FileOutcome, Rendered,
                    StoredFigures)
from .collector import deferred
from .evidence import KeptEntry
from .packed import BadPacked, pack, unpack
from .read.preflight import read_regular
from .read.xmlscan import UNSAFE

FORMAT = 12
"""Bumped when a row's layout or meaning changes: a ledger of another format is emptied, every file read again.
6: the reader's differential checks (F121–F128) and bounds (E220) — rows made without them are not reused.
7: the key figures carry the unit's self scores as counted (`Rendered.counted`) and its 佐证材料 lists, the last
   run is kept (`LastRun`).
8: the outcome, the key figures and the rendered figures are stored deflated (`packed`), as the run holds
   them.
9: the key figures no longer carry the 佐证材料 lists (held decoded for every unit, ~4 KB each that lists its
   files): the evidence stage reads them from the inputs (`key_names`).
10: each row is sealed (`seal`).
11: an evidence entry's key is a digest, its findings the counts in `KINDS`' order (`evidence.KeptEntry`).
12: a row's seal is over its values marshalled (`seal`); the counted self scores are a column of their own, as
    binary doubles (`counted_bytes`), no longer in the key figures' JSON."""
LISTED = 5
"""Paths named in a notice about invalid rows; the rest are counted."""

_FIGURES = ("inputs", "results", "rendered")


@dataclass(frozen=True)
class LedgerRow:
    """One file as the ledger stores it."""

    path: str
    size: int
    mtime_ns: int
    sha256: str
    unit_code: str
    template_version: str
    status: str
    findings: int
    outcome: bytes                     # the FileOutcome without its figures, as JSON, packed (`packed`)
    inputs: bytes | None               # the rendered figures as the run holds them (`Rendered`, `packed`)
    results: bytes | None
    summary_cells: bytes | None
    key_figures: bytes | None          # the names every run's tables read, decoded once (`key_names`), packed
    counted: bytes | None              # the unit's self scores as counted (`Rendered.counted`): `counted_bytes`


class StagedRows:
    """The rows a run has read, waiting for `Ledger.commit` in a private temporary SQLite database (on disk, gone
    when closed) rather than in memory: a 20 000-file run held 23 MB of them until its outputs were written.
    Iterated, they come back in the order they were appended, as often as asked (a commit that finds the ledger
    corrupt stores them again into a fresh one). If the temporary database cannot be written (no temporary folder,
    a full disk), the rows from then on are kept in memory: staging saves memory, it must never fail a run."""

    _COLUMNS = len(LedgerRow.__dataclass_fields__)

    def __init__(self) -> None:
        self._db: sqlite3.Connection | None = None
        self._staged = 0
        self._held: list[LedgerRow] = []                 # rows the database did not take

    def append(self, row: LedgerRow) -> None:
        if not self._held:
            try:
                self._stage(row)
                self._staged += 1
                return
            except sqlite3.Error:
                pass
        self._held.append(row)

    def _stage(self, row: LedgerRow) -> None:
        if self._db is None:
            self._db = sqlite3.connect("")                # "": a temporary database SQLite deletes on close
            self._db.execute(f"CREATE TABLE staged ({', '.join(f'c{i}' for i in range(self._COLUMNS))})")
        self._db.execute(f"INSERT INTO staged VALUES ({','.join('?' * self._COLUMNS)})",
                         tuple(getattr(row, name) for name in LedgerRow.__dataclass_fields__))

    def __iter__(self) -> Iterator[LedgerRow]:
        if self._staged:
            yield from (LedgerRow(*values) for values in self._db.execute("SELECT * FROM staged ORDER BY rowid"))
        yield from self._held

    def __len__(self) -> int:
        return self._staged + len(self._held)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
        self._db, self._staged, self._held = None, 0, []


@dataclass
class LedgerChanges:
    """What a run read, pending in the ledger until `Ledger.commit` (after the outputs are written)."""

    rows: StagedRows = field(default_factory=StagedRows)  # files read (or only re-stamped) in this run
    gone: list[str] = field(default_factory=list)         # files the ledger knew that are not there any more
    evidence: dict[str, dict[str, tuple[int, int, str]]] = field(default_factory=dict)   # every evidence stamp now
    entries: dict[str, KeptEntry] = field(default_factory=dict)  # every unit's entry kept now, by its return's path
    last_run: LastRun | None = None                       # the run's fingerprint and what it wrote (`outputs`)


@dataclass(frozen=True)
class LastRun:
    """What the last run that wrote the outputs was made of (`fingerprint.fingerprint`), the outputs as it left
    them (path → (size, mtime_ns)) and the line it ended with: a run with the same fingerprint, whose outputs are
    still those, rewrites nothing. Stored in the ledger's `last_run` table by the ledger's last write transaction,
    with the change counter SQLite keeps in the file's header as that transaction leaves it (`counter`): a ledger
    changed since (a row edited, a table dropped) is not the one that went with the outputs (`read_last_run`)."""

    fingerprint: str
    outputs: dict[str, tuple[int, int]]
    outcome: str
    counter: int = 0

    def current(self, fingerprint: str | None) -> bool:
        """Whether a run with `fingerprint` would write what is there: the same fingerprint, and every output
        still the file the last run wrote (not deleted, replaced or edited since)."""
        if fingerprint is None or fingerprint != self.fingerprint or not self.outputs:
            return False
        for path, stamp in self.outputs.items():
            try:
                st = os.stat(path)
            except OSError:
                return False
            if (st.st_size, st.st_mtime_ns) != stamp:
                return False
        return True


def change_counter(path: Path) -> int | None:
    """The file change counter of an SQLite database (header bytes 24–27: one more after every write transaction
    in the rollback-journal mode the ledger uses), or None when `path` is not one."""
    try:
        with open(path, "rb") as f:
            header = f.read(28)
    except OSError:
        return None
    if len(header) < 28 or not header.startswith(b"SQLite format 3\x00"):
        return None
    return int.from_bytes(header[24:28], "big")


def output_stamps(paths: list[Path]) -> dict[str, tuple[int, int]]:
    """The outputs as just written: resolved path → (size, mtime_ns)."""
    out = {}
    for p in paths:
        st = p.stat()
        out[str(p.resolve())] = (st.st_size, st.st_mtime_ns)
    return out


def read_last_run(path: str | Path) -> LastRun | None:
    """The last run the ledger at `path` records, or None (no ledger, another format, no such run, or anything in
    it not what this program writes: the run then goes on as usual and rewrites the outputs)."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        db = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            if db.execute("PRAGMA user_version").fetchone()[0] != FORMAT:
                return None
            if not db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='last_run'").fetchone():
                return None
            row = db.execute("SELECT fingerprint, outputs, outcome, counter FROM last_run WHERE id=1").fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return None
    if row is None:
        return None
    fingerprint, outputs, outcome, counter = row
    if type(counter) is not int or counter != change_counter(path):
        return None                                      # the ledger was written to since: not the outputs' one
    try:
        stamps = json.loads(outputs) if isinstance(outputs, str) else None
    except ValueError:
        return None
    if not (isinstance(fingerprint, str) and SHA256_HEX.fullmatch(fingerprint) and isinstance(stamps, dict)
            and isinstance(outcome, str) and len(outcome) < 2000 and not UNSAFE.search(outcome)
            and all(isinstance(k, str) and isinstance(v, list) and len(v) == 2
                    and all(type(x) is int for x in v) for k, v in stamps.items())):
        return None
    return LastRun(fingerprint, {k: (v[0], v[1]) for k, v in stamps.items()}, outcome, counter)


def ledger_path(summary: str | Path) -> Path:
    """The ledger beside the summary: 汇总.xlsx → 汇总.jieyue-ledger.sqlite."""
    summary = Path(summary)
    return summary.with_name(summary.stem + ".jieyue-ledger.sqlite")


def ledger_key(spec: Spec) -> str:
    """What a row is made with: the spec and the template and review versions this reader knows."""
    versions = ",".join(sorted(KNOWN_TEMPLATE_VERSIONS | KNOWN_REVIEW_VERSIONS))
    return f"{spec.digest}|{versions}"


def key_names(spec: Spec) -> frozenset[str]:
    """The names the run's own tables read for every unit (statistics, review results, the console): kept decoded
    in the ledger beside the full figures. The self scores of the other indicators are not among them: the run
    takes each unit's scores as counted (`Rendered.counted`); nor the 佐证材料 lists (~4 KB a unit that fills
    them, held for the whole run): the evidence stage decodes them one unit at a time (`evidence._listed_texts`)."""
    return frozenset({"self_total", "self_pass", *(f"ok_{i.key}" for i in spec.decline_intensities),
                      *(ind.score_name for ind in spec.indicators if ind.rule.type == "computed_target")})  # reviews


class Ledger:
    """The ledger's rows for this spec, read once (`load` only reads: a run that fails early leaves no ledger
    behind, and a corrupt one is set aside only by `commit`); `commit` writes this run's rows."""

    def __init__(self, path: Path, key: str, known: dict[str, tuple], paths: set[str], spec: Spec,
                 verify: bool = False, corrupt: str = "",
                 evidence: dict[str, dict[str, tuple[int, int, str]]] | None = None, secret: bytes | None = None,
                 entries: dict[str, KeptEntry] | None = None):
        self.path, self.key, self.covered = path, key, key_names(spec)
        self.secret = secret                # seals the rows stored, trusts the rows sealed with it (`seal`)
        self.known = known                  # path → row, for rows made with this spec and reader
        self.paths = paths                  # every path the ledger holds, whatever spec made its row
        self.pending = LedgerChanges()      # what the run read, stored by `commit` once the outputs are written
        self.verify = verify                # hash every file, even one whose size and mtime are unchanged
        self.codes = frozenset(spec.checks)                                 # what a stored finding may be
        self.grammar = sheetxml.cell_grammar(style_indices(spec).values())  # what stored 汇总 cells may be
        self.cell_count = len(figure_columns(spec))
        self.indicator_count = len(spec.indicators)     # the length of a unit's counted self scores
        self.corrupt = corrupt              # why SQLite could not read the ledger ("" when it could)
        self.aside = _aside_path(path) if corrupt else None
        self.invalid: list[str] = []        # paths whose row failed `valid_row`: read again
        self.stored_evidence = evidence or {}   # the evidence stamps as stored (what `commit` compares with)
        # what a run may trust: nothing with --verify (every evidence file hashed again)
        self.evidence = {} if verify else self.stored_evidence
        self.stored_entries = entries or {}     # the evidence entries sealed with `secret` (what `commit` compares with)
        self.entries = {} if verify else self.stored_entries

    @classmethod
    @deferred()
    def load(cls, path: str | Path, spec: Spec, verify: bool = False, secret: bytes | None = None) -> "Ledger":
        """The ledger at `path` (none yet: empty); rows made with another spec or reader are not used. A ledger
        SQLite cannot read is treated as empty here and set aside by `commit` (`notices` says so). With this
        machine's `secret`, the rows it sealed are taken as written and the rows stored are sealed; without one
        every row is checked (`valid_row`)."""
        path = Path(path)
        key = ledger_key(spec)
        known: dict[str, tuple] = {}
        paths: set[str] = set()
        evidence: dict[str, dict[str, tuple[int, int, str]]] = {}
        entries: dict[str, KeptEntry] = {}
        corrupt = ""
        if path.exists():
            try:
                known, paths = _read_rows(path, key)
                evidence = _read_evidence(path)
                entries = _read_entries(path, key, secret) if secret else {}
            except sqlite3.DatabaseError as e:           # not a database, malformed, truncated, wrong tables
                known, paths, evidence, entries, corrupt = {}, set(), {}, {}, f"{type(e).__name__}: {e}"
        return cls(path, key, known, paths, spec, verify, corrupt, evidence, secret, entries)

    @property
    def notices(self) -> list[str]:
        """What the run must say about the ledger (one line each, Chinese): set aside, rows not used."""
        out = []
        if self.corrupt:
            out.append(f"台账「{self.path.name}」已损坏，无法读取（{self.corrupt[:120]}）：已改名为「{self.aside.name}」"
                       "保存，并重新建立台账；本次所有文件都重新读取")
        if self.invalid:
            listed = "、".join(self.invalid[:LISTED]) + (f" 等 {len(self.invalid)} 个" if len(self.invalid) > LISTED else "")
            out.append(f"台账中 {len(self.invalid)} 条记录无效（可能被改动或损坏），没有采用，这些文件已重新读取：{listed}")
        return out

    def may_know(self, path: str, stat: os.stat_result) -> bool:
        """Whether `lookup` may find the file's outcome: a row made with this spec, of the file's size. A file it
        cannot know is read without a lookup (and its row, of another size, forgotten)."""
        row = self.known.get(path)
        if row is not None and row[1] == stat.st_size:
            return True
        self.known.pop(path, None)
        return False

    def lookup(self, path: str, stat: os.stat_result, file: Path) -> tuple[FileOutcome | None, LedgerRow | None]:
        """(the file's outcome last time, the row to store again when only its mtime moved), or (None, None)
        when the file must be read. The fast path assumes a file whose size and modification time are unchanged
        is unchanged; with `verify` every file is hashed instead. A row that fails `valid_row` is never used."""
        row = self.known.pop(path, None)                 # asked once a run: not held while the outputs are written
        if row is None or row[1] != stat.st_size:
            return None, None
        outcome = self._outcome(row)
        if outcome is None:
            self.invalid.append(path)
            return None, None
        if row[2] == stat.st_mtime_ns and not self.verify:
            return outcome, None
        if not row[3]:
            return None, None
        try:
            digest = hashlib.sha256(read_regular(file, stat.st_size + 1)).hexdigest()
        except Exception:   # noqa: BLE001 — an I/O error or a special file: the reader reports the problem
            return None, None
        if digest != row[3]:
            return None, None
        return outcome, (None if row[2] == stat.st_mtime_ns else LedgerRow(row[0], row[1], stat.st_mtime_ns, *row[3:-1]))

    def gone(self, seen: set[str]) -> list[str]:
        """Files the ledger knew (with any spec) that are not in the folders any more."""
        return sorted(self.paths - seen)

    def row_for(self, f: FileOutcome, size: int, mtime_ns: int) -> LedgerRow:
        """The row that stores `f` as the reading stage left it (call it before run-level rules apply)."""
        d = {k: getattr(f, k) for k in FileOutcome.__dataclass_fields__ if k not in _FIGURES}
        d["findings"] = [{"code": x.code, "message": x.message, "name": x.name, "cell": x.cell} for x in f.findings]
        r = f.rendered
        key_figures = None if r is None else pack(json.dumps(
            {"inputs": _covered(f.inputs, self.covered), "results": _covered(f.results, self.covered)},
            ensure_ascii=False))
        # Shallow on purpose (dataclasses.asdict deep-copies every value: ~1 ms a file). The figures are
        # stored once, as rendered.
        return LedgerRow(f.path, size, mtime_ns, f.sha256, f.code, str(f.meta.get("template_version") or ""),
                         f.status, len(f.findings), pack(json.dumps(d, ensure_ascii=False)),
                         r.packed_inputs if r else None, r.packed_results if r else None,
                         r.packed_cells if r else None, key_figures, counted_bytes(r.counted) if r else None)

    def commit(self) -> None:
        """Store the rows of this run (`pending`) and forget the gone files, in one transaction. A ledger of
        another format is emptied first (every file was read again); a corrupt one is set aside first (`aside`).
        If SQLite finds the ledger corrupt only now, it is set aside and rebuilt from this run's rows."""
        if self.aside is not None and self.path.exists():
            os.replace(self.path, self.aside)
            _drop_journal(self.path)
        try:
            self._commit()
        except sqlite3.DatabaseError as e:
            if self.aside is not None:
                raise                                     # already a fresh ledger: not a corrupt file
            self.corrupt, self.aside = f"{type(e).__name__}: {e}", _aside_path(self.path)
            os.replace(self.path, self.aside)
            _drop_journal(self.path)
            self._commit()
        self.pending.rows.close()                         # stored: the staging database goes

    def _commit(self) -> None:
        changes = self.pending
        db = sqlite3.connect(str(self.path))
        try:
            with db:
                if db.execute("PRAGMA user_version").fetchone()[0] != FORMAT:
                    db.execute("DROP TABLE IF EXISTS files")
                    db.execute(f"PRAGMA user_version = {FORMAT}")
                db.execute("""CREATE TABLE IF NOT EXISTS files (
                    path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, sha256 TEXT, unit_code TEXT,
                    template_version TEXT, status TEXT, findings INTEGER, run_key TEXT, outcome BLOB,
                    inputs BLOB, results BLOB, summary_cells BLOB, key_figures BLOB, counted BLOB, seal BLOB,
                    checked_at TEXT DEFAULT CURRENT_TIMESTAMP)""")
                db.executemany("DELETE FROM files WHERE path=?", [(p,) for p in changes.gone])
                db.executemany(
                    "INSERT OR REPLACE INTO files (path, size, mtime_ns, sha256, unit_code, template_version, status,"
                    " findings, run_key, outcome, inputs, results, summary_cells, key_figures, counted, seal)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    ((r.path, r.size, r.mtime_ns, r.sha256, r.unit_code, r.template_version, r.status, r.findings,
                      self.key, r.outcome, r.inputs, r.results, r.summary_cells, r.key_figures, r.counted,
                      seal(self.secret, self.key, _stored(r)) if self.secret else None)
                     for r in changes.rows))              # one row at a time: 20 000 tuples add up
                _store_evidence(db, self.stored_evidence if self.aside is None else {}, changes.evidence)
                _store_entries(db, self.stored_entries if self.aside is None else {}, changes.entries, self.key,
                               self.secret)
                db.execute("DROP TABLE IF EXISTS last_run")   # emptied: made again below, once the rows are in
                db.execute("CREATE TABLE last_run (id INTEGER PRIMARY KEY CHECK (id = 1), fingerprint TEXT,"
                           " outputs TEXT, outcome TEXT, counter INTEGER)")
            _store_last_run(self.path, db, changes.last_run)
        finally:
            db.close()

    def _outcome(self, row: tuple) -> FileOutcome | None:
        """The stored outcome as a FileOutcome, or None when the row is not valid data (`valid_row`); a row this
        machine sealed is taken as written (`decoded_row`)."""
        stored, sealed = row[:-1], row[-1]
        if self.secret and isinstance(sealed, bytes) and hmac.compare_digest(sealed, seal(self.secret, self.key, stored)):
            valid = decoded_row(stored)
        else:
            valid = valid_row(stored, self.codes, self.grammar, self.cell_count, self.indicator_count)
        if valid is None:
            return None
        d, figures = valid
        d["findings"] = [Finding(**x) for x in d["findings"]]
        f = FileOutcome(**d)
        if figures is not None:
            inputs, results, cells, preview, counted = figures
            shown = self.covered if preview is not None else frozenset()
            preview = preview or {"inputs": {}, "results": {}}
            f.inputs = StoredFigures(inputs, preview["inputs"], shown)
            f.results = StoredFigures(results, preview["results"], shown)
            f.rendered = Rendered(inputs, results, cells, counted)
        return f


def _read_rows(path: Path, key: str) -> tuple[dict[str, tuple], set[str]]:
    """(path → row made with `key`, every path) of the ledger at `path`; sqlite3.DatabaseError when SQLite
    cannot read it."""
    db = sqlite3.connect(str(path))        # read-write: a hot journal left by a killed commit is rolled back
    try:
        if db.execute("PRAGMA user_version").fetchone()[0] != FORMAT:
            return {}, set()
        # One query for all rows: a re-run over thousands of files looks each one up in memory.
        known = {row[0]: row for row in db.execute(
            "SELECT path, size, mtime_ns, sha256, unit_code, template_version, status, findings,"
            " outcome, inputs, results, summary_cells, key_figures, counted, seal FROM files WHERE run_key=?",
            (key,))}
        paths = {p for (p,) in db.execute("SELECT path FROM files")}
        return known, paths
    finally:
        db.close()


def _read_evidence(path: Path) -> dict[str, dict[str, tuple[int, int, str]]]:
    """The evidence stamps the ledger at `path` keeps (none before the table exists). Like a file's row, a stamp is
    data that must have the right types; one that has not is dropped (that file is hashed again)."""
    db = sqlite3.connect(str(path))
    try:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='evidence_files'").fetchone():
            return {}
        out: dict[str, dict[str, tuple[int, int, str]]] = {}
        for location, inside, size, mtime_ns, sha256 in db.execute(
                "SELECT location, path, size, mtime_ns, sha256 FROM evidence_files"):
            if (isinstance(location, str) and isinstance(inside, str) and type(size) is int and type(mtime_ns) is int
                    and isinstance(sha256, str) and SHA256_HEX.fullmatch(sha256)):
                out.setdefault(location, {})[inside] = (size, mtime_ns, sha256)
        return out
    finally:
        db.close()


def _store_evidence(db: sqlite3.Connection, stored: dict[str, dict[str, tuple[int, int, str]]],
                    now: dict[str, dict[str, tuple[int, int, str]]]) -> None:
    """The evidence table made to hold exactly `now`, writing only what differs from what it held (`stored`)."""
    db.execute("""CREATE TABLE IF NOT EXISTS evidence_files (
        location TEXT, path TEXT, size INTEGER, mtime_ns INTEGER, sha256 TEXT, PRIMARY KEY (location, path))""")
    db.executemany("DELETE FROM evidence_files WHERE location=? AND path=?",
                   [(loc, p) for loc, files in stored.items() for p in files if p not in now.get(loc, {})])
    db.executemany("INSERT OR REPLACE INTO evidence_files (location, path, size, mtime_ns, sha256) VALUES (?,?,?,?,?)",
                   [(loc, p, *stamp) for loc, files in now.items() for p, stamp in files.items()
                    if stored.get(loc, {}).get(p) != stamp])


_ENTRY_TABLE = "evidence_entries"


def _entry_stored(path: str, entry_key: Any, findings: Any, text: Any, row: Any) -> tuple:
    """An entry as it is sealed: the table's name, the unit's path and the columns as stored (`findings` the JSON
    text) — one layout for the entries written and the entries read back."""
    return (_ENTRY_TABLE, path, entry_key, findings, text, row)


def _read_entries(path: Path, key: str, secret: bytes) -> dict[str, KeptEntry]:
    """The evidence entries the ledger at `path` keeps for `key`, those sealed with `secret` only (the others are
    made again: an entry is spliced into the report and the summary as it is)."""
    db = sqlite3.connect(str(path))
    try:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (_ENTRY_TABLE,)).fetchone():
            return {}
        out: dict[str, KeptEntry] = {}
        for unit_path, entry_key, findings, text, row, sealed in db.execute(
                f"SELECT path, entry_key, findings, entry, row, seal FROM {_ENTRY_TABLE} WHERE run_key=?", (key,)):
            stored = _entry_stored(unit_path, entry_key, findings, text, row)
            if isinstance(sealed, bytes) and hmac.compare_digest(sealed, seal(secret, key, stored)):
                out[unit_path] = KeptEntry(entry_key, text, row, tuple(json.loads(findings)))
        return out
    finally:
        db.close()


def _store_entries(db: sqlite3.Connection, stored: dict[str, KeptEntry], now: dict[str, KeptEntry], key: str,
                   secret: bytes | None) -> None:
    """The entries table made to hold exactly `now`, sealed, writing only what differs from what it held (`stored`);
    without a secret it is emptied (an unsealed entry is never used)."""
    db.execute(f"""CREATE TABLE IF NOT EXISTS {_ENTRY_TABLE} (
        path TEXT PRIMARY KEY, run_key TEXT, entry_key TEXT, findings TEXT, entry BLOB, row BLOB, seal BLOB)""")
    if secret is None:
        db.execute(f"DELETE FROM {_ENTRY_TABLE}")
        return
    db.executemany(f"DELETE FROM {_ENTRY_TABLE} WHERE path=?",
                   [(p,) for (p,) in db.execute(f"SELECT path FROM {_ENTRY_TABLE}").fetchall() if p not in now])
    changed = ((p, _entry_stored(p, e.key, json.dumps(e.findings), e.text, e.row))
               for p, e in now.items() if stored.get(p) != e)
    db.executemany(f"INSERT OR REPLACE INTO {_ENTRY_TABLE} (path, run_key, entry_key, findings, entry, row, seal)"
                   " VALUES (?,?,?,?,?,?,?)",
                   ((p, key, *row[2:], seal(secret, key, row)) for p, row in changed))


def _store_last_run(path: Path, db: sqlite3.Connection, last: LastRun | None) -> None:
    """The `last_run` table made to hold this run, in a transaction of its own after the rows' (the rows' emptied
    it: killed in between, no run is recorded), with the change counter this transaction leaves (`LastRun`)."""
    if last is None:
        return
    counter = change_counter(path)
    if counter is None:
        return
    with db:
        db.execute("INSERT OR REPLACE INTO last_run (id, fingerprint, outputs, outcome, counter) VALUES (1, ?, ?, ?, ?)",
                   (last.fingerprint, json.dumps({k: list(v) for k, v in last.outputs.items()}), last.outcome,
                    (counter + 1) & 0xFFFFFFFF))


def _covered(figures: Any, covered: frozenset[str]) -> dict[str, Any]:
    if isinstance(figures, StoredFigures):
        return figures.covered_items(covered)
    return {k: v for k, v in figures.items() if k in covered}


def _aside_path(path: Path) -> Path:
    """Where a corrupt ledger is kept: 汇总.jieyue-ledger.sqlite → 汇总.jieyue-ledger.sqlite.损坏-20240101-120000."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.损坏-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.损坏-{stamp}-{n}")
    return aside


def _drop_journal(path: Path) -> None:
    """A rollback journal left beside a ledger that was set aside belongs to the old file, not the new one."""
    journal = path.with_name(path.name + "-journal")
    if journal.exists():
        os.replace(journal, _aside_path(journal))


# ---------------------------------------------------------------- a row sealed

def seal(secret: bytes, run_key: str, stored: tuple) -> bytes:
    """The HMAC-SHA256 of a row as stored (`_stored`: its columns from path to counted) under `run_key`. The
    message is the values marshalled in marshal's format 2: each after its type and length, so no two rows give
    the same message, and without back-references, so equal rows give equal bytes whatever objects hold them.
    (Made in C: a re-run checks the seal of every unchanged file and 佐证材料 entry, and a message built value by
    value in Python was half of looking a file up.)"""
    return hmac.digest(secret, marshal.dumps((f"jieyue-ledger-{FORMAT}", run_key, *stored), 2), "sha256")


def _stored(r: LedgerRow) -> tuple:
    """`r` as `_read_rows` gives it back, without its seal."""
    return tuple(getattr(r, name) for name in LedgerRow.__dataclass_fields__)


Figures = tuple[bytes, bytes, bytes, "dict | None", array]
"""A row's figures as `valid_row` and `decoded_row` give them: inputs JSON, results JSON, 汇总 cells — packed, as
stored —, the decoded key figures or None, the counted self scores (`counted_array`)."""


def decoded_row(row: tuple) -> tuple[dict[str, Any], Figures | None] | None:
    """What `valid_row` gives of a row this program wrote (its seal is right), without checking it again: only the
    outcome and the key figures are decoded (the figures and cells stay packed until the outputs use them)."""
    path, size, _, sha256, _, _, status, _, text, inputs, results, cells, key_figures, counted = row
    try:
        d = _DECODER.decode(unpack(text))
        preview = _DECODER.decode(unpack(key_figures)) if key_figures is not None else None
    except (ValueError, TypeError):
        return None
    if inputs is None or results is None or cells is None:
        return d, None
    return d, (inputs, results, cells, preview, counted_array(counted))


# ---------------------------------------------------------------- a row as data

_SCALAR_TYPES = frozenset({str, int, float, bool, type(None)})
_OUTCOME_FIELDS = frozenset(FileOutcome.__dataclass_fields__) - set(_FIGURES)
_STATUSES = frozenset({CONSOLIDATED, REJECTED, SKIPPED})
_KINDS = frozenset({RETURN, REVIEW})
_TYPES: dict[str, tuple[type, ...]] = {"path": (str,), "size": (int,), "sha256": (str,), "status": (str,),
                                       "findings": (list,), "unit": (dict,), "meta": (dict,), "blocking": (bool,),
                                       "used": (bool,), "skip_reason": (str,), "kind": (str,), "scorecards": (list,)}


def valid_row(row: tuple, codes: frozenset[str], grammar: re.Pattern[str], cell_count: int, indicator_count: int
              ) -> tuple[dict[str, Any], Figures | None] | None:
    """(the outcome's fields, its `Figures` or None) of a ledger row, or None when anything in it is not what this
    program writes: the row is then not used. The packed texts are inflated (bounded) to be checked."""
    try:
        path, size, _, sha256, _, _, status, _, text, inputs, results, cells, key_figures, counted = row
        d = _DECODER.decode(unpack(text))
    except (ValueError, TypeError):                  # BadPacked is a ValueError
        return None
    if not isinstance(d, dict) or not set(d) <= _OUTCOME_FIELDS or not {"path", "size", "sha256", "status"} <= set(d):
        return None
    if any(not isinstance(d[k], t) for k, t in _TYPES.items() if k in d) or isinstance(d.get("size"), bool):
        return None
    if (d["path"], d["size"], d["sha256"], d["status"]) != (path, size, sha256, status) or status not in _STATUSES:
        return None
    if d.get("kind", RETURN) not in _KINDS or not _valid_findings(d.get("findings", []), codes):
        return None
    if not _flat(d.get("unit", {})) or not _flat(d.get("meta", {})) or not _valid_cards(d.get("scorecards", [])):
        return None
    if inputs is None or results is None or cells is None:
        return d, None
    try:
        texts = unpack(inputs), unpack(results), unpack(cells)
    except BadPacked:
        return None
    if not sheetxml.valid_cells(texts[2], grammar, cell_count):
        return None
    if not (_one_object(texts[0]) and _one_object(texts[1])):
        return None
    try:
        preview = _DECODER.decode(unpack(key_figures)) if key_figures is not None else None
    except ValueError:
        return None
    if preview is not None and not (isinstance(preview, dict) and set(preview) == {"inputs", "results"}
                                    and _flat(preview["inputs"]) and _flat(preview["results"])):
        return None
    scores = _counted(counted, indicator_count)
    if scores is None:
        return None
    return d, (inputs, results, cells, preview, scores)


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not what the ledger stores")


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)
"""Every JSON text of a row is decoded by this: NaN and ±Infinity refuse the row (the report may not carry them),
so a decoded float is always finite."""


def _one_object(text: Any) -> bool:
    """Whether `text` is exactly one JSON object: what the report splices in as a unit's inputs or results can
    neither break the report nor add keys to the unit's entry. (The values the run's own tables read come
    decoded and checked in the key figures.)"""
    if not isinstance(text, str) or not text.startswith("{"):
        return False
    try:
        value, end = _DECODER.raw_decode(text)
    except ValueError:
        return False
    return end == len(text) and isinstance(value, dict)


def _counted(x: Any, count: int) -> array | None:
    """A unit's counted self scores (`counted_array`) when `x` is as `row_for` stores them (`counted_bytes`):
    `count` numbers, each finite or NaN (blank); None otherwise."""
    if not (isinstance(x, bytes) and len(x) == 8 * count):
        return None
    scores = counted_array(x)
    return None if any(map(math.isinf, scores)) else scores


def counted_bytes(counted: Sequence[float]) -> bytes:
    """A unit's counted self scores as the ledger stores them: little-endian doubles, NaN for a blank — decoded
    with `counted_array` in a fortieth of the time the same 54 numbers took as JSON, on every row of a re-run."""
    values = array("d", counted)
    if sys.byteorder != "little":
        values.byteswap()
    return values.tobytes()


def counted_array(stored: bytes) -> array:
    """The scores `counted_bytes` stored."""
    values = array("d", stored)
    if sys.byteorder != "little":
        values.byteswap()
    return values


def _flat(x: Any) -> bool:
    """A JSON object of plain values (what inputs, results, unit and meta are)."""
    return isinstance(x, dict) and {type(v) for v in x.values()} <= _SCALAR_TYPES     # decoded: keys are text


def _valid_findings(findings: list, codes: frozenset[str]) -> bool:
    return all(isinstance(x, dict) and set(x) == {"code", "message", "name", "cell"} and x["code"] in codes
               and all(isinstance(v, str) for v in x.values()) for x in findings)


def _valid_cards(cards: list) -> bool:
    """A review pack's scorecards as `workers._take_pack` stores them."""
    for c in cards:
        if not (isinstance(c, dict) and set(c) == {"sheet", "values", "errors", "cells", "uncached"}
                and isinstance(c["sheet"], str) and _flat(c["values"]) and _flat(c["errors"]) and _flat(c["cells"])
                and isinstance(c["uncached"], list) and all(isinstance(u, str) for u in c["uncached"])):
            return False
    return True
