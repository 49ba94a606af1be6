"""Unit levels and who reviews them (udfs/levels.py): every spelling people use for a level or a reviewer, and
which units each reviewing authority reviews (assessment.toml [level.*] and [reviewer.*])."""
from __future__ import annotations

import pytest

from udfs.levels import covers, find_level, level_of, reviewer_label, reviewer_of, reviewers
from workbook_templates import load_spec

SPEC = load_spec()


# ---------------------------------------------------------------- unit levels

def test_level_by_key_or_label():
    assert level_of("county", SPEC) is level_of("县市区级", SPEC)
    assert level_of("region", SPEC).label == "自治区本级"
    assert level_of(" 地州市级 ", SPEC).key == "prefecture"          # surrounding spaces are not a new level


def test_unknown_level_is_none_or_a_key_error_naming_the_levels():
    for unknown in ("省级", "", None, 3):
        assert find_level(unknown, SPEC) is None
    with pytest.raises(KeyError) as excinfo:
        level_of("省级", SPEC)
    assert excinfo.value.args[0] == "未知的单位层级「省级」，可选：县市区级、地州市级、自治区本级"


# ---------------------------------------------------------------- who reviews what

def test_reviewer_names_come_from_the_spec():
    levels = list(SPEC.assessment.levels.values())
    found = reviewers(SPEC)
    assert [r.key for r in found] == list(SPEC.assessment.reviewers)
    for k, r in enumerate(found):
        assert r.label == SPEC.assessment.reviewers[r.key] == reviewer_label(r.key, SPEC)
        assert r.covers == tuple(lv.label for lv in levels[:k + 1])   # own level and every level before
        for spelling in (r.key, r.label, r.level, r.short, f" {r.short} "):
            assert reviewer_of(spelling, SPEC) == r
    assert [r.short for r in found] == ["县市区", "地州市", "自治区"]   # what the CLI documents
    with pytest.raises(KeyError) as err:
        reviewer_of("省", SPEC)
    assert "县市区、地州市、自治区" in str(err.value)


def test_coverage_by_level_and_region():
    county, prefecture, region = reviewers(SPEC)
    assert covers(county, "县市区级", "哈密市", spec=SPEC) and not covers(county, "地州市级", "哈密市", spec=SPEC)
    assert covers(prefecture, "县市区级", "哈密市", "哈密市", spec=SPEC)
    assert covers(prefecture, "prefecture", "哈密市", "哈密市", spec=SPEC)
    assert not covers(prefecture, "县市区级", "昌吉回族自治州", "哈密市", spec=SPEC)
    assert not covers(prefecture, "自治区本级", "乌鲁木齐市", spec=SPEC)
    assert all(covers(region, lv.label, "任意", spec=SPEC) for lv in SPEC.assessment.levels.values())
    assert not covers(region, "省级", "x", spec=SPEC) and not covers(region, None, "x", spec=SPEC)
