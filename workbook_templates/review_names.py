"""The review pack's data contract: every cell a reader needs has one defined name.

A review pack (`jieyue review-pack`) holds one scorecard sheet per unit. The names on a scorecard are
*sheet-local* (Excel's localSheetId): every scorecard carries the same names, each pointing at its own cells, so
a reader opens each sheet, reads `rev_unit_code` to know which unit it is, then `rev_<level>_…` for the scores.
`<level>` is the reviewer's key in assessment.toml `[reviewer.*]` (county / prefecture / region), also written
to `_meta` as `review_level`. The `_meta` names are workbook-scoped, as in the fill-in workbook.

Names are derived from the spec (indicator ids, units), so a new indicator adds its names everywhere at once.
Names listed here may be added to, never renamed.
"""
from __future__ import annotations

from dataclasses import dataclass

from .contract import REVIEW_META_NAMES, SCORECARD_KEY, WORKBOOK_KIND
from .load import SpecError
from .model import Spec
from .names import check_unique

_META_MEANING = {
    "template_version": ("评审包模板版本", ""),
    "workbook_kind": (f"工作簿类型（评审包为 {WORKBOOK_KIND}）", ""),
    "review_level": ("评审部门层级（county / prefecture / region，见 assessment.toml [reviewer.*]）", ""),
    "review_region": ("评审范围限定的地区（空：未限定）", ""),
    "assessment_year": ("复验年度", "年"),
    "factor_preset": ("重算第一单元所用的系数预设", ""),
    "spec_digest": ("规格摘要（SHA-256，生成评审包时的规格）", ""),
    "spot_check_seed": ("抽查名单的随机种子（空：未标注抽查）", ""),
    "signature": ("签名（HMAC-SHA256，用管理员的密钥对评审包层级、地区、复验年度、模板版本、全部评分表（单位代码与工作表名）和分册信息（评审包编号、第几部分、共几部分）签名；"
                  "空：未签名）", ""),
    "scorecard_count": ("评审包中评分表的张数（读取时据此核定文件大小上限，并与实际的评分表核对）", "张"),
    "pack_id": ("评审包编号：分成几个工作簿（--split）时各部分相同", ""),
    "pack_part": ("本工作簿是评审包的第几部分（从 1 起）", ""),
    "pack_parts": ("评审包共分几部分（未分开时为 1）", ""),
    "pack_part_label": ("本部分包括的范围（地州市名称，或「单位1-500」：在评审包中的序号；未分开时为空）", ""),
}
META = tuple((n, *_META_MEANING[n]) for n in REVIEW_META_NAMES)
"""(name, meaning, unit) of the review pack's `_meta` names, in row order (`contract.REVIEW_META_NAMES`)."""

UNIT = (
    ("rev_unit_name", "单位名称（来自单位交回的工作簿）", "", "unit"),
    (SCORECARD_KEY, "统一社会信用代码（来自单位交回的工作簿）：读取者据此识别本评分表是哪个单位", "", "unit"),
    ("rev_unit_level", "单位层级", "", "unit"),
    ("rev_unit_region", "所属地区", "", "unit"),
    ("rev_self_total", "自评总分（按单位数据重算）", "分", "unit"),
    ("rev_reviewer", "评审人", "", "input"),
    ("rev_date", "评审日期", "", "input"),
)


def indicator_key(indicator_id: str) -> str:
    """「3.2.2」→「3_2_2」: the indicator id as it appears inside a name."""
    return indicator_id.replace(".", "_")


def score_name(level: str, indicator_id: str) -> str:
    """The reviewer's item score as it counts (a formula; unit 1: the recomputed score): rev_county_3_2_2."""
    return f"rev_{level}_{indicator_key(indicator_id)}"


def given_name(level: str, indicator_id: str) -> str:
    """The score (or, with per-finding deductions, the award) the reviewer chose: rev_county_given_2_1_1."""
    return f"rev_{level}_given_{indicator_key(indicator_id)}"


def findings_name(level: str, indicator_id: str) -> str:
    """发现问题处数 of a field-checked indicator with per-finding deductions: rev_county_findings_3_2_2."""
    return f"rev_{level}_findings_{indicator_key(indicator_id)}"


def unit_score_name(level: str, unit_id: str) -> str:
    """The reviewer's subtotal of one 评价单元: rev_county_unit_3."""
    return f"rev_{level}_unit_{unit_id}"


def total_name(level: str) -> str:
    return f"rev_{level}_total"


def missing_name(level: str) -> str:
    return f"rev_{level}_missing_count"


@dataclass(frozen=True)
class ReviewName:
    name: str
    meaning: str
    unit: str
    kind: str      # meta | unit | input | derived | fixed
    scope: str     # workbook (on _meta) | scorecard (sheet-local, on every unit's scorecard)


def review_names(spec: Spec, level: str) -> list[ReviewName]:
    """Every name of a review pack for reviewer `level` (a key of assessment.toml [reviewer.*]), in sheet order:
    the `_meta` names, then the names every scorecard carries."""
    if level not in spec.assessment.reviewers:
        raise SpecError("assessment.toml", "reviewer", f"没有评审部门「{level}」，可选：{'、'.join(spec.assessment.reviewers)}")
    who = spec.assessment.reviewers[level]
    names = [ReviewName(n, m, u, "meta", "workbook") for n, m, u in META]
    names += [ReviewName(n, m, u, k, "scorecard") for n, m, u, k in UNIT]
    for ind in spec.indicators:
        rule = ind.rule.type
        if rule == "computed_target":
            names.append(ReviewName(score_name(level, ind.id), f"{who} {ind.id}（按单位数据重算下降率，已锁定）",
                                    "分", "fixed", "scorecard"))
            continue
        if rule != "deduction":
            meaning = "奖励分（未扣处数前）" if rule == "per_item_with_deduction" else "评审给分（所选分值）"
            names.append(ReviewName(given_name(level, ind.id), f"{who} {ind.id} {meaning}", "分", "input", "scorecard"))
        if rule in ("deduction", "per_item_with_deduction"):
            names.append(ReviewName(findings_name(level, ind.id), f"{who} {ind.id} 实地验收发现问题处数",
                                    ind.rule.per or "处", "input", "scorecard"))
        names.append(ReviewName(score_name(level, ind.id), f"{who} {ind.id} 计入得分（不合规或未评为空）", "分",
                                "derived", "scorecard"))
    for unit in spec.units:
        names.append(ReviewName(unit_score_name(level, unit.id), f"{who} 第{unit.id}单元 {unit.name} 小计"
                                "（有未评分的指标时为「尚有N项未评分」）", "分", "derived", "scorecard"))
    names += [
        ReviewName(total_name(level), f"{who} 总分（有未评分的指标时为「尚有N项未评分」）", "分", "derived", "scorecard"),
        ReviewName(missing_name(level), f"{who} 尚未评分（或分值、处数不合规）的指标数", "项", "derived", "scorecard"),
    ]
    check_unique((n.name for n in names), "standard.toml", "indicator", "评审包名称", "请检查指标编号")
    return names
