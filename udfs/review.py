"""评审规则：评审包中每项指标的计入得分、单元小计与评审总分、各级评审部门评审哪些单位、抽查名单。

Plain functions of plain values, no Excel and no files. The review pack's formulas (`generator/review_layout.py`)
mirror them cell for cell, and the LibreOffice test compares the two; a consolidation reader can recompute a
returned pack with them.

Rules (seed deck PART 03; every number from the spec):
- An indicator scored by choice (fixed, per_item, per_occurrence, tiered, alternatives) counts the reviewer's
  score when it is one of the rule's legal values (`udfs.scoring.legal_values`; alternatives: either path).
- `deduction` (实地验收，每存在1处扣x分): the reviewer enters 发现问题处数; the item scores
  points − step × 处数, never below 0. `per_item_with_deduction`: the reviewer chooses the award (a multiple
  of the step up to the points) and enters 处数; the item scores award − deduction_step × 处数, never below 0.
  处数 must be a whole number ≥ 0; a blank 处数 is *not yet reviewed* (no finding is entered as 0).
- Unit 1 (computed_target) is the decline score recomputed from the unit's data, locked.
- A unit subtotal and the total are sums of counted item scores, ROUNDed as the spec says — but only when every
  item of the unit (or of the whole standard) counts; otherwise they are the text 「尚有N项未评分」, never a
  partial sum that looks like a total.
- Who reviews what: reviewers are ordered as in assessment.toml [reviewer.*] (县市区, 地州市, 自治区); a
  reviewer reviews the units of its own level and of every level before it: 县市区 → 县市区级; 地州市 →
  县市区级 and 地州市级; 自治区 → all. `--region` limits any of them to one 地区.
- Spot checks: per 地区, ceil(prefecture_over_county × the 县市区级 units); region-wide, ceil(region_over_all ×
  all units); each sample is `udfs.ranking.spot_check_sample` with the same seed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Iterable, Mapping

from workbook_templates import Spec, load_spec
from workbook_templates.model import Indicator
from workbook_templates.review_names import (findings_name, given_name, missing_name, score_name, total_name,
                                             unit_score_name)

from .numbers import as_number, round_excel
from .ranking import spot_check_sample
from .scoring import counted_score, legal_values

STATUS_SCORE = "请评分"
STATUS_FINDINGS = "请填写发现问题处数（没有问题填0）"
STATUS_RULE = "分值不符合评分规则，请从下拉列表选择"
STATUS_FINDINGS_BAD = "处数应为不小于0的整数"
STATUS_RECOMPUTED = "按单位填报的数据重算，已锁定"
STATUS_NO_DATA = "数据不全，无法计分：请单位补全两个年度的能耗数据后重新交回"

DEDUCTING = ("deduction", "per_item_with_deduction")
"""Rule types whose item score is computed from 发现问题处数."""


MISSING_TEXT = ("尚有", "项未评分")
"""「尚有N项未评分」 around the count: the workbook joins the same two parts with the count (`&`)."""


def missing_text(count: int) -> str:
    """「尚有N项未评分」: what a subtotal or total shows while N items do not count yet."""
    return f"{MISSING_TEXT[0]}{count}{MISSING_TEXT[1]}"


# ---------------------------------------------------------------- who reviews what

@dataclass(frozen=True)
class Reviewer:
    key: str                    # county | prefecture | region (assessment.toml [reviewer.*])
    label: str                  # 县市区机关事务管理部门评分
    level: str                  # the unit level of the same key: 县市区级
    short: str                  # the level label without 本级 / 级: 县市区 (what `--level` takes)
    covers: tuple[str, ...]     # labels of the unit levels it reviews


def _short(level_label: str) -> str:
    return level_label.removesuffix("本级").removesuffix("级")


def reviewers(spec: Spec | None = None) -> list[Reviewer]:
    """The reviewing authorities in assessment.toml order, each with the unit levels it reviews."""
    spec = spec or load_spec()
    levels = spec.assessment.levels
    order = list(levels)
    out = []
    for key, label in spec.assessment.reviewers.items():
        if key not in levels:
            raise KeyError(f"assessment.toml：评审部门「{key}」没有同名的单位层级 [level.{key}]，无法确定其评审范围")
        below = order[:order.index(key) + 1]
        out.append(Reviewer(key, label, levels[key].label, _short(levels[key].label),
                            tuple(levels[k].label for k in below)))
    return out


def reviewer_of(name: str, spec: Spec | None = None) -> Reviewer:
    """评审部门：可写 县市区 / 地州市 / 自治区（层级名称去掉「级」「本级」）、单位层级名称、评审部门名称或
    county / prefecture / region。无法识别时报错并列出可选值。"""
    text = str(name or "").strip()
    found = reviewers(spec)
    for r in found:
        if text in (r.key, r.label, r.level, r.short):
            return r
    raise KeyError(f"无法识别的评审层级「{name}」：请写 {'、'.join(r.short for r in found)} 之一")


def _level_label(level: Any, spec: Spec) -> str | None:
    text = level.strip() if isinstance(level, str) else None
    for lv in spec.assessment.levels.values():
        if text in (lv.key, lv.label):
            return lv.label
    return None


def covers(reviewer: Reviewer, unit_level: Any, unit_region: Any = None, region: str | None = None,
           spec: Spec | None = None) -> bool:
    """该评审部门是否评审这个单位：单位层级在其评审范围内，且（指定地区时）所属地区相同。"""
    spec = spec or load_spec()
    label = _level_label(unit_level, spec)
    if label is None or label not in reviewer.covers:
        return False
    if region:
        return isinstance(unit_region, str) and unit_region.strip() == region.strip()
    return True


# ---------------------------------------------------------------- one indicator

def findings_count(value: Any) -> float | None:
    """发现问题处数：不小于0的整数才有效；空白、文字、负数、小数为空（None）。"""
    x = as_number(value)
    if x is None or x < 0 or round_excel(x, 0) != x:
        return None
    return x


def award_values(indicator: Indicator) -> tuple[float, ...]:
    """per_item_with_deduction 的奖励分可选值：0 到满分，步长为每项分值（3.3.1：0、1.5、3、4.5、6）。"""
    step, top = Fraction(str(indicator.rule.step)), Fraction(str(indicator.points))
    return tuple(float(step * k) for k in range(int(top / step) + 1))


def given_values(indicator: Indicator) -> tuple[float, ...]:
    """评审人可选的分值：per_item_with_deduction 为奖励分，其余为评分规则允许的分值（第七单元两条路径的并集）；
    deduction（只填处数）和第一单元（重算）没有可选分值。"""
    rule = indicator.rule.type
    if rule in ("computed_target", "deduction"):
        return ()
    if rule == "per_item_with_deduction":
        return award_values(indicator)
    return legal_values(indicator)


def _chosen(value: Any, allowed: tuple[float, ...]) -> float | None:
    """The value if a worksheet would find it in the list (ISNUMBER, then an exact COUNTIF match)."""
    x = as_number(value)
    return x if x is not None and x in allowed else None


def item_score(indicator: Indicator, given: Any = None, findings: Any = None, recomputed: Any = None,
               spec: Spec | None = None) -> float | None:
    """一项指标的评审计入得分；未评或不合规时为空（None）。

    deduction：满分 − 每处扣分 × 处数（3.2.2：1.5 − 0.5 × 2 = 0.5；处数 ≥ 3 时为 0）。
    per_item_with_deduction：奖励分 − 每处扣分 × 处数，不低于 0（3.3.1：4.5 − 1.5 × 1 = 3）。
    第一单元：按单位数据重算的得分（recomputed）。其余：所选分值为规则允许的分值时计入。
    """
    spec = spec or load_spec()
    rule = indicator.rule
    digits = spec.precision.score
    if rule.type == "computed_target":
        return _chosen(recomputed, legal_values(indicator))
    if rule.type == "deduction":
        n = findings_count(findings)
        if n is None:
            return None
        # Compare before multiplying, as the formula does: a huge 处数 never overflows.
        return 0.0 if n >= indicator.points / rule.step else round_excel(indicator.points - rule.step * n, digits)
    if rule.type == "per_item_with_deduction":
        award, n = _chosen(given, award_values(indicator)), findings_count(findings)
        if award is None or n is None:
            return None
        step = rule.deduction_step
        return 0.0 if n >= award / step else round_excel(award - step * n, digits)
    return counted_score(indicator, given, None, spec)


def _blank(value: Any) -> bool:
    """An empty cell (ISBLANK): None only — a space or an empty text is something typed."""
    return value is None


def item_status(indicator: Indicator, given: Any = None, findings: Any = None, recomputed: Any = None,
                spec: Spec | None = None) -> str:
    """一项指标的「提示」：缺什么或哪里不合规（请评分、请填写发现问题处数……），已计分时为空文本。"""
    rule = indicator.rule.type
    if rule == "computed_target":
        return STATUS_RECOMPUTED if item_score(indicator, recomputed=recomputed, spec=spec) is not None \
            else STATUS_NO_DATA
    counted = item_score(indicator, given, findings, recomputed, spec) is not None
    if rule == "deduction":
        return STATUS_FINDINGS if _blank(findings) else "" if counted else STATUS_FINDINGS_BAD
    if _blank(given):
        return STATUS_SCORE
    if rule == "per_item_with_deduction":
        if _blank(findings):
            return STATUS_FINDINGS
        if counted:
            return ""
        return STATUS_FINDINGS_BAD if _chosen(given, award_values(indicator)) is not None else STATUS_RULE
    return "" if counted else STATUS_RULE


# ---------------------------------------------------------------- a whole scorecard

@dataclass
class ScoreCard:
    """One unit's review: item scores and 提示 by indicator id, subtotals by unit id, total, missing count.

    A subtotal or the total is a number only when every item under it counts, else 「尚有N项未评分」."""

    items: dict[str, float | None] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)
    units: dict[str, float | str] = field(default_factory=dict)
    total: float | str = ""
    missing: int = 0


def score_card(given: Mapping[str, Any] | None = None, findings: Mapping[str, Any] | None = None,
               recomputed: Mapping[str, Any] | None = None, spec: Spec | None = None) -> ScoreCard:
    """评分表的全部计算结果：given（评审给分 / 奖励分）、findings（处数）按指标编号，recomputed 为第一单元重算得分。

    单元小计与总分只在其下每项都已计分时为数字（按规格位数 ROUND），否则为「尚有N项未评分」。"""
    spec = spec or load_spec()
    given, findings, recomputed = given or {}, findings or {}, recomputed or {}
    card = ScoreCard()
    digits = spec.precision.score
    for unit in spec.units:
        scores = []
        for ind in unit.indicators:
            args = (ind, given.get(ind.id), findings.get(ind.id), recomputed.get(ind.id), spec)
            card.items[ind.id] = item_score(*args)
            card.status[ind.id] = item_status(*args)
            scores.append(card.items[ind.id])
        missing = sum(s is None for s in scores)
        card.missing += missing
        card.units[unit.id] = (round_excel(sum(s for s in scores if s is not None), digits) if not missing
                               else missing_text(missing))
    card.total = (round_excel(sum(card.units[u.id] for u in spec.units), digits) if not card.missing
                  else missing_text(card.missing))
    return card


def review_values(level: str, card: ScoreCard, spec: Spec | None = None) -> dict[str, Any]:
    """A scorecard's derived names (workbook_templates.review_names) → values: what the pack's formulas show."""
    spec = spec or load_spec()
    out: dict[str, Any] = {score_name(level, i): v for i, v in card.items.items()}
    out.update({unit_score_name(level, u): v for u, v in card.units.items()})
    out[total_name(level)] = card.total
    out[missing_name(level)] = card.missing
    return out


def entries_by_id(level: str, inputs: Mapping[str, Any], spec: Spec | None = None
                  ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Inputs keyed by contract name (rev_county_given_2_1_1, rev_county_findings_3_2_2) → (given, findings)
    keyed by indicator id, as `score_card` takes them."""
    spec = spec or load_spec()
    given = {i.id: inputs.get(given_name(level, i.id)) for i in spec.indicators}
    findings = {i.id: inputs.get(findings_name(level, i.id)) for i in spec.indicators}
    return given, findings


