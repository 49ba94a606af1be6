"""Composite scores, ranking with 末位淘汰 and spot-check samples (udfs.ranking, seed deck PART 03)."""
from __future__ import annotations

import math
import random
from itertools import permutations

import pytest

from udfs.ranking import composite_score, elimination_count, level_of, rank_units, spot_check_sample


# ================================================================ composite score

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
    assert composite_score(level, **scores) == expected


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
    assert composite_score(level, **scores) is None


def test_unknown_level_is_a_key_error_in_chinese():
    with pytest.raises(KeyError) as excinfo:
        composite_score("省级", 80, prefecture=90)
    assert excinfo.value.args[0] == "未知的单位层级「省级」，可选：县市区级、地州市级、自治区本级"


def test_level_by_key_or_label():
    assert level_of("county") is level_of("县市区级")
    assert level_of("region").label == "自治区本级"


# ================================================================ elimination count

@pytest.mark.parametrize("n, rounding, expected", [
    (931, "ceil", 47),      # 5 % × 931 = 46.55 → 47 (the deck's 931 units)
    (931, "round", 47),     # 46.55 → 47
    (931, "floor", 46),
    (20, "ceil", 1),        # 5 % × 20 = 1 exactly
    (20, "round", 1),
    (20, "floor", 1),
    (60, "ceil", 3),        # 5 % × 60 = 3 exactly: exact, never a float that ceil pushes to 4
    (60, "round", 3),
    (60, "floor", 3),
    (30, "ceil", 2),        # 1.5 → 2
    (30, "round", 2),       # half up
    (30, "floor", 1),
    (10, "ceil", 1),        # 0.5 → 1: even a small group loses one
    (10, "floor", 0),
    (0, "ceil", 0),
    (1, "ceil", 1),
])
def test_elimination_count(n, rounding, expected):
    assert elimination_count(n, rounding=rounding) == expected


def test_elimination_count_defaults():
    """Spec defaults: ratio 0.05, ceil."""
    assert elimination_count(60) == 3
    assert elimination_count(931) == 47
    assert elimination_count(20) == 1
    assert elimination_count(0) == 0


@pytest.mark.parametrize("n, ratio, exact", [
    (100, 0.07, 7),     # 0.07 * 100 == 7.000000000000001 in floats: ceil would give 8
    (100, 0.55, 55),    # 0.55 * 100 == 55.00000000000001
    (200, 0.07, 14),
])
def test_elimination_count_is_exact_decimal_arithmetic(n, ratio, exact):
    """ratio × n is computed on the decimal ratio, so an exact product is never rounded up by float noise."""
    assert math.ceil(ratio * n) == exact + 1          # the float trap the code must avoid
    assert elimination_count(n, ratio=ratio, rounding="ceil") == exact


# ================================================================ ranking

def table(**scores) -> list[dict]:
    return [{"code": code, "score": score} for code, score in scores.items()]


def view(result) -> list[tuple]:
    return [(r.code, r.rank, r.eliminated, r.tie_at_cut) for r in result]


def test_ranks_with_ties_share_a_rank():
    """95, 90, 90, 85 → ranks 1, 2, 2, 4; ties listed by code; 5 % of 4 = 0.2 → ceil 1: the 85 is eliminated."""
    result = rank_units(table(U4=85, U3=90, U2=90, U1=95))
    assert view(result) == [("U1", 1, False, False), ("U2", 2, False, False), ("U3", 2, False, False),
                            ("U4", 4, True, False)]
    assert [r.score for r in result] == [95.0, 90.0, 90.0, 85.0]
    assert {r.group for r in result} == {"全区"}
    assert result[3].reason == "末位淘汰"
    assert [r.reason for r in result[:3]] == ["", "", ""]


def test_ranking_does_not_depend_on_input_order():
    rows = table(A=70, B=88, C=88, D=91, E=60, F=88, G=75)
    expected = rank_units(rows)
    for perm in permutations(rows):
        assert rank_units(list(perm)) == expected
    assert view(expected) == [("D", 1, False, False), ("B", 2, False, False), ("C", 2, False, False),
                              ("F", 2, False, False), ("G", 5, False, False), ("A", 6, False, False),
                              ("E", 7, True, False)]


