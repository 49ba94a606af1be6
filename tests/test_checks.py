"""`udfs.checks.check_extracted`: one returned workbook, read by name, to clean inputs, recomputed figures and findings.

Every test starts from the sample unit (`jieyue demo`) as a workbook saved by Excel: every contract name defined,
every formula cell with the cached value its formula gives (the proofs in test_workbook_engine /
test_libreoffice_oracle show that is `udfs.evaluate` of the cells as they are — text and negatives blank),
the 参数 factors of the preset. Each test then changes one thing the way a unit or a tool would.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import generator
import udfs
from addin.demo import load_sample
from udfs.checks import CHECKS, CheckResult, check_extracted, normalise_number, same_cached
from udfs.intake import Extracted, Finding
from workbook_templates import SLOTS, contract_names, load_spec

SPEC = load_spec()
YEAR = 2023
PRESET = SPEC.default_preset        # the sample return's _meta.factor_preset
KINDS = {c.name: c.kind for c in contract_names(SPEC)}
ORDER = list(KINDS)
INPUTS = [n for n, k in KINDS.items() if k in ("input", "score-input")]
QUANTITIES = [f"{slot}_{item.name}" for slot in SLOTS for item in SPEC.items]
SCORES = [i.score_name for i in SPEC.indicators if i.rule.type != "computed_target"]
SELECTOR = "canteen_evaluation_implemented"
FORMULAS = {n for n, k in KINDS.items() if k in ("derived", "decline", "score-derived") and not n.startswith("target_")}
META = {"unit_name": "示例县人民法院", "unit_code": "11652301MB12345630", "unit_level": "县市区级",
        "unit_region": "昌吉回族自治州", "template_version": "1.0", "assessment_year": YEAR,
        "factor_preset": PRESET, "spec_digest": SPEC.digest, "contact_name": "张三",
        "contact_phone": "0994-1234567", "fill_date": "2023-08-10"}


@lru_cache(maxsize=None)
def _cells() -> dict[str, str]:
    return {n: f"{sheet.title}!{ref}" for n, (sheet, ref) in generator.build_plan(SPEC, YEAR, PRESET).named().items()}


def preset_params(preset: str = PRESET) -> dict[str, float]:
    p = SPEC.preset(preset)
    out = {}
    for item in SPEC.items:
        if item.factor_of == item.key:
            out[f"{item.key}.factor"] = p.kgce[item.key].factor
            out[f"{item.key}.extra"] = p.kgce[item.key].extra
            out[f"{item.key}.co2"] = udfs.co2_t_per_unit(item.key, p.id, spec=SPEC)
    return out


def evaluated(inputs: dict[str, Any]) -> dict[str, Any]:
    """`udfs.evaluate` for the sample return's year and preset."""
    return udfs.evaluate(inputs, YEAR, PRESET, spec=SPEC)


def sample_inputs() -> dict[str, Any]:
    sample = load_sample()
    return {n: sample.get(n) for n in INPUTS}


def returned(**changes: Any) -> Extracted:
    """The sample unit saved by Excel after `changes` to its cells: caches are what the formulas give."""
    values: dict[str, Any] = {**META, **sample_inputs(), **changes}
    values.update(evaluated({n: values.get(n) for n in INPUTS}))
    return Extracted(values=values, formulas=set(FORMULAS), cached=set(FORMULAS), cells=dict(_cells()),
                     params=preset_params())


def check(ex: Extracted, **kwargs: Any) -> CheckResult:
    return check_extracted(ex, SPEC, year=kwargs.pop("year", YEAR), preset=kwargs.pop("preset", PRESET), **kwargs)


def codes(result: CheckResult) -> list[str]:
    return [f.code for f in result.findings]


def only(result: CheckResult, code: str) -> Finding:
    assert codes(result) == [code], result.findings
    return result.findings[0]


def severity(code: str) -> str:
    return SPEC.checks[code].severity


# ---------------------------------------------------------------- the clean file

