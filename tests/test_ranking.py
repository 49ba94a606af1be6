"""Ranking with 末位淘汰 (udfs.ranking, seed deck PART 03): how many are eliminated, ranks and ties, scopes."""
from __future__ import annotations

import math
import random
from itertools import permutations

import pytest

from udfs.ranking import elimination_count, rank_units
from workbook_templates import load_spec

SPEC = load_spec()


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
    assert elimination_count(n, rounding=rounding, spec=SPEC) == expected


def test_elimination_count_defaults():
    """Spec defaults: ratio 0.05, ceil."""
    assert elimination_count(60, spec=SPEC) == 3
    assert elimination_count(931, spec=SPEC) == 47
    assert elimination_count(20, spec=SPEC) == 1
    assert elimination_count(0, spec=SPEC) == 0


@pytest.mark.parametrize("n, ratio, exact", [
    (100, 0.07, 7),     # 0.07 * 100 == 7.000000000000001 in floats: ceil would give 8
    (100, 0.55, 55),    # 0.55 * 100 == 55.00000000000001
    (200, 0.07, 14),
])
def test_elimination_count_is_exact_decimal_arithmetic(n, ratio, exact):
    """ratio × n is computed on the decimal ratio, so an exact product is never rounded up by float noise."""
    assert math.ceil(ratio * n) == exact + 1          # the float trap the code must avoid
    assert elimination_count(n, ratio=ratio, rounding="ceil", spec=SPEC) == exact


# ================================================================ ranking

def table(**scores) -> list[dict]:
    return [{"code": code, "score": score} for code, score in scores.items()]


def view(result) -> list[tuple]:
    return [(r.code, r.rank, r.eliminated, r.tie_at_cut) for r in result]


def test_ranks_with_ties_share_a_rank():
    """95, 90, 90, 85 → ranks 1, 2, 2, 4; ties listed by code; 5 % of 4 = 0.2 → ceil 1: the 85 is eliminated."""
    result = rank_units(table(U4=85, U3=90, U2=90, U1=95), spec=SPEC)
    assert view(result) == [("U1", 1, False, False), ("U2", 2, False, False), ("U3", 2, False, False),
                            ("U4", 4, True, False)]
    assert [r.score for r in result] == [95.0, 90.0, 90.0, 85.0]
    assert {r.group for r in result} == {"全区"}
    assert result[3].reason == "末位淘汰"
    assert [r.reason for r in result[:3]] == ["", "", ""]


def test_ranking_does_not_depend_on_input_order():
    rows = table(A=70, B=88, C=88, D=91, E=60, F=88, G=75)
    expected = rank_units(rows, spec=SPEC)
    for perm in permutations(rows):
        assert rank_units(list(perm), spec=SPEC) == expected
    assert view(expected) == [("D", 1, False, False), ("B", 2, False, False), ("C", 2, False, False),
                              ("F", 2, False, False), ("G", 5, False, False), ("A", 6, False, False),
                              ("E", 7, True, False)]


def test_bottom_five_percent_of_forty_is_two():
    """40 units, scores 100 − i: 5 % × 40 = 2 → the two lowest (61, 62) are eliminated, no ties."""
    rows = [{"code": f"U{i:02d}", "score": 100 - i} for i in range(1, 41)]
    random.Random(7).shuffle(rows)
    result = rank_units(rows, spec=SPEC)
    assert [r.code for r in result if r.eliminated] == ["U39", "U40"]
    assert [r.rank for r in result] == list(range(1, 41))
    assert not any(r.tie_at_cut for r in result)


def test_tie_at_the_cut_marks_every_tied_unit():
    """20 units: 5 % × 20 = 1 to eliminate, but the two lowest share 70.

    Both are marked `tie_at_cut` for a person to decide; by default the later code (T20) is the one eliminated.
    """
    rows = [{"code": f"T{i:02d}", "score": 100 - i} for i in range(1, 19)]
    rows += [{"code": "T19", "score": 70}, {"code": "T20", "score": 70}]
    result = {r.code: r for r in rank_units(rows, spec=SPEC)}
    assert result["T19"].tie_at_cut and result["T20"].tie_at_cut
    assert result["T19"].rank == result["T20"].rank == 19
    assert [c for c, r in result.items() if r.eliminated] == ["T20"]
    assert [c for c, r in result.items() if r.tie_at_cut] == ["T19", "T20"]


