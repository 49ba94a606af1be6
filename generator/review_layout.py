"""The review pack, laid out from the spec and the units it covers.

Sheets, in order: 说明, 总览, one scorecard per unit (「01 单位名称」), 参数 (very hidden), _meta (hidden).
Each scorecard carries the same sheet-local defined names (`workbook_templates.review_names`), each pointing at
its own cells; `_meta` carries the workbook-scoped ones. Every formula mirrors `udfs.review` and uses only the
Excel-2007 functions of `generator.formulas`; each formula cell also carries what it shows before the reviewer
enters anything (`Cell.blank`), computed by `udfs.review.score_card`, written as its cached value.

The units' own figures (self-scores, the recomputed decline results and unit-1 scores) are locked constants:
the pack is built from the consolidated, recomputed returns, never from the returns' cached values.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Mapping, Sequence

from udfs.choices import preset_of, year_of
from udfs.levels import Reviewer, reviewers
from udfs.signature import pack_message, sign
from udfs.review import (DEDUCTING, MISSING_TEXT, STATUS_FINDINGS, STATUS_FINDINGS_BAD, STATUS_NO_DATA, STATUS_RULE,
                         STATUS_SCORE, ScoreCard, given_values, score_card)
from udfs.spot_checks import SpotCheckGroup, spot_check_method
from workbook_templates import Spec
from workbook_templates.contract import (REVIEW_META_NAMES, REVIEW_SHEETS, REVIEW_TEMPLATE_VERSION, SCORECARD_COUNT,
                                         SCORECARD_KEY,
                                         SIGNATURE_NAME, WORKBOOK_KIND)
from workbook_templates.model import Indicator
from workbook_templates.review_names import (findings_name, given_name, missing_name, score_name, total_name,
                                             unit_score_name)

from . import formulas as fx
from .formats import number_formats
from .layout import SIGNATURE_HEIGHT, _method as rule_method
from .plan import Cell, Conditional, SheetPlan, Validation, WorkbookPlan, absolute_ref as _ref, column_letter
from .wording import indicator_text, plain, shown as spec_text

GUIDE, OVERVIEW, PARAMS, META_SHEET = (REVIEW_SHEETS[k] for k in ("guide", "overview", "params", "meta"))

GUIDE_WIDTH = 72
"""The 说明's one column: within a portrait A4 page (see `layout.GUIDE_WIDTH`)."""

WHOLE_LIST = 15
"""A scorecard's 佐证材料 list of at most this many files prints whole on one page (a file is a row of one or two
lines: 15 of them, ~500 pt, fit a page of the scorecard's ~640 pt); a longer one breaks where a page is full."""

REVIEW_SIGNATURE = ("评审人（签字）：" + "_" * 20 + "　　　　日期：" + "_" * 8 + "年" + "_" * 4 + "月" + "_" * 4 + "日",)
"""The line a reviewer signs at the foot of each printed scorecard."""

# Scorecard columns.
COLUMNS = "ABCDEFGHIJK"
C_ID, C_TEXT, C_POINTS, C_METHOD, C_EVIDENCE, C_SELF, C_FINDINGS, C_GIVEN, C_SCORE, C_NOTE, C_COMMENT = COLUMNS
HEADER_ROW = 6
FIRST_ROW = 7
# Scorecard head: (label cell, value cell) of each field.
HEAD = {
    "unit_name": ("A2", "B2"), "unit_code": ("D2", "E2"), "unit_level": ("J2", "K2"),
    "unit_region": ("A3", "B3"), "reviewer_label": ("D3", "E3"), "spot": ("J3", "K3"),
    "reviewer": ("A4", "B4"), "date": ("D4", "E4"), "self_total": ("J4", "K4"),
    "total": ("A5", "B5"), "missing": ("D5", "E5"), "back": ("J5", "K5"),
}

# 总览 columns.
O_SEQ, O_NAME, O_CODE, O_LEVEL, O_REGION, O_SELF, O_TOTAL, O_DONE, O_TODO, O_SPOT, O_SHEET = "ABCDEFGHIJK"
O_HEADER_ROW, O_FIRST_ROW = 4, 5

SHEET_NAME_MAX = 31
_NOT_IN_SHEET_NAMES = re.compile(r"[\[\]:*?/\\'\x00-\x1f]")


@dataclass(frozen=True)
class ReviewUnit:
    """What a scorecard shows of one unit, from its consolidated return (all values already recomputed)."""

    name: str
    code: str
    level: str
    region: str
    self_scores: Mapping[str, Any]                 # indicator id → self-score as counted (None: not scored)
    self_units: Mapping[str, Any]                  # unit id → self subtotal
    self_total: Any
    selectors: Mapping[str, Any] = field(default_factory=dict)    # selector input name → the unit's choice
    decline: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # intensity → prev, cur, chg, target, ok
    recomputed: Mapping[str, Any] = field(default_factory=dict)   # unit-1 indicator id → recomputed score
    spot: tuple[str, ...] = ()                     # the spot-check lists it is on (「地州市抽查」…)
    source: str = ""                               # the returned file it comes from
    evidence: Mapping[str, str] = field(default_factory=dict)   # indicator id → what the unit listed (佐证材料)
    evidence_files: tuple[tuple[str, str, str], ...] = ()       # (file as shown, link relative to the pack, indicators)


