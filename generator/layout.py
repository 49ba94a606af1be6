"""The fill-in workbook, laid out from the spec.

Sheets, in order: 填表说明, 单位信息, 能耗数据<prev>, 能耗数据<cur>, 强度指标下降率, 自评表, 参数 (very hidden),
_meta (hidden). Every contract name is a defined name on its cell. Every formula mirrors a rule of `udfs/`
through `generator.formulas`, so the recalculated workbook equals `udfs.evaluate` on the same inputs.

Each formula cell also carries what it shows before anything is filled (`Cell.blank`): the renderer writes
these as cached values, so a freshly generated file looks right in email previews and Protected View (status
texts such as 「请填写用能人数」, blanks elsewhere — never a misleading 0).
"""
from __future__ import annotations

from workbook_templates import SLOTS, Spec
from workbook_templates.contract import (META_NAMES, PARAM_COLUMNS, PARAM_FIRST_ROW, PARAM_KEY_COLUMN,
                                         SIGNATURE_NAME, TEMPLATE_VERSION, UNIT_NAMES, sheet_names)
from workbook_templates.model import StandardVersion

import udfs
from udfs.choices import preset_of, switches_text, year_of
from udfs.decline import ENERGY_NUMERATOR, decline_blocker
from udfs.evidence import evidence_name
from udfs.scoring import legal_values

from . import formulas as fx
from .formats import number_formats
from .plan import Cell, Conditional, SheetPlan, Validation, WorkbookPlan, column_letter
from .print_layout import ROW_PADDING, line_height
from .wording import indicator_text, plain, shown

LEVELS = "level"   # 单位层级 list on 参数
YES_NO = ("是", "否")
EVIDENCE_ASKED = "请在「佐证材料」列写明文件名"
"""The 提示 of an item scored above 0 with no files listed (issue 13)."""

# Energy sheet columns.
C_LABEL, C_UNIT, C_QTY, C_FACTOR, C_KGCE, C_CO2, C_EXTRA, C_NOTE, C_CLEAN = "ABCDEFGHI"
FIRST_ITEM_ROW = 4

# Self-evaluation sheet columns.
S_ID, S_TEXT, S_POINTS, S_METHOD, S_EVIDENCE, S_SCORE, S_COUNTED, S_NOTE, S_REMARK = "ABCDEFGHI"

UNIT_INFO = (
    ("unit_name", "单位名称", "input_text", None),
    ("unit_code", "统一社会信用代码", "input_text",
     Validation("textLength", "18", "统一社会信用代码应为18位：请对照证书填写，不要有空格", operator="equal")),
    ("unit_level", "单位层级", "input_choice", "level"),
    ("unit_region", "所属地区", "input_text", None),
    ("contact_name", "联系人", "input_text", None),
    ("contact_phone", "联系电话", "input_text", None),
    ("fill_date", "填报日期", "input_text", None),
)
assert tuple(n for n, *_ in UNIT_INFO[:len(UNIT_NAMES)]) == UNIT_NAMES, "单位信息 starts with the unit's identity"

UNIT_HEADER = "单位名称：" + "_" * 30
"""The running head of a blank workbook's printed pages; a workbook personalised from a roster prints the unit's
name instead (`render.render_workbook`, `personalise.Personaliser`)."""

PREFILLED_NOTE = "按名单预填，已锁定；如有误请与主管部门联系"
"""The 说明 of the unit's identity in a workbook personalised from a roster (the blank one says how to fill it)."""

SIGNATURE = ("单位负责人（签字）：" + "_" * 16 + "　　　　填报人：" + "_" * 16,
             "联系电话：" + "_" * 16 + "　　　　填报日期：" + "_" * 8 + "年" + "_" * 4 + "月" + "_" * 4 + "日"
             + "　　　　（单位盖章）")
"""The lines a unit signs at the foot of the pages it prints: both 能耗数据 sheets and the 自评表."""

GUIDE_WIDTH = 72
"""The 填表说明's one column: within a portrait A4 page however wide a column-width unit is drawn (LibreOffice without
Calibri's metrics draws it wider than Excel; it scales a sheet to the page width only across several columns)."""

SIGNATURE_HEIGHT = 30.0
"""Points per signature line: room to write by hand."""


def build_plan(spec: Spec, year: int, preset: str, grid_factor: str | None = None,
               switches: dict[str, str] | None = None, standard: str | None = None) -> WorkbookPlan:
    """The whole workbook for one assessment year and factor preset, both required (the command layer chooses
    them); `grid_factor` and `switches` default to what the spec sets for the preset, `standard` to the version
    of the standard the year names. All of them are recorded in `_meta`: consolidation recomputes with them."""
    years = year_of(spec, year)
    p = preset_of(spec, preset)
    grid = spec.grid_factor(grid_factor, p.id)
    chosen = udfs.resolve_switches(spec, switches)
    version = spec.standard(standard, years.year)
    names = sheet_names(years.year)
    params = _params_sheet(spec, p.id, grid.id, names["params"])
    info = _info_sheet(names["info"], params, years)
    energy: dict[str, _Energy] = {}
    for slot in SLOTS:     # prev first: the current year's audit checks compare with it
        energy[slot] = _energy_sheet(spec, slot, years.data_year(slot), names[slot], params, chosen,
                                     energy.get("prev"))
    decline = _decline_sheet(spec, years, names["decline"], energy, version)
    self_eval = _self_sheet(spec, names["self"], decline, params, years.year, version)
    meta = _meta_sheet(spec, years.year, p.id, names["meta"], grid.id, chosen, version.id)
    guide = _guide_sheet(spec, years, p, grid, chosen, names, version)
    return WorkbookPlan(sheets=[guide, info, energy["prev"].sheet, energy["cur"].sheet, decline.sheet, self_eval,
                                params.sheet, meta],
                        template_version=TEMPLATE_VERSION, spec_digest=spec.digest)


# ---------------------------------------------------------------- 参数 (very hidden)

class _Params:
    """Where the factors and legal-value lists live on the 参数 sheet."""

    def __init__(self, sheet: SheetPlan):
        self.sheet = sheet
        self.factor: dict[str, tuple[str, str, str]] = {}     # row key → (factor, extra, co2 per unit) refs
        self.lists: dict[tuple[str, str | None], str] = {}    # (indicator id, path or None) → range
        self.inline: dict[str, str] = {}                      # list key → "a,b,c" for list validations


