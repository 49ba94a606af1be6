"""The spec's text as a unit or a reviewer reads it, shared by the fill-in workbook and the review pack.

The spec (`workbook_templates/spec/standard.toml`) keeps its working notes inside some texts: the year
placeholders of the evidence (`{assessment_year}`, `{cur_year}`, `{prev_year}`) and provenance tags —
「（seed）」「（inferred）」 after a piece of evidence, 「（推断）」 before an inferred indicator, 「【待核实】」. Those
belong to the spec and the administrator's documentation (`jieyue spec --factors`, the README); a workbook shows
the real years and plain Chinese. `shown(text, year)` is what every sheet writes; `fill_year` and `plain` are its
two steps, and `PROVENANCE` is what the tests look for in every generated cell.
"""
from __future__ import annotations

import re

PROVENANCE = re.compile(r"（(?:seed|inferred|推断)）|【待核实】")
"""The spec's provenance tags, as they appear inside its texts."""

YEAR_PLACEHOLDER = re.compile(r"\{(?:assessment_year|cur_year|prev_year)\}")


def fill_year(text: str, year: int) -> str:
    """The spec's year placeholders filled for assessment year `year`: {assessment_year} = year,
    {cur_year} = year − 1, {prev_year} = year − 2 (the two data years)."""
    for key, value in (("{assessment_year}", year), ("{cur_year}", year - 1), ("{prev_year}", year - 2)):
        text = text.replace(key, str(value))
    return text


def plain(text: str) -> str:
    """`text` without the spec's provenance tags."""
    return PROVENANCE.sub("", text).strip()


def shown(text: str | None, year: int) -> str | None:
    """A spec text as a workbook shows it: the years filled in, the provenance tags gone."""
    return None if text is None else plain(fill_year(text, year))


TARGET = "{target}"
"""An indicator text's placeholder for its decline target (standard.toml; the loader allows it on unit 1 only)."""


def target_text(target: float, digits: int) -> str:
    """A decline target as an indicator text quotes it: −1.40 → 「1.40」 (the size of the decline, at the
    precision of the change)."""
    return f"{abs(target):.{digits}f}"


def indicator_text(indicator, spec, year: int) -> str:
    """An indicator's text as every workbook and summary shows it for assessment `year`: its decline target from
    targets.toml in place of `{target}` (「同比下降1.40%以上」 for 2023, the new figure for a new year), the years
    filled in, the provenance tags gone."""
    text = indicator.text
    if TARGET in text:
        target = spec.year(year).targets[indicator.rule.metric]
        text = text.replace(TARGET, target_text(target, spec.precision.change_pct))
    return shown(text, year)
