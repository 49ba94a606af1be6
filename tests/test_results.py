"""Results of a re-verification (udfs/results.py, seed deck PART 03): the composite by hand, reviewer scores into
the composite, 待评审, the 自治区 re-check, ranking and 摘牌 — worked examples with their arithmetic, and properties
for bad inputs; and the checks of a returned scorecard or pack, whatever was typed into it."""
from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings, strategies as st

from udfs.results import (NOT_RANKED, REVIEWED, WAITING, UnitScores, composite_score, counted_scores,
                          review_results)
from udfs.review import given_values
from udfs.review_checks import check_pack, check_scorecard, is_blank
from workbook_templates import load_spec
from workbook_templates.review_names import findings_name, given_name, score_name, total_name

SPEC = load_spec()
COUNTY, PREFECTURE, REGION = (SPEC.assessment.levels[k].label for k in ("county", "prefecture", "region"))


def one(unit: UnitScores, spec=SPEC):
    return review_results([unit], spec=spec)[0]


# ---------------------------------------------------------------- the composite score by hand

@pytest.mark.parametrize("level, scores, expected", [
    # 县市区级: 0.1 × 自评 + 0.3 × 县 + 0.6 × 地州市 = 0.1×80 + 0.3×85 + 0.6×90 = 8 + 25.5 + 54 = 87.5
    ("county", dict(self_score=80, county=85, prefecture=90), 87.5),
    ("县市区级", dict(self_score=80, county=85, prefecture=90), 87.5),
    # 0.1×83 + 0.3×87 + 0.6×91 = 8.3 + 26.1 + 54.6 = 89 (float sums to 88.99999…: ROUNDed)
    ("county", dict(self_score=83, county=87, prefecture=91), 89.0),
    # 地州市级: 0.2 × 自评 + 0.8 × 地州市 = 0.2×90 + 0.8×70 = 18 + 56 = 74
    ("prefecture", dict(self_score=90, prefecture=70), 74.0),
    ("地州市级", dict(self_score=90, prefecture=70), 74.0),
    # 0.2×88.33 + 0.8×77.77 = 17.666 + 62.216 = 79.882 → 79.88
    ("prefecture", dict(self_score=88.33, prefecture=77.77), 79.88),
    # 自治区本级: 0.2 × 自评 + 0.8 × 自治区 = 0.2×85 + 0.8×95 = 17 + 76 = 93
    ("region", dict(self_score=85, region=95), 93.0),
    ("自治区本级", dict(self_score=85, region=95), 93.0),
    # scores the level does not weigh are ignored: 0.2×90 + 0.8×70 = 74 whatever the county said
    ("prefecture", dict(self_score=90, county=10, prefecture=70, region=0), 74.0),
    # the range ends are allowed: 0.2×100 + 0.8×0 = 20
    ("prefecture", dict(self_score=100, prefecture=0), 20.0),
])
def test_composite_score(level, scores, expected):
    assert composite_score(level, **scores, spec=SPEC) == expected


@pytest.mark.parametrize("level, scores", [
    ("county", dict(self_score=80, prefecture=90)),              # 县 score missing
    ("county", dict(self_score=None, county=85, prefecture=90)),  # 自评 missing
    ("prefecture", dict(self_score=90, county=70)),              # 地州市 score missing
    ("region", dict(self_score=90, prefecture=70)),              # 自治区 score missing
    ("prefecture", dict(self_score=101, prefecture=70)),         # above 100
    ("prefecture", dict(self_score=90, prefecture=-1)),          # below 0
    ("prefecture", dict(self_score="90", prefecture=70)),        # text
    ("prefecture", dict(self_score="优秀", prefecture=70)),
    ("prefecture", dict(self_score=True, prefecture=70)),        # a boolean is not a score
    ("prefecture", dict(self_score=float("nan"), prefecture=70)),
])
def test_composite_score_blank(level, scores):
    assert composite_score(level, **scores, spec=SPEC) is None


def test_unknown_level_is_a_key_error_in_chinese():
    with pytest.raises(KeyError) as excinfo:
        composite_score("省级", 80, prefecture=90, spec=SPEC)
    assert excinfo.value.args[0] == "未知的单位层级「省级」，可选：县市区级、地州市级、自治区本级"


# ---------------------------------------------------------------- the composite by level

def test_county_level_unit():
    # 0.1 × 80 + 0.3 × 85 + 0.6 × 90 = 8 + 25.5 + 54 = 87.5
    r = one(UnitScores("A", COUNTY, "昌吉回族自治州", 80, {"county": 85, "prefecture": 90}))
    assert (r.state, r.composite, r.rank, r.below_pass) == (REVIEWED, 87.5, 1, False)
    assert r.used == {"self": 80, "county": 85, "prefecture": 90}


def test_prefecture_level_unit():
    # 0.2 × 80 + 0.8 × 90 = 16 + 72 = 88
    assert one(UnitScores("B", PREFECTURE, "哈密市", 80, {"prefecture": 90})).composite == 88


