"""Where `jieyue generate --prefill-from` finds last year's figures: the previous year's JSON report
(`jieyue consolidate --json`) or its returns folder (consolidated here, as `jieyue consolidate` would).

Only a unit's own, trusted return is carried forward: one per 统一社会信用代码 (duplicates resolved by the usual
rule), and never a file whose unit information did not match the roster or its duplicates (D504, D505) — it may be
another unit's file under this code.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from generator.prefill import Prefill, carried_values, carried_year, prefill_note
from workbook_templates import InputError, Spec

UNTRUSTED = frozenset({"D504", "D505"})
"""Findings after which a return is not known to be its unit's own: not carried forward."""


@dataclass
class PrefillSource:
    values: dict[str, dict[str, float]]     # unit code → {prev_* name → number}
    report_year: int                        # the assessment year of last year's report
    data_year: int                          # the data year carried forward (this year's earlier one)
    label: str                              # how the workbooks name the source: 「2023年复验汇总报告」


def read_prefill(source: str | Path, spec: Spec, year: int) -> PrefillSource:
    """Last year's figures for assessment `year`'s earlier data year (year − 2), by unit code."""
    path = Path(source)
    if path.is_dir():
        from .consolidate import consolidate
        run = consolidate(path, spec=spec)
        untrusted = {f.code for f in run.files for x in f.findings if x.code in UNTRUSTED}
        units = [(f.code, f.inputs) for f in run.units if f.code not in untrusted]
        report_year, label = run.year, "{y}年复验回收的工作簿"
    elif path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            report_year = int(data["year"])
            untrusted = {x.get("unit_code") for x in data.get("findings", ()) if x.get("code") in UNTRUSTED}
            units = [(u["unit_code"], u["inputs"]) for u in data["units"] if u.get("unit_code") not in untrusted]
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as e:
            raise InputError(f"「{path}」不是 jieyue consolidate --json 输出的汇总报告（{type(e).__name__}: {e}）："
                             "请指定上年汇总时输出的 JSON 报告，或上年的回收目录") from None
        label = "{y}年复验汇总报告"
    else:
        raise InputError(f"找不到「{path}」：--prefill-from 应为上年汇总的 JSON 报告或上年的回收目录")
    slot = carried_year(report_year, year)
    values: dict[str, dict[str, float]] = {}
    for code, inputs in units:
        carried = carried_values(inputs if isinstance(inputs, Mapping) else {}, slot, spec)
        if code and carried:
            values[str(code)] = carried
    return PrefillSource(values, report_year, year - 2, label.format(y=report_year))


class Prefilled:
    """A personaliser (`generator.personalise.Personaliser`) whose workbooks have the earlier data year pre-filled
    from `source` (`generator.prefill.Prefill`); `filled` counts the units that had something to carry."""

    def __init__(self, personaliser: Any, source: PrefillSource, spec: Spec, year: int, preset: str,
                 choices: Mapping[str, Any] | None = None):
        self.personaliser, self.source, self.filled = personaliser, source, 0
        self.prefill = Prefill(spec, year, preset, source.values,
                               prefill_note(source.label, source.report_year, source.data_year), choices)

    def workbook(self, unit: Any) -> bytes:
        data, cells = self.prefill.workbook(self.personaliser.workbook(unit), unit.code)
        self.filled += bool(cells)
        return data

    def describe(self, units: int) -> str:
        """The line `jieyue generate` prints about the pre-fill."""
        return (f"按{self.source.label}预填 {self.source.data_year} 年度数据：{self.filled} 个单位已预填；"
                f"{units - self.filled} 个单位在上年的报告中没有可用数据（多为上年未参加复验的单位），由单位自行填写")


__all__ = ["PrefillSource", "Prefilled", "read_prefill"]
