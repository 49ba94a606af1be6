"""`jieyue demo`: the whole flow on the sample roster — generate, return (with a few bad returns), the three
reviewers' packs filled, consolidate — run through the command line and through `play_flow`, each once per module.

No LibreOffice: the packs are read with openpyxl and their entries recomputed with udfs.review.score_card.
"""
from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest

import udfs
from addin.cli import main
from addin.demo import (AS_OF, DEMO_SEED, FIRST_VERSION, NOT_RETURNED, PACKS, RETURNED_TWICE, TEXT_IN_NUMBER,
                        UNFINISHED_REVIEW, DemoFlow, flow_lines, play_flow, plausible_contact, plausible_inputs,
                        plausible_review, reviewed_units)
from generator import named_cells
from udfs.levels import reviewers
from udfs.review import DEDUCTING, given_values, score_card
from workbook_templates import load_spec
from workbook_templates.review_names import findings_name, given_name

SPEC = load_spec()


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory) -> tuple[Path, int, str]:
    """`jieyue demo -o 目录`: (目录, exit code, what it printed)."""
    out = tmp_path_factory.mktemp("cli") / "jieyue-demo"
    capture = _Capture()
    with capture:
        code = main(["demo", "-o", str(out)])
    return out, code, capture.text


@pytest.fixture(scope="module")
def flow(tmp_path_factory) -> DemoFlow:
    return play_flow(tmp_path_factory.mktemp("flow") / "演示", SPEC)


class _Capture:
    """stdout of a call, for module-scoped fixtures (capsys is function-scoped)."""

    def __enter__(self):
        import contextlib
        import io
        self._buffer = io.StringIO()
        self._redirect = contextlib.redirect_stdout(self._buffer)
        self._redirect.__enter__()
        return self

    def __exit__(self, *exc):
        self._redirect.__exit__(*exc)
        self.text = self._buffer.getvalue()


def report(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "汇总.json").read_text("utf-8"))


def scorecards(path: Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A pack's _meta values by name, and each scorecard's sheet-local values by name, keyed by unit code."""
    wb = openpyxl.load_workbook(path)
    meta = {}
    for name, dn in wb.defined_names.items():
        (title, ref), = dn.destinations
        meta[name] = wb[title][ref.replace("$", "")].value
    cards = {}
    for ws in wb.worksheets:
        if "rev_unit_code" not in ws.defined_names:
            continue
        values = {}
        for name, dn in ws.defined_names.items():
            (_, ref), = dn.destinations
            values[name] = ws[ref.replace("$", "")].value
        cards[str(values["rev_unit_code"])] = values
    return meta, cards


def inputs_of(level: str, values: dict[str, Any]) -> dict[str, Any]:
    """The reviewer's inputs on one scorecard (what `fill_workbook(…, scorecards=…)` was given), blanks left out."""
    names = {"rev_reviewer", "rev_date"}
    for ind in SPEC.indicators:
        names.add(given_name(level, ind.id))
        if ind.rule.type in DEDUCTING:
            names.add(findings_name(level, ind.id))
    return {n: values[n] for n in names if n in values and values[n] is not None}


def card_of(level: str, values: dict[str, Any], recomputed: dict[str, Any]) -> udfs.review.ScoreCard:
    given = {i.id: values.get(given_name(level, i.id)) for i in SPEC.indicators}
    findings = {i.id: values.get(findings_name(level, i.id)) for i in SPEC.indicators}
    return score_card(given, findings, recomputed, spec=SPEC)


# ---------------------------------------------------------------- the command

def test_the_command_prints_every_step_and_where_the_summary_is(cli_run):
    out, code, text = cli_run
    assert code == 0
    assert "公共机构能耗数据及碳排放计算表" in text                  # the worked example still comes first
    assert f"1. 生成：12 个预填单位信息的工作簿 → {out / '生成的工作簿'}" in text
    assert f"2. 交回：11 个文件（10 个单位）→ {out / '回收的工作簿'}" in text
    assert "E201" in text and "重复报送" in text and "未报送" in text and "待评审" in text
    assert "3. 评审：7 个评审包" in text and str(out / "回收的工作簿" / PACKS) in text
    # The outcome line as the consolidation gives it: 11 returns and 7 packs, all accounted for.
    # 18 read, and the 佐证材料 folders and zip beside 10 of the returns counted as skipped (indexed apart)
    assert "4. 汇总：共 28 个文件 = 已汇总 18 + 已拒收 0 + 已跳过 10" in text and "未报送 2 个" in text \
        and "重复报送 1 个单位" in text
    assert f"汇总表：{out / '汇总.xlsx'}" in text and f"JSON 报告：{out / '汇总.json'}" in text


def test_the_command_prints_what_play_flow_reports(cli_run, flow):
    """run_flow (what the command calls) is play_flow's lines: the same lines, folders aside."""
    out, _, text = cli_run
    lines = [line.replace(str(flow.out_dir), "《目录》") for line in flow_lines(flow)]
    printed = text.replace(str(out), "《目录》")
    assert all(line in printed for line in lines)


def test_an_empty_output_prints_only_the_worked_example(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "-o", ""]) == 0
    out = capsys.readouterr().out
    assert "自评总分" in out and "1. 生成" not in out
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- the files

