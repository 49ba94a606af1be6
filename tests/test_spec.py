"""The shipped spec (workbook_templates/spec/*.toml) and the loader's validation.

Part 1 pins the facts the spec must carry (seed deck PART 02/03 and the issue): 8 units, 54 indicators,
100 points, pass line 80, the 2023 targets, the factor presets, the composite weights, the data contract.
Part 2 mutates one thing in a copy of the spec and checks that `load_spec` refuses it with a `SpecError`
naming the file, the key path and the problem — a misspelt key must never be silently ignored.
"""
from __future__ import annotations

import re
import shutil
from fractions import Fraction

import pytest

from workbook_templates import contract_names, load_spec
from workbook_templates import load as loader
from workbook_templates.load import SPEC_DIR, SPEC_FILES, SpecError

HEX64 = re.compile(r"[0-9a-f]{64}")


@pytest.fixture(scope="module")
def spec():
    return load_spec()


def F(x) -> Fraction:
    """Exact decimal arithmetic: 7.5 + 4.5 must be 12, not 11.999…"""
    return Fraction(str(x))


# ================================================================ the shipped spec

def test_shipped_spec_loads_uncached_too():
    """The uncached loader on the shipped directory gives the same spec (same digest) as the cached one."""
    assert loader.load_spec(SPEC_DIR).digest == load_spec().digest


def test_eight_units_fifty_four_indicators(spec):
    assert [u.id for u in spec.units] == ["1", "2", "3", "4", "5", "6", "7", "8"]
    assert len(spec.indicators) == 54
    assert len({i.id for i in spec.indicators}) == 54


def test_unit_points_as_in_the_deck(spec):
    """10 + 21 + 22 + 6 + 14 + 13 + 8 + 6 = 100."""
    assert {u.id: u.points for u in spec.units} == {
        "1": 10, "2": 21, "3": 22, "4": 6, "5": 14, "6": 13, "7": 8, "8": 6}


def test_points_add_up_per_subarea_unit_and_total(spec):
    """Σ indicators = sub-area, Σ sub-areas = unit, Σ units = 100 (exactly, in decimal)."""
    for unit in spec.units:
        for sub in unit.subareas:
            assert sum(F(i.points) for i in sub.indicators) == F(sub.points), sub.id
            assert all(i.id.startswith(sub.id + ".") for i in sub.indicators)
        assert sum(F(s.points) for s in unit.subareas) == F(unit.points), unit.id
    assert sum(F(u.points) for u in spec.units) == 100
    assert spec.assessment.total_points == 100
    assert spec.assessment.pass_line == 80


def test_unit1_is_four_computed_targets_of_2_5_matching_the_decline_intensities(spec):
    """Unit 1: 4 × 2.5 = 10, one per decline intensity, filled from the decline table."""
    unit1 = spec.units[0]
    assert [i.id for i in unit1.indicators] == ["1.1.1", "1.1.2", "1.1.3", "1.1.4"]
    assert all(i.rule.type == "computed_target" and i.points == 2.5 for i in unit1.indicators)
    assert [i.rule.metric for i in unit1.indicators] == [
        "energy_per_capita", "energy_per_area", "co2_per_area", "water_per_capita"]
    assert [i.key for i in spec.decline_intensities] == [
        "energy_per_capita", "energy_per_area", "water_per_capita", "co2_per_area"]
    # and no other unit has a computed indicator
    assert [i.id for i in spec.indicators if i.rule.type == "computed_target"] == [
        "1.1.1", "1.1.2", "1.1.3", "1.1.4"]


def test_every_indicator_has_provenance_and_unit5_is_inferred(spec):
    """Provenance is seed | external | inferred; unit 5's texts are our inference, shown as 待核实."""
    for ind in spec.indicators:
        assert ind.provenance in ("seed", "external", "inferred"), ind.id
        assert ind.confidence in ("H", "M", "L"), ind.id
    unit5 = spec.units[4]
    assert [i.id for i in unit5.indicators] == ["5.1.1", "5.1.2", "5.2.1", "5.2.2", "5.2.3", "5.2.4", "5.2.5"]
    assert all(i.provenance == "inferred" and i.unverified for i in unit5.indicators)
    # …and only unit 5's indicators are unverified
    assert {i.unit_id for i in spec.indicators if i.unverified} == {"5"}


