"""Checking one returned workbook: from what it says (`Extracted`) to clean inputs, recomputed figures and findings.

Pure: plain values in, plain values out — no file, no Excel. The reader (`addin/consolidate/read.py`) turns a
file into `Extracted`; `check_extracted` does the rest:

1. Every input is read the way the checks need it: numbers as floats, blanks as None, text numbers normalised
   only when the form is unambiguous (full-width digits, surrounding spaces, well-formed thousands separators).
2. `udfs.evaluate` recomputes every derived figure from those inputs: these `results` are what the summary uses,
   never the file's cached values.
3. The checks of `CHECKS` run in order, each a small function of the context returning findings, so the
   pipeline reads like the table in checks.toml: input checks (E2xx), integrity (W3xx, I304), plausibility (W4xx).

Integrity compares the file's cached values with what *its own formulas* compute from the cells as they are:
a cell holding the text "1,234" is blank to the workbook (ISNUMBER is false; `generator.formulas.clean_quantity`)
and to `udfs.evaluate` alike, so a text or negative input never causes a W302 by itself. When a text number was
normalised (I210), the cached values are compared with a second evaluation of the raw cells, and the summary
uses the evaluation of the normalised inputs.
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any, Callable, Iterable, Mapping, NamedTuple, Sequence

from workbook_templates import SLOTS, Spec, contract_names
from workbook_templates.model import EnergyItem, Indicator, YearTargets
from workbook_templates.names import SLOT_MEANING

from .choices import preset_of, year_of
from .energy import co2_t_per_unit
from .decline import decline_blockers
from .evaluate import columns_to_records, evaluate_columns
from .intake import Extracted, Finding
from .numbers import as_number
from .scoring import legal_values, validate_score
from .unit_code import check_unit_code

__all__ = ["CheckResult", "Check", "CHECKS", "Choices", "Context", "check_extracted", "normalise_number", "parse_number",
           "same_cached"]

MAX_LISTED_MISSING = 10
"""E208: more missing names than this are reported as one finding listing the first ones."""

CONSTANT_PREFIXES = ("target_",)
"""Derived names the workbook holds as constants, not formulas (the decline targets on 强度指标下降率, see
generator/layout.py `_decline_sheet`): their value is compared, their formula-ness is not."""

SIGNIFICANT = 15
"""Numbers are compared as Excel stores them: to 15 significant digits. openpyxl writes 16 and LibreOffice 15,
so the 参数 factor 0.0029720639999999995 comes back as 0.002972064 from a file nobody edited."""

_PLAIN = re.compile(r"[+-]?(?:\d+(?:\.\d+)?|\.\d+)")
_THOUSANDS = re.compile(r"([+-]?)(\d{1,3}(?:,\d{3})+(?:\.\d+)?)")
HINT_WINDOW = 24
"""How far before 万/亿 the text-number hint looks for the number it quotes: a bounded window keeps the hint
linear in the text (a search over the whole text backtracks quadratically: "1"×32765 + ".万" took 30 s)."""
_WAN_BEFORE = re.compile(r"([+-]?\d{1,15}(?:\.\d{1,6})?)\s{0,3}\Z")
QUOTE_LIMIT = 40
"""Characters of a text value quoted in a message; the rest is counted, never copied (a cell holds 32 767)."""
_UNIT_WORDS = ("千瓦时", "度", "吨", "公斤", "千克", "元", "万元", "立方米", "方", "平方米", "平米", "升", "吉焦",
               "人", "辆", "台", "个", "米", "㎡", "m²", "m³")
_LETTERS = re.compile(r"[A-Za-z]")
_MINUS_SIGNS = str.maketrans({"−": "-", "–": "-", "—": "-", "﹣": "-"})


# ---------------------------------------------------------------- result and context

@dataclass(frozen=True)
class Choices:
    """The choices besides year and preset that a workbook was made with (its `_meta`): None is the default —
    the preset's grid factor, the spec's switches, the standard version the year names."""

    grid_factor: str | None = None
    switches: tuple[tuple[str, str], ...] = ()
    standard: str | None = None

    def kwargs(self) -> dict[str, Any]:
        return {"grid_factor": self.grid_factor, "switches": dict(self.switches), "standard": self.standard}


@dataclass
class CheckResult:
    inputs: dict[str, Any]          # clean inputs for udfs.evaluate: every input contract name
    results: dict[str, Any]         # udfs.evaluate(inputs, year, preset): the figures used downstream
    findings: list[Finding]
    blocking: bool                  # any finding of severity 错误: the unit is not ranked


class Parsed(NamedTuple):
    """One numeric input as read: its value (None unless a usable number) and what it was."""

    value: float | None
    status: str        # blank | number | normalised | text | bool | invalid
    raw: Any = None


@dataclass(frozen=True)
class _Names:
    """The contract, arranged for the checks (one per spec, cached by digest)."""

    order: tuple[str, ...]                              # every contract name, workbook order
    meaning: Mapping[str, str]
    quantities: tuple[tuple[str, str, EnergyItem], ...]  # (name, slot, item), contract order
    scores: tuple[tuple[str, Indicator], ...]           # self-score inputs, contract order
    selectors: tuple[str, ...]
    inputs: tuple[str, ...]                             # kinds input + score-input, contract order
    derived: tuple[str, ...]                            # formula cells: derived, decline, score-derived
    constants: tuple[str, ...]                          # derived names held as constants (target_*)
    unit1: frozenset[str]                               # self_1_1_* and ok_*: W402 instead of W302
    quantity_of: Mapping[str, tuple[str, EnergyItem]]   # quantity name → (slot, item)
    score_of: Mapping[str, Indicator]                   # self-score input name → indicator
    numeric: tuple[str, ...]                            # the names of `quantities`, then of `scores`


_NAMES: dict[str, _Names] = {}


def _names(spec: Spec) -> _Names:
    cached = _NAMES.get(spec.digest)
    if cached is not None:
        return cached
    names = contract_names(spec)
    by_name = {f"{slot}_{item.name}": (slot, item) for slot in SLOTS for item in spec.items}
    score_inputs = {i.score_name: i for i in spec.indicators if i.rule.type != "computed_target"}
    selectors = tuple(n.name for n in names if n.kind == "input" and n.name not in by_name)
    derived_all = [n.name for n in names if n.kind in ("derived", "decline", "score-derived")]
    unit1 = {i.score_name for i in spec.indicators if i.rule.type == "computed_target"}
    unit1 |= {f"ok_{i.key}" for i in spec.decline_intensities}
    quantities = tuple((n.name, *by_name[n.name]) for n in names if n.name in by_name)
    scores = tuple((n.name, score_inputs[n.name]) for n in names if n.name in score_inputs)
    out = _Names(
        order=tuple(n.name for n in names if n.kind != "evidence"),   # 佐证材料 lists: optional, never E208/E202
        meaning={n.name: n.meaning for n in names},
        quantities=quantities,
        scores=scores,
        selectors=selectors,
        inputs=tuple(n.name for n in names if n.kind in ("input", "score-input")),
        derived=tuple(n for n in derived_all if not n.startswith(CONSTANT_PREFIXES)),
        constants=tuple(n for n in derived_all if n.startswith(CONSTANT_PREFIXES)),
        unit1=frozenset(unit1),
        quantity_of=by_name,
        score_of=score_inputs,
        numeric=tuple(q[0] for q in quantities) + tuple(s[0] for s in scores),
    )
    _NAMES[spec.digest] = out
    return out


@dataclass
class Context:
    """Everything a check may look at: the file as read, the spec, the parsed inputs and both evaluations."""

    ex: Extracted
    spec: Spec
    names: _Names
    years: YearTargets
    preset: str
    run_digest: str | None
    parsed: dict[str, Parsed]           # numeric inputs (quantities and self-scores)
    selected: dict[str, Any]            # unit-7 selector → the value used
    normalised_selectors: dict[str, str]
    inputs: dict[str, Any] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    as_saved: dict[str, Any] = field(default_factory=dict)   # evaluate of the cells as the workbook sees them
    choices: Choices = field(default_factory=lambda: Choices())   # grid factor, switches, standard version

    def finding(self, code: str, message: str, name: str = "") -> Finding:
        return Finding(code, message, name, self.ex.cells.get(name, "") if name else "")

    def present(self, name: str) -> bool:
        return name in self.ex.cells

    @cached_property
    def integrity_names(self) -> list[str]:
        """The formula names the file holds without an error value (made once per file: three checks ask)."""
        return [n for n in self.names.derived if self.present(n) and n not in self.ex.errors]

    def label(self, name: str) -> str:
        """A quantity's row as a person reads it: 「2022年度 用能人数」."""
        if name in self.names.quantity_of:
            slot, item = self.names.quantity_of[name]
            return f"{self.years.data_year(slot)}年度 {_row_label(self.spec, item)}"
        if name in self.names.score_of:
            return f"自评分 {self.names.score_of[name].id}"
        meaning = self.names.meaning.get(name, name)
        for slot in SLOTS:   # 「上一数据年度（复验年度−2） 人均能耗」 → 「2021年度 人均能耗」
            if name.startswith(f"{slot}_") and meaning.startswith(SLOT_MEANING[slot]):
                return f"{self.years.data_year(slot)}年度{meaning[len(SLOT_MEANING[slot]):]}"
        return meaning


