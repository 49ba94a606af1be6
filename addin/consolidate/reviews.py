"""Returned review packs in a consolidation run: every scorecard matched to its unit's return and scored again,
one scorecard per unit and reviewer chosen by a documented rule, then composites, 待评审, ranking and 摘牌.

The rules live in `udfs.review_checks` (a scorecard's findings) and `udfs.results` (what counts, the ranking);
this module only joins packs to returns and records what it found on the pack's file.
"""
from __future__ import annotations

from udfs.intake import Finding
from udfs.results import UnitResult, UnitScores, review_results
from udfs.levels import find_level, reviewer_label
from udfs.review_checks import check_scorecard, is_blank
from udfs.unit_code import normalize_unit_code
from workbook_templates import Spec

from .model import ConsolidationRun, FileOutcome, ReviewCard

CARD_RULE = ("同一单位同一级评审部门交回多份评分表时：优先采用已评完的；都已评完（或都未评完）时，采用修改时间最新的"
             "评审包；再相同按文件路径取最后一个。其余评分表列出但不采用。")

RUN_LEVEL_CODES = frozenset({"R601", "R602", "R603", "R604", "R605", "R607"})
"""Findings made here, on every run afresh (the ledger does not keep them)."""


def score_reviews(run: ConsolidationRun, spec: Spec, mtimes: dict[str, int], scope: str | None = None) -> None:
    """Fill `run.review_cards` and `run.results` (unit code → UnitResult) and add the R6xx findings to the packs."""
    units = {f.code: f for f in run.units}
    unit1 = [ind for ind in spec.indicators if ind.rule.type == "computed_target"]
    scored: list[tuple[ReviewCard, FileOutcome]] = []
    for pack in run.packs:
        level = str(pack.meta.get("review_level") or "")
        for sheet in pack.scorecards:
            values, cells = sheet["values"], sheet["cells"]
            raw = str(values.get("rev_unit_code") or "").strip()
            code = normalize_unit_code(raw) or raw
            name = str(values.get("rev_unit_name") or "").strip()
            label = f"「{name or '（未填单位名称）'}」（{code or '无代码'}）"
            unit = units.get(code)
            blank = is_blank(level, values, spec)
            if blank:
                # An untouched card is no review: only worth a word where this reviewer's score is needed.
                weighs = unit is not None and level in _weights(unit, spec)
                findings = [Finding(
                    "R601", f"{label}：评审包已交回，但{reviewer_label(level, spec)}没有填写该单位的评分表，该单位暂列"
                            "「待评审」：请评审部门评分后重新交回评审包", "rev_unit_code",
                    cells.get("rev_unit_code", ""))] if weighs else []
                items, total, missing = {}, None, len(spec.indicators)
            else:
                recomputed = {ind.id: unit.results.get(ind.score_name) for ind in unit1} if unit else {}
                checked = check_scorecard(level, values, cells, label, recomputed, spec,
                                          set(sheet.get("uncached", ())))
                findings, card = checked.findings, checked.card
                if unit is None:
                    findings = [f for f in findings if f.code == "R602"] + [Finding(
                        "R604", f"{label}：本次汇总中没有该单位交回的工作簿，{reviewer_label(level, spec)}的评分无法计入："
                                "请核对评分表中的统一社会信用代码，或先汇总该单位交回的工作簿",
                        "rev_unit_code", cells.get("rev_unit_code", ""))]
                items, total, missing = dict(card.items), None if card.missing else card.total, card.missing
            pack.findings += findings
            scored.append((ReviewCard(path=pack.path, sheet=sheet["sheet"], level=level, unit_code=code, unit_name=name,
                                      items=items, total=total, missing=missing,
                                      reviewer=_text(values.get("rev_reviewer")), date=values.get("rev_date"),
                                      matched=unit is not None, blank=blank), pack))
    _choose(scored, mtimes)
    run.review_cards = [c for c, _ in scored]

    chosen = {(c.unit_code, c.level): c for c in run.review_cards if c.chosen}
    totals: dict[str, dict[str, float | None]] = {}
    for (code, lv), c in chosen.items():
        totals.setdefault(code, {})[lv] = c.total
    scores = [UnitScores(code=f.code, level=str(f.unit.get("unit_level") or ""),
                         region=str(f.unit.get("unit_region") or ""), self_total=f.results.get("self_total"),
                         reviews=totals.get(f.code, {}), ranked=not f.blocking) for f in run.units]
    results = review_results(scores, scope=scope, spec=spec)
    run.results = {r.code: r for r in results}
    packs = {p.path: p for p in run.packs}
    for r in results:
        for lv in r.not_counted:
            c = chosen[(r.code, lv)]
            if c.total is None:
                continue                # unfinished: R601 says so already
            unit = units[r.code]
            packs[c.path].findings.append(Finding(
                "R607", f"「{c.unit_name}」（{c.unit_code}）是{unit.unit.get('unit_level')}单位，其综合得分不含"
                        f"{reviewer_label(lv, spec)}的评分：本评分表只列示，不计入", "rev_unit_code", f"{c.sheet}"))


def _weights(unit: FileOutcome, spec: Spec) -> dict[str, float]:
    level = find_level(unit.unit.get("unit_level"), spec)
    return dict(level.weights) if level else {}


def _choose(scored: list[tuple[ReviewCard, FileOutcome]], mtimes: dict[str, int]) -> None:
    """One scorecard per unit and reviewer (CARD_RULE); R605 on every other one. Blank cards take no part."""
    groups: dict[tuple[str, str], list[tuple[ReviewCard, FileOutcome]]] = {}
    for card, pack in scored:
        if card.matched and not card.blank:
            groups.setdefault((card.unit_code, card.level), []).append((card, pack))
    for (code, level), group in sorted(groups.items()):
        if len(group) < 2:
            continue
        best, _ = max(group, key=lambda cp: (cp[0].missing == 0, mtimes.get(cp[0].path, 0), cp[0].path,
                                             cp[0].sheet))
        for card, pack in group:
            card.used = card is best
            if not card.used:
                pack.findings.append(Finding(
                    "R605", f"「{card.unit_name}」（{code}）的这份评分表未采用，采用「{best.path}」中的「{best.sheet}」"
                            f"（规则：{CARD_RULE}）", "rev_unit_code", card.sheet))


def _text(value) -> str:
    return "" if value is None else str(value).strip()


__all__ = ["score_reviews", "CARD_RULE", "RUN_LEVEL_CODES", "UnitResult"]