@dataclass(frozen=True)
class PackPart:
    """Which workbook of a review pack this is (`jieyue review-pack --split`, `addin.review.split`): the id all
    parts of one pack share, this part's number (from 1), the number of parts and what it covers (a 地州市, or
    「单位1-500」). A pack in one workbook is part 1 of 1. Recorded in `_meta` and covered by the signature."""

    pack_id: str
    number: int = 1
    count: int = 1
    label: str = ""


def scorecard_title(index: int, count: int, name: str) -> str:
    """「07 天池县人民法院」: a sequence number (unique) and the unit name, without the characters Excel forbids
    in sheet names ([]:*?/\\ and the apostrophe) and at most 31 characters as Excel counts them (UTF-16)."""
    width = max(2, len(str(count)))
    title = f"{index:0{width}d} " + (_NOT_IN_SHEET_NAMES.sub("_", name).strip() or "单位")
    while len(title.encode("utf-16-le")) // 2 > SHEET_NAME_MAX:
        title = title[:-1]
    return title.rstrip()


def _num(x: float) -> str:
    """A number as a formula literal that reads back as exactly the same double (no :g rounding)."""
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text


def _missing_formula(count_expr: str) -> str:
    return f"{fx.text(MISSING_TEXT[0])}&{count_expr}&{fx.text(MISSING_TEXT[1])}"


# ---------------------------------------------------------------- the whole pack

def build_review_plan(reviewer: Reviewer, units: Sequence[ReviewUnit], *, spec: Spec, year: int,
                      presets: Sequence[str], region: str | None = None, seed: int | str | None = None,
                      spot_groups: Sequence[SpotCheckGroup] = (), skipped: Sequence[str] = (),
                      key: bytes | None = None, part: PackPart) -> WorkbookPlan:
    """The review pack for `reviewer` over `units` (already chosen: `addin.review.select`) for assessment `year`;
    `presets` are the factor presets the units' figures were recomputed with (each return's own: one, or several
    when the returns mix presets), recorded in `_meta` factor_preset joined by 「、」. Both are required.

    `skipped` are lines naming the units left out (e.g. returns with errors), shown on 说明. With `key`, `_meta`
    `signature` signs the pack's level, region, year, version and its scorecards (`udfs.signature.pack_message`),
    so a pack whose level was changed or whose scorecards were added, removed or re-coded no longer verifies.
    `part` says which workbook of the pack this is (`PackPart`); `_meta` records it and the scorecard count."""
    layout = ReviewLayout(reviewer, units, spec=spec, year=year, presets=presets, region=region, seed=seed,
                          spot_groups=spot_groups, skipped=skipped, key=key, part=part)
    return layout.workbook(layout.overview(), [layout.scorecard(k) for k in range(len(units))])


class ReviewLayout:
    """The review pack laid out one sheet at a time, for a writer that streams them (`generator.sheet_stream`,
    `addin.review.pack`): 说明, 参数 and _meta are laid out at once; `overview()` lays out 总览 (a row per unit: its
    title and blank totals) and `scorecard(k)` unit k's scorecard when each is written, so thousands of units'
    sheets are never all in memory. `build_review_plan` is the whole of it at once (the same arguments)."""

    def __init__(self, reviewer: Reviewer, units: Sequence[ReviewUnit], *, spec: Spec, year: int,
                 presets: Sequence[str], region: str | None = None, seed: int | str | None = None,
                 spot_groups: Sequence[SpotCheckGroup] = (), skipped: Sequence[str] = (), key: bytes | None = None,
                 part: PackPart):
        years = year_of(spec, year)
        if not presets:
            raise TypeError("build_review_plan 需要重算所用的系数预设（presets）")
        preset = "、".join(dict.fromkeys(preset_of(spec, p).id for p in presets))
        if not units:
            raise ValueError("评审包中没有单位：请检查回收目录、--level 和 --region")
        self.spec, self.reviewer, self.units, self.year, self.seed = spec, reviewer, list(units), years.year, seed
        self.region = region
        self.params = _params_sheet(spec)
        self.titles = [scorecard_title(i, len(units), u.name) for i, u in enumerate(units, start=1)]
        """Each scorecard's sheet title, in sheet order."""
        self.header = reviewer.label + (f"（{region}）" if region else "")
        self._cards: dict[tuple, ScoreCard] = {}
        self._rows: dict[tuple[str, int], _Row] = {}
        self._shared: dict[tuple, Cell] = {}
        self.guide = _guide_sheet(spec, reviewer, units, years.year, region, seed, spot_groups, skipped, part)
        self.guide.header = self.header
        signature = None if key is None else sign(key, pack_message(
            template_version=REVIEW_TEMPLATE_VERSION, assessment_year=years.year, review_level=reviewer.key,
            review_region=region, scorecards=[(u.code, t) for u, t in zip(units, self.titles)],
            pack_id=part.pack_id, pack_part=part.number, pack_parts=part.count))
        meta = _meta_sheet(spec, reviewer, years.year, preset, region, seed, signature, len(units), part)
        self.after = [self.params.sheet, meta]
        """The sheets after the scorecards."""

    def overview(self, first: int | None = None) -> SheetPlan:
        """总览: a row for each unit, or for the `first` units only (the prototype a streaming writer renders)."""
        units = self.units[:first]
        sheet = _overview_sheet(self.spec, self.reviewer, units, self.titles, [self._card(u) for u in units],
                                self.year, self.region, self.seed)
        sheet.header = self.header
        return sheet

    def scorecard(self, k: int) -> SheetPlan:
        """The scorecard of unit `k` (0-based, in sheet order)."""
        unit = self.units[k]
        sheet = _scorecard(self.spec, self.reviewer, unit, self.titles[k], self.year, self.params,
                           self.seed is not None, self._card(unit), self._rows, self._shared)
        sheet.header = self.header
        return sheet

    def workbook(self, overview: SheetPlan, scorecards: Sequence[SheetPlan]) -> WorkbookPlan:
        """The pack with `overview` and `scorecards`: all of them (`build_review_plan`), or prototypes standing for
        them (what a streaming writer renders first)."""
        return WorkbookPlan(sheets=[self.guide, overview, *scorecards, *self.after],
                            template_version=REVIEW_TEMPLATE_VERSION, spec_digest=self.spec.digest)

    def _card(self, unit: ReviewUnit) -> ScoreCard:
        """What unit's scorecard shows before any entry (`udfs.review.score_card`): the same for every unit with the
        same recomputed unit-1 scores, so computed once for each such set."""
        key = tuple(sorted(unit.recomputed.items()))
        if key not in self._cards:
            self._cards[key] = score_card(recomputed=unit.recomputed, spec=self.spec)
        return self._cards[key]


