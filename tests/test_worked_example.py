"""One unit, worked by hand for both data years: 2021 (`prev`) and 2022 (`cur`), assessment year 2023.

Every input row of the 公共机构能耗数据及碳排放计算表 is filled. Each expected figure below is a literal
number derived by hand, with its arithmetic in the comment beside it, using preset xj-2023 of factors.toml
(grid factor mee-2022-grid, 0.5703 tCO2/MWh) and the rules of udfs/evaluate.py:

  row kgce  = quantity × 折标系数 × 附加系数, ROUND 2        row CO2 t = quantity × CO2 per unit, ROUND 4
  totals    = Σ rows marked in_total — the "其中" rows (heating coal, 公务用车 fuel) are NOT added
  building  = total − vehicle fuel (default: all gasoline + diesel); CO2 per m² uses all CO2 by default
  intensity = Σ numerator × scale ÷ denominator, ROUND 4
  change %  = (cur − prev) ÷ prev × 100, ROUND 2; met when change ≤ target; unit 1 scores 2.5 per target met
  2023 targets: energy per capita −1.40, energy per m² −1.19, water per capita −1.40, CO2 per m² −1.50

The data are chosen so that one target is missed (energy per capita: −1.20 > −1.40 → 0 points) and one
change sits exactly on its target (water per capita: −1.40 ≤ −1.40 → met).
"""
from __future__ import annotations

import pytest

from udfs import evaluate
from workbook_templates import load_spec

SPEC = load_spec()

# ------------------------------------------------------------------ the inputs

PREV = {                                 # 2021
    "area_m2": 10000,
    "heated_area_m2": 2000,
    "people": 200,
    "vehicles": 10,
    "official_vehicles": 4,
    "electricity_kwh": 1_000_000,
    "water_m3": 30000,
    "coal_t": 10,
    "heating_coal_t": 6,
    "gas_m3": 10000,
    "lpg_t": 1,
    "gasoline_l": 10000,
    "official_gasoline_l": 4000,
    "diesel_l": 5000,
    "official_diesel_l": 2000,
    "heat_gj": 1000,
}
CUR = {                                  # 2022: less electricity, water and heat; more gasoline
    "area_m2": 10000,
    "heated_area_m2": 2000,
    "people": 200,
    "vehicles": 10,
    "official_vehicles": 4,
    "electricity_kwh": 950_000,
    "water_m3": 29580,
    "coal_t": 10,
    "heating_coal_t": 6,
    "gas_m3": 10000,
    "lpg_t": 1,
    "gasoline_l": 16000,
    "official_gasoline_l": 6000,
    "diesel_l": 5000,
    "official_diesel_l": 2000,
    "heat_gj": 900,
}
INPUTS = {f"prev_{k}": v for k, v in PREV.items()} | {f"cur_{k}": v for k, v in CUR.items()}

# ------------------------------------------------------------------ expected, by hand