def test_clean_file_has_no_findings_and_is_recomputed():
    r = check(returned(), run_digest=SPEC.digest)
    assert r.findings == [] and r.blocking is False
    assert set(r.inputs) == set(INPUTS)
    assert r.inputs["cur_electricity_kwh"] == 405000.0 and type(r.inputs["cur_electricity_kwh"]) is float
    assert r.inputs[SELECTOR] == "否"
    assert r.results == evaluated(sample_inputs())


def test_inputs_hold_every_input_name_even_when_absent():
    ex = returned()
    for n in INPUTS:
        ex.values.pop(n, None)
    r = check(ex)
    assert set(r.inputs) == set(INPUTS) and all(v is None for v in r.inputs.values())


def test_every_code_of_the_checks_is_in_the_spec_and_every_intake_code_has_a_check():
    listed = {c for chk in CHECKS for c in chk.codes.split()}
    assert listed <= set(SPEC.checks)
    mine = {c for c in SPEC.checks if c[0] in "EWI" and c[1] in "234"} | {"F111", "F112"}
    assert mine <= listed


# ---------------------------------------------------------------- text and odd values in number cells

def test_text_with_wan_is_rejected_with_a_hint_and_counts_as_blank():
    r = check(returned(cur_electricity_kwh="2000万"))
    f = only(r, "E201")
    assert f.name == "cur_electricity_kwh" and f.cell == _cells()["cur_electricity_kwh"]
    assert "“2000万”" in f.message and "2000万 填 20000000" in f.message and "2022年度" in f.message
    assert r.inputs["cur_electricity_kwh"] is None and r.results["cur_electricity_kgce"] is None
    assert r.blocking


def test_text_with_a_unit_is_rejected_with_a_unit_hint():
    f = only(check(returned(cur_electricity_kwh="405000千瓦时")), "E201")
    assert "不要带单位" in f.message and "千瓦时" in f.message
    r = check(returned(cur_water_m3="5320 m3"))
    assert codes(r) == ["E201", "E211"]          # and water per capita cannot be computed: 1.1.4 is blocked
    assert "不要带单位" in r.findings[0].message


def test_decimal_wan_gets_its_own_example():
    f = only(check(returned(cur_electricity_kwh="40.5万")), "E201")
    assert "40.5万 填 405000" in f.message


def test_full_width_digits_are_normalised_and_used():
    r = check(returned(cur_water_m3="１２３４"))
    f = only(r, "I210")
    assert f.message == "“１２３４”已按 1234 读取" and f.name == "cur_water_m3"
    assert r.inputs["cur_water_m3"] == 1234.0
    assert r.results == evaluated(r.inputs)
    assert r.results["cur_water_per_capita"] == udfs.round_excel(1234 / 182, 4)
    assert not r.blocking


def test_thousands_separators_are_normalised_only_in_their_exact_form():
    r = check(returned(cur_water_m3="1,234"))
    assert only(r, "I210").message == "“1,234”已按 1234 读取"
    assert r.inputs["cur_water_m3"] == 1234.0
    r = check(returned(cur_water_m3="1,23"))
    assert codes(r) == ["E201", "E211"]
    assert "“1,23”" in r.findings[0].message and r.inputs["cur_water_m3"] is None


@pytest.mark.parametrize("text, expected", [
    ("1234", 1234.0), (" 1234 ", 1234.0), ("１２３４", 1234.0), ("１２３４．５", 1234.5), ("1,234", 1234.0),
    ("12,345,678.25", 12345678.25), ("－5", -5.0), ("−5", -5.0), ("0.5", 0.5), (".5", 0.5), ("+7", 7.0),
    ("１，２３４", 1234.0),
    ("1,23", None), ("1,2345", None), ("1234,567", None), (",123", None), ("1 234", None), ("2000万", None),
    ("1e3", None), ("inf", None), ("nan", None), ("5%", None), ("1_000", None), ("abc", None), ("1.2.3", None),
    ("", None),
])
def test_normalise_number(text, expected):
    assert normalise_number(text) == expected


def test_a_boolean_in_a_number_cell_is_rejected():
    r = check(returned(cur_people=True))
    assert codes(r) == ["E201", "E211"]
    assert "TRUE" in r.findings[0].message and r.inputs["cur_people"] is None and r.blocking


