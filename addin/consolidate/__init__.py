"""Consolidation of returned workbooks and review packs: the one-button job, laid out as its stages.

    walk        which files there are; lock, hidden and system files and folders, links, FIFOs skipped
    read/       one file, safely: preflight (bytes, zip; a pack's limits: pack_limits) → xmlscan (XML) → workbook
                (defined names → Extracted)
    ledger      what each file was last time (re-runs read only what changed)
    workers     each file read, checked and recomputed with its own year and preset (two processes; a file
                that crashes its process is that file's finding; `placement` F128)
    prerender   a file's figures rendered once, where it was read
    signatures  the generator's keyed signatures verified (with a key; S701–S704), afresh on every run
    rules       the run's year and preset filter, identity against the roster, duplicates, the roster
    reviews     the review packs' scorecards scored, composites, ranking and 摘牌 (`pack_parts`: a pack in parts)
    run         the stages above in order → `ConsolidationRun` (plain data, `model`)
    content     the run as rows and figures (`review_content` for the review results)
    summary     汇总.xlsx (`columns`, `sheetxml`);  report_json  the JSON report
    outputs     all outputs written to temporaries, renamed in order, the ledger committed last, under the
                lock beside the summary (`lock`); `pause` lets the fault tests stop a run at a named stage
    collector   the garbage collector's passes deferred while a run holds its data

Nothing here imports openpyxl (the roster reader does, only when a roster is given).
"""
from importlib import import_module
from typing import Any

# Where each public name lives, imported on first use (PEP 562): reading a file (`read`) must not pull in the
# outputs, nor a worker process what only the main process needs.
_EXPORTS = {"consolidate": "run", "write_outputs": "outputs", "check_outputs": "outputs",
            "claim_outputs": "outputs", "Ledger": "ledger",
            "ledger_path": "ledger", "read_roster_entries": "inputs", "outcome_line": "content"}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
