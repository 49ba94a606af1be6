"""The data contract: every input and derived figure has one name.

The same name is the workbook's defined name, the key of `udfs.evaluate`'s result, and the summary column.
Names are derived from the spec (energy items, intensities, indicators), so adding a row to the spec adds its
names everywhere at once. Names listed here may be added to, never renamed.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable

from .contract import META_NAMES, UNIT_NAMES
from .load import SpecError
from .model import SLOTS, Spec

EVIDENCE_PREFIX = "evid_"
"""An indicator's list of 佐证材料 files: evid_2_1_1 (`udfs.evidence.evidence_name`)."""

SLOT_MEANING = {"prev": "上一数据年度（复验年度−2）", "cur": "本数据年度（复验年度−1）"}

_MEANING = {
    "unit_name": ("单位名称", ""),
    "unit_code": ("统一社会信用代码", ""),
    "unit_level": ("单位层级（县市区级 / 地州市级 / 自治区本级）", ""),
    "unit_region": ("所属地区", ""),
    "template_version": ("模板版本", ""),
    "assessment_year": ("复验年度", "年"),
    "factor_preset": ("系数预设", ""),
    "spec_digest": ("规格摘要（SHA-256，生成工作簿时的规格）", ""),
    "signature": ("签名（HMAC-SHA256，按名单生成时用管理员的密钥对单位信息、模板版本、系数预设和复验年度签名；空：未签名）", ""),
    "grid_factor": ("电力碳排放因子（生成工作簿时所选）", ""),
    "calc_switches": ("口径开关（生成工作簿时所选，如 building_energy=all_vehicle_fuel;co2_per_area=all_co2）", ""),
    "standard_version": ("评价标准版本（生成工作簿时所选）", ""),
    "contact_name": ("联系人", ""),
    "contact_phone": ("联系电话", ""),
    "fill_date": ("填报日期", ""),
}
META = tuple((n, *_MEANING[n]) for n in (*UNIT_NAMES, *META_NAMES, "contact_name", "contact_phone", "fill_date"))
"""(name, meaning, unit) of the names that are not figures: the unit's identity, the `_meta` names, the contact."""


@dataclass(frozen=True)
class ContractName:
    name: str
    meaning: str
    unit: str
    kind: str      # meta | input | derived | decline | score-input | score-derived | evidence
    sheet: str = ""
    cell: str = ""


def slot_figures(spec: Spec) -> list[tuple[str, str, str]]:
    """The derived figures of one data year: (name without slot prefix, meaning, unit)."""
    rows = []
    for item in spec.factor_items:
        label = item.label.replace("其中：", f"其中（{spec.item(item.parent).label}）：") if item.parent else item.label
        rows.append((f"{item.key}_kgce", f"{label} 折标准煤", "千克标准煤"))
        rows.append((f"{item.key}_co2_t", f"{label} 碳排放量", "吨"))
    rows += [
        ("total_kgce", "综合能耗（单能耗）合计", "千克标准煤"),
        ("co2_t", "碳排放量合计", "吨"),
        ("vehicle_fuel_kgce", "车辆用油折标准煤（按建筑能耗口径开关扣除的部分）", "千克标准煤"),
        ("vehicle_fuel_co2_t", "车辆用油碳排放量（同上口径）", "吨"),
        ("building_kgce", "建筑能耗（综合能耗 − 车辆用油）", "千克标准煤"),
        ("area_co2_t", "计入单位建筑面积碳排放的碳排放量（按碳排放口径开关）", "吨"),
    ]
    rows += [(i.key, i.label, i.unit) for i in spec.intensities]
    return rows


def contract_names(spec: Spec) -> list[ContractName]:
    """Every contract name, in workbook order: meta, both data years, decline, scores."""
    names = [ContractName(n, m, u, "meta") for n, m, u in META]
    for slot in SLOTS:
        when = SLOT_MEANING[slot]
        for item in spec.items:
            names.append(ContractName(f"{slot}_{item.name}", f"{when} {item.label}", item.unit, "input"))
        for n, m, u in slot_figures(spec):
            names.append(ContractName(f"{slot}_{n}", f"{when} {m}", u, "derived"))
    for i in spec.decline_intensities:
        names.append(ContractName(f"chg_{i.key}", f"{i.decline_label} 变化率（本年较上年）", "%", "decline"))
        names.append(ContractName(f"target_{i.key}", f"{i.decline_label} 目标变化率（不高于）", "%", "decline"))
        names.append(ContractName(f"ok_{i.key}", f"{i.decline_label} 是否完成目标", "是/否", "decline"))
    for ind in spec.indicators:
        if ind.rule.type == "alternatives":
            names.append(ContractName(ind.rule.selector, f"{ind.id} {ind.rule.selector_label}", "是/否", "input"))
    for ind in spec.indicators:
        kind = "derived" if ind.rule.type == "computed_target" else "input"
        names.append(ContractName(ind.score_name, f"自评分 {ind.id}", "分", f"score-{kind}"))
    for ind in spec.indicators:      # 佐证材料 (issue 13): text, listed beside each score the unit chooses
        if ind.rule.type != "computed_target":
            names.append(ContractName(EVIDENCE_PREFIX + ind.id.replace(".", "_"),
                                      f"佐证材料 {ind.id}（文件名，用「；」分隔）", "", "evidence"))
    for unit in spec.units:
        names.append(ContractName(unit.score_name, f"自评分 第{unit.id}单元 {unit.name}", "分", "score-derived"))
    names += [
        ContractName("self_total", "自评总分", "分", "score-derived"),
        ContractName("self_missing_count", "尚未评分（或分值不合规）的指标数", "项", "score-derived"),
        ContractName("self_pass", f"自评总分是否达到{spec.assessment.pass_line:g}分", "是/否", "score-derived"),
    ]
    # e.g. an energy row keyed "area" with a factor would make <slot>_area_co2_t mean two things.
    check_unique((n.name for n in names), "energy.toml", "item", "数据约定名称", "请改用不同的 key")
    return names


def check_unique(names: Iterable[str], file: str, key: str, what: str, fix: str) -> None:
    """Raise SpecError (naming `file` and `key`) when a name occurs more than once: every name of a contract
    must mean one thing. `what` names the contract (数据约定名称, 评审包名称), `fix` says what to change."""
    clashes = sorted(name for name, count in Counter(names).items() if count > 1)
    if clashes:
        raise SpecError(file, key, f"{what}重复：{'、'.join(clashes)}（{fix}）")