# ---------------------------------------------------------------- 参数 (very hidden): the legal values

class _Params:
    def __init__(self, sheet: SheetPlan):
        self.sheet = sheet
        self.lists: dict[str, str] = {}        # indicator id → absolute range of the values the reviewer may give


def _params_sheet(spec: Spec) -> _Params:
    sheet = SheetPlan(title=PARAMS, state="veryHidden")
    params = _Params(sheet)
    col = 1
    for ind in spec.indicators:
        values = given_values(ind, spec=spec)
        if not values:
            continue
        letter = column_letter(col)
        sheet.put(f"{letter}1", Cell(ind.id))
        for r, v in enumerate(values, start=2):
            sheet.put(f"{letter}{r}", Cell(v))
        params.lists[ind.id] = f"'{PARAMS}'!${letter}$2:${letter}${len(values) + 1}"
        col += 1
    return params


# ---------------------------------------------------------------- one unit's scorecard

def _method(ind: Indicator, spec: Spec | None = None) -> str:
    marks = ("【实地验收】" if ind.field_check else "") + ("【由主管部门评价】" if ind.authority_assessed else "")
    text = marks + rule_method(ind, spec)
    if ind.zero_if:
        text += f"；{plain(ind.zero_if)}"
    if ind.rule.type == "alternatives":
        text += "。评审给分可选两条路径的任一分值"
    return text


