"""Which units a reviewing authority's pack covers, and which of them are marked for a spot check.

From the consolidated units (`run.units`, one per unit): the reviewer covers its own level and the levels before
it (`udfs.levels.covers`), optionally only one 地区; with `sampled_only` (needs a seed) only its own level and the
units of the spot-check list it draws itself. A unit whose return has an error is in scope but left out of the
pack (`Selection.skipped`, listed for the user). The spot-check lists are drawn from every consolidated unit
(`udfs.spot_checks`), so a pack and a spot-check list made with the same seed mark the same units.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from udfs.levels import Reviewer, covers, find_level, reviewer_of
from udfs.spot_checks import SpotCheckGroup, drawn_by, spot_check_groups, spot_check_marks
from workbook_templates import InputError, Spec
from workbook_templates.errors import UnknownChoice

from ..consolidate.model import FileOutcome


@dataclass
class Selection:
    """The units of one reviewer's pack, and why the others are not on it."""

    reviewer: Reviewer
    region: str | None                      # the one 地区 the pack is limited to, or None
    seed: int | str | None                  # of the spot-check lists (None: no spot-check marks)
    groups: list[SpotCheckGroup]            # the spot-check lists drawn from every consolidated unit
    chosen: list[FileOutcome]               # on the pack, in order
    skipped: list[FileOutcome]              # in scope, but the return has errors: left out and listed
    out_of_scope: int                       # consolidated units this reviewer does not review
    marks: dict[str, tuple[str, ...]] = field(default_factory=dict)   # unit code → the lists it is on


def spot_population(units: Iterable[FileOutcome]) -> list[dict[str, Any]]:
    """The units a spot check draws from, as `udfs.spot_checks.spot_check_groups` takes them."""
    return [{"code": f.code, "level": f.unit.get("unit_level"), "region": f.unit.get("unit_region")}
            for f in units if f.code]


def draw_spot_checks(units: Sequence[FileOutcome], seed: int | str | None, spec: Spec) -> list[SpotCheckGroup]:
    """The spot-check lists drawn from every consolidated unit with `seed` (none without a seed)."""
    return spot_check_groups(spot_population(units), seed, spec) if seed is not None else []


def reviewer_for(level: str, spec: Spec, *, seed: int | str | None = None, sampled_only: bool = False) -> Reviewer:
    """The reviewer `level` names (县市区 / 地州市 / 自治区, or a key or label of assessment.toml), once the choices
    fit together — checked before any file is read. What the user typed is an InputError when it names none."""
    try:
        reviewer = reviewer_of(level, spec)
    except KeyError as e:               # the lookup's Chinese message, as the user's error (exit 2)
        raise UnknownChoice(e.args[0] if e.args else str(e)) from None
    if sampled_only and seed is None:
        raise InputError("只放入抽查单位（--sampled-only）时需要给出实地抽查的随机种子 --seed，与 jieyue spot-check 相同")
    return reviewer


def select_units(units: Sequence[FileOutcome], reviewer: Reviewer, spec: Spec, *, region: str | None = None,
                 seed: int | str | None = None, sampled_only: bool = False, folder: str = "") -> Selection:
    """The units `reviewer` reviews among the consolidated `units`, optionally only those of `region`; with
    `sampled_only` (needs `seed`) only its own level and the units of the spot-check list this reviewer draws —
    the 自治区 scores 自治区本级 units and re-checks a sample, not a card for every unit. Raises InputError
    (naming `folder`) when no unit is left."""
    reviewer_for(reviewer.key, spec, seed=seed, sampled_only=sampled_only)
    region = region.strip() if region and region.strip() else None
    groups = draw_spot_checks(units, seed, spec)
    in_scope = [f for f in units if covers(reviewer, f.unit.get("unit_level"), f.unit.get("unit_region"), region,
                                           spec=spec)]
    if sampled_only:
        drawn = {code for g in groups if drawn_by(g) == reviewer.key for code in g.sample}
        in_scope = [f for f in in_scope if _own_level(f, reviewer, spec) or f.code in drawn]
    selection = Selection(reviewer=reviewer, region=region, seed=seed, groups=groups,
                          chosen=[f for f in in_scope if not f.blocking], skipped=[f for f in in_scope if f.blocking],
                          out_of_scope=len(units) - len(in_scope), marks=spot_check_marks(groups))
    if not selection.chosen:
        where = f"所属地区为「{region}」的" if region else ""
        regions = sorted({str(f.unit.get("unit_region") or "").strip() for f in units} - {""})
        raise InputError(f"回收目录「{folder}」中没有{reviewer.short}评审部门可评审的{where}"
                         f"{'、'.join(reviewer.covers)}单位（无错误的）：请检查目录、--level 和 --region"
                         + (f"；另有 {len(selection.skipped)} 个单位的工作簿有错误" if selection.skipped else "")
                         + (f"。回收目录中的地区：{'、'.join(regions)}" if region and regions else ""))
    return selection


def _own_level(outcome: FileOutcome, reviewer: Reviewer, spec: Spec) -> bool:
    level = find_level(outcome.unit.get("unit_level"), spec)
    return level is not None and level.key == reviewer.key


__all__ = ["Selection", "reviewer_for", "select_units", "draw_spot_checks", "spot_population"]
