"""udfs/review.py: the review pack's scoring rules, worked by hand, and their properties for any input.

Worked examples use the spec's own indicators: 3.2.2 (deduction, 1.5 points, 0.5 per 处), 6.2.3 (deduction,
3.5 points, 0.5 per 处), 3.3.1 (per_item_with_deduction, 1.5 per item up to 6, 1.5 per 处), 2.1.1 (per_item,
1 per item up to 3), 7.1.1 (alternatives: either path's scores). Properties: blank, zero, negative, text, bool,
NaN, infinite and huge inputs never raise, and every result is blank or a legal score.
"""
from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import udfs
from udfs import review
from udfs.review import (STATUS_FINDINGS, STATUS_FINDINGS_BAD, STATUS_NO_DATA, STATUS_RECOMPUTED, STATUS_RULE,
                         STATUS_SCORE, findings_count, item_score, item_status, missing_text, score_card)
from workbook_templates import load_spec
from workbook_templates.review_names import review_names

SPEC = load_spec()
IND = SPEC.indicator
UNIT1 = [i for i in SPEC.indicators if i.rule.type == "computed_target"]


def full_marks() -> tuple[dict, dict, dict]:
    """(given, findings, recomputed) with every indicator at its maximum and no findings."""
    given, findings = {}, {}
    for ind in SPEC.indicators:
        if ind.rule.type in ("deduction", "per_item_with_deduction"):
            findings[ind.id] = 0
        values = review.given_values(ind, spec=SPEC)
        if values:
            given[ind.id] = max(values)
    return given, findings, {i.id: i.points for i in UNIT1}


# ---------------------------------------------------------------- worked examples: one indicator

@pytest.mark.parametrize("found, expected", [
    (0, 1.5),          # no finding: the full 1.5
    (1, 1.0),          # 1.5 − 0.5 × 1
    (2, 0.5),          # 1.5 − 0.5 × 2
    (3, 0.0),          # 1.5 − 0.5 × 3 = 0
    (4, 0.0),          # 1.5 − 0.5 × 4 = −0.5 → floor 0
    (1e300, 0.0),      # never overflows: compared before multiplying
])
def test_deduction_3_2_2(found, expected):
    ind = IND("3.2.2")
    assert (ind.rule.type, ind.points, ind.rule.step) == ("deduction", 1.5, 0.5)
    assert item_score(ind, findings=found, spec=SPEC) == expected
    assert item_status(ind, findings=found, spec=SPEC) == ""


def test_deduction_6_2_3_four_findings():
    ind = IND("6.2.3")
    assert (ind.points, ind.rule.step) == (3.5, 0.5)
    assert item_score(ind, findings=4, spec=SPEC) == 1.5     # 3.5 − 0.5 × 4
    assert item_score(ind, findings=7, spec=SPEC) == 0.0     # 3.5 − 0.5 × 7 = 0
    # the reviewer's choice plays no part: 处数 decides
    assert item_score(ind, given=3.5, findings=None, spec=SPEC) is None


@pytest.mark.parametrize("award, found, expected", [
    (4.5, 1, 3.0),     # three items (4.5), one finding: 4.5 − 1.5
    (6, 0, 6.0),       # all four items, nothing found
    (6, 5, 0.0),       # 6 − 1.5 × 5 = −1.5 → 0
    (1.5, 1, 0.0),     # 1.5 − 1.5 = 0
    (0, 0, 0.0),
])
def test_per_item_with_deduction_3_3_1(award, found, expected):
    ind = IND("3.3.1")
    assert (ind.rule.type, ind.points, ind.rule.step, ind.rule.deduction_step) == (
        "per_item_with_deduction", 6, 1.5, 1.5)
    assert review.given_values(ind, spec=SPEC) == (0.0, 1.5, 3.0, 4.5, 6.0)
    assert item_score(ind, award, found, spec=SPEC) == expected
    assert item_status(ind, award, found, spec=SPEC) == ""


def test_per_item_with_deduction_needs_a_legal_award_and_a_whole_count():
    ind = IND("3.3.1")
    assert item_score(ind, 5, 1, spec=SPEC) is None and item_status(ind, 5, 1, spec=SPEC) == STATUS_RULE   # not a step
    assert item_score(ind, 4.5, 1.5, spec=SPEC) is None and item_status(ind, 4.5, 1.5, spec=SPEC) == STATUS_FINDINGS_BAD
    assert item_score(ind, 4.5, -1, spec=SPEC) is None and item_status(ind, 4.5, -1, spec=SPEC) == STATUS_FINDINGS_BAD
    assert item_status(ind, None, 1, spec=SPEC) == STATUS_SCORE
    assert item_status(ind, 4.5, None, spec=SPEC) == STATUS_FINDINGS
    assert item_status(ind, "4.5", 1, spec=SPEC) == STATUS_RULE    # text is not a score, as ISNUMBER says