# 参数 columns the reader does not read (the key and the factors: workbook_templates.contract).
P_LABEL, P_SOURCE, P_FLAGS, P_CO2_SOURCE = "BFGH"
_PARAM_AT = {part: col for col, part in PARAM_COLUMNS.items()}
P_FACTOR, P_EXTRA, P_CO2 = _PARAM_AT["factor"], _PARAM_AT["extra"], _PARAM_AT["co2"]
assert len({PARAM_KEY_COLUMN, P_LABEL, P_FACTOR, P_EXTRA, P_CO2, P_SOURCE, P_FLAGS, P_CO2_SOURCE}) == 8


def _params_sheet(spec: Spec, preset: str, grid: str, title: str) -> _Params:
    """Row 1 the headers; from PARAM_FIRST_ROW one row per energy item with its own factors: the key in
    PARAM_KEY_COLUMN and the factors in the PARAM_COLUMNS of the contract, which the reader of returns checks."""
    sheet = SheetPlan(title=title, state="veryHidden")
    params = _Params(sheet)
    heads = {PARAM_KEY_COLUMN: "行", P_LABEL: "指标名称", P_FACTOR: "折标系数", P_EXTRA: "附加系数",
             P_CO2: "每单位碳排放(吨)", P_SOURCE: "折标系数来源", P_FLAGS: "待核实", P_CO2_SOURCE: "碳排放因子来源"}
    for col, head in sorted(heads.items()):
        sheet.put(f"{col}1", Cell(head, style="header"))
    p = spec.preset(preset)
    energy_rows = [i for i in spec.items if i.factor_of == i.key]
    for r, item in enumerate(energy_rows, start=PARAM_FIRST_ROW):
        k = p.kgce[item.key]
        co2 = spec.grid_factor(grid) if item.key == "electricity" else p.co2[item.key]
        flags = "；".join(f for f in (k.flag, co2.flag) if f)
        sheet.put(f"{PARAM_KEY_COLUMN}{r}", Cell(item.key))
        sheet.put(f"{P_LABEL}{r}", Cell(item.label))
        sheet.put(f"{P_FACTOR}{r}", Cell(k.factor, style="factor"))
        sheet.put(f"{P_EXTRA}{r}", Cell(k.extra, style="factor"))
        sheet.put(f"{P_CO2}{r}", Cell(udfs.co2_t_per_unit(item.key, preset, grid, spec=spec), style="factor"))
        sheet.put(f"{P_SOURCE}{r}", Cell(k.source))
        sheet.put(f"{P_FLAGS}{r}", Cell(flags))
        sheet.put(f"{P_CO2_SOURCE}{r}", Cell(co2.source))
        params.factor[item.key] = (sheet.ref(f"{P_FACTOR}{r}"), sheet.ref(f"{P_EXTRA}{r}"), sheet.ref(f"{P_CO2}{r}"))
    # Legal self-score values, one column per indicator (and per path for alternatives).
    col = 10
    for ind in spec.indicators:
        paths = [p_.when for p_ in ind.rule.paths] + [None] if ind.rule.type == "alternatives" else [None]
        for when in paths:
            values = legal_values(ind, when, spec=spec)
            letter = column_letter(col)
            sheet.put(f"{letter}1", Cell(ind.id + (f"（{when}）" if when else "")))
            for r, v in enumerate(values, start=2):
                sheet.put(f"{letter}{r}", Cell(v))
            params.lists[(ind.id, when)] = f"'{title}'!${letter}$2:${letter}${len(values) + 1}"
            col += 1
    levels = [lv.label for lv in spec.assessment.levels.values()]
    params.inline[LEVELS] = ",".join(levels)
    params.inline["yes_no"] = ",".join(YES_NO)
    sheet.widths.update({P_LABEL: 22, P_SOURCE: 50, P_FLAGS: 50, P_CO2_SOURCE: 50})
    return params


# ---------------------------------------------------------------- 单位信息

def _phone_ok(ref: str) -> str:
    """TRUE when `ref` is a phone number: 7–20 characters, digits and hyphens only (Excel 2007: LEN, SUBSTITUTE;
    under the 255 characters a validation formula may have)."""
    rest = ref
    for ch in "0123456789-":
        rest = f'SUBSTITUTE({rest},"{ch}","")'
    return f"AND(LEN({ref})>=7,LEN({ref})<=20,LEN({rest})=0)"


def _info_sheet(title: str, params: _Params, years) -> SheetPlan:
    sheet = SheetPlan(title=title, widths={"A": 18, "B": 44, "C": 36}, freeze="A3", print_title_rows="1:2",
                      header=UNIT_HEADER)
    sheet.put("A1", Cell("单位信息", style="title"))
    sheet.merges.append("A1:C1")
    sheet.put("A2", Cell("项目", style="header"))
    sheet.put("B2", Cell("填写内容", style="header"))
    sheet.put("C2", Cell("说明", style="header"))
    notes = {"unit_name": "与单位公章一致", "unit_code": "18位，与单位证书一致", "unit_level": "从下拉列表选择",
             "unit_region": "地州市名称，如 昌吉回族自治州"}
    first, last = f"{years.prev_year}-01-01", f"{years.year}-12-31"
    for r, (name, label, style, validation) in enumerate(UNIT_INFO, start=3):
        value, number_format, note = f"B{r}", None, None
        if validation == "level":
            validation = Validation("list", f'"{params.inline[LEVELS]}"', "请从下拉列表选择单位层级")
        if name == "contact_phone":
            validation = Validation("custom", _phone_ok(value), "联系电话只能填写数字和连字符（-），7至20位，"
                                    "如 0994-2345678 或 13912345678")
            note = Cell(formula=f'IF(ISBLANK({value}),"如 0994-2345678 或 13912345678",IF({_phone_ok(value)},"",'
                                f'"只能填写数字和连字符（-），7至20位"))', style="note",
                        blank="如 0994-2345678 或 13912345678")
        if name == "fill_date":
            since = f"DATE({years.prev_year},1,1)"
            until = f"DATE({years.year},12,31)"
            number_format = "yyyy-mm-dd"
            validation = Validation("date", since, f"填报日期应为 {first} 至 {last} 之间的日期，如 {years.year}-08-10",
                                    operator="between", formula2=until)
            note = Cell(formula=f'IF(ISBLANK({value}),"如 {years.year}-08-10",IF(ISNUMBER({value}),'
                                f'IF(AND({value}>={since},{value}<={until}),"","应在 {first} 至 {last} 之间"),'
                                f'"请填写日期，如 {years.year}-08-10"))', style="note", blank=f"如 {years.year}-08-10")
        sheet.put(f"A{r}", Cell(label))
        sheet.put(value, Cell(None, style=style, name=name, validation=validation, number_format=number_format))
        sheet.put(f"C{r}", note or Cell(notes.get(name, ""), style="note",
                                        personalised=PREFILLED_NOTE if name in UNIT_NAMES else None))
        sheet.heights[r] = 2 * line_height() + ROW_PADDING    # room for a long name, filled in from a roster later
    return sheet