def test_a_negative_quantity_is_rejected_and_counts_as_blank():
    r = check(returned(cur_gas_m3=-5))
    f = only(r, "E203")
    assert "-5" in f.message and f.name == "cur_gas_m3"
    assert r.inputs["cur_gas_m3"] == -5.0 and r.results["cur_gas_kgce"] is None and r.blocking


def test_a_blank_text_cell_is_blank():
    r = check(returned(cur_coal_t="  "))
    assert r.findings == [] and r.inputs["cur_coal_t"] is None


def test_infinite_and_huge_numbers_never_raise():
    r = check(returned(cur_gas_m3=math.inf))
    assert codes(r) == ["E201"]
    r = check(returned(cur_gas_m3=10**400))
    assert codes(r) == ["E201"]
    r = check(returned(cur_gas_m3=1e300))
    assert r.results == evaluated(r.inputs)


# ---------------------------------------------------------------- rows, required, code, scores

def test_sub_row_above_parent():
    r = check(returned(cur_official_gasoline_l=30000))
    f = only(r, "E204")
    assert f.name == "cur_official_gasoline_l" and "30000" in f.message and "19800" in f.message and r.blocking


def test_sub_row_check_needs_both_numbers():
    r = check(returned(cur_official_gasoline_l=30000, cur_gasoline_l="很多"))
    assert codes(r) == ["E201"]


def test_required_blank():
    r = check(returned(cur_people=None))
    assert codes(r) == ["E205", "E211"]
    f = r.findings[0]
    assert "请填写2022年度 用能人数" in f.message and f.name == "cur_people" and r.blocking
    assert "1.1.1、1.1.4" in r.findings[1].message


def test_required_zero_is_not_missing():
    assert "E205" not in codes(check(returned(cur_water_m3=0)))


def test_bad_unit_code():
    r = check(returned(unit_code="11652301MB12345631"))
    f = only(r, "E206")
    assert f.message == udfs.check_unit_code("11652301MB12345631") and f.name == "unit_code"


def test_illegal_score():
    r = check(returned(self_2_1_1=2.7))
    f = only(r, "E207")
    assert "2.7" in f.message and "0、1、2、3" in f.message and r.blocking
    assert r.inputs["self_2_1_1"] == 2.7 and r.results["self_unit_2"] == 15.5   # 18.5 − the 3 it replaced


def test_negative_score_is_illegal_not_a_negative_quantity():
    assert codes(check(returned(self_2_1_1=-1))) == ["E207"]


def test_text_score_is_normalised_or_rejected():
    r = check(returned(self_2_1_1="３"))
    assert codes(r) == ["I210"] and r.inputs["self_2_1_1"] == 3.0 and r.results == evaluated(r.inputs)
    assert codes(check(returned(self_2_1_1="三分"))) == ["E201"]


def test_an_incomplete_self_assessment_is_an_error_one_row_per_unit():
    """The deck: every item must be scored, 「否则无法完成自评提交」. Three items left blank: one E212 row with the
    count 3 and the three items, on the first one's cell; the unit is not ranked."""
    r = check(returned(self_3_1_1=None, self_2_1_1=None, self_8_2_3=None))
    f = only(r, "E212")
    assert "尚有 3 项未评分（2.1.1、3.1.1、8.2.3）" in f.message and f.name == "self_2_1_1"
    assert severity("E212") == "错误" and r.blocking


def test_unit_7_score_follows_its_selector():
    seven = next(i for i in SPEC.indicators if i.rule.selector)
    yes, no = udfs.legal_values(seven, "是", spec=SPEC), udfs.legal_values(seven, "否", spec=SPEC)
    only_no = next(v for v in no if v not in yes)
    assert codes(check(returned(**{SELECTOR: "否", seven.score_name: only_no}))) == []
    f = only(check(returned(**{SELECTOR: "是", seven.score_name: only_no})), "E207")
    shown = int(only_no) if only_no == int(only_no) else only_no
    assert f.message == udfs.validate_score(seven, shown, "是", spec=SPEC)


