"""The fill-in workbook's structure, read back from the generated .xlsx (openpyxl, and the raw XML where
openpyxl hides things): sheets, protection, validations, defined names, the formula whitelist, print setup,
conditional formats, the guide, cached blank values and personalisation.

Every rule is checked on the file, and the file is compared with the plan (`generator.build_plan`) that says
which cell is an input, which name points where and what each formula shows while blank.
"""
from __future__ import annotations

import io
import re
import zipfile
from functools import lru_cache

import openpyxl
import pytest
from defusedxml import ElementTree
from openpyxl.formula.tokenizer import Token, Tokenizer
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string, range_boundaries

import generator
import udfs
from generator.formulas import ALLOWED_FUNCTIONS
from generator.layout import PREFILLED_NOTE, UNIT_HEADER
from workbook_templates import SLOTS, contract_names, load_spec
from workbook_templates.contract import TEMPLATE_VERSION, UNIT_NAMES, sheet_names

from tests import workbooks
from tests.workbooks import (INPUT_STYLES, MAIN, VOLATILE_OR_HIDING, blank_bytes, conditional_rules,
                             functions_not_allowed, input_cells, is_input, named_locations, open_workbook, plan,
                             plan_cells, sheet_xml_parts, validations_by_cell)

SPEC = load_spec()
CJK = re.compile(r"[\u4e00-\u9fff]")
WHOLE_COLUMN_OR_ROW = re.compile(r"(?:^|!)\$?(?:[A-Z]{1,3}:\$?[A-Z]{1,3}|\d+:\$?\d+)$")
CELL_REF = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)$")
DATA_SHEETS = ("info", "prev", "cur", "decline", "self")
UNIT = {"unit_name": "示例县人民法院", "unit_code": "11652301MB12345630", "unit_level": "地州市级",
        "unit_region": "昌吉回族自治州"}


@lru_cache(maxsize=None)
def wb() -> openpyxl.Workbook:
    return open_workbook(blank_bytes())


@lru_cache(maxsize=None)
def names() -> dict[str, str]:
    return sheet_names(SPEC.year(None).year)


def raw(part: str, data: bytes | None = None) -> str:
    return zipfile.ZipFile(io.BytesIO(data or blank_bytes())).read(part).decode("utf-8")


def formula_cells(book: openpyxl.Workbook | None = None):
    """(sheet title, cell, formula text without '=') for every formula in the file."""
    return workbooks.formula_cells(book or wb())


def list_values(formula1: str) -> list[str]:
    assert formula1.startswith('"') and formula1.endswith('"'), f"list validation is not an inline list: {formula1}"
    return formula1[1:-1].split(",")


# ---------------------------------------------------------------- sheets and protection

def test_sheets_in_order_with_their_visibility():
    n = names()
    assert wb().sheetnames == ["填表说明", "单位信息", "能耗数据2021", "能耗数据2022", "强度指标下降率", "自评表",
                               "参数", "_meta"]
    assert [n[k] for k in ("guide", "info", "prev", "cur", "decline", "self", "params", "meta")] == wb().sheetnames
    states = {ws.title: ws.sheet_state for ws in wb().worksheets}
    assert states.pop("参数") == "veryHidden"
    assert states.pop("_meta") == "hidden"
    assert set(states.values()) == {"visible"}
    assert wb().active.title == "填表说明"


def test_energy_sheets_are_the_two_years_before_the_assessment_year():
    assert sheet_names(2024)["prev"] == "能耗数据2022" and sheet_names(2024)["cur"] == "能耗数据2023"
    if 2024 in SPEC.years:
        assert open_workbook(generator.template_bytes(SPEC, 2024, SPEC.default_preset)).sheetnames[2:4] == [
            "能耗数据2022", "能耗数据2023"]
    else:      # no 2024 targets in the spec: refuse, in Chinese, rather than write a workbook without targets
        with pytest.raises(KeyError) as err:
            generator.template_bytes(SPEC, 2024, SPEC.default_preset)
        assert "2024" in str(err.value) and CJK.search(str(err.value))


