"""The fill-in workbook in a real spreadsheet engine: LibreOffice recalculates every fill state.

Each state (all blank, only 人数 and 面积, zeros, a complete unit, with and without vehicles, unit 7's
selector, illegal scores, text and negatives in number cells, 其中 larger than its parent, and seeded random
states) is written into the generated template with `generator.fill_workbook`, exactly as a unit would type
it (text stays text). All files are recalculated in ONE headless LibreOffice call (always-recalculate profile)
and read back with openpyxl `data_only=True`. Then:

* no cell on any sheet holds an error value (#DIV/0!, #VALUE!, #REF!, #NAME?, #N/A …);
* every derived contract name equals `udfs.evaluate` on the same inputs, exactly;
* the blank state recalculates to the cached values the generator wrote (what a fresh file shows);
* the status cells say what is wrong (missing, text, negative, 其中 too large, ±10 %, double count, score).
"""
from __future__ import annotations

import math
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from generator.layout import EVIDENCE_ASKED
import udfs
from udfs.decline import decline_blocker
from workbook_templates import load_spec
from workbook_templates.contract import sheet_names

from tests.libreoffice import recalculate
from tests.workbooks import (fill, fill_states, is_error, mismatches, named_locations, plain, plan, plan_cells,
                             read_values)

pytestmark = pytest.mark.libreoffice

SPEC = load_spec()
NAMES = sheet_names(SPEC.year(None).year)
STATES = fill_states()
STATE = dict(STATES)


@pytest.fixture(scope="module")
def recalculated(tmp_path_factory) -> dict[str, dict[tuple[str, str], Any]]:
    """State label → {(sheet, cell): value} after LibreOffice recalculated the filled workbook."""
    assert len({label for label, _ in STATES}) == len(STATES)
    src = tmp_path_factory.mktemp("filled")
    with ProcessPoolExecutor(max_workers=2) as pool:      # openpyxl load+save is ~0.1 s per state
        filled = list(pool.map(fill, [inputs for _, inputs in STATES], chunksize=8))
    files = []
    for (label, _), data in zip(STATES, filled):
        path = src / f"{label}.xlsx"
        path.write_bytes(data)
        files.append(path)
    outputs = recalculate(files, tmp_path_factory.mktemp("recalculated"))
    with ProcessPoolExecutor(max_workers=2) as pool:
        values = list(pool.map(read_values, outputs, chunksize=8))
    return {label: cells for (label, _), cells in zip(STATES, values)}


def named_values(cells: dict[tuple[str, str], Any]) -> dict[str, Any]:
    return {name: cells.get(loc) for name, loc in named_locations().items()}


def note(cells, slot: str, key: str) -> str:
    """The 填写提示 shown on one energy row."""
    sheet = plan().sheet(NAMES[slot])
    qty = named_locations()[f"{slot}_{SPEC.item(key).name}"][1]
    (ref,) = [r for r, c in sheet.cells.items() if r[1:] == qty[1:] and c.style == "status"]
    return plain(cells.get((sheet.title, ref))) or ""


def self_note(cells, score_name: str) -> str:
    title, ref = named_locations()[score_name]
    (note_ref,) = [r for r, c in plan().sheet(title).cells.items() if r[1:] == ref[1:] and c.style == "status"]
    return plain(cells.get((title, note_ref))) or ""


# ---------------------------------------------------------------- the states themselves

def test_states_cover_the_brief():
    labels = [label for label, _ in STATES]
    assert sum(label.startswith("random_") for label in labels) >= 200
    for required in ("all_blank", "only_people_and_area", "zeros_everywhere", "complete_unit",
                     "complete_unit_without_vehicles_0", "unit7_yes", "unit7_no", "unit7_blank_selector",
                     "illegal_scores", "text_in_numbers", "negatives", "sub_row_larger_than_parent"):
        assert required in labels
    randoms = [inputs for label, inputs in STATES if label.startswith("random_")]
    kinds = {type(v).__name__ for s in randoms for v in s.values()}
    assert {"int", "float", "str"} <= kinds
    assert any(v == 0 for s in randoms for v in s.values())
    assert any(isinstance(v, (int, float)) and v < 0 for s in randoms for v in s.values())


