"""The choices a calculation is made with — the factor preset and the assessment year — looked up in the spec.

The core never picks them itself: `Spec.preset(None)` means "the default preset" and `Spec.year(None)` "the
latest year", and a `None` reaching the core that way would silently recompute a file with other factors or
targets than its own. Here `None` is an error; the command layer (CLI, console, demo, the xlwings functions)
decides the defaults — or reads them from a returned file's `_meta` — and passes them down.
"""
from __future__ import annotations

from workbook_templates import Spec
from workbook_templates.model import Preset, YearTargets


def preset_of(spec: Spec, preset: str) -> Preset:
    """The factor preset `preset` of the spec (`UnknownChoice`, in Chinese, when the spec has no such preset)."""
    if preset is None:
        raise TypeError("udfs 需要明确的系数预设（preset）：默认值由命令层决定，如 spec.default_preset")
    return spec.preset(preset)


def year_of(spec: Spec, year: int) -> YearTargets:
    """The assessment year `year` of the spec (`UnknownChoice`, in Chinese, when the spec has no targets for it)."""
    if year is None:
        raise TypeError("udfs 需要明确的复验年度（year）：默认值由命令层决定，如 spec.default_year")
    return spec.year(year)
