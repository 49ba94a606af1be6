"""The workbook's new status cells in a real engine (issue 12 §1, §4, §5): LibreOffice recalculates a few filled
workbooks and every cell is compared with `udfs/`.

- 强度指标下降率 「结果」: 达标 / 未达标 as `udfs.evaluate` says, or 「无法计算：…」 exactly as
  `udfs.decline.decline_blocker` words the first thing that blocks the change (people 0, an area typed as text,
  an earlier water use of 0, a year without energy);
- 自评表: each unit-1 row's 提示 repeats that reason while its score is blank; the completeness line says how many
  items are still unscored (「自评未完成：尚有3项…」) or 「自评已完成」;
- a workbook made for the gate version of the standard (gbt29118-2023): self_pass is FALSE when a decline target
  is missed, whatever the total, and the total decides when all are met — as `udfs.evaluate(standard=…)`;
- no cell anywhere holds an error value, and every named figure equals `udfs.evaluate`.

Eight small files, one LibreOffice call.
"""
from __future__ import annotations

from typing import Any

import pytest

import generator
import udfs
from udfs.decline import decline_blocker
from workbook_templates import load_spec

from tests.libreoffice import recalculate
from tests.workbooks import complete_unit, is_error, plain, read_values, same_value

pytestmark = pytest.mark.libreoffice

SPEC = load_spec()
YEAR = SPEC.default_year
YEARS = SPEC.year(YEAR)
PRESET = YEARS.preset
GATE = "gbt29118-2023"
FULL = complete_unit()
NO_ENERGY = {f"cur_{i.name}": None for i in SPEC.items if i.factor_of}
UNSCORED = ("self_2_1_1", "self_4_2_1", "self_8_2_3")


def _met_everywhere() -> dict[str, Any]:
    """The sample unit with every 2022 consumption 10 % below 2021: each decline about −10 % → all four met."""
    out = dict(FULL)
    for item in SPEC.items:
        if item.factor_of or item.key == "water":
            v = FULL.get(f"prev_{item.name}")
            out[f"cur_{item.name}"] = None if v is None else round(v * 0.9, 2)
    return out


def _missed_one() -> dict[str, Any]:
    """The sample unit using 20 % more electricity in 2022: 人均综合能耗 rises, its target is missed."""
    return {**FULL, "cur_electricity_kwh": round(FULL["prev_electricity_kwh"] * 1.2)}


STATES: dict[str, tuple[str | None, dict[str, Any]]] = {
    "all_blank": (None, {}),
    "complete": (None, FULL),
    "zero_people": (None, {**FULL, "cur_people": 0}),
    "area_as_text": (None, {**FULL, "prev_area_m2": "一万二"}),
    "prev_water_zero": (None, {**FULL, "prev_water_m3": 0}),
    "no_energy_2022": (None, {k: v for k, v in {**FULL, **NO_ENERGY}.items() if v is not None}),
    "three_unscored": (None, {k: v for k, v in FULL.items() if k not in UNSCORED}),
    "gate_missed": (GATE, _missed_one()),
    "gate_met": (GATE, _met_everywhere()),
}


def _template(standard: str | None) -> bytes:
    return generator.template_bytes(SPEC, YEAR, PRESET, standard=standard)


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> dict[str, dict[tuple[str, str], Any]]:
    src = tmp_path_factory.mktemp("status")
    templates = {s: _template(s) for s in {s for s, _ in STATES.values()}}
    files = []
    for label, (standard, inputs) in STATES.items():
        path = src / f"{label}.xlsx"
        path.write_bytes(generator.fill_workbook(templates[standard], inputs))
        files.append(path)
    out = recalculate(files, tmp_path_factory.mktemp("status_out"))
    return {label: read_values(p) for label, p in zip(STATES, out)}


def _plan(standard: str | None):
    return generator.build_plan(SPEC, YEAR, PRESET, standard=standard)


def _named(cells, standard: str | None) -> dict[str, Any]:
    return {name: cells.get((sheet.title, ref)) for name, (sheet, ref) in _plan(standard).named().items()}


def _decline_status(cells, standard: str | None) -> dict[str, str]:
    sheet = _plan(standard).sheet("强度指标下降率")
    return {i.key: plain(cells.get((sheet.title, f"G{r}"))) for r, i in enumerate(SPEC.decline_intensities, start=4)}