def test_every_sheet_protected_and_the_structure_locked():
    for ws in wb().worksheets:
        assert ws.protection.sheet, f"{ws.title} is not protected"
    book = ElementTree.fromstring(raw("xl/workbook.xml"))
    protection = book.find(f"{{{MAIN}}}workbookProtection")
    assert protection is not None and protection.get("lockStructure") in ("1", "true")
    calc = book.find(f"{{{MAIN}}}calcPr")
    assert calc is not None and calc.get("fullCalcOnLoad") in ("1", "true")


def test_every_formula_cell_locked():
    unlocked = [f"{t}!{ref}" for t, ref, _ in formula_cells() if not wb()[t][ref].protection.locked]
    assert not unlocked, f"formula cells a unit could overwrite: {unlocked}"


def test_exactly_the_input_cells_are_unlocked():
    planned = input_cells()
    unlocked = {(ws.title, c.coordinate) for ws in wb().worksheets for row in ws.iter_rows() for c in row
                if c.protection.locked is False}
    assert sorted(planned - unlocked) == [], "input cells left locked"
    assert sorted(unlocked - planned) == [], "unlocked cells that are not inputs (a unit could overwrite them)"
    for (title, ref) in planned:
        cell = wb()[title][ref]
        assert cell.value is None, f"{title}!{ref}: input cell not blank in the template"
        assert cell.fill.fgColor.rgb.endswith("DDEBF7"), f"{title}!{ref}: input cell not shaded as an input"


def test_every_label_and_constant_locked():
    """Labels, headers, factors, the guide's text (including its colour legend) cannot be edited."""
    unlocked = [f"{title}!{ref} ({c.value!r})" for (title, ref), c in plan_cells().items()
                if c.value is not None and wb()[title][ref].protection.locked is False]
    assert not unlocked, unlocked


def test_no_unlocked_style_leaks_through_column_or_row_formats():
    for title, part in sheet_xml_parts(blank_bytes()).items():
        xml = raw(part)
        assert not re.search(r"<col\b[^>]*\bstyle=", xml), f"{title}: a column carries a cell format"
        assert not re.search(r'<row\b[^>]*\bcustomFormat="(1|true)"', xml), f"{title}: a row carries a cell format"


# ---------------------------------------------------------------- validations

def test_every_number_and_choice_input_validated_with_a_chinese_stop_message():
    for ws in wb().worksheets:
        by_cell = validations_by_cell(ws)
        for ref, cell in plan().sheet(ws.title).cells.items():
            if not is_input(cell) or cell.style not in ("input_number", "input_choice"):
                continue
            dvs = by_cell.get(ref, [])
            assert len(dvs) == 1, f"{ws.title}!{ref}: {len(dvs)} validations"
            dv = dvs[0]
            assert dv.showErrorMessage, f"{ws.title}!{ref}: invalid entries are not stopped"
            assert dv.errorStyle in (None, "stop"), f"{ws.title}!{ref}: error style {dv.errorStyle}"
            assert dv.error and CJK.search(dv.error), f"{ws.title}!{ref}: no Chinese error message"
            if dv.type == "list":
                assert len(dv.formula1) <= 255, f"{ws.title}!{ref}: list longer than Excel's 255 characters"


def test_every_validation_is_on_an_input_cell():
    planned = input_cells()
    for ws in wb().worksheets:
        for ref in validations_by_cell(ws):
            assert (ws.title, ref) in planned, f"{ws.title}!{ref} is validated but is not an input"


