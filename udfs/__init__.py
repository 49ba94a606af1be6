"""The functional core: pure calculation functions of plain values, no Excel, no files.

They back the xlwings UDFs (`addin/`), the workbook formulas' proofs, and the consolidation alike.
Every factor, target and point comes from the spec (`workbook_templates`), which every function that needs it
takes as a parameter — with the factor preset and the assessment year: the core never loads the spec nor picks
a default (the command layer does, `udfs.choices`).

Grouped by subject: `numbers` (worksheet arithmetic), `energy` and `decline` (one row, one intensity),
`evaluate` (a unit's every figure), `scoring` (self-scores), `checks` and `intake` (a returned workbook),
`levels` (unit levels and who reviews them), `review` and `review_checks` (a review pack's scores),
`spot_checks` (抽查名单), `results` (composite, 待评审) and `ranking` (ranking, 摘牌), `unit_code` (信用代码),
`identity` (a return's unit against the roster), `signature` (the keyed signature of what the generator wrote).
"""
from .decline import change_pct, decline_ok, target_pct
from .energy import co2_t_per_unit, kgce_factors, to_co2_t, to_kgce
from .evaluate import columns_to_records, evaluate, evaluate_columns, resolve_switches
from .levels import level_of
from .numbers import as_number, as_quantity, round_excel, safe_div
from .ranking import RankedUnit, elimination_count, rank_units
from .results import composite_columns, composite_score
from .scoring import counted_array, counted_score, decline_score, legal_values, passes, unit_totals, validate_score
from .spot_checks import spot_check_sample
from .unit_code import check_unit_code, normalize_unit_code

__all__ = [
    "as_number", "as_quantity", "round_excel", "safe_div",
    "to_kgce", "to_co2_t", "kgce_factors", "co2_t_per_unit",
    "change_pct", "decline_ok", "target_pct",
    "evaluate", "evaluate_columns", "columns_to_records", "resolve_switches",
    "legal_values", "counted_score", "counted_array", "validate_score", "decline_score", "unit_totals", "passes",
    "composite_score", "composite_columns", "elimination_count", "rank_units", "RankedUnit", "level_of", "spot_check_sample",
    "check_unit_code", "normalize_unit_code",
]
