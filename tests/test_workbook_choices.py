"""Every choice the spec has is selectable where workbooks are made, recorded in `_meta`, and honoured by
consolidation through the file's own `_meta` (issue 12 §5).

Worked example (the sample unit, 2023): made with `--switch building_energy=official_vehicle_fuel` (建筑能耗 subtracts
only the official cars' fuel), `--grid-factor northwest-2022` (0.5857 tCO2/MWh instead of the year's 0.5703) and
`--standard gbt29118-2023` (目标管理 as a gate), saved by a spreadsheet and consolidated with no option at all:

    cur_electricity_co2_t = kWh × 0.5857 ÷ 1000 (rounded to 4 places), no W303 「系数被修改」 on the 参数 sheet;
    cur_building_kgce     = 综合能耗 − the official cars' petrol and diesel only, no W302 「与重算不一致」;
    self_pass             = as udfs computes it under the gate.
"""
from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, strategies as st

import udfs
from addin.cli import main
from addin.consolidate.workers import own_choices
from generator import fill_workbook
from udfs.choices import parse_switches, switches_text
from udfs.intake import Finding
from workbook_templates import load_spec
from workbook_templates.errors import UnknownChoice

from tests import libreoffice
from tests.workbooks import complete_unit

SPEC = load_spec()
YEAR = SPEC.default_year
CHOSEN = {"building_energy": "official_vehicle_fuel", "co2_per_area": "all_co2"}


def _meta(path: Path) -> dict:
    ws = openpyxl.load_workbook(path)["_meta"]
    return {ws[f"A{r}"].value: ws[f"B{r}"].value for r in range(1, 20) if ws[f"A{r}"].value}


def test_template_offers_and_records_every_choice(tmp_path):
    out = tmp_path / "模板.xlsx"
    assert main(["template", "--year", str(YEAR), "--switch", "building_energy=official_vehicle_fuel",
                 "--grid-factor", "northwest-2022", "--standard", "gbt29118-2023", "-o", str(out)]) == 0
    meta = _meta(out)
    assert meta["grid_factor"] == "northwest-2022" and meta["standard_version"] == "gbt29118-2023"
    assert parse_switches(meta["calc_switches"], SPEC) == CHOSEN
    guide = "\n".join(str(c.value) for c in openpyxl.load_workbook(out)["填表说明"]["A"] if c.value)
    assert "只扣除公务用车用油" in guide and "0.5857" in guide and "符合性门槛" in guide


def test_without_options_the_year_decides(tmp_path):
    out = tmp_path / "模板.xlsx"
    assert main(["template", "--year", str(YEAR), "-o", str(out)]) == 0
    y = SPEC.year(YEAR)
    meta = _meta(out)
    assert (meta["factor_preset"], meta["grid_factor"], meta["standard_version"]) == (y.preset, y.grid_factor,
                                                                                       y.standard)


@pytest.mark.parametrize("argv, fragment", [
    (["--switch", "building_energy=nonsense"], "没有选项「nonsense」"),
    (["--switch", "colour=red"], "未知的开关「colour」"),
    (["--switch", "building_energy"], "应为「开关=选项」"),
    (["--grid-factor", "mars-2030"], "未知的电力排放因子「mars-2030」"),
    (["--standard", "iso-9001"], "未知的评价标准版本「iso-9001」"),
])
def test_an_unknown_choice_is_refused_in_chinese(tmp_path, capsys, argv, fragment):
    assert main(["template", "--year", str(YEAR), *argv, "-o", str(tmp_path / "x.xlsx")]) == 2
    assert fragment in capsys.readouterr().err


def test_switches_round_trip():
    assert parse_switches(switches_text(CHOSEN), SPEC) == CHOSEN
    assert parse_switches(None, SPEC) == {} == parse_switches(" ", SPEC)


@given(st.one_of(st.text(max_size=40), st.integers(), st.floats(allow_nan=True), st.booleans()))
def test_any_recorded_switches_are_read_or_refused_never_crash(value):
    try:
        chosen = parse_switches(value, SPEC)
    except UnknownChoice as e:
        assert str(e)
    else:
        assert udfs.resolve_switches(SPEC, chosen)


@pytest.mark.parametrize("meta, name", [
    ({"grid_factor": "mars-2030"}, "grid_factor"),
    ({"standard_version": "iso-9001"}, "standard_version"),
    ({"calc_switches": "building_energy=nonsense"}, "calc_switches"),
])
def test_a_return_recording_an_unknown_choice_is_f114(meta, name):
    problem = own_choices({"assessment_year": YEAR, "factor_preset": SPEC.default_preset, **meta}, SPEC)
    assert isinstance(problem, Finding) and problem.code == "F114" and problem.name == name


def test_an_older_return_without_the_choices_is_recomputed_with_the_defaults():
    year, preset, choices = own_choices({"assessment_year": YEAR, "factor_preset": SPEC.default_preset}, SPEC)
    assert (year, preset) == (YEAR, SPEC.default_preset)
    assert choices.grid_factor is None and choices.switches == () and choices.standard is None


@pytest.mark.libreoffice
def test_consolidation_recomputes_with_the_files_own_choices(tmp_path):
    made = tmp_path / "made"
    made.mkdir()
    template = made / "模板.xlsx"
    assert main(["template", "--year", str(YEAR), "--switch", "building_energy=official_vehicle_fuel",
                 "--grid-factor", "northwest-2022", "--standard", "gbt29118-2023", "-o", str(template)]) == 0
    inputs = {**complete_unit(), "unit_name": "示例县人民法院", "unit_code": "11652301MB12345630",
              "unit_level": "县市区级", "unit_region": "昌吉回族自治州"}
    filled = made / "交回.xlsx"
    filled.write_bytes(fill_workbook(template.read_bytes(), inputs))
    libreoffice.recalculate([filled], tmp_path / "回收")                   # saved by a spreadsheet: caches exist
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["consolidate", str(tmp_path / "回收"), "--no-ledger", "-o", str(tmp_path / "汇总.xlsx"),
                     "--json", str(tmp_path / "r.json")]) == 0
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    (unit,) = report["units"]
    codes = {f["code"] for f in report["findings"]}
    assert not codes & {"W301", "W302", "W303", "W402", "F114"}, report["findings"]
    expected = udfs.evaluate(unit["inputs"], YEAR, SPEC.default_preset, grid_factor="northwest-2022",
                             switches=CHOSEN, standard="gbt29118-2023", spec=SPEC)
    r = unit["results"]
    assert r["cur_electricity_co2_t"] == round(inputs["cur_electricity_kwh"] * 0.5857 / 1000, 4)
    official = r["cur_official_gasoline_kgce"] + r["cur_official_diesel_kgce"]
    assert r["cur_building_kgce"] == pytest.approx(r["cur_total_kgce"] - official, abs=0.006)
    assert r == {k: v for k, v in expected.items()}
