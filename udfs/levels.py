"""Unit levels and the reviewing authorities: what 县市区级 / county means, and who reviews which units.

The one place that turns what people write into the spec's levels and reviewers (assessment.toml [level.*] and
[reviewer.*]): a unit level by key (county) or label (县市区级), a reviewer by key, label, level label or short
name (县市区), and a reviewer's label for messages. Who reviews what: reviewers are ordered as in
assessment.toml (县市区, 地州市, 自治区) and each reviews the units of its own level and of every level before
it — 县市区 → 县市区级; 地州市 → 县市区级 and 地州市级; 自治区 → all; `--region` limits any of them to one 地区.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbook_templates import Spec
from workbook_templates.errors import UnknownChoice
from workbook_templates.model import Level


def find_level(level: Any, spec: Spec) -> Level | None:
    """The unit level written as its key (county) or label (县市区级), surrounding spaces ignored; None for
    anything else (a blank, a number, an unknown text)."""
    text = level.strip() if isinstance(level, str) else None
    for lv in spec.assessment.levels.values():
        if text in (lv.key, lv.label):
            return lv
    return None


def level_of(level: Any, spec: Spec) -> Level:
    """`find_level`, or `UnknownChoice` (a KeyError; in Chinese, listing the levels) when the text names no level."""
    found = find_level(level, spec)
    if found is None:
        choices = "、".join(lv.label for lv in spec.assessment.levels.values())
        raise UnknownChoice(f"未知的单位层级「{level}」，可选：{choices}")
    return found


def short_label(level_label: str) -> str:
    """A level label without 本级 / 级 — 县市区级 → 县市区, 自治区本级 → 自治区 — as `--level` takes it."""
    return level_label.removesuffix("本级").removesuffix("级")


@dataclass(frozen=True)
class Reviewer:
    key: str                    # county | prefecture | region (assessment.toml [reviewer.*])
    label: str                  # 县市区机关事务管理部门评分
    level: str                  # the unit level of the same key: 县市区级
    short: str                  # the level label without 本级 / 级: 县市区 (what `--level` takes)
    covers: tuple[str, ...]     # labels of the unit levels it reviews


def reviewers(spec: Spec) -> list[Reviewer]:
    """The reviewing authorities in assessment.toml order, each with the unit levels it reviews."""
    levels = spec.assessment.levels
    order = list(levels)
    out = []
    for key, label in spec.assessment.reviewers.items():
        if key not in levels:
            raise KeyError(f"assessment.toml：评审部门「{key}」没有同名的单位层级 [level.{key}]，无法确定其评审范围")
        below = order[:order.index(key) + 1]
        out.append(Reviewer(key, label, levels[key].label, short_label(levels[key].label),
                            tuple(levels[k].label for k in below)))
    return out


def reviewer_of(name: str, spec: Spec) -> Reviewer:
    """评审部门：可写 县市区 / 地州市 / 自治区（层级名称去掉「级」「本级」）、单位层级名称、评审部门名称或
    county / prefecture / region。无法识别时报错（UnknownChoice）并列出可选值。"""
    text = str(name or "").strip()
    found = reviewers(spec)
    for r in found:
        if text in (r.key, r.label, r.level, r.short):
            return r
    raise UnknownChoice(f"无法识别的评审层级「{name}」：请写 {'、'.join(r.short for r in found)} 之一")


def reviewer_label(key: str, spec: Spec) -> str:
    """A reviewer's label (县市区机关事务管理部门评分) by its key; an unknown key is shown as it is."""
    return spec.assessment.reviewers.get(key, key)


def covers(reviewer: Reviewer, unit_level: Any, unit_region: Any = None, region: str | None = None, *,
           spec: Spec) -> bool:
    """该评审部门是否评审这个单位：单位层级（名称或 key）在其评审范围内，且（指定地区时）所属地区相同。"""
    level = find_level(unit_level, spec)
    if level is None or level.label not in reviewer.covers:
        return False
    if region:
        return isinstance(unit_region, str) and unit_region.strip() == region.strip()
    return True