def test_bottom_five_percent_of_forty_is_two():
    """40 units, scores 100 − i: 5 % × 40 = 2 → the two lowest (61, 62) are eliminated, no ties."""
    rows = [{"code": f"U{i:02d}", "score": 100 - i} for i in range(1, 41)]
    random.Random(7).shuffle(rows)
    result = rank_units(rows)
    assert [r.code for r in result if r.eliminated] == ["U39", "U40"]
    assert [r.rank for r in result] == list(range(1, 41))
    assert not any(r.tie_at_cut for r in result)


def test_tie_at_the_cut_marks_every_tied_unit():
    """20 units: 5 % × 20 = 1 to eliminate, but the two lowest share 70.

    Both are marked `tie_at_cut` for a person to decide; by default the later code (T20) is the one eliminated.
    """
    rows = [{"code": f"T{i:02d}", "score": 100 - i} for i in range(1, 19)]
    rows += [{"code": "T19", "score": 70}, {"code": "T20", "score": 70}]
    result = {r.code: r for r in rank_units(rows)}
    assert result["T19"].tie_at_cut and result["T20"].tie_at_cut
    assert result["T19"].rank == result["T20"].rank == 19
    assert [c for c, r in result.items() if r.eliminated] == ["T20"]
    assert [c for c, r in result.items() if r.tie_at_cut] == ["T19", "T20"]


def test_tie_entirely_inside_the_eliminated_group_is_no_tie_at_the_cut():
    """40 units → 2 eliminated; the two lowest tie with each other only: the cut is not inside the tie."""
    rows = [{"code": f"U{i:02d}", "score": 100 - i} for i in range(1, 39)]
    rows += [{"code": "U39", "score": 50}, {"code": "U40", "score": 50}]
    result = rank_units(rows)
    assert [r.code for r in result if r.eliminated] == ["U39", "U40"]
    assert not any(r.tie_at_cut for r in result)


def test_units_without_a_score_are_not_ranked_nor_eliminated():
    """20 scored + 3 blank: 5 % × 20 = 1 eliminated (not ceil(5 % × 23) = 2); blanks reported after the ranked."""
    rows = [{"code": f"U{i:02d}", "score": 100 - i} for i in range(1, 21)]
    rows += [{"code": "X1", "score": None}, {"code": "X3", "score": "缺"}, {"code": "X2"}]
    result = rank_units(rows)
    assert [r.code for r in result if r.eliminated] == ["U20"]
    unranked = [r for r in result if r.rank is None]
    assert [r.code for r in unranked] == ["X1", "X2", "X3"]
    assert result[-3:] == unranked
    for r in unranked:
        assert (r.score, r.eliminated, r.tie_at_cut) == (None, False, False)
        assert r.reason == "缺少综合得分，未参与排名"


def test_prefecture_scope_ranks_each_prefecture_separately():
    """Per 地州市: 3 units each → 5 % × 3 = 0.15 → ceil 1 eliminated in each; ranks restart at 1."""
    rows = [{"code": "A1", "score": 95, "prefecture": "哈密市"},
            {"code": "A2", "score": 85, "prefecture": "哈密市"},
            {"code": "A3", "score": 75, "prefecture": "哈密市"},
            {"code": "B1", "score": 90, "prefecture": "吐鲁番市"},
            {"code": "B2", "score": 80, "prefecture": "吐鲁番市"},
            {"code": "B3", "score": 70, "prefecture": "吐鲁番市"}]
    result = rank_units(rows, scope="prefecture")
    by_code = {r.code: r for r in result}
    assert [(c, by_code[c].group, by_code[c].rank) for c in ("A1", "A2", "A3", "B1", "B2", "B3")] == [
        ("A1", "哈密市", 1), ("A2", "哈密市", 2), ("A3", "哈密市", 3),
        ("B1", "吐鲁番市", 1), ("B2", "吐鲁番市", 2), ("B3", "吐鲁番市", 3)]
    assert sorted(r.code for r in result if r.eliminated) == ["A3", "B3"]
    # region scope: one list, 5 % × 6 = 0.3 → 1 eliminated, the lowest of all (70)
    region = rank_units(rows, scope="region")
    assert [r.code for r in region if r.eliminated] == ["B3"]
    assert [r.rank for r in region] == [1, 2, 3, 4, 5, 6]


