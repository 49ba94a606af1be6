"""The standard's scoring rules (udfs.scoring): legal self-scores per rule type, unit totals, the pass line.

Every expected set below is written out with its arithmetic, from the indicator's text in standard.toml.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from udfs.scoring import counted_array, counted_score, decline_score, legal_values, passes, unit_totals, validate_score
from workbook_templates import load_spec

SELECTOR = "canteen_evaluation_implemented"    # unit 7's 是/否 input


@pytest.fixture(scope="module")
def spec():
    return load_spec()


def full_marks(spec, canteen="是") -> dict:
    """Every indicator at its points, unit 7 on the chosen path."""
    scores = {i.score_name: i.points for i in spec.indicators}
    scores[SELECTOR] = canteen
    return scores


# ================================================================ legal values per rule type

@pytest.mark.parametrize("indicator, rule_type, expected", [
    # computed_target: 2.5 when the decline target is met, else 0
    ("1.1.1", "computed_target", (0, 2.5)),
    # fixed: all or nothing
    ("2.2.1", "fixed", (0, 2)),
    ("3.6.1", "fixed", (0, 1.5)),
    # per_item: 1 per item (机构、人员、职责), at most 3 → 0, 1, 2, 3
    ("2.1.1", "per_item", (0, 1, 2, 3)),
    # per_item: 0.5 per 分项计量, at most 1.5 → 0, 0.5, 1, 1.5
    ("2.3.2", "per_item", (0, 0.5, 1, 1.5)),
    # per_item: 1.5 per 制度, at most 4.5 (10 items listed, capped) → 0, 1.5, 3, 4.5
    ("2.2.2", "per_item", (0, 1.5, 3, 4.5)),
    # per_occurrence: 1.5 per 部署, at most 3 → 0, 1.5, 3
    ("2.1.2", "per_occurrence", (0, 1.5, 3)),
    # per_occurrence: 0.5 per 报道, at most 1.5
    ("8.1.2", "per_occurrence", (0, 0.5, 1, 1.5)),
    # deduction: 1.5 − 0.5 per 处, floor 0 → 1.5, 1, 0.5, 0
    ("3.2.2", "deduction", (0, 0.5, 1, 1.5)),
    # deduction: 3.5 − 0.5 per 处 → 8 values
    ("6.2.3", "deduction", (0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5)),
    # per_item_with_deduction: 1.5 per 标识 up to 6, minus 1.5 per 处 → multiples of 1.5 in 0…6
    ("3.3.1", "per_item_with_deduction", (0, 1.5, 3, 4.5, 6)),
    # na_full_award (未实行物业管理的直接得分): the 1 point is still all or nothing
    ("2.2.3", "fixed", (0, 1)),
    # authority_assessed (由主管部门评价): still 0 or its 1 point
    ("2.4.2", "fixed", (0, 1)),
    ("4.1.2", "fixed", (0, 1.5)),
])
def test_legal_values(spec, indicator, rule_type, expected):
    ind = spec.indicator(indicator)
    assert ind.rule.type == rule_type
    assert legal_values(indicator, spec=spec) == tuple(float(v) for v in expected)
    assert legal_values(ind, spec=spec) == legal_values(indicator, spec=spec)    # by id or by object
    assert max(legal_values(ind, spec=spec)) == ind.points                       # the points are the maximum


def test_flagged_indicators_in_the_table_above_carry_their_flags(spec):
    """2.2.3 (不适用直接得分) and 2.4.2 (主管部门评价) still have {0, points} above: the flags change who scores."""
    assert spec.indicator("2.2.3").na_full_award == "yes"
    assert spec.indicator("2.4.2").authority_assessed is True


def test_every_indicator_allows_zero_and_its_points(spec):
    for ind in spec.indicators:
        values = legal_values(ind, spec=spec)
        assert values[0] == 0 and values[-1] == ind.points, ind.id
        assert list(values) == sorted(set(values)), ind.id


# ---------------------------------------------------------------- unit 7: alternatives

HALF_STEPS_0_TO_8 = tuple(k / 2 for k in range(17))   # 0, 0.5, …, 8


def test_alternatives_path_a_tiered(spec):
    """是 → path A, tiered: 优秀 8, 良好 4, 合格 2, 其他 0."""
    assert legal_values("7.1.1", "是", spec=spec) == (0.0, 2.0, 4.0, 8.0)


def test_alternatives_path_b_sum_of_parts(spec):
    """否 → path B: B1, B2, B3 fixed 1.5 each (0/1.5), B4 = 3.5 − 0.5 per 人 (0…3.5 step 0.5).

    Sums: {0, 1.5, 3, 4.5} + {0, 0.5, …, 3.5} = every half point from 0 to 4.5 + 3.5 = 8.
    """
    assert legal_values("7.1.1", "否", spec=spec) == HALF_STEPS_0_TO_8


@pytest.mark.parametrize("selector", [None, "", 1])
def test_alternatives_blank_selector_allows_either_path(spec, selector):
    """Blank → the union of A {0, 2, 4, 8} and B {0 … 8 step 0.5}, which is B's set."""
    union = tuple(sorted(set(legal_values("7.1.1", "是", spec=spec)) | set(legal_values("7.1.1", "否", spec=spec))))
    assert union == HALF_STEPS_0_TO_8
    assert legal_values("7.1.1", selector, spec=spec) == union