PREV_ROWS = {
    # kgce = quantity × 折标系数 × 附加系数
    "prev_heated_area_kgce": 61642.00,        # 2000 m² × 31.45 × 0.98 = 62900 × 0.98
    "prev_electricity_kgce": 122900.00,       # 1 000 000 kWh × 0.1229
    "prev_coal_kgce": 7143.00,                # 10 t × 0.7143 × 1000
    "prev_gas_kgce": 13300.00,                # 10000 m³ × 1.33
    "prev_lpg_kgce": 1714.30,                 # 1 t × 1.7143 × 1000
    "prev_gasoline_kgce": 10741.22,           # 10000 L × 1.4714 × 0.73 = 14714 × 0.73
    "prev_official_gasoline_kgce": 4296.49,   # 4000 L × 1.4714 × 0.73 = 5885.6 × 0.73 = 4296.488
    "prev_diesel_kgce": 6994.08,              # 5000 L × 1.4571 × 0.96 = 7285.5 × 0.96
    "prev_official_diesel_kgce": 2797.63,     # 2000 L × 1.4571 × 0.96 = 2914.2 × 0.96 = 2797.632
    "prev_heat_kgce": 34100.00,               # 1000 GJ × 34.1
    # CO2 t
    "prev_heated_area_co2_t": 198.8452,       # 61642 kgce ÷ 34.1 kgce/GJ × 0.11 tCO2/GJ = 6780.62 ÷ 34.1 = 198.845161…
    "prev_electricity_co2_t": 570.3000,       # 1 000 000 kWh × 0.5703 ÷ 1000
    "prev_coal_co2_t": 19.0030,               # 10 t × 1000 kg/t × 1.9003 kgCO2/kg ÷ 1000
    "prev_gas_co2_t": 21.6220,                # 10000 m³ × 2.1622 kgCO2/m³ ÷ 1000
    "prev_lpg_co2_t": 3.1013,                 # 1 t × 1000 × 3.1013 ÷ 1000
    "prev_gasoline_co2_t": 21.3532,           # 10000 L × 0.73 kg/L × 2.9251 ÷ 1000 = 7300 × 2.9251 ÷ 1000 = 21.35323
    "prev_official_gasoline_co2_t": 8.5413,   # 4000 × 0.73 × 2.9251 ÷ 1000 = 2920 × 2.9251 ÷ 1000 = 8.541292
    "prev_diesel_co2_t": 14.8603,             # 5000 L × 0.96 × 3.0959 ÷ 1000 = 4800 × 3.0959 ÷ 1000 = 14.86032
    "prev_official_diesel_co2_t": 5.9441,     # 2000 × 0.96 × 3.0959 ÷ 1000 = 1920 × 3.0959 ÷ 1000 = 5.944128
    "prev_heat_co2_t": 110.0000,              # 1000 GJ × 0.11
}
CUR_ROWS = {
    "cur_heated_area_kgce": 61642.00,         # 2000 × 31.45 × 0.98 (unchanged)
    "cur_electricity_kgce": 116755.00,        # 950 000 × 0.1229
    "cur_coal_kgce": 7143.00,                 # 10 × 0.7143 × 1000
    "cur_gas_kgce": 13300.00,                 # 10000 × 1.33
    "cur_lpg_kgce": 1714.30,                  # 1 × 1.7143 × 1000
    "cur_gasoline_kgce": 17185.95,            # 16000 × 1.4714 × 0.73 = 23542.4 × 0.73 = 17185.952
    "cur_official_gasoline_kgce": 6444.73,    # 6000 × 1.4714 × 0.73 = 8828.4 × 0.73 = 6444.732
    "cur_diesel_kgce": 6994.08,               # 5000 × 1.4571 × 0.96
    "cur_official_diesel_kgce": 2797.63,      # 2000 × 1.4571 × 0.96 = 2797.632
    "cur_heat_kgce": 30690.00,                # 900 GJ × 34.1
    "cur_heated_area_co2_t": 198.8452,        # 61642 ÷ 34.1 × 0.11
    "cur_electricity_co2_t": 541.7850,        # 950 000 × 0.5703 ÷ 1000
    "cur_coal_co2_t": 19.0030,
    "cur_gas_co2_t": 21.6220,
    "cur_lpg_co2_t": 3.1013,
    "cur_gasoline_co2_t": 34.1652,            # 16000 × 0.73 × 2.9251 ÷ 1000 = 11680 × 2.9251 ÷ 1000 = 34.165168
    "cur_official_gasoline_co2_t": 12.8119,   # 6000 × 0.73 × 2.9251 ÷ 1000 = 4380 × 2.9251 ÷ 1000 = 12.811938
    "cur_diesel_co2_t": 14.8603,
    "cur_official_diesel_co2_t": 5.9441,
    "cur_heat_co2_t": 99.0000,                # 900 × 0.11
}
TOTALS = {
    # total = heated area + electricity + coal + gas + lpg + gasoline + diesel + heat (no 其中 rows)
    "prev_total_kgce": 258534.60,   # 61642 + 122900 + 7143 + 13300 + 1714.30 + 10741.22 + 6994.08 + 34100
    "cur_total_kgce": 255424.33,    # 61642 + 116755 + 7143 + 13300 + 1714.30 + 17185.95 + 6994.08 + 30690
    "prev_co2_t": 959.0850,         # 198.8452 + 570.3 + 19.003 + 21.622 + 3.1013 + 21.3532 + 14.8603 + 110
    "cur_co2_t": 932.3820,          # 198.8452 + 541.785 + 19.003 + 21.622 + 3.1013 + 34.1652 + 14.8603 + 99
    # vehicle fuel (default switch: all gasoline + diesel)
    "prev_vehicle_fuel_kgce": 17735.30,   # 10741.22 + 6994.08
    "cur_vehicle_fuel_kgce": 24180.03,    # 17185.95 + 6994.08
    "prev_vehicle_fuel_co2_t": 36.2135,   # 21.3532 + 14.8603
    "cur_vehicle_fuel_co2_t": 49.0255,    # 34.1652 + 14.8603
    # building energy = total − vehicle fuel
    "prev_building_kgce": 240799.30,      # 258534.60 − 17735.30
    "cur_building_kgce": 231244.30,       # 255424.33 − 24180.03
    # CO2 counted per m² (default switch: all CO2, vehicle fuel included)
    "prev_area_co2_t": 959.0850,
    "cur_area_co2_t": 932.3820,
}
INTENSITIES = {
    "prev_energy_per_capita": 1292.6730,      # 258534.60 ÷ 200
    "cur_energy_per_capita": 1277.1217,       # 255424.33 ÷ 200 = 1277.12165 → ROUND 4 half up → 1277.1217
    "prev_electricity_per_capita": 5000.0,    # 1 000 000 ÷ 200
    "cur_electricity_per_capita": 4750.0,     # 950 000 ÷ 200
    "prev_water_per_capita": 150.0,           # 30000 ÷ 200
    "cur_water_per_capita": 147.9,            # 29580 ÷ 200
    "prev_fuel_per_vehicle": 1500.0,          # (10000 + 5000) L ÷ 10
    "cur_fuel_per_vehicle": 2100.0,           # (16000 + 5000) ÷ 10
    "prev_energy_per_area": 24.0799,          # 240799.30 ÷ 10000 = 24.07993
    "cur_energy_per_area": 23.1244,           # 231244.30 ÷ 10000 = 23.12443
    "prev_co2_per_area": 95.9085,             # 959.0850 t × 1000 ÷ 10000 m²
    "cur_co2_per_area": 93.2382,              # 932.3820 × 1000 ÷ 10000
    "prev_fuel_per_official_vehicle": 1500.0,  # (4000 + 2000) ÷ 4
    "cur_fuel_per_official_vehicle": 2000.0,   # (6000 + 2000) ÷ 4
    "prev_electricity_per_area": 100.0,       # 1 000 000 ÷ 10000
    "cur_electricity_per_area": 95.0,         # 950 000 ÷ 10000
}
DECLINE = {
    # energy per capita: (1277.1217 − 1292.673) ÷ 1292.673 × 100 = −15.5513 ÷ 12.92673 = −1.2030… → −1.20
    "chg_energy_per_capita": -1.20, "target_energy_per_capita": -1.40,
    "ok_energy_per_capita": False,    # −1.20 > −1.40: MISSED
    # energy per m²: (23.1244 − 24.0799) ÷ 24.0799 × 100 = −0.9555 ÷ 0.240799 = −3.9680… → −3.97
    "chg_energy_per_area": -3.97, "target_energy_per_area": -1.19,
    "ok_energy_per_area": True,
    # water per capita: (147.9 − 150) ÷ 150 × 100 = −1.40 (−1.3999999999999961 in binary floats) → −1.40
    "chg_water_per_capita": -1.40, "target_water_per_capita": -1.40,
    "ok_water_per_capita": True,      # −1.40 ≤ −1.40: met exactly at the boundary
    # CO2 per m²: (93.2382 − 95.9085) ÷ 95.9085 × 100 = −2.6703 ÷ 0.959085 = −2.7842… → −2.78
    "chg_co2_per_area": -2.78, "target_co2_per_area": -1.50,
    "ok_co2_per_area": True,
}
SCORES = {
    "self_1_1_1": 0.0,    # 1.1.1 energy per capita: missed → 0
    "self_1_1_2": 2.5,    # 1.1.2 energy per m²: met
    "self_1_1_3": 2.5,    # 1.1.3 CO2 per m²: met
    "self_1_1_4": 2.5,    # 1.1.4 water per capita: met (at the boundary)
    "self_unit_1": 7.5,   # 0 + 2.5 + 2.5 + 2.5
    # no self-scores were entered: units 2–8 are blank, the total is unit 1 alone
    **{f"self_unit_{u}": None for u in range(2, 9)},
    "self_total": 7.5,
    "self_missing_count": 50,   # 54 indicators − 4 computed ones
    "self_pass": False,         # 7.5 < 80
}
EXPECTED = PREV_ROWS | CUR_ROWS | TOTALS | INTENSITIES | DECLINE | SCORES


