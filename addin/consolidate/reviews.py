"""Returned review packs in a consolidation run: every scorecard matched to its unit's return and scored again,
one scorecard per unit and reviewer chosen by a documented rule, then composites, 待评审, ranking and 摘牌.

The rules live in `udfs.review_checks` (a scorecard's findings) and `udfs.results` (what counts, the ranking);
this module only joins packs to returns and records what it found on the pack's file.
"""
from __future__ import annotations

from udfs.intake import Finding
from udfs.results import RECHECK_COHORT, UnitResult, UnitScores, elimination_base, review_results
from udfs.levels import find_level, reviewer_label
from udfs.review_checks import check_scorecard, is_blank
from udfs.unit_code import normalize_unit_code
from workbook_templates import Spec

from .model import ConsolidationRun, FileOutcome, ReviewCard
from .pack_parts import flag_missing_parts

CARD_RULE = ("同一单位同一级评审部门交回多份评分表时：优先采用已评完的；都已评完（或都未评完）时，采用修改时间最新的"
             "评审包；再相同按文件路径取最后一个。其余评分表列出但不采用。")

RUN_LEVEL_CODES = frozenset({"R601", "R602", "R603", "R604", "R605", "R607", "R608", "R609"})
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
    _duplicated(scored, units)
    _choose(scored, mtimes)
    flag_missing_parts(run, spec)                       # a pack in parts: the parts that did not come back
    run.review_cards = [c for c, _ in scored]

    chosen = {(c.unit_code, c.level): c for c in run.review_cards if c.chosen}
    totals: dict[str, dict[str, float | None]] = {}
    for (code, lv), c in chosen.items():
        totals.setdefault(code, {})[lv] = c.total
    scores = unit_scores(run, totals, spec)
    run.elimination_base = elimination_base(scores, scope=scope, spec=spec)
    results = review_results(scores, scope=scope, base=run.elimination_base, final=run.final, spec=spec)
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


def unit_scores(run: ConsolidationRun, totals: dict[str, dict[str, float | None]], spec: Spec) -> list[UnitScores]:
    """What each unit has for its result: every unit of the run (its cohort from the roster, 复验 when it is not on
    one), then the roster's units that did not return — the 5 % base counts them, and 评审结果 lists them."""
    roster = {e.code: e for e in run.roster or ()}
    out = []
    for f in run.units:
        entry = roster.get(f.code)
        out.append(UnitScores(code=f.code, level=str(f.unit.get("unit_level") or ""),
                              region=str(f.unit.get("unit_region") or ""), self_total=f.results.get("self_total"),
                              reviews=totals.get(f.code, {}), ranked=not f.blocking,
                              cohort=entry.cohort if entry else RECHECK_COHORT, gate=gate_of(f, run.year, spec),
                              on_roster=None if run.roster is None else entry is not None))
    returned = {f.code for f in run.units}
    for e in run.not_returned:
        if e.code not in returned:      # a return that did not match its roster entry (D504) is listed as itself
            out.append(UnitScores(code=e.code, level=e.level, region=e.region, self_total=None, ranked=False,
                                  cohort=e.cohort, returned=False, on_roster=True))
    return out


def gate_of(f: FileOutcome, year: int, spec: Spec) -> bool | None:
    """Under a standard version whose 目标管理 is a gate (the file's `_meta` standard_version, else the year's):
    every decline target met (True), one missed (False), or not yet known (None); None without a gate."""
    sid = f.meta.get("standard_version") or None
    if sid is None:                     # made before the version was recorded: the one its year names
        own = f.meta.get("assessment_year")
        sid = spec.year(own if own in spec.years else year).standard
    standard = spec.standards.get(sid)
    if standard is None or not standard.gate:
        return None
    met = [f.results.get(f"ok_{i.key}") for i in spec.decline_intensities]
    return False if any(m is False for m in met) else True if all(m is True for m in met) else None


def _weights(unit: FileOutcome, spec: Spec) -> dict[str, float]:
    level = find_level(unit.unit.get("unit_level"), spec)
    return dict(level.weights) if level else {}


def _duplicated(scored: list[tuple[ReviewCard, FileOutcome]], units: dict[str, FileOutcome]) -> None:
    """R608 (错误): one pack holding two or more scorecards for one unit. A generated pack has one per unit, so
    the others were copied in (the workbook's protection is no lock against a determined editor); which one the
    reviewer meant no rule can tell — an all-zero copy chosen by sheet order could make a unit 拟摘牌. None of
    them counts (blank ones included), and the unit's return is not ranked until a person resolves it."""
    groups: dict[tuple[str, str], list[tuple[ReviewCard, FileOutcome]]] = {}
    for card, pack in scored:
        if card.unit_code:
            groups.setdefault((pack.path, card.unit_code), []).append((card, pack))
    for (path, code), group in sorted(groups.items()):
        if len(group) < 2:
            continue
        sheets = "、".join(f"「{card.sheet}」" for card, _ in group)
        first, pack = group[0]
        for card, _ in group:
            card.duplicated = True
        pack.findings.append(Finding(
            "R608", f"「{first.unit_name}」（{code}）在本评审包中有 {len(group)} 张评分表（{sheets}）：无法确定哪一张是评审部门的"
                    "评分，均不采用，该单位在人工核实前不参与排名。请评审部门核实后交回只含一张该单位评分表的评审包"
                    "（可用 jieyue review-pack 重新生成）", "rev_unit_code", first.sheet))
        unit = units.get(code)
        if unit is not None:
            unit.findings.append(Finding(
                "R608", f"评审包「{path}」中本单位有 {len(group)} 张评分表（{sheets}）：均不采用，本单位在人工核实前不参与"
                        "排名：请核实该评审包，交回只含一张本单位评分表的评审包后重新汇总", "rev_unit_code"))
            unit.blocking = True


def _choose(scored: list[tuple[ReviewCard, FileOutcome]], mtimes: dict[str, int]) -> None:
    """One scorecard per unit and reviewer (CARD_RULE); R605 on every other one. Blank cards and cards of a unit
    duplicated within their pack (R608) take no part."""
    groups: dict[tuple[str, str], list[tuple[ReviewCard, FileOutcome]]] = {}
    for card, pack in scored:
        if card.matched and not card.blank and not card.duplicated:
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
