"""Shared helpers for the fill-in workbook proofs: the plan, the blank template, fill states and comparisons.

`fill_states()` is the list of named input states every engine test runs: hand-picked edge cases (all blank,
only 人数 and 面积, zeros, a complete unit, with and without vehicles, unit 7's selector, illegal scores, text
and negatives in number cells, a 其中 row larger than its parent) and seeded random states. Each state maps
contract input names to values; a missing name is a blank cell.
"""
from __future__ import annotations

import io
import math
import random
import re
import zipfile
from functools import lru_cache
from typing import Any, Mapping

import openpyxl
from openpyxl.formula.tokenizer import Token, Tokenizer
from openpyxl.utils.cell import range_boundaries
from defusedxml import ElementTree

import generator
import udfs
from addin.demo import load_sample
from generator.plan import Cell, WorkbookPlan
from workbook_templates import SLOTS, load_spec

INPUT_STYLES = frozenset({"input_number", "input_text", "input_choice"})
ERROR_CODES = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
                         "#SPILL!", "#CALC!"})
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
RANDOM_STATES = 200
RANDOM_SEED = 20230803


# ---------------------------------------------------------------- the design and the blank file

@lru_cache(maxsize=None)
def plan() -> WorkbookPlan:
    """The blank template's design: the spec's latest year and default preset."""
    spec = _spec()
    return generator.build_plan(spec, spec.default_year, spec.default_preset)


@lru_cache(maxsize=None)
def blank_bytes() -> bytes:
    spec = _spec()
    return generator.template_bytes(spec, spec.default_year, spec.default_preset)


def open_workbook(data: bytes, **kwargs) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data), **kwargs)


def plan_cells() -> dict[tuple[str, str], Cell]:
    """(sheet title, cell) → planned cell, for every sheet."""
    return {(s.title, ref): c for s in plan().sheets for ref, c in s.cells.items()}


def is_input(cell: Cell) -> bool:
    """A cell the unit fills in: input-styled, with neither a constant nor a formula laid out in it."""
    return cell.style in INPUT_STYLES and cell.value is None and cell.formula is None


def input_cells() -> set[tuple[str, str]]:
    return {k for k, c in plan_cells().items() if is_input(c)}


def named_locations() -> dict[str, tuple[str, str]]:
    """Contract name → (sheet title, cell) as laid out in the plan."""
    return {name: (sheet.title, ref) for name, (sheet, ref) in plan().named().items()}


def input_names() -> list[str]:
    """Contract names a unit fills in (the plan's input cells that carry a name)."""
    return [name for name, (sheet, ref) in plan().named().items() if is_input(sheet.cells[ref])]


def is_error(value: Any) -> bool:
    """An error value as openpyxl reads it back (Excel codes, or LibreOffice's own Err:5xx)."""
    return isinstance(value, str) and (value in ERROR_CODES or value.startswith("Err:")
                                       or bool(re.fullmatch(r"#[A-Z0-9/_]+[!?]?", value)))


def read_values(path) -> dict[tuple[str, str], Any]:
    """Every non-empty cell of every sheet as last calculated (openpyxl `data_only=True`)."""
    wb = openpyxl.load_workbook(path, data_only=True, read_only=True)
    out = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.value is not None and hasattr(c, "coordinate"):
                    out[(ws.title, c.coordinate)] = c.value
    wb.close()
    return out


