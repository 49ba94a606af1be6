"""Spot-check lists (`udfs.spot_checks`, `jieyue spot-check`): per 地区 over the 县市区级 units and
region-wide over all units, at the spec's ratios rounded up, reproducible from the seed — and the method printed
on the sheet really redoes them.
"""
from __future__ import annotations

import math
import random
import re
from fractions import Fraction
from pathlib import Path

import openpyxl
import pytest

from addin import cli
from addin.review.spot_list import draw_spot_check, spot_check_workbook
from udfs.spot_checks import spot_check_groups, spot_check_marks, spot_check_sample
from workbook_templates import load_spec

from tests.reviews import BAD, CHANGJI, SEED, UNITS, write_returns

SPEC = load_spec()
SC = SPEC.assessment.spot_check
COUNTY, PREFECTURE, REGION = (lv.label for lv in SPEC.assessment.levels.values())


def synthetic_units() -> list[dict]:
    """22 units: 7 county-level in A, 10 in B, 3 prefecture-level, 2 region-level."""
    units = [{"code": f"A{k:02d}", "level": COUNTY, "region": "甲地区"} for k in range(7)]
    units += [{"code": f"B{k:02d}", "level": COUNTY, "region": "乙地区"} for k in range(10)]
    units += [{"code": f"P{k:02d}", "level": PREFECTURE, "region": "甲地区"} for k in range(3)]
    units += [{"code": f"R{k:02d}", "level": REGION, "region": "首府"} for k in range(2)]
    return units


def ceil_count(ratio: float, n: int) -> int:
    return math.ceil(Fraction(str(ratio)) * n)


def test_counts_are_the_ratios_of_the_spec_rounded_up():
    groups = spot_check_groups(synthetic_units(), 7, SPEC)
    assert [(g.scope, g.region, len(g.population), len(g.sample)) for g in groups] == [
        ("prefecture_over_county", "乙地区", 10, ceil_count(SC.prefecture_over_county, 10)),
        ("prefecture_over_county", "甲地区", 7, ceil_count(SC.prefecture_over_county, 7)),
        ("region_over_all", None, 22, ceil_count(SC.region_over_all, 22)),
    ]
    assert SC.rounding == "ceil"
    # With the shipped ratios (30 %, 10 %): 10 → 3, 7 → ceil(2.1) = 3, 22 → ceil(2.2) = 3.
    assert (SC.prefecture_over_county, SC.region_over_all) == (0.30, 0.10)
    assert [len(g.sample) for g in groups] == [3, 3, 3]


def test_each_list_draws_from_its_own_population():
    units = synthetic_units()
    for g in spot_check_groups(units, 11, SPEC):
        assert set(g.sample) <= set(g.population) and list(g.sample) == sorted(g.sample)
        if g.scope == "prefecture_over_county":
            assert {u["code"] for u in units if u["level"] == COUNTY and u["region"] == g.region} == set(g.population)
        else:
            assert set(g.population) == {u["code"] for u in units}


def test_same_seed_same_lists_whatever_the_order():
    units = synthetic_units()
    shuffled = list(units)
    random.Random(1).shuffle(shuffled)
    assert spot_check_groups(units, SEED, SPEC) == spot_check_groups(shuffled, SEED, SPEC)
    # a unit counts once
    assert spot_check_groups(units, SEED, SPEC) == spot_check_groups(units + units[:3], SEED, SPEC)
    assert len({tuple(g.sample for g in spot_check_groups(units, s, SPEC)) for s in range(20)}) > 1


def test_the_printed_method_redoes_the_lists():
    """The method the sheet describes: sort the codes, random.Random("<seed>").sample(codes, ceil(ratio × n)), sort."""
    units = synthetic_units()
    for g in spot_check_groups(units, 2023, SPEC):
        k = ceil_count(g.ratio, len(g.population))
        assert list(g.sample) == sorted(random.Random("2023").sample(sorted(g.population), k))


def test_markers_name_the_lists():
    groups = spot_check_groups(synthetic_units(), 5, SPEC)
    marks = spot_check_marks(groups)
    for g in groups:
        for code in g.sample:
            assert g.marker in marks[code]
    assert {g.marker for g in groups} == {"地州市抽查", "自治区抽查"}


def test_unknown_levels_and_blank_regions_do_not_break_it():
    units = [{"code": "X1", "level": "省级", "region": "甲"}, {"code": "X2", "level": None, "region": None},
             {"code": "X3", "level": COUNTY, "region": " "}]
    groups = spot_check_groups(units, 1, SPEC)
    assert [g.region for g in groups] == ["（未填地区）", None]
    assert spot_check_groups([], 1, SPEC) == []


# ---------------------------------------------------------------- one sample (spot_check_sample)

CODES = [f"C{i:03d}" for i in range(100)]
MANY = [f"C{i:03d}" for i in range(200)]


