"""A review pack written in parts (`jieyue review-pack --split`) is one authority's review: its parts are grouped
by the pack id their `_meta` records, and a part that did not come back (or was rejected) is named.

The scorecards of every part are scored like any pack's (`reviews.score_reviews`: one scorecard per unit and level,
CARD_RULE), so the parts need nothing else to count together; what this adds is the account of the pack as a
whole — `review_packs(run)` for the report, and R609 on each part received while another is missing.
"""
from __future__ import annotations

from typing import Any

from udfs.intake import Finding
from udfs.levels import reviewer_label
from workbook_templates import Spec

from .model import CONSOLIDATED, REVIEW, ConsolidationRun, FileOutcome

MAX_PARTS = 10_000
"""No pack has more parts than scorecards (`read.pack_limits.PACK_MAX_SCORECARDS`): a larger count is not one."""
NAMED = 20
"""Missing parts named in a finding; more are counted."""


def review_packs(run: ConsolidationRun, spec: Spec) -> list[dict[str, Any]]:
    """Every review pack of the run that records its parts, by pack id: its reviewer and region, the number of
    parts, each part received (used or rejected, with its file) and the part numbers not received."""
    out = []
    for pack_id, files in _by_pack(run).items():
        first = files[0].meta
        count = max(_whole(f.meta.get("pack_parts")) or 1 for f in files)
        parts = sorted(({"part": _whole(f.meta.get("pack_part")), "label": _text(f.meta.get("pack_part_label")),
                         "file": f.path, "used": f.status == CONSOLIDATED} for f in files),
                       key=lambda p: (p["part"] or 0, p["file"]))
        used = {p["part"] for p in parts if p["used"]}
        level = _text(first.get("review_level"))
        out.append({"pack_id": pack_id, "reviewer": level, "reviewer_label": reviewer_label(level, spec),
                    "region": _text(first.get("review_region")), "parts": count, "received": parts,
                    "missing": [n for n in range(1, count + 1) if n not in used]})
    return out


def flag_missing_parts(run: ConsolidationRun, spec: Spec) -> None:
    """R609 (警告) on every part used of a pack whose other parts did not all come back, or were rejected: which
    parts are missing; their units are 未收到 until they are returned."""
    for pack in review_packs(run, spec):
        if not pack["missing"] or pack["parts"] < 2:
            continue
        missing = "、".join(f"第 {n} 部分" for n in pack["missing"][:NAMED])
        if len(pack["missing"]) > NAMED:
            missing += f" 等 {len(pack['missing'])} 个部分"
        rejected = "、".join(f"「{p['file']}」" for p in pack["received"] if not p["used"])
        if rejected:
            missing += f"（本评审包的{rejected}已拒收，见该文件的问题）"
        who = pack["reviewer_label"].removesuffix("评分")
        for part in pack["received"]:
            if not part["used"]:
                continue
            which = f"第 {part['part']} 部分" if part["part"] else "一部分"
            outcome = next(f for f in run.packs if f.path == part["file"])
            outcome.findings.append(Finding(
                "R609", f"本文件是{who}的评审包（编号 {pack['pack_id']}，共 {pack['parts']} 部分）的{which}；缺少{missing}："
                        "这些部分中的单位暂列「未收到」，请评审部门交回评审包的全部工作簿（jieyue review-pack --split 生成的 "
                        "…_01_…、…_02_… 等文件）后重新汇总", "pack_part"))


def _by_pack(run: ConsolidationRun) -> dict[str, list[FileOutcome]]:
    packs: dict[str, list[FileOutcome]] = {}
    for f in run.files:
        pack_id = _text(f.meta.get("pack_id")) if f.kind == REVIEW else ""
        if pack_id:
            packs.setdefault(pack_id, []).append(f)
    return packs


def _whole(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and 0 < value <= MAX_PARTS else None


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


__all__ = ["review_packs", "flag_missing_parts"]
