"""The per-row conversions and the decline helpers, one rule at a time, with the arithmetic written out.

Rules (udfs/energy.py, udfs/decline.py, factors.toml, calculation.toml):
  kgce of a row   = quantity × 折标系数 × 附加系数, ROUNDed to 2 places.
  CO2 t of a row  = quantity × CO2 per input unit, ROUNDed to 4 places, where the CO2 per unit is
                    tCO2/MWh ÷ 1000 (per kWh), tCO2/GJ as is, kgCO2/m³ ÷ 1000,
                    kgCO2/kg × 附加系数 ÷ 1000 (附加系数 = kg per input unit), and for area-billed heat
                    折标系数 × 附加系数 ÷ heat's 折标系数 × heat's tCO2/GJ.
  A 公务用车 sub-row uses its parent row's factors.
  Blank, text, booleans or a negative quantity give a blank row (None), never an exception.
  change % = (cur − prev) ÷ prev × 100, ROUNDed to 2 places; blank when either is blank or prev is 0.
  A decline target is met when change ≤ target (both rounded), so a change exactly at the target is met.
"""
from __future__ import annotations

import math

import pytest

from udfs import (change_pct, co2_t_per_unit, decline_ok, kgce_factors, safe_div, target_pct, to_co2_t,
                  to_kgce)
from workbook_templates import load_spec

SPEC = load_spec()
XJ = "xj-2023"
GBT = "gbt2589-2020"

# ------------------------------------------------------------------ factors per row

# (折标系数, 附加系数) of preset xj-2023, as in factors.toml.
XJ_KGCE_FACTORS = {
    "heated_area": (31.45, 0.98),
    "electricity": (0.1229, 1.0),
    "coal": (0.7143, 1000.0),
    "gas": (1.33, 1.0),
    "lpg": (1.7143, 1000.0),
    "gasoline": (1.4714, 0.73),
    "official_gasoline": (1.4714, 0.73),     # sub-row: the parent's (gasoline) factors
    "diesel": (1.4571, 0.96),
    "official_diesel": (1.4571, 0.96),       # sub-row: the parent's (diesel) factors
    "heat": (34.1, 1.0),
}


@pytest.mark.parametrize("item, expected", sorted(XJ_KGCE_FACTORS.items()))
def test_kgce_factors_xj_2023(item, expected):
    assert kgce_factors(item, XJ, SPEC) == expected


def test_default_preset_is_xj_2023():
    """The spec's default preset (what the commands use without --preset) is xj-2023."""
    assert SPEC.default_preset == XJ
    for item, expected in XJ_KGCE_FACTORS.items():
        assert kgce_factors(item, SPEC.default_preset, SPEC) == expected


def test_kgce_factors_gbt2589_differ_only_in_diesel_and_heat():
    """gbt2589-2020 = xj-2023 except diesel density 0.86 (not 0.96) and heat 34.12 (not 34.1)."""
    expected = dict(XJ_KGCE_FACTORS)
    expected["diesel"] = expected["official_diesel"] = (1.4571, 0.86)
    expected["heat"] = (34.12, 1.0)
    for item, factors in expected.items():
        assert kgce_factors(item, GBT, SPEC) == factors, item


# Tonnes of CO2 per input unit, preset xj-2023 (grid factor mee-2022-grid 0.5703 tCO2/MWh).
XJ_CO2_PER_UNIT = {
    "electricity": 0.0005703,          # 0.5703 tCO2/MWh ÷ 1000 kWh/MWh
    "coal": 1.9003,                    # 1000 kg/t × 1.9003 kgCO2/kg ÷ 1000 kg/t
    "gas": 0.0021622,                  # 2.1622 kgCO2/m³ ÷ 1000
    "lpg": 3.1013,                     # 1000 kg/t × 3.1013 ÷ 1000
    "gasoline": 0.002135323,           # 0.73 kg/L × 2.9251 kgCO2/kg ÷ 1000
    "official_gasoline": 0.002135323,  # the parent's
    "diesel": 0.002972064,             # 0.96 kg/L × 3.0959 kgCO2/kg ÷ 1000
    "official_diesel": 0.002972064,    # the parent's
    "heat": 0.11,                      # 0.11 tCO2/GJ
    "heated_area": 0.0994225806451613,  # 31.45 × 0.98 ÷ 34.1 × 0.11 = 30.821 ÷ 34.1 × 0.11 = 3.39031 ÷ 34.1
}


@pytest.mark.parametrize("item, expected", sorted(XJ_CO2_PER_UNIT.items()))
def test_co2_t_per_unit_xj_2023(item, expected):
    assert co2_t_per_unit(item, XJ, spec=SPEC) == pytest.approx(expected, rel=1e-12)