def _row_label(spec: Spec, item: EnergyItem) -> str:
    if item.parent:
        return item.label.replace("其中：", f"其中（{spec.item(item.parent).label}）：")   # as names.slot_figures
    return item.label


# ---------------------------------------------------------------- reading one value

def normalise_number(text: str) -> float | None:
    """The number an unambiguous text form means, else None.

    Accepted: NFKC (full-width digits, dot, minus, comma → ASCII), surrounding spaces, a plain decimal
    ("1234", "-5", "0.5"), and thousands separators only in their exact form (^\\d{1,3}(,\\d{3})+(\\.\\d+)?$).
    Not accepted: "1,23", "1 234", "2000万", "1e3", "inf", units, percent signs.
    """
    t = unicodedata.normalize("NFKC", text).translate(_MINUS_SIGNS).strip()
    if _PLAIN.fullmatch(t):
        x = float(t)
    elif m := _THOUSANDS.fullmatch(t):
        x = float(m.group(1) + m.group(2).replace(",", ""))
    else:
        return None
    return x if math.isfinite(x) else None


_new_parsed = tuple.__new__
"""A `Parsed` without its Python-level __new__."""


def parse_number(value: Any) -> Parsed:
    """One numeric input cell's value as the checks read it."""
    if type(value) is float:             # the common case, as `as_number` reads it
        if math.isfinite(value):
            return _new_parsed(Parsed, (value + 0.0, "number", value))     # made in C (~80 a file)
        return Parsed(None, "invalid", value)
    if value is None:
        return Parsed(None, "blank", value)
    if isinstance(value, bool):
        return Parsed(None, "bool", value)
    if isinstance(value, str):
        if not value.strip():
            return Parsed(None, "blank", value)
        x = normalise_number(value)
        return Parsed(None, "text", value) if x is None else Parsed(x + 0.0, "normalised", value)
    if isinstance(value, (datetime, date, time, timedelta)):
        return Parsed(None, "invalid", value)
    x = as_number(value)
    return Parsed(None, "invalid", value) if x is None else Parsed(x + 0.0, "number", value)


