"""Renders workbooks from the spec (`workbook_templates`).

`layout.build_plan` lays the fill-in workbook out as plain data (`plan`), with every formula shape from
`formulas`; `render.render_workbook` writes it with openpyxl; `fill.fill_workbook` sets inputs by name.
`roster.read_roster` reads and validates a 名单; `personalise.Personaliser` makes one copy per unit at the zip
level and `personalise.write_workbooks` writes them atomically.
"""
from importlib import import_module
from typing import Any

# Where each public name lives. Imported on first use (PEP 562): reading returned workbooks needs only
# `layout`'s names, and a consolidation run should not pay for importing openpyxl, which rendering needs.
_EXPORTS = {
    "fill_workbook": "fill", "named_cells": "fill",
    "TEMPLATE_VERSION": "layout", "build_plan": "layout", "sheet_names": "layout",
    "Personaliser": "personalise", "write_atomically": "personalise", "write_workbooks": "personalise",
    "render_workbook": "render",
    "Roster": "roster", "RosterError": "roster", "RosterUnit": "roster", "read_roster": "roster",
    "safe_file_name": "roster",
}

__all__ = [*_EXPORTS, "template_bytes"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def template_bytes(year: int | None = None, preset: str | None = None, unit=None, **choices) -> bytes:
    """The fill-in workbook for an assessment year and preset as .xlsx bytes (personalised with `unit`)."""
    from .layout import build_plan
    from .render import render_workbook
    return render_workbook(build_plan(year, preset, **choices), unit)