def test_targets_2023(spec):
    """2023 复验: 人均综合能耗 −1.40 %, 单位建筑面积能耗 −1.19 %, 人均用水 −1.40 %, 单位面积碳排放 −1.50 %."""
    y = spec.year(2023)
    assert dict(y.targets) == {"energy_per_capita": -1.40, "energy_per_area": -1.19,
                               "water_per_capita": -1.40, "co2_per_area": -1.50}
    assert (y.prev_year, y.cur_year) == (2021, 2022)
    assert spec.default_year == 2023


# (factor, 附加系数) per energy row of the deck's 计算表
XJ_2023_KGCE = {
    "electricity": (0.1229, 1),
    "coal": (0.7143, 1000),
    "gas": (1.33, 1),
    "lpg": (1.7143, 1000),
    "gasoline": (1.4714, 0.73),
    "diesel": (1.4571, 0.96),       # flagged: 0.96 is no diesel density
    "heat": (34.1, 1),
    "heated_area": (31.45, 0.98),   # flagged: meaning of 0.98 unverified
}


def test_default_preset_is_xj_2023_with_the_deck_factors(spec):
    assert spec.default_preset == "xj-2023"
    kgce = spec.preset("xj-2023").kgce
    assert {k: (f.factor, f.extra) for k, f in kgce.items()} == XJ_2023_KGCE


def test_gbt2589_differs_from_xj_2023_only_in_diesel_density_and_heat(spec):
    xj, gb = spec.preset("xj-2023"), spec.preset("gbt2589-2020")
    expected = dict(XJ_2023_KGCE, diesel=(1.4571, 0.86), heat=(34.12, 1))
    assert {k: (f.factor, f.extra) for k, f in gb.kgce.items()} == expected
    changed = {k for k in xj.kgce if (xj.kgce[k].factor, xj.kgce[k].extra) != (gb.kgce[k].factor, gb.kgce[k].extra)}
    assert changed == {"diesel", "heat"}
    assert {k: (c.factor, c.unit) for k, c in gb.co2.items()} == {k: (c.factor, c.unit) for k, c in xj.co2.items()}
    assert gb.grid_factor == xj.grid_factor == "mee-2022-grid"


def test_unverified_values_carry_a_flag(spec):
    """Diesel 0.96, heated-area 0.98, every CO2 factor and the grid factor are shown with a warning."""
    xj = spec.preset("xj-2023")
    assert xj.kgce["diesel"].flag and "0.96" in xj.kgce["diesel"].flag
    assert xj.kgce["heated_area"].flag and "0.98" in xj.kgce["heated_area"].flag
    for key, co2 in xj.co2.items():
        assert co2.flag and co2.flag.strip(), key
    assert spec.grid_factors[xj.grid_factor].flag
    # values read from the deck and the standard carry none
    for key in ("electricity", "coal", "gasoline", "heat"):
        assert xj.kgce[key].flag is None, key
    # gbt2589's own diesel density (0.86) is the customary value: not flagged
    assert spec.preset("gbt2589-2020").kgce["diesel"].flag is None


def test_composite_weights_per_level_sum_to_one(spec):
    """县市区级 0.1/0.3/0.6, 地州市级 0.2/0.8, 自治区本级 0.2/0.8."""
    levels = spec.assessment.levels
    assert {k: (lv.label, dict(lv.weights)) for k, lv in levels.items()} == {
        "county": ("县市区级", {"self": 0.1, "county": 0.3, "prefecture": 0.6}),
        "prefecture": ("地州市级", {"self": 0.2, "prefecture": 0.8}),
        "region": ("自治区本级", {"self": 0.2, "region": 0.8}),
    }
    for lv in levels.values():
        assert sum(F(w) for w in lv.weights.values()) == 1, lv.key