def _signature(sheet: SheetPlan, r: int, span: str) -> None:
    """The unit's signature lines from row `r`, each across the columns `span` (\"A:H\"), after a blank row."""
    first, last = span.split(":")
    for k, line in enumerate(SIGNATURE, start=r + 1):
        sheet.put(f"{first}{k}", Cell(line, style="sign"))
        sheet.merges.append(f"{first}{k}:{last}{k}")
        sheet.heights[k] = SIGNATURE_HEIGHT


# ---------------------------------------------------------------- 能耗数据<year>

class _Energy:
    def __init__(self, sheet: SheetPlan):
        self.sheet = sheet
        self.row: dict[str, int] = {}          # item key → row
        self.figure: dict[str, str] = {}       # per-slot figure name (no prefix) → local cell ("E24")
        self.clean: dict[str, str] = {}        # item input name → local clean-value cell ("I6")
        self.raw: dict[str, str] = {}          # item input name → local input cell ("C6")
        self.intensity: dict[str, str] = {}    # intensity key → local cell


def _quantity_validation(label: str, parent_ref: str | None, parent_label: str | None, ref: str) -> Validation:
    if parent_ref is None:
        return Validation("decimal", "0", f"「{label}」请填写不小于0的数字（不要带单位或文字）",
                          operator="greaterThanOrEqual", prompt="填写数字，没有请填0")
    return Validation("custom", f"AND(ISNUMBER({ref}),{ref}>=0,OR(NOT(ISNUMBER({parent_ref})),{ref}<={parent_ref}))",
                      f"「{label}」请填写不小于0的数字，且不能大于「{parent_label}」", prompt="其中项，不能大于上一行")