def _fmt(x: Any) -> str:
    """A value in a message: numbers as Excel shows them (15 significant digits, no .0), text quoted."""
    if x is None:
        return "空白"
    if isinstance(x, bool):
        return "TRUE" if x else "FALSE"
    n = as_number(x)
    if n is not None:
        if n == int(n) and abs(n) < 1e15:
            return str(int(n))
        return f"{n:.{SIGNIFICANT}g}"
    return _quote(x)


def _quote(x: Any) -> str:
    """A text value in a message: quoted, at most QUOTE_LIMIT characters."""
    text = str(x)
    return f"“{text}”" if len(text) <= QUOTE_LIMIT else f"“{text[:QUOTE_LIMIT]}…”（共 {len(text)} 个字符）"


def _same_number(a: float, b: float) -> bool:
    return a == b or f"{a:.{SIGNIFICANT}g}" == f"{b:.{SIGNIFICANT}g}"


def same_cached(cached: Any, expected: Any) -> bool:
    """A cached cell value equals a recomputed one: "" is blank, booleans must be booleans, numbers are equal
    as Excel stores them (54 equals 54.0)."""
    if type(cached) is float and type(expected) is float:   # the common case, as below
        return math.isfinite(cached) and (cached == expected or _same_number(cached, expected))
    if isinstance(cached, str) and cached == "":
        cached = None
    if expected is None or cached is None:
        return cached is None and expected is None
    if isinstance(expected, bool):
        return isinstance(cached, bool) and cached == expected
    if isinstance(cached, bool):
        return False
    got = as_number(cached)
    return got is not None and _same_number(got, float(expected))


# ---------------------------------------------------------------- input checks (E2xx, I210)

def check_assessment_year(ctx: Context) -> Iterable[Finding]:
    """F111: the workbook was generated for another assessment year."""
    found = parse_number(ctx.ex.values.get("assessment_year")).value
    if found is not None and found != ctx.years.year:
        yield ctx.finding("F111", f"工作簿是 {_fmt(found)} 年复验的，本次汇总 {ctx.years.year} 年："
                                  f"请使用 {ctx.years.year} 年复验下发的工作簿重新填报", "assessment_year")


def check_spec_digest(ctx: Context) -> Iterable[Finding]:
    """F112: the workbook was generated from another spec (factors, rules); figures are recomputed anyway."""
    found = ctx.ex.values.get("spec_digest")
    if ctx.run_digest and found != ctx.run_digest:
        shown = f"{str(found)[:12]}…" if found else "未记录"
        yield ctx.finding("F112", f"工作簿生成时的规格（摘要 {shown}）与本次汇总的规格（摘要 {ctx.run_digest[:12]}…）"
                                  "不同：已按本次汇总的规格重算；如结果有疑问，请核对下发的模板版本", "spec_digest")