def test_elimination_and_spot_check_parameters(spec):
    a = spec.assessment
    assert a.elimination.ratio == 0.05
    assert a.elimination.rounding == "ceil"
    assert a.elimination.scope == "region"
    assert a.elimination.below_pass_line_eliminated is False
    assert (a.spot_check.prefecture_over_county, a.spot_check.region_over_all) == (0.30, 0.10)


def test_switch_defaults(spec):
    assert spec.switches["building_energy"].default == "all_vehicle_fuel"
    assert spec.switches["co2_per_area"].default == "all_co2"
    assert spec.switches["building_energy"].options["all_vehicle_fuel"].vehicle_fuel == ("gasoline", "diesel")
    assert spec.switches["co2_per_area"].options["all_co2"].exclude_vehicle_fuel is False


# ---------------------------------------------------------------- the data contract

CONTRACT_INPUTS = ("area_m2", "heated_area_m2", "people", "vehicles", "official_vehicles", "electricity_kwh",
                   "water_m3", "coal_t", "heating_coal_t", "gas_m3", "lpg_t", "gasoline_l",
                   "official_gasoline_l", "diesel_l", "official_diesel_l", "heat_gj")
ENERGY_ROWS = ("heated_area", "electricity", "coal", "gas", "lpg", "gasoline", "diesel", "heat")
INTENSITIES = ("energy_per_capita", "electricity_per_capita", "water_per_capita", "fuel_per_vehicle",
               "energy_per_area", "co2_per_area", "fuel_per_official_vehicle", "electricity_per_area")
DECLINE = ("energy_per_capita", "energy_per_area", "water_per_capita", "co2_per_area")
META = ("unit_name", "unit_code", "unit_level", "unit_region", "template_version", "assessment_year",
        "factor_preset")


def expected_contract(spec) -> set[str]:
    names = set(META)
    for slot in ("prev", "cur"):
        names |= {f"{slot}_{n}" for n in CONTRACT_INPUTS}
        names |= {f"{slot}_{row}_kgce" for row in ENERGY_ROWS} | {f"{slot}_{row}_co2_t" for row in ENERGY_ROWS}
        names |= {f"{slot}_total_kgce", f"{slot}_building_kgce", f"{slot}_co2_t"}
        names |= {f"{slot}_{i}" for i in INTENSITIES}
    names |= {f"{p}_{k}" for p in ("chg", "target", "ok") for k in DECLINE}
    names |= {"self_" + i.id.replace(".", "_") for i in spec.indicators}
    names |= {f"self_unit_{u}" for u in range(1, 9)} | {"self_total"}
    return names


def test_contract_names_are_unique_and_complete(spec):
    names = [c.name for c in contract_names(spec)]
    assert len(names) == len(set(names))
    missing = expected_contract(spec) - set(names)
    assert not missing, sorted(missing)
    assert {"self_1_1_1", "self_2_1_1", "self_7_1_1", "self_8_2_3"} <= set(names)
    assert len([n for n in names if re.fullmatch(r"self_\d+_\d+_\d+", n)]) == 54


def test_contract_names_are_identifiers(spec):
    """Every name is usable as a workbook defined name and a column header: ASCII snake case."""
    for c in contract_names(spec):
        assert re.fullmatch(r"[a-z][a-z0-9_]*", c.name), c.name


def test_contract_names_take_the_spec_they_describe():
    """No silent default: the names of a spec are asked of that spec (a copy with another year has others)."""
    with pytest.raises(TypeError):
        contract_names()                                 # type: ignore[call-arg]


# ---------------------------------------------------------------- digest

def test_digest_is_sha256_hex(spec):
    assert HEX64.fullmatch(spec.digest)


def test_digest_changes_when_a_spec_file_changes(tmp_path):
    d = tmp_path / "spec"
    shutil.copytree(SPEC_DIR, d)
    same = loader.load_spec(d).digest
    assert same == loader.load_spec(SPEC_DIR).digest        # same bytes, same digest, wherever they live
    with open(d / "targets.toml", "ab") as f:
        f.write(b"\n# a comment is a change too\n")
    changed = loader.load_spec(d).digest
    assert HEX64.fullmatch(changed)
    assert changed != same


# ================================================================ validation errors

