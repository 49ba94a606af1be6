"""The pre-render stage: a consolidated file's figures rendered once, where the file was read.

One input — the file's inputs and recomputed results — and one output, `Rendered`: the figures as the JSON
report writes them and as the 汇总 sheet's cells. It runs in the worker that read the file and its output is
kept in the ledger, so a re-run over thousands of unchanged files joins text instead of rendering every unit
again. The outputs (`summary`, `report`) render a unit the same way when no pre-rendered figures exist.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from workbook_templates import Spec

from . import sheetxml
from .columns import figure_columns, style_indices
from .model import FileOutcome, Rendered, StoredFigures
from .report_json import to_json


def render_figures(inputs: Mapping[str, Any], results: Mapping[str, Any], spec: Spec,
                   counted: Sequence[float] = ()) -> Rendered:
    """The figures as the outputs show them: JSON text of inputs and results, and the 汇总 cells; with the unit's
    self scores as counted (`unit_indicators.counted_rows`), computed for its chunk where it was read."""
    return Rendered.of(to_json(inputs), to_json(results), unit_cells(inputs, results, spec), counted)


def unit_cells(inputs: Mapping[str, Any], results: Mapping[str, Any], spec: Spec) -> str:
    """The 汇总 cells of one unit's figures (both data years, decline, scores), in column order."""
    style = style_indices(spec)
    text, yes_no = style["text"], style["yesno"]
    out = []
    for from_inputs, key, col_style, is_yes_no, blank, number in _cell_plan(spec):
        value = (inputs if from_inputs else results).get(key)
        if value is None:
            out.append(blank)
        elif type(value) is float and number is not None:   # most figures: `sheetxml.cell`'s number, in line
            out.append(f"{number}{value:.16G}</v></c>")
        else:
            out.append(sheetxml.cell(value, col_style, text, yes_no, is_yes_no))
    return "".join(out)


def _cell_plan(spec: Spec) -> tuple[tuple[bool, str, int, bool, str, str | None], ...]:
    """Per figure column: (from the inputs?, key, its style, a 是/否 column?, its blank cell, the start of its number
    cell — None for a 是/否 column, whose numbers are left to `sheetxml.cell`) — made once per spec."""
    plan = _CELL_PLANS.get(spec.digest)
    if plan is None:
        style = style_indices(spec)
        text = style["text"]
        plan = []
        for col in figure_columns(spec):
            col_style = style.get(col.fmt, text)
            is_yes_no = col.fmt == "yesno"
            number = None if is_yes_no else (f'<c s="{col_style}"><v>' if col_style else "<c><v>")
            plan.append((col.source == "inputs", col.key, col_style, is_yes_no, sheetxml.blank_cell(col_style), number))
        plan = _CELL_PLANS[spec.digest] = tuple(plan)
    return plan


_CELL_PLANS: dict[str, tuple[tuple[bool, str, int, bool, str, str | None], ...]] = {}


def keep_as_rendered(outcome: FileOutcome, covered: frozenset[str]) -> None:
    """A file just read keeps its figures as the rendered JSON text (`StoredFigures`), with the names the run's own
    tables read for every unit (`covered`, `ledger.key_names`) decoded: what a re-run takes from the ledger, so both
    runs build the outputs from the same data; the worker sends a third of the bytes, and the main process does not
    hold the dicts of thousands of files at once."""
    r = outcome.rendered
    if r is None or isinstance(outcome.inputs, StoredFigures):
        return
    outcome.inputs = StoredFigures(r.packed_inputs, {k: v for k, v in outcome.inputs.items() if k in covered},
                                   covered)
    outcome.results = StoredFigures(r.packed_results, {k: v for k, v in outcome.results.items() if k in covered},
                                    covered)