def check_missing_names(ctx: Context) -> Iterable[Finding]:
    """E208: contract names the workbook should define but does not (rows inserted or deleted, an old template)."""
    missing = [n for n in ctx.names.order if not ctx.present(n)]
    tail = "：可能插入或删除了行、或使用了旧模板，请用下发的工作簿重新填写"
    if len(missing) > MAX_LISTED_MISSING:
        listed = "、".join(missing[:MAX_LISTED_MISSING])
        yield ctx.finding("E208", f"工作簿缺少 {len(missing)} 个名称（前 {MAX_LISTED_MISSING} 个：{listed} 等）{tail}")
        return
    for n in missing:
        yield ctx.finding("E208", f"工作簿缺少名称 {n}（{ctx.label(n)}）{tail}", n)


def check_error_values(ctx: Context) -> Iterable[Finding]:
    """E202: a contract name whose cell holds an error value."""
    if not ctx.ex.errors:
        return
    computed = set(ctx.names.derived) | set(ctx.names.constants)
    for n in ctx.names.order:
        if n in ctx.ex.errors:
            err = ctx.ex.errors[n]
            if n in computed:
                what = f"「{ctx.label(n)}」的计算单元格被破坏（已按重算值汇总），请用下发的工作簿重新填写"
            elif n in ctx.parsed:
                what = f"请把「{ctx.label(n)}」改为数字（没有的填 0）"
            else:
                what = f"请重新填写「{ctx.label(n)}」"
            yield ctx.finding("E202", f"单元格为错误值 {err}：{what}", n)


def _text_hint(text: str, unit: str) -> str:
    t = unicodedata.normalize("NFKC", text)
    if "万" in t or "亿" in t:
        return f"请填写纯数字，如 {_wan_example(t)}"
    if any(w in t for w in _UNIT_WORDS) or _LETTERS.search(t):
        return f"请只填数字，不要带单位（本行单位为 {unit}）" if unit else "请只填数字，不要带单位"
    if "," in t:
        return "千分位逗号的位置不对，无法确定数值：请填写纯数字，不要加逗号"
    return "请填写数字（不要带单位或文字）"


def _wan_example(t: str) -> str:
    """「2000万 填 20000000」 for the number written just before the first 万/亿 of `t` (the generic example when
    there is none, or it is longer than 15 digits): looked for in a bounded window, so linear in `t`."""
    at = min(i for i in (t.find("万"), t.find("亿")) if i >= 0)
    start = max(0, at - HINT_WINDOW)
    m = _WAN_BEFORE.search(t, start, at)
    if m is None or (m.start() > 0 and t[m.start() - 1].isdigit()):
        return "2000万 填 20000000"
    number, unit = m.group(1), t[at]
    value = Decimal(number) * (10_000 if unit == "万" else 100_000_000)
    return f"{number}{unit} 填 {_fmt(float(value))}"


def check_numbers(ctx: Context) -> Iterable[Finding]:
    """E201 text or TRUE/FALSE in a numeric cell (not counted); I210 a text number read unambiguously;
    E203 a negative quantity (not counted). Negative self-scores are E207 (not a legal score)."""
    quantities = ctx.names.quantity_of
    for n in _numeric_order(ctx):
        p = ctx.parsed[n]
        if p.status in ("number", "blank") and (p.value is None or n not in quantities or p.value >= 0):
            continue                                     # the common cases: nothing to say (and no label to make)
        where = ctx.label(n)
        if p.status == "text":
            unit = quantities[n][1].unit if n in quantities else ""
            yield ctx.finding("E201", f"「{where}」填的是文本{_quote(p.raw)}，未计入：{_text_hint(p.raw, unit)}", n)
        elif p.status == "bool":
            yield ctx.finding("E201", f"「{where}」填的是逻辑值 {_fmt(p.raw)}，不是数字，未计入：请填写数字", n)
        elif p.status == "invalid":
            yield ctx.finding("E201", f"「{where}」的值 {_quote(p.raw)} 不是有效数字，未计入：请填写数字", n)
        elif p.status == "normalised":
            yield ctx.finding("I210", f"{_quote(p.raw)}已按 {_fmt(p.value)} 读取", n)
        if n in quantities and p.value is not None and p.value < 0:
            yield ctx.finding("E203", f"「{where}」为负数 {_fmt(p.value)}，未计入：数量不能为负数，请填写实际数量（没有的填 0）", n)
    for n, text in ctx.normalised_selectors.items():
        yield ctx.finding("I210", f"“{ctx.ex.values.get(n)}”已按 “{text}” 读取", n)


def _numeric_order(ctx: Context) -> list[str]:
    """Quantities and self-scores, in contract order, that are present and not error values."""
    parsed, errors = ctx.parsed, ctx.ex.errors
    return [n for n in ctx.names.order if n in parsed and ctx.present(n) and n not in errors]


def _quantity(ctx: Context, name: str) -> float | None:
    """A usable quantity: a number ≥ 0 (after normalisation), else None."""
    v = ctx.parsed[name].value
    return v if v is not None and v >= 0 else None