@pytest.fixture(scope="module")
def result():
    return evaluate(INPUTS, 2023, "xj-2023", spec=SPEC)


def test_data_years_of_assessment_2023():
    years = load_spec().year(2023)
    assert (years.prev_year, years.cur_year) == (2021, 2022)


@pytest.mark.parametrize("name", sorted(PREV_ROWS))
def test_prev_rows(result, name):
    assert result[name] == PREV_ROWS[name]


@pytest.mark.parametrize("name", sorted(CUR_ROWS))
def test_cur_rows(result, name):
    assert result[name] == CUR_ROWS[name]


@pytest.mark.parametrize("name", sorted(TOTALS))
def test_totals_vehicle_fuel_and_building(result, name):
    assert result[name] == TOTALS[name]


def test_sub_rows_are_not_added_to_totals(result):
    """If the 公务用车 rows were added, 2021's total would be 258534.60 + 4296.49 + 2797.63 = 265628.72."""
    assert result["prev_total_kgce"] == 258534.60
    assert result["prev_total_kgce"] != 265628.72
    # heating coal has no figures of its own and changes nothing
    other = evaluate(INPUTS | {"prev_heating_coal_t": 0, "cur_heating_coal_t": 9.5}, 2023, "xj-2023", spec=SPEC)
    assert other == result
    assert not any(k.endswith("heating_coal_kgce") or k.endswith("heating_coal_co2_t") for k in result)