def test_region_level_unit_below_the_pass_line():
    # 0.2 × 70 + 0.8 × 75 = 14 + 60 = 74 < 80: 不达标, reported apart from 摘牌
    r = one(UnitScores("C", REGION, "乌鲁木齐市", 70, {"region": 75}))
    assert (r.composite, r.below_pass, r.eliminated) == (74, True, True)   # the only unit: ceil(5 % × 1) = 1


# ---------------------------------------------------------------- 待评审: never a 0

def test_a_missing_reviewer_score_is_waiting_not_zero():
    r = one(UnitScores("A", COUNTY, "昌吉回族自治州", 80, {"county": 85}))
    assert (r.state, r.composite, r.waiting, r.rank) == (WAITING, None, ("prefecture",), None)


def test_an_unfinished_scorecard_is_waiting():
    r = one(UnitScores("A", COUNTY, "昌吉回族自治州", 80, {"county": 85, "prefecture": None}))
    assert (r.state, r.waiting) == (WAITING, ("prefecture",))


def test_a_unit_without_a_self_total_is_waiting():
    assert one(UnitScores("A", PREFECTURE, "哈密市", None, {"prefecture": 90})).state == WAITING


# ---------------------------------------------------------------- the 自治区 re-check

def test_a_region_recheck_replaces_the_prefecture_score():
    # replace_top: 0.1 × 80 + 0.3 × 85 + 0.6 × 70 = 8 + 25.5 + 42 = 75.5 (not 87.5 with 地州市's 90)
    r = one(UnitScores("A", COUNTY, "昌吉回族自治州", 80, {"county": 85, "prefecture": 90, "region": 70}))
    assert SPEC.assessment.recheck.rule == "replace_top"
    assert r.composite == 75.5 and r.used["prefecture"] == 70 and "替代" in r.recheck and "90" in r.recheck


def test_a_region_recheck_stands_in_for_a_missing_prefecture_score():
    # 0.2 × 80 + 0.8 × 95 = 16 + 76 = 92
    r = one(UnitScores("B", PREFECTURE, "哈密市", 80, {"region": 95}))
    assert (r.state, r.composite) == (REVIEWED, 92) and "尚未评分" in r.recheck


def test_an_unfinished_recheck_does_not_replace_anything():
    r = one(UnitScores("A", COUNTY, "昌吉回族自治州", 80, {"county": 85, "prefecture": 90, "region": None}))
    assert r.composite == 87.5 and r.recheck == "" and r.not_counted == ("region",)


def test_with_the_rule_none_a_recheck_is_shown_not_counted():
    spec = dataclasses.replace(SPEC, assessment=dataclasses.replace(
        SPEC.assessment, recheck=dataclasses.replace(SPEC.assessment.recheck, rule="none")))
    r = one(UnitScores("A", COUNTY, "昌吉回族自治州", 80, {"county": 85, "prefecture": 90, "region": 70}), spec)
    assert r.composite == 87.5 and r.not_counted == ("region",) and r.recheck == ""


def test_a_score_from_a_reviewer_that_does_not_weigh_the_unit_is_not_counted():
    # a 县市区 reviewer scored a 地州市级 unit: 0.2 × 80 + 0.8 × 90 = 88, the 60 is shown only
    used, waiting, not_counted, _ = counted_scores(UnitScores("B", PREFECTURE, "哈密市", 80,
                                                              {"county": 60, "prefecture": 90}), SPEC)
    assert used == {"self": 80, "prefecture": 90} and not_counted == ("county",) and waiting == ()


# ---------------------------------------------------------------- ranking and 摘牌

def field_of(n: int, region: str = "昌吉回族自治州", start: int = 0) -> list[UnitScores]:
    """n 地州市级 units with composites 0.2 × s + 0.8 × s = s for s = 99, 98, …"""
    return [UnitScores(f"U{start + i:03d}", PREFECTURE, region, 99 - i, {"prefecture": 99 - i}) for i in range(n)]


def test_bottom_five_percent_rounded_up_are_eliminated():
    # 21 ranked units: ceil(5 % × 21) = ceil(1.05) = 2 → the two lowest, 80 and 79 (79 is also 不达标)
    results = review_results(field_of(21), spec=SPEC)
    out = [r for r in results if r.eliminated]
    assert [(r.code, r.composite, r.rank) for r in out] == [("U019", 80, 20), ("U020", 79, 21)]
    assert [r.code for r in results if r.below_pass] == ["U020"]


def test_waiting_and_erroneous_units_are_never_ranked_nor_eliminated():
    units = field_of(20) + [UnitScores("W", PREFECTURE, "哈密市", 10, {}),
                            UnitScores("E", PREFECTURE, "哈密市", 10, {"prefecture": 10}, ranked=False)]
    results = {r.code: r for r in review_results(units, spec=SPEC)}
    assert (results["W"].state, results["W"].eliminated, results["W"].rank) == (WAITING, False, None)
    assert (results["E"].state, results["E"].eliminated, results["E"].rank) == (NOT_RANKED, False, None)
    assert sum(r.eliminated for r in results.values()) == 1        # ceil(5 % × 20) = 1: the ranked 20 only


