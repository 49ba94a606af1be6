"""创建 and 复验 cohorts, the 5 % base and the units that never finish (issue 12 §2, §3) — `udfs.results`.

The deck: 「对已命名的节约型机关实行末位淘汰，按照复验单位5%的比例确定摘牌单位」. Worked example (地州市级 units, so
综合得分 = 0.2 × 自评 + 0.8 × 地州市评分; every unit self-scores 90):

    roster: 21 复验 units and 2 创建 units, all of 昌吉回族自治州
    18 复验 units reviewed: 地州市 scores 61, 62, …, 78 → composites 0.2×90 + 0.8×61 = 66.8 … 0.2×90 + 0.8×78 = 80.4
     1 复验 unit returned with an error (not ranked), 1 still waits for its 地州市 score, 1 never returned
     2 创建 units reviewed: 地州市 95 → 94 (达标) and 60 → 66 (不达标) — never ranked for 摘牌

    base = roster (the default): ceil(5 % × 21) = ceil(1.05) = 2 → the two lowest, 66.8 and 67.6, are 拟摘牌
    base = ranked:               ceil(5 % × 18) = ceil(0.90) = 1 → only 66.8
"""
from __future__ import annotations

import dataclasses

from hypothesis import given, strategies as st

from generator.roster import OPTIONAL, validate_rows
from udfs.ranking import elimination_count
from udfs.results import (CREATION_COHORT, INCOMPLETE, INCOMPLETE_CREATION, NOT_RANKED, NOT_RETURNED, RECHECK_COHORT,
                          REVIEWED, STATES, WAITING, UnitScores, elimination_base, review_results)
from workbook_templates import load_spec

from tests.returns import unit_code

SPEC = load_spec()
PREFECTURE = SPEC.assessment.levels["prefecture"].label
CHANGJI = "昌吉回族自治州"


def code(i: int) -> str:
    return f"U{i:03d}"


def world() -> list[UnitScores]:
    units = [UnitScores(code(i), PREFECTURE, CHANGJI, 90, {"prefecture": 60 + i}, on_roster=True)
             for i in range(1, 19)]                                              # 18 reviewed 复验 units
    units += [
        UnitScores(code(19), PREFECTURE, CHANGJI, 90, {"prefecture": 50}, ranked=False, on_roster=True),  # error
        UnitScores(code(20), PREFECTURE, CHANGJI, 90, {}, on_roster=True),                                # waiting
        UnitScores(code(21), PREFECTURE, CHANGJI, None, ranked=False, returned=False, on_roster=True),     # silent
        UnitScores("C001", PREFECTURE, CHANGJI, 90, {"prefecture": 95}, cohort=CREATION_COHORT, on_roster=True),
        UnitScores("C002", PREFECTURE, CHANGJI, 90, {"prefecture": 60}, cohort=CREATION_COHORT, on_roster=True),
    ]
    return units


def results(base: str, final: bool = False, spec=SPEC) -> dict:
    units = world()
    out = review_results(units, base=elimination_base(units, base=base, spec=spec), final=final, spec=spec)
    return {r.code: r for r in out}


def eliminated(rs: dict) -> list[str]:
    return sorted(c for c, r in rs.items() if r.eliminated)


def test_the_worked_example_by_roster_base_eliminates_two():
    assert elimination_base(world(), spec=SPEC) == {"全区": 21}               # 21 复验 units on the roster
    assert elimination_count(21, spec=SPEC) == 2                             # ceil(0.05 × 21) = ceil(1.05)
    rs = results("roster")
    assert eliminated(rs) == [code(1), code(2)]                              # composites 66.8 and 67.6
    assert rs[code(1)].composite == 66.8 and rs[code(2)].composite == 67.6   # 0.2×90 + 0.8×61, 0.2×90 + 0.8×62
    assert sum(r.rank is not None for r in rs.values()) == 18