def _energy_sheet(spec: Spec, slot: str, data_year: int, title: str, params: _Params,
                  chosen: dict[str, str], prev: "_Energy | None") -> _Energy:
    sheet = SheetPlan(title=title, freeze="C4", print_title_rows="1:3", hidden_columns=[C_CLEAN],
                      widths={C_LABEL: 24, C_UNIT: 16, C_QTY: 16, C_FACTOR: 11, C_KGCE: 16, C_CO2: 15,
                              C_EXTRA: 10, C_NOTE: 40, C_CLEAN: 12}, landscape=True, header=UNIT_HEADER,
                      one_page=True)        # signed and stamped under its figures
    e = _Energy(sheet)
    digits = spec.precision
    fmt = number_formats(spec)
    sheet.put("A1", Cell(f"公共机构能耗数据及碳排放计算表（{data_year}年度）", style="title"))
    sheet.merges.append("A1:H1")
    sheet.put("A2", Cell("蓝色单元格由单位填写；其余自动计算，无需填写。合署办公且不承担能源资源费用的，"
                         "由负责能源资源费管理的部门提供数据。", style="note"))
    sheet.merges.append("A2:H2")
    for col, head in zip("ABCDEFGHI", ("指标名称", "计量单位", "数量", "折标系数", "标准煤(千克)", "碳排放量(吨)",
                                       "附加系数", "填写提示", "有效数量")):
        sheet.put(f"{col}3", Cell(head, style="header"))

    for r, item in enumerate(spec.items, start=FIRST_ITEM_ROW):
        e.row[item.key] = r
    for item in spec.items:
        r = e.row[item.key]
        qty, clean = f"{C_QTY}{r}", f"{C_CLEAN}{r}"
        parent_row = e.row.get(item.parent) if item.parent else None
        parent_ref = f"{C_QTY}{parent_row}" if parent_row else None
        parent_label = spec.item(item.parent).label if item.parent else None
        sheet.put(f"{C_LABEL}{r}", Cell(item.label, style="label_sub" if item.parent else "label"))
        sheet.put(f"{C_UNIT}{r}", Cell(item.unit, style="unit"))
        sheet.put(qty, Cell(None, style="input_number", name=f"{slot}_{item.name}",
                            validation=_quantity_validation(item.label, parent_ref, parent_label, qty)))
        sheet.put(clean, Cell(formula=fx.clean_quantity(qty), style="hidden"))
        e.clean[item.name] = clean
        e.raw[item.name] = qty
        if item.factor_of:
            factor, extra, co2 = params.factor[item.factor_of]
            if item.factor_of == item.key:
                sheet.put(f"{C_FACTOR}{r}", Cell(formula=factor, style="factor", blank=_param_value(params, factor)))
                sheet.put(f"{C_EXTRA}{r}", Cell(formula=extra, style="factor_extra", blank=_param_value(params, extra)))
                own = (f"{C_FACTOR}{r}", f"{C_EXTRA}{r}")
            else:
                own = (f"{C_FACTOR}{e.row[item.factor_of]}", f"{C_EXTRA}{e.row[item.factor_of]}")
            sheet.put(f"{C_KGCE}{r}", Cell(formula=fx.product_rounded(clean, own, digits.kgce),
                                           style="calc_sub" if item.parent and not item.in_total else "calc",
                                           number_format=fmt["kgce"], name=f"{slot}_{item.key}_kgce"))
            sheet.put(f"{C_CO2}{r}", Cell(formula=fx.product_rounded(clean, (co2,), digits.co2_t),
                                          style="calc_sub" if item.parent and not item.in_total else "calc",
                                          number_format=fmt["co2_t"], name=f"{slot}_{item.key}_co2_t"))
            e.figure[f"{item.key}_kgce"] = f"{C_KGCE}{r}"
            e.figure[f"{item.key}_co2_t"] = f"{C_CO2}{r}"
        e.figure[item.name] = clean
        checks = []
        if parent_row:
            parent_clean = f"{C_CLEAN}{parent_row}"
            checks.append((f"AND(ISNUMBER({clean}),ISNUMBER({parent_clean}),{clean}>{parent_clean})",
                           "不能大于上一行（其中项）"))
        if item.key in ("heated_area", "heat"):
            ha, heat = (f"{C_CLEAN}{e.row[k]}" for k in ("heated_area", "heat"))
            checks.append((f"AND(ISNUMBER({ha}),ISNUMBER({heat}),{ha}>0,{heat}>0)",
                           "供热面积与热力同时填写，可能重复计算"))
        if prev is not None and item.key in ("people", "area"):
            limit = spec.plausibility.max_yearly_change
            there = f"'{prev.sheet.title}'!{C_CLEAN}{prev.row[item.key]}"
            checks.append((f"IF(AND(ISNUMBER({clean}),ISNUMBER({there})),"
                           f"IF({there}>0,ABS({clean}-{there})/{there}>{limit:g},FALSE),FALSE)",
                           f"较上年变化超过{limit:.0%}，请核实"))
        note, blank = _row_note(item, qty, checks)
        sheet.put(f"{C_NOTE}{r}", Cell(formula=note, style="status", blank=blank))
        if item.required:
            sheet.conditionals.append(Conditional(qty, f"ISBLANK({qty})", "missing"))
        sheet.conditionals.append(Conditional(qty, f'{C_NOTE}{r}<>""', "warn"))

    r = FIRST_ITEM_ROW + len(spec.items)
    totals = [i.key for i in spec.items if i.in_total]
    building = spec.switches["building_energy"].options[chosen["building_energy"]]
    co2_scope = spec.switches["co2_per_area"].options[chosen["co2_per_area"]]

    def total_row(row: int, label: str, kgce: str | None, co2: str | None, kgce_name: str | None,
                  co2_name: str | None) -> None:
        sheet.put(f"{C_LABEL}{row}", Cell(label, style="label_total"))
        for col, formula, name, kind in ((C_KGCE, kgce, kgce_name, "kgce"), (C_CO2, co2, co2_name, "co2_t")):
            if formula:
                sheet.put(f"{col}{row}", Cell(formula=formula, style="calc_total", name=f"{slot}_{name}",
                                              number_format=fmt[kind]))
                e.figure[name] = f"{col}{row}"

    total_row(r, "综合能耗（单能耗）合计",
              fx.sum_or_blank([e.figure[f"{k}_kgce"] for k in totals], digits.kgce),
              fx.sum_or_blank([e.figure[f"{k}_co2_t"] for k in totals], digits.co2_t), "total_kgce", "co2_t")
    total_row(r + 1, f"其中：车辆用油（{building.label}）",
              fx.sum_or_blank([e.figure[f"{k}_kgce"] for k in building.vehicle_fuel], digits.kgce),
              fx.sum_or_blank([e.figure[f"{k}_co2_t"] for k in building.vehicle_fuel], digits.co2_t),
              "vehicle_fuel_kgce", "vehicle_fuel_co2_t")
    total_row(r + 2, "建筑能耗（综合能耗 − 车辆用油）",
              fx.minus_or_blank(f"{C_KGCE}{r}", f"{C_KGCE}{r + 1}", digits.kgce), None, "building_kgce", None)
    area_co2 = (fx.minus_or_blank(f"{C_CO2}{r}", f"{C_CO2}{r + 1}", digits.co2_t) if co2_scope.exclude_vehicle_fuel
                else f'IF(ISNUMBER({C_CO2}{r}),{C_CO2}{r},"")')
    total_row(r + 3, f"计入单位建筑面积碳排放（{co2_scope.label}）", None, area_co2, None, "area_co2_t")

    r += 5
    sheet.put(f"A{r}", Cell("计算结果", style="section"))
    sheet.put(f"A{r + 1}", Cell("指标", style="header"))
    sheet.put(f"B{r + 1}", Cell("单位", style="header"))
    sheet.put(f"C{r + 1}", Cell("数值", style="header"))
    sheet.put(f"D{r + 1}", Cell("提示", style="header"))
    sheet.merges.append(f"D{r + 1}:H{r + 1}")
    labels = {i.name: i.label for i in spec.items}
    labels.update({"total_kgce": "能源消耗（综合能耗）", "building_kgce": "能源消耗（建筑能耗）",
                   "area_co2_t": "能源消耗（碳排放）"})
    for k, ind in enumerate(spec.intensities, start=r + 2):
        nums = [e.figure[n] for n in ind.numerator]
        den = e.figure[ind.denominator]
        ref = f"C{k}"
        sheet.put(f"A{k}", Cell(ind.label))
        sheet.put(f"B{k}", Cell(ind.unit, style="unit"))
        sheet.put(ref, Cell(formula=fx.ratio(nums, den, digits.intensity, ind.scale), style="calc_result",
                            name=f"{slot}_{ind.key}", number_format=fmt["intensity"]))
        den_label = labels[ind.denominator]
        num_label = "、".join(labels[n] for n in ind.numerator)
        note = (f'IF(NOT(ISNUMBER({den})),{fx.text("请填写" + den_label)},IF({den}=0,'
                f'{fx.text(den_label + "为0，无法计算")},IF(COUNT({",".join(nums)})=0,'
                f'{fx.text("请填写" + num_label)},"")))')
        sheet.put(f"D{k}", Cell(formula=note, style="status", blank="请填写" + den_label))
        sheet.merges.append(f"D{k}:H{k}")
        e.intensity[ind.key] = ref
    _signature(sheet, k + 1, f"{C_LABEL}:{C_NOTE}")
    return e


def _row_note(item, qty: str, checks: list[tuple[str, str]]) -> tuple[str, str]:
    """The 填写提示 of one input row (first problem wins), and what it shows while blank.

    Input errors come first, then the (condition, message) checks; every condition is guarded so that it
    never evaluates to an error value itself.
    """
    missing = fx.text("请填写" + item.label) if item.required else '""'
    tail = '""'
    for condition, message in reversed(checks):
        tail = f"IF({condition},{fx.text(message)},{tail})"
    formula = (f'IF(ISBLANK({qty}),{missing},IF(NOT(ISNUMBER({qty})),{fx.text("请填写数字（不要带单位或文字）")},'
               f'IF({qty}<0,{fx.text("不能为负数")},{tail})))')
    return formula, ("请填写" + item.label) if item.required else ""