@pytest.mark.parametrize("name", sorted(INTENSITIES))
def test_intensities(result, name):
    assert result[name] == INTENSITIES[name]


@pytest.mark.parametrize("name", sorted(DECLINE))
def test_decline_table(result, name):
    assert result[name] == DECLINE[name]
    if name.startswith("ok_"):
        assert type(result[name]) is bool


def test_unit_1_scores(result):
    for name, value in SCORES.items():
        assert result[name] == value, name
    assert type(result["self_missing_count"]) is int
    assert type(result["self_pass"]) is bool


def test_every_figure_is_as_worked_by_hand(result):
    """Nothing else is returned and nothing is left unchecked: the result is exactly the hand-worked table."""
    assert result == EXPECTED


# ------------------------------------------------------------------ the same unit, other choices

def test_preset_gbt2589_changes_diesel_and_heat_rows():
    """gbt2589-2020: diesel 附加系数 0.86 (not 0.96), heat 34.12 kgce/GJ (not 34.1); all else as xj-2023."""
    r = evaluate(INPUTS, 2023, "gbt2589-2020", spec=SPEC)
    changed = {
        # diesel 5000 L: 5000 × 1.4571 × 0.86 = 7285.5 × 0.86 = 6265.53; CO2 5000 × 0.86 × 3.0959 ÷ 1000 = 13.31237
        "prev_diesel_kgce": 6265.53, "cur_diesel_kgce": 6265.53,
        "prev_diesel_co2_t": 13.3124, "cur_diesel_co2_t": 13.3124,
        # official diesel 2000 L: 2914.2 × 0.86 = 2506.212; CO2 2000 × 0.86 × 3.0959 ÷ 1000 = 5.324948
        "prev_official_diesel_kgce": 2506.21, "cur_official_diesel_kgce": 2506.21,
        "prev_official_diesel_co2_t": 5.3249, "cur_official_diesel_co2_t": 5.3249,
        # heat: 1000 GJ × 34.12 = 34120; 900 × 34.12 = 30708 (its CO2, 0.11 t/GJ, is unchanged)
        "prev_heat_kgce": 34120.00, "cur_heat_kgce": 30708.00,
        # area-billed heat is converted back to GJ with the heat factor: 61642 ÷ 34.12 × 0.11 = 198.728604…
        "prev_heated_area_co2_t": 198.7286, "cur_heated_area_co2_t": 198.7286,
        # totals: 258534.60 − 6994.08 + 6265.53 − 34100 + 34120 = 257826.05
        "prev_total_kgce": 257826.05,
        #         255424.33 − 6994.08 + 6265.53 − 30690 + 30708 = 254713.78
        "cur_total_kgce": 254713.78,
        # CO2: 959.0850 − (198.8452 − 198.7286) − (14.8603 − 13.3124) = 959.0850 − 0.1166 − 1.5479
        "prev_co2_t": 957.4205, "prev_area_co2_t": 957.4205,
        #      932.3820 − 0.1166 − 1.5479
        "cur_co2_t": 930.7175, "cur_area_co2_t": 930.7175,
        # vehicle fuel: 10741.22 + 6265.53; 17185.95 + 6265.53; CO2 21.3532 + 13.3124; 34.1652 + 13.3124
        "prev_vehicle_fuel_kgce": 17006.75, "cur_vehicle_fuel_kgce": 23451.48,
        "prev_vehicle_fuel_co2_t": 34.6656, "cur_vehicle_fuel_co2_t": 47.4776,
        # building: 257826.05 − 17006.75; 254713.78 − 23451.48
        "prev_building_kgce": 240819.30, "cur_building_kgce": 231262.30,
        # intensities: 257826.05 ÷ 200 = 1289.13025 → 1289.1303 (half up); 254713.78 ÷ 200 = 1273.5689
        "prev_energy_per_capita": 1289.1303, "cur_energy_per_capita": 1273.5689,
        # 240819.30 ÷ 10000 = 24.08193; 231262.30 ÷ 10000 = 23.12623
        "prev_energy_per_area": 24.0819, "cur_energy_per_area": 23.1262,
        # 957.4205 × 1000 ÷ 10000 = 95.74205 → 95.7421 (half up); 930.7175 → 93.07175 → 93.0718
        "prev_co2_per_area": 95.7421, "cur_co2_per_area": 93.0718,
        # (1273.5689 − 1289.1303) ÷ 1289.1303 × 100 = −15.5614 ÷ 12.891303 = −1.2071… → −1.21 (still missed)
        "chg_energy_per_capita": -1.21, "ok_energy_per_capita": False,
        # (23.1262 − 24.0819) ÷ 24.0819 × 100 = −0.9557 ÷ 0.240819 = −3.9686… → −3.97
        "chg_energy_per_area": -3.97,
        # (93.0718 − 95.7421) ÷ 95.7421 × 100 = −2.6703 ÷ 0.957421 = −2.7890… → −2.79
        "chg_co2_per_area": -2.79,
    }
    assert r == EXPECTED | changed


