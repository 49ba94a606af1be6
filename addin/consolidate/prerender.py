"""The pre-render stage: a consolidated file's figures rendered once, where the file was read.

One input — the file's inputs and recomputed results — and one output, `Rendered`: the figures as the JSON
report writes them and as the 汇总 sheet's cells. It runs in the worker that read the file and its output is
kept in the ledger, so a re-run over thousands of unchanged files joins text instead of rendering every unit
again. The outputs (`summary`, `report`) render a unit the same way when no pre-rendered figures exist.
"""
from __future__ import annotations

from typing import Any, Mapping

from workbook_templates import Spec

from . import sheetxml
from .columns import figure_columns, style_indices
from .model import Rendered
from .report_json import to_json


def render_figures(inputs: Mapping[str, Any], results: Mapping[str, Any], spec: Spec) -> Rendered:
    """The figures as the outputs show them: JSON text of inputs and results, and the 汇总 cells."""
    return Rendered(to_json(inputs), to_json(results), unit_cells(inputs, results, spec))


def unit_cells(inputs: Mapping[str, Any], results: Mapping[str, Any], spec: Spec) -> str:
    """The 汇总 cells of one unit's figures (both data years, decline, scores), in column order."""
    style = style_indices(spec)
    text, yes_no = style["text"], style["yesno"]
    out = []
    for col in figure_columns(spec):
        value = (inputs if col.source == "inputs" else results).get(col.key)
        out.append(sheetxml.cell(value, style.get(col.fmt, text), text, yes_no, col.fmt == "yesno"))
    return "".join(out)