def test_selector_with_a_stray_space_is_normalised():
    r = check(returned(**{SELECTOR: "否 "}))
    assert only(r, "I210").name == SELECTOR and r.inputs[SELECTOR] == "否"


# ---------------------------------------------------------------- structure and error values

def test_missing_names_one_finding_each_in_contract_order():
    ex = returned()
    gone = ["self_total", "cur_people", "prev_heat_gj"]
    for n in gone:
        del ex.cells[n]
    r = check(ex)
    assert codes(r) == ["E208"] * 3
    assert [f.name for f in r.findings] == sorted(gone, key=ORDER.index)
    assert all("请用下发的工作簿重新填写" in f.message for f in r.findings) and r.blocking


def test_missing_names_are_capped():
    ex = returned()
    gone = ORDER[20:35]
    for n in gone:
        del ex.cells[n]
    f = only(check(ex), "E208")
    assert "15 个" in f.message and gone[9] in f.message and gone[10] not in f.message and f.name == ""


def test_error_value_in_an_input():
    ex = returned()
    del ex.values["cur_gas_m3"]
    ex.errors["cur_gas_m3"] = "#DIV/0!"
    ex.values.update(evaluated({n: ex.values.get(n) for n in INPUTS}))   # the workbook sees a blank
    r = check(ex)
    f = only(r, "E202")
    assert "#DIV/0!" in f.message and f.name == "cur_gas_m3" and r.inputs["cur_gas_m3"] is None and r.blocking


def test_error_value_in_a_derived_cell():
    ex = returned()
    del ex.values["cur_total_kgce"]
    ex.errors["cur_total_kgce"] = "#REF!"
    r = check(ex)
    f = only(r, "E202")
    assert "#REF!" in f.message and r.results["cur_total_kgce"] == evaluated(sample_inputs())["cur_total_kgce"]


# ---------------------------------------------------------------- integrity

def test_formula_overwritten_with_a_number_uses_the_recomputed_value():
    ex = returned()
    expected = ex.values["cur_total_kgce"]
    ex.formulas.discard("cur_total_kgce")
    ex.cached.discard("cur_total_kgce")
    ex.values["cur_total_kgce"] = 123.0
    r = check(ex)
    f = only(r, "W301")
    assert "123" in f.message and "297396.69" in f.message and f.cell == _cells()["cur_total_kgce"]
    assert r.results["cur_total_kgce"] == expected and not r.blocking
    ex.values["cur_total_kgce"] = None
    assert "被删除" in only(check(ex), "W301").message


def test_no_cache_is_one_note_for_the_file():
    ex = returned()
    ex.cached.clear()
    for n in FORMULAS:
        ex.values[n] = None
    r = check(ex)
    f = only(r, "I304")
    assert f.message == "文件没有保存计算结果（未在 Excel/WPS 中打开保存过），已全部重算" and f.name == ""
    assert r.results == evaluated(sample_inputs())


def test_partly_missing_cache_counts_the_cells():
    ex = returned()
    for n in ("cur_total_kgce", "self_total"):
        ex.cached.discard(n)
        ex.values[n] = None
    assert "2 个" in only(check(ex), "I304").message


def test_cached_mismatch():
    ex = returned()
    ex.values["cur_total_kgce"] = 1.0
    r = check(ex)
    f = only(r, "W302")
    assert "1" in f.message and "297396.69" in f.message and f.name == "cur_total_kgce"
    assert r.results["cur_total_kgce"] == 297396.69


@pytest.mark.parametrize("cached, expected, same", [
    ("", None, True), (None, None, True), (0, None, False), ("", 0.0, False), (True, True, True),
    (1, True, False), (1.0, True, False), (False, 0.0, False), (54, 54, True), (54.0, 54, True),
    (0.002972064, 0.0029720639999999995, True), (0.0029721, 0.002972064, False), ("12", 12.0, False),
])
def test_same_cached(cached, expected, same):
    assert same_cached(cached, expected) is same