def check_bounds(ctx: Context) -> Iterable[Finding]:
    """E220: a quantity above the largest value one 机关 can report (checks.toml [bounds], each with its reason):
    impossible, not merely unusual — the unit is not ranked until it is corrected."""
    bounds = ctx.spec.plausibility.bounds
    for n, _, item in ctx.names.quantities:
        bound, value = bounds.get(item.key), ctx.parsed[n].value
        if bound is not None and value is not None and value > bound.max:
            yield ctx.finding("E220", f"「{ctx.label(n)}」为 {_fmt(value)} {item.unit}，超过合理上限 {bound.max:g} {item.unit}"
                                      f"（{bound.reason}）：请核对数值和计量单位（是否多填了位数或填成了其他单位）后改正", n)


def check_sub_rows(ctx: Context) -> Iterable[Finding]:
    """E204: a 其中 row larger than its parent row (same data year)."""
    for n, slot, item in ctx.names.quantities:
        if not item.parent:
            continue
        parent = ctx.spec.item(item.parent)
        pn = f"{slot}_{parent.name}"
        sub, whole = _quantity(ctx, n), _quantity(ctx, pn)
        if sub is not None and whole is not None and sub > whole:
            yield ctx.finding("E204", f"「{ctx.label(n)}」{_fmt(sub)} 大于「{parent.label}」{_fmt(whole)}："
                                      "其中项不能大于上级，请核对这两行", n)


def check_required(ctx: Context) -> Iterable[Finding]:
    """E205: a required row left blank (a 0 is a real zero; text and errors are reported by E201/E202)."""
    for n, slot, item in ctx.names.quantities:
        if item.required and ctx.present(n) and n not in ctx.ex.errors and ctx.parsed[n].status == "blank":
            yield ctx.finding("E205", f"请填写{ctx.years.data_year(slot)}年度 {item.label}（必填项，单位：{item.unit}）", n)


def check_unit_code_valid(ctx: Context) -> Iterable[Finding]:
    """E206: the 统一社会信用代码 is missing or fails the GB 32100 checksum."""
    n = "unit_code"
    if ctx.present(n) and n not in ctx.ex.errors:
        problem = check_unit_code(ctx.ex.values.get(n))
        if problem:
            yield ctx.finding("E206", problem, n)


MAX_LISTED_UNSCORED = 12
"""E212: the unscored items listed by number (the rest counted)."""


def check_self_scores(ctx: Context) -> Iterable[Finding]:
    """E212 (once per unit) the self-assessment is incomplete: every item must be scored before it can be
    submitted (the deck: 「每一项都要点击评分确定提交，否则无法完成自评提交」) — the count and the items; E207 a score
    its rule does not allow. Unit 1 is computed from the decline table, not entered: it is checked by integrity
    (W402) and E211."""
    unscored = []
    errors = ctx.ex.errors
    for n, ind in ctx.names.scores:
        if not ctx.present(n) or n in errors:
            continue
        p = ctx.parsed[n]
        selector = ctx.selected.get(ind.rule.selector) if ind.rule.selector else None
        if p.status == "blank":
            unscored.append((n, ind))
        elif p.value is not None:
            if p.value in legal_values(ind, selector, spec=ctx.spec):
                continue                                 # `validate_score`'s first test, on the number itself
            shown = int(p.value) if abs(p.value) < 1e15 and p.value == int(p.value) else p.value
            problem = validate_score(ind, shown, selector, spec=ctx.spec)
            if problem:
                yield ctx.finding("E207", problem, n)
    if unscored:
        ids = [ind.id for _, ind in unscored]
        listed = "、".join(ids[:MAX_LISTED_UNSCORED]) + (" 等" if len(ids) > MAX_LISTED_UNSCORED else "")
        first, _ = unscored[0]
        yield ctx.finding("E212", f"自评未完成：「自评表」尚有 {len(ids)} 项未评分（{listed}）："
                                  "每一项都要从下拉列表选择自评分（不得分的选 0），全部评完才算完成自评，请补评后重新报送", first)


def check_declines(ctx: Context) -> Iterable[Finding]:
    """E211 (once per cause): a decline that cannot be computed — a people or area figure missing or 0, a year
    without energy or water, an earlier intensity of 0 — blocks its unit-1 indicator, and no reviewer can finish
    the scorecard: the finding names the field and every indicator it blocks (the workbook's 强度指标下降率 sheet
    shows the same text in its 结果 column, `udfs.decline.decline_blocker`)."""
    raw = {n: ctx.ex.values.get(n) for n, _, _ in ctx.names.quantities if n not in ctx.ex.errors}
    by_metric = {i.rule.metric: i for i in ctx.spec.indicators if i.rule.type == "computed_target"}
    labels = {i.key: i.decline_label for i in ctx.spec.decline_intensities}
    causes: dict[tuple[str, str], list] = {}
    for b in decline_blockers(raw, ctx.results, ctx.years.year, ctx.spec):
        causes.setdefault((b.field, b.what), []).append(b)
    for (name, what), blocked in causes.items():
        declines = "、".join(labels[b.intensity] for b in blocked)
        ids = "、".join(by_metric[b.intensity].id for b in blocked)
        yield ctx.finding("E211", f"{what}：{declines}的下降率无法计算，第一单元指标 {ids} 无法计分，评审也无法完成："
                                  f"{blocked[0].todo}后重新报送", name if ctx.present(name) else "")