def test_every_step_writes_its_files(flow):
    base = flow.out_dir
    generated = sorted(p.name for p in (base / "生成的工作簿").glob("*.xlsx"))
    assert len(generated) == 12
    returned = sorted(p.name for p in (base / "回收的工作簿").glob("*.xlsx"))
    assert returned == sorted(r.path.name for r in flow.returns) and len(returned) == 11
    assert sum(FIRST_VERSION in name for name in returned) == 1
    assert not any(name.startswith(code) for name in returned for code in NOT_RETURNED)
    packs = sorted((base / "回收的工作簿" / PACKS).glob("*.xlsx"))
    assert packs == sorted(p.path for p in flow.packs)
    levels = [scorecards(p)[0]["review_level"] for p in packs]
    assert set(levels) == {r.key for r in reviewers(SPEC)}
    assert levels.count(reviewers(SPEC)[-1].key) == 1       # the 自治区: one pack over all units
    assert (base / "汇总.xlsx").stat().st_size > 0 and (base / "汇总.json").stat().st_size > 0


def test_a_return_holds_the_plausible_inputs_of_its_unit(flow):
    ordinary = next(r for r in flow.returns if not r.shows)
    wb = openpyxl.load_workbook(ordinary.path)
    cells = named_cells(wb)
    value = lambda name: wb[cells[name][0]][cells[name][1]].value
    expected = plausible_inputs(ordinary.unit.code, SPEC)
    assert value("unit_code") == ordinary.unit.code and ordinary.path.name.startswith(ordinary.unit.code)
    assert value("cur_electricity_kwh") == expected["cur_electricity_kwh"]
    assert value("self_2_1_1") == expected["self_2_1_1"]


def test_a_return_has_its_contact_and_a_date_in_the_return_period(flow):
    """单位信息 printed filled in: 联系人, 联系电话 as the validation wants them (digits and 「-」, 7–20), and a
    填报日期 in 8月上旬 of the assessment year (2023-08-01 … 2023-08-10), before the demo's as-of date."""
    for r in flow.returns:
        wb = openpyxl.load_workbook(r.path)
        cells = named_cells(wb)
        value = lambda name: wb[cells[name][0]][cells[name][1]].value
        expected = plausible_contact(r.unit.code, 2023)
        assert value("contact_name") == expected["contact_name"] and len(expected["contact_name"]) == 3
        phone = value("contact_phone")
        assert phone == expected["contact_phone"] and phone.startswith("0991-") and len(phone) == 12
        assert value("fill_date").date() == expected["fill_date"]
        assert datetime.date(2023, 8, 1) <= expected["fill_date"] <= datetime.date(2023, 8, 10) < AS_OF


# ---------------------------------------------------------------- the review packs