def test_building_energy_switch_official_vehicle_fuel():
    """building_energy = official_vehicle_fuel: only the 公务用车 rows are subtracted from the total."""
    r = evaluate(INPUTS, 2023, "xj-2023", switches={"building_energy": "official_vehicle_fuel"}, spec=SPEC)
    changed = {
        "prev_vehicle_fuel_kgce": 7094.12,    # 4296.49 + 2797.63
        "cur_vehicle_fuel_kgce": 9242.36,     # 6444.73 + 2797.63
        "prev_vehicle_fuel_co2_t": 14.4854,   # 8.5413 + 5.9441
        "cur_vehicle_fuel_co2_t": 18.7560,    # 12.8119 + 5.9441
        "prev_building_kgce": 251440.48,      # 258534.60 − 7094.12
        "cur_building_kgce": 246181.97,       # 255424.33 − 9242.36
        "prev_energy_per_area": 25.1440,      # 251440.48 ÷ 10000 = 25.144048
        "cur_energy_per_area": 24.6182,       # 246181.97 ÷ 10000 = 24.618197
        # (24.6182 − 25.1440) ÷ 25.1440 × 100 = −0.5258 ÷ 0.25144 = −2.0911… → −2.09 (met)
        "chg_energy_per_area": -2.09,
    }
    assert r == EXPECTED | changed
    # CO2 per m² keeps its default scope (all CO2): unchanged
    assert r["prev_co2_per_area"] == 95.9085 and r["cur_co2_per_area"] == 93.2382


