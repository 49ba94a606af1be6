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
    for col in figure_columns(spec):
        value = (inputs if col.source == "inputs" else results).get(col.key)
        out.append(sheetxml.cell(value, style.get(col.fmt, text), text, yes_no, col.fmt == "yesno"))
    return "".join(out)


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