def _scorecard(spec: Spec, reviewer: Reviewer, unit: ReviewUnit, title: str, year: int, params: _Params,
               has_seed: bool, card: ScoreCard, rows: dict[tuple[str, int], _Row],
               shared: dict[tuple, Cell]) -> SheetPlan:
    """Unit's scorecard; `card` is what it shows before any entry (`udfs.review.score_card` of its recomputed
    unit-1 scores); `rows` keeps each indicator row's unit-independent part (`_row`) and `shared` the cells many
    units show alike (`_shared_cell`) for the pack's next scorecards."""
    level = reviewer.key
    digits = spec.precision.score
    formats = number_formats(spec)
    sheet = SheetPlan(title=title, freeze=f"A{FIRST_ROW}", print_title_rows=f"{HEADER_ROW}:{HEADER_ROW}",
                      widths={C_ID: 10, C_TEXT: 52, C_POINTS: 6, C_METHOD: 22, C_EVIDENCE: 34, C_SELF: 7,
                              C_FINDINGS: 8, C_GIVEN: 8, C_SCORE: 10, C_NOTE: 20, C_COMMENT: 16}, landscape=True)
    sheet.put("A1", Cell(f"节约型机关复验评审表（{year}年）：{unit.name}", style="title"))
    sheet.merges.append(f"A1:{C_COMMENT}1")

    def head(key: str, label: str, cell: Cell) -> str:
        label_ref, value_ref = HEAD[key]
        sheet.put(label_ref, _fixed(label, style="label_total"))
        sheet.put(value_ref, cell)
        return value_ref

    head("unit_name", "单位名称", Cell(unit.name, style="info_locked", local_name="rev_unit_name"))
    head("unit_code", "统一社会信用代码", Cell(unit.code, style="info_locked", local_name=SCORECARD_KEY))
    head("unit_level", "单位层级", Cell(unit.level, style="info_locked", local_name="rev_unit_level"))
    head("unit_region", "所属地区", Cell(unit.region, style="info_locked", local_name="rev_unit_region"))
    head("reviewer_label", "评审部门", _fixed(reviewer.label, style="info_locked"))
    spot = "、".join(unit.spot) if unit.spot else ("否" if has_seed else "未标注（未指定抽查种子）")
    head("spot", "实地抽查", Cell(spot, style="info_locked"))
    head("reviewer", "评审人", _fixed(None, style="input_text", local_name="rev_reviewer"))
    head("date", "评审日期", _fixed(None, style="input_text", local_name="rev_date"))
    head("self_total", "自评总分", Cell(unit.self_total, style="calc_total", local_name="rev_self_total",
                                    number_format=formats["score"]))
    head("back", "返回", _fixed(OVERVIEW, style="label", link=f"'{OVERVIEW}'!A1"))
    total_ref, missing_ref = HEAD["total"][1], HEAD["missing"][1]
    sheet.put(HEAD["total"][0], _fixed("评审总分", style="label_total"))
    sheet.put(HEAD["missing"][0], _fixed("尚未评分的指标（项）", style="label_total"))

    for col, text in zip("ABCDEFGHIJK", ("编号", "评价内容", "分值", "评分方法", "印证材料", "自评分", "发现问题处数",
                                         "评审给分", "评审得分", "提示", "评审意见")):
        sheet.put(f"{col}{HEADER_ROW}", _fixed(text, style="header"))

    r = FIRST_ROW
    unit_cells, item_ranges = [], []
    headings: list[int] = []            # rows that go to the next page with the rows they head (`sections`)
    for u in spec.units:
        group_row = r
        headings.append(r)
        sheet.put(f"A{r}", _fixed(f"第{u.id}单元 {u.name}（{u.points:g}分）", style="group"))
        _band(sheet, r, "BCDE", "group")
        r += 1
        first = r
        for sub in u.subareas:
            how = f"　核查方式：{plain(sub.verification)}" if sub.verification else ""
            headings.append(r)
            sheet.put(f"A{r}", _fixed(f"{sub.id} {sub.name}（{sub.points:g}分）{how}", style="subgroup"))
            _band(sheet, r, "BCDEFGHIJK", "subgroup")
            r += 1
            for ind in sub.indicators:
                if ind.rule.selector:
                    choice = unit.selectors.get(ind.rule.selector)
                    shown = [(f"{C_TEXT}{r}", _fixed(plain(ind.rule.selector_label), style="wrap")),
                             (f"{C_SELF}{r}", _fixed(choice if choice is not None else "（未选择）", style="unit")),
                             (f"{C_NOTE}{r}", _fixed("单位自评时的选择", style="label"))]
                    for ref, cell in _boxed(shown, tuple(f"{col}{r}" for col in COLUMNS)):
                        sheet.put(ref, cell)
                    headings.append(r)                 # the unit's choice, printed with its indicator
                    r += 1
                key = (ind.id, r)
                if key not in rows:
                    rows[key] = _row(ind, r, level, year, params, digits, formats, spec)
                _indicator_row(sheet, r, ind, unit, card, rows[key], formats, shared)
                r += 1
        last = r - 1
        rng = f"{C_SCORE}{first}:{C_SCORE}{last}"
        k = len(u.indicators)
        item_ranges.append(rng)
        sheet.put(f"{C_SELF}{group_row}", _fixed(unit.self_units.get(u.id), style="calc_total",
                                                 number_format=formats["score"]))
        sheet.put(f"{C_SCORE}{group_row}", Cell(
            formula=f"IF(COUNT({rng})={k},ROUND(SUM({rng}),{digits}),{_missing_formula(f'({k}-COUNT({rng}))')})",
            style="total_wrap", local_name=unit_score_name(level, u.id), blank=card.units[u.id],
            number_format=formats["score"]))
        sheet.put(f"{C_NOTE}{group_row}", _fixed(f"本单元满分{u.points:g}分", style="note"))
        unit_cells.append(f"{C_SCORE}{group_row}")

    n = len(spec.indicators)
    sheet.put(missing_ref, Cell(formula=f"{n}-COUNT({','.join(item_ranges)})", style="calc_total",
                                local_name=missing_name(level), blank=card.missing))
    sheet.put(total_ref, Cell(formula=f"IF({missing_ref}=0,ROUND(SUM({','.join(unit_cells)}),{digits}),"
                                      f"{_missing_formula(missing_ref)})",
                              style="calc_total", local_name=total_name(level), blank=card.total,
                              number_format=formats["score"]))
    sheet.conditionals.append(Conditional(total_ref, f"NOT(ISNUMBER({total_ref}))", "warn"))
    end = _decline_block(sheet, r + 1, spec, unit, year)
    headings += range(r + 1, end)                      # the decline table whole, with the note under it
    start, end = end + 1, _evidence_block(sheet, end + 1, unit)
    if len(unit.evidence_files) <= WHOLE_LIST:
        headings += range(start, end)     # a short list whole on a page: never continued under the scorecard's header
    else:
        headings += (start, start + 1)    # a long one breaks where the page is full, its heading and header kept
    headings += (end, end + 1)            # the signature below never alone: its page holds the list's last row
    for k, line in enumerate(REVIEW_SIGNATURE, start=end + 2):
        sheet.put(f"A{k}", _fixed(line, style="sign"))
        sheet.merges.append(f"A{k}:{C_COMMENT}{k}")
        sheet.heights[k] = SIGNATURE_HEIGHT
    # Printed, a page breaks where it is full, never under a heading (`print_layout.paginate`).
    sheet.sections, sheet.whole_sections = tuple(headings), False
    return sheet