# ---------------------------------------------------------------- 强度指标下降率

class _Decline:
    def __init__(self, sheet: SheetPlan):
        self.sheet = sheet
        self.score: dict[str, str] = {}   # intensity key → unit-1 score cell (absolute)
        self.status: dict[str, str] = {}  # intensity key → 结果 cell (absolute): 达标 / 未达标 / 无法计算：…
        self.scores = ""                  # the unit-1 score column as a range (absolute), for the gate


def decline_note(spec: Spec, years, version: StandardVersion) -> str:
    """The 强度指标下降率 sheet's note: where the figures come from, how a target is judged — the change is
    rounded before it is compared (calculation.toml [decline], an open question: said where it bites) — and
    how unit 1 counts under the year's standard version."""
    digits = spec.precision.change_pct
    first = spec.decline_intensities[0]
    target = years.targets[first.key]
    just_short = target + 0.49 * 10 ** -digits          # −1.40 → −1.3951: rounds to the target itself
    shown_target, shown_short = (f"{x:.{d}f}".replace("-", "−") for x, d in ((target, digits), (just_short, digits + 2)))
    rule = (f"变化率先四舍五入保留{digits}位小数，再与目标比较，不高于目标即达标"
            f"（例如{first.decline_label}变化率 {shown_short}% 记为 {shown_target}%，视为完成 {shown_target}% 的目标）")
    if version.gate:
        counts = "四项目标须全部完成（符合性要求），有一项未完成即不达标；全部完成时第一单元得满分"
    else:
        counts = "每达标1项得分计入自评表第一单元"
    return (f"由{years.prev_year}、{years.cur_year}年度计算表自动生成；{rule}；{counts}。"
            "「结果」显示「无法计算」时，按其所说补全数据。")


def _decline_status(spec: Spec, ind, years, r: int, energy: dict[str, "_Energy"]) -> str:
    """The 结果 column: 达标 / 未达标, or what blocks the change — the same order and words as
    `udfs.decline.decline_blocker` (missing or bad denominator, zero; then a year without its numerator; then an
    earlier intensity of 0). Every test is guarded, so the cell never shows an error value."""
    items = {i.name: i for i in spec.items}
    den = items.get(ind.denominator)
    single = items.get(ind.numerator[0]) if len(ind.numerator) == 1 else None
    bad = "填写有误（应为不小于0的数字）"
    chain: list[tuple[str, str]] = []
    for slot in SLOTS:
        if den is None:
            break
        e, y = energy[slot], years.data_year(slot)
        raw, clean = f"'{e.sheet.title}'!{e.raw[den.name]}", f"'{e.sheet.title}'!{e.clean[den.name]}"
        chain += [(f"ISBLANK({raw})", f"{y}年度{den.label}未填写"), (f"NOT(ISNUMBER({clean}))", f"{y}年度{den.label}{bad}"),
                  (f"{clean}=0", f"{y}年度{den.label}为0")]
    for slot, cell in (("prev", f"C{r}"), ("cur", f"D{r}")):
        y = years.data_year(slot)
        if single is not None:
            e = energy[slot]
            raw = f"'{e.sheet.title}'!{e.raw[single.name]}"
            chain += [(f"AND(NOT(ISNUMBER({cell})),NOT(ISBLANK({raw})))", f"{y}年度{single.label}{bad}"),
                      (f"NOT(ISNUMBER({cell}))", f"{y}年度{single.label}未填写")]
        else:
            chain.append((f"NOT(ISNUMBER({cell}))", f"{y}年度{ENERGY_NUMERATOR}均未填写"))
    chain.append((f"C{r}=0", f"{years.prev_year}年度{ind.decline_label}为0"))
    formula = fx.text("数据不全")
    for condition, what in reversed(chain):
        formula = f"IF({condition},{fx.text('无法计算：' + what)},{formula})"
    return f'IF(ISNUMBER(E{r}),IF(E{r}<=F{r},"达标","未达标"),{formula})'


def _decline_sheet(spec: Spec, years, title: str, energy: dict[str, _Energy], version: StandardVersion) -> _Decline:
    sheet = SheetPlan(title=title, freeze="A4", print_title_rows="1:3", hidden_columns=["I"],
                      widths={"A": 26, "B": 18, "C": 14, "D": 14, "E": 12, "F": 12, "G": 30, "H": 10},
                      landscape=True, header=UNIT_HEADER)
    d = _Decline(sheet)
    fmt = number_formats(spec)
    sheet.put("A1", Cell(f"{years.cur_year}年度强度指标下降率", style="title"))
    sheet.merges.append("A1:H1")
    sheet.put("A2", Cell(decline_note(spec, years, version), style="note"))
    sheet.merges.append("A2:H2")
    for col, head in zip("ABCDEFGHI", ("指标", "单位", str(years.prev_year), str(years.cur_year), "变化率(%)",
                                       "目标(%)", "结果", "得分", "是否达标")):
        sheet.put(f"{col}3", Cell(head, style="header"))
    by_metric = {i.rule.metric: i for i in spec.indicators if i.rule.type == "computed_target"}
    for r, ind in enumerate(spec.decline_intensities, start=4):
        prev = energy["prev"].sheet.ref(energy["prev"].intensity[ind.key])
        cur = energy["cur"].sheet.ref(energy["cur"].intensity[ind.key])
        target = years.targets[ind.key]
        points = by_metric[ind.key].points
        sheet.put(f"A{r}", Cell(ind.decline_label))
        sheet.put(f"B{r}", Cell(ind.unit, style="unit"))
        sheet.put(f"C{r}", Cell(formula=f'IF(ISNUMBER({prev}),{prev},"")', style="calc",
                                number_format=fmt["intensity"]))
        sheet.put(f"D{r}", Cell(formula=f'IF(ISNUMBER({cur}),{cur},"")', style="calc",
                                number_format=fmt["intensity"]))
        sheet.put(f"E{r}", Cell(formula=fx.change_pct(f"C{r}", f"D{r}", spec.precision.change_pct),
                                style="calc_result", name=f"chg_{ind.key}", number_format=fmt["change"]))
        sheet.put(f"F{r}", Cell(target, style="factor", name=f"target_{ind.key}",
                                number_format=fmt["change"]))
        blocked = decline_blocker(ind, {}, {}, years, spec)
        sheet.put(f"G{r}", Cell(formula=_decline_status(spec, ind, years, r, energy), style="status",
                                blank=blocked.text if blocked else "数据不全"))
        d.status[ind.key] = sheet.ref(f"G{r}")
        sheet.put(f"H{r}", Cell(formula=f'IF(ISNUMBER(E{r}),IF(E{r}<=F{r},{points:g},0),"")', style="calc",
                                number_format=fmt["score"]))
        sheet.put(f"I{r}", Cell(formula=fx.at_most(f"E{r}", f"F{r}"), style="hidden", name=f"ok_{ind.key}"))
        sheet.conditionals.append(Conditional(f"G{r}", f'G{r}="未达标"', "bad"))
        d.score[ind.key] = sheet.ref(f"H{r}")
    first, last = 4, 3 + len(spec.decline_intensities)
    d.scores = f"'{sheet.title}'!$H${first}:$H${last}"
    return d