@pytest.mark.parametrize("slot", SLOTS)
def test_quantities_are_decimals_at_least_zero_and_sub_rows_at_most_their_parent(slot):
    ws = wb()[names()[slot]]
    by_cell = validations_by_cell(ws)
    loc = named_locations()
    for item in SPEC.items:
        title, ref = loc[f"{slot}_{item.name}"]
        assert title == ws.title
        dv = by_cell[ref][0]
        if item.parent is None:
            assert (dv.type, dv.operator, dv.formula1) == ("decimal", "greaterThanOrEqual", "0"), item.key
        else:
            parent = loc[f"{slot}_{SPEC.item(item.parent).name}"][1]
            assert dv.type == "custom", item.key
            f = dv.formula1.replace("$", "")
            assert f"{ref}<={parent}" in f and f"{ref}>=0" in f and f"ISNUMBER({ref})" in f, (item.key, f)
            assert SPEC.item(item.parent).label in dv.error, (item.key, dv.error)


def test_unit_code_is_18_characters_and_level_a_list_of_the_spec_levels():
    by_cell = validations_by_cell(wb()[names()["info"]])
    loc = named_locations()
    code = by_cell[loc["unit_code"][1]][0]
    assert (code.type, code.operator, code.formula1) == ("textLength", "equal", "18")
    level = by_cell[loc["unit_level"][1]][0]
    assert level.type == "list"
    assert list_values(level.formula1) == [lv.label for lv in SPEC.assessment.levels.values()]


def test_self_scores_offer_exactly_the_legal_values():
    by_cell = validations_by_cell(wb()[names()["self"]])
    loc = named_locations()
    for ind in SPEC.indicators:
        if ind.rule.type == "computed_target":
            continue
        dv = by_cell[loc[ind.score_name][1]][0]
        assert dv.type == "list", ind.id
        offered = [float(v) for v in list_values(dv.formula1)]
        assert offered == list(udfs.legal_values(ind, spec=SPEC)), ind.id   # unit 7: the union of both paths
    selector = next(ind.rule.selector for ind in SPEC.indicators if ind.rule.selector)
    dv = by_cell[loc[selector][1]][0]
    assert dv.type == "list" and list_values(dv.formula1) == ["是", "否"]


# ---------------------------------------------------------------- defined names

def test_defined_names_are_the_contract_names_on_their_planned_cells():
    book = wb()
    contract = {n.name: n for n in contract_names(SPEC)}
    workbook_scoped = dict(book.defined_names.items())
    assert set(workbook_scoped) == set(contract)
    for ws in book.worksheets:
        assert set(ws.defined_names) <= {"_xlnm.Print_Titles", "_xlnm.Print_Area"}, ws.title
    planned = named_locations()
    for name, dn in workbook_scoped.items():
        (title, ref), = list(dn.destinations)
        assert (title, ref.replace("$", "")) == planned[name], name
        assert re.fullmatch(r"\$[A-Z]+\$\d+", ref), f"{name} is not an absolute single-cell reference: {ref}"


def test_each_name_points_at_the_right_kind_of_cell():
    cells = plan_cells()
    for n in contract_names(SPEC):
        title, ref = named_locations()[n.name]
        planned, cell = cells[(title, ref)], wb()[title][ref]
        formula = isinstance(cell.value, str) and cell.value.startswith("=")
        inputs = ("unit_name", "unit_code", "unit_level", "unit_region", "contact_name", "contact_phone", "fill_date")
        if n.kind in ("input", "score-input", "evidence") or n.name in inputs:
            assert planned.style in INPUT_STYLES and cell.protection.locked is False and not formula, n.name
        elif n.kind in ("derived", "score-derived") or n.name.startswith(("chg_", "ok_")):
            assert formula and cell.protection.locked, n.name
        else:   # target_* and _meta constants (the signature: blank in the template, signed per unit)
            assert not formula and (cell.value is not None or n.name == "signature") and cell.protection.locked, n.name


def test_meta_and_targets_hold_the_spec_values():
    loc = named_locations()

    def value(name):
        title, ref = loc[name]
        return wb()[title][ref].value
    year = SPEC.year(None)
    assert value("template_version") == TEMPLATE_VERSION
    assert value("assessment_year") == year.year
    assert value("factor_preset") == SPEC.preset(None).id
    assert value("spec_digest") == SPEC.digest
    for key, target in year.targets.items():
        assert value(f"target_{key}") == target


