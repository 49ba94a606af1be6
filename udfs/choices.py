"""The choices a calculation is made with — the factor preset and the assessment year — looked up in the spec.

The core never picks them itself: `Spec.preset(None)` means "the default preset" and `Spec.year(None)` "the
latest year", and a `None` reaching the core that way would silently recompute a file with other factors or
targets than its own. Here `None` is an error; the command layer (CLI, console, demo, the xlwings functions)
decides the defaults — or reads them from a returned file's `_meta` — and passes them down.
"""
from __future__ import annotations

from typing import Mapping

from workbook_templates import Spec
from workbook_templates.errors import UnknownChoice
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


SWITCH_SEPARATOR = ";"


def switches_text(chosen: Mapping[str, str]) -> str:
    """The 口径 switches as `_meta` records them: 「building_energy=all_vehicle_fuel;co2_per_area=all_co2」."""
    return SWITCH_SEPARATOR.join(f"{k}={v}" for k, v in chosen.items())


def parse_switches(text: object, spec: Spec) -> dict[str, str]:
    """`switches_text` read back (blank: no switch recorded, the spec's defaults apply). `UnknownChoice`, in Chinese,
    for text that is not 「开关=选项」 pairs of the spec."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return {}
    if not isinstance(text, str):
        raise UnknownChoice(f"口径开关「{text}」无法识别：应为「开关=选项」，多个用分号分隔")
    chosen: dict[str, str] = {}
    for part in text.split(SWITCH_SEPARATOR):
        key, sep, option = (x.strip() for x in part.partition("="))
        if not sep or not key or not option:
            raise UnknownChoice(f"口径开关「{part.strip()}」无法识别：应为「开关=选项」，如 building_energy=official_vehicle_fuel")
        check_switch(spec, key, option)
        chosen[key] = option
    return chosen


def check_switch(spec: Spec, key: str, option: str) -> None:
    """`UnknownChoice`, in Chinese, unless `key` is a switch of the spec and `option` one of its options."""
    if key not in spec.switches:
        raise UnknownChoice(f"未知的开关「{key}」，可选：{'、'.join(spec.switches)}")
    if option not in spec.switches[key].options:
        raise UnknownChoice(f"开关「{key}」没有选项「{option}」，可选：{'、'.join(spec.switches[key].options)}")