def test_cached_values_from_another_writer_are_equal():
    ex = returned()
    ex.values["self_missing_count"] = float(ex.values["self_missing_count"])
    ex.values["prev_heated_area_kgce"] = 0    # 0.0 written as an int
    ex.values["ok_energy_per_area"] = True
    assert check(ex).findings == []
    ex = returned(cur_coal_t=None)
    assert ex.values["cur_coal_kgce"] is None
    ex.values["cur_coal_kgce"] = ""           # an empty formula result read back as ""
    assert check(ex).findings == []


def test_unit_1_score_that_disagrees_with_the_decline():
    ex = returned()
    ex.values["self_1_1_2"] = 0.0
    f = only(check(ex), "W402")
    assert f.name == "self_1_1_2" and "第一单元自评得分与下降率不一致" in f.message and "2.5" in f.message


def test_ok_flag_that_disagrees_with_the_decline():
    ex = returned()
    ex.values["ok_energy_per_area"] = False
    f = only(check(ex), "W402")
    assert "未达标" in f.message and "达标" in f.message


def test_unit_1_score_overwritten():
    ex = returned()
    ex.formulas.discard("self_1_1_1")
    ex.cached.discard("self_1_1_1")
    assert codes(check(ex)) == ["W301"]          # pasted as a value, same figure
    ex.values["self_1_1_1"] = 0.0
    f = only(check(ex), "W402")                  # typed a different figure over the formula
    assert "公式被改写" in f.message


def test_target_constant_edited():
    ex = returned()
    ex.values["target_energy_per_capita"] = -0.5
    r = check(ex)
    f = only(r, "W302")
    assert f.name == "target_energy_per_capita" and "-0.5" in f.message and "-1.4" in f.message
    assert r.results["target_energy_per_capita"] == -1.4


def test_text_and_negatives_do_not_cause_cache_mismatches():
    """The workbook treats text and negatives as blank (generator.formulas.clean_quantity), like evaluate."""
    for change in ({"cur_gas_m3": "abc"}, {"cur_gas_m3": -1}, {"prev_electricity_kwh": True}):
        assert not {"W302", "W402"} & set(codes(check(returned(**change)))), change


def test_normalised_text_does_not_cause_cache_mismatches():
    """The file's caches reflect the text as blank; the summary uses the normalised number."""
    r = check(returned(cur_electricity_kwh="４０５，０００"))
    assert codes(r) == ["I210"]
    assert r.results == evaluated(sample_inputs())


def test_edited_factor():
    ex = returned()
    ex.params["electricity.factor"] = 0.2
    f = only(check(ex), "W303")
    assert "电消耗量" in f.message and "0.2" in f.message and "0.1229" in f.message and "折标系数" in f.message


def test_edited_co2_factor_and_text_factor():
    ex = returned()
    ex.params["gas.co2"] = 0.003
    ex.params["coal.extra"] = "1000吨"
    assert codes(check(ex)) == ["W303", "W303"]


def test_factors_as_written_by_openpyxl_or_libreoffice_are_not_edits():
    """openpyxl writes 16 significant digits, LibreOffice 15: 0.0029720639999999995 comes back as 0.002972064."""
    ex = returned()
    ex.params = {k: float(f"{v:.15g}") for k, v in ex.params.items()}
    assert check(ex).findings == []
    ex.params = {}
    assert check(ex).findings == []


# ---------------------------------------------------------------- plausibility

def test_people_up_twenty_percent():
    r = check(returned(cur_people=216))
    f = only(r, "W401")
    assert f.name == "cur_people" and "+20.0%" in f.message and not r.blocking


def test_area_change_just_at_the_limit_is_fine():
    assert codes(check(returned(cur_area_m2=13200))) == []
    assert codes(check(returned(cur_area_m2=13300))) == ["W401"]


def test_heated_area_and_heat_both_filled():
    f = only(check(returned(cur_heated_area_m2=5000)), "W403")
    assert f.name == "cur_heated_area_m2" and "5000" in f.message and "5150" in f.message


def test_fuel_per_vehicle_out_of_range():
    r = check(returned(cur_gasoline_l=297100))   # (297100 + 2900) / 6 = 50 000 L per vehicle
    f = only(r, "W404")
    assert f.name == "cur_fuel_per_vehicle" and "50000" in f.message
    assert only(check(returned(prev_vehicles=1000)), "W404").name == "prev_fuel_per_vehicle"


