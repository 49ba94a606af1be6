"""Data that blocks a score is a finding (issue 12 §4): E211 names the missing or zero field and the unit-1
indicators it blocks; the workbook's 强度指标下降率 「结果」 column says the same (`udfs.decline.decline_blocker`).

Worked examples on the sample unit (2023 复验: data years 2021 and 2022):

- 2022 用能人数 = 0: 人均综合能耗 = 能耗 ÷ 0 and 人均用水量 = 水 ÷ 0 have no value, so neither change can be computed
  → one E211 on cur_people naming 1.1.1 and 1.1.4 (the two per-capita declines);
- 2021 建筑面积 = 0: 单位建筑面积能耗 and 碳排放 → one E211 on prev_area_m2 naming 1.1.2 and 1.1.3;
- 2021 水消耗量 = 0 with people > 0: 人均用水量 2021 = 0, and a change from 0 has no percentage → E211 on
  prev_water_m3 naming 1.1.4 only;
- every energy row of 2022 blank: no 综合能耗, 建筑能耗 or 碳排放 → one E211 (no single field) naming 1.1.1–1.1.3.
"""
from __future__ import annotations

from hypothesis import given, settings, strategies as st

import udfs
from udfs.decline import decline_blocker, decline_blockers

from tests.test_checks import SPEC, YEAR, check, codes, returned

YEARS = SPEC.year(YEAR)


def e211(result) -> list:
    return [f for f in result.findings if f.code == "E211"]


def test_zero_people_blocks_both_per_capita_declines():
    r = check(returned(cur_people=0))
    (f,) = e211(r)
    assert f.name == "cur_people" and f.cell.endswith("C6")
    assert f.message.startswith("2022年度用能人数为0：人均综合能耗、人均用水量的下降率无法计算")
    assert "第一单元指标 1.1.1、1.1.4 无法计分，评审也无法完成" in f.message and "请填写实际的用能人数" in f.message
    assert r.blocking and SPEC.checks["E211"].severity == "错误"
    assert r.results["chg_energy_per_capita"] is None and r.results["chg_water_per_capita"] is None


def test_zero_area_blocks_both_per_area_declines():
    (f,) = e211(check(returned(prev_area_m2=0)))
    assert f.name == "prev_area_m2" and "2021年度建筑面积为0" in f.message and "1.1.2、1.1.3" in f.message


def test_an_earlier_zero_intensity_blocks_its_change():
    (f,) = e211(check(returned(prev_water_m3=0)))
    assert f.name == "prev_water_m3" and f.message.startswith("2021年度人均用水量为0：人均用水量的下降率无法计算")
    assert "1.1.4" in f.message and "1.1.1" not in f.message


def test_a_year_without_energy_blocks_three_declines_at_once():
    blank = {f"cur_{i.name}": None for i in SPEC.items if i.factor_of}
    r = check(returned(**blank))
    (f,) = e211(r)
    assert f.name == "" and "2022年度各项能源消耗量均未填写" in f.message and "1.1.1、1.1.2、1.1.3" in f.message


def test_a_computable_unit_has_no_blocker():
    r = check(returned())
    assert "E211" not in codes(r)
    assert decline_blockers(r.inputs, r.results, YEAR, SPEC) == []


QUANTITY = st.one_of(st.none(), st.just(0), st.just(0.0), st.floats(min_value=-1e6, max_value=1e9, allow_nan=False),
                     st.text(max_size=6), st.booleans())


@settings(max_examples=150, deadline=None)
@given(prev_people=QUANTITY, cur_people=QUANTITY, prev_area=QUANTITY, cur_area=QUANTITY, prev_water=QUANTITY,
       cur_water=QUANTITY)
def test_a_blocker_exactly_when_a_change_is_blank(prev_people, cur_people, prev_area, cur_area, prev_water,
                                                  cur_water):
    """Blank, zero, negative, text or boolean people, area or water: a decline has a blocker iff its change is blank,
    the blocker names an input of the year it speaks of, and nothing raises."""
    raw = {**returned().values, "prev_people": prev_people, "cur_people": cur_people, "prev_area_m2": prev_area,
           "cur_area_m2": cur_area, "prev_water_m3": prev_water, "cur_water_m3": cur_water}
    inputs = {n: raw.get(n) for n in raw if n.startswith(("prev_", "cur_", "self_", "canteen"))}
    results = udfs.evaluate(inputs, YEAR, SPEC.default_preset, spec=SPEC)
    for i in SPEC.decline_intensities:
        b = decline_blocker(i, inputs, results, YEARS, SPEC)
        assert (b is None) == (results[f"chg_{i.key}"] is not None), (i.key, b)
        if b is not None:
            assert b.text.startswith("无法计算：") and b.field in ("", *inputs)
            year = YEARS.data_year(b.field.split("_")[0]) if b.field else None
            assert year is None or b.what.startswith(f"{year}年度")