def sheet_xml_parts(data: bytes) -> dict[str, str]:
    """Sheet title → path of its worksheet XML inside the .xlsx, resolved through workbook.xml.rels."""
    z = zipfile.ZipFile(io.BytesIO(data))
    wb = ElementTree.fromstring(z.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target") for r in rels.iter(f"{{{RELS}}}Relationship")}
    out = {}
    for sheet in wb.iter(f"{{{MAIN}}}sheet"):
        target = targets[sheet.get(f"{{{DOC_RELS}}}id")].lstrip("/")
        out[sheet.get("name")] = target if target.startswith("xl/") else "xl/" + target
    return out


# ---------------------------------------------------------------- comparing engine results with udfs

def plain(value: Any) -> Any:
    """A cell value as read back: '' (an empty formula result) is blank."""
    return None if value == "" else value


def same_value(name: str, got: Any, expected: Any, rel: float = 0.0) -> bool:
    """`got` (from a spreadsheet) equals udfs' `expected` for contract name `name`.

    Blank is None (an empty formula result reads back as '' or None); ok_* / self_pass must be TRUE/FALSE,
    not 1/0; self_missing_count 54 equals 54.0; other figures must be equal (or within `rel`).
    """
    got = plain(got)
    if expected is None or got is None:
        return got is None and expected is None
    if isinstance(expected, bool):
        return isinstance(got, bool) and got == expected
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        return False
    if rel:
        return math.isclose(float(got), float(expected), rel_tol=rel, abs_tol=1e-12)
    return float(got) == float(expected)


def mismatches(results: Mapping[str, Any], inputs: Mapping[str, Any], rel: float = 0.0) -> list[str]:
    """Every derived contract name whose workbook value differs from `udfs.evaluate(inputs)` for the spec's
    default year and preset (those of the blank template)."""
    spec = _spec()
    expected = udfs.evaluate(inputs, spec.default_year, spec.default_preset, spec=spec)
    out = []
    for name, want in expected.items():
        got = results.get(name, "<missing>")
        if not same_value(name, got, want, rel):
            out.append(f"{name}: workbook {got!r}, udfs {want!r}")
    return out


# ---------------------------------------------------------------- fill states

def _spec():
    return load_spec()


def complete_unit() -> dict[str, Any]:
    """The shipped sample unit (`jieyue demo`), keeping only names a unit fills in."""
    names = set(input_names())
    return {k: v for k, v in load_sample().items() if k in names}


def _energy_names(slot: str) -> dict[str, str]:
    """item key → contract input name for one data year."""
    return {i.key: f"{slot}_{i.name}" for i in _spec().items}


def legal_scores() -> dict[str, tuple[float, ...]]:
    """Self-score input name → its legal values (unit 7: either path)."""
    return {ind.score_name: udfs.legal_values(ind, spec=_spec()) for ind in _spec().indicators
            if ind.rule.type != "computed_target"}


def _without(state: Mapping[str, Any], *prefixes: str, keys: tuple[str, ...] = ()) -> dict[str, Any]:
    return {k: v for k, v in state.items() if not k.startswith(prefixes) and k not in keys}


def edge_states() -> list[tuple[str, dict[str, Any]]]:
    """Hand-picked states, each a rule the workbook must survive without an error value."""
    spec = _spec()
    full = complete_unit()
    zeros = {name: 0 for name in input_names() if name.startswith(SLOTS)}
    scores = legal_scores()
    selector = next(ind.rule.selector for ind in spec.indicators if ind.rule.selector)
    vehicle_keys = ("vehicles", "official_vehicles", "gasoline", "official_gasoline", "diesel", "official_diesel")
    no_vehicles = dict(full)
    for slot in SLOTS:
        for key in vehicle_keys:
            no_vehicles[_energy_names(slot)[key]] = 0
    no_vehicles_blank = {k: v for k, v in no_vehicles.items()
                         if not any(k == _energy_names(s)[key] for s in SLOTS for key in vehicle_keys)}
    vehicles_only_official = dict(full)
    for slot in SLOTS:
        n = _energy_names(slot)
        vehicles_only_official[n["official_vehicles"]] = vehicles_only_official[n["vehicles"]]
    states: list[tuple[str, dict[str, Any]]] = [
        ("all_blank", {}),
        ("only_people_and_area", {f"{s}_{k}": v for s in SLOTS for k, v in (("people", 120), ("area_m2", 8000))}),
        ("zeros_everywhere", zeros),
        ("zeros_and_zero_scores", {**zeros, **{k: 0 for k in scores}, selector: "是"}),
        ("complete_unit", full),
        ("complete_unit_without_vehicles_0", no_vehicles),
        ("complete_unit_without_vehicles_blank", no_vehicles_blank),
        ("complete_unit_all_vehicles_official", vehicles_only_official),
        ("complete_unit_only_cur_year", _without(full, "prev_")),
        ("complete_unit_only_prev_year", _without(full, "cur_")),
        ("complete_unit_no_scores", _without(full, "self_", keys=(selector,))),
        ("unit7_yes", {**full, selector: "是"}),
        ("unit7_no", {**full, selector: "否"}),
        ("unit7_blank_selector", _without(full, keys=(selector,))),
        ("unit7_yes_max", {**full, selector: "是", "self_7_1_1": max(udfs.legal_values("7.1.1", "是", spec=spec))}),
        ("unit7_no_max", {**full, selector: "否", "self_7_1_1": max(udfs.legal_values("7.1.1", "否", spec=spec))}),
        ("illegal_scores", {**full, "self_2_1_1": 2.7, "self_2_1_2": "3", "self_2_2_1": 4, "self_2_3_2": 1.004,
                            "self_3_3_1": -1.5, "self_8_2_3": 0.25}),
        ("all_max_scores", {**full, **{k: max(v) for k, v in scores.items()}, selector: "否"}),
        ("text_in_numbers", {**full, "prev_electricity_kwh": "2000万", "cur_water_m3": "1,234", "cur_people": "约180",
                             "prev_area_m2": " ", "cur_gasoline_l": "19800"}),
        ("negatives", {**full, "prev_people": -1, "cur_area_m2": -12000, "cur_gas_m3": -5, "prev_official_diesel_l": -3,
                       "cur_vehicles": -6}),
        ("sub_row_larger_than_parent", {**full, "prev_heated_area_m2": 20000, "cur_official_vehicles": 9,
                                        "cur_official_gasoline_l": 25000, "prev_heating_coal_t": 3, "prev_coal_t": 1}),
        ("people_and_area_change_over_10pct", {**full, "cur_people": 260, "cur_area_m2": 9000}),
        ("heated_area_and_heat_both", {**full, "prev_heated_area_m2": 10000, "cur_heated_area_m2": 10000}),
        ("zero_people_and_area", {**full, "prev_people": 0, "cur_people": 0, "prev_area_m2": 0, "cur_area_m2": 0}),
        ("prev_intensity_zero", {**full, **{k: 0 for k in full if k.startswith("prev_") and not k.endswith(
            ("people", "area_m2", "vehicles"))}}),
        ("tiny_and_huge", {**full, "prev_electricity_kwh": 1e-9, "cur_electricity_kwh": 9.87654321e11,
                           "cur_people": 1, "prev_people": 3, "cur_water_m3": 0.00005}),
        ("decimal_ties", {**full, "prev_electricity_kwh": 1.005, "cur_electricity_kwh": 2.675, "prev_people": 2,
                          "cur_people": 8, "prev_water_m3": 0.285, "cur_water_m3": 1.015, "prev_gas_m3": 8.345}),
    ]
    return states


def random_state(rng: random.Random) -> dict[str, Any]:
    """One random unit: each input independently blank / 0 / a number / (rarely) text or negative.

    Both years share a base so that intensities change by a few per cent (both 达标 and 未达标 occur).
    """
    spec = _spec()
    state: dict[str, Any] = {}
    base = {i.key: rng.choice([rng.randint(1, 500), rng.uniform(1, 5e5), rng.randint(1000, 2_000_000)])
            for i in spec.items}
    for slot in SLOTS:
        for item in spec.items:
            name = f"{slot}_{item.name}"
            roll = rng.random()
            if roll < 0.12:
                continue                                   # blank
            if roll < 0.22:
                state[name] = 0
            elif roll < 0.26:
                state[name] = rng.choice(["2000万", "1,234", "无", "12 000", "—", "0x10"])
            elif roll < 0.29:
                state[name] = -rng.choice([1, 0.5, rng.uniform(1, 1e4)])
            else:
                x = base[item.key] * (1 + rng.uniform(-0.08, 0.06))
                parent = state.get(f"{slot}_{spec.item(item.parent).name}") if item.parent else None
                if isinstance(parent, (int, float)) and parent >= 0 and rng.random() < 0.8:
                    x = parent * rng.uniform(0.3, 1.0)     # 其中 rows usually within their parent
                state[name] = rng.choice([round(x), round(x, rng.randint(1, 4)), x])
    selector = None
    for ind in spec.indicators:
        if ind.rule.selector:
            selector = ind.rule.selector
            state[selector] = rng.choice([None, "是", "否", "是", "否", "其他"])
            if state[selector] is None:
                del state[selector]
    for name, legal in legal_scores().items():
        roll = rng.random()
        if roll < 0.1:
            continue
        if roll < 0.9:
            state[name] = rng.choice(legal)
        else:
            state[name] = rng.choice([2.7, "3", 4, -1, 0.25, 1.004, 9, "满分", max(legal) + 0.5])
    return state


@lru_cache(maxsize=None)
def _random_states(n: int, seed: int) -> tuple[tuple[str, tuple], ...]:
    rng = random.Random(seed)
    return tuple((f"random_{k:03d}", tuple(random_state(rng).items())) for k in range(n))


def random_states(n: int = RANDOM_STATES, seed: int = RANDOM_SEED) -> list[tuple[str, dict[str, Any]]]:
    return [(label, dict(items)) for label, items in _random_states(n, seed)]


def fill_states() -> list[tuple[str, dict[str, Any]]]:
    return edge_states() + random_states()


def fill(inputs: Mapping[str, Any]) -> bytes:
    """The blank template filled as a unit would (text stays text, negatives stay numbers)."""
    return generator.fill_workbook(blank_bytes(), inputs)


def formula_cells(book: openpyxl.Workbook):
    """(sheet title, cell, formula text without '=') for every formula in the workbook."""
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.value.startswith("="):
                    yield ws.title, c.coordinate, c.value[1:]


def validations_by_cell(ws) -> dict[str, list]:
    """Cell → the data validations covering it."""
    out: dict[str, list] = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            min_col, min_row, max_col, max_row = range_boundaries(rng.coord)
            for r in range(min_row, max_row + 1):
                for c in range(min_col, max_col + 1):
                    out.setdefault(ws.cell(r, c).coordinate, []).append(dv)
    return out


VOLATILE_OR_HIDING = frozenset({"OFFSET", "INDIRECT", "TODAY", "NOW", "RAND", "RANDBETWEEN", "IFERROR", "ISERROR",
                                "ISERR", "CELL", "INFO"})
"""Functions no jieyue workbook may use: volatile, or able to hide an error value."""


def conditional_rules(ws) -> list[tuple[str, str, object]]:
    """(range, formula, rule) of every conditional format on a sheet."""
    return [(str(cf.sqref), rule.formula[0] if rule.formula else "", rule)
            for cf in ws.conditional_formatting for rule in cf.rules]


def all_formulas(book: openpyxl.Workbook):
    """(where, sheet title, formula text) for every formula in the workbook: cells, custom validations and
    conditional formats."""
    for title, ref, f in formula_cells(book):
        yield f"{title}!{ref}", title, f
    for ws in book.worksheets:
        for dv in ws.data_validations.dataValidation:
            if dv.type == "custom":
                yield f"{ws.title} validation {dv.sqref}", ws.title, dv.formula1
        for rng, f, _ in conditional_rules(ws):
            yield f"{ws.title} conditional format {rng}", ws.title, f


def functions_not_allowed(book: openpyxl.Workbook, allowed: frozenset[str]) -> list[str]:
    """「where: FUNCTION」 for every function outside `allowed` (or volatile / error-hiding), and every formula
    carrying a newer Excel's _xlfn / _xlws prefix."""
    bad = []
    for where, _, f in all_formulas(book):
        if "_xlfn" in f.lower() or "_xlws" in f.lower():
            bad.append(f"{where}: {f}")
        for t in Tokenizer("=" + f).items:
            if t.type == Token.FUNC and t.subtype == Token.OPEN:
                fn = t.value[:-1].upper()
                if fn not in allowed or fn in VOLATILE_OR_HIDING:
                    bad.append(f"{where}: {fn}")
    return bad