def test_spot_check_same_seed_same_sample_whatever_the_order():
    sample = spot_check_sample(CODES, 0.10, seed=2023, spec=SPEC)
    shuffled = CODES[:]
    random.Random(1).shuffle(shuffled)
    assert spot_check_sample(shuffled, 0.10, seed=2023, spec=SPEC) == sample
    assert spot_check_sample(tuple(reversed(CODES)), 0.10, seed="2023", spec=SPEC) == sample   # seed 2023 ≡ "2023"


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
    assert len(spot_check_sample(MANY[:n], ratio, seed=1, spec=SPEC)) == size


def test_spot_check_sample_is_a_sorted_subset():
    sample = spot_check_sample(CODES, 0.30, seed="哈密市-2023", spec=SPEC)
    assert set(sample) <= set(CODES)
    assert sample == sorted(sample)
    assert len(set(sample)) == len(sample) == 30


def test_spot_check_different_seeds_differ():
    assert spot_check_sample(CODES, 0.10, seed=2023, spec=SPEC) != spot_check_sample(CODES, 0.10, seed=2024, spec=SPEC)


def test_spot_check_counts_each_code_once():
    """Duplicated codes are one unit: 10 distinct codes × 0.3 = 3."""
    assert len(spot_check_sample(CODES[:10] * 2, 0.30, seed=5, spec=SPEC)) == 3


# ---------------------------------------------------------------- the command and its workbook

@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return write_returns(tmp_path_factory.mktemp("returns") / "回收的工作簿")


def _text(path: Path) -> str:
    wb = openpyxl.load_workbook(path, read_only=True)
    return "\n".join(str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row if c)


def test_cli_writes_the_lists_with_seed_ratios_counts_and_method(folder, tmp_path, capsys):
    out = tmp_path / "抽查名单.xlsx"
    assert cli.main(["spot-check", str(folder), "--seed", str(SEED), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    check = draw_spot_check(folder, SEED, spec=SPEC)
    assert str(out) in printed and str(SEED) in printed
    text = _text(out)
    assert f"随机种子：{SEED}" in text and "jieyue spot-check" in text and "向上取整" in text
    assert not re.search(r"random\.Random|sorted|udfs\.|assessment\.toml", text), "the method in plain words"
    assert "30%" in text and "10%" in text
    wb = openpyxl.load_workbook(out)
    ws = wb["抽查名单"]
    rows = [r for r in ws.iter_rows(values_only=True)]
    counts = {r[0]: (r[2], r[3]) for r in rows if r and r[0] in {g.title for g in check.groups} and
              isinstance(r[2], int)}
    assert counts == {g.title: (len(g.population), len(g.sample)) for g in check.groups}
    listed = [(r[0], r[3]) for r in rows if r and isinstance(r[1], int) and r[0] in counts and isinstance(r[3], str)]
    assert listed == [(g.title, code) for g in check.groups for code in g.sample]
    codes = {u.code for u in UNITS}
    assert {g.scope for g in check.groups} == {"prefecture_over_county", "region_over_all"}
    assert set(check.groups[-1].population) == codes             # every consolidated unit, the one with errors too
    changji = next(g for g in check.groups if g.region == CHANGJI)
    assert BAD.code in changji.population
    everyone = [r for r in wb["抽查总体"].iter_rows(min_row=2, values_only=True)]
    assert sorted(r[1] for r in everyone) == sorted(codes)
    assert any("有错误" in r[-1] for r in everyone if r[1] == BAD.code)
    assert not list(tmp_path.glob("~$jieyue-*"))


def test_same_seed_same_bytes_other_seed_other_lists(folder):
    a, b = draw_spot_check(folder, SEED, spec=SPEC), draw_spot_check(folder, SEED, spec=SPEC)
    assert spot_check_workbook(a, SPEC) == spot_check_workbook(b, SPEC)
    others = [draw_spot_check(folder, s, spec=SPEC).groups for s in (1, 2, 3)]
    assert any(o != a.groups for o in others)


def test_output_inside_the_returns_folder_is_not_read_as_a_return(folder, capsys):
    out = folder / "抽查名单.xlsx"
    try:
        assert cli.main(["spot-check", str(folder), "--seed", "1", "-o", str(out)]) == 0
        assert cli.main(["spot-check", str(folder), "--seed", "1", "-o", str(out)]) == 0
        assert len(draw_spot_check(folder, 1, spec=SPEC).units) == len(UNITS)     # the list itself is no return
    finally:
        out.unlink(missing_ok=True)


def test_cli_requires_a_seed_and_an_xlsx(folder, tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli.main(["spot-check", str(folder), "-o", str(tmp_path / "x.xlsx")])
    assert cli.main(["spot-check", str(folder), "--seed", "1", "-o", str(tmp_path / "x.csv")]) == 2
    assert ".xlsx" in capsys.readouterr().err
    # A missing returns folder is the user's to fix (InputError): exit 2, the folder named.
    assert cli.main(["spot-check", str(tmp_path / "无此目录"), "--seed", "1", "-o", str(tmp_path / "x.xlsx")]) == 2
    err = capsys.readouterr().err
    assert "不存在" in err and "无此目录" in err
