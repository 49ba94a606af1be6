"""Stage 5: the outputs of a run — the summary workbook, the JSON report, then the ledger.

`check_outputs` runs before any work, so a bad path fails before a single file is read; `write_outputs` builds
`content(run)` once, renders both outputs from it (each written atomically), and only then commits the
ledger, so a failed write still reports the same files next time.
"""
from __future__ import annotations

from pathlib import Path

from generator.ooxml import check_output
from workbook_templates import Spec

from .content import content
from .ledger import Ledger
from .model import ConsolidationRun
from .report_json import write_report
from .summary import write_summary


def check_outputs(summary: str | Path, report: str | Path | None) -> None:
    """The summary must be an .xlsx and the report a .json in existing folders (OutputError otherwise)."""
    check_output(summary, ".xlsx", "汇总表")
    if report:
        check_output(report, ".json", "JSON 报告")


def write_outputs(run: ConsolidationRun, summary: str | Path, report: str | Path | None, spec: Spec,
                  ledger: Ledger | None = None) -> None:
    """The summary workbook (and the JSON report), each written atomically; then the ledger's pending rows."""
    data = content(run, spec)          # built once for both outputs (it also checks the accounting)
    write_summary(data, Path(summary), spec)
    if report:
        write_report(data, Path(report))
    if ledger is not None:
        ledger.commit()