def edited_copy(tmp_path, file: str, edits):
    """A copy of the shipped spec with `edits` applied to `file`.

    `edits` is a list of (old, new) replacements, each old text occurring exactly once, or a function of the
    file's text.
    """
    d = tmp_path / "spec"
    shutil.copytree(SPEC_DIR, d)
    path = d / file
    text = path.read_text(encoding="utf-8")
    if callable(edits):
        text = edits(text)
    else:
        for old, new in edits:
            assert text.count(old) == 1, f"edit anchor must occur once in {file}: {old!r}"
            text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return d


def case(id, file, edits, key, message, error_file=None):
    """One check of the loader: edit `file`; expect a SpecError at `key` (in `error_file`) saying `message`."""
    if isinstance(edits, tuple):
        edits = [edits]
    return pytest.param(file, edits, error_file or file, key, message, id=id)


XJ_LPG_BLOCK = '''[preset.xj-2023.kgce.lpg]
factor = 1.7143
factor_unit = "千克标准煤/千克"
extra = 1000
source = "GB/T 2589-2020 液化石油气 1.7143（课件计算表此行系数留空）"
confidence = "M"
flag = "课件计算表未给出液化石油气折标系数，采用 GB/T 2589-2020 的 1.7143。"
'''

def remove_indicator_8_2_3(text: str) -> str:
    """Remove indicator 8.2.3 (1 point) and raise 8.2.2 from 0.5 to 1.5: 53 indicators, every sum intact."""
    start = text.index('[[unit.subarea.indicator]]\nid = "8.2.3"')
    nxt = text.find("[[unit", start + 1)
    text = text[:start] + (text[nxt:] if nxt != -1 else "")
    old = 'points = 0.5\nevidence = "{assessment_year}年相关材料"'
    assert text.count(old) == 1
    return text.replace(old, 'points = 1.5\nevidence = "{assessment_year}年相关材料"')


