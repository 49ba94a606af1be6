"""Renders workbooks from the spec (`workbook_templates`).

`layout.build_plan` lays the fill-in workbook out as plain data (`plan`), with every formula shape from
`formulas`; `render.render_workbook` writes it with openpyxl; `fill.fill_workbook` sets inputs by name.
`roster.read_roster` reads and validates a 名单; `personalise.Personaliser` makes one copy per unit at the zip
level and `personalise.write_workbooks` writes them atomically.
"""
from .fill import fill_workbook, named_cells
from .layout import TEMPLATE_VERSION, build_plan, sheet_names
from .personalise import Personaliser, write_atomically, write_workbooks
from .render import render_workbook
from .roster import Roster, RosterError, RosterUnit, read_roster, safe_file_name

__all__ = ["TEMPLATE_VERSION", "build_plan", "sheet_names", "render_workbook", "fill_workbook", "named_cells",
           "template_bytes", "Personaliser", "write_atomically", "write_workbooks", "read_roster", "safe_file_name",
           "Roster", "RosterUnit", "RosterError"]


def template_bytes(year: int | None = None, preset: str | None = None, unit=None, **choices) -> bytes:
    """The fill-in workbook for an assessment year and preset as .xlsx bytes (personalised with `unit`)."""
    return render_workbook(build_plan(year, preset, **choices), unit)