def test_tie_entirely_inside_the_eliminated_group_is_no_tie_at_the_cut():
    """40 units → 2 eliminated; the two lowest tie with each other only: the cut is not inside the tie."""
    rows = [{"code": f"U{i:02d}", "score": 100 - i} for i in range(1, 39)]
    rows += [{"code": "U39", "score": 50}, {"code": "U40", "score": 50}]
    result = rank_units(rows, spec=SPEC)
    assert [r.code for r in result if r.eliminated] == ["U39", "U40"]
    assert not any(r.tie_at_cut for r in result)


def test_units_without_a_score_are_not_ranked_nor_eliminated():
    """20 scored + 3 blank: 5 % × 20 = 1 eliminated (not ceil(5 % × 23) = 2); blanks reported after the ranked."""
    rows = [{"code": f"U{i:02d}", "score": 100 - i} for i in range(1, 21)]
    rows += [{"code": "X1", "score": None}, {"code": "X3", "score": "缺"}, {"code": "X2"}]
    result = rank_units(rows, spec=SPEC)
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
    result = rank_units(rows, scope="prefecture", spec=SPEC)
    by_code = {r.code: r for r in result}
    assert [(c, by_code[c].group, by_code[c].rank) for c in ("A1", "A2", "A3", "B1", "B2", "B3")] == [
        ("A1", "哈密市", 1), ("A2", "哈密市", 2), ("A3", "哈密市", 3),
        ("B1", "吐鲁番市", 1), ("B2", "吐鲁番市", 2), ("B3", "吐鲁番市", 3)]
    assert sorted(r.code for r in result if r.eliminated) == ["A3", "B3"]
    # region scope: one list, 5 % × 6 = 0.3 → 1 eliminated, the lowest of all (70)
    region = rank_units(rows, scope="region", spec=SPEC)
    assert [r.code for r in region if r.eliminated] == ["B3"]
    assert [r.rank for r in region] == [1, 2, 3, 4, 5, 6]


def test_below_pass_line_eliminated_adds_units_below_80():
    """With the switch on, 79.99 and 75 are 摘牌 as well as the bottom 5 %; 80 is not."""
    rows = [{"code": f"U{i:02d}", "score": 100 - i} for i in range(1, 18)]   # 99 … 83
    rows += [{"code": "U18", "score": 80}, {"code": "U19", "score": 79.99}, {"code": "U20", "score": 75}]
    off = rank_units(rows, spec=SPEC)
    assert [r.code for r in off if r.eliminated] == ["U20"]
    on = {r.code: r for r in rank_units(rows, below_pass_line_eliminated=True, spec=SPEC)}
    assert sorted(c for c, r in on.items() if r.eliminated) == ["U19", "U20"]
    assert on["U18"].eliminated is False
    assert on["U19"].reason == "综合得分低于80分"
    assert on["U20"].reason == "末位淘汰；综合得分低于80分"


def test_duplicate_codes_are_refused():
    with pytest.raises(ValueError, match="重复的统一社会信用代码"):
        rank_units([{"code": "U1", "score": 90}, {"code": "U1", "score": 80}], spec=SPEC)


def test_duplicate_codes_in_different_prefectures_are_refused():
    """A 统一社会信用代码 identifies one unit: listed under two 地州市 it must not be ranked (and 摘牌) twice."""
    rows = [{"code": "U1", "score": 90, "prefecture": "哈密市"},
            {"code": "U1", "score": 80, "prefecture": "吐鲁番市"}]
    with pytest.raises(ValueError, match="重复的统一社会信用代码"):
        rank_units(rows, scope="prefecture", spec=SPEC)