# ---------------------------------------------------------------- 自评表

def _method(ind, spec: Spec | None = None, version: StandardVersion | None = None) -> str:
    """评分方法 in words, from the rule; with the spec, what to do when the matter did not occur (the indicator's
    `na_full_award`, standard.toml [not_applicable]); with a gate `version`, that a unit-1 target must be met."""
    text = _rule_method(ind, version)
    if spec is not None and ind.na_full_award in ("yes", "unknown"):
        text += "；" + getattr(spec.not_applicable, ind.na_full_award)
    return text


def _rule_method(ind, version: StandardVersion | None) -> str:
    r = ind.rule
    if r.type == "computed_target":
        if version is not None and version.gate:
            return f"按下降率自动判定：达标得{ind.points:g}分；未达标则本单位不达标（目标管理为符合性要求）"
        return f"按下降率自动计分：达标得{ind.points:g}分，未达标0分"
    if r.type == "fixed":
        return f"符合得{ind.points:g}分，否则0分"
    if r.type == "per_item":
        return f"每项{r.step:g}分，最高{ind.points:g}分"
    if r.type == "per_occurrence":
        return f"每次{r.step:g}分，最高{ind.points:g}分"
    if r.type == "deduction":
        return f"满分{ind.points:g}分，实地验收每{r.per}扣{r.step:g}分，扣完为止"
    if r.type == "per_item_with_deduction":
        return f"每项{r.step:g}分，最高{ind.points:g}分；实地验收每{r.per}扣{r.deduction_step:g}分"
    paths = []
    for p in r.paths:
        if p.type == "tiered":
            paths.append(f"{plain(p.when)}：" + "、".join(f"{plain(g)}{v:g}分" for g, v in p.grades.items()))
        else:
            paths.append(f"{plain(p.when)}：各项分值相加（{'+'.join(f'{x.points:g}' for x in p.parts)}）")
    return f"先选择「{plain(r.selector_label)}」。" + "；".join(paths)


