"""Spot checks (实地抽查): which units each reviewing authority draws for a field check, reproducibly from a seed.

Rules (seed deck PART 03; ratios and rounding from assessment.toml [spot_check]): per 地区,
ceil(prefecture_over_county × its 县市区级 units), drawn by the 地州市; region-wide, ceil(region_over_all × all
units), drawn by the 自治区. Every list is `spot_check_sample` with the same seed: the codes deduplicated and
sorted, `random.Random(str(seed)).sample(codes, k)`, sorted again — so the same units and seed always give the
same lists, and `spot_check_method` prints the method in words for anyone to redo them.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from workbook_templates import Spec

from .levels import find_level, short_label
from .numbers import ROUNDING_TEXT, rounded_count


def spot_check_sample(codes: Sequence[str], ratio: float, seed: int | str, rounding: str | None = None, *,
                      spec: Spec) -> list[str]:
    """A reproducible sample of at least `ratio` of the units (rounded as the spec says: ceil), sorted by code.

    The same codes, ratio and seed always give the same sample, whatever the input order.
    """
    population = sorted(set(map(str, codes)))
    k = rounded_count(len(population), ratio, rounding or spec.assessment.spot_check.rounding)
    return sorted(random.Random(str(seed)).sample(population, k))


@dataclass(frozen=True)
class SpotCheckGroup:
    """One spot-check list: who draws it, from which units, how many, and the sample."""

    scope: str                      # prefecture_over_county | region_over_all (the assessment.toml key)
    title: str                      # 「昌吉回族自治州 县市区级单位（地州市抽查）」
    marker: str                     # what the 抽查 column says for a unit on this list: 「地州市抽查」
    region: str | None              # the 地区 of a per-prefecture list, None for the region-wide one
    ratio: float
    population: tuple[str, ...]     # 统一社会信用代码, sorted
    sample: tuple[str, ...]         # sorted


def spot_check_groups(units: Iterable[Mapping[str, Any]], seed: int | str, spec: Spec) -> list[SpotCheckGroup]:
    """抽查名单：每个地区的县市区级单位按 prefecture_over_county 的比例、全区全部单位按 region_over_all 的比例，
    向上取整，用 `spot_check_sample` 以同一个种子抽取。同样的单位与种子总得到同样的名单。

    `units` are mappings with `code`, `level` (label or key) and `region`. Lists come per 地区 in text order,
    then the region-wide list; a 地区 without county-level units has no list.
    """
    sc = spec.assessment.spot_check
    levels = spec.assessment.levels
    county = levels["county"]
    by_prefecture = f"{short_label(levels['prefecture'].label)}抽查"
    by_region = f"{short_label(levels['region'].label)}抽查"
    counties: dict[str, set[str]] = {}
    everyone: set[str] = set()
    for u in units:
        code = str(u["code"])
        everyone.add(code)
        if find_level(u.get("level"), spec) is county:
            region = str(u.get("region") or "").strip() or "（未填地区）"
            counties.setdefault(region, set()).add(code)
    groups = []
    for region in sorted(counties):
        population = tuple(sorted(counties[region]))
        sample = spot_check_sample(population, sc.prefecture_over_county, seed, spec=spec)
        groups.append(SpotCheckGroup("prefecture_over_county", f"{region} {county.label}单位（{by_prefecture}）",
                                     by_prefecture, region, sc.prefecture_over_county, population, tuple(sample)))
    if everyone:
        population = tuple(sorted(everyone))
        sample = spot_check_sample(population, sc.region_over_all, seed, spec=spec)
        groups.append(SpotCheckGroup("region_over_all", f"全区全部单位（{by_region}）", by_region, None,
                                     sc.region_over_all, population, tuple(sample)))
    return groups


def drawn_by(group: SpotCheckGroup) -> str:
    """The reviewer key that draws a spot-check list: the part of its assessment.toml [spot_check] key before
    「_over_」 (prefecture_over_county → prefecture, region_over_all → region)."""
    return group.scope.split("_over_", 1)[0]


def spot_check_marks(groups: Iterable[SpotCheckGroup]) -> dict[str, tuple[str, ...]]:
    """统一社会信用代码 → the markers of the lists it was drawn on (「地州市抽查」「自治区抽查」)."""
    marks: dict[str, list[str]] = {}
    for g in groups:
        for code in g.sample:
            marks.setdefault(code, []).append(g.marker)
    return {code: tuple(labels) for code, labels in marks.items()}


def spot_check_method(seed: int | str | None, spec: Spec) -> list[str]:
    """The spot-check method in words, with the seed and the spec's ratios: printed wherever a sample is shown,
    so that anyone can draw the same lists again. Reviewers read it too, so it names no command: the
    administrator's 抽查名单 adds the command line on a line of its own (`addin.review.spot_list`)."""
    sc = spec.assessment.spot_check
    levels = spec.assessment.levels
    county = levels["county"].label
    rounding = ROUNDING_TEXT.get(sc.rounding, sc.rounding)
    return [
        f"随机种子：{seed}" if seed is not None else "未指定随机种子：没有抽查名单",
        f"比例：各地区的{county}单位抽查不低于 {sc.prefecture_over_county:.0%}"
        f"（{short_label(levels['prefecture'].label)}抽查）；全区全部单位抽查不低于 {sc.region_over_all:.0%}"
        f"（{short_label(levels['region'].label)}抽查）。抽取数 = 比例 × 单位数，{rounding}。",
        "方法：在每个范围内，把单位按统一社会信用代码排好顺序，用上面的随机种子随机抽取，每个范围用同一个种子。"
        "同样的单位和种子总是抽到同样的单位：管理部门可用同一个种子重做这份名单。",
        "抽查总体：回收目录中已汇总的全部单位（同一单位多次报送只算一次；含有错误、未纳入评审包的单位也在内）。",
    ]