def test_packs_hold_legal_plausible_entries_only(flow):
    """What each pack file holds is plausible_review's entries for the scorecards its reviewer fills (minus the
    items left blank on purpose), and every entry is a legal value: each filled scorecard counts every item."""
    level, code, blanks = UNFINISHED_REVIEW
    filled_cards = 0
    for p in flow.packs:
        key = p.pack.reviewer.key
        _, cards = scorecards(p.path)
        assert sorted(cards) == sorted(u.code for u in p.pack.units)
        intended = plausible_review(reviewed_units(p.pack, SPEC), key, SPEC, DEMO_SEED)
        for unit in p.pack.units:
            found = inputs_of(key, cards[unit.code])
            if unit.code not in intended:
                assert found == {}, (p.path.name, unit.name)    # a scorecard this reviewer does not fill
                continue
            expected = intended[unit.code]
            if key == level and unit.code == code:
                left_blank = set(expected) - set(found)
                assert len(left_blank) == blanks and all(n.startswith(f"rev_{key}_given_") for n in left_blank)
                expected = {n: v for n, v in expected.items() if n not in left_blank}
            assert found == expected, (p.path.name, unit.name)
            for ind in SPEC.indicators:
                given, findings = found.get(given_name(key, ind.id)), found.get(findings_name(key, ind.id))
                assert given is None or given in given_values(ind, spec=SPEC)
                assert findings is None or (isinstance(findings, int) and findings >= 0)
            card = card_of(key, cards[unit.code], unit.recomputed)
            assert card.missing == (blanks if key == level and unit.code == code else 0), (p.path.name, unit.name)
            filled_cards += 1
    assert filled_cards >= len(flow.packs)


def test_exactly_one_required_review_is_unfinished(flow):
    """Each valid unit needs a complete scorecard from every reviewer its level weighs (assessment.toml); the
    demo leaves exactly one of them — UNFINISHED_REVIEW — incomplete, so the unit is 待评审."""
    incomplete = []
    valid = [f for f in flow.run.units if not f.blocking]
    assert len(valid) == 9
    for f in valid:
        level = udfs.level_of(f.unit["unit_level"], SPEC)
        for key in [k for k in level.weights if k != "self"]:
            pack = next(p for p in flow.packs if p.pack.reviewer.key == key
                        and p.pack.region in (None, f.unit["unit_region"]))
            unit = next(u for u in pack.pack.units if u.code == f.code)
            values = scorecards(pack.path)[1][f.code]
            if card_of(key, values, unit.recomputed).missing:
                incomplete.append((key, f.code))
    assert incomplete == [UNFINISHED_REVIEW[:2]]


# ---------------------------------------------------------------- the consolidation

def test_the_report_lists_the_bad_returns_with_their_codes(flow):
    data = report(flow.out_dir)
    code, name, text = TEXT_IN_NUMBER
    e201 = [x for x in data["findings"] if x["code"] == "E201"]
    assert [(x["unit_code"], x["name"]) for x in e201] == [(code, name)] and text in e201[0]["message"]
    assert any(u["unit_code"] == code and u["blocking"] for u in data["units"])
    d501 = sorted(x["file"] for x in data["findings"] if x["code"] == "D501")
    twice = sorted(r.path.name for r in flow.returns if r.unit.code == RETURNED_TWICE)
    assert d501 == twice and len(twice) == 2
    (dup,) = data["duplicates"]
    assert dup["unit_code"] == RETURNED_TWICE and FIRST_VERSION not in dup["chosen"]     # the newer file
    assert sorted(e["code"] for e in data["not_returned"]) == sorted(NOT_RETURNED)
    assert data["outside_roster"] == [] and data["roster_size"] == 12


def test_the_demo_is_deterministic(cli_run, flow):
    """Two runs into different folders: the same report (files' SHA-256 included) and the same pack bytes."""
    out, _, _ = cli_run
    first, second = report(out), report(flow.out_dir)
    assert first.pop("folder") != second.pop("folder")
    assert first == second
    for p in flow.packs:
        assert (out / "回收的工作簿" / PACKS / p.path.name).read_bytes() == p.path.read_bytes()


def test_a_second_run_into_the_same_folder_gives_the_same_report(flow):
    """Packs of the earlier run are not taken for returns, and the ledger's reuse changes nothing."""
    before = report(flow.out_dir)
    again = play_flow(flow.out_dir, SPEC)
    assert report(flow.out_dir) == before
    assert [p.path for p in again.packs] == [p.path for p in flow.packs]