def _self_sheet(spec: Spec, title: str, decline: _Decline, params: _Params, year: int,
                version: StandardVersion) -> SheetPlan:
    sheet = SheetPlan(title=title, freeze="A3", print_title_rows="1:2", hidden_columns=[S_COUNTED],
                      widths={S_ID: 6, S_TEXT: 56, S_POINTS: 6, S_METHOD: 24, S_EVIDENCE: 40, S_SCORE: 8,
                              S_COUNTED: 9, S_NOTE: 20, S_REMARK: 18}, landscape=True, header=UNIT_HEADER)
    sheet.put("A1", Cell(f"节约型机关复验自评表（{len(spec.units)}个评价单元{len(spec.indicators)}项指标，"
                         f"满分{spec.assessment.total_points:g}分，{spec.assessment.pass_line:g}分合格）", style="title"))
    sheet.merges.append("A1:I1")
    for col, head in zip("ABCDEFGHI", ("编号", "评价内容", "分值", "评分方法", "印证材料", "自评分", "计入得分",
                                       "提示", "佐证材料（文件名，用「；」分隔）")):
        sheet.put(f"{col}2", Cell(head, style="header"))
    fmt = number_formats(spec)
    r = 3
    unit_totals = []
    counted_all = []
    headings = []                   # a unit's and a subarea's: never printed at the foot of a page
    for unit in spec.units:
        sheet.put(f"A{r}", Cell(f"第{unit.id}单元 {unit.name}（{unit.points:g}分）", style="group"))
        sheet.merges.append(f"A{r}:E{r}")
        headings.append(r)
        header_row = r
        r += 1
        first = r
        for sub in unit.subareas:
            sheet.put(f"A{r}", Cell(f"{sub.id} {sub.name}（{sub.points:g}分）", style="subgroup"))
            sheet.merges.append(f"A{r}:I{r}")
            headings.append(r)
            r += 1
            for ind in sub.indicators:
                if ind.rule.type == "alternatives":
                    sheet.put(f"{S_TEXT}{r}", Cell(plain(ind.rule.selector_label), style="wrap"))
                    sheet.put(f"{S_SCORE}{r}", Cell(None, style="input_choice", name=ind.rule.selector,
                                                    validation=Validation("list", f'"{params.inline["yes_no"]}"',
                                                                          "请选择「是」或「否」")))
                    sheet.put(f"{S_NOTE}{r}", Cell(formula=f'IF(ISBLANK({S_SCORE}{r}),"请先选择是否实施","")',
                                                   style="status", blank="请先选择是否实施"))
                    selector_cell = f"{S_SCORE}{r}"
                    r += 1
                _indicator_row(sheet, r, ind, decline, params, selector_cell if ind.rule.selector else None, fmt, spec,
                               year, version)
                counted_all.append(f"{S_COUNTED}{r}")
                r += 1
        last = r - 1
        counted = f"{S_COUNTED}{first}:{S_COUNTED}{last}"
        sheet.put(f"{S_SCORE}{header_row}", Cell(formula=fx.sum_or_blank([counted], spec.precision.score),
                                                 style="calc_total", name=unit.score_name,
                                                 number_format=fmt["score"]))
        sheet.put(f"{S_NOTE}{header_row}", Cell(f"本单元满分{unit.points:g}分", style="note"))
        unit_totals.append(f"{S_SCORE}{header_row}")
    r += 1
    total = f"{S_SCORE}{r}"
    sheet.put(f"{S_TEXT}{r}", Cell("自评总分", style="label_total"))
    sheet.put(total, Cell(formula=fx.sum_or_blank(unit_totals, spec.precision.score), style="calc_total",
                          name="self_total", number_format=fmt["score"]))
    n = len(spec.indicators)
    missing = f"{S_SCORE}{r + 1}"
    sheet.put(f"{S_TEXT}{r + 1}", Cell("尚未评分或分值不符合规则的指标（项）", style="label_total"))
    sheet.put(missing, Cell(formula=f"{n}-COUNT({','.join(_runs(counted_all))})", style="calc_total",
                            name="self_missing_count", blank=n))
    sheet.put(f"{S_NOTE}{r + 1}", Cell(formula=f'IF({missing}>0,"自评未完成：尚有"&{missing}&"项未评分或分值不符合规则'
                                                f'（见「提示」列），每一项都要评分才算完成自评","自评已完成")',
                                       style="status", blank=f"自评未完成：尚有{n}项未评分或分值不符合规则（见「提示」列），"
                                                             "每一项都要评分才算完成自评"))
    sheet.merges.append(f"{S_NOTE}{r + 1}:{S_REMARK}{r + 1}")
    line = f"{spec.assessment.pass_line:g}"
    if version.gate:
        # 目标管理 as a gate: any unit-1 score of 0 fails; all of them computed and none 0 lets the total decide.
        k = len(spec.decline_intensities)
        missed, known = f"COUNTIF({decline.scores},0)>0", f"COUNT({decline.scores})={k}"
        label = f"是否达标（第一单元{k}项目标全部完成，且自评总分达到{line}分）"
        shown_pass = (f'IF(ISNUMBER({total}),IF({missed},"否",IF({known},IF({total}>={line},"是","否"),'
                      f'"目标完成情况无法判断")),"")')
        hidden_pass = f'IF(ISNUMBER({total}),IF({missed},FALSE,IF({known},{total}>={line},"")),"")'
    else:
        label = f"自评总分是否达到{line}分"
        shown_pass = f'IF(ISNUMBER({total}),IF({total}>={line},"是","否"),"")'
        hidden_pass = f'IF(ISNUMBER({total}),{total}>={line},"")'
    sheet.put(f"{S_TEXT}{r + 2}", Cell(label, style="label_total"))
    sheet.put(f"{S_SCORE}{r + 2}", Cell(formula=shown_pass, style="calc_total"))
    sheet.put(f"{S_COUNTED}{r + 2}", Cell(formula=hidden_pass, style="hidden", name="self_pass"))
    sheet.conditionals.append(Conditional(f"{S_SCORE}{r + 2}", f'{S_SCORE}{r + 2}="否"', "bad"))
    _signature(sheet, r + 3, f"{S_ID}:{S_REMARK}")
    # The totals and the signature under them print on one page: each of their rows goes to the next page with
    # the rows under it, as a heading does.
    totals_and_signature = range(r, r + 3 + len(SIGNATURE))
    sheet.sections, sheet.whole_sections = (*headings, *totals_and_signature), False
    return sheet


def _runs(cells: list[str]) -> list[str]:
    """Consecutive cells of one column as ranges (E5:E9), so formulas stay short."""
    out, start, prev = [], None, None
    for c in cells + [None]:
        row = int(c[1:]) if c else None
        if prev is not None and (row is None or row != prev + 1):
            out.append(f"{S_COUNTED}{start}:{S_COUNTED}{prev}" if start != prev else f"{S_COUNTED}{start}")
            start = None
        if row is not None and start is None:
            start = row
        prev = row
    return out


def _indicator_row(sheet: SheetPlan, r: int, ind, decline: _Decline, params: _Params, selector: str | None,
                   fmt: dict[str, str], spec: Spec, year: int, version: StandardVersion) -> None:
    score = f"{S_SCORE}{r}"
    sheet.put(f"{S_ID}{r}", Cell(ind.id, style="label"))
    sheet.put(f"{S_TEXT}{r}", Cell(indicator_text(ind, spec, year), style="wrap"))
    sheet.put(f"{S_POINTS}{r}", Cell(ind.points, style="factor", number_format=fmt["score"]))
    sheet.put(f"{S_METHOD}{r}", Cell(_method(ind, spec, version), style="wrap"))
    sheet.put(f"{S_EVIDENCE}{r}", Cell(shown(ind.evidence, year), style="wrap"))
    if ind.rule.type == "computed_target":
        source = decline.score[ind.rule.metric]
        sheet.put(score, Cell(formula=f'IF(ISNUMBER({source}),{source},"")', style="calc", name=ind.score_name,
                              number_format=fmt["score"]))
        status = decline.status[ind.rule.metric]
        blocked = decline_blocker(spec.intensity(ind.rule.metric), {}, {}, spec.year(year), spec)
        sheet.put(f"{S_NOTE}{r}", Cell(formula=f'IF(ISNUMBER({score}),"",{status})', style="status",
                                       blank=blocked.text if blocked else "数据不全"))
    else:
        allowed = legal_values(ind, spec=spec)
        sheet.put(score, Cell(None, style="input_choice", name=ind.score_name,
                              validation=Validation("list", '"' + ",".join(f"{v:g}" for v in allowed) + '"',
                                                    f"{ind.id} 只能选择评分规则允许的分值：" +
                                                    "、".join(f"{v:g}" for v in allowed))))
        rule_text = "分值不符合评分规则，请从下拉列表选择"
        # 佐证材料 (issue 13): a score above 0 asks for the files that prove it, in the next column.
        evid, counted = f"{S_REMARK}{r}", f"{S_COUNTED}{r}"
        unlisted = f'LEN(SUBSTITUTE(SUBSTITUTE({evid}," ",""),"　",""))=0'          # blank, or only spaces
        sheet.put(f"{S_NOTE}{r}", Cell(formula=f'IF(ISBLANK({score}),"请评分",IF(ISNUMBER({counted}),'
                                                f'IF(AND({counted}>0,{unlisted}),{fx.text(EVIDENCE_ASKED)},""),'
                                                f'{fx.text(rule_text)}))', style="status", blank="请评分"))
        limit = spec.process.evidence.max_list_chars
        sheet.put(evid, Cell(None, style="input_text", name=evidence_name(ind.id),
                             validation=Validation("textLength", str(limit),
                                                   f"{ind.id} 的「佐证材料」一格最多 {limit} 个字：请只写文件名"
                                                   "（用「；」分隔），说明写在文件名后的括号中并尽量简短",
                                                   operator="lessThanOrEqual")))
        sheet.conditionals.append(Conditional(score, f"ISBLANK({score})", "missing"))
    ranges = ([(p.when, params.lists[(ind.id, p.when)]) for p in ind.rule.paths] + [(None, params.lists[(ind.id, None)])]
              if ind.rule.type == "alternatives" else [(None, params.lists[(ind.id, None)])])
    sheet.put(f"{S_COUNTED}{r}", Cell(formula=fx.counted_score(score, ranges, selector), style="hidden",
                                      number_format=fmt["score"]))