def test_the_same_by_ranked_base_eliminates_one():
    assert elimination_base(world(), base="ranked", spec=SPEC) is None
    assert elimination_count(18, spec=SPEC) == 1                             # ceil(0.05 × 18) = ceil(0.90)
    assert eliminated(results("ranked")) == [code(1)]


def test_creation_units_are_judged_against_80_and_never_ranked():
    rs = results("roster")
    good, bad = rs["C001"], rs["C002"]
    assert good.composite == 94.0 and good.below_pass is False                # 0.2×90 + 0.8×95 = 18 + 76
    assert bad.composite == 66.0 and bad.below_pass is True                   # 0.2×90 + 0.8×60 = 18 + 48
    for r in (good, bad):
        assert r.cohort == CREATION_COHORT and r.state == REVIEWED
        assert r.rank is None and not r.eliminated and "不参与摘牌排名" in r.reason
    # 创建 units are not in the base either: 21, not 23.
    assert elimination_base(world(), spec=SPEC) == {"全区": 21}


@given(st.lists(st.floats(min_value=0, max_value=100, allow_nan=False), min_size=1, max_size=30))
def test_a_creation_unit_is_never_eliminated_however_low(scores):
    units = [UnitScores(f"C{i:03d}", PREFECTURE, CHANGJI, s, {"prefecture": s}, cohort=CREATION_COHORT)
             for i, s in enumerate(scores)]
    units.append(UnitScores("R001", PREFECTURE, CHANGJI, 100, {"prefecture": 100}))
    out = review_results(units, base=elimination_base(units, spec=SPEC), spec=SPEC)
    assert not any(r.eliminated for r in out if r.cohort == CREATION_COHORT)
    assert all(r.rank is None for r in out if r.cohort == CREATION_COHORT)


def test_before_the_deadline_the_unfinished_keep_their_own_states():
    rs = results("roster")
    assert (rs[code(19)].state, rs[code(20)].state, rs[code(21)].state) == (NOT_RANKED, WAITING, NOT_RETURNED)


def test_at_the_final_consolidation_they_are_incomplete_and_a_person_decides():
    rs = results("roster", final=True)
    rule = SPEC.assessment.elimination.incomplete
    for c, why in ((code(19), "有错误未改正"), (code(20), "评审未完成"), (code(21), "未报送")):
        r = rs[c]
        assert r.state == INCOMPLETE and r.rank is None and not r.eliminated, c
        assert r.reason.startswith(why) and rule in r.reason, (c, r.reason)
    assert eliminated(rs) == [code(1), code(2)]                              # the base does not change
    assert {r.state for r in rs.values()} <= set(STATES)


def test_an_unfinished_creation_unit_is_incomplete_creation():
    units = [UnitScores("C003", PREFECTURE, CHANGJI, None, ranked=False, returned=False, on_roster=True,
                      cohort=CREATION_COHORT)]
    (r,) = review_results(units, final=True, spec=SPEC)
    assert r.state == INCOMPLETE_CREATION and r.cohort == CREATION_COHORT


def test_without_a_roster_the_base_is_the_returned_recheck_units():
    """No roster: the 复验 units that returned — here 20 (the reviewed 18, the error, the waiting one)."""
    units = [dataclasses.replace(u, on_roster=None) for u in world() if u.returned]
    assert elimination_base(units, spec=SPEC) == {"全区": 20}


def test_returns_not_on_the_roster_do_not_count_in_the_base():
    units = world() + [UnitScores("X001", PREFECTURE, CHANGJI, 90, {"prefecture": 99}, on_roster=False)]
    assert elimination_base(units, spec=SPEC) == {"全区": 21}


def test_per_prefecture_the_base_is_counted_per_group():
    """Each 地州市 ranked apart: 哈密市 has 3 roster units, 2 ranked → ceil(0.15) = 1; 昌吉 21 → 2."""
    hami = [UnitScores(f"H{i}", PREFECTURE, "哈密市", 90, {"prefecture": 70 + i}, on_roster=True) for i in range(2)]
    hami.append(UnitScores("H9", PREFECTURE, "哈密市", None, returned=False, ranked=False, on_roster=True))
    units = world() + hami
    base = elimination_base(units, scope="prefecture", spec=SPEC)
    assert base == {CHANGJI: 21, "哈密市": 3}
    rs = {r.code: r for r in review_results(units, scope="prefecture", base=base, spec=SPEC)}
    assert sorted(c for c, r in rs.items() if r.eliminated) == ["H0", code(1), code(2)]