def test_score_3_is_legal_on_path_b_only(spec):
    ind = spec.indicator("7.1.1")
    assert counted_score(ind, 3, "否", spec=spec) == 3.0     # 1.5 + 1.5 + 0 + 0
    assert counted_score(ind, 3, "是", spec=spec) is None    # no grade gives 3
    assert counted_score(ind, 8, "是", spec=spec) == 8.0     # 优秀


# ================================================================ validate_score

@pytest.mark.parametrize("score, message", [
    (None, "指标 2.1.1 尚未评分：请从 0、1、2、3 中选择"),
    ("", "指标 2.1.1 尚未评分：请从 0、1、2、3 中选择"),
    ("   ", "指标 2.1.1 尚未评分：请从 0、1、2、3 中选择"),
    ("abc", "指标 2.1.1 的自评分「abc」不是数字：请从 0、1、2、3 中选择"),
    ("2", "指标 2.1.1 的自评分「2」不是数字：请从 0、1、2、3 中选择"),     # text "2" is not a number in a worksheet
    (2.5, "指标 2.1.1 的自评分 2.5 不符合评分规则：只能是 0、1、2、3"),
    (4, "指标 2.1.1 的自评分 4 不符合评分规则：只能是 0、1、2、3"),      # above the 3-point cap
    (-1, "指标 2.1.1 的自评分 -1 不符合评分规则：只能是 0、1、2、3"),
])
def test_validate_score_messages(spec, score, message):
    assert validate_score("2.1.1", score, spec=spec) == message


@pytest.mark.parametrize("indicator, score", [("2.1.1", 0), ("2.1.1", 3), ("2.1.1", 2.0), ("2.3.2", 0.5),
                                              ("3.3.1", 4.5), ("1.1.1", 2.5)])
def test_validate_score_accepts_legal_values(spec, indicator, score):
    assert validate_score(indicator, score, spec=spec) is None


def test_validate_score_half_steps_and_selector(spec):
    assert validate_score("3.2.2", 0.75, spec=spec) == "指标 3.2.2 的自评分 0.75 不符合评分规则：只能是 0、0.5、1、1.5"
    assert validate_score("7.1.1", 3, "是", spec=spec) == "指标 7.1.1 的自评分 3 不符合评分规则：只能是 0、2、4、8"
    assert validate_score("7.1.1", 3, "否", spec=spec) is None
    assert validate_score("7.1.1", None, "是", spec=spec) == "指标 7.1.1 尚未评分：请从 0、2、4、8 中选择"


