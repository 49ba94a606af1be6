"""Stage 3 of a run: the ledger — what each file was last time, so a re-run reads only new or changed files.

The ledger is an SQLite file beside the summary (`ledger_path`). `Ledger.load` reads every row made with the
same spec at once (and writes nothing); `lookup` answers for one file — unchanged when its size and mtime are, or, when only the
mtime moved (a copied folder), when its SHA-256 is; `commit` stores what this run read, only after the
outputs were written, so a failed write still reports the same files next time.

A row keeps a file's outcome *as the reading stage left it* (`row_for`, taken before any run-level rule —
duplicates, roster, years, presets, reviews — is applied; those are applied afresh on every run) and its
rendered figures (`Rendered`), which a re-run reuses as they are.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from udfs.intake import Finding
from workbook_templates import Spec
from workbook_templates.contract import KNOWN_REVIEW_VERSIONS, KNOWN_TEMPLATE_VERSIONS

from .model import FileOutcome, Rendered, StoredFigures

FORMAT = 5
"""Bumped when a row's layout or meaning changes: a ledger of another format is emptied, every file read again."""

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
    outcome: str                       # the FileOutcome without its figures, as JSON
    inputs_json: str | None
    results_json: str | None
    summary_cells: str | None
    key_figures: str | None            # the names every run's tables read, decoded once (`key_names`)


@dataclass
class LedgerChanges:
    """What a run read, pending in the ledger until `Ledger.commit` (after the outputs are written)."""

    rows: list[LedgerRow] = field(default_factory=list)   # files read (or only re-stamped) in this run
    gone: list[str] = field(default_factory=list)         # files the ledger knew that are not there any more


def ledger_path(summary: str | Path) -> Path:
    """The ledger beside the summary: 汇总.xlsx → 汇总.jieyue-ledger.sqlite."""
    summary = Path(summary)
    return summary.with_name(summary.stem + ".jieyue-ledger.sqlite")


def key_names(spec: Spec) -> frozenset[str]:
    """The names the run's own tables read for every unit (statistics, review results, per-indicator
    averages, the console): kept decoded in the ledger beside the full figures."""
    names = {"self_total", "self_pass", *(f"ok_{i.key}" for i in spec.decline_intensities)}
    for ind in spec.indicators:
        names.add(ind.score_name)
        if ind.rule.selector:
            names.add(ind.rule.selector)
    return frozenset(names)