SPEC_CHECKS = [
    # -- unknown and missing keys -------------------------------------------------------------
    case("misspelt optional key (parent→parnt) is an unknown key, not ignored",
         "energy.toml", ('parent = "coal"', 'parnt = "coal"'),
         "item[8]", "未知的键：parnt"),
    case("misspelt flag of a factor would silently drop the warning",
         "factors.toml", ('flag = "柴油附加系数', 'flg = "柴油附加系数'),
         "preset.xj-2023.kgce.diesel", "未知的键：flg"),
    case("misspelt field_check of an indicator",
         "standard.toml", ('field_check = true\nzero_if = "实地验收中未落实的制度', 'field_chek = true\nzero_if = "实地验收中未落实的制度'),
         "unit[1].subarea[1].indicator[1]", "未知的键：field_chek"),
    case("unknown top-level key",
         "assessment.toml", ("pass_line = 80", "pass_line = 80\npassline = 80"),
         "", "未知的键：passline"),
    case("missing required key (label of the first energy row)",
         "energy.toml", ('label = "建筑面积"\n', ""),
         "item[0].label", "缺少此项"),
    case("missing required key (confidence misspelt)",
         "targets.toml", ('confidence = "H"', 'confidance = "H"'),
         "year.2023.confidence", "缺少此项"),
    # -- factors --------------------------------------------------------------------------------
    case("factor is text", "factors.toml", ("factor = 0.1229", 'factor = "abc"'),
         "preset.xj-2023.kgce.electricity.factor", "应为数，实际为 'abc'"),
    case("factor is a boolean", "factors.toml", ("factor = 0.1229", "factor = true"),
         "preset.xj-2023.kgce.electricity.factor", "应为数"),
    case("negative factor", "factors.toml", ("factor = 0.1229", "factor = -0.1229"),
         "preset.xj-2023.kgce.electricity.factor", "必须是大于 0 的数，实际为 -0.1229"),
    case("zero 附加系数", "factors.toml", ("extra = 0.73", "extra = 0"),
         "preset.xj-2023.kgce.gasoline.extra", "必须是大于 0 的数"),
    case("negative grid factor", "factors.toml", ("factor = 0.5703", "factor = -0.5703"),
         "grid_factor.mee-2022-grid.factor", "必须是大于 0 的数"),
    case("confidence outside H/M/L", "factors.toml",
         ('confidence = "L"\nflag = "柴油附加系数', 'confidence = "X"\nflag = "柴油附加系数'),
         "preset.xj-2023.kgce.diesel.confidence", "应为 H | M | L 之一"),
    case("preset without a factor for an energy row (lpg)", "factors.toml", (XJ_LPG_BLOCK, ""),
         "preset.xj-2023.kgce", "缺少能源行 lpg 的系数"),
    case("grid_factor naming no grid factor", "factors.toml",
         ('base = "xj-2023"\ngrid_factor = "mee-2022-grid"', 'base = "xj-2023"\ngrid_factor = "mee-2099"'),
         "preset.gbt2589-2020.grid_factor", "电力排放因子「mee-2099」不在 grid_factor 中"),
    case("base naming no preset", "factors.toml", ('base = "xj-2023"', 'base = "xj-2022"'),
         "preset.gbt2589-2020.base", "继承的预设「xj-2022」不存在"),
    case("base presets in a cycle", "factors.toml",
         ('grid_factor = "mee-2022-grid"\n\n[preset.xj-2023.kgce.heated_area]',
          'grid_factor = "mee-2022-grid"\nbase = "gbt2589-2020"\n\n[preset.xj-2023.kgce.heated_area]'),
         "preset.gbt2589-2020.base", "预设继承形成循环：xj-2023 → gbt2589-2020 → xj-2023"),
    case("unknown default preset", "factors.toml", ('default_preset = "xj-2023"', 'default_preset = "xj-2024"'),
         "default_preset", "预设「xj-2024」不存在"),
    case("invalid TOML syntax", "factors.toml", ('default_preset = "xj-2023"', 'default_preset = "xj-2023'),
         "", "不是有效的 UTF-8 TOML"),
    # -- energy rows ----------------------------------------------------------------------------
    case("parent that does not exist", "energy.toml", ('parent = "coal"', 'parent = "cole"'),
         "item[8].parent", "上级行「cole」不存在"),
    case("其中 row counted in the total under a counted parent (double count)", "energy.toml",
         ('parent = "gasoline"\nfactor_of = "gasoline"', 'parent = "gasoline"\nfactor_of = "gasoline"\nin_total = true'),
         "item[12].in_total", "「其中」行不能再计入合计"),
    case("in_total without factors", "energy.toml",
         ('name = "water_m3"', 'name = "water_m3"\nin_total = true'),
         "item[6].in_total", "没有折标系数的行不能计入合计"),
    # -- calculation ----------------------------------------------------------------------------
    case("intensity numerator naming no per-year figure", "calculation.toml",
         ('numerator = ["total_kgce"]', 'numerator = ["totl_kgce"]'),
         "intensity[0].numerator", "「totl_kgce」不是每年度的数据项"),
    case("precision digits out of range", "calculation.toml", ("score = 2", "score = 11"),
         "precision.score", "小数位数应在 0–10 之间"),
    case("switch default not among its options", "calculation.toml",
         ('default = "all_co2"', 'default = "all_carbon"'),
         "switch.co2_per_area.default", "默认选项「all_carbon」不在 option 中"),
    # -- targets --------------------------------------------------------------------------------
    case("target year without the co2_per_area target", "targets.toml", ("co2_per_area = -1.50\n", ""),
         "year.2023.target.co2_per_area", "缺少此项"),
    case("target year that is not a year", "targets.toml",
         [("[year.2023]", "[year.23]"), ("[year.2023.target]", "[year.23.target]")],
         "year.23", "年度「23」不是四位年份"),
    # -- assessment -----------------------------------------------------------------------------
    case("weights not summing to 1 (0.1 + 0.3 + 0.5)", "assessment.toml",
         ("county = 0.3, prefecture = 0.6", "county = 0.3, prefecture = 0.5"),
         "level.county.weights", "权重之和应为 1"),
    case("weight for an unknown reviewer", "assessment.toml",
         ("self = 0.2, region = 0.8", "self = 0.2, province = 0.8"),
         "level.region.weights", "「province」不是评分方"),
    case("elimination ratio above 1", "assessment.toml", ("ratio = 0.05", "ratio = 1.5"),
         "elimination.ratio", "比例应在 (0, 1] 内"),
    case("unknown rounding (the first rounding: elimination's)", "assessment.toml",
         lambda text: text.replace('rounding = "ceil"', 'rounding = "up"', 1),
         "elimination.rounding", "应为 ceil | round | floor 之一"),
    # -- the standard: points -------------------------------------------------------------------
    case("indicator points changed: sub-area 2.1 no longer adds up (4 + 3 ≠ 6)", "standard.toml",
         ('points = 3\nevidence = "本单位设置或指定相关内设机构', 'points = 4\nevidence = "本单位设置或指定相关内设机构'),
         "unit[1].subarea[0].points", "各指标分值之和 7.0 与 6.0 不符"),
    case("sub-area sum off: unit 2 no longer adds up (7 + 7.5 + 4.5 + 3 ≠ 21)", "standard.toml",
         [('points = 3\nevidence = "本单位设置或指定相关内设机构', 'points = 4\nevidence = "本单位设置或指定相关内设机构'),
          ('name = "管理机构"\npoints = 6', 'name = "管理机构"\npoints = 7')],
         "unit[1].points", "各评价内容分值之和 22.0 与 21.0 不符"),
    case("total ≠ 100 (unit 8 raised to 6.5, consistently)", "standard.toml",
         [('name = "开展宣传教育"\npoints = 6', 'name = "开展宣传教育"\npoints = 6.5'),
          ('name = "教育培训"\npoints = 2.5', 'name = "教育培训"\npoints = 3'),
          ('points = 1\nevidence = "{assessment_year}年相关材料"\nprovenance = "seed"\nconfidence = "H"\n'
           'rule = { type = "per_occurrence", step = 0.5 }',
           'points = 1.5\nevidence = "{assessment_year}年相关材料"\nprovenance = "seed"\nconfidence = "H"\n'
           'rule = { type = "per_occurrence", step = 0.5 }')],
         "unit", "总分 100.5 与 assessment.toml 的 total_points 100.0 不符"),
    case("total_points ≠ the standard's 100", "assessment.toml", ("total_points = 100", "total_points = 99"),
         "unit", "总分 100.0 与 assessment.toml 的 total_points 99.0 不符", error_file="standard.toml"),
    case("53 indicators (8.2.3 removed, its point moved to 8.2.2 so every sum holds)", "standard.toml",
         remove_indicator_8_2_3,
         "unit", "指标数 53 与声明的 54 不符"),
    case("declared units ≠ 8", "assessment.toml", ("declared_units = 8", "declared_units = 9"),
         "unit", "评价单元数 8 与声明的 9 不符", error_file="standard.toml"),
    case("indicator id outside its sub-area", "standard.toml", ('id = "2.1.2"', 'id = "2.9.2"'),
         "unit[1].subarea[0].indicator[1].id", "指标编号「2.9.2」不属于评价内容「2.1」"),
    # -- the standard: rules --------------------------------------------------------------------
    case("per_item step 2 does not divide 3 points", "standard.toml",
         ('type = "per_item", step = 1, items = ["管理机构"', 'type = "per_item", step = 2, items = ["管理机构"'),
         "unit[1].subarea[0].indicator[0].rule.step", "分值 3.0 不是步长 2.0 的整数倍"),
    case("unknown rule type", "standard.toml",
         ('rule = { type = "per_occurrence", step = 1.5 }', 'rule = { type = "per_ocurrence", step = 1.5 }'),
         "unit[1].subarea[0].indicator[1].rule.type", "实际为 'per_ocurrence'"),
    case("computed_target metric that is no decline intensity", "standard.toml",
         ('metric = "water_per_capita"', 'metric = "electricity_per_capita"'),
         "unit[0].subarea[0].indicator[3].rule.metric", "实际为 'electricity_per_capita'"),
    case("two computed indicators on one metric, none on water", "standard.toml",
         ('metric = "water_per_capita"', 'metric = "energy_per_capita"'),
         "unit", "应与下降率指标"),
    case("tiered path whose best grade (7) is not the indicator's 8 points", "standard.toml",
         ('"优秀" = 8', '"优秀" = 7'),
         "unit[6].subarea[0].indicator[0].rule.path[0].grades", "最高等级分值 7 与指标分值 8.0 不符"),
    case("summed path whose parts (1.5 × 3 + 3) do not make 8", "standard.toml",
         ("points = 3.5\nrule = { type = \"deduction\", step = 0.5, per = \"人\" }",
          "points = 3\nrule = { type = \"deduction\", step = 0.5, per = \"人\" }"),
         "unit[6].subarea[0].indicator[0].rule.path[1].part", "各部分分值之和 7.5 与指标分值 8.0 不符"),
    case("two paths chosen by the same selector value", "standard.toml", ('when = "否"', 'when = "是"'),
         "unit[6].subarea[0].indicator[0].rule.path", "各路径的 when 取值必须不同"),
]