def test_co2_t_per_unit_gbt2589():
    # diesel: 0.86 kg/L × 3.0959 ÷ 1000 = 0.002662474
    assert co2_t_per_unit("diesel", GBT, spec=SPEC) == pytest.approx(0.002662474, rel=1e-12)
    assert co2_t_per_unit("official_diesel", GBT, spec=SPEC) == pytest.approx(0.002662474, rel=1e-12)
    # heated area: 31.45 × 0.98 ÷ 34.12 (the preset's heat factor) × 0.11 = 3.39031 ÷ 34.12
    assert co2_t_per_unit("heated_area", GBT, spec=SPEC) == pytest.approx(3.39031 / 34.12, rel=1e-12)
    assert co2_t_per_unit("heated_area", GBT, spec=SPEC) == pytest.approx(0.0993643024618992, rel=1e-12)
    # purchased heat itself is unchanged: 0.11 tCO2/GJ
    assert co2_t_per_unit("heat", GBT, spec=SPEC) == 0.11


@pytest.mark.parametrize("grid, per_kwh", [
    ("mee-2022-grid", 0.0005703), ("mee-2022-111", 0.000581), ("mee-pre-2022", 0.0006101),
    ("national-2021", 0.0005568), ("national-2022", 0.0005366), ("northwest-2022", 0.0005857),
    ("national-2023", 0.0005306), ("northwest-2023", 0.0005543),
])
def test_grid_factor_choice_changes_electricity_only(grid, per_kwh):
    assert co2_t_per_unit("electricity", XJ, grid, spec=SPEC) == pytest.approx(per_kwh, rel=1e-12)
    # other rows ignore the grid factor
    assert co2_t_per_unit("gas", XJ, grid, spec=SPEC) == pytest.approx(0.0021622, rel=1e-12)


# ------------------------------------------------------------------ to_kgce / to_co2_t per row

@pytest.mark.parametrize("item, quantity, kgce", [
    ("heated_area", 2000, 61642.00),        # 2000 m² × 31.45 × 0.98 = 62900 × 0.98
    ("electricity", 1_000_000, 122900.00),  # 1 000 000 kWh × 0.1229
    ("electricity", 12345, 1517.20),        # 12345 × 0.1229 = 1517.2005 → 1517.20
    ("coal", 10, 7143.00),                  # 10 t × 0.7143 × 1000
    ("gas", 10000, 13300.00),               # 10000 m³ × 1.33
    ("lpg", 1, 1714.30),                    # 1 t × 1.7143 × 1000
    ("gasoline", 10000, 10741.22),          # 10000 L × 1.4714 × 0.73 = 14714 × 0.73
    ("official_gasoline", 4000, 4296.49),   # 4000 × 1.4714 × 0.73 = 5885.6 × 0.73 = 4296.488 → 4296.49
    ("diesel", 5000, 6994.08),              # 5000 × 1.4571 × 0.96 = 7285.5 × 0.96
    ("official_diesel", 2000, 2797.63),     # 2000 × 1.4571 × 0.96 = 2914.2 × 0.96 = 2797.632 → 2797.63
    ("heat", 1000, 34100.00),               # 1000 GJ × 34.1
    ("electricity", 0, 0.0),                # a real zero is a zero, not blank
])
def test_to_kgce(item, quantity, kgce):
    assert to_kgce(quantity, item, XJ, SPEC) == kgce


@pytest.mark.parametrize("item, quantity, co2", [
    ("heated_area", 2000, 198.8452),        # 61642 kgce ÷ 34.1 × 0.11 = 6780.62 ÷ 34.1 = 198.84516…
    ("electricity", 1_000_000, 570.3000),   # 1 000 000 × 0.5703 ÷ 1000
    ("coal", 10, 19.0030),                  # 10 × 1000 × 1.9003 ÷ 1000
    ("gas", 10000, 21.6220),                # 10000 × 2.1622 ÷ 1000
    ("lpg", 1, 3.1013),                     # 1 × 1000 × 3.1013 ÷ 1000
    ("gasoline", 10000, 21.3532),           # 10000 × 0.73 × 2.9251 ÷ 1000 = 21.35323
    ("official_gasoline", 4000, 8.5413),    # 4000 × 0.73 × 2.9251 ÷ 1000 = 8.541292
    ("diesel", 5000, 14.8603),              # 5000 × 0.96 × 3.0959 ÷ 1000 = 14.86032
    ("official_diesel", 2000, 5.9441),      # 2000 × 0.96 × 3.0959 ÷ 1000 = 5.944128
    ("heat", 1000, 110.0000),               # 1000 GJ × 0.11
])
def test_to_co2_t(item, quantity, co2):
    assert to_co2_t(quantity, item, XJ, spec=SPEC) == co2