def test_chosen_scores_count_only_when_legal():
    ind = IND("2.1.1")                     # 1 per item, up to 3
    assert [item_score(ind, v, spec=SPEC) for v in (0, 1, 2, 3)] == [0, 1, 2, 3]
    for bad in (2.7, 4, -1, "3", 1.004, True):
        assert item_score(ind, bad, spec=SPEC) is None, bad
        assert item_status(ind, bad, spec=SPEC) == STATUS_RULE, bad
    assert item_status(ind, None, spec=SPEC) == STATUS_SCORE


def test_unit_7_reviewer_may_give_either_paths_scores():
    ind = IND("7.1.1")
    union = set(udfs.legal_values(ind, "是", spec=SPEC)) | set(udfs.legal_values(ind, "否", spec=SPEC))
    assert set(review.given_values(ind, spec=SPEC)) == union
    for v in union:
        assert item_score(ind, v, spec=SPEC) == v


def test_unit_1_is_the_recomputed_score():
    ind = UNIT1[0]
    assert item_score(ind, given=0, recomputed=ind.points, spec=SPEC) == ind.points   # the reviewer cannot change it
    assert item_status(ind, recomputed=ind.points, spec=SPEC) == STATUS_RECOMPUTED
    assert item_score(ind, recomputed=None, spec=SPEC) is None
    assert item_status(ind, recomputed=None, spec=SPEC) == STATUS_NO_DATA


@pytest.mark.parametrize("value, expected", [
    (0, 0.0), (3, 3.0), (3.0, 3.0), (None, None), (-1, None), (1.5, None), ("2", None), ("2处", None),
    (True, None), (float("nan"), None), (float("inf"), None),
])
def test_findings_count(value, expected):
    assert findings_count(value) == expected


# ---------------------------------------------------------------- worked examples: the whole card

def test_full_marks_total_the_standard_total():
    card = score_card(*full_marks(), spec=SPEC)
    assert card.missing == 0
    assert card.total == SPEC.assessment.total_points == 100
    assert card.units == {u.id: u.points for u in SPEC.units}


def test_worked_card_with_findings_and_an_unmet_target():
    """Full marks except: 1.1.2 target missed (0 instead of 2.5), 3.2.2 two findings (1.5 − 0.5 × 2 = 0.5,
    −1.0), 3.3.1 award 6 with one finding (6 − 1.5 = 4.5, −1.5), 2.1.1 given 2 instead of 3 (−1).

    unit 1 = 10 − 2.5 = 7.5; unit 2 = 21 − 1 = 20; unit 3 = 22 − 1.0 − 1.5 = 19.5;
    total = 100 − 2.5 − 1 − 1.0 − 1.5 = 94."""
    given, findings, recomputed = full_marks()
    recomputed["1.1.2"] = 0
    findings["3.2.2"] = 2
    findings["3.3.1"] = 1
    given["2.1.1"] = 2
    card = score_card(given, findings, recomputed, spec=SPEC)
    assert card.items["3.2.2"] == 0.5 and card.items["3.3.1"] == 4.5 and card.items["1.1.2"] == 0
    assert (card.units["1"], card.units["2"], card.units["3"]) == (7.5, 20, 19.5)
    assert card.total == 94 and card.missing == 0


def test_incomplete_card_shows_what_is_missing_not_a_partial_sum():
    given, findings, recomputed = full_marks()
    del given["2.1.1"]                     # one chosen score missing
    findings["3.2.2"] = "两处"              # one count that is text
    recomputed["1.1.4"] = None             # unit 1 not computable
    card = score_card(given, findings, recomputed, spec=SPEC)
    assert card.units["2"] == missing_text(1) == "尚有1项未评分"
    assert card.units["3"] == "尚有1项未评分" and card.units["1"] == "尚有1项未评分"
    assert card.units["4"] == SPEC.units[3].points
    assert card.total == "尚有3项未评分" and card.missing == 3
    assert card.status["2.1.1"] == STATUS_SCORE and card.status["3.2.2"] == STATUS_FINDINGS_BAD