def _self_note(cells, standard: str | None, name: str) -> str | None:
    plan = _plan(standard)
    sheet, ref = plan.named()[name]
    return plain(cells.get((sheet.title, "H" + ref[1:])))


@pytest.mark.parametrize("label", list(STATES))
def test_no_error_value_and_every_figure_as_udfs(engine, label):
    standard, inputs = STATES[label]
    cells = engine[label]
    assert not [k for k, v in cells.items() if is_error(v)], label
    expected = udfs.evaluate(inputs, YEAR, PRESET, standard=standard, spec=SPEC)
    got = _named(cells, standard)
    wrong = [f"{n}: {got.get(n)!r} ≠ {v!r}" for n, v in expected.items() if not same_value(n, got.get(n), v)]
    assert not wrong, wrong


@pytest.mark.parametrize("label", list(STATES))
def test_the_result_column_says_what_udfs_says(engine, label):
    standard, inputs = STATES[label]
    results = udfs.evaluate(inputs, YEAR, PRESET, standard=standard, spec=SPEC)
    shown = _decline_status(engine[label], standard)
    for i in SPEC.decline_intensities:
        blocked = decline_blocker(i, inputs, results, YEARS, SPEC)
        want = blocked.text if blocked else ("达标" if results[f"ok_{i.key}"] else "未达标")
        assert shown[i.key] == want, (label, i.key)
        ind = next(x for x in SPEC.indicators if x.rule.metric == i.key)
        assert _self_note(engine[label], standard, ind.score_name) == (blocked.text if blocked else None), (label, ind.id)


def test_the_worked_blockers(engine):
    """People 0 in 2022 blocks both per-capita declines; 「一万二」 for 2021 area both per-area ones; 2021 water 0
    the water one; no energy in 2022 the three energy and carbon ones."""
    people = _decline_status(engine["zero_people"], None)
    assert people["energy_per_capita"] == people["water_per_capita"] == "无法计算：2022年度用能人数为0"
    assert people["energy_per_area"] in ("达标", "未达标")
    area = _decline_status(engine["area_as_text"], None)
    assert area["energy_per_area"] == area["co2_per_area"] == "无法计算：2021年度建筑面积填写有误（应为不小于0的数字）"
    assert _decline_status(engine["prev_water_zero"], None)["water_per_capita"] == "无法计算：2021年度人均用水量为0"
    energy = _decline_status(engine["no_energy_2022"], None)
    assert energy["energy_per_capita"] == "无法计算：2022年度各项能源消耗量均未填写"


def test_the_completeness_line(engine):
    plan = _plan(None)
    sheet, ref = plan.named()["self_missing_count"]
    note = ("H" + ref[1:])
    assert plain(engine["three_unscored"].get((sheet.title, note))) == (
        "自评未完成：尚有3项未评分或分值不符合规则（见「提示」列），每一项都要评分才算完成自评")
    assert plain(engine["complete"].get((sheet.title, note))) == "自评已完成"


def test_a_fresh_file_shows_what_the_engine_computes(engine):
    """The cached values the generator writes (what a file shows before any recalculation) for every formula of
    the decline and self-evaluation sheets equal LibreOffice's results on the blank workbook."""
    cells = engine["all_blank"]
    plan = _plan(None)
    wrong = []
    for title in ("强度指标下降率", "自评表"):
        for ref, c in plan.sheet(title).cells.items():
            if c.formula is None:
                continue
            got, want = plain(cells.get((title, ref))), plain(c.blank)
            if not (got == want or (isinstance(want, (int, float)) and isinstance(got, (int, float))
                                    and float(got) == float(want))):
                wrong.append(f"{title}!{ref}: cached {want!r}, engine {got!r}")
    assert not wrong, wrong


def test_the_gate_decides_pass(engine):
    missed = _named(engine["gate_missed"], GATE)
    met = _named(engine["gate_met"], GATE)
    assert missed["self_total"] >= SPEC.assessment.pass_line and missed["self_pass"] is False
    assert any(missed[f"ok_{i.key}"] is False for i in SPEC.decline_intensities)
    assert all(met[f"ok_{i.key}"] is True for i in SPEC.decline_intensities) and met["self_pass"] is True
    plain_pass = _named(engine["complete"], None)
    assert plain_pass["self_pass"] is True                  # the same unit under the score version passes
