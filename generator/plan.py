"""A workbook as plain data: sheets of cells (constants or formulas), styles by name, validations,
conditional formats and defined names. `layout.py` builds it from the spec; `render.py` writes it.

Keeping the plan separate from openpyxl lets tests read the design (which cell is an input, which name
points where, what a formula shows before any input) without opening a file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Validation:
    """An Excel data validation; `error` is the Chinese message of the stop dialog."""

    type: str                      # decimal | list | textLength | custom
    formula1: str
    error: str
    operator: str | None = None    # greaterThanOrEqual | equal | …
    prompt: str | None = None
    allow_blank: bool = True
    formula2: str | None = None    # the upper bound of a `between`


@dataclass
class Cell:
    value: Any = None              # a constant (label, number); None with a formula
    formula: str | None = None     # without the leading "="
    style: str = "label"
    name: str | None = None        # the workbook-scoped defined name pointing here
    local_name: str | None = None  # a sheet-scoped defined name pointing here (the same name on many sheets)
    blank: Any = ""                # what a formula shows before anything is filled (the cached value written)
    validation: Validation | None = None
    number_format: str | None = None
    link: str | None = None        # a hyperlink to a place in the workbook, e.g. "'总览'!A1"
    url: str | None = None         # a hyperlink to a file, relative to the workbook (a scorecard's 佐证材料)
    personalised: Any = None       # the constant shown instead in a workbook personalised from a roster


@dataclass
class Conditional:
    """Highlight `cells` where `formula` (relative to the first cell) is TRUE."""

    cells: str
    formula: str
    style: str                     # warn | bad | missing


@dataclass
class SheetPlan:
    title: str
    cells: dict[str, Cell] = field(default_factory=dict)
    widths: dict[str, float] = field(default_factory=dict)
    merges: list[str] = field(default_factory=list)
    hidden_columns: list[str] = field(default_factory=list)
    conditionals: list[Conditional] = field(default_factory=list)
    freeze: str | None = None
    print_title_rows: str | None = None
    state: str = "visible"         # visible | hidden | veryHidden
    landscape: bool = False
    header: str = ""               # printed at the top left of every page (a personalised workbook: the unit's name)
    heights: dict[int, float] = field(default_factory=dict)   # row → at least this height (points)
    sections: tuple[int, ...] = ()  # rows a printed page may start at (headings): printed by `print_layout.paginate`
    whole_sections: bool = True    # a page ends before a section rather than within it (False: a long table)
    one_page: bool = False         # printed on one page, shrunk to fit (a form signed at its foot)

    def put(self, ref: str, cell: Cell) -> str:
        if ref in self.cells:
            raise ValueError(f"{self.title}!{ref} is laid out twice")
        self.cells[ref] = cell
        return ref

    def local_names(self) -> dict[str, str]:
        """Sheet-scoped defined name → cell."""
        out: dict[str, str] = {}
        for ref, cell in self.cells.items():
            if cell.local_name:
                if cell.local_name in out:
                    raise ValueError(f"{self.title}: local name {cell.local_name} laid out twice")
                out[cell.local_name] = ref
        return out

    def ref(self, cell_ref: str) -> str:
        """An absolute reference to one of this sheet's cells from any sheet."""
        return absolute_ref(self.title, cell_ref)


@dataclass
class WorkbookPlan:
    sheets: list[SheetPlan]
    template_version: str
    spec_digest: str

    def named(self) -> dict[str, tuple[SheetPlan, str]]:
        """Defined name → (sheet, cell)."""
        out: dict[str, tuple[SheetPlan, str]] = {}
        for sheet in self.sheets:
            for ref, cell in sheet.cells.items():
                if cell.name:
                    if cell.name in out:
                        raise ValueError(f"defined name {cell.name} laid out twice")
                    out[cell.name] = (sheet, ref)
        return out

    def sheet(self, title: str) -> SheetPlan:
        return next(s for s in self.sheets if s.title == title)


def absolute_ref(title: str, cell_ref: str) -> str:
    """An absolute reference to cell `cell_ref` of the sheet `title` from any sheet: 'Sheet'!$B$5."""
    col = cell_ref.rstrip("0123456789")
    return f"'{title}'!${col}${cell_ref[len(col):]}"


def column_letter(n: int) -> str:
    """The letters of the 1-based column `n`: 1 → A, 27 → AA."""
    out = ""
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out