def test_gbt2589_rows():
    # diesel 5000 L: 5000 × 1.4571 × 0.86 = 7285.5 × 0.86 = 6265.53 kgce; 5000 × 0.86 × 3.0959 ÷ 1000 = 13.31237 t
    assert to_kgce(5000, "diesel", GBT, SPEC) == 6265.53
    assert to_co2_t(5000, "diesel", GBT, spec=SPEC) == 13.3124
    # official diesel 2000 L: 2914.2 × 0.86 = 2506.212 → 2506.21; 1720 × 3.0959 ÷ 1000 = 5.324948 → 5.3249
    assert to_kgce(2000, "official_diesel", GBT, SPEC) == 2506.21
    assert to_co2_t(2000, "official_diesel", GBT, spec=SPEC) == 5.3249
    # heat 1000 GJ × 34.12 = 34120; its CO2 stays 1000 × 0.11 = 110
    assert to_kgce(1000, "heat", GBT, SPEC) == 34120.00
    assert to_co2_t(1000, "heat", GBT, spec=SPEC) == 110.0
    # heated area 2000 m²: kgce unchanged 61642; CO2 61642 ÷ 34.12 × 0.11 = 6780.62 ÷ 34.12 = 198.72860…
    assert to_kgce(2000, "heated_area", GBT, SPEC) == 61642.00
    assert to_co2_t(2000, "heated_area", GBT, spec=SPEC) == 198.7286


def test_electricity_co2_with_northwest_grid():
    # 1 000 000 kWh × 0.5857 ÷ 1000 = 585.7 t  (default grid: 570.3 t)
    assert to_co2_t(1_000_000, "electricity", XJ, "northwest-2022", spec=SPEC) == 585.7
    assert to_co2_t(1_000_000, "electricity", XJ, spec=SPEC) == 570.3


def test_sub_rows_use_parent_factors():
    """公务用车 rows convert exactly like their parent row, in either preset."""
    for preset in (XJ, GBT):
        for sub, parent in (("official_gasoline", "gasoline"), ("official_diesel", "diesel")):
            assert kgce_factors(sub, preset, SPEC) == kgce_factors(parent, preset, SPEC)
            assert co2_t_per_unit(sub, preset, spec=SPEC) == co2_t_per_unit(parent, preset, spec=SPEC)
            for q in (0, 1, 1234.5, 98765):
                assert to_kgce(q, sub, preset, SPEC) == to_kgce(q, parent, preset, SPEC)
                assert to_co2_t(q, sub, preset, spec=SPEC) == to_co2_t(q, parent, preset, spec=SPEC)


@pytest.mark.parametrize("bad", [None, "", "100", "2000万", "1,234", "abc", True, False, -1, -0.01,
                                 float("nan"), float("inf"), float("-inf")])
def test_blank_text_bool_negative_give_blank_row(bad):
    assert to_kgce(bad, "electricity", XJ, SPEC) is None
    assert to_co2_t(bad, "electricity", XJ, spec=SPEC) is None


def test_rounding_of_rows_is_excel_round():
    # 12345 kWh × 0.1229 = 1517.2005 → 1517.20 kgce (2 places); × 0.5703 ÷ 1000 = 7.0403535 → 7.0404 t (4 places)
    assert to_kgce(12345, "electricity", XJ, SPEC) == 1517.2
    assert to_co2_t(12345, "electricity", XJ, spec=SPEC) == 7.0404
    # 5 L gasoline: 5 × 1.4714 × 0.73 = 5.37061 → 5.37; 5 × 0.73 × 2.9251 ÷ 1000 = 0.010676615 → 0.0107
    assert to_kgce(5, "gasoline", XJ, SPEC) == 5.37
    assert to_co2_t(5, "gasoline", XJ, spec=SPEC) == 0.0107
    # a tie at the 3rd decimal rounds half up, as ROUND does (Python's round() gives the lower value here):
    # 1.25 GJ heat × 34.1 = 42.625 → 42.63 (round() → 42.62); 0.85 GJ × 34.1 = 28.985 → 28.99 (round() → 28.98)
    assert to_kgce(1.25, "heat", XJ, SPEC) == 42.63
    assert round(1.25 * 34.1, 2) == 42.62
    assert to_kgce(0.85, "heat", XJ, SPEC) == 28.99
    # 0.5 m³ gas × 1.33 = 0.665 → 0.67
    assert to_kgce(0.5, "gas", XJ, SPEC) == 0.67