# ---------------------------------------------------------------- _meta, 填表说明

def _meta_sheet(spec: Spec, year: int, preset: str, title: str, grid: str, chosen: dict[str, str],
                standard: str) -> SheetPlan:
    sheet = SheetPlan(title=title, state="hidden", widths={"A": 20, "B": 70})
    values = {"template_version": TEMPLATE_VERSION, "assessment_year": year, "factor_preset": preset,
              "spec_digest": spec.digest, SIGNATURE_NAME: None,   # signed per unit: personalise.Personaliser
              "grid_factor": grid, "calc_switches": switches_text(chosen), "standard_version": standard}
    assert tuple(values) == META_NAMES, "the _meta names and values must match workbook_templates.contract"
    for r, (name, value) in enumerate(values.items(), start=1):
        sheet.put(f"A{r}", Cell(name))
        sheet.put(f"B{r}", Cell(value, name=name))
    return sheet


def _guide_sheet(spec: Spec, years, preset, grid, chosen: dict[str, str], names: dict[str, str],
                 version: StandardVersion) -> SheetPlan:
    sheet = SheetPlan(title=names["guide"], widths={"A": GUIDE_WIDTH}, header=UNIT_HEADER)
    lines = [
        ("title", f"节约型机关复验填报工作簿（{years.year}年复验）"),
        ("section", "谁来填、按什么顺序填"),
        ("wrap", f"1. 「{names['info']}」：核对单位名称、统一社会信用代码、层级和地区，填写联系人、电话和填报日期。"),
        ("wrap", f"2. 「{names['prev']}」「{names['cur']}」：按单位实际情况填写两个年度的能耗数据（蓝色单元格）。"
                 "没有的项目填 0，不要留空；只填数字，不要带单位或文字（例如填 20000000，不要填「2000万」）。"),
        ("wrap", "   合署办公且不承担能源资源相关费用支出的，由负责能源资源费管理的部门提供数据。"),
        ("wrap", f"3. 「{names['decline']}」：自动计算，无需填写；据此自动给出第一单元得分。"),
        ("wrap", f"4. 「{names['self']}」：逐项从下拉列表选择自评分（不得分的选 0，每一项都要评分），并写明佐证材料；"
                 "第七单元先选择是否实施评估通报制度。"),
        ("section", "计量单位"),
        ("wrap", "面积：平方米；人数：人；车辆：辆；电：千瓦时；水：立方米（吨）；原煤、液化石油气：吨；"
                 "天然气：立方米；汽油、柴油：升；热力：吉焦。"),
        ("section", "颜色"),
        ("legend_input", "蓝色：由单位填写"),
        ("missing", "红色底：必填项尚未填写"),
        ("warn", f"黄色底：请核实（例如较上年变化超过{spec.plausibility.max_yearly_change:.0%}、"
                 "供热面积与热力同时填写）"),
        ("label", "白色：自动计算或说明文字，已锁定"),
        ("section", "系数与口径"),
        ("wrap", f"评价标准：{version.label}。"),
        ("wrap", f"折标和碳排放系数：{preset.label}，系数编号 {preset.id}。来源：{preset.source}"),
        ("wrap", f"电力碳排放因子：{grid.factor} 吨CO2/兆瓦时（{grid.label}）。"),
    ]
    for key, option in chosen.items():
        sw = spec.switches[key]
        lines.append(("wrap", f"{sw.label}：{sw.options[option].label}。"))
    short = {i.key: i.label.removeprefix("其中：").removesuffix("消耗量") for i in spec.items}
    extras = [f"{short[key]} {k.extra:g}" for key, k in preset.kgce.items() if k.extra != 1]
    lines.append(("wrap", "折标系数、附加系数和碳排放因子已写入两张能耗数据表，无需填写"
                          + (f"；附加系数：{'、'.join(extras)}。" if extras else "。")))
    ev = spec.process.evidence
    lines += [
        ("section", "佐证材料"),
        ("wrap", f"自评分大于0的指标，在「{names['self']}」的「佐证材料」列写明文件名（用「；」分隔，图说写在括号中，如"
                 "宣传栏.jpg（节能宣传展板）），文件放在本工作簿旁名为「统一社会信用代码_佐证材料」的文件夹（或同名 .zip）中交回。"
                 f"可用类型：{'、'.join(sorted(ev.allowed_types))}；单个文件不超过 {ev.max_file_bytes // (1024 * 1024)} MB；"
                 "程序、脚本和含宏的文档不予接收。"),
        ("section", "打印与盖章"),
        ("wrap", f"「{names['prev']}」「{names['cur']}」「{names['self']}」表下留有单位负责人、填报人签字和单位盖章处；"
                 "打印时每页页眉印有单位名称和工作表名称，页脚印有页码。"),
    ]
    for r, (style, text) in enumerate(lines, start=1):
        sheet.put(f"A{r}", Cell(text, style=style))
    sheet.sections = tuple(r for r, (style, _) in enumerate(lines, start=1) if style == "section")
    return sheet


def _param_value(params: _Params, ref: str):
    """The constant at an absolute 参数 reference (what a formula pointing at it shows)."""
    local = ref.split("!")[1].replace("$", "")
    return params.sheet.cells[local].value
