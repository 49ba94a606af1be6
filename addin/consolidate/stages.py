"""The stages of the year's 复验 as the run finds them (`content(run)["stages"]`, the 进度 sheet): per stage and
responsible party — the units, each reviewer, the results — the due date (process.toml), done / total, and at the
run's as-of date (`jieyue consolidate --as-of`) whether it is overdue, which units and which review packs.

What counts as done (the rules of `udfs.stages` say when it is overdue):
    by unit          a unit of the roster (without one: each unit that returned) whose return has no error
    by a reviewer    each unit of the check's levels whose return has no error, scored on a complete scorecard of
                     that reviewer (units with errors are the units' part, not the reviewers')
    spot check       that reviewer's complete scorecards on those units, out of ratio × their number
    by result        each unit with a result (已评审: 达标, 不达标 or 拟摘牌)
"""
from __future__ import annotations

from datetime import date
from typing import Any

from udfs.levels import find_level
from udfs.numbers import rounded_count
from udfs.results import REVIEWED
from udfs.stages import part_progress
from workbook_templates import Spec

from .model import ConsolidationRun, FileOutcome

BY_LABEL = {"unit": "复验单位", "result": "复验结果"}
NOT_RETURNED, HAS_ERRORS = "未交回工作簿", "工作簿有错误，待改正后重新交回"
NOT_RECEIVED, NOT_FILLED = "评分未收到", "评审包已交回，尚未评分"


def _level_key(f: FileOutcome, spec: Spec) -> str | None:
    level = find_level(f.unit.get("unit_level"), spec)
    return level.key if level else None


def _unit(code: str, name: Any, region: Any, status: str, alike: dict[tuple, dict[str, Any]]) -> dict[str, Any]:
    """A unit as a stage lists it; one table for a unit listed alike by several stages (`alike`: this section's)."""
    try:
        return alike.setdefault((code, name, region, status),
                                {"unit_code": code, "unit_name": name, "unit_region": region, "status": status})
    except TypeError:                                    # a name that is not text (hostile): its own table
        return {"unit_code": code, "unit_name": name, "unit_region": region, "status": status}


def stages(run: ConsolidationRun, spec: Spec) -> dict[str, Any]:
    """The `stages` section of the report (also what the 进度 sheet and 评审进度's 逾期 column show)."""
    process = spec.process
    as_of: date | None = getattr(run, "as_of", None)
    units = run.units
    valid = [f for f in units if not f.blocking]
    leveled = [(f, _level_key(f, spec)) for f in valid]   # each unit's level looked up once, not once a check
    cards = {(c.unit_code, c.level): c for c in run.review_cards if c.chosen}
    touched = {(c.unit_code, c.level) for c in run.review_cards if c.matched}    # blank cards too: the pack came
    rows = []
    alike: dict[tuple, dict[str, Any]] = {}
    for stage in process.stages(run.year) if process else ():
        for check in stage.checks:
            late_units: list[dict[str, Any]] = []
            late_packs: list[str] = []
            required = None
            if check.by == "unit":
                returned = {f.code: f for f in units}
                expected = ([(e.code, e.name, e.region) for e in run.roster] if run.roster is not None else
                            [(f.code, f.unit.get("unit_name"), f.unit.get("unit_region")) for f in units])
                done = [c in returned and not returned[c].blocking for c, _, _ in expected]
                missing = [_unit(c, n, r, HAS_ERRORS if c in returned else NOT_RETURNED, alike)
                           for (c, n, r), d in zip(expected, done) if not d]
            elif check.by == "result":
                named = {f.code: (f.unit.get("unit_name"), f.unit.get("unit_region")) for f in units}
                named.update({e.code: (e.name, e.region) for e in run.not_returned if e.code not in named})
                expected = [(code, *named.get(code, ("", ""))) for code in run.results]
                done = [run.results[c].state == REVIEWED for c, _, _ in expected]
                missing = [_unit(c, n, r, run.results[c].state, alike) for (c, n, r), d in zip(expected, done) if not d]
            else:
                levels = set(check.levels) or set(spec.assessment.levels)
                population = [f for f, level in leveled if level in levels]
                complete = [(f.code, check.by) in cards and cards[(f.code, check.by)].missing == 0 for f in population]
                if check.spot_check:
                    ratio = getattr(spec.assessment.spot_check, check.spot_check)
                    required = rounded_count(len(population), ratio, spec.assessment.spot_check.rounding)
                    done, missing = complete, []
                else:
                    done = complete
                    missing = []
                    for f, d in zip(population, complete):
                        if d:
                            continue
                        c = cards.get((f.code, check.by))
                        status = (f"尚有 {c.missing} 项未评分" if c else NOT_FILLED if (f.code, check.by) in touched
                                  else NOT_RECEIVED)
                        missing.append(_unit(f.code, f.unit.get("unit_name"), f.unit.get("unit_region"), status,
                                             alike))
            progress = part_progress(done, stage.due, as_of, required)
            label = BY_LABEL.get(check.by) or spec.assessment.reviewers.get(check.by, check.by).removesuffix("评分")
            if progress["overdue"]:
                late_units = missing
                if check.spot_check:
                    late_packs = [f"{label}：已复核 {progress['done']} 个单位，尚需 {progress['total'] - progress['done']} 个"]
                elif check.by in spec.assessment.reviewers:
                    late_packs = _late_packs(missing, label, check.by == list(spec.assessment.reviewers)[-1])
            rows.append({"stage": stage.key, "label": stage.label, "period": stage.period,
                         "due": stage.due.isoformat(), "assumed": stage.assumed, "by": check.by, "by_label": label,
                         "levels": [spec.assessment.levels[k].label for k in check.levels],
                         "spot_check": check.spot_check or None, **progress,
                         "overdue_units": late_units, "overdue_packs": late_packs})
    return {"as_of": as_of.isoformat() if as_of else None, "year": run.year,
            "source": process.source if process else "", "question": process.question if process else "",
            "period_days": dict(process.period_days) if process else {},
            "overdue_stages": sorted({r["stage"] for r in rows if r["overdue"]},
                                     key=[r["stage"] for r in rows].index),
            "rows": rows}


def _late_packs(missing: list[dict[str, Any]], label: str, whole_region: bool) -> list[str]:
    """Per 地区 (the whole region for the top reviewer): the pack not received, or how many of its units are left."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for u in missing:
        groups.setdefault("全区" if whole_region else str(u["unit_region"] or "（未填地区）"), []).append(u)
    out = []
    for region in sorted(groups):
        left = groups[region]
        if all(u["status"] == NOT_RECEIVED for u in left):
            out.append(f"{region} {label}：评审包未收到（{len(left)} 个单位）")
        else:
            out.append(f"{region} {label}：尚有 {len(left)} 个单位未评完")
    return out


def overdue_reviews(section: dict[str, Any]) -> set[tuple[str, str]]:
    """(unit code, reviewer key) of every overdue review: 评审进度 marks these rows 逾期."""
    return {(u["unit_code"], r["by"]) for r in section["rows"] if r["overdue"] and r["by"] not in BY_LABEL
            for u in r["overdue_units"]}


__all__ = ["stages", "overdue_reviews"]