# ---------------------------------------------------------------- integrity (W3xx, I304, W402)

def _unit1_message(ctx: Context, n: str, found: Any, how: str) -> str:
    def show(v: Any) -> str:
        return ("达标" if v else "未达标") if isinstance(v, bool) else _fmt(v)
    expected, used = ctx.as_saved.get(n), ctx.results.get(n)
    also = "" if same_cached(used, expected) else f"（按规范后的填报数据为 {show(used)}）"
    return (f"第一单元自评得分与下降率不一致：「{ctx.label(n)}」{how} {show(found)}，按下降率应为 {show(expected)}"
            f"{also}：已按重算值汇总；第一单元由下降率自动计分，请不要改写")


def check_overwritten(ctx: Context) -> Iterable[Finding]:
    """W301: a formula cell overwritten with a value (W402 for a unit-1 score or ok_* that then disagrees)."""
    for n in ctx.integrity_names:
        if n in ctx.ex.formulas:
            continue
        found, used = ctx.ex.values.get(n), ctx.results.get(n)
        if n in ctx.names.unit1 and not same_cached(found, ctx.as_saved.get(n)):
            yield ctx.finding("W402", _unit1_message(ctx, n, found, "的公式被改写为"), n)
        else:
            how = "被删除（单元格为空）" if found is None or found == "" else f"被改写为数值 {_fmt(found)}"
            yield ctx.finding("W301", f"「{ctx.label(n)}」的公式{how}，已按重算值 {_fmt(used)} 汇总："
                                      "请用下发的工作簿重新填写，不要改写计算单元格", n)


def check_cached(ctx: Context) -> Iterable[Finding]:
    """W302: a formula's cached value differs from what its formula gives for the cells as saved (a stale
    cache, or a value flowing from an overwritten cell); W402 when it is a unit-1 score or ok_*. The target
    constants (target_*) are compared as values."""
    formulas, cached, values, as_saved = ctx.ex.formulas, ctx.ex.cached, ctx.ex.values, ctx.as_saved
    for n in ctx.integrity_names:
        if n not in formulas or n not in cached:
            continue
        found, expected = values.get(n), as_saved.get(n)
        if same_cached(found, expected):
            continue
        if n in ctx.names.unit1:
            yield ctx.finding("W402", _unit1_message(ctx, n, found, "显示为"), n)
            continue
        used = ctx.results.get(n)
        also = "" if same_cached(used, expected) else f"；按规范后的填报数据汇总为 {_fmt(used)}"
        yield ctx.finding("W302", f"「{ctx.label(n)}」文件中的计算结果为 {_fmt(found)}，按公式重算为 "
                                  f"{_fmt(expected)}{also}：已按重算值汇总；请在 Excel/WPS 中打开、确认数据后保存再报送", n)
    for n in ctx.names.constants:
        if not ctx.present(n) or n in ctx.ex.errors or (n in ctx.ex.formulas and n not in ctx.ex.cached):
            continue
        found, expected = ctx.ex.values.get(n), ctx.results.get(n)
        if not same_cached(found, expected):
            yield ctx.finding("W302", f"「{ctx.label(n)}」被改为 {_fmt(found)}（应为 {_fmt(expected)}）："
                                      "已按规格目标重算", n)


def check_no_cache(ctx: Context) -> Iterable[Finding]:
    """I304 (once per file): formula cells without a cached result — the file was never opened and saved in
    Excel/WPS (e.g. filled by a script); everything is recomputed anyway."""
    formulas = [n for n in ctx.integrity_names if n in ctx.ex.formulas]
    uncached = [n for n in formulas if n not in ctx.ex.cached]
    if not uncached:
        return
    if len(uncached) == len(formulas):
        yield ctx.finding("I304", "文件没有保存计算结果（未在 Excel/WPS 中打开保存过），已全部重算")
    else:
        yield ctx.finding("I304", f"文件中 {len(uncached)} 个计算单元格没有保存计算结果（如 {uncached[0]}），已重算")


_PARAM_LABEL = {"factor": "折标系数", "extra": "附加系数", "co2": "碳排放系数（吨/计量单位）"}