def test_the_count_never_exceeds_the_units_ranked():
    """A roster of 100 with only one unit ranked: ceil(5) = 5, but only that one can be marked."""
    units = [UnitScores("A", PREFECTURE, CHANGJI, 90, {"prefecture": 90}, on_roster=True)]
    units += [UnitScores(f"N{i}", PREFECTURE, CHANGJI, None, returned=False, ranked=False, on_roster=True)
              for i in range(99)]
    out = review_results(units, base=elimination_base(units, spec=SPEC), spec=SPEC)
    assert [r.code for r in out if r.eliminated] == ["A"]


def test_the_gate_fails_a_unit_that_missed_a_target_whatever_its_composite():
    (r,) = review_results([UnitScores("G", PREFECTURE, CHANGJI, 100, {"prefecture": 100}, gate=False)], spec=SPEC)
    assert r.composite == 100.0 and r.below_pass is True and "符合性" in r.reason
    (r,) = review_results([UnitScores("G", PREFECTURE, CHANGJI, 100, {"prefecture": 100}, gate=True)], spec=SPEC)
    assert r.below_pass is False


def test_cohort_defaults_to_recheck():
    assert UnitScores("A", PREFECTURE, CHANGJI, 90).cohort == RECHECK_COHORT


# ---------------------------------------------------------------- the roster's optional columns

HEADER = ("单位名称", "统一社会信用代码", "单位层级", "所属地区", "类型", "命名年度")
A, B, C = (unit_code(f"11652327MB000020{i}") for i in range(3))


def test_the_roster_reads_cohort_and_named_year():
    rows = [(1, HEADER), (2, ("甲局", A, "县市区级", CHANGJI, "复验", 2020)),
            (3, ("乙局", B, "县市区级", CHANGJI, "创建", "")), (4, ("丙局", C, "县市区级", CHANGJI, "", "2020年"))]
    roster = validate_rows(rows, SPEC)
    assert roster.ok
    assert [(u.cohort, u.named_year) for u in roster.units] == [("复验", 2020), ("创建", None), ("复验", 2020)]


def test_a_roster_without_the_columns_is_all_recheck():
    roster = validate_rows([(1, HEADER[:4]), (2, ("甲局", A, "县市区级", CHANGJI))], SPEC)
    assert roster.ok and roster.units[0].cohort == "复验" and roster.units[0].named_year is None


def test_bad_cohort_or_year_is_a_problem_naming_the_column():
    rows = [(1, HEADER), (2, ("甲局", A, "县市区级", CHANGJI, "新建", "二〇二〇"))]
    roster = validate_rows(rows, SPEC)
    assert [(p.row, p.column) for p in roster.problems] == [(2, OPTIONAL["cohort"]), (2, OPTIONAL["named_year"])]
    assert "复验 或 创建" in roster.problems[0].message and "四位年份" in roster.problems[1].message


@given(st.one_of(st.none(), st.text(max_size=6), st.integers(), st.floats(allow_nan=True), st.booleans()),
       st.one_of(st.none(), st.text(max_size=6), st.integers(), st.floats(allow_nan=True), st.booleans()))
def test_any_cohort_or_year_is_read_or_reported_never_raises(cohort, year):
    roster = validate_rows([(1, HEADER), (2, ("甲局", A, "县市区级", CHANGJI, cohort, year))], SPEC)
    if roster.ok:
        (u,) = roster.units
        assert u.cohort in ("复验", "创建") and (u.named_year is None or 2000 <= u.named_year <= 2100)
    else:
        assert {p.column for p in roster.problems} <= set(OPTIONAL.values())
