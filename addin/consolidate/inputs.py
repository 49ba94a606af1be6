"""The administrator's inputs to a run besides the returns folder: the roster, as `RosterEntry` rows."""
from __future__ import annotations

from pathlib import Path

from workbook_templates import Spec

from .model import RosterEntry


def read_roster_entries(path: str | Path, spec: Spec) -> tuple[list[RosterEntry], list[str]]:
    """The roster's valid units as entries, and its problems as lines (a roster with problems still counts
    its valid rows; the problems are reported)."""
    from generator.roster import read_roster      # openpyxl: only when a roster is given
    roster = read_roster(path, spec)
    return ([RosterEntry(u.name, u.code, u.level, u.region, u.cohort, u.named_year) for u in roster.units],
            [str(p) for p in roster.problems])
