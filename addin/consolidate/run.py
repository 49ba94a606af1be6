"""The run: from a folder of returned files to a `ConsolidationRun` — plain data, every file accounted for.

The stages, each in its own module:

1. `walk`: the files under the returns folder (and `reviews`); lock, hidden and system files, links, special
   files and hidden folders are *skipped*, an unreadable folder is *rejected* (F123) — never the run's end;
2. `ledger`: files unchanged since the last run take their outcome from the ledger (`Ledger.lookup`);
3. `workers`: every other file is read (`read`), checked and recomputed with its own year and preset, on two
   processes when there are many; the `prerender` stage renders its figures there. Files the ledger cannot know
   (new, or of another size) are given to the workers first, so they are read while this process looks up the
   others;
4. `rules`: the run's year and preset filter, the signatures (`signatures`, with a key), identity against the
   roster, duplicates, the roster — then `reviews` scores the review packs.

`consolidate` returns the run; `outputs.write_outputs` renders it and then commits the ledger.
"""
from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path
from typing import Callable

from udfs.intake import Finding
from udfs.ranking import SCOPE_TEXT
from workbook_templates import InputError, Spec

from .collector import deferred
from .evidence import index_evidence
from .fingerprint import fingerprint, own_outputs, run_options
from .ledger import Ledger, LedgerChanges
from .model import SKIPPED, ConsolidationRun, FileOutcome, RosterEntry
from .reviews import score_reviews
from .rules import apply_choices, check_identity, match_roster, resolve_duplicates, run_year
from .signatures import verify_signatures
from .walk import Survey, shown_path, skip_reason, skipped_kind, survey
from .workers import Job, read_all

OWN_OUTPUT = "本次汇总的输出文件"