def test_ties_at_the_cut_are_flagged_for_a_person():
    # 20 units, the last two both 81: ceil(5 % × 20) = 1 falls inside the tie → both flagged
    units = field_of(19) + [UnitScores("T", PREFECTURE, "昌吉回族自治州", 81, {"prefecture": 81})]
    results = {r.code: r for r in review_results(units, spec=SPEC)}
    assert results["T"].composite == results["U018"].composite == 81
    assert results["T"].tie_at_cut and results["U018"].tie_at_cut and results["T"].rank == results["U018"].rank


def test_per_prefecture_scope_ranks_each_region_apart():
    units = field_of(3, "哈密市") + field_of(3, "昌吉回族自治州", start=100)
    results = review_results(units, scope="prefecture", spec=SPEC)
    assert [r.rank for r in results] == [1, 2, 3, 1, 2, 3]
    assert [r.code for r in results if r.eliminated] == ["U002", "U102"]   # ceil(5 % × 3) = 1 in each


def test_results_follow_the_input_order():
    units = field_of(5)[::-1]
    assert [r.code for r in review_results(units, spec=SPEC)] == [u.code for u in units]


# ---------------------------------------------------------------- bad inputs

scores = st.one_of(st.none(), st.just(""), st.text(max_size=5), st.floats(allow_nan=True, allow_infinity=True),
                   st.integers(-10**6, 10**6), st.booleans())


@settings(max_examples=200, deadline=None)
@given(self_total=scores, county=scores, prefecture=scores, region=scores)
def test_any_scores_give_a_result_and_never_a_made_up_composite(self_total, county, prefecture, region):
    r = one(UnitScores("A", COUNTY, "昌吉回族自治州", self_total,
                       {"county": county, "prefecture": prefecture, "region": region}))
    if r.composite is not None:
        assert r.state == REVIEWED and 0 <= r.composite <= SPEC.assessment.total_points
    else:
        assert r.state == WAITING and r.rank is None and not r.eliminated


def test_an_unknown_level_names_the_levels():
    with pytest.raises(KeyError, match="县市区级"):
        counted_scores(UnitScores("A", "乡镇级", "", 80, {}), SPEC)
    r = one(UnitScores("A", "乡镇级", "", 80, {"county": 90}))       # in a batch: that unit only, not ranked
    assert (r.state, r.composite, r.rank) == (NOT_RANKED, None, None) and "乡镇级" in r.reason


# ---------------------------------------------------------------- a returned scorecard, whatever was typed

typed = st.one_of(st.none(), st.just(""), st.text(max_size=6), st.floats(allow_nan=True, allow_infinity=True),
                  st.integers(-5, 50), st.booleans(), st.sampled_from([0.5, 1, 1.5, 2, 3, 4.5, 6]))
SCORED = [i for i in SPEC.indicators if i.rule.type != "computed_target"]


@settings(max_examples=150, deadline=None)
@given(data=st.data(), level=st.sampled_from(list(SPEC.assessment.reviewers)))
def test_any_scorecard_is_scored_without_raising_and_only_legal_values_count(data, level):
    values = {}
    for ind in SCORED:
        values[given_name(level, ind.id)] = data.draw(typed)
        values[findings_name(level, ind.id)] = data.draw(typed)
    values[total_name(level)] = data.draw(typed)                   # a cached total: whatever the file says
    checked = check_scorecard(level, values, {}, "「甲局」（代码）", {}, SPEC)
    assert {f.code for f in checked.findings} <= {"R601", "R602", "R603"}
    for ind in SCORED:
        score = checked.card.items[ind.id]
        assert score is None or 0 <= score <= ind.points
        if ind.rule.type not in ("deduction", "per_item_with_deduction") and score is not None:
            assert score in given_values(ind, spec=SPEC)
    assert (checked.card.missing == 0) == isinstance(checked.card.total, float)


def test_an_untouched_scorecard_is_blank_and_one_with_a_name_is_not():
    assert is_blank("county", {score_name("county", "1.1.1"): 2.5}, SPEC)   # unit 1 is locked, not typed
    assert not is_blank("county", {"rev_reviewer": "王某"}, SPEC)


@settings(max_examples=100, deadline=None)
@given(meta=st.dictionaries(st.sampled_from(["review_level", "assessment_year", "spec_digest"]), typed))
def test_any_pack_meta_is_checked_without_raising(meta):
    codes = {f.code for f in check_pack(meta, SPEC, SPEC.default_year, SPEC.digest)}
    assert codes <= {"R606", "F111", "F112"}
    assert ("R606" in codes) == (meta.get("review_level") not in SPEC.assessment.reviewers)