def test_blank_card_counts_only_unit_1():
    card = score_card(recomputed={i.id: i.points for i in UNIT1}, spec=SPEC)
    assert card.units["1"] == 10
    assert card.missing == len(SPEC.indicators) - len(UNIT1)
    assert card.total == missing_text(card.missing)


def test_review_values_use_the_contract_names():
    card = score_card(*full_marks(), spec=SPEC)
    values = review.review_values("prefecture", card)
    derived = {n.name for n in review_names(SPEC, "prefecture") if n.kind in ("derived", "fixed")}
    assert set(values) == derived
    assert values["rev_prefecture_total"] == 100 and values["rev_prefecture_3_3_1"] == 6
    given, findings = review.entries_by_id("prefecture", {"rev_prefecture_given_3_3_1": 3,
                                                         "rev_prefecture_findings_3_3_1": 1}, SPEC)
    assert given["3.3.1"] == 3 and findings["3.3.1"] == 1 and given["2.1.1"] is None


# ---------------------------------------------------------------- properties

ANY_INPUT = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-10**400, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=6),
    st.sampled_from(["3", "1.5", " ", "", "满分", "2处", "-1"]),
    st.sampled_from([0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4.5, 6, 8, -0.5, 1.004, 2.7]),
)
INDICATORS = st.sampled_from(SPEC.indicators)


def _is_step_multiple(x: float, step: float) -> bool:
    return (Fraction(str(x)) / Fraction(str(step))).denominator == 1


@settings(max_examples=400, deadline=None)
@given(ind=INDICATORS, given_=ANY_INPUT, found=ANY_INPUT, recomputed=ANY_INPUT)
def test_item_score_is_blank_or_a_legal_score(ind, given_, found, recomputed):
    score = item_score(ind, given_, found, recomputed, spec=SPEC)
    status = item_status(ind, given_, found, recomputed, spec=SPEC)
    assert status in {"", STATUS_SCORE, STATUS_FINDINGS, STATUS_RULE, STATUS_FINDINGS_BAD, STATUS_RECOMPUTED,
                      STATUS_NO_DATA}
    assert (score is not None) == (status in ("", STATUS_RECOMPUTED))
    if score is None:
        return
    assert isinstance(score, float) and math.isfinite(score) and 0 <= score <= ind.points
    if ind.rule.type == "deduction":
        assert _is_step_multiple(ind.points - score, ind.rule.step)
    elif ind.rule.type != "per_item_with_deduction":
        assert score in udfs.legal_values(ind, spec=SPEC)
    else:
        assert score in udfs.legal_values(ind, spec=SPEC)      # award − k × deduction_step, floored: a legal value too


@settings(max_examples=200, deadline=None)
@given(found=st.integers(min_value=0, max_value=50))
def test_more_findings_never_score_more(found):
    for ind in (IND("3.2.2"), IND("6.2.3"), IND("3.4.1")):
        assert item_score(ind, findings=found + 1, spec=SPEC) <= item_score(ind, findings=found, spec=SPEC)
    ind = IND("3.3.1")
    for award in review.given_values(ind, spec=SPEC):
        assert item_score(ind, award, found + 1, spec=SPEC) <= item_score(ind, award, found, spec=SPEC) <= award


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_score_card_never_raises_and_totals_add_up(data):
    given = {i.id: data.draw(ANY_INPUT) for i in SPEC.indicators if data.draw(st.booleans())}
    findings = {i.id: data.draw(ANY_INPUT) for i in SPEC.indicators if data.draw(st.booleans())}
    recomputed = {i.id: data.draw(st.sampled_from([None, 0, i.points, 1.0, "2.5"])) for i in UNIT1}
    card = score_card(given, findings, recomputed, spec=SPEC)
    assert card.missing == sum(v is None for v in card.items.values())
    for unit in SPEC.units:
        scores = [card.items[i.id] for i in unit.indicators]
        missing = sum(s is None for s in scores)
        if missing:
            assert card.units[unit.id] == missing_text(missing)
        else:
            assert card.units[unit.id] == udfs.round_excel(sum(scores), SPEC.precision.score)
            assert 0 <= card.units[unit.id] <= unit.points
    if card.missing:
        assert card.total == missing_text(card.missing)
    else:
        assert 0 <= card.total <= SPEC.assessment.total_points