def test_validate_score_unknown_indicator(spec):
    with pytest.raises(KeyError):
        validate_score("9.9.9", 1, spec=spec)


# ================================================================ counted_score

@pytest.mark.parametrize("indicator, score, counted", [
    ("2.1.1", 2, 2.0),
    ("2.1.1", 2.5, None),       # not a multiple of the 1-point step
    ("2.1.1", 4, None),         # above the cap
    ("2.1.1", None, None),      # blank
    ("2.1.1", "2", None),       # text
    ("2.1.1", True, None),      # a boolean is not a score
    ("3.3.1", 4.5, 4.5),
    ("3.3.1", 5, None),
    ("2.2.1", 1, None),         # fixed: 0 or 2 only
    ("2.2.1", 0, 0.0),
])
def test_counted_score(spec, indicator, score, counted):
    assert counted_score(spec.indicator(indicator), score, spec=spec) == counted


# ================================================================ unit totals

def test_full_marks_unit_2_is_21(spec):
    """Unit 2 full marks: 3 + 3 + 2 + 4.5 + 1 + 2 + 1.5 + 1 + 1 + 1 + 1 = 21."""
    scores = {i.score_name: i.points for i in spec.units[1].indicators}
    assert unit_totals(scores, spec)["self_unit_2"] == 21.0


def test_full_marks_everywhere_is_100_and_passes(spec):
    """10 + 21 + 22 + 6 + 14 + 13 + 8 + 6 = 100 ≥ 80."""
    out = unit_totals(full_marks(spec), spec)
    assert [out[f"self_unit_{u}"] for u in range(1, 9)] == [10.0, 21.0, 22.0, 6.0, 14.0, 13.0, 8.0, 6.0]
    assert out["self_total"] == 100.0
    assert out["self_missing_count"] == 0
    assert out["self_pass"] is True


def test_partial_scores_and_illegal_ones_are_missing(spec):
    """Unit 2: 2 (2.1.1) + 1.5 (2.1.2) + 2.5 (2.2.1: illegal, fixed 0/2) + "2" (2.2.2: text) = 3.5.

    The illegal and text scores do not count and count as missing, like the 9 unscored indicators.
    """
    out = unit_totals({"self_2_1_1": 2, "self_2_1_2": 1.5, "self_2_2_1": 2.5, "self_2_2_2": "2"}, spec)
    assert out["self_unit_2"] == 3.5
    assert out["self_unit_3"] is None                 # nothing scored: blank, not 0
    assert out["self_total"] == 3.5
    assert out["self_missing_count"] == 54 - 2
    assert out["self_pass"] is False


def test_nothing_scored_is_blank_not_zero(spec):
    out = unit_totals({}, spec)
    assert out["self_total"] is None and out["self_pass"] is None
    assert out["self_missing_count"] == 54
    assert all(out[f"self_unit_{u}"] is None for u in range(1, 9))


def test_zero_is_a_score_not_a_blank(spec):
    out = unit_totals({i.score_name: 0 for i in spec.indicators} | {SELECTOR: "是"}, spec)
    assert out["self_total"] == 0.0
    assert out["self_missing_count"] == 0
    assert out["self_pass"] is False


def test_unit_7_total_follows_the_selector(spec):
    """7.1.1 = 3 counts on path B (否: 1.5 + 1.5 + 0 + 0) but not on path A (是: 0/2/4/8)."""
    assert unit_totals({"self_7_1_1": 3, SELECTOR: "否"}, spec)["self_unit_7"] == 3.0
    assert unit_totals({"self_7_1_1": 3, SELECTOR: "是"}, spec)["self_unit_7"] is None
    assert unit_totals({"self_7_1_1": 4, SELECTOR: "是"}, spec)["self_unit_7"] == 4.0     # 良好
    assert unit_totals({"self_7_1_1": 3}, spec)["self_unit_7"] == 3.0                     # blank: either path


