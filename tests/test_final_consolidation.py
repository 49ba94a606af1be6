"""The units that never finish, through `jieyue consolidate` (issue 12 §3): the roster's units without a return are
listed in 评审结果, and the final consolidation after the deadline (`--final`) lists every 复验 unit that has not
completed as 「未完成复验」 with what the rule says happens (a person decides), in the workbook and the JSON alike.

Five roster units (the sample roster's first five, all 复验): three return a good workbook, one returns a workbook
with an incomplete self-assessment (E212, an error), one never returns; no review pack has come back.
Base (roster): 5 复验 units → ceil(5 % × 5) = 1, but none is ranked yet, so none is marked.
"""
from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import openpyxl
import pytest

from addin.cli import main
from addin.demo import plain_returns, plausible_inputs, return_one, sample_roster
from generator.personalise import Personaliser
from generator.roster import safe_file_name
from udfs.results import INCOMPLETE, NOT_RANKED, NOT_RETURNED, STATES, WAITING
from workbook_templates import load_spec

SPEC = load_spec()


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> tuple[Path, Path, list]:
    base = tmp_path_factory.mktemp("final")
    units = sample_roster(SPEC)[:5]
    returns = base / "回收"
    plain_returns(returns, SPEC, units[:3])
    unscored = {k: v for k, v in plausible_inputs(units[3].code, SPEC).items() if k != "self_2_1_1"}
    y = SPEC.year(SPEC.default_year)
    return_one(units[3], returns / safe_file_name(units[3].code, units[3].name), unscored,
               Personaliser(SPEC, y.year, y.preset))
    roster = base / "名单.csv"
    roster.write_text("单位名称,统一社会信用代码,单位层级,所属地区\n" + "".join(
        f"{u.name},{u.code},{u.level},{u.region}\n" for u in units), encoding="utf-8")
    return returns, roster, units


def consolidate(folder, out: Path, *extra: str) -> tuple[dict, Path]:
    returns, roster, _ = folder
    with redirect_stdout(io.StringIO()):
        assert main(["consolidate", str(returns), "--roster", str(roster), "--no-ledger", "-o", str(out / "汇总.xlsx"),
                     "--json", str(out / "r.json"), *extra]) == 0
    return json.loads((out / "r.json").read_text(encoding="utf-8")), out / "汇总.xlsx"


def test_before_the_deadline(folder, tmp_path):
    report, _ = consolidate(folder, tmp_path)
    units = folder[2]
    states = {r["unit_code"]: r["state"] for r in report["review_results"]}
    assert states == {units[0].code: WAITING, units[1].code: WAITING, units[2].code: WAITING,
                      units[3].code: NOT_RANKED, units[4].code: NOT_RETURNED}
    (e212,) = [f for f in report["findings"] if f["code"] == "E212"]
    assert "尚有 1 项未评分（2.1.1）" in e212["message"] and e212["severity"] == "错误"
    rules = report["review_rules"]
    assert rules["final"] is False and rules["elimination_base_units"] == 5 and rules["elimination_count"] == 0


def test_at_the_final_consolidation(folder, tmp_path):
    report, summary = consolidate(folder, tmp_path, "--final")
    units = folder[2]
    results = {r["unit_code"]: r for r in report["review_results"]}
    rule = SPEC.assessment.elimination.incomplete
    for u, why in ((units[0], "评审未完成"), (units[3], "有错误未改正"), (units[4], "未报送")):
        r = results[u.code]
        assert r["state"] == INCOMPLETE and r["cohort"] == "复验" and r["rank"] is None and not r["eliminated"]
        assert r["reason"].startswith(why) and rule in r["reason"]
    assert {r["state"] for r in report["review_results"]} <= set(STATES) == set(report["review_rules"]["states"])
    assert report["review_rules"]["final"] is True and report["review_summary"]["incomplete"] == 5
    book = openpyxl.load_workbook(summary, read_only=True)
    notes = "\n".join(str(c) for row in book["说明"].iter_rows(values_only=True) for c in row if c)
    assert "本次为截止后的最终汇总（--final）" in notes and "（本次 5 个）" in notes and rule in notes
    rows = list(book["评审结果"].iter_rows(values_only=True))
    head = next(i for i, r in enumerate(rows) if "状态" in r)
    state, kind = rows[head].index("状态"), rows[head].index("类型")
    listed = [r for r in rows[head + 1:] if r[state]]
    assert len(listed) == 5 and {r[state] for r in listed} == {INCOMPLETE} and {r[kind] for r in listed} == {"复验"}
