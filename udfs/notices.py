"""复验结果通知与公示名单的规则 — plain functions of the JSON report's entries (`review_results`, `unit_indicators`).

Rules:
- A unit's result (`result_of`), from its 评审结果 entry, first that applies:
  拟摘牌 (ranked and marked for removal) → 不达标 (composite below the pass line, or a gate missed) → 达标 →
  未完成复验 / 未完成创建 (the final consolidation, not completed) → 待评审 (no result yet: not returned, an error to
  correct, or a reviewer's score still missing). Every unit gets exactly one.
- The publication lists (`PUBLISHED`) are 达标, 不达标 and 拟摘牌: a unit is on the list of its result and on no
  other — a unit both below the pass line and 拟摘牌 is listed once, under 拟摘牌. Each list is sorted by 所属地区,
  then 单位名称, then 统一社会信用代码 (`list_order`).
- What is outstanding (`outstanding`) for a unit without a result: its workbook (未报送), the errors to correct
  (有错误), or each reviewer its composite waits for, with that reviewer's progress (未收到 / 未评完 N 项 / 未填写).
- The basis of a unit's indicator comparison (`basis_of`): the scores of the highest authority (in the spec's
  order of reviewers) whose scorecard for the unit is complete and counts in its composite — the 自治区 where its
  re-check replaced the 地州市 score —, else the unit's own self scores.
- Its weakest indicators (`weakest`): among the indicators where the unit lost points, those whose score rate is
  furthest below the average rate of all units on the same basis (评审 or 自评), at most three; ties: the more
  points lost first, then the spec's order.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from .results import INCOMPLETE, INCOMPLETE_CREATION, NOT_RANKED, NOT_RETURNED, REVIEWED, WAITING

PASSED, FAILED, ELIMINATED = "达标", "不达标", "拟摘牌"
PUBLISHED = (PASSED, FAILED, ELIMINATED)
"""The results published as lists, in the order of the sheets of 公示名单."""
RESULTS = (PASSED, FAILED, ELIMINATED, INCOMPLETE, INCOMPLETE_CREATION, WAITING)
"""Every result a notice can state."""

SELF = "self"
WEAKEST_SHOWN = 3


def result_of(entry: Mapping[str, Any]) -> str:
    """The result stated on a unit's notice (one of `RESULTS`), from its `review_results` entry."""
    state = entry.get("state")
    if state == REVIEWED:
        if entry.get("eliminated"):
            return ELIMINATED
        if entry.get("pass") is False:
            return FAILED
        if entry.get("pass") is True:
            return PASSED
        return WAITING                  # a composite without a pass verdict: nothing to state yet
    if state in (INCOMPLETE, INCOMPLETE_CREATION):
        return state
    return WAITING


def published_list(entry: Mapping[str, Any]) -> str | None:
    """The publication list the unit is on (one of `PUBLISHED`), or None."""
    result = result_of(entry)
    return result if result in PUBLISHED else None


def list_order(entry: Mapping[str, Any]) -> tuple[str, str, str]:
    """Sort key of the publication lists and the 地州市 workbooks: 所属地区, 单位名称, 统一社会信用代码."""
    return (str(entry.get("unit_region") or ""), str(entry.get("unit_name") or ""), str(entry.get("unit_code") or ""))


def outstanding(entry: Mapping[str, Any], labels: Mapping[str, str],
                progress: Mapping[str, Mapping[str, Any]] | None = None, blocking: bool = False) -> list[str]:
    """What a unit without a result still needs, in words addressed to the unit; [] when it has a result.

    `labels`: reviewer key → the authority (县市区机关事务管理部门评分); `progress`: reviewer key → its 评审进度 row
    (status, missing) for this unit; `blocking`: the unit's return has an error.

    >>> outstanding({"state": "待评审", "file": "a.xlsx", "waiting": ["county"]}, {"county": "县市区评分"},
    ...             {"county": {"status": "未评完", "missing": 3}})
    ['县市区评分：尚有 3 项未评分']
    """
    state = entry.get("state")
    if state == REVIEWED and result_of(entry) != WAITING:
        return []
    progress = progress or {}
    out = []
    if state == NOT_RETURNED or not entry.get("file"):
        out.append("本单位的填报工作簿尚未收到：请填写后交回")
    elif state == NOT_RANKED or blocking:
        out.append("本单位交回的工作簿有错误：请按「须改正的问题」改正后重新交回")
    else:
        for key in entry.get("waiting") or ():
            row = progress.get(key) or {}
            status, missing = row.get("status"), row.get("missing")
            doing = (f"尚有 {missing} 项未评分" if status == "未评完" and missing else
                     "评审包已交回，尚未为本单位评分" if status == "未填写" else "评分尚未收到")
            out.append(f"{labels.get(key, key)}：{doing}")
    if state in (INCOMPLETE, INCOMPLETE_CREATION) and entry.get("reason"):
        out.append(f"本次为最终汇总：{entry['reason']}")
    if not out:
        out.append("复验结果尚未确定：请留意管理部门的通知")
    return out


def basis_of(entry: Mapping[str, Any], scores: Mapping[str, Sequence[float | None]],
             reviewer_order: Sequence[str]) -> str:
    """Whose indicator scores a unit is compared on (a reviewer key, or `SELF`): see the module's rules."""
    not_counted = set(entry.get("not_counted") or ())
    chosen = SELF
    for key in reviewer_order:
        values = scores.get(key)
        if key in not_counted or not values or any(v is None for v in values):
            continue
        if key in (entry.get("used") or {}) or (entry.get("recheck") and key == reviewer_order[-1]):
            chosen = key
    return chosen


def averages(lists: Sequence[Sequence[float | None]], width: int) -> list[float | None]:
    """Each indicator's average over `lists` (a blank counts 0 points); None for every indicator when empty."""
    if not lists:
        return [None] * width
    return [sum((row[i] or 0.0) for row in lists) / len(lists) for i in range(width)]


def weakest(own: Sequence[float | None], average: Sequence[float | None], points: Sequence[float],
            n: int = WEAKEST_SHOWN) -> list[int]:
    """Indices of the unit's weakest indicators (at most `n`), weakest first: see the module's rules.

    >>> weakest([2.5, 1.0, 0.0, 3.0], [2.0, 2.0, 1.0, 2.0], [2.5, 2.0, 2.0, 3.0])   # both 50 % below: 2 lost more
    [2, 1]
    """
    rows = []
    for i, (score, avg, pts) in enumerate(zip(own, average, points)):
        got = score or 0.0
        if not pts or got >= pts:
            continue
        gap = round(got / pts - (avg or 0.0) / pts, 9)        # equal gaps compare equal
        rows.append((gap, -(pts - got), i))
    return [i for _, _, i in sorted(rows)[:n]]


__all__ = ["PASSED", "FAILED", "ELIMINATED", "PUBLISHED", "RESULTS", "SELF", "result_of", "published_list",
           "list_order", "outstanding", "basis_of", "averages", "weakest"]