# ---------------------------------------------------------------- identity

def test_assessment_year_mismatch():
    r = check(returned(assessment_year=2022))
    f = only(r, "F111")
    assert "2022 年复验" in f.message and "2023 年" in f.message and r.blocking


def test_spec_digest_differs():
    r = check(returned(), run_digest="0" * 64)
    f = only(r, "F112")
    assert severity("F112") == "警告" and not r.blocking and f.name == "spec_digest"
    assert check(returned()).findings == []      # no run digest given: not checked


# ---------------------------------------------------------------- the whole

def test_blocking_iff_an_error():
    for change, blocking in (({"self_3_1_1": None}, True), ({"cur_people": 216}, False),
                             ({"cur_water_m3": "1,234"}, False), ({"cur_people": None}, True)):
        r = check(returned(**change))
        assert r.blocking is blocking, change
        assert r.blocking == any(severity(c) == "错误" for c in codes(r))


def test_many_problems_in_a_fixed_order():
    ex = returned(cur_people=216, self_3_1_1=None, self_2_1_1=2.7, cur_gas_m3=-5, prev_water_m3="2000万",
                  cur_water_m3="１２３４", unit_code="x", cur_heated_area_m2=5000, assessment_year=2022)
    ex.values["cur_total_kgce"] = 1.0
    ex.params["heat.factor"] = 1.0
    del ex.cells["fill_date"]
    r1, r2 = check(ex, run_digest="0" * 64), check(ex, run_digest="0" * 64)
    assert r1.findings == r2.findings
    assert codes(r1) == ["F111", "F112", "E208", "E201", "I210", "E203", "E206", "E207", "E212", "E211", "W302",
                         "W303", "W401", "W403"]
    check_rank = {c: i for i, chk in enumerate(CHECKS) for c in chk.codes.split()}
    assert [check_rank[c] for c in codes(r1)] == sorted(check_rank[c] for c in codes(r1))


def test_findings_within_a_check_follow_the_contract_order():
    r = check(returned(**{n: "文字" for n in reversed(QUANTITIES)}))
    assert [f.name for f in r.findings if f.code == "E201"] == QUANTITIES


# ---------------------------------------------------------------- properties

junk = st.one_of(
    st.none(), st.booleans(), st.text(max_size=8),
    st.sampled_from(["2000万", "1,234", "１２３４", "1,23", " ", "－5", "是", "否", "是 ", "3千瓦时", "1e3", "NaN"]),
    st.integers(-10**20, 10**20), st.integers(10**300, 10**400),
    st.floats(allow_nan=True, allow_infinity=True), st.floats(-1e6, 1e6),
    st.sampled_from([0, 0.5, 1, 1.5, 2, 2.5, 3, 4.5, 6, 2.7]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.dictionaries(st.sampled_from(INPUTS + ["unit_code", "assessment_year"]), junk, max_size=12),
       cached=st.dictionaries(st.sampled_from(sorted(FORMULAS)), junk, max_size=4),
       params=st.dictionaries(st.sampled_from(sorted(preset_params())), junk, max_size=3))
def test_junk_never_raises_and_results_are_evaluate_of_inputs(changes, cached, params):
    ex = returned(**changes)
    ex.values.update(cached)
    ex.params.update(params)
    r = check_extracted(ex, SPEC, year=YEAR, preset=PRESET)
    assert r.results == evaluated(r.inputs)
    assert set(r.inputs) == set(INPUTS)
    for n, v in r.inputs.items():
        assert v is None or (type(v) is float and math.isfinite(v)) or (n == SELECTOR and isinstance(v, str))
    assert all(f.code in SPEC.checks and f.message for f in r.findings)
    assert all(f.cell == _cells().get(f.name, "") for f in r.findings)
    assert r.blocking == any(severity(f.code) == "错误" for f in r.findings)
    assert check_extracted(ex, SPEC, year=YEAR, preset=PRESET).findings == r.findings
