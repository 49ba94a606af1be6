"""Renders workbooks from the spec (`workbook_templates`).

`layout.build_plan` lays the fill-in workbook out as plain data (`plan`), with every formula shape from
`formulas`; `render.render_workbook` writes it with openpyxl; `fill.fill_workbook` sets inputs by name.
`roster.read_roster` reads and validates a 名单; `personalise.Personaliser` makes one copy per unit at the zip
level and `personalise.write_workbooks` writes them atomically. `review_layout.build_review_plan` lays out a
reviewer's pack. `ooxml` checks output paths, writes atomically and works on zips without openpyxl; `formats`
derives number formats from the spec's precision; `wording` turns the spec's texts into what a unit or a reviewer
reads (the years filled in, no provenance tags); `print_layout` gives wrapped rows their height and every printed page
its running head. Every function takes the spec, the assessment year and the factor preset it works with: none of them
picks a default (the command layer does).
"""
from importlib import import_module
from typing import Any

# Where each public name lives. Imported on first use (PEP 562): a consolidation run uses only `ooxml` and
# `formats`, and should not pay for importing openpyxl, which rendering needs.
_EXPORTS = {
    "fill_workbook": "fill", "named_cells": "fill",
    "build_plan": "layout",
    "number_format": "formats", "number_formats": "formats",
    "TEMP_PREFIX": "ooxml", "check_output": "ooxml", "write_atomically": "ooxml",
    "Personaliser": "personalise", "write_workbooks": "personalise",
    "render_workbook": "render",
    "Roster": "roster", "RosterError": "roster", "RosterUnit": "roster", "read_roster": "roster",
    "safe_file_name": "roster",
}

__all__ = [*_EXPORTS, "template_bytes"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def template_bytes(spec, year: int, preset: str, unit=None, **choices) -> bytes:
    """The fill-in workbook of `spec` for an assessment year and preset as .xlsx bytes (personalised with `unit`)."""
    from .layout import build_plan
    from .render import render_workbook
    return render_workbook(build_plan(spec, year, preset, **choices), unit)
