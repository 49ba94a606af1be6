"""Assumptions shown where they bite (issue 12 §1, §5): the indicator texts quote the year's targets, the decline
rule (round, then compare) is said on the 强度指标下降率 sheet and kept as an open question in the spec, and the
4.2 公务接待 items tell a unit without any reception what to do — in its workbook and in the reviewer's pack.
"""
from __future__ import annotations

import dataclasses

from hypothesis import given, strategies as st

import generator
from generator.layout import _method
from generator.review_layout import _method as review_method
from generator.wording import indicator_text
from udfs import decline_ok, round_excel
from workbook_templates import load_spec

SPEC = load_spec()
YEAR = SPEC.default_year


def _plan(spec=SPEC, standard=None):
    return generator.build_plan(spec, YEAR, SPEC.year(YEAR).preset, standard=standard)


def test_the_decline_sheet_says_it_rounds_then_compares():
    """−1.3951 % rounds to −1.40 % (2 places), and −1.40 ≤ −1.40 meets the 2023 人均综合能耗 target: the note gives
    exactly this example, worked out from the spec's precision and target."""
    assert round_excel(-1.3951, SPEC.precision.change_pct) == -1.40
    assert decline_ok(round_excel(-1.3951, 2), SPEC.year(YEAR).targets["energy_per_capita"]) is True
    note = _plan().sheet("强度指标下降率").cells["A2"].value
    assert "变化率先四舍五入保留2位小数，再与目标比较" in note
    assert "人均综合能耗变化率 −1.3951% 记为 −1.40%，视为完成 −1.40% 的目标" in note
    assert "round" not in SPEC.decline.question and "课件未说明" in SPEC.decline.question   # an open question


def test_under_the_gate_the_note_says_every_target_must_be_met():
    note = _plan(standard="gbt29118-2023").sheet("强度指标下降率").cells["A2"].value
    assert "四项目标须全部完成（符合性要求），有一项未完成即不达标" in note


def test_reception_items_tell_a_unit_without_receptions_what_to_do():
    for ind in (i for i in SPEC.indicators if i.na_full_award == "unknown"):
        for text in (_method(ind, SPEC), review_method(ind, SPEC)):
            assert "本年度没有发生此项事务的（如全年没有公务接待），请在「佐证材料说明」中写明" in text, ind.id
            assert "是否得分由评审部门认定" in text
    cells = [c.value for c in _plan().sheet("自评表").cells.values() if isinstance(c.value, str)]
    unknown = [i.id for i in SPEC.indicators if i.na_full_award == "unknown"]
    assert unknown[:4] == ["4.2.1", "4.2.2", "4.2.3", "4.2.4"]
    assert sum("佐证材料说明」中写明" in t for t in cells) == len(unknown)
    assert "4.2" in SPEC.not_applicable.question


def test_the_gate_version_is_marked_unverified_for_administrators_only():
    gate = SPEC.standards["gbt29118-2023"]
    assert gate.gate and gate.provenance == "inferred" and "未经 GB/T 29118-2023 正式文本核实" in gate.flag
    assert not SPEC.standards["xj-2023"].gate


@given(st.lists(st.integers(min_value=-999, max_value=0).map(lambda n: n / 100), min_size=4, max_size=4))
def test_indicator_texts_quote_any_years_targets(values):
    year = SPEC.year(YEAR)
    targets = dict(zip(("energy_per_capita", "energy_per_area", "water_per_capita", "co2_per_area"),
                       values))
    spec = dataclasses.replace(SPEC, years={YEAR: dataclasses.replace(year, targets=targets)})
    for ind in (i for i in SPEC.indicators if i.rule.type == "computed_target"):
        text = indicator_text(ind, spec, YEAR)
        assert f"下降{abs(targets[ind.rule.metric]):.2f}%以上" in text and "{" not in text