@pytest.mark.parametrize("file, edits, error_file, key, message", SPEC_CHECKS)
def test_spec_validation(tmp_path, file, edits, error_file, key, message):
    d = edited_copy(tmp_path, file, edits)
    with pytest.raises(SpecError) as excinfo:
        loader.load_spec(d)
    err = excinfo.value
    assert (err.file, err.key) == (error_file, key)
    assert message in err.problem
    # the message a person reads names all three
    assert error_file in str(err) and key in str(err) and message in str(err)
    assert str(err).startswith(f"规格文件 {error_file} 的 {key or '（顶层）'}：")


def test_every_spec_file_is_needed(tmp_path):
    """A missing spec file is a SpecError naming it, not a FileNotFoundError."""
    for name in SPEC_FILES:
        d = tmp_path / name.replace(".", "_")
        shutil.copytree(SPEC_DIR, d)
        (d / name).unlink()
        with pytest.raises(SpecError) as excinfo:
            loader.load_spec(d)
        assert excinfo.value.file == name
        assert "无法读取" in excinfo.value.problem


# ---------------------------------------------------------------- checks the loader should make (bugs)

def test_bad_intensity_denominator_is_reported_under_denominator(tmp_path):
    """The error must name the key that is wrong: a misspelt denominator is not a numerator problem."""
    d = edited_copy(tmp_path, "calculation.toml", [
        ('numerator = ["total_kgce"]\ndenominator = "people"', 'numerator = ["total_kgce"]\ndenominator = "peple"')])
    with pytest.raises(SpecError) as excinfo:
        loader.load_spec(d)
    assert excinfo.value.key == "intensity[0].denominator"
    assert "「peple」不是每年度的数据项" in excinfo.value.problem