# ---------------------------------------------------------------- spot checks

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


def spot_check_groups(units: Iterable[Mapping[str, Any]], seed: int | str,
                      spec: Spec | None = None) -> list[SpotCheckGroup]:
    """抽查名单：每个地区的县市区级单位按 prefecture_over_county 的比例、全区全部单位按 region_over_all 的比例，
    向上取整，用 udfs.ranking.spot_check_sample 以同一个种子抽取。同样的单位与种子总得到同样的名单。

    `units` are mappings with `code`, `level` (label or key) and `region`. Lists come per 地区 in text order,
    then the region-wide list; a 地区 without county-level units has no list.
    """
    spec = spec or load_spec()
    sc = spec.assessment.spot_check
    levels = spec.assessment.levels
    county = levels["county"].label
    by_prefecture, by_region = f"{_short(levels['prefecture'].label)}抽查", f"{_short(levels['region'].label)}抽查"
    counties: dict[str, set[str]] = {}
    everyone: set[str] = set()
    for u in units:
        code = str(u["code"])
        everyone.add(code)
        if _level_label(u.get("level"), spec) == county:
            region = str(u.get("region") or "").strip() or "（未填地区）"
            counties.setdefault(region, set()).add(code)
    groups = []
    for region in sorted(counties):
        population = tuple(sorted(counties[region]))
        sample = spot_check_sample(population, sc.prefecture_over_county, seed, spec=spec)
        groups.append(SpotCheckGroup("prefecture_over_county", f"{region} {county}单位（{by_prefecture}）",
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


ROUNDING_WORDS = {"ceil": "向上取整", "floor": "向下取整", "round": "四舍五入"}


def spot_check_method(seed: int | str | None, spec: Spec | None = None) -> list[str]:
    """The spot-check method in words, with the seed and the spec's ratios: printed wherever a sample is shown,
    so that anyone can draw the same lists again."""
    spec = spec or load_spec()
    sc = spec.assessment.spot_check
    levels = spec.assessment.levels
    county = levels["county"].label
    rounding = ROUNDING_WORDS.get(sc.rounding, sc.rounding)
    return [
        f"随机种子：{seed}" if seed is not None else "未指定随机种子：没有抽查名单",
        f"比例（规格 assessment.toml [spot_check]）：各地区的{county}单位抽查不低于 {sc.prefecture_over_county:.0%}"
        f"（{_short(levels['prefecture'].label)}抽查）；全区全部单位抽查不低于 {sc.region_over_all:.0%}"
        f"（{_short(levels['region'].label)}抽查）。抽取数 = 比例 × 单位数，{rounding}。",
        "方法：把一个范围内单位的统一社会信用代码去重后按字符顺序排序（数字在字母之前，如 Python 的 sorted），用 Python 标准库 "
        f"random.Random(\"{seed if seed is not None else '种子'}\").sample(代码列表, 抽取数) 抽取，结果按代码排序"
        "（jieyue 的 udfs.ranking.spot_check_sample）；每个范围都用同一个种子。同样的单位和种子总是得到同样的名单。",
        "抽查总体：回收目录中已汇总的全部单位（同一单位多次报送只算一次；含有错误、未纳入评审包的单位也在内）。",
    ]