def _evidence_block(sheet: SheetPlan, r: int, unit: ReviewUnit) -> int:
    """The unit's 佐证材料 under the scorecard, from row `r`: each file it listed that may be opened (allowed types,
    in its folder) as a link relative to the pack — a reviewer working in the returns folder clicks through — and
    the indicators listing it. Returns the last row used."""
    sheet.put(f"A{r}", _fixed("单位交回的佐证材料（点击文件名打开；只列出允许的文件类型）", style="section"))
    if not unit.evidence_files:
        sheet.put(f"A{r + 1}", _fixed("没有可打开的佐证材料：单位未交回佐证材料文件夹，或所列文件未找到（见汇总表「佐证材料」）",
                                      style="note"))
        sheet.merges.append(f"A{r + 1}:{C_COMMENT}{r + 1}")
        return r + 1
    # The list's own header (a page it continues on repeats the scorecard's: print titles are the sheet's).
    sheet.put(f"A{r + 1}", _fixed("编号", style="header"))
    sheet.put(f"{C_TEXT}{r + 1}", _fixed("佐证材料文件", style="header"))
    for k, (shown, url, indicators) in enumerate(unit.evidence_files, start=r + 2):
        sheet.put(f"A{k}", Cell(indicators, style="wrap"))     # 「5.2.2、5.2.3、5.2.4」: wraps in the 编号 column
        sheet.put(f"{C_TEXT}{k}", Cell(shown, style="wrap", url=url))
    return r + 1 + len(unit.evidence_files)


def _band(sheet: SheetPlan, r: int, columns: str, style: str) -> None:
    """A heading row's colour across `columns`: empty cells of the heading's style, into which the heading's text
    runs over. Not a merge: openpyxl takes ~3 ms per merged range, which made a pack of hundreds of scorecards slow."""
    blank = _BANDS.setdefault(style, Cell(None, style=style))   # shared: a plan's cells are never changed
    for col in columns:
        sheet.put(f"{col}{r}", blank)


@lru_cache(maxsize=2048, typed=True)      # typed: a value of True is not one of 1
def _fixed(value: Any = None, **fields: Any) -> Cell:
    """The one Cell of a text (or other value) that every scorecard shows alike at its place — labels, headings,
    notes: shared (a plan's cells are never changed), so a streaming writer finds it by identity and never writes
    it again."""
    return Cell(value, **fields)


_BANDS: dict[str, Cell] = {}
"""The empty cell of each heading style (`_band`), one for every band of every scorecard."""


@dataclass(frozen=True)
class _Row:
    """What an indicator's row shows whatever the unit, laid out once per pack (`_row`) and shared by every
    scorecard (a plan's cells are never changed): its cells but the unit's (印证材料, 自评分, 评审得分, 提示),
    the conditional formats of its inputs, and the 评审得分 and 提示 formulas."""

    cells: tuple[tuple[str, Cell], ...]
    conditionals: tuple[Conditional, ...]
    evidence: str                   # the spec's 印证材料 text (the unit's own list is added after it)
    score_name: str
    formula: str = ""               # the 评审得分 (computed_target: none, the recomputed score is a constant)
    status: str = ""                # the 提示


def _row(ind: Indicator, r: int, level: str, year: int, params: _Params, digits: int, formats: dict[str, str],
         spec: Spec) -> _Row:
    rule = ind.rule
    findings, given, score = (f"{c}{r}" for c in (C_FINDINGS, C_GIVEN, C_SCORE))
    cells = [(f"{C_ID}{r}", Cell(ind.id, style="label")),
             (f"{C_TEXT}{r}", Cell(indicator_text(ind, spec, year), style="wrap")),
             (f"{C_POINTS}{r}", Cell(ind.points, style="factor", number_format=formats["score"])),
             (f"{C_METHOD}{r}", Cell(_method(ind, spec), style="wrap"))]
    evidence = spec_text(ind.evidence, year)
    if rule.type == "computed_target":
        return _Row(_boxed(cells, (findings, given, f"{C_COMMENT}{r}")), (), evidence, score_name(level, ind.id))
    cells.append((f"{C_COMMENT}{r}", Cell(None, style="input_text")))
    conditionals = []
    if rule.type in DEDUCTING:
        cells.append((findings, Cell(None, style="input_number", local_name=findings_name(level, ind.id),
                                     number_format="0",
                                     validation=Validation("whole", "0", f"{ind.id} 发现问题处数请填写不小于0的整数"
                                                           "（没有问题填0）", operator="greaterThanOrEqual",
                                                           prompt=f"实地验收中每{rule.per}扣"
                                                                  f"{(rule.deduction_step or rule.step):g}分，没有问题填0"))))
        conditionals.append(Conditional(findings, f"ISBLANK({findings})", "missing"))
    ok_findings = f"{findings}>=0,ROUND({findings},0)={findings}"
    if rule.type == "deduction":
        limit = ind.points / rule.step
        formula = (f'IF(ISNUMBER({findings}),IF(AND({ok_findings}),IF({findings}>={_num(limit)},0,'
                   f'ROUND({_num(ind.points)}-{_num(rule.step)}*{findings},{digits})),""),"")')
        status = (f'IF(ISBLANK({findings}),{fx.text(STATUS_FINDINGS)},IF(ISNUMBER({score}),"",'
                  f'{fx.text(STATUS_FINDINGS_BAD)}))')
    else:
        values = given_values(ind, spec=spec)
        shown = ",".join(f"{v:g}" for v in values)
        what = "奖励分" if rule.type == "per_item_with_deduction" else "评审给分"
        cells.append((given, Cell(None, style="input_choice", local_name=given_name(level, ind.id),
                                  validation=Validation("list", f'"{shown}"', f"{ind.id} {what}只能选择评分规则允许的分值："
                                                        + "、".join(f"{v:g}" for v in values)))))
        conditionals.append(Conditional(given, f"ISBLANK({given})", "missing"))
        rng = params.lists[ind.id]
        if rule.type == "per_item_with_deduction":
            step = _num(rule.deduction_step)
            formula = (f'IF(AND(ISNUMBER({given}),ISNUMBER({findings})),IF(AND(COUNTIF({rng},{given})>0,'
                       f'{ok_findings}),IF({findings}>={given}/{step},0,ROUND({given}-{step}*{findings},{digits})),'
                       f'""),"")')
            status = (f'IF(ISBLANK({given}),{fx.text(STATUS_SCORE)},IF(ISBLANK({findings}),{fx.text(STATUS_FINDINGS)},'
                      f'IF(ISNUMBER({score}),"",IF(IF(ISNUMBER({given}),COUNTIF({rng},{given})>0,FALSE),'
                      f'{fx.text(STATUS_FINDINGS_BAD)},{fx.text(STATUS_RULE)}))))')
        else:
            formula = fx.counted_score(given, [(None, rng)])
            status = f'IF(ISBLANK({given}),{fx.text(STATUS_SCORE)},IF(ISNUMBER({score}),"",{fx.text(STATUS_RULE)}))'
    return _Row(_boxed(cells, (findings, given)), tuple(conditionals), evidence, score_name(level, ind.id), formula,
                status)


