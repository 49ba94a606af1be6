"""process.toml: the stages of each assessment year's 复验 and their due dates (seed deck PART 03, 复验工作流程).

The deck gives periods (「8月上旬」), not dates: a stage without `due` falls due on the period's assumed day
(`period_days`: 上旬 10, 中旬 20, 下旬 the month's last day) and says so (`Stage.assumed`).
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any, Mapping

CHECK_KINDS = ("unit", "result")
"""A check's `by` besides a reviewer key: the units' returns, the units' results."""

PERIOD = re.compile(r"^\s*(\d{1,2})\s*月\s*(\S+?)\s*$")


@dataclass(frozen=True)
class StageCheck:
    by: str                              # unit | result | a reviewer key (county, prefecture, region)
    levels: tuple[str, ...] = ()         # unit level keys a reviewer's check covers (all levels when empty)
    spot_check: str = ""                 # assessment.toml [spot_check] ratio: only that share must be done


@dataclass(frozen=True)
class Stage:
    key: str
    label: str
    period: str                          # as the deck says it: 8月上旬
    due: date
    assumed: bool                        # True: the day is the period's assumed day, not a date anyone set
    checks: tuple[StageCheck, ...]


@dataclass(frozen=True)
class Evidence:
    """[evidence]: what a unit may hand in beside its workbook (file types by extension, lower case, no dot)."""

    allowed_types: frozenset[str]
    refused_types: frozenset[str]        # executables, scripts, macro documents: listed as refused, never linked
    max_file_bytes: int
    max_list_chars: int                  # the length validation of an `evid_<id>` cell
    max_zip_bytes: int


@dataclass(frozen=True)
class Process:
    source: str
    question: str
    period_days: Mapping[str, int]
    years: Mapping[int, tuple[Stage, ...]] = field(default_factory=lambda: MappingProxyType({}))
    evidence: Evidence | None = None

    def stages(self, year: int) -> tuple[Stage, ...]:
        """The stages of `year` in order; () when the spec has none for it."""
        return self.years.get(year, ())


def due_of(period: str, year: int, days: Mapping[str, int]) -> date:
    """The assumed due date of a period: 「8月上旬」 of 2023 with 上旬 = 10 → 2023-08-10; a day past the month's
    end is the month's last day (下旬 = 31 in September → 09-30). ValueError (Chinese) when it cannot be read."""
    m = PERIOD.match(period)
    if not m or m.group(2) not in days or not 1 <= int(m.group(1)) <= 12:
        raise ValueError(f"时段「{period}」无法识别：应写作「8月上旬」，旬为 {'、'.join(days)} 之一")
    month = int(m.group(1))
    return date(year, month, min(days[m.group(2)], calendar.monthrange(year, month)[1]))


def read_process(root: Any, reviewers: Mapping[str, str], levels: Mapping[str, Any],
                 spot_checks: tuple[str, ...]) -> Process:
    """process.toml read through the loader's `Node` (every key checked, unknown keys refused)."""
    days_node = root.child("period_days")
    days = {k: days_node.get(k, int, check=lambda v: None if 1 <= v <= 31 else "应为 1–31 的日")
            for k in list(days_node.data)}
    days_node.done()
    years: dict[int, tuple[Stage, ...]] = {}
    for year_key, y in root.table("year").items():
        if not year_key.isdigit():
            raise y.error("", "年度应为四位数字，如 [year.2023]")
        stages = []
        for n in y.children("stage"):
            period = n.text("period")
            try:
                assumed_due = due_of(period, int(year_key), days)
            except ValueError as e:
                raise n.error("period", str(e)) from None
            due = n.get("due", date, None)
            checks = []
            for c in n.children("check"):
                by = c.text("by")
                if by not in CHECK_KINDS and by not in reviewers:
                    raise c.error("by", f"应为 {'、'.join((*CHECK_KINDS, *reviewers))} 之一，实际为 {by!r}")
                lv = tuple(c.get("levels", list, []))
                if unknown := [x for x in lv if x not in levels]:
                    raise c.error("levels", f"未知的单位层级 {unknown}（可用：{'、'.join(levels)}）")
                spot = c.get("spot_check", str, "")
                if spot and spot not in spot_checks:
                    raise c.error("spot_check", f"应为 assessment.toml [spot_check] 中的比例 {'、'.join(spot_checks)} 之一")
                c.done()
                checks.append(StageCheck(by=by, levels=lv, spot_check=spot))
            stages.append(Stage(key=n.text("key"), label=n.text("label"), period=period,
                                due=due if due is not None else assumed_due, assumed=due is None,
                                checks=tuple(checks)))
            n.done()
        ordered = [s.due for s in stages]
        if ordered != sorted(ordered):
            raise y.error("stage", "各阶段的截止日期应按先后顺序排列")
        years[int(year_key)] = tuple(stages)
        y.done()
    process = Process(source=root.text("source"), question=root.text("question"),
                      period_days=MappingProxyType(days), years=MappingProxyType(years),
                      evidence=_evidence(root.child("evidence")))
    root.done()
    return process


def _evidence(n: Any) -> Evidence:
    def types(key: str) -> frozenset[str]:
        values = n.get(key, list)
        bad = [v for v in values if not isinstance(v, str) or not v.isalnum() or v != v.lower()]
        if bad:
            raise n.error(key, f"文件类型应写作小写的扩展名（不带点），如 \"pdf\"：{bad}")
        return frozenset(values)
    allowed, refused = types("allowed_types"), types("refused_types")
    if both := sorted(allowed & refused):
        raise n.error("refused_types", f"{both} 同时在 allowed_types 中")
    mb = 1024 * 1024
    positive = lambda v: None if v > 0 else "应为正整数"      # noqa: E731
    e = Evidence(allowed_types=allowed, refused_types=refused,
                 max_file_bytes=n.get("max_file_mb", int, check=positive) * mb,
                 max_list_chars=n.get("max_list_chars", int, check=positive),
                 max_zip_bytes=n.get("max_zip_mb", int, check=positive) * mb)
    n.done()
    return e


__all__ = ["Process", "Stage", "StageCheck", "Evidence", "due_of", "read_process", "CHECK_KINDS"]
