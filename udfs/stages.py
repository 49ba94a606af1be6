"""复验的阶段与截止日期：每个阶段每个负责方完成了多少、是否逾期 — plain functions of plain values.

Rules (the stages and due dates are process.toml's, the date to judge by is the run's `--as-of`):
- A stage's part (one responsible party: the units, one reviewer, the results) lists what it must deliver — one
  item per unit, done or not — or, for a spot check, a count of units to re-check (`required`).
- It is overdue when the as-of date is after the due date and not everything is done; on the due date itself it
  is not yet overdue. Without an as-of date nothing is overdue.
- What is overdue is named: each unit not done (per-unit parts); a spot check only counts what is missing.
"""
from __future__ import annotations

from datetime import date
from typing import Sequence


def is_overdue(due: date, as_of: date | None, done: int, total: int) -> bool:
    """Past the due date and not all done.

    >>> due = date(2023, 8, 10)
    >>> is_overdue(due, date(2023, 8, 11), 9, 10), is_overdue(due, date(2023, 8, 10), 9, 10)
    (True, False)"""
    return as_of is not None and as_of > due and done < total


def days_overdue(due: date, as_of: date | None) -> int:
    """Days past the due date (0 on or before it, or without an as-of date)."""
    return max(0, (as_of - due).days) if as_of is not None else 0


def part_progress(done: Sequence[bool], due: date, as_of: date | None, required: int | None = None) -> dict:
    """(done, total, rate, overdue, days) of one stage part: `done` per item; `required` instead of the items'
    count for a spot check (done counted up to it). rate = done ÷ total (None when nothing is required)."""
    count = sum(bool(d) for d in done)
    total = len(done) if required is None else required
    finished = count if required is None else min(count, required)
    late = is_overdue(due, as_of, finished, total)
    return {"done": finished, "total": total, "rate": round(finished / total, 4) if total else None,
            "overdue": late, "days_overdue": days_overdue(due, as_of) if late else 0}


__all__ = ["is_overdue", "days_overdue", "part_progress"]
