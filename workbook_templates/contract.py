"""The fixed parts of the data contract that are not in the TOML: what a generated workbook is recognised and read
by, whatever the spec says. The template versions (and the versions a reader accepts), the sheet names, where the
factors sit on the 参数 sheet, the names that identify a unit, and the `_meta` names of a fill-in workbook and of a
review pack. The generator lays the workbooks out from these constants and the reader of returns checks against
them, so neither copies the other; this module imports nothing (no openpyxl, no spec).
"""
from __future__ import annotations

# ---------------------------------------------------------------- versions

TEMPLATE_VERSION = "1.0"
"""The fill-in workbook's layout version: bump it when a cell moves or a formula changes, so returned files can be
recognised (and add the old one to KNOWN_TEMPLATE_VERSIONS only if the reader still reads it)."""

KNOWN_TEMPLATE_VERSIONS = frozenset({TEMPLATE_VERSION})
"""The fill-in workbook versions the reader of returns accepts (F110 otherwise)."""

REVIEW_TEMPLATE_VERSION = "review-1.0"
"""The review pack's layout version (never equal to a fill-in workbook's): bump it when a cell moves."""

KNOWN_REVIEW_VERSIONS = frozenset({REVIEW_TEMPLATE_VERSION})
"""The review pack versions the reader of returned packs accepts."""

# ---------------------------------------------------------------- sheets

PARAMS_SHEET = "参数"
"""The very hidden sheet of factors and legal-value lists (both workbooks; the title does not depend on the year)."""

META_SHEET = "_meta"
"""The hidden sheet whose workbook-scoped names say what the workbook is (META_NAMES / REVIEW_META_NAMES)."""


def sheet_names(year: int) -> dict[str, str]:
    """The fill-in workbook's sheet titles by role, for assessment `year` (the data sheets are named by year)."""
    return {"guide": "填表说明", "info": "单位信息", "prev": f"能耗数据{year - 2}", "cur": f"能耗数据{year - 1}",
            "decline": "强度指标下降率", "self": "自评表", "params": PARAMS_SHEET, "meta": META_SHEET}


REVIEW_SHEETS = {"guide": "说明", "overview": "总览", "params": PARAMS_SHEET, "meta": META_SHEET}
"""The review pack's fixed sheet titles by role; every other sheet is one unit's scorecard."""

# ---------------------------------------------------------------- the 参数 sheet

PARAM_KEY_COLUMN = "A"
"""Column of the 参数 sheet holding each energy row's key (electricity, diesel …)."""

PARAM_FIRST_ROW = 2
"""The first energy row on the 参数 sheet (row 1 holds the headers); rows follow without a gap."""

PARAM_COLUMNS = {"C": "factor", "D": "extra", "E": "co2"}
"""Column of the 参数 sheet → the factor it holds on each energy row: 折标系数, 附加系数, 每单位碳排放(吨)."""

# ---------------------------------------------------------------- names

UNIT_NAMES = ("unit_name", "unit_code", "unit_level", "unit_region")
"""The names that identify a unit: the 单位信息 cells a generated workbook has pre-filled and locked, in order."""

SIGNATURE_NAME = "signature"
"""The `_meta` name of the keyed signature (HMAC-SHA256, `udfs.signature`) over the identity the generator wrote:
a fill-in workbook's unit, version, preset and year; a review pack's level, region and scorecards. Blank when the
workbook was made without a key. The key itself is never in a workbook."""

CHOICE_NAMES = ("grid_factor", "calc_switches", "standard_version")
"""The `_meta` names of the run choices besides year and preset: the electricity CO2 factor, the 口径 switches
(「building_energy=all_vehicle_fuel;co2_per_area=all_co2」) and the standard version. A workbook made before they
were recorded has none of them: it is recomputed with the preset's grid factor, the spec's default switches and the
standard its year names."""

META_NAMES = ("template_version", "assessment_year", "factor_preset", "spec_digest", SIGNATURE_NAME, *CHOICE_NAMES)
"""The fill-in workbook's `_meta` names, in row order: a return is recomputed with its own year, preset and choices."""

WORKBOOK_KIND = "review"
"""`_meta` workbook_kind of a review pack (a fill-in workbook has no workbook_kind)."""

SCORECARD_COUNT = "scorecard_count"
"""`_meta` name of the number of scorecards a review pack holds: what its size limits are derived from (checked
against the sheets it actually holds), read before the rest of the pack (`addin.consolidate.read.pack_limits`)."""

PACK_PART_NAMES = ("pack_id", "pack_part", "pack_parts", "pack_part_label")
"""`_meta` names of a pack written in parts (`jieyue review-pack --split`): the id all parts share, this part's
number and the number of parts, and what this part covers (a 地州市, or 「单位1-500」). A pack in one workbook is
part 1 of 1."""

REVIEW_META_NAMES = ("template_version", "workbook_kind", "review_level", "review_region", "assessment_year",
                     "factor_preset", "spec_digest", "spot_check_seed", SIGNATURE_NAME, SCORECARD_COUNT,
                     *PACK_PART_NAMES)
"""The review pack's `_meta` names, in row order (new names are appended: no cell of an older pack moves)."""

SCORECARD_KEY = "rev_unit_code"
"""The sheet-local name on every scorecard of a review pack that says which unit (统一社会信用代码) it is."""

__all__ = ["TEMPLATE_VERSION", "KNOWN_TEMPLATE_VERSIONS", "REVIEW_TEMPLATE_VERSION", "KNOWN_REVIEW_VERSIONS",
           "PARAMS_SHEET", "META_SHEET", "sheet_names", "REVIEW_SHEETS", "PARAM_KEY_COLUMN", "PARAM_FIRST_ROW",
           "PARAM_COLUMNS", "UNIT_NAMES", "SIGNATURE_NAME", "CHOICE_NAMES", "META_NAMES", "WORKBOOK_KIND", "REVIEW_META_NAMES", "SCORECARD_KEY",
           "SCORECARD_COUNT", "PACK_PART_NAMES"]