def test_below_pass_line_eliminated_adds_units_below_80():
    """With the switch on, 79.99 and 75 are 摘牌 as well as the bottom 5 %; 80 is not."""
    rows = [{"code": f"U{i:02d}", "score": 100 - i} for i in range(1, 18)]   # 99 … 83
    rows += [{"code": "U18", "score": 80}, {"code": "U19", "score": 79.99}, {"code": "U20", "score": 75}]
    off = rank_units(rows)
    assert [r.code for r in off if r.eliminated] == ["U20"]
    on = {r.code: r for r in rank_units(rows, below_pass_line_eliminated=True)}
    assert sorted(c for c, r in on.items() if r.eliminated) == ["U19", "U20"]
    assert on["U18"].eliminated is False
    assert on["U19"].reason == "综合得分低于80分"
    assert on["U20"].reason == "末位淘汰；综合得分低于80分"


def test_duplicate_codes_are_refused():
    with pytest.raises(ValueError, match="重复的统一社会信用代码"):
        rank_units([{"code": "U1", "score": 90}, {"code": "U1", "score": 80}])


def test_duplicate_codes_in_different_prefectures_are_refused():
    """A 统一社会信用代码 identifies one unit: listed under two 地州市 it must not be ranked (and 摘牌) twice."""
    rows = [{"code": "U1", "score": 90, "prefecture": "哈密市"},
            {"code": "U1", "score": 80, "prefecture": "吐鲁番市"}]
    with pytest.raises(ValueError, match="重复的统一社会信用代码"):
        rank_units(rows, scope="prefecture")


# ================================================================ spot checks

CODES = [f"C{i:03d}" for i in range(100)]
MANY = [f"C{i:03d}" for i in range(200)]


def test_spot_check_same_seed_same_sample_whatever_the_order():
    sample = spot_check_sample(CODES, 0.10, seed=2023)
    shuffled = CODES[:]
    random.Random(1).shuffle(shuffled)
    assert spot_check_sample(shuffled, 0.10, seed=2023) == sample
    assert spot_check_sample(tuple(reversed(CODES)), 0.10, seed="2023") == sample   # seed 2023 ≡ "2023"


@pytest.mark.parametrize("n, ratio, size", [
    (10, 0.30, 3),      # 0.3 × 10 = 3
    (11, 0.30, 4),      # 0.3 × 11 = 3.3 → at least 30 % → 4
    (100, 0.10, 10),
    (101, 0.10, 11),    # 10.1 → 11
    (7, 0.10, 1),
    (0, 0.30, 0),
    (100, 0.07, 7),     # exact: 0.07 * 100 is 7.000000000000001 in floats
])
def test_spot_check_size_is_at_least_the_ratio(n, ratio, size):
    assert len(spot_check_sample(MANY[:n], ratio, seed=1)) == size


def test_spot_check_sample_is_a_sorted_subset():
    sample = spot_check_sample(CODES, 0.30, seed="哈密市-2023")
    assert set(sample) <= set(CODES)
    assert sample == sorted(sample)
    assert len(set(sample)) == len(sample) == 30


def test_spot_check_different_seeds_differ():
    assert spot_check_sample(CODES, 0.10, seed=2023) != spot_check_sample(CODES, 0.10, seed=2024)


def test_spot_check_counts_each_code_once():
    """Duplicated codes are one unit: 10 distinct codes × 0.3 = 3."""
    assert len(spot_check_sample(CODES[:10] * 2, 0.30, seed=5)) == 3
