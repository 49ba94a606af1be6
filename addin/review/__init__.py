"""Review packs and spot-check lists: from a folder of returned workbooks to what the reviewing authorities fill in.

Both start from the same consolidation (`addin.consolidate.consolidate`): every return is read safely and
recomputed with its own year and preset, duplicates are resolved, and each unit appears once (`run.units`).
The folder shows the steps:

    select     which units a reviewer's pack covers (level, region, --sampled-only) and the spot-check marks
    (layout)   generator/review_layout.py lays the pack out as plain data
    pack       what a scorecard shows of a consolidated unit; the pack assembled, rendered and written
    split      a pack in several workbooks (`--split`): which units go into which part, their names, all or none
    spot_list  the spot-check lists as a workbook (drawn from every consolidated unit with the same seed, so a
               pack built with that seed marks exactly the units on the lists)
    names      the pack's published names (docs/review_names.csv): `python -m addin.review --names`
    commands   `jieyue review-pack` and `jieyue spot-check` (`run_review_pack`, `run_spot_check`)
"""
from importlib import import_module
from typing import Any

# Where each public name lives, imported on first use (PEP 562): choosing units needs no openpyxl.
_EXPORTS = {"run_review_pack": "commands", "run_spot_check": "commands",
            "ReviewPack": "pack", "build_review_pack": "pack", "review_unit": "pack", "write_review_pack": "pack",
            "Selection": "select", "select_units": "select", "draw_spot_checks": "select",
            "SpotCheck": "spot_list", "draw_spot_check": "spot_list", "spot_check_workbook": "spot_list",
            "write_spot_check": "spot_list", "review_name_rows": "names", "review_names_csv": "names"}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