@deferred()
def consolidate(folder: str | Path, *, spec: Spec, roster: list[RosterEntry] | None = None,
                year: int | None = None, preset: str | None = None, ledger: Ledger | None = None,
                workers: int = 2, progress: Callable[[int, int], None] | None = None,
                outputs: tuple[str | Path, ...] = (), reviews: str | Path | None = None,
                scope: str | None = None, key: bytes | None = None, final: bool = False,
                as_of: date | None = None, found: Survey | None = None) -> ConsolidationRun:
    """Read, check and recompute every file under `folder` — units' returns and reviewers' review packs — and
    under `reviews` (more review packs, listed as 「<folder name>/…」).

    Each return is recomputed with the year and preset it was made for. `year` and `preset` are checks, not
    overrides: only files of that year (default: the most common year of the returns) and of that preset
    (default: any the spec has) are accepted. `outputs` (this run's summary, report and ledger) are skipped if
    they lie inside the folders, so a run never reads its own results. `scope` of the ranking: region |
    prefecture (default: the spec's). With a `ledger`, unchanged files are not read again and what was read
    waits in `ledger.pending` until the outputs are written. `final`: the consolidation after the deadline — a
    unit that has not completed (未报送, errors not corrected, still 待评审) is 未完成复验. With `key` (`addin.keys`), every return's and
    pack's signature is verified (`signatures`); without one, the run records that none was checked. `found`: the
    walk of `folder` and `reviews` the caller has just made (`fingerprint.survey_of`, for the fingerprint), taken as
    this run's; without it the run walks them itself."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"回收目录「{folder}」不存在或不是目录：请检查路径")
    if reviews is not None and not Path(reviews).is_dir():
        raise InputError(f"评审包目录「{reviews}」不存在或不是目录：请检查路径")
    if scope is not None and scope not in SCOPE_TEXT:
        raise InputError(f"排名范围「{scope}」无法识别：应为 region（全区统一排名）或 prefecture（各地州市分别排名）")
    options = run_options(roster=roster, year=year, preset=preset, reviews=reviews, scope=scope, key=key, final=final,
                          as_of=as_of, outputs=outputs)  # as given: what `fingerprint_of` takes before a run
    if year is not None:
        spec.year(year)                                 # an unknown year is the user's error, before any work
    if preset is not None:
        preset = spec.preset(preset).id

    try:
        if found is None:
            found = survey(folder, Path(reviews) if reviews is not None else None)
    except OSError as e:
        raise InputError(f"回收目录「{shown_path(str(folder))}」无法读取（{e.strerror or e}）：请检查读取权限") from None
    stats, rels = found.files, found.rels
    paths = sorted(stats, key=lambda p: rels[p])
    own = own_outputs(outputs)
    own_names = {o.name for o in own}

    outcomes: dict[Path, FileOutcome] = {}
    alike = Alike()
    changes = LedgerChanges()
    to_read: list[Job] = []                               # files the ledger cannot know: read at once
    to_look_up: list[Path] = []                          # files it may know: looked up while those are read
    for p in paths:
        rel, stat = rels[p], stats[p]
        reason = OWN_OUTPUT if p.name in own_names and p.resolve() in own else skip_reason(p, stat.st_mode)
        if reason:
            outcomes[p] = FileOutcome(path=rel, size=stat.st_size, sha256="", status=SKIPPED, skip_reason=reason,
                                      kind=skipped_kind(reason))
            if ledger:
                changes.rows.append(ledger.row_for(outcomes[p], stat.st_size, stat.st_mtime_ns))
        elif ledger and ledger.may_know(rel, stat):
            to_look_up.append(p)
        else:
            to_read.append(Job(str(p), rel))

    readings = [read_all(to_read, spec, workers)]       # begun: the workers read while the ledger is looked up
    try:
        read_later: list[Job] = []                       # the ledger's row was no use after all
        for p in to_look_up if ledger else ():
            known, restamped = ledger.lookup(rels[p], stats[p], p)
            if known is None:
                read_later.append(Job(str(p), rels[p]))
                continue
            outcomes[p] = alike.shared(known)
            if restamped:
                changes.rows.append(restamped)           # recorded again with its new mtime
        done = len(paths) - len(to_read) - len(read_later)
        if progress:
            progress(done, len(paths))
        readings.append(read_all(read_later, spec, workers))
        for job, outcome in itertools.chain(*readings):
            p = Path(job.path)
            outcomes[p] = alike.shared(outcome)
            if p in found.notes:
                outcome.findings.append(found.notes[p])  # I124: the name is not UTF-8
            if ledger:                                   # as read: the rules below are applied on every run
                changes.rows.append(ledger.row_for(outcome, stats[p].st_size, stats[p].st_mtime_ns))
            done += 1
            if progress and (done % 32 == 0 or done == len(paths)):
                progress(done, len(paths))
    finally:
        for reading in readings:
            reading.close()

    files = sorted([*(outcomes[p] for p in paths), *found.folder_outcomes()], key=lambda f: f.path)
    the_year, source = run_year(files, year, spec)
    run = ConsolidationRun(folder=shown_path(str(folder)), year=the_year, preset=preset, files=files, roster=roster,
                           year_source=source)
    apply_choices(run)
    verify_signatures(run, key)                          # before duplicates: a file that fails is not preferred
    if roster is not None:
        check_identity(run, roster, spec)
    resolve_duplicates(run, {outcomes[p].path: stats[p].st_mtime_ns for p in paths}, spec)
    if roster is not None:
        match_roster(run, roster)
    run.scope = scope or spec.assessment.elimination.scope
    run.final = final                                    # after the deadline: units not done are 未完成复验
    run.as_of = as_of                                    # the stages' overdue is judged at this date (`stages`)
    score_reviews(run, spec, {outcomes[p].path: stats[p].st_mtime_ns for p in paths}, run.scope)
    # 佐证材料 beside each return (`evidence`); files hashed last time and unchanged are not hashed again
    # and the entries of units that hand nothing in taken as they were when their returns are unchanged
    indexing = index_evidence(run, folder, spec, ledger.evidence if ledger else {},
                              kept=ledger.entries if ledger else {}, found=found.evidence(), workers=workers)
    run.evidence = indexing.section
    if ledger:
        # what the outputs are made of, for the next run to tell whether anything changed (the evidence stage has
        # listed the 佐证材料 folders of the units already)
        run.fingerprint = fingerprint(found, own, options, spec, ledger.key, indexing.listings)
        changes.evidence, changes.entries = indexing.stamps, indexing.kept
        changes.gone = [g for g in ledger.gone({f.path for f in run.files}) if not found.unread(g)]
        run.disappeared = changes.gone
        run.notices += ledger.notices                    # set aside, or rows not used
        ledger.pending = changes
    return run


class Alike:
    """What many files have alike, held once: the same `_meta` (the workbooks of one campaign), the same finding
    (a spec-digest warning on every file) — 20 000 files each with their own copies were ~40 MB. Nothing changes a
    file's meta or a finding once read (a finding is frozen; rules add findings to a file's own list)."""

    def __init__(self) -> None:
        self.metas: dict[tuple, dict] = {}
        self.findings: dict[Finding, Finding] = {}

    def shared(self, f: FileOutcome) -> FileOutcome:
        """`f`, its meta and findings replaced by the first alike ones seen."""
        try:
            f.meta = self.metas.setdefault(tuple(f.meta.items()), f.meta)
        except TypeError:                                # a value that cannot be compared whole: its own
            pass
        f.findings = [self.findings.setdefault(x, x) for x in f.findings]
        return f