def test_co2_switch_excluding_vehicle_fuel():
    """co2_per_area = excluding_vehicle_fuel: the vehicle-fuel CO2 (same scope as building energy) is
    subtracted before dividing by the area; building energy itself is unchanged."""
    r = evaluate(INPUTS, 2023, "xj-2023", switches={"co2_per_area": "excluding_vehicle_fuel"}, spec=SPEC)
    changed = {
        "prev_area_co2_t": 922.8715,      # 959.0850 − 36.2135
        "cur_area_co2_t": 883.3565,       # 932.3820 − 49.0255
        "prev_co2_per_area": 92.2872,     # 922.8715 × 1000 ÷ 10000 = 92.28715 → ROUND 4 half up → 92.2872
        "cur_co2_per_area": 88.3357,      # 883.3565 × 1000 ÷ 10000 = 88.33565 → 88.3357
        # (88.3357 − 92.2872) ÷ 92.2872 × 100 = −3.9515 ÷ 0.922872 = −4.2817… → −4.28
        "chg_co2_per_area": -4.28,
    }
    assert r == EXPECTED | changed
    assert r["prev_building_kgce"] == 240799.30


def test_both_switches_subtract_official_fuel_co2():
    r = evaluate(INPUTS, 2023, "xj-2023", switches={"building_energy": "official_vehicle_fuel",
                                                    "co2_per_area": "excluding_vehicle_fuel"}, spec=SPEC)
    assert r["prev_area_co2_t"] == 944.5996     # 959.0850 − 14.4854
    assert r["cur_area_co2_t"] == 913.6260      # 932.3820 − 18.7560
    assert r["prev_co2_per_area"] == 94.4600    # 944.5996 × 1000 ÷ 10000 = 94.45996 → 94.4600
    assert r["cur_co2_per_area"] == 91.3626
    assert r["chg_co2_per_area"] == -3.28       # (91.3626 − 94.46) ÷ 94.46 × 100 = −3.0974 ÷ 0.9446 = −3.2790…
    assert r["prev_building_kgce"] == 251440.48


def test_grid_factor_northwest_2022_changes_electricity_co2():
    """grid_factor northwest-2022 = 0.5857 tCO2/MWh instead of 0.5703: only electricity CO2 and what adds it up."""
    r = evaluate(INPUTS, 2023, "xj-2023", grid_factor="northwest-2022", spec=SPEC)
    changed = {
        "prev_electricity_co2_t": 585.7000,   # 1 000 000 × 0.5857 ÷ 1000
        "cur_electricity_co2_t": 556.4150,    # 950 000 × 0.5857 ÷ 1000
        "prev_co2_t": 974.4850,               # 959.0850 + (585.7 − 570.3)
        "cur_co2_t": 947.0120,                # 932.3820 + (556.415 − 541.785)
        "prev_area_co2_t": 974.4850,
        "cur_area_co2_t": 947.0120,
        "prev_co2_per_area": 97.4485,         # 974.485 × 1000 ÷ 10000
        "cur_co2_per_area": 94.7012,
        # (94.7012 − 97.4485) ÷ 97.4485 × 100 = −2.7473 ÷ 0.974485 = −2.8192… → −2.82
        "chg_co2_per_area": -2.82,
    }
    assert r == EXPECTED | changed
    # kgce does not depend on the grid factor
    assert r["prev_electricity_kgce"] == 122900.00


def test_all_targets_met_scores_10():
    """Give 2022 the same vehicle fuel as 2021 (gasoline 10000 L): energy per capita then falls enough."""
    r = evaluate(INPUTS | {"cur_gasoline_l": 10000, "cur_official_gasoline_l": 4000}, 2023, "xj-2023", spec=SPEC)
    # cur total = 255424.33 − 17185.95 + 10741.22 = 248979.60; ÷ 200 = 1244.898
    assert r["cur_total_kgce"] == 248979.60
    assert r["cur_energy_per_capita"] == 1244.898
    # (1244.898 − 1292.673) ÷ 1292.673 × 100 = −47.775 ÷ 12.92673 = −3.6958… → −3.70
    assert r["chg_energy_per_capita"] == -3.70
    assert r["ok_energy_per_capita"] is True
    assert [r[f"self_1_1_{i}"] for i in range(1, 5)] == [2.5, 2.5, 2.5, 2.5]
    assert r["self_unit_1"] == 10.0