def test_total_just_below_and_at_the_pass_line(spec):
    """Full marks minus 21 (unit 2 all zero) = 79 → fails; minus 20 (unit 2 at 1: only 2.1.1 = 1) = 80 → passes."""
    scores = full_marks(spec) | {i.score_name: 0 for i in spec.units[1].indicators}
    out = unit_totals(scores, spec)
    assert out["self_total"] == 79.0 and out["self_pass"] is False
    out = unit_totals(scores | {"self_2_1_1": 1}, spec)
    assert out["self_total"] == 80.0 and out["self_pass"] is True


def test_half_points_add_exactly(spec):
    """Unit 4: 2 + 1.5 + 0.5 + 0.5 + 0.5 + 1 = 6 (no 5.999…)."""
    scores = {i.score_name: i.points for i in spec.units[3].indicators}
    assert unit_totals(scores, spec)["self_unit_4"] == 6.0


# ================================================================ pass line and decline scores

@pytest.mark.parametrize("total, passed", [(79.99, False), (80, True), (80.0, True), (100, True), (0, False),
                                           (None, None), ("", None), ("85", None)])
def test_passes(spec, total, passed):
    """总分 ≥ 80 passes; blank (or text) has no verdict."""
    assert passes(total, spec) is passed


@pytest.mark.parametrize("met, score", [(True, 2.5), (False, 0.0), (None, None)])
def test_decline_score(spec, met, score):
    """Unit 1: 2.5 when the decline target is met, 0 when not, blank when the data is incomplete."""
    for iid in ("1.1.1", "1.1.2", "1.1.3", "1.1.4"):
        assert decline_score(spec.indicator(iid), met) == score


def test_a_score_between_legal_values_is_not_rounded_onto_one(spec):
    """1.004 for 2.1.1 (legal 0/1/2/3) is not 1: a score is one of the listed values or it does not count."""
    ind = load_spec().indicator("2.1.1")
    assert counted_score(ind, 1.004, spec=spec) is None
    assert validate_score(ind, 1.004, spec=spec) is not None
    assert unit_totals({"self_2_1_1": 1.004}, spec)["self_unit_2"] is None


def test_a_column_of_scores_counts_as_each_score_does(spec):
    """`counted_array` (thousands of units at once) counts what `counted_score` counts, a worked example for 3.2.2
    (legal 0, 0.5, 1, 1.5): 1 and 1.5 count, 0.75 (between two legal values), 2 (above the last), −0.5, inf and a
    blank (NaN) do not, −0 counts as 0."""
    ind = spec.indicator("3.2.2")
    got = counted_array(ind, np.array([1, 1.5, 0.75, 2, -0.5, math.inf, math.nan, -0.0]), spec=spec)
    assert got[:2].tolist() == [1, 1.5] and np.isnan(got[2:7]).all() and got[7] == 0


SCORES = st.one_of(st.none(), st.floats(allow_nan=True), st.sampled_from([0.0, -0.0, 0.5, 1.0, 1.5, 2.5, 3.0, 4.5]),
                   st.integers(-3, 12).map(lambda n: n / 2))


@settings(max_examples=60, deadline=None)
@given(scores=st.lists(SCORES, min_size=1, max_size=12), selectors=st.lists(st.sampled_from(["是", "否", None, 7]),
                                                                          min_size=12, max_size=12),
       which=st.integers(0, 53))
def test_counted_array_agrees_with_counted_score(spec, scores, selectors, which):
    """For any indicator, blank (None → NaN), zero, −0, negative, infinite, between-the-steps and legal scores, with
    unit 7's 是/否 per row or none: the array path keeps exactly the scores `counted_score` keeps."""
    ind = spec.indicators[which]
    chosen = selectors[:len(scores)] if ind.rule.selector else None
    values = np.array([math.nan if s is None else s for s in scores], dtype=float)
    got = counted_array(ind, values, chosen, spec=spec)
    for i, score in enumerate(scores):
        expected = counted_score(ind, score, chosen[i] if chosen else None, spec=spec)
        assert (expected is None and np.isnan(got[i])) or got[i] == expected, (ind.id, score, got[i], expected)