# ---------------------------------------------------------------- formula whitelist and references

def _all_formulas():
    """Every formula in the file: cells, custom validations and conditional formats."""
    return workbooks.all_formulas(wb())


def _ranges(formula: str):
    return [t.value for t in Tokenizer("=" + formula).items if t.type == Token.OPERAND and t.subtype == Token.RANGE]


def test_formulas_use_only_whitelisted_functions():
    assert VOLATILE_OR_HIDING.isdisjoint(ALLOWED_FUNCTIONS)
    bad = functions_not_allowed(wb(), ALLOWED_FUNCTIONS)
    assert not bad, bad


def test_no_whole_column_or_row_references():
    bad = [f"{where}: {r}" for where, _, f in _all_formulas() for r in _ranges(f) if WHOLE_COLUMN_OR_ROW.search(r)]
    assert not bad, bad


def _split_ref(ref: str, here: str) -> tuple[str, list[str]]:
    """A reference token as (sheet title, [corner cells])."""
    if "!" in ref:
        sheet, cells = ref.rsplit("!", 1)
        sheet = sheet.strip("'").replace("''", "'")
    else:
        sheet, cells = here, ref
    corners = [c.replace("$", "") for c in cells.split(":")]
    for c in corners:
        assert CELL_REF.match(c), f"not a cell reference (a name or a broken reference?): {ref}"
    return sheet, corners


def test_every_referenced_cell_exists_in_the_plan():
    """Catches broken references: a formula reads only cells the plan lays out (an input may be empty).

    A single cell must be planned and hold something (a constant, a formula or an input); a range must lie on
    planned cells that are all figures (numbers, formulas or inputs — never a label), at least one of them.
    """
    cells = plan_cells()
    titles = {s.title for s in plan().sheets}
    bad = []
    for where, here, f in _all_formulas():
        for r in _ranges(f):
            sheet, corners = _split_ref(r, here)
            if sheet not in titles:
                bad.append(f"{where}: unknown sheet in {r}")
                continue
            if len(corners) == 1:
                planned = cells.get((sheet, corners[0]))
                if planned is None or (planned.value is None and planned.formula is None and not is_input(planned)):
                    bad.append(f"{where}: {r} reads {sheet}!{corners[0]}, which the plan leaves empty")
                continue
            min_col, min_row, max_col, max_row = range_boundaries(":".join(corners))
            inside = [(ref, c) for (t, ref), c in cells.items() if t == sheet
                      and min_col <= column_index_from_string(coordinate_from_string(ref)[0]) <= max_col
                      and min_row <= coordinate_from_string(ref)[1] <= max_row]
            if not inside:
                bad.append(f"{where}: {r} covers no planned cell")
            labels = [ref for ref, c in inside if isinstance(c.value, str)]
            if labels:
                bad.append(f"{where}: {r} covers labels {labels}")
    assert not bad, bad


def test_file_formulas_are_the_planned_formulas():
    planned = {k: c.formula for k, c in plan_cells().items() if c.formula}
    in_file = {(t, ref): f for t, ref, f in formula_cells()}
    assert in_file == planned


# ---------------------------------------------------------------- print setup and panes

def test_data_sheets_have_frozen_headers_a4_fit_to_width_and_print_titles():
    for key in DATA_SHEETS:
        ws = wb()[names()[key]]
        assert ws.freeze_panes, f"{ws.title}: no frozen header"
        assert ws.print_title_rows, f"{ws.title}: no print titles"
    for ws in wb().worksheets:
        assert int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4), ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert int(ws.page_setup.fitToWidth) == 1, ws.title
        # 填表说明, laid out in sections, may be shrunk onto one page when it overflows it by little
        # (`print_layout.paginate`); each 能耗数据 form prints on one page, signed under its figures; every other
        # sheet is fitted to the width only, its pages may run long.
        forms = (names()["prev"], names()["cur"])
        tall = (0, 1) if ws.title == names()["guide"] else (1,) if ws.title in forms else (0,)
        assert int(ws.page_setup.fitToHeight) in tall, f"{ws.title}: fit to width only, pages may run long"