def test_unknown_preset_or_grid_is_a_clear_error():
    with pytest.raises(KeyError):
        kgce_factors("electricity", "no-such-preset", SPEC)
    with pytest.raises(KeyError):
        co2_t_per_unit("electricity", XJ, "no-such-grid", spec=SPEC)


def test_the_core_never_picks_a_preset_or_a_year():
    """None is not "the default": the command layer chooses the preset and the year and passes them down."""
    with pytest.raises(TypeError):
        kgce_factors("electricity", None, SPEC)
    with pytest.raises(TypeError):
        to_co2_t(1000, "electricity", None, spec=SPEC)
    with pytest.raises(TypeError):
        target_pct("energy_per_capita", None, SPEC)


# ------------------------------------------------------------------ safe_div, change_pct, decline_ok

@pytest.mark.parametrize("n, d, expected", [
    (10, 4, 2.5),
    (0, 4, 0.0),
    (-1, 2, -0.5),            # safe_div is plain division of numbers (quantities are checked elsewhere)
    (1, 0, None),             # zero denominator: blank, not an error
    (1, 0.0, None),
    (0, 0, None),
    (None, 2, None),
    (2, None, None),
    ("10", 2, None),          # text is not a number
    (10, "2", None),
    (True, 2, None),          # booleans are not numbers to a worksheet
    (2, True, None),
    (float("nan"), 2, None),
    (2, float("inf"), None),
])
def test_safe_div(n, d, expected):
    assert safe_div(n, d) == expected


@pytest.mark.parametrize("prev, cur, expected", [
    (100, 98.6, -1.40),          # (98.6 − 100) ÷ 100 × 100
    (150, 147.9, -1.40),         # (147.9 − 150) ÷ 150 × 100 = −1.3999999999999961 in floats → ROUND → −1.40
    (100, 98.595, -1.41),        # −1.405 → half away from zero → −1.41
    (1292.673, 1277.1217, -1.20),  # −15.5513 ÷ 1292.673 × 100 = −1.2030…
    (24.0799, 23.1244, -3.97),   # −0.9555 ÷ 24.0799 × 100 = −3.9680…
    (95.9085, 93.2382, -2.78),   # −2.6703 ÷ 95.9085 × 100 = −2.7842…
    (100, 100, 0.0),
    (100, 110, 10.0),
    (0, 5, None),                # prev 0: no change rate
    (0.0, 0.0, None),
    (None, 5, None),             # prev blank
    (100, None, None),           # cur blank
    (100, "98", None),           # text is blank
    (True, 5, None),
])
def test_change_pct(prev, cur, expected):
    assert change_pct(prev, cur, SPEC) == expected


def test_change_pct_zero_is_plus_zero():
    r = change_pct(100, 99.9999, SPEC)   # −0.0001 % → ROUND 2 → 0, shown as 0 not −0
    assert r == 0.0 and math.copysign(1, r) == 1


@pytest.mark.parametrize("change, target, ok", [
    (-1.40, -1.40, True),    # exactly at the target: met (≤)
    (-1.41, -1.40, True),
    (-1.39, -1.40, False),
    (-1.20, -1.40, False),
    (0.0, -1.19, False),
    (-1.19, -1.19, True),
    (-1.50, -1.50, True),
    (-1.49, -1.50, False),
    (None, -1.40, None),     # no change rate (data incomplete): blank, not "missed"
    ("abc", -1.40, None),
    (-1.40, None, None),
])
def test_decline_ok(change, target, ok):
    assert decline_ok(change, target) is ok


def test_change_exactly_at_target_after_rounding_is_met():
    """150 → 147.9 is −1.3999999999999961 % in binary floating point, i.e. *above* −1.40 before rounding;
    the comparison is made on the ROUNDed change (−1.40), so the 2023 water target (−1.40) is met."""
    chg = change_pct(150, 147.9, SPEC)
    assert chg == -1.40
    assert decline_ok(chg, target_pct("water_per_capita", 2023, SPEC)) is True


def test_targets_2023():
    assert target_pct("energy_per_capita", 2023, SPEC) == -1.40
    assert target_pct("energy_per_area", 2023, SPEC) == -1.19
    assert target_pct("water_per_capita", 2023, SPEC) == -1.40
    assert target_pct("co2_per_area", 2023, SPEC) == -1.50
    # the spec's default year (what the commands use without --year) = the latest (2023)
    assert target_pct("energy_per_capita", SPEC.default_year, SPEC) == -1.40