def check_factors(ctx: Context) -> Iterable[Finding]:
    """W303: a factor on the hidden 参数 sheet differs from the preset (edited); figures use the spec's."""
    params = ctx.ex.params
    for key, item, part, want in _expected_factors(ctx.spec, ctx.preset, ctx.choices.grid_factor):
        if key not in params:
            continue
        got = params[key]
        n = as_number(got)
        if n is None or not _same_number(n, float(want)):
            yield ctx.finding("W303", f"参数表中 {item.label} 的{_PARAM_LABEL[part]}被改为 {_fmt(got)}"
                                      f"（应为 {_fmt(want)}）：已按规格系数重算")


def _expected_factors(spec: Spec, preset: str, grid_factor: str | None) -> tuple[tuple[str, EnergyItem, str, Any], ...]:
    """("<item>.factor" / ".extra" / ".co2", the item, the part, the preset's value) for every item that has its own
    factors, in the spec's order — made once per spec, preset and grid factor (every file of a chunk asks)."""
    key = (spec.digest, preset, grid_factor)
    made = _EXPECTED_FACTORS.get(key)
    if made is None:
        p = preset_of(spec, preset)
        rows = []
        for item in spec.items:
            if item.factor_of != item.key:
                continue
            expected = {"factor": p.kgce[item.key].factor, "extra": p.kgce[item.key].extra,
                        "co2": co2_t_per_unit(item.key, p.id, grid_factor, spec=spec)}
            rows += [(f"{item.key}.{part}", item, part, want) for part, want in expected.items()]
        made = _EXPECTED_FACTORS[key] = tuple(rows)
    return made


_EXPECTED_FACTORS: dict[tuple[str, str, str | None], tuple[tuple[str, EnergyItem, str, Any], ...]] = {}


# ---------------------------------------------------------------- plausibility (W4xx)

def check_yearly_change(ctx: Context) -> Iterable[Finding]:
    """W401: 用能人数 or 建筑面积 changed by more than the spec's limit (10 %) from one data year to the next."""
    limit = ctx.spec.plausibility.max_yearly_change
    prev_year, cur_year = ctx.years.data_year("prev"), ctx.years.data_year("cur")
    for key in ("people", "area"):
        item = ctx.spec.item(key)
        prev, cur = f"prev_{item.name}", f"cur_{item.name}"
        a, b = _quantity(ctx, prev), _quantity(ctx, cur)
        if a is None or b is None or a <= 0:
            continue
        change = (b - a) / a
        if abs(change) > limit:
            yield ctx.finding("W401", f"{cur_year}年度 {item.label} {_fmt(b)} 较{prev_year}年度 {_fmt(a)} 变化 "
                                      f"{change * 100:+.1f}%，超过 {limit * 100:g}%：请核实是否填错；如属实，"
                                      "请在佐证材料中说明原因", cur)


def check_heat_double(ctx: Context) -> Iterable[Finding]:
    """W403: both 供热面积 and 热力 filled in one data year — the same heat may be counted twice."""
    area, heat = ctx.spec.item("heated_area"), ctx.spec.item("heat")
    for slot in SLOTS:
        a, h = _quantity(ctx, f"{slot}_{area.name}"), _quantity(ctx, f"{slot}_{heat.name}")
        if a and h:
            yield ctx.finding("W403", f"{ctx.years.data_year(slot)}年度 供热面积（{_fmt(a)} {area.unit}）与热力"
                                      f"（{_fmt(h)} {heat.unit}）同时填写，可能重复计算：按面积计费的只填供热面积，"
                                      "按计量收费的只填热力", f"{slot}_{area.name}")


def check_fuel_per_vehicle(ctx: Context) -> Iterable[Finding]:
    """W404: 单车油耗 (recomputed) outside the plausible range of the spec."""
    lo, hi = ctx.spec.plausibility.fuel_per_vehicle_min, ctx.spec.plausibility.fuel_per_vehicle_max
    for slot in SLOTS:
        n = f"{slot}_fuel_per_vehicle"
        v = ctx.results.get(n)
        if v is not None and not lo <= v <= hi:
            yield ctx.finding("W404", f"{ctx.years.data_year(slot)}年度 单车油耗 {_fmt(v)} 升/车，超出合理范围 "
                                      f"{lo:g}–{hi:g}：请核实车辆数量和汽油、柴油消耗量（是否把千克、元或公里当作升填写）", n)


# ---------------------------------------------------------------- the pipeline

class Check(NamedTuple):
    codes: str                                   # the codes this check may report, space-separated
    run: Callable[[Context], Iterable[Finding]]


