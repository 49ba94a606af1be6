"""Filling a generated workbook's input cells by defined name — as a unit would, for samples and tests.

Only input cells are written (never a formula), through openpyxl, which keeps protection, validations and
defined names. Returned workbooks are never re-saved this way: openpyxl drops cached values.
"""
from __future__ import annotations

import io
from typing import Any, Mapping

import openpyxl


def named_cells(wb) -> dict[str, tuple[str, str]]:
    """Defined name → (sheet title, cell) of a workbook opened with openpyxl."""
    out = {}
    for name, dn in wb.defined_names.items():
        for title, ref in dn.destinations:
            out[name] = (title, ref.replace("$", ""))
    return out


def fill_workbook(data: bytes, inputs: Mapping[str, Any]) -> bytes:
    """The workbook with each named input cell set to its value (None clears it). Unknown or formula cells
    raise ValueError: a fill must never overwrite a calculation."""
    wb = openpyxl.load_workbook(io.BytesIO(data))
    cells = named_cells(wb)
    for name, value in inputs.items():
        if name not in cells:
            raise ValueError(f"工作簿中没有名称「{name}」")
        title, ref = cells[name]
        cell = wb[title][ref]
        if isinstance(cell.value, str) and cell.value.startswith("="):
            raise ValueError(f"「{name}」（{title}!{ref}）是计算单元格，不能填写")
        cell.value = value
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