# ---------------------------------------------------------------- conditional formatting

def _rules_on(ws, ref: str) -> list[str]:
    return [f for rng, f, _ in conditional_rules(ws) if ref in rng.split()]


@pytest.mark.parametrize("slot", SLOTS)
def test_missing_required_inputs_are_highlighted(slot):
    ws = wb()[names()[slot]]
    loc = named_locations()
    for item in SPEC.items:
        ref = loc[f"{slot}_{item.name}"][1]
        rules = _rules_on(ws, ref)
        assert (f"ISBLANK({ref})" in rules) == item.required, (item.key, rules)


def test_unmet_targets_are_highlighted():
    ws = wb()[names()["decline"]]
    rules = [(rng, f) for rng, f, rule in conditional_rules(ws) if "未达标" in f]
    assert len(rules) == len(SPEC.decline_intensities)
    for rng, f, rule in conditional_rules(ws):
        if "未达标" in f:
            assert rule.dxf is not None and rule.dxf.fill is not None, rng


def _note(slot: str, key: str) -> tuple[str, str, str]:
    """(qty cell, note cell, note formula) of one energy row."""
    sheet = plan().sheet(names()[slot])
    qty = named_locations()[f"{slot}_{SPEC.item(key).name}"][1]
    row = qty[1:]
    notes = [(ref, c.formula) for ref, c in sheet.cells.items() if ref[1:] == row and c.formula and c.style == "status"]
    (ref, formula), = notes
    return qty, ref, formula


def test_people_or_area_changing_over_10_percent_is_flagged():
    prev_title = names()["prev"]
    for key in ("people", "area"):
        qty, note, formula = _note("cur", key)
        assert "10%" in formula and prev_title in formula and "ABS(" in formula, formula
        assert f'{note}<>""' in _rules_on(wb()[names()["cur"]], qty), f"{qty}: the audit note does not colour it"
        assert "10%" not in _note("prev", key)[2]       # no earlier year to compare with


@pytest.mark.parametrize("slot", SLOTS)
def test_heated_area_and_heat_both_filled_is_flagged(slot):
    for key in ("heated_area", "heat"):
        qty, note, formula = _note(slot, key)
        assert "重复计算" in formula, formula
        for other in ("heated_area", "heat"):
            clean = [ref for ref, c in plan().sheet(names()[slot]).cells.items()
                     if c.formula and c.formula.startswith("IF(ISNUMBER(") and ref[1:] == _note(slot, other)[0][1:]
                     and c.style == "hidden"]
            assert clean and clean[0] in formula, (key, other, formula)
        assert f'{note}<>""' in _rules_on(wb()[names()[slot]], qty)


# ---------------------------------------------------------------- 自评表

def test_inferred_unit_5_indicators_read_as_plain_text():
    """The spec marks unit 5's texts as inferred (「（推断）」, provenance = inferred): that stays with the spec and the
    administrator; the unit reads the text without the tag, like any other indicator."""
    ws = wb()[names()["self"]]
    texts = {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(1, ws.max_row + 1)}
    inferred = [ind for ind in SPEC.indicators if ind.unverified]
    assert len(inferred) == 7 and all(ind.id.startswith("5.") for ind in inferred)
    for ind in inferred:
        assert ind.text.startswith("（推断）"), ind.id
        assert texts[ind.id] == ind.text.removeprefix("（推断）"), ind.id