@pytest.mark.parametrize("label", [label for label, _ in STATES])
def test_engine_saw_the_inputs_as_filled(recalculated, label):
    """Text stays text and numbers stay numbers through fill and LibreOffice (else the comparison is moot)."""
    cells = recalculated[label]
    for name, value in STATE[label].items():
        got = cells.get(named_locations()[name])
        if isinstance(value, str):
            assert got == value or (not value.strip() and plain(got) in (None, value.strip())), (name, value, got)
        else:       # LibreOffice writes numbers with (about) 15 significant digits, as Excel shows them
            assert isinstance(got, (int, float)) and not isinstance(got, bool), (name, value, got)
            assert math.isclose(got, value, rel_tol=1e-14), (name, value, got)


# ---------------------------------------------------------------- no error value, anywhere

@pytest.mark.parametrize("label", [label for label, _ in STATES])
def test_no_cell_holds_an_error_value(recalculated, label):
    cells = plan_cells()
    errors = [f"{sheet}!{ref} = {value} (formula {cells.get((sheet, ref)) and cells[(sheet, ref)].formula})"
              for (sheet, ref), value in recalculated[label].items() if is_error(value)]
    assert not errors, f"{label}: inputs {STATE[label]}\n" + "\n".join(errors)


# ---------------------------------------------------------------- every named output equals udfs.evaluate

@pytest.mark.parametrize("label", [label for label, _ in STATES])
def test_named_outputs_equal_udfs_evaluate(recalculated, label):
    inputs = STATE[label]
    wrong = mismatches(named_values(recalculated[label]), inputs)
    assert not wrong, f"{label}: inputs {inputs}\n" + "\n".join(wrong)


def test_complete_unit_is_actually_computed(recalculated):
    """Guards the comparison itself: LibreOffice did recalculate (a stale file would show the blank state)."""
    got = named_values(recalculated["complete_unit"])
    expected = udfs.evaluate(STATE["complete_unit"], SPEC.default_year, SPEC.default_preset, spec=SPEC)
    assert expected["self_total"] is not None and got["self_total"] == expected["self_total"]
    assert got["cur_energy_per_capita"] == expected["cur_energy_per_capita"] is not None
    assert isinstance(got["ok_energy_per_capita"], bool)


# ---------------------------------------------------------------- the blank state is what a fresh file shows

def test_blank_state_recalculates_to_the_cached_blank_values(recalculated):
    cells = recalculated["all_blank"]
    wrong = []
    for key, planned in plan_cells().items():
        if planned.formula is None:
            continue
        got, want = plain(cells.get(key)), plain(planned.blank)
        same = (got == want and type(got) is type(want)) or (
            isinstance(want, (int, float)) and not isinstance(want, bool) and isinstance(got, (int, float))
            and not isinstance(got, bool) and float(got) == float(want))
        if not same:
            wrong.append(f"{key[0]}!{key[1]}: cached {planned.blank!r}, LibreOffice {cells.get(key)!r}")
    assert not wrong, wrong


# ---------------------------------------------------------------- the status cells guide the unit

def test_blank_required_rows_ask_to_be_filled(recalculated):
    cells = recalculated["only_people_and_area"]
    for slot in ("prev", "cur"):
        assert note(cells, slot, "people") == ""
        assert note(cells, slot, "electricity") == "请填写" + SPEC.item("electricity").label
        assert note(cells, slot, "coal") == ""                 # optional rows stay quiet


def test_text_and_negative_quantities_are_named_as_such(recalculated):
    text, neg = recalculated["text_in_numbers"], recalculated["negatives"]
    assert note(text, "prev", "electricity") == "请填写数字（不要带单位或文字）"
    assert note(text, "cur", "water") == "请填写数字（不要带单位或文字）"
    assert note(neg, "prev", "people") == "不能为负数"
    assert note(neg, "cur", "gas") == "不能为负数"


