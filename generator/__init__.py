"""Renders workbooks from the spec (`workbook_templates`).

`layout.build_plan` lays the fill-in workbook out as plain data (`plan`), with every formula shape from
`formulas`; `render.render_workbook` writes it with openpyxl; `fill.fill_workbook` sets inputs by name.
"""
from .fill import fill_workbook, named_cells
from .layout import TEMPLATE_VERSION, build_plan, sheet_names
from .render import render_workbook

__all__ = ["TEMPLATE_VERSION", "build_plan", "sheet_names", "render_workbook", "fill_workbook", "named_cells",
           "template_bytes"]


def template_bytes(year: int | None = None, preset: str | None = None, unit=None, **choices) -> bytes:
    """The fill-in workbook for an assessment year and preset as .xlsx bytes (personalised with `unit`)."""
    return render_workbook(build_plan(year, preset, **choices), unit)