def _boxed(cells: list[tuple[str, Cell]], refs: tuple[str, ...]) -> tuple[tuple[str, Cell], ...]:
    """The row's `cells`, and a blank locked cell with the table's border at each of `refs` the row has nothing to
    enter in (评审给分 of an item scored by 发现问题处数 alone, all three of a recomputed unit-1 item, all but three
    of the row showing a unit's choice): every row boxed alike."""
    present = {ref for ref, _ in cells}
    return (*cells, *((ref, _fixed(None, style="label")) for ref in refs if ref not in present))


def _indicator_row(sheet: SheetPlan, r: int, ind: Indicator, unit: ReviewUnit, card: ScoreCard, row: _Row,
                   formats: dict[str, str], shared: dict[tuple, Cell]) -> None:
    score, note = f"{C_SCORE}{r}", f"{C_NOTE}{r}"
    cells = row.cells
    for ref, cell in cells:                         # 编号, 评价内容, 分值, 评分方法, 评审意见 and the inputs
        sheet.put(ref, cell)
    listed = unit.evidence.get(ind.id)
    sheet.put(f"{C_EVIDENCE}{r}", Cell(row.evidence + f"\n单位提供：{listed}", style="wrap") if listed else
              _shared_cell(shared, ("evidence", r), row.evidence, style="wrap"))
    own = unit.self_scores.get(ind.id)
    sheet.put(f"{C_SELF}{r}", _shared_cell(shared, ("self", type(own), own), own, style="calc",
                                           number_format=formats["score"]))
    item = card.items[ind.id]
    if ind.rule.type == "computed_target":
        sheet.put(score, _shared_cell(shared, ("score", r, type(item), item), item, style="calc",
                                      local_name=row.score_name, number_format=formats["score"]))
        sheet.put(note, Cell(_decline_note(unit, ind.rule.metric), style="status") if item is not None else
                  _shared_cell(shared, ("note", r), STATUS_NO_DATA, style="status"))     # the unit's own figures
        return
    sheet.conditionals.extend(row.conditionals)
    blank = item if item is not None else ""
    sheet.put(score, _shared_cell(shared, ("score", r, type(blank), blank), formula=row.formula, style="calc",
                                  local_name=row.score_name, blank=blank, number_format=formats["score"]))
    status = card.status[ind.id]
    sheet.put(note, _shared_cell(shared, ("status", r, type(status), status), formula=row.status, style="status",
                                 blank=status))


def _shared_cell(shared: dict[tuple, Cell], key: tuple, value: Any = None, **fields: Any) -> Cell:
    """The one Cell of the pack for what `key` says a cell shows (its place and value): scorecards share it (a
    plan's cells are never changed), so a streaming writer finds it by identity instead of writing it again."""
    cell = shared.get(key)
    if cell is None:
        shared[key] = cell = Cell(value, **fields)
    return cell


def _fmt(x: Any, digits: int) -> str:
    return "—" if not isinstance(x, (int, float)) or isinstance(x, bool) else f"{x:.{digits}f}"


def _verdict(ok: Any) -> str:
    return "数据不全" if ok is None else ("达标" if ok else "未达标")


def _decline_note(unit: ReviewUnit, metric: str) -> str:
    d = unit.decline.get(metric, {})
    return f"变化率 {_fmt(d.get('chg'), 2)}%，目标 ≤ {_fmt(d.get('target'), 2)}%：{_verdict(d.get('ok'))}（按单位数据重算，已锁定）"


