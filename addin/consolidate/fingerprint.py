"""Whether a run would only write again what is there: the run's fingerprint.

Everything the outputs are made of goes into one SHA-256: every file and folder the walk found (its path as shown,
size, modification time and type — the ledger trusts the same to say a file is unchanged), the files in the
佐证材料 folders beside them, the options (year, preset, scope, final, the as-of date, the reviews folder, the
roster's entries, the signing key's identity, the outputs' paths), the spec and reader the ledger keys its rows by,
and this program's version. The fingerprint is stored in the ledger with the outputs' size and modification time,
after the outputs are written (`ledger.LastRun`); a re-run whose fingerprint is the same and whose outputs are
still those the last run wrote rewrites nothing (`LastRun.current`). The run's own outputs are left out (they
change on every write), so are the other helpers' lock and temporary files (`walk.skip_reason` skips them).
"""
from __future__ import annotations

import hashlib
import hmac
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from workbook_templates import Spec

from .evidence import folder_listing, listing_line
from .model import RosterEntry
from .walk import EVIDENCE_FOLDER, Survey, survey

VERSION = 1
"""Bumped when what the fingerprint covers changes."""


def run_options(*, roster: list[RosterEntry] | None, year: int | None, preset: str | None, reviews: str | Path | None,
                scope: str | None, key: bytes | None, final: bool, as_of: date | None,
                outputs: Sequence[str | Path]) -> dict[str, Any]:
    """The options of a run as the fingerprint takes them (as given, before any is resolved). The key is taken by
    an HMAC of a fixed text: which key, never the key itself."""
    return {"roster": None if roster is None else [repr(e) for e in roster], "year": year, "preset": preset,
            "reviews": None if reviews is None else str(Path(reviews).resolve()), "scope": scope,
            "key": hmac.new(key, b"jieyue run fingerprint", hashlib.sha256).hexdigest() if key else None,
            "final": final, "as_of": None if as_of is None else as_of.isoformat(),
            "outputs": [str(Path(o).resolve()) for o in outputs]}


def fingerprint(found: Survey, own: set[Path], options: dict[str, Any], spec: Spec, ledger_key: str,
                listings: Mapping[str, bytes]) -> str:
    """The fingerprint of a run over `found` (the walk of its folders) with `options` (`run_options`), leaving out
    the run's `own` outputs (resolved paths). `listings`: the 佐证材料 folders' listing digests the run's evidence
    stage already made (by the folder's path as text); any other evidence folder is listed here."""
    h = hashlib.sha256()
    h.update(repr((VERSION, _version(), spec.digest, ledger_key, sorted(options.items()))).encode("utf-8"))
    own_names = {o.name for o in own}
    for path in sorted(found.files, key=found.rels.__getitem__):
        if path.name in own_names and path.resolve() in own:
            continue
        st = found.files[path]
        h.update(listing_line(found.rels[path], st.st_size, st.st_mtime_ns, st.st_mode))
    for f in sorted(found.folders, key=lambda f: found.rels[f.path]):
        h.update(listing_line(found.rels[f.path], f.reason, f.unreadable))
        if f.reason == EVIDENCE_FOLDER:
            listed = listings.get(str(f.path))
            h.update(listed if listed is not None else folder_listing(str(f.path)))
    return h.hexdigest()


def survey_of(folder: str | Path, reviews: str | Path | None) -> Survey | None:
    """The walk a run over `folder` (and `reviews`) would make now, or None when a folder cannot be walked (the
    run itself then says what is wrong). A run given it (`consolidate(found=…)`) does not walk again."""
    folder = Path(folder)
    try:
        if not folder.is_dir() or (reviews is not None and not Path(reviews).is_dir()):
            return None
        return survey(folder, Path(reviews) if reviews is not None else None)
    except OSError:
        return None


def fingerprint_of(found: Survey, options: dict[str, Any], spec: Spec, ledger_key: str) -> str:
    """The fingerprint a run over the walk `found` (`survey_of`) with `options` (`run_options`) would have, before
    the run: its evidence folders are listed here."""
    return fingerprint(found, own_outputs(options["outputs"]), options, spec, ledger_key, {})


def own_outputs(outputs: Iterable[str | Path]) -> set[Path]:
    """A run's outputs (summary, report, ledger) and the ledger's SQLite journal, resolved: never read as returns
    (`run.OWN_OUTPUT`) and never in the fingerprint (they change on every write)."""
    own = {Path(o).resolve() for o in outputs}
    return own | {o.with_name(o.name + "-journal") for o in own}


def _version() -> str:
    try:
        return metadata.version("jieyue")
    except metadata.PackageNotFoundError:
        return "source"
