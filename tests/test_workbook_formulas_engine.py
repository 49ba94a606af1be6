"""The fill-in workbook in a second, fast engine: the `formulas` package (pure Python, no office suite).

The generated template is compiled once (`formulas.ExcelModel().loads(path).finish()`); each fill state is
then a `calculate(inputs=…)` on the input cells. Every derived contract name must equal `udfs.evaluate`, no
computed cell may hold an error value, and the blank state must compute to the cached values a fresh file
shows.

Two known differences of `formulas` 1.3.4 from Excel and LibreOffice are pinned below and allowed for:

* ROUND multiplies before rounding, so a decimal tie can fall just short: ROUND(1.005, 2) = 1.0 (Excel 1.01).
  A figure may therefore be one unit in its last rounded place *toward zero* from udfs (Excel's ROUND); any
  other difference fails.
* ISNUMBER("3") is TRUE for text that looks like a number (Excel and LibreOffice: FALSE for a text cell). The
  states here make such text unmistakably text ("约19800"); LibreOffice proves the real behaviour.
"""
from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Any

import formulas
import pytest
import schedula as sh
from formulas.functions import XlError

import udfs
from workbook_templates import load_spec

from tests.workbooks import blank_bytes, edge_states, mismatches, named_locations, plain, plan_cells, random_states

SPEC = load_spec()
FILE = "template.xlsx"
RANDOM = 20


def _as_text(value: Any) -> Any:
    """Numeric-looking text made unmistakably text (see the module note on ISNUMBER)."""
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return value
        return "约" + value
    return value


STATES = [(label, {k: _as_text(v) for k, v in inputs.items()}) for label, inputs in edge_states()
          + random_states()[:RANDOM]]
STATE = dict(STATES)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = Path(tmp_path_factory.mktemp("formulas")) / FILE
    path.write_bytes(blank_bytes())
    return formulas.ExcelModel().loads(str(path)).finish()


def key(sheet: str, ref: str) -> str:
    """A cell as `formulas` names it: "'[template.xlsx]SHEET'!A1" (sheet names upper-cased)."""
    return f"'[{FILE}]{sheet.upper()}'!{ref}"


def value_of(ranges) -> Any:
    v = ranges.value[0, 0] if hasattr(ranges, "value") else ranges
    if v is sh.EMPTY:
        return None
    if isinstance(v, XlError):
        return v
    return v.item() if hasattr(v, "item") else v


@lru_cache(maxsize=None)
def _solve(model, label: str) -> dict[str, Any]:
    """Every computed cell of one state: formulas key → plain value."""
    inputs = {key(*named_locations()[n]): v for n, v in STATE[label].items()}
    solution = model.calculate(inputs=inputs)
    return {k: value_of(v) for k, v in solution.items() if "!" in k}


def named(solution: dict[str, Any]) -> dict[str, Any]:
    return {n: solution.get(key(*loc)) for n, loc in named_locations().items()}


DIGITS = {"kgce": SPEC.precision.kgce, "co2_t": SPEC.precision.co2_t, "chg": SPEC.precision.change_pct,
          "self": SPEC.precision.score}


def _digits(name: str) -> int:
    if name.startswith("chg_"):
        return DIGITS["chg"]
    if name.startswith("self_"):
        return DIGITS["self"]
    if name.endswith("_kgce"):
        return DIGITS["kgce"]
    if name.endswith("_co2_t"):
        return DIGITS["co2_t"]
    return SPEC.precision.intensity


def round_tie_short(name: str, got: Any, expected: Any) -> bool:
    """`formulas`' ROUND fell one unit short of Excel's on a tie: one last-place unit toward zero."""
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (got, expected)):
        return False
    unit = 10.0 ** -_digits(name)
    return abs(got) < abs(expected) and math.isclose(abs(expected) - abs(got), unit, rel_tol=1e-6) \
        and math.copysign(1, got) == math.copysign(1, expected)


# ---------------------------------------------------------------- the pinned engine differences

def test_known_formulas_differences_are_still_there():
    """If these change, `formulas` was upgraded: revisit the allowances in this module."""
    def calc(f: str, *args):
        return formulas.Parser().ast(f)[1].compile()(*args)
    assert float(calc("=ROUND(1.005,2)")) == 1.0
    assert udfs.round_excel(1.005, 2) == 1.01
    assert bool(calc("=ISNUMBER(A1)", "3")) is True
    assert not any(isinstance(v, str) and _as_text(v) != v for _, s in STATES for v in s.values())


def test_model_loads_every_sheet_and_name(model):
    nodes = set(model.dsp.data_nodes)
    for name, (sheet, ref) in named_locations().items():
        assert key(sheet, ref) in nodes or any(n.startswith(key(sheet, "")) for n in nodes), name
        assert f"'[{FILE}]'!{name.upper()}" in nodes, name


# ---------------------------------------------------------------- the proofs

@pytest.mark.parametrize("label", [label for label, _ in STATES])
def test_named_outputs_equal_udfs_evaluate(model, label):
    inputs = STATE[label]
    got = named(_solve(model, label))
    expected = udfs.evaluate(inputs, SPEC.default_year, SPEC.default_preset, spec=SPEC)   # the blank template's
    wrong = [m for m in mismatches(got, inputs, rel=1e-9)
             if not round_tie_short(m.split(":")[0], got[m.split(":")[0]], expected[m.split(":")[0]])]
    assert not wrong, f"{label}: inputs {inputs}\n" + "\n".join(wrong)


@pytest.mark.parametrize("label", [label for label, _ in STATES])
def test_no_computed_cell_is_an_error(model, label):
    errors = {k: v for k, v in _solve(model, label).items() if isinstance(v, XlError)}
    assert not errors, f"{label}: {errors}"


def test_blank_state_computes_to_the_cached_blank_values(model):
    solution = _solve(model, "all_blank")
    wrong = []
    for (sheet, ref), cell in plan_cells().items():
        if cell.formula is None:
            continue
        got = solution.get(key(sheet, ref), "<not computed>")
        if plain(got) != plain(cell.blank) or isinstance(plain(got), bool) != isinstance(plain(cell.blank), bool):
            wrong.append(f"{sheet}!{ref}: cached {cell.blank!r}, formulas {got!r}")
    assert not wrong, wrong


def test_states_do_not_leak_into_each_other(model):
    """`calculate` starts from the file each time: the blank state after a full unit is still blank."""
    _solve(model, "complete_unit")
    again = named({k: value_of(v) for k, v in model.calculate().items() if "!" in k})
    assert again == named(_solve(model, "all_blank"))