TIERED_2_2_1 = ('points = 2\nevidence = "{assessment_year}年本单位加盖公章的节约能源资源工作安排、计划、要点或实施方案的正式文件，'
                '并明确节能目标"\nprovenance = "seed"\nconfidence = "H"\nrule = { type = "fixed" }')


@pytest.mark.parametrize("grades, message", [
    pytest.param('{ "好" = 1, "差" = 0 }', "最高等级分值", id="best grade 1 is not the 2 points"),
    pytest.param('{ "好" = "abc", "差" = 0 }', "等级分值应为非负数", id="grade is text (scoring would crash)"),
])
def test_top_level_tiered_rule_is_checked_against_points(tmp_path, grades, message):
    """standard.toml: "the points of the indicator are its maximum; the loader checks every rule against them".

    A tiered path of unit 7 is checked (see `tiered path whose best grade…` above); a top-level `tiered` rule
    must be checked the same way.
    """
    d = edited_copy(tmp_path, "standard.toml", [
        (TIERED_2_2_1, TIERED_2_2_1.replace('rule = { type = "fixed" }', f'rule = {{ type = "tiered", grades = {grades} }}'))])
    with pytest.raises(SpecError) as excinfo:
        loader.load_spec(d)
    assert excinfo.value.file == "standard.toml"
    assert excinfo.value.key == "unit[1].subarea[1].indicator[0].rule.grades"
    assert message in excinfo.value.problem