def _decline_block(sheet: SheetPlan, r: int, spec: Spec, unit: ReviewUnit, year: int) -> int:
    """The recomputed decline table from row `r`; returns its last row."""
    formats = number_formats(spec)
    sheet.put(f"A{r}", _fixed("第一单元 强度指标下降率（按单位填报的两个年度数据重算，已锁定）", style="section"))
    r += 1
    for col, text in zip("ABCDEFGH", ("编号", "指标", None, f"{year - 2}年", f"{year - 1}年", "变化率(%)", "目标(%)", "结果")):
        sheet.put(f"{col}{r}", _fixed(text, style="header"))
    by_metric = {i.rule.metric: i for i in spec.indicators if i.rule.type == "computed_target"}
    for intensity in spec.decline_intensities:
        r += 1
        d = unit.decline.get(intensity.key, {})
        ind = by_metric.get(intensity.key)
        sheet.put(f"A{r}", _fixed(ind.id if ind else "", style="label"))
        sheet.put(f"B{r}", _fixed(f"{intensity.decline_label}（{intensity.unit}）", style="wrap"))
        sheet.put(f"C{r}", _fixed(None, style="wrap"))
        for col, key, fmt in (("D", "prev", "intensity"), ("E", "cur", "intensity"), ("F", "chg", "change"),
                              ("G", "target", "change")):
            sheet.put(f"{col}{r}", Cell(d.get(key), style="calc", number_format=formats[fmt]))
        sheet.put(f"H{r}", _fixed(_verdict(d.get("ok")), style="status"))
    sheet.put(f"A{r + 1}", _fixed(f"变化率 = (本年 − 上年) ÷ 上年 × 100，先四舍五入保留{spec.precision.change_pct}位"
                                  "小数，再与目标比较；不高于目标即达标，达标的指标得该项分值。", style="note"))
    sheet.merges.append(f"A{r + 1}:{C_COMMENT}{r + 1}")
    return r + 1


# ---------------------------------------------------------------- 总览

def _overview_sheet(spec: Spec, reviewer: Reviewer, units: Sequence[ReviewUnit], titles: Sequence[str],
                    cards: Sequence[ScoreCard], year: int, region: str | None, seed: int | str | None) -> SheetPlan:
    sheet = SheetPlan(title=OVERVIEW, freeze=f"C{O_FIRST_ROW}",
                      print_title_rows=f"{O_HEADER_ROW}:{O_HEADER_ROW}", landscape=True,
                      widths={O_SEQ: 6, O_NAME: 36, O_CODE: 21, O_LEVEL: 10, O_REGION: 14, O_SELF: 8, O_TOTAL: 16,
                              O_DONE: 6, O_TODO: 6, O_SPOT: 18, O_SHEET: 12})
    formats = number_formats(spec)
    sheet.put("A1", Cell(f"节约型机关复验评审总览（{year}年）：{reviewer.label}", style="title"))
    sheet.merges.append(f"A1:{O_SHEET}1")
    scope = f"{'、'.join(reviewer.covers)}单位" + (f"，限{region}" if region else "")
    seed_text = f"抽查种子 {seed}" if seed is not None else "未指定抽查种子"
    sheet.put("A2", Cell(f"范围：{scope}；共 {len(units)} 个单位；{seed_text}。点击「评分表」一列进入该单位的评分表（工作表名称以同一编号开头）。",
                         style="note"))
    sheet.merges.append(f"A2:{O_SHEET}2")
    last = O_FIRST_ROW + len(units) - 1
    totals = f"{O_TOTAL}{O_FIRST_ROW}:{O_TOTAL}{last}"
    done_blank = sum(isinstance(c.total, float) for c in cards)
    sheet.put(f"{O_SEQ}3", Cell("已完成评审的单位（评审总分已算出）", style="label_total"))
    sheet.merges.append(f"{O_SEQ}3:{O_NAME}3")
    # One figure, 「2 / 12」: the count stays a number (COUNT), its format writes the pack's units after it (all of
    # them, `titles`, also in the prototype of a streamed 总览 laid out for its first unit only).
    sheet.put(f"{O_CODE}3", Cell(formula=f"COUNT({totals})", style="calc_total", blank=done_blank,
                                 number_format=f'0" / {len(titles)}"'))
    for col, text in zip("ABCDEFGHIJK", ("序号", "单位名称", "统一社会信用代码", "单位层级", "所属地区", "自评总分",
                                         "评审总分", "已评", "未评", "实地抽查", "评分表")):
        sheet.put(f"{col}{O_HEADER_ROW}", Cell(text, style="header"))
    n = len(spec.indicators)
    total, missing = HEAD["total"][1], HEAD["missing"][1]
    for i, (unit, title, c) in enumerate(zip(units, titles, cards)):
        r = O_FIRST_ROW + i
        sheet.put(f"{O_SEQ}{r}", Cell(i + 1, style="unit"))
        sheet.put(f"{O_NAME}{r}", Cell(unit.name, style="wrap"))
        sheet.put(f"{O_CODE}{r}", Cell(unit.code, style="info_locked"))
        sheet.put(f"{O_LEVEL}{r}", Cell(unit.level, style="unit"))
        sheet.put(f"{O_REGION}{r}", Cell(unit.region, style="label"))
        sheet.put(f"{O_SELF}{r}", Cell(unit.self_total, style="calc", number_format=formats["score"]))
        sheet.put(f"{O_TOTAL}{r}", Cell(formula=_ref(title, total), style="calc_total", blank=c.total,
                                        number_format=formats["score"]))
        sheet.put(f"{O_DONE}{r}", Cell(formula=f"{n}-{_ref(title, missing)}", style="calc", blank=n - c.missing))
        sheet.put(f"{O_TODO}{r}", Cell(formula=_ref(title, missing), style="calc", blank=c.missing))
        sheet.put(f"{O_SPOT}{r}", Cell("、".join(unit.spot), style="wrap"))
        sheet.put(f"{O_SHEET}{r}", Cell(f"第 {title.split(' ', 1)[0]} 张", style="unit", link=f"'{title}'!A1"))
        sheet.conditionals.append(Conditional(f"{O_TOTAL}{r}", f"NOT(ISNUMBER({O_TOTAL}{r}))", "warn"))
    return sheet