def test_sub_row_larger_than_parent_is_named(recalculated):
    cells = recalculated["sub_row_larger_than_parent"]
    assert note(cells, "prev", "heated_area") == "不能大于上一行（其中项）"
    assert note(cells, "cur", "official_vehicles") == "不能大于上一行（其中项）"
    assert note(cells, "prev", "heating_coal") == "不能大于上一行（其中项）"
    assert note(cells, "cur", "official_gasoline") == "不能大于上一行（其中项）"


def test_people_or_area_changing_over_10_percent_asks_for_a_check(recalculated):
    flagged, normal = recalculated["people_and_area_change_over_10pct"], recalculated["complete_unit"]
    assert note(flagged, "cur", "people") == "较上年变化超过10%，请核实"
    assert note(flagged, "cur", "area") == "较上年变化超过10%，请核实"
    assert note(normal, "cur", "people") == "" and note(normal, "cur", "area") == ""


def test_heated_area_and_heat_both_filled_warns_of_double_counting(recalculated):
    both, one = recalculated["heated_area_and_heat_both"], recalculated["complete_unit"]
    for slot in ("prev", "cur"):
        assert note(both, slot, "heated_area") == "供热面积与热力同时填写，可能重复计算"
        assert note(both, slot, "heat") == "供热面积与热力同时填写，可能重复计算"
        assert note(one, slot, "heat") == ""


def test_illegal_scores_are_named_and_blank_ones_asked_for(recalculated):
    bad, none = recalculated["illegal_scores"], recalculated["complete_unit_no_scores"]
    for name in ("self_2_1_1", "self_2_1_2", "self_2_2_1", "self_2_3_2", "self_3_3_1", "self_8_2_3"):
        assert self_note(bad, name) == "分值不符合评分规则，请从下拉列表选择", name
    # a legal score above 0 with no 佐证材料 listed asks for the files (issue 13)
    assert self_note(bad, "self_2_2_2") == EVIDENCE_ASKED
    assert self_note(none, "self_2_1_1") == "请评分"


def test_unit_7_selector_decides_the_legal_scores(recalculated):
    """The same 7.1.1 score counts or not depending on 是/否, as udfs says; blank selector allows either."""
    ind = SPEC.indicator("7.1.1")
    yes, no = set(udfs.legal_values(ind, "是", spec=SPEC)), set(udfs.legal_values(ind, "否", spec=SPEC))
    for label, legal in (("unit7_yes_max", yes), ("unit7_no_max", no)):
        got = named_values(recalculated[label])
        assert STATE[label]["self_7_1_1"] in legal
        expected = udfs.evaluate(STATE[label], SPEC.default_year, SPEC.default_preset, spec=SPEC)
        assert got["self_unit_7"] == expected["self_unit_7"] is not None
    blank = recalculated["unit7_blank_selector"]
    assert self_note(blank, "self_7_1_1") == EVIDENCE_ASKED           # counted (above 0), no 佐证材料 listed
    title, ref = named_locations()["canteen_evaluation_implemented"]
    (selector_note,) = [r for r, c in plan().sheet(title).cells.items() if r[1:] == ref[1:] and c.style == "status"]
    assert plain(blank.get((title, selector_note))) == "请先选择是否实施"


# ---------------------------------------------------------------- what blocks a decline (issue 12 §4)

@pytest.mark.parametrize("label", [label for label, _ in STATES])
def test_decline_results_say_what_udfs_says(recalculated, label):
    """The 强度指标下降率 「结果」 column in every state: 达标 / 未达标 as udfs decides, or 「无法计算：…」 worded
    exactly as `udfs.decline.decline_blocker` (the E211 finding's words) — blank, zero, text and negative inputs
    included."""
    inputs = STATE[label]
    results = udfs.evaluate(inputs, SPEC.default_year, SPEC.default_preset, spec=SPEC)
    cells = recalculated[label]
    for r, i in enumerate(SPEC.decline_intensities, start=4):
        blocked = decline_blocker(i, inputs, results, SPEC.year(None), SPEC)
        want = blocked.text if blocked else ("达标" if results[f"ok_{i.key}"] else "未达标")
        assert plain(cells.get((NAMES["decline"], f"G{r}"))) == want, (label, i.key, inputs)