class Ledger:
    """The ledger's rows for this spec, read once (`load` only reads: a run that fails early leaves no ledger
    behind); `commit` writes this run's rows."""

    def __init__(self, path: Path, key: str, covered: frozenset[str], known: dict[str, tuple], paths: set[str]):
        self.path, self.key, self.covered = path, key, covered
        self.known = known                  # path → row, for rows made with this spec and reader
        self.paths = paths                  # every path the ledger holds, whatever spec made its row
        self.pending = LedgerChanges()      # what the run read, stored by `commit` once the outputs are written

    @classmethod
    def load(cls, path: str | Path, spec: Spec) -> "Ledger":
        """The ledger at `path` (none yet: empty); rows made with another spec or reader are not used."""
        path = Path(path)
        versions = ",".join(sorted(KNOWN_TEMPLATE_VERSIONS | KNOWN_REVIEW_VERSIONS))
        key = f"{spec.digest}|{versions}"
        known: dict[str, tuple] = {}
        paths: set[str] = set()
        if path.exists():
            db = sqlite3.connect(str(path))
            try:
                if db.execute("PRAGMA user_version").fetchone()[0] == FORMAT:
                    # One query for all rows: a re-run over thousands of files looks each one up in memory.
                    known = {row[0]: row for row in db.execute(
                        "SELECT path, size, mtime_ns, sha256, unit_code, template_version, status, findings,"
                        " outcome, inputs_json, results_json, summary_cells, key_figures FROM files WHERE run_key=?",
                        (key,))}
                    paths = {p for (p,) in db.execute("SELECT path FROM files")}
            finally:
                db.close()
        return cls(path, key, key_names(spec), known, paths)

    def lookup(self, path: str, stat: os.stat_result, file: Path) -> tuple[FileOutcome | None, LedgerRow | None]:
        """(the file's outcome last time, the row to store again when only its mtime moved), or (None, None)
        when the file must be read."""
        row = self.known.get(path)
        if row is None or row[1] != stat.st_size:
            return None, None
        if row[2] == stat.st_mtime_ns:
            return self._outcome(row), None
        if not row[3]:
            return None, None
        try:
            digest = hashlib.sha256(file.read_bytes()).hexdigest()
        except OSError:
            return None, None                            # read it properly: the reader reports the problem
        if digest != row[3]:
            return None, None
        return self._outcome(row), LedgerRow(row[0], row[1], stat.st_mtime_ns, *row[3:])

    def gone(self, seen: set[str]) -> list[str]:
        """Files the ledger knew (with any spec) that are not in the folders any more."""
        return sorted(self.paths - seen)

    def row_for(self, f: FileOutcome, size: int, mtime_ns: int) -> LedgerRow:
        """The row that stores `f` as the reading stage left it (call it before run-level rules apply)."""
        d = {k: getattr(f, k) for k in FileOutcome.__dataclass_fields__ if k not in _FIGURES}
        d["findings"] = [{"code": x.code, "message": x.message, "name": x.name, "cell": x.cell} for x in f.findings]
        r = f.rendered
        key_figures = None if r is None else json.dumps(
            {"inputs": {k: v for k, v in f.inputs.items() if k in self.covered},
             "results": {k: v for k, v in f.results.items() if k in self.covered}}, ensure_ascii=False)
        # Shallow on purpose (dataclasses.asdict deep-copies every value: ~1 ms a file). The figures are
        # stored once, as rendered.
        return LedgerRow(f.path, size, mtime_ns, f.sha256, f.code, str(f.meta.get("template_version") or ""),
                         f.status, len(f.findings), json.dumps(d, ensure_ascii=False),
                         r.inputs_json if r else None, r.results_json if r else None,
                         r.summary_cells if r else None, key_figures)

    def commit(self) -> None:
        """Store the rows of this run (`pending`) and forget the gone files, in one transaction. A ledger of
        another format is emptied first (every file was read again)."""
        changes = self.pending
        db = sqlite3.connect(str(self.path))
        try:
            with db:
                if db.execute("PRAGMA user_version").fetchone()[0] != FORMAT:
                    db.execute("DROP TABLE IF EXISTS files")
                    db.execute(f"PRAGMA user_version = {FORMAT}")
                db.execute("""CREATE TABLE IF NOT EXISTS files (
                    path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, sha256 TEXT, unit_code TEXT,
                    template_version TEXT, status TEXT, findings INTEGER, run_key TEXT, outcome TEXT,
                    inputs_json TEXT, results_json TEXT, summary_cells TEXT, key_figures TEXT,
                    checked_at TEXT DEFAULT CURRENT_TIMESTAMP)""")
                db.executemany("DELETE FROM files WHERE path=?", [(p,) for p in changes.gone])
                db.executemany(
                    "INSERT OR REPLACE INTO files (path, size, mtime_ns, sha256, unit_code, template_version, status,"
                    " findings, run_key, outcome, inputs_json, results_json, summary_cells, key_figures)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    [(r.path, r.size, r.mtime_ns, r.sha256, r.unit_code, r.template_version, r.status, r.findings,
                      self.key, r.outcome, r.inputs_json, r.results_json, r.summary_cells, r.key_figures)
                     for r in changes.rows])
        finally:
            db.close()

    def _outcome(self, row: tuple) -> FileOutcome:
        text, inputs, results, cells, key_figures = row[8:]
        d = json.loads(text)
        d["findings"] = [Finding(**x) for x in d["findings"]]
        f = FileOutcome(**d)
        if inputs is not None and results is not None and cells is not None:
            preview = json.loads(key_figures) if key_figures else {"inputs": {}, "results": {}}
            shown = self.covered if key_figures else frozenset()
            f.inputs = StoredFigures(inputs, preview["inputs"], shown)
            f.results = StoredFigures(results, preview["results"], shown)
            f.rendered = Rendered(inputs, results, cells)
        return f