# ---------------------------------------------------------------- 说明, _meta

def _guide_sheet(spec: Spec, reviewer: Reviewer, units: Sequence[ReviewUnit], year: int, region: str | None,
                 seed: int | str | None, spot_groups: Sequence[SpotCheckGroup], skipped: Sequence[str],
                 part: PackPart) -> SheetPlan:
    sheet = SheetPlan(title=GUIDE, widths={"A": GUIDE_WIDTH})
    deducting = [i for i in spec.indicators if i.rule.type in DEDUCTING]
    awarded = "、".join(i.id for i in deducting if i.rule.type == "per_item_with_deduction")
    lines = [
        ("title", f"节约型机关复验评审包（{year}年复验）"),   # the reviewer below: a long title runs off the page
        ("section", "本评审包"),
        ("wrap", f"评审部门：{reviewer.label}"),
        ("wrap", f"评审范围：{'、'.join(reviewer.covers)}单位" + (f"，限所属地区为「{region}」的单位" if region else "")
                 + f"；共 {len(units)} 个单位，每个单位一张评分表。「{OVERVIEW}」列出全部单位、自评总分、评审总分和进度。"),
        ("wrap", "单位信息、自评分和第一单元的下降率都按单位交回的工作簿重新计算，已锁定；只有蓝色单元格可填写。"),
    ]
    if part.count > 1:
        lines.append(("wrap", f"本评审包分为 {part.count} 个工作簿，这是第 {part.number} 个（{part.label}）：评完后请把"
                              f"全部 {part.count} 个工作簿一并交回，汇总时合为同一份评审。"))
    lines += [
        ("section", "各级评审部门评审哪些单位"),
    ]
    for r in reviewers(spec):
        lines.append(("wrap", f"{r.short}（{r.label}）：评审{'、'.join(r.covers)}单位"
                              + ("（本评审包）" if r.key == reviewer.key else "")))
    lines += [
        ("wrap", "每级评审本级及以下各级的单位；上级评审部门用于资料审核、实地抽查和复核。"),
        ("section", "怎么评"),
        ("wrap", "1. 在每张评分表上填写评审人和评审日期；打印的评分表下方有评审人签字和日期处。"),
        ("wrap", "2. 逐项从下拉列表选择「评审给分」，只能选择评分规则允许的分值；第七单元两条路径的分值都可选择，"
                 "单位自评时的选择列在该指标上方。"),
        ("wrap", "3. 实地验收中「每存在1处扣x分」的指标（" + "、".join(i.id for i in deducting) + "）：填写「发现问题处数」"
                 "（没有问题填0），评审得分由公式计算：满分（或所选奖励分）− 每处扣分 × 处数，不低于0。"
                 + (f"其中 {awarded} 先选择奖励分再填写处数。" if awarded else "")),
        ("wrap", "4. 第一单元按单位填报的两个年度能耗数据重算下降率并计分，已锁定；重算结果列在每张评分表的下方。"),
        ("wrap", "5. 每项可在「评审意见」中写明理由。有未评分或不合规的指标时，单元小计和评审总分显示"
                 f"「{MISSING_TEXT[0]}N{MISSING_TEXT[1]}」，不显示不完整的合计；「提示」一列说明每项缺什么。"),
        ("section", "颜色"),
        ("legend_input", "蓝色：由评审人填写"),
        ("missing", "红色底：尚未填写"),
        ("label", "白色：单位数据、说明和计算结果，已锁定"),
        ("section", "实地抽查"),
    ]
    lines += [("wrap", line) for line in spot_check_method(seed, spec)]
    for g in spot_groups:
        lines.append(("wrap", f"{g.title}：{len(g.population)} 个单位，抽取 {len(g.sample)} 个"))
    lines.append(("wrap", "抽中的单位在「总览」和评分表的「实地抽查」中标明，与同一种子的抽查名单相同。"))
    lines.append(("section", "未纳入本评审包的单位"))
    lines += [("wrap", line) for line in skipped] or [("wrap", "无")]
    for r, (style, text) in enumerate(lines, start=1):
        sheet.put(f"A{r}", Cell(text, style=style))
    sheet.sections = tuple(r for r, (style, _) in enumerate(lines, start=1) if style == "section")
    return sheet


def _meta_sheet(spec: Spec, reviewer: Reviewer, year: int, preset: str, region: str | None,
                seed: int | str | None, signature: str | None, scorecards: int, part: PackPart) -> SheetPlan:
    sheet = SheetPlan(title=META_SHEET, state="hidden", widths={"A": 20, "B": 70})
    values = {"template_version": REVIEW_TEMPLATE_VERSION, "workbook_kind": WORKBOOK_KIND,
              "review_level": reviewer.key, "review_region": region or None, "assessment_year": year,
              "factor_preset": preset, "spec_digest": spec.digest,
              "spot_check_seed": None if seed is None else str(seed), SIGNATURE_NAME: signature,
              SCORECARD_COUNT: scorecards, "pack_id": part.pack_id, "pack_part": part.number,
              "pack_parts": part.count, "pack_part_label": part.label or None}
    assert tuple(values) == REVIEW_META_NAMES, "the _meta names and values must match workbook_templates.contract"
    for r, (name, value) in enumerate(values.items(), start=1):
        sheet.put(f"A{r}", Cell(name))
        sheet.put(f"B{r}", Cell(value, name=name, style="info_locked"))
    return sheet