def test_unit_7_has_a_yes_no_selector():
    title, ref = named_locations()["canteen_evaluation_implemented"]
    assert title == names()["self"]
    cell = wb()[title][ref]
    assert cell.protection.locked is False and cell.value is None
    assert plan().sheet(title).cells[ref].style == "input_choice"
    s7 = named_locations()["self_7_1_1"]
    assert int(ref[1:]) < int(s7[1][1:]), "the selector comes before the score it decides"
    counted = [c.formula for r, c in plan().sheet(title).cells.items() if r[1:] == s7[1][1:] and c.style == "hidden"]
    assert counted and f'{ref}="是"' in counted[0] and f'{ref}="否"' in counted[0]


def test_unit_1_scores_are_locked_formulas():
    for ind in SPEC.indicators:
        if ind.rule.type != "computed_target":
            continue
        title, ref = named_locations()[ind.score_name]
        cell = wb()[title][ref]
        assert isinstance(cell.value, str) and cell.value.startswith("=") and cell.protection.locked, ind.id
        assert names()["decline"] in cell.value, ind.id


# ---------------------------------------------------------------- 填表说明

def test_guide_names_the_preset_flags_office_sharing_and_colours():
    text = "\n".join(str(c.value) for row in wb()[names()["guide"]].iter_rows() for c in row if c.value)
    preset = SPEC.preset(None)
    assert preset.id in text
    assert "0.96" in text and "柴油" in text
    assert "0.98" in text and "供热面积" in text
    assert "合署办公" in text
    for colour in ("蓝色", "红色", "黄色"):
        assert colour in text


# ---------------------------------------------------------------- cached values (a fresh file before any recalc)

def _cached(data: bytes) -> dict[tuple[str, str], tuple[str | None, str | None]]:
    """(sheet, cell) → (t attribute, <v> text) for every formula cell in the raw sheet XML."""
    out = {}
    z = zipfile.ZipFile(io.BytesIO(data))
    for title, part in sheet_xml_parts(data).items():
        root = ElementTree.fromstring(z.read(part))
        for c in root.iter(f"{{{MAIN}}}c"):
            if c.find(f"{{{MAIN}}}f") is not None:
                v = c.find(f"{{{MAIN}}}v")
                out[(title, c.get("r"))] = (c.get("t"), None if v is None else (v.text or ""))
    return out


def test_every_formula_caches_its_planned_blank_value():
    cells = plan_cells()
    cached = _cached(blank_bytes())
    assert set(cached) == {k for k, c in cells.items() if c.formula}
    for key, (t, v) in cached.items():
        blank = cells[key].blank
        assert v is not None, f"{key}: no cached value"
        if isinstance(blank, bool):
            assert (t, v) == ("b", str(int(blank))), key
        elif isinstance(blank, (int, float)):
            assert t in (None, "n") and float(v) == blank, (key, t, v, blank)
        else:
            assert (t, v) == ("str", str(blank)), (key, t, v, blank)


def test_no_calculated_figure_shows_0_before_anything_is_filled():
    cells = plan_cells()
    zeros = [k for k, (t, v) in _cached(blank_bytes()).items() if t in (None, "n") and float(v) == 0]
    assert not zeros, zeros
    # What is shown: the blank intensities, totals and scores are empty, the status cells say what is missing.
    loc = named_locations()
    for name in ("prev_energy_per_capita", "cur_total_kgce", "chg_energy_per_capita", "self_total", "self_unit_1"):
        assert cells[loc[name]].blank == "", name
    assert cells[loc["self_missing_count"]].blank == len(SPEC.indicators)


# ---------------------------------------------------------------- personalisation

@lru_cache(maxsize=None)
def personalised(how: str) -> bytes:
    """One unit's workbook, rendered with the unit (`render`) or patched into the prebuilt template (`zip`)."""
    if how == "render":
        return generator.template_bytes(SPEC, SPEC.default_year, SPEC.default_preset, unit=UNIT)
    return generator.Personaliser(SPEC, SPEC.default_year, SPEC.default_preset).workbook(UNIT)


PERSONALISERS = ["render", "zip"]