CHECKS: tuple[Check, ...] = (
    # identity (the reader checks the rest of F1xx)
    Check("F111", check_assessment_year),
    Check("F112", check_spec_digest),
    # input checks
    Check("E208", check_missing_names),
    Check("E202", check_error_values),
    Check("E201 I210 E203", check_numbers),
    Check("E220", check_bounds),
    Check("E204", check_sub_rows),
    Check("E205", check_required),
    Check("E206", check_unit_code_valid),
    Check("E212 E207", check_self_scores),
    Check("E211", check_declines),
    # integrity
    Check("W301 W402", check_overwritten),
    Check("W302 W402", check_cached),
    Check("I304", check_no_cache),
    Check("W303", check_factors),
    # plausibility
    Check("W401", check_yearly_change),
    Check("W403", check_heat_double),
    Check("W404", check_fuel_per_vehicle),
)


def _selector_value(value: Any, options: Iterable[str]) -> tuple[Any, str | None]:
    """Unit 7's 是/否: text kept (a stray space or full-width form is normalised and noted), anything else blank."""
    if not isinstance(value, str):
        return None, None
    t = unicodedata.normalize("NFKC", value).strip()
    if t != value and t in options:
        return t, t
    return value, None


def check_extracted(ex: Extracted, spec: Spec, *, year: int, preset: str, run_digest: str | None = None,
                    choices: Choices = Choices()) -> CheckResult:
    """Clean inputs, recomputed figures and every finding of one returned workbook (see the module doc), recomputed
    for the assessment `year` with the factor `preset` and the other `choices` (the caller decides them: the
    file's own, or the run's)."""
    return check_many([ex], spec, year=year, preset=preset, run_digest=run_digest, choices=choices)[0]


def check_many(extracted: Sequence[Extracted], spec: Spec, *, year: int, preset: str,
               run_digest: str | None = None, choices: Choices = Choices()) -> list[CheckResult]:
    """`check_extracted` for many files of the same `year`, `preset` and `choices`, with one vectorised
    `evaluate_columns` pass for all of them (the recomputation is most of a check's cost when done one unit at a
    time)."""
    ctxs = [_prepare(ex, spec, year, preset, run_digest) for ex in extracted]
    if not ctxs:
        return []
    for ctx in ctxs:
        ctx.choices = choices
    years, preset_id = ctxs[0].years, ctxs[0].preset
    for ctx, results in zip(ctxs, _evaluate_all([c.inputs for c in ctxs], years.year, preset_id, spec, choices)):
        ctx.results = results
    raw_needed = [c for c in ctxs if c.normalised_selectors or any(p.status == "normalised" for p in c.parsed.values())]
    raws = [{n: None if n in c.ex.errors else c.ex.values.get(n) for n in c.names.inputs} for c in raw_needed]
    # The workbook's own formulas saw the raw cells (text is blank to ISNUMBER): compare caches with that.
    as_saved = {id(c): r for c, r in zip(raw_needed, _evaluate_all(raws, years.year, preset_id, spec, choices))}
    out = []
    for ctx in ctxs:
        ctx.as_saved = as_saved.get(id(ctx), ctx.results)
        findings = [f for check in CHECKS for f in check.run(ctx)]
        blocking = any(spec.checks[f.code].severity == "错误" for f in findings)
        out.append(CheckResult(inputs=ctx.inputs, results=ctx.results, findings=findings, blocking=blocking))
    return out


def _evaluate_all(inputs: list[dict[str, Any]], year: int, preset: str, spec: Spec,
                  choices: Choices = Choices()) -> list[dict[str, Any]]:
    if not inputs:
        return []
    names = list(inputs[0])
    columns = {n: [i.get(n) for i in inputs] for n in names}
    return columns_to_records(evaluate_columns(columns, year, preset, spec=spec, **choices.kwargs()))


def _selector_options(spec: Spec) -> dict[str, tuple[str, ...]]:
    """Unit 7's selector → its paths' 是/否 (once per spec)."""
    made = _SELECTOR_OPTIONS.get(spec.digest)
    if made is None:
        made = _SELECTOR_OPTIONS[spec.digest] = {ind.rule.selector: tuple(p.when for p in ind.rule.paths)
                                                 for ind in spec.indicators if ind.rule.selector}
    return made


_SELECTOR_OPTIONS: dict[str, dict[str, tuple[str, ...]]] = {}


def _prepare(ex: Extracted, spec: Spec, year: int, preset: str, run_digest: str | None) -> "Context":
    names = _names(spec)
    years = year_of(spec, year)
    preset_id = preset_of(spec, preset).id
    values, errors = ex.values, ex.errors
    parsed = {n: parse_number(None if n in errors else values.get(n)) for n in names.numeric}
    options = _selector_options(spec)
    selected, normalised_selectors = {}, {}
    for n in names.selectors:
        v, changed = _selector_value(None if n in ex.errors else values.get(n), options.get(n, ()))
        selected[n] = v
        if changed is not None:
            normalised_selectors[n] = changed
    inputs = {n: parsed[n].value if n in parsed else selected.get(n) for n in names.inputs}
    return Context(ex, spec, names, years, preset_id, run_digest, parsed, selected, normalised_selectors, inputs)
