"""Filling a generated workbook's input cells by defined name — as a unit or a reviewer would, for samples and tests.

One function serves both workbooks: a fill-in workbook's inputs are workbook-scoped names (`inputs`); a review
pack's scorecards carry the same sheet-local names on every sheet, so its inputs are given per scorecard, by the
unit code each one shows (`scorecards`, found by `SCORECARD_KEY`). Only cells a person can type into are
written — never a formula, never a locked cell — through openpyxl, which keeps protection, validations and
defined names. Returned workbooks are never re-saved this way: openpyxl drops cached values.
"""
from __future__ import annotations

import io
from typing import Any, Mapping

import openpyxl

from workbook_templates.contract import SCORECARD_KEY


def named_cells(wb) -> dict[str, tuple[str, str]]:
    """Defined name → (sheet title, cell) of a workbook opened with openpyxl."""
    out = {}
    for name, dn in wb.defined_names.items():
        for title, ref in dn.destinations:
            out[name] = (title, ref.replace("$", ""))
    return out


def fill_workbook(data: bytes, inputs: Mapping[str, Any] | None = None, *,
                  scorecards: Mapping[str, Mapping[str, Any]] | None = None) -> bytes:
    """The workbook with input cells set by name (None clears a cell).

    `inputs`: workbook-scoped name → value (a fill-in workbook, as the unit types them). `scorecards`: for a
    review pack, 统一社会信用代码 → {sheet-local name → value} on that unit's scorecard, e.g. {code: {rev_reviewer:
    …, rev_county_given_2_1_1: 3, rev_county_findings_3_2_2: 1}} (as a reviewer types them). An unknown name or
    unit, a formula cell or a locked cell raises ValueError: a fill never overwrites a calculation or what the
    workbook locks."""
    wb = openpyxl.load_workbook(io.BytesIO(data))
    if inputs:
        cells = named_cells(wb)
        for name, value in inputs.items():
            if name not in cells:
                raise ValueError(f"工作簿中没有名称「{name}」")
            _set(wb, name, *cells[name], value, "单位")
    if scorecards:
        sheets = {}
        for ws in wb.worksheets:
            key = ws.defined_names.get(SCORECARD_KEY)
            if key is not None:
                (title, ref), = key.destinations
                sheets[str(wb[title][ref.replace("$", "")].value)] = ws
        for code, values in scorecards.items():
            if code not in sheets:
                raise ValueError(f"评审包中没有统一社会信用代码为「{code}」的评分表")
            ws = sheets[code]
            for name, value in values.items():
                dn = ws.defined_names.get(name)
                if dn is None:
                    raise ValueError(f"评分表「{ws.title}」中没有名称「{name}」")
                (title, ref), = dn.destinations
                _set(wb, name, title, ref.replace("$", ""), value, "评审人")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _set(wb, name: str, title: str, ref: str, value: Any, who: str) -> None:
    """Set one input cell; a formula or a locked cell is not one (`who` fills it: 单位 / 评审人)."""
    cell = wb[title][ref]
    if isinstance(cell.value, str) and cell.value.startswith("=") or cell.protection.locked:
        raise ValueError(f"「{name}」（{title}!{ref}）是计算结果或已锁定，不是{who}填写的单元格")
    cell.value = value


__all__ = ["fill_workbook", "named_cells"]