@pytest.mark.parametrize("how", PERSONALISERS)
def test_personalised_cells_hold_the_unit_locked_and_unvalidated(how):
    book = open_workbook(personalised(how))
    assert set(UNIT) == set(UNIT_NAMES)
    for name, value in UNIT.items():
        title, ref = named_locations()[name]
        (t2, r2), = list(book.defined_names[name].destinations)
        assert (t2, r2.replace("$", "")) == (title, ref), name
        cell = book[title][ref]
        assert cell.value == value, name
        assert cell.protection.locked, f"{name} can still be edited"
        assert ref not in validations_by_cell(book[title]), f"{name} still validated"


def _cell_signature(cell):
    return (cell.value, cell.protection.locked, cell.protection.hidden, cell.number_format, cell.fill.fgColor.rgb,
            cell.font.b, cell.alignment.horizontal)


def _validation_signature(ws):
    return sorted((dv.type, dv.operator, dv.formula1, dv.error, dv.showErrorMessage, ref)
                  for dv in ws.data_validations.dataValidation for ref in str(dv.sqref).split())


@pytest.mark.parametrize("how", PERSONALISERS)
def test_personalisation_changes_nothing_else(how):
    blank, mine = wb(), open_workbook(personalised(how))
    assert mine.sheetnames == blank.sheetnames
    changed = {named_locations()[n] for n in UNIT}
    notes = {(title, "C" + ref[1:]) for title, ref in changed}      # each one's 说明: prefilled, no longer how to fill
    for title, ref in notes:
        assert mine[title][ref].value == PREFILLED_NOTE, ref
    changed |= notes
    for a, b in zip(blank.worksheets, mine.worksheets):
        assert (a.sheet_state, a.protection.sheet, a.freeze_panes, a.print_title_rows) == \
               (b.sheet_state, b.protection.sheet, b.freeze_panes, b.print_title_rows), a.title
        refs = {c.coordinate for row in a.iter_rows() for c in row} | {c.coordinate for row in b.iter_rows() for c in row}
        for ref in refs:
            if (a.title, ref) in changed:
                continue
            assert _cell_signature(a[ref]) == _cell_signature(b[ref]), f"{a.title}!{ref}"
        assert _validation_signature(b) == [v for v in _validation_signature(a)
                                            if (a.title, v[-1]) not in changed], a.title
        assert [(r, f) for r, f, _ in conditional_rules(a)] == [(r, f) for r, f, _ in conditional_rules(b)], a.title
    assert {k: str(v.attr_text) for k, v in blank.defined_names.items()} == \
           {k: str(v.attr_text) for k, v in mine.defined_names.items()}
    # The raw parts too: every other sheet, the workbook part (names, protection, calc) byte for byte — but for the
    # running head of the printed sheets, which names the unit instead of the blank line.
    info_part = sheet_xml_parts(personalised(how))[names()["info"]]
    za, zb = (zipfile.ZipFile(io.BytesIO(d)) for d in (blank_bytes(), personalised(how)))
    assert za.namelist() == zb.namelist()
    headed = 0
    for part in za.namelist():       # style ids may be renumbered (the cell styles are compared above)
        if part in (info_part, "xl/styles.xml", "docProps/core.xml"):
            continue
        a, b = (re.sub(rb'\ss="\d+"', b"", z.read(part)) for z in (za, zb))
        heads = [re.findall(rb"<oddHeader>(.*?)</oddHeader>", x) for x in (a, b)]
        if heads[0]:
            headed += 1
            assert heads[0] == [heads[1][0].replace(UNIT["unit_name"].encode(), UNIT_HEADER.encode())], part
        a, b = (re.sub(rb"<oddHeader>.*?</oddHeader>", b"", x) for x in (a, b))
        assert a == b, part
    assert headed == len([ws for ws in blank.worksheets if ws.sheet_state == "visible"]) - 1   # and 单位信息
    assert _cached(personalised(how)) == _cached(blank_bytes())
