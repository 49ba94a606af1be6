"""The summary's 佐证材料 sheet: one row per unit from the report's `evidence` (`evidence.index_evidence`) — where its
files are, how many indicators it scored and listed evidence for, the files handed in, and each kind of finding —
with what to correct in words. Rendered with the summary's `_Book`, as one big table.
"""
from __future__ import annotations

import json
from typing import Any, Iterator

from udfs.evidence import BAD_ZIP, KINDS, MISSING, NO_EVIDENCE, NOT_FILE, OTHER_TYPE, OVERSIZE, REFUSED, UNLISTED

from .packed import unpack

SHEET = "佐证材料"
COLUMNS = (("unit_name", "单位名称", 20, "wrap"), ("unit_code", "统一社会信用代码", 20, "text"),
           ("unit_region", "所属地区", 10, "wrap"), ("location", "佐证材料位置", 26, "wrap"),
           ("scored", "自评得分的指标", 8, "count"), ("with_evidence", "其中列有佐证材料", 8, "count"),
           ("files", "交回的文件", 7, "count"), (NO_EVIDENCE, "得分未列材料", 7, "count"),
           (MISSING, "列出未找到", 7, "count"), (UNLISTED, "未列出的文件", 7, "count"),
           ("refused_or_type", "类型不允许", 7, "count"), (OVERSIZE, "过大", 6, "count"),
           ("details", "问题说明", 50, "wrap"))
DETAILS_SHOWN = 8
"""Findings spelled out in one cell; the JSON report lists them all."""


def finding_details(u: dict[str, Any]) -> str | None:
    """The 问题说明 of a unit's entry: where its files should be if none were found, a zip's problem, the first
    `DETAILS_SHOWN` findings in words and how many more the JSON report lists."""
    parts = []
    if u["source"] is None:
        parts.append("没有找到佐证材料文件夹或压缩包（应放在工作簿旁，名为「统一社会信用代码_佐证材料」）")
    if u.get("zip_problem"):
        parts.append(u["zip_problem"])
    for x in [x for x in u["findings"] if x["kind"] != BAD_ZIP][:DETAILS_SHOWN]:
        where = "、".join(w for w in (x["indicator"] and f"指标 {x['indicator']}", x["file"] and f"「{x['file']}」") if w)
        parts.append(f"{KINDS[x['kind']]}：{where}" if where else KINDS[x["kind"]])
    rest = len([x for x in u["findings"] if x["kind"] != BAD_ZIP]) - DETAILS_SHOWN
    if rest > 0:
        parts.append(f"另有 {rest} 项（见 JSON 报告的 evidence）")
    return "；".join(parts) or None


def evidence_row(u: dict[str, Any]) -> list[Any]:
    """The sheet's row of one unit's entry (`evidence.index_unit`): made when the unit is indexed and held packed
    with it (`evidence.PackedEntry`), as the entry itself is."""
    return explained_row(u, finding_details(u))


def explained_row(u: dict[str, Any], details: str | None) -> list[Any]:
    """`evidence_row` with the 问题说明 of `u` already written (`finding_details`): units whose findings are alike share it
    (`evidence.Unlisted`)."""
    c = u["counts"]
    values = {**u, "files": len(u["files"]), "refused_or_type": c[REFUSED] + c[OTHER_TYPE] + c[NOT_FILE],
              "location": u["location"] or "未交回", "details": details, **c}
    return [values[k] if values[k] != 0 or k in ("scored", "with_evidence", "files") else None
            for k, _, _, _ in COLUMNS]


def evidence_rows(section: dict[str, Any]) -> Iterator[list[Any]]:
    """The sheet's row of each unit of the report's `evidence` section, in its order, one at a time."""
    for u in section["units"]:
        yield json.loads(unpack(u.row, u.dictionary))


def render_evidence(b: Any, data: dict[str, Any]) -> None:
    """Fill the 佐证材料 sheet of the summary book `b` from `data["evidence"]`."""
    ws = b.sheets[SHEET]
    count = len(data["evidence"]["units"])
    b.big_table(ws, [c[1] for c in COLUMNS], [c[2] for c in COLUMNS], [c[3] for c in COLUMNS],
                evidence_rows(data["evidence"]), "没有参与汇总的单位", count)
    if count:
        for k in (MISSING, UNLISTED, "refused_or_type", OVERSIZE, NO_EVIDENCE):
            col = [c[0] for c in COLUMNS].index(k)
            ws.conditional_format(1, col, count, col, {"type": "cell", "criteria": ">", "value": 0,
                                                          "format": b.f["red"]})
    b.print_setup(ws, len(COLUMNS) - 1, title_rows=(0, 0))


__all__ = ["render_evidence", "evidence_row", "explained_row", "finding_details", "evidence_rows", "SHEET", "COLUMNS"]
