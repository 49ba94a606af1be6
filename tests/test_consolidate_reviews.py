"""`jieyue consolidate` reading returned review packs (issue 5, §2 "Results in the consolidation" and §4 "Proof"):
composites with their arithmetic, 待评审, the R6xx checks, the 自治区 re-check, ranking and 摘牌, 评审进度 and
指标得分, a pack saved by another spreadsheet program, and the ledger.

One module-scoped world. The returns are tests/reviews.py's (the sample roster's twelve units, WATER whose unit 1
cannot be scored — an error since issue 12, in no pack —, NASTY with a hostile name, BAD with an error). The reviewers' packs are built from them with
`build_review_pack` and filled here (`fill_workbook(…, scorecards=…)`, legal values only unless a test says
otherwise) so that every reviewer total is known by hand: each item at full marks, then `loss` points taken off
(`card`), so

    reviewer total = unit 1 (recomputed from the unit's own return) + 90 (the points of every other item) − loss.

The packs, in the folder 评审包 passed with --reviews (loss per unit; 「…」 = what the test is about):

    县市区_昌吉…            天池 1, NASTY 2, 北庭 「unfinished: 3 items blank」 (R601)
    县市区_伊犁…            雪莲 4, 果园 1                                  (older)
    县市区_伊犁…（重新交回） 雪莲 10, 果园 「unfinished」                    (newer: R605 both ways)
    — the 哈密 县市区 pack has not come back: 东天山 and 白杨河 are 未收到 for 县市区
    地州市_昌吉…            天池 2, 北庭 0, 昌吉局 20, NASTY 「2.1.1 = 2.5, past the dropdown」 (R602)
    地州市_伊犁…            雪莲 12, 果园 3, 伊犁局 2 「its total cell overwritten with 99」 (R603)
    地州市_哈密…            东天山 1, 白杨河 2, 哈密局 6
    自治区                  服务中心 40, 监测中心 3, 档案中心 0, 果园 「re-checked」 5; every other card untouched
    自治区（层级被改）        every card at full marks, 「_meta review_level = nonsense」 (R606, rejected)
    地州市_昌吉…（上年）     every card at full marks, newest, 「_meta assessment_year = last year」 (F111, rejected)

Every expectation is computed here from those losses, the spec's weights and the returns' own figures; nothing
is read back from the code under test to build an expected value.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Callable

import openpyxl
import pytest

from addin.cli import main
from addin.consolidate import consolidate
from addin.consolidate import workers as workers_module
from addin.consolidate.model import CONSOLIDATED, REJECTED, ConsolidationRun
from addin.consolidate.read import read_returned
from addin.consolidate.review_content import COMPLETE, NOT_APPLICABLE, NOT_RECEIVED, UNFINISHED
from addin.consolidate.reviews import CARD_RULE
from addin.review.pack import ReviewPack, build_review_pack
from generator.fill import fill_workbook
from udfs.ranking import elimination_count
from udfs.results import NOT_RANKED, REVIEWED, WAITING
from udfs.review import DEDUCTING, given_values
from workbook_templates.review_names import findings_name, given_name, score_name, total_name

from tests import libreoffice
from tests.reviews import BAD, CHANGJI, NASTY, SAMPLE_UNITS, SEED, SPEC, WATER, open_pack, write_returns

YEAR = SPEC.default_year
YILI, HAMI = "伊犁哈萨克自治州", "哈密市"
_BY_NAME = {u.name: u for u in SAMPLE_UNITS}
FUWU, JIANCE, DANGAN = (_BY_NAME[n] for n in ("自治区机关事务服务中心", "自治区公共机构节能监测中心", "自治区档案资料保管中心"))
CHANGJI_JU, HAMI_JU, YILI_JU = (_BY_NAME[n] for n in ("昌吉回族自治州机关事务管理局", "哈密市机关事务管理局",
                                                       "伊犁哈萨克自治州财政局"))
TIANCHI, BEITING = _BY_NAME["天池县人民法院"], _BY_NAME["北庭县发展和改革委员会/粮食和物资储备局"]
XUELIAN, GUOYUAN = _BY_NAME["雪莲县人民政府办公室"], _BY_NAME["果园县教育局"]
DONGTIANSHAN, BAIYANGHE = _BY_NAME["东天山县卫生健康委员会"], _BY_NAME["白杨河县人民检察院"]

LEVELS = {lv.label: lv for lv in SPEC.assessment.levels.values()}
WEIGHTS = {label: dict(lv.weights) for label, lv in LEVELS.items()}       # 县市区级 → {self: 0.1, county: 0.3, …}
REVIEWERS = list(SPEC.assessment.reviewers)                                # county, prefecture, region
UNIT1 = [i for i in SPEC.indicators if i.rule.type == "computed_target"]   # recomputed from the return, locked
SCORED = [i for i in SPEC.indicators if i.rule.type != "computed_target"]  # what a reviewer scores
SCORED_POINTS = sum(i.points for i in SCORED)
assert SCORED_POINTS + sum(i.points for i in UNIT1) == SPEC.assessment.total_points

PACKS_DIR = "评审包"
T0 = 1_700_000_000          # every pack's mtime (seconds) unless it says otherwise


# ---------------------------------------------------------------- filling a scorecard by hand

def _ways_to_lose(level: str, ind) -> list[tuple[float, dict[str, Any]]]:
    """Every legal way to take points off one item, as (points lost, the entries that do it)."""
    rule = ind.rule
    if rule.type == "deduction":                   # 处数 × step, never below 0
        return [(rule.step * k, {findings_name(level, ind.id): k}) for k in range(int(ind.points / rule.step) + 1)]
    if rule.type == "per_item_with_deduction":     # the full award, then k findings
        return [(min(ind.points, rule.deduction_step * k),
                 {given_name(level, ind.id): ind.points, findings_name(level, ind.id): k})
                for k in range(int(ind.points / rule.deduction_step) + 1)]
    return [(ind.points - v, {given_name(level, ind.id): v}) for v in given_values(ind, spec=SPEC)]


def card(level: str, loss: float = 0) -> dict[str, Any]:
    """A complete scorecard's entries: every item at full marks, then `loss` points taken off, from the last item
    backwards, each item losing as much as its legal values allow. Its total is unit 1 + 90 − loss."""
    entries: dict[str, Any] = {"rev_reviewer": f"{SPEC.assessment.reviewers[level][:3]}评审组 王某",
                               "rev_date": f"{YEAR}-09-05"}
    left = loss
    for ind in reversed(SCORED):
        lost, typed = max((w for w in _ways_to_lose(level, ind) if w[0] <= left), key=lambda w: w[0])
        entries.update(typed)
        left -= lost
    assert left == 0, (level, loss)
    return entries


def unfinished(level: str, blanks: int) -> dict[str, Any]:
    """Full marks, but the last `blanks` items scored by choice left blank."""
    entries = card(level)
    for ind in [i for i in SCORED if i.rule.type not in DEDUCTING][-blanks:]:
        del entries[given_name(level, ind.id)]
    return entries


def illegal_2_1_1(level: str) -> dict[str, Any]:
    """Full marks, but 2.1.1 (per_item: 0, 1, 2, 3) is 2.5 — what only typing past the dropdown gives."""
    return {**card(level), given_name(level, "2.1.1"): 2.5}


# ---------------------------------------------------------------- editing a pack past its protection (openpyxl)

def _edited(data: bytes, edit: Callable[[openpyxl.Workbook], None]) -> bytes:
    wb = open_pack(data)
    edit(wb)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _scorecard(wb: openpyxl.Workbook, code: str):
    for ws in wb.worksheets:
        dn = ws.defined_names.get("rev_unit_code")
        if dn is not None:
            (title, ref), = dn.destinations
            if wb[title][ref.replace("$", "")].value == code:
                return ws
    raise KeyError(code)


def overwrite_cell(code: str, name: str, value: Any) -> Callable[[bytes], bytes]:
    """The scorecard of `code`: the cell of its sheet-local `name` (a formula) replaced by `value`."""
    def edit(wb):
        ws = _scorecard(wb, code)
        (title, ref), = ws.defined_names[name].destinations
        cell = wb[title][ref.replace("$", "")]
        assert isinstance(cell.value, str) and cell.value.startswith("="), (name, cell.value)
        cell.value = value
    return lambda data: _edited(data, edit)


def edit_meta(name: str, value: Any) -> Callable[[bytes], bytes]:
    """The hidden _meta cell of the workbook name `name` set to `value`."""
    def edit(wb):
        (title, ref), = wb.defined_names[name].destinations
        wb[title][ref.replace("$", "")].value = value
    return lambda data: _edited(data, edit)


# ---------------------------------------------------------------- the packs

@dataclass(frozen=True)
class Pack:
    file: str
    level: str                                  # reviewer key
    region: str | None                          # the pack's --region
    cards: dict[str, dict[str, Any]]            # unit code → entries
    mtime: int = T0
    edit: Callable[[bytes], bytes] | None = None

    @property
    def path(self) -> str:                      # as the report names it
        return f"{PACKS_DIR}/{self.file}"


COUNTY_CJ = Pack("县市区_昌吉回族自治州.xlsx", "county", CHANGJI, {
    TIANCHI.code: card("county", 1), NASTY.code: card("county", 2), BEITING.code: unfinished("county", 3)})
COUNTY_YL = Pack("县市区_伊犁哈萨克自治州.xlsx", "county", YILI, {
    XUELIAN.code: card("county", 4), GUOYUAN.code: card("county", 1)})
COUNTY_YL_AGAIN = Pack("县市区_伊犁哈萨克自治州（重新交回）.xlsx", "county", YILI, {
    XUELIAN.code: card("county", 10), GUOYUAN.code: unfinished("county", 2)}, mtime=T0 + 600)
PREF_CJ = Pack("地州市_昌吉回族自治州.xlsx", "prefecture", CHANGJI, {
    TIANCHI.code: card("prefecture", 2), BEITING.code: card("prefecture", 0), CHANGJI_JU.code: card("prefecture", 20), NASTY.code: illegal_2_1_1("prefecture")})
PREF_YL = Pack("地州市_伊犁哈萨克自治州.xlsx", "prefecture", YILI, {
    XUELIAN.code: card("prefecture", 12), GUOYUAN.code: card("prefecture", 3), YILI_JU.code: card("prefecture", 2)},
    edit=overwrite_cell(YILI_JU.code, total_name("prefecture"), 99))
PREF_HM = Pack("地州市_哈密市.xlsx", "prefecture", HAMI, {
    DONGTIANSHAN.code: card("prefecture", 1), BAIYANGHE.code: card("prefecture", 2),
    HAMI_JU.code: card("prefecture", 6)})
REGION = Pack("自治区.xlsx", "region", None, {
    FUWU.code: card("region", 40), JIANCE.code: card("region", 3), DANGAN.code: card("region", 0),
    GUOYUAN.code: card("region", 5)})
REGION_NONSENSE = Pack("自治区（层级被改）.xlsx", "region", None, {
    u.code: card("region", 0) for u in (FUWU, JIANCE, DANGAN, GUOYUAN)}, mtime=T0 + 1200,
    edit=edit_meta("review_level", "nonsense"))
PREF_CJ_LAST_YEAR = Pack("地州市_昌吉回族自治州（上年）.xlsx", "prefecture", CHANGJI, {
    u.code: card("prefecture", 0) for u in (TIANCHI, BEITING, CHANGJI_JU, NASTY)}, mtime=T0 + 1200,
    edit=edit_meta("assessment_year", YEAR - 1))
PACKS = [COUNTY_CJ, COUNTY_YL, COUNTY_YL_AGAIN, PREF_CJ, PREF_YL, PREF_HM, REGION, REGION_NONSENSE, PREF_CJ_LAST_YEAR]

# The loss of the scorecard that counts, per (reviewer, unit) — the duplicates resolved by CARD_RULE by hand:
# 雪莲's two county cards are both complete → the newer (重新交回, loss 10); 果园's newer one is unfinished → the
# complete older one (loss 1).
LOSS = {
    ("county", TIANCHI.code): 1, ("prefecture", TIANCHI.code): 2,
    ("county", XUELIAN.code): 10, ("prefecture", XUELIAN.code): 12,
    ("county", GUOYUAN.code): 1, ("prefecture", GUOYUAN.code): 3, ("region", GUOYUAN.code): 5,
    ("prefecture", CHANGJI_JU.code): 20, ("prefecture", YILI_JU.code): 2, ("prefecture", HAMI_JU.code): 6,
    ("prefecture", DONGTIANSHAN.code): 1, ("prefecture", BAIYANGHE.code): 2, ("prefecture", BEITING.code): 0,
    ("county", NASTY.code): 2,
    ("region", FUWU.code): 40, ("region", JIANCE.code): 3, ("region", DANGAN.code): 0,
}
# Units whose every weighed reviewer has a complete card (果园: county + 自治区 re-check in place of 地州市).
COMPLETE_UNITS = [FUWU, JIANCE, DANGAN, CHANGJI_JU, HAMI_JU, YILI_JU, TIANCHI, XUELIAN, GUOYUAN]
WAITING_UNITS = [BEITING, NASTY, DONGTIANSHAN, BAIYANGHE]


def write_packs(built: dict[tuple[str, str | None], ReviewPack], folder: Path, packs: list[Pack] = PACKS,
                **replace: dict[str, dict[str, Any]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for p in packs:
        data = fill_workbook(built[(p.level, p.region)].data, scorecards=replace.get(p.file, p.cards))
        if p.edit:
            data = p.edit(data)
        (folder / p.file).write_bytes(data)
        os.utime(folder / p.file, (p.mtime, p.mtime))


# ---------------------------------------------------------------- running

def cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["consolidate", *args])
    return code, out.getvalue()


@dataclass
class Outputs:
    """One CLI run: exit code, printed line, the JSON report, the summary workbook."""

    code: int
    printed: str
    report: dict[str, Any]
    summary: Path

    @property
    def results(self) -> dict[str, dict[str, Any]]:
        return {r["unit_code"]: r for r in self.report["review_results"]}

    def findings(self, pack: Pack, code: str | None = None) -> list[dict[str, Any]]:
        """The findings on a pack's file (those naming unit `code`, if given)."""
        return [f for f in self.report["findings"] if f["file"] == pack.path and (code is None or code in f["message"])]

    def cards(self, pack: Pack) -> dict[str, dict[str, Any]]:
        return {r["unit_code"]: r for r in self.report["reviews"] if r["file"] == pack.path}

    def file(self, pack: Pack) -> dict[str, Any]:
        return next(f for f in self.report["files"] if f["path"] == pack.path)

    def sheet(self, title: str) -> list[dict[str, Any]]:
        ws = openpyxl.load_workbook(self.summary, read_only=True)[title]
        rows = ws.iter_rows(values_only=True)
        head = next(rows)
        return [dict(zip(head, r)) for r in rows if any(v is not None for v in r)]


def run_cli(returns: Path, packs: Path, out_dir: Path, *extra: str) -> Outputs:
    out_dir.mkdir(parents=True, exist_ok=True)
    summary, report = out_dir / "汇总.xlsx", out_dir / "汇总.json"
    code, printed = cli(str(returns), "--reviews", str(packs), "-o", str(summary), "--json", str(report), *extra)
    return Outputs(code, printed, json.loads(report.read_text("utf-8")), summary)


@dataclass
class World:
    returns: Path
    packs: Path
    built: dict[tuple[str, str | None], ReviewPack]
    main: Outputs                                   # the CLI, --no-ledger
    run: ConsolidationRun                           # the same folders through `consolidate()`
    units: dict[str, dict[str, Any]] = field(default_factory=dict)   # the report's units by code

    def self_total(self, code: str) -> float:
        return self.units[code]["results"]["self_total"]

    def total(self, level: str, code: str, loss: float | None = None) -> float:
        """A complete card's total by hand: unit 1 as recomputed from the unit's return + 90 − the loss."""
        results = self.units[code]["results"]
        unit1 = sum(Decimal(str(results[i.score_name])) for i in UNIT1)
        return float(unit1 + Decimal(str(SCORED_POINTS)) - Decimal(str(LOSS[(level, code)] if loss is None else loss)))

    def composite(self, code: str, used: dict[str, float] | None = None) -> float:
        """Σ weight × score for the unit's level, rounded half up to the spec's places — by hand, in decimals."""
        level = self.units[code]["unit_level"]
        scores = {"self": self.self_total(code), **(used or {})}
        for k in WEIGHTS[level]:
            if k not in scores:
                scores[k] = self.total(k, code)
        exact = sum(Decimal(str(w)) * Decimal(str(scores[k])) for k, w in WEIGHTS[level].items())
        return float(exact.quantize(Decimal(1).scaleb(-SPEC.precision.score), ROUND_HALF_UP))

    def expected_composite(self, code: str) -> float:
        """果园 is re-checked: the 自治区 total stands where the 地州市 total would (replace_top)."""
        if code == GUOYUAN.code:
            return self.composite(code, {"prefecture": self.total("region", code)})
        return self.composite(code)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    base = tmp_path_factory.mktemp("reviews")
    returns = write_returns(base / "回收的工作簿")
    built = {(level, region): build_review_pack(returns, level, region=region, seed=SEED, spec=SPEC)
             for level, region in dict.fromkeys((p.level, p.region) for p in PACKS)}
    packs = base / PACKS_DIR
    write_packs(built, packs)
    main_out = run_cli(returns, packs, base / "out", "--no-ledger")
    run = consolidate(returns, reviews=packs, spec=SPEC)
    w = World(returns, packs, built, main_out, run)
    w.units = {u["unit_code"]: u for u in main_out.report["units"]}
    return w


def accounting_holds(report: dict[str, Any], on_disk: int) -> None:
    a = report["accounting"]
    assert a["seen"] == a["consolidated"] + a["rejected"] + a["skipped"] == on_disk == len(report["files"])


def files_under(*folders: Path) -> int:
    return sum(1 for f in folders for p in f.rglob("*") if p.is_file())


# ---------------------------------------------------------------- the run

def test_the_run_completes_and_accounts_for_every_file_returns_and_packs(world):
    """Exit 0; seen = consolidated + rejected + skipped = every file on disk; every pack is listed as a review
    pack, consolidated — except the two whose _meta was tampered with, rejected."""
    out = world.main
    assert out.code == 0
    accounting_holds(out.report, files_under(world.returns, world.packs))
    rejected = {REGION_NONSENSE.file, PREF_CJ_LAST_YEAR.file}
    for p in PACKS:
        f = out.file(p)
        assert f["kind"] == "review", p.file
        assert f["status"] == (REJECTED if p.file in rejected else CONSOLIDATED), p.file
    assert sum(f["kind"] == "return" for f in out.report["files"]) == len(SAMPLE_UNITS) + 3
    assert f"评审包 {len(PACKS) - len(rejected)} 份" in out.printed


# ---------------------------------------------------------------- 1. complete reviews: the composite by hand

@pytest.mark.parametrize("unit", [TIANCHI, CHANGJI_JU, JIANCE], ids=["县市区级", "地州市级", "自治区本级"])
def test_a_complete_review_gives_the_weighted_composite(world, unit):
    """综合得分 = Σ weight × score with the spec's weights:
      县市区级 天池县人民法院: 0.1 × self + 0.3 × county + 0.6 × prefecture, where county = unit 1 + 90 − 1 and
        prefecture = unit 1 + 90 − 2 (with today's sample data: self 92.5, unit 1 = 10 → 0.1×92.5 + 0.3×99 +
        0.6×98 = 9.25 + 29.7 + 58.8 = 97.75);
      地州市级 昌吉州机关事务管理局: 0.2 × self + 0.8 × prefecture, prefecture = unit 1 + 90 − 20
        (75 and 2.5 → 0.2×75 + 0.8×72.5 = 15 + 58 = 73);
      自治区本级 节能监测中心: 0.2 × self + 0.8 × region, region = unit 1 + 90 − 3 (89.5 and 7.5 → 17.9 + 75.6 = 93.5).
    The same figures in the JSON report and on the 评审结果 sheet."""
    code, level = unit.code, unit.level
    weighed = [k for k in WEIGHTS[level] if k != "self"]
    expected_scores = {k: world.total(k, code) for k in weighed}
    expected = world.composite(code)
    r = world.main.results[code]
    assert r["state"] == REVIEWED
    assert r["self_total"] == world.self_total(code)
    assert {k: r["scores"][k] for k in weighed} == pytest.approx(expected_scores, abs=1e-9)
    assert r["used"] == pytest.approx({"self": world.self_total(code), **expected_scores}, abs=1e-9)
    assert r["composite"] == pytest.approx(expected, abs=1e-9)
    assert r["rank"] is not None and r["pass"] is (expected >= SPEC.assessment.pass_line)

    row = next(x for x in world.main.sheet("评审结果") if x["统一社会信用代码"] == code)
    assert row["综合得分"] == pytest.approx(expected, abs=1e-9)
    assert row["自评分"] == world.self_total(code)
    for k in REVIEWERS:
        label = SPEC.assessment.reviewers[k]
        assert row[label] == (pytest.approx(expected_scores[k], abs=1e-9) if k in weighed else None), label
    assert row["状态"] == REVIEWED and row["排名"] == r["rank"]


# ---------------------------------------------------------------- 2. unfinished

def test_an_unfinished_scorecard_leaves_the_unit_waiting_never_zero(world):
    """北庭's county card has 3 items blank: R601 names the unit on the county pack; the unit is 待评审 — no
    composite (blank, not 0), no rank, not 拟摘牌 — waiting for the 县市区 score only (its 地州市 card is complete)."""
    code = BEITING.code
    r = world.main.results[code]
    assert r["state"] == WAITING and r["waiting"] == ["county"]
    assert r["composite"] is None and r["rank"] is None and r["eliminated"] is False and r["pass"] is None
    assert r["scores"]["county"] is None
    assert r["scores"]["prefecture"] == pytest.approx(world.total("prefecture", code))
    assert world.main.cards(COUNTY_CJ)[code]["missing"] == 3 and world.main.cards(COUNTY_CJ)[code]["total"] is None

    r601 = [f for f in world.main.findings(COUNTY_CJ, code) if f["code"] == "R601"]
    assert len(r601) == 1 and "3 项未评分" in r601[0]["message"] and "待评审" in r601[0]["message"]
    assert r601[0]["name"] == total_name("county") and r601[0]["cell"]
    listed = [x for x in world.main.sheet("问题清单") if x["文件"] == COUNTY_CJ.path and x["代码"] == "R601"
              and code in x["说明"]]
    assert len(listed) == 1

    row = next(x for x in world.main.sheet("评审结果") if x["统一社会信用代码"] == code)
    assert row["综合得分"] is None and row["排名"] is None and row["状态"] == WAITING
    assert "等待" + SPEC.assessment.reviewers["county"] in row["说明"]


# ---------------------------------------------------------------- 3. an illegal value

def test_an_illegal_given_value_is_not_counted_and_the_unit_waits(world):
    """NASTY's 地州市 card says 2.5 for 2.1.1 (legal: 0, 1, 2, 3), typed past the dropdown: R602 names the item,
    the item does not count (the card is 1 item short: no total), and the unit is 待评审 for 地州市."""
    code = NASTY.code
    assert 2.5 not in given_values(next(i for i in SPEC.indicators if i.id == "2.1.1"), spec=SPEC)
    r602 = [f for f in world.main.findings(PREF_CJ, code) if f["code"] == "R602"]
    assert len(r602) == 1 and "2.1.1" in r602[0]["message"]
    assert r602[0]["name"] == score_name("prefecture", "2.1.1") and r602[0]["cell"]
    reviewed = world.main.cards(PREF_CJ)[code]
    assert reviewed["missing"] == 1 and reviewed["total"] is None
    chosen = next(c for c in world.run.review_cards if c.path == PREF_CJ.path and c.unit_code == code)
    assert chosen.items["2.1.1"] is None
    assert chosen.items["2.1.2"] == 3.0                  # the items around it count as typed
    r = world.main.results[code]
    assert r["state"] == WAITING and r["waiting"] == ["prefecture"] and r["composite"] is None
    assert r["scores"]["county"] == pytest.approx(world.total("county", code))


# ---------------------------------------------------------------- 4. an overwritten formula

def test_an_overwritten_total_is_reported_and_the_recomputed_total_used(world):
    """伊犁州财政局's 地州市 total cell was overwritten with 99: R603 quotes 99 and the recomputed total
    (unit 1 + 90 − 2), which is the one that counts: 0.2 × self + 0.8 × (unit 1 + 88)."""
    code = YILI_JU.code
    recomputed = world.total("prefecture", code)
    assert recomputed != 99
    r603 = [f for f in world.main.findings(PREF_YL, code) if f["code"] == "R603"]
    assert len(r603) == 1
    assert "表内 99" in r603[0]["message"] and f"重算 {recomputed:g}" in r603[0]["message"]
    assert r603[0]["name"] == total_name("prefecture")
    assert world.main.cards(PREF_YL)[code]["total"] == pytest.approx(recomputed)
    r = world.main.results[code]
    assert r["scores"]["prefecture"] == pytest.approx(recomputed)
    assert r["composite"] == pytest.approx(world.composite(code), abs=1e-9)
    # Only the overwritten cell: the rest of the pack was saved without cached results and is just recomputed.
    assert [f["code"] for f in world.main.findings(PREF_YL)] == ["R603"]


# ---------------------------------------------------------------- 5. two cards for one unit and level

def test_duplicate_scorecards_follow_the_card_rule(world):
    """Two county packs for 伊犁 (the second returned later, newer mtime). 雪莲: both complete → the newer counts
    (loss 10, not 4). 果园: the newer is unfinished → the complete older one counts. R605 on each card not used,
    quoting CARD_RULE and naming the card used; all four cards listed in `reviews`."""
    first, again = world.main.cards(COUNTY_YL), world.main.cards(COUNTY_YL_AGAIN)
    assert set(first) == set(again) == {XUELIAN.code, GUOYUAN.code}

    # 雪莲: complete both → newest.
    assert again[XUELIAN.code]["used"] is True and first[XUELIAN.code]["used"] is False
    assert first[XUELIAN.code]["total"] == pytest.approx(world.total("county", XUELIAN.code, loss=4))
    assert again[XUELIAN.code]["total"] == pytest.approx(world.total("county", XUELIAN.code, loss=10))
    r605 = [f for f in world.main.findings(COUNTY_YL, XUELIAN.code) if f["code"] == "R605"]
    assert len(r605) == 1 and COUNTY_YL_AGAIN.path in r605[0]["message"] and CARD_RULE in r605[0]["message"]
    assert not [f for f in world.main.findings(COUNTY_YL_AGAIN, XUELIAN.code) if f["code"] == "R605"]
    assert world.main.results[XUELIAN.code]["scores"]["county"] == pytest.approx(world.total("county", XUELIAN.code))

    # 果园: complete first, though older.
    assert first[GUOYUAN.code]["used"] is True and again[GUOYUAN.code]["used"] is False
    assert again[GUOYUAN.code]["missing"] == 2
    r605 = [f for f in world.main.findings(COUNTY_YL_AGAIN, GUOYUAN.code) if f["code"] == "R605"]
    assert len(r605) == 1 and COUNTY_YL.path in r605[0]["message"] and CARD_RULE in r605[0]["message"]
    assert not [f for f in world.main.findings(COUNTY_YL, GUOYUAN.code) if f["code"] == "R605"]
    assert world.main.results[GUOYUAN.code]["scores"]["county"] == pytest.approx(world.total("county", GUOYUAN.code))
    assert world.main.results[GUOYUAN.code]["state"] == REVIEWED


# ---------------------------------------------------------------- 6. a card without a return

def test_a_scorecard_without_its_units_return_is_r604(world, tmp_path):
    """白杨河's return taken out of a copy of the folder: its 地州市 card is R604 (listed, not matched), the
    unit is in no result, and seen = consolidated + rejected + skipped still holds. Its 自治区 card was never
    filled: an untouched card is no review, so it raises nothing."""
    returns = tmp_path / "回收的工作簿"
    gone = BAIYANGHE.code
    shutil.copytree(world.returns, returns, ignore=lambda d, names: [n for n in names if n.startswith(gone)])
    assert files_under(returns) == files_under(world.returns) - 1
    out = run_cli(returns, world.packs, tmp_path / "out", "--no-ledger")
    assert out.code == 0
    accounting_holds(out.report, files_under(returns, world.packs))
    r604 = [f for f in out.findings(PREF_HM, gone) if f["code"] == "R604"]
    assert len(r604) == 1 and r604[0]["name"] == "rev_unit_code"
    assert out.cards(PREF_HM)[gone]["matched"] is False
    assert gone not in out.results
    assert out.findings(REGION, gone) == []
    # Everyone else is as in the full run.
    assert {c: r["composite"] for c, r in out.results.items()} == \
           {c: r["composite"] for c, r in world.main.results.items() if c != gone}


# ---------------------------------------------------------------- 7. the 自治区 re-check

def test_a_region_recheck_replaces_the_prefecture_score(world):
    """果园 (县市区级) was re-checked by the 自治区. With the spec's rule replace_top the 自治区 total stands
    where the 地州市 total was: 0.1 × self + 0.3 × county + 0.6 × region, with county = unit 1 + 90 − 1,
    地州市 = unit 1 + 90 − 3 (shown, replaced) and 自治区 = unit 1 + 90 − 5 (today: 0.1×87 + 0.3×94 + 0.6×90 =
    8.7 + 28.2 + 54 = 90.9, where 地州市 would have given 92.1); the note says so."""
    assert SPEC.assessment.recheck.rule == "replace_top"
    code = GUOYUAN.code
    county, prefecture, region = (world.total(k, code) for k in REVIEWERS)
    weights = WEIGHTS[GUOYUAN.level]
    assert set(weights) == {"self", "county", "prefecture"}
    r = world.main.results[code]
    assert r["scores"] == pytest.approx({"county": county, "prefecture": prefecture, "region": region})
    assert r["used"] == pytest.approx({"self": world.self_total(code), "county": county, "prefecture": region})
    expected = world.composite(code, {"prefecture": region})
    assert r["composite"] == pytest.approx(expected, abs=1e-9)
    assert expected != world.composite(code)                       # the replacement made a difference
    assert "替代" in r["recheck"] and f"{region:g}" in r["recheck"] and f"{prefecture:g}" in r["recheck"]
    assert SPEC.assessment.reviewers["region"] in r["recheck"]
    assert r["not_counted"] == []


def test_an_untouched_region_scorecard_changes_nothing_and_says_nothing(world):
    """The 自治区 pack covers every unit; apart from its own level's units and 果园 nobody touched a card. Those
    cards raise no finding (the pack has none at all), count for nothing, and are not listed as reviews."""
    touched = set(REGION.cards)
    assert world.main.findings(REGION) == []
    assert set(world.main.cards(REGION)) == touched
    for code, r in world.main.results.items():
        if code in touched:
            continue
        assert r["scores"]["region"] is None and "region" not in r["used"] and r["recheck"] == "", code
        assert not [p for p in world.main.report["review_progress"]
                    if p["unit_code"] == code and p["reviewer"] == "region"], code
    for u in (TIANCHI, XUELIAN, CHANGJI_JU, HAMI_JU):
        assert world.main.results[u.code]["composite"] == pytest.approx(world.composite(u.code), abs=1e-9)


# ---------------------------------------------------------------- 8, 9. tampered _meta

def test_a_pack_with_an_unknown_review_level_is_rejected(world):
    """自治区（层级被改）: _meta review_level = nonsense → R606 (an error), the pack rejected and none of its
    cards read — its full marks for 服务中心 count nowhere (the 自治区 pack's unit 1 + 90 − 40 does)."""
    f = world.main.file(REGION_NONSENSE)
    assert f["status"] == REJECTED and f["errors"] >= 1
    r606 = [x for x in world.main.findings(REGION_NONSENSE) if x["code"] == "R606"]
    assert len(r606) == 1 and "nonsense" in r606[0]["message"] and r606[0]["severity"] == "错误"
    assert world.main.cards(REGION_NONSENSE) == {}
    assert world.main.results[FUWU.code]["scores"]["region"] == pytest.approx(world.total("region", FUWU.code))
    assert not any(c.path == REGION_NONSENSE.path for c in world.run.review_cards)


def test_a_pack_for_another_year_is_rejected(world):
    """地州市_昌吉（上年）: _meta assessment_year = last year → F111, rejected, though it is the newest and
    complete: 昌吉局 keeps the real pack's unit 1 + 90 − 20, not full marks."""
    f = world.main.file(PREF_CJ_LAST_YEAR)
    assert f["status"] == REJECTED
    f111 = [x for x in world.main.findings(PREF_CJ_LAST_YEAR) if x["code"] == "F111"]
    assert len(f111) == 1 and str(YEAR - 1) in f111[0]["message"] and str(YEAR) in f111[0]["message"]
    assert world.main.cards(PREF_CJ_LAST_YEAR) == {}
    code = CHANGJI_JU.code
    assert world.main.results[code]["scores"]["prefecture"] == pytest.approx(world.total("prefecture", code))
    assert world.main.results[code]["composite"] == pytest.approx(world.composite(code), abs=1e-9)


# ---------------------------------------------------------------- 10. ranking and 摘牌

def _bottom(composites: dict[str, float], k: int) -> set[str]:
    ordered = sorted(composites, key=lambda c: (composites[c], c))
    assert k == 0 or len(ordered) == k or composites[ordered[k - 1]] < composites[ordered[k]], "a tie at the cut"
    return set(ordered[:k])


def test_ranking_and_the_bottom_five_percent(world):
    """The units with a complete composite and no error are ranked (highest first) and the bottom
    ceil(5 % × ranked) are 拟摘牌; BAD (an error in its return) and the 待评审 units are not ranked; a composite
    below 80 is 不达标 (pass False), apart from 摘牌. Today: 9 ranked → ceil(0.45) = 1: 服务中心 with
    0.2×84 + 0.8×(2.5 + 90 − 40) = 16.8 + 42 = 58.8."""
    results = world.main.results
    hand = {u.code: world.expected_composite(u.code) for u in COMPLETE_UNITS}
    ranked = {c: r for c, r in results.items() if r["rank"] is not None}
    assert set(ranked) == set(hand)
    for c, r in ranked.items():
        assert r["composite"] == pytest.approx(hand[c], abs=1e-9), c
        assert r["rank"] == 1 + sum(1 for x in hand.values() if x > hand[c]), c
        assert r["pass"] is (hand[c] >= SPEC.assessment.pass_line), c
    k = elimination_count(len(ranked), spec=SPEC)
    assert k == -(-len(ranked) * 5 // 100)                       # ceil(5 % × ranked)
    eliminated = {c for c, r in results.items() if r["eliminated"]}
    assert eliminated == _bottom(hand, k)
    assert all(results[c]["reason"] == "末位淘汰" for c in eliminated)
    assert not any(r["tie_at_cut"] for r in results.values())
    assert {c for c, r in results.items() if r["pass"] is False} == {c for c in hand if hand[c] < 80}
    assert {c for c in hand if hand[c] < 80}, "the fixture should have a unit below the pass line"

    bad = results[BAD.code]
    assert bad["state"] == NOT_RANKED and bad["rank"] is None and bad["eliminated"] is False
    for u in WAITING_UNITS:
        assert results[u.code]["state"] == WAITING and results[u.code]["rank"] is None, u.name

    rows = {x["统一社会信用代码"]: x for x in world.main.sheet("评审结果")}
    assert {c for c, x in rows.items() if x["拟摘牌"] == "是"} == eliminated
    assert {c for c, x in rows.items() if x["达标（≥80分）"] == "否"} == {c for c in hand if hand[c] < 80}
    summary = world.main.report["review_summary"]
    assert (summary["ranked"], summary["eliminated"], summary["waiting"]) == (len(hand), k, len(WAITING_UNITS))


def test_scope_per_prefecture_ranks_each_region_apart(world, tmp_path):
    """--scope 地州市: each 所属地区 is ranked on its own, from 1, and loses its own ceil(5 % × ranked) — one
    each here (哈密's only ranked unit is its own bottom 5 %)."""
    out = run_cli(world.returns, world.packs, tmp_path / "out", "--no-ledger", "--scope", "地州市")
    assert out.code == 0
    hand = {u.code: world.expected_composite(u.code) for u in COMPLETE_UNITS}
    regions: dict[str, dict[str, float]] = {}
    for u in COMPLETE_UNITS:
        regions.setdefault(u.region, {})[u.code] = hand[u.code]
    results = out.results
    expected_out = set()
    for region, group in regions.items():
        k = elimination_count(len(group), spec=SPEC)
        expected_out |= _bottom(group, k)
        for c in group:
            assert results[c]["rank"] == 1 + sum(1 for x in group.values() if x > group[c]), (region, c)
    assert {c for c, r in results.items() if r["eliminated"]} == expected_out
    assert len(expected_out) == len(regions) == 4
    assert {c for c, r in results.items() if r["rank"] is not None} == set(hand)
    assert results[BAD.code]["rank"] is None


# ---------------------------------------------------------------- 11. 评审进度 and 指标得分

def test_review_progress_lists_each_weighed_reviewer_per_unit(world):
    """Per unit, every reviewer its level weighs (and the 自治区 where it re-checked): 已评完 / 未评完 / 未收到
    (the 哈密 县市区 pack never came back), and BAD's not in any pack. The 评审进度 sheet lists the same."""
    c, p, r = "county", "prefecture", "region"
    expected = {
        (TIANCHI.code, c): COMPLETE, (TIANCHI.code, p): COMPLETE,
        (BEITING.code, c): UNFINISHED, (BEITING.code, p): COMPLETE,
        (NASTY.code, c): COMPLETE, (NASTY.code, p): UNFINISHED,
        (WATER.code, c): NOT_APPLICABLE, (WATER.code, p): NOT_APPLICABLE,   # unit 1 cannot be scored: E211
        (BAD.code, c): NOT_APPLICABLE, (BAD.code, p): NOT_APPLICABLE,
        (XUELIAN.code, c): COMPLETE, (XUELIAN.code, p): COMPLETE,
        (GUOYUAN.code, c): COMPLETE, (GUOYUAN.code, p): COMPLETE, (GUOYUAN.code, r): COMPLETE,
        (DONGTIANSHAN.code, c): NOT_RECEIVED, (DONGTIANSHAN.code, p): COMPLETE,
        (BAIYANGHE.code, c): NOT_RECEIVED, (BAIYANGHE.code, p): COMPLETE,
        (CHANGJI_JU.code, p): COMPLETE, (HAMI_JU.code, p): COMPLETE, (YILI_JU.code, p): COMPLETE,
        (FUWU.code, r): COMPLETE, (JIANCE.code, r): COMPLETE, (DANGAN.code, r): COMPLETE,
    }
    progress = world.main.report["review_progress"]
    assert {(x["unit_code"], x["reviewer"]): x["status"] for x in progress} == expected
    assert len(progress) == len(expected)
    for x in progress:
        level = world.units[x["unit_code"]]["unit_level"]
        assert x["weighed"] is (x["reviewer"] in WEIGHTS[level])
    # Each unit's weighed reviewers are all there.
    for code, u in world.units.items():
        assert {k for k in WEIGHTS[u["unit_level"]] if k != "self"} <= {k for (cc, k) in expected if cc == code}
    assert next(x for x in progress if (x["unit_code"], x["reviewer"]) == (BEITING.code, c))["missing"] == 3

    labels = SPEC.assessment.reviewers
    sheet = {(x["统一社会信用代码"], x["评审部门"]): x["评审状态"] for x in world.main.sheet("评审进度")}
    assert sheet == {(code, labels[k]): s for (code, k), s in expected.items()}


def test_indicator_scores_have_one_row_per_indicator_and_a_chart(world):
    """指标得分: one row per indicator of the spec, in its order, and a chart of the lowest rates. Nobody lost
    points on 2.1.1 in a complete card (NASTY's illegal 2.5 is on an unfinished one): its review rate is 100 %."""
    averages = world.main.report["indicator_averages"]
    assert [a["indicator"] for a in averages] == [i.id for i in SPEC.indicators]
    assert len(averages) == SPEC.assessment.declared_indicators
    complete_cards = sum(1 for c in world.main.report["reviews"] if c["used"] and c["matched"] and c["missing"] == 0)
    assert {a["scorecards"] for a in averages} == {complete_cards}
    a211 = next(a for a in averages if a["indicator"] == "2.1.1")
    assert a211["review_average"] == 3.0 and a211["review_rate"] == 1.0

    ws = openpyxl.load_workbook(world.main.summary)["指标得分"]
    ids = [ws.cell(r, 1).value for r in range(3, 3 + len(SPEC.indicators))]
    assert ids == [i.id for i in SPEC.indicators]
    assert ws.cell(3 + len(SPEC.indicators), 1).value is None         # no more indicator rows
    assert _charts_on(world.main.summary, "指标得分")


def _charts_on(summary: Path, title: str) -> list[str]:
    """The chart parts drawn on sheet `title` (workbook → sheet → drawing → chart relationships)."""
    with zipfile.ZipFile(summary) as z:
        def rels(part: str) -> dict[str, str]:
            folder, name = part.rsplit("/", 1)
            text = z.read(f"{folder}/_rels/{name}.rels").decode()
            return {m[0]: os.path.normpath(f"{folder}/{m[1]}")
                    for m in re.findall(r'Id="([^"]+)"[^>]*Target="([^"]+)"', text)}
        book = z.read("xl/workbook.xml").decode()
        rid = re.search(r'<sheet name="%s"[^>]*r:id="([^"]+)"' % title, book)[1]
        sheet = rels("xl/workbook.xml")[rid]
        drawings = [t for t in rels(sheet).values() if "/drawings/" in t]
        charts = [t for d in drawings for t in rels(d).values() if "/charts/" in t]
        assert all(title in z.read(c).decode() for c in charts)       # its series are the sheet's rows
        return charts


# ---------------------------------------------------------------- 12. a pack saved by another program

@pytest.mark.libreoffice
def test_a_pack_resaved_by_libreoffice_is_read_with_the_same_totals(world, tmp_path, monkeypatch):
    """The 哈密 地州市 pack opened and saved by LibreOffice (as Excel or WPS would save it: every formula now has a
    cached result) is read with the same totals, and those cached results agree with the recomputation (no
    R603)."""
    saved = libreoffice.convert([world.packs / PREF_HM.file], tmp_path / PACKS_DIR, "xlsx")
    assert saved[0].read_bytes() != (world.packs / PREF_HM.file).read_bytes()
    # LibreOffice writes text as shared strings: the table is read once for the first scorecard and once whole,
    # not once per scorecard (quadratic, and a big pack would exhaust its inflate budget: F106).
    from addin.consolidate.read import workbook as reader
    reads = []
    real = reader.shared_strings

    def counted(*args, **kwargs):
        reads.append(args[1])
        return real(*args, **kwargs)
    monkeypatch.setattr(reader, "shared_strings", counted)
    # Every formula on its scorecards now carries a result: the R603 comparison really runs on this file.
    cards = read_returned(saved[0]).scorecards
    assert len(cards) >= 3 and len(reads) == 2
    assert len(cards) == len(PREF_HM.cards) and all(c.cells.formulas and c.cells.formulas <= c.cells.cached
                                                    for c in cards)
    out = run_cli(world.returns, tmp_path / PACKS_DIR, tmp_path / "out", "--no-ledger")
    assert out.file(PREF_HM)["status"] == CONSOLIDATED and out.file(PREF_HM)["kind"] == "review"
    assert out.findings(PREF_HM) == []
    got = {c: (r["total"], r["missing"]) for c, r in out.cards(PREF_HM).items()}
    assert got == {c: (r["total"], r["missing"]) for c, r in world.main.cards(PREF_HM).items()}
    assert got == {u.code: (pytest.approx(world.total("prefecture", u.code)), 0)
                   for u in (DONGTIANSHAN, BAIYANGHE, HAMI_JU)}
    assert out.results[HAMI_JU.code]["composite"] == world.main.results[HAMI_JU.code]["composite"]


# ---------------------------------------------------------------- 13. the ledger

def _without_disappeared(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k != "disappeared"}


def test_a_ledger_rerun_after_changing_a_pack_equals_a_fresh_run(world, tmp_path, monkeypatch):
    """With the ledger (the default), a second run after one pack changed (哈密局 now loses 30, not 6) reads that
    pack again — only that file — and gives the same report as a fresh --no-ledger run (all but
    "disappeared"); packs are in `files` with kind "review"."""
    returns, packs = tmp_path / "回收的工作簿", tmp_path / PACKS_DIR
    shutil.copytree(world.returns, returns)
    shutil.copytree(world.packs, packs)                 # copy2: the mtimes, hence CARD_RULE's choices, are kept
    first = run_cli(returns, packs, tmp_path / "ledger")
    assert first.code == 0 and (tmp_path / "ledger" / "汇总.jieyue-ledger.sqlite").exists()
    assert first.report["review_results"] == world.main.report["review_results"]

    changed = {**PREF_HM.cards, HAMI_JU.code: card("prefecture", 30)}
    write_packs(world.built, packs, [PREF_HM], **{PREF_HM.file: changed})
    os.utime(packs / PREF_HM.file, (T0 + 60, T0 + 60))

    read: list[str] = []
    real = workers_module.read_returned
    monkeypatch.setattr(workers_module, "read_returned", lambda path: read.append(path.name) or real(path))
    again = run_cli(returns, packs, tmp_path / "ledger")
    assert read == [PREF_HM.file]
    monkeypatch.undo()

    fresh = run_cli(returns, packs, tmp_path / "fresh", "--no-ledger")
    assert _without_disappeared(again.report) == _without_disappeared(fresh.report)
    assert again.results[HAMI_JU.code]["scores"]["prefecture"] == \
           pytest.approx(world.total("prefecture", HAMI_JU.code, loss=30))
    assert again.results[HAMI_JU.code]["composite"] == \
           pytest.approx(world.composite(HAMI_JU.code, {"prefecture": world.total("prefecture", HAMI_JU.code, 30)}))
    kinds = {f["path"]: f["kind"] for f in again.report["files"]}
    assert all(kinds[p.path] == "review" for p in PACKS)
    assert sum(k == "review" for k in kinds.values()) == len(PACKS)


def test_a_review_pack_may_inflate_more_than_a_units_return(world):
    """One sheet per unit makes a pack far larger than a return (931 units: 94 MB inflated): once the workbook
    says it is a review pack, what may still be inflated is raised from a return's budget to a pack's."""
    from addin.consolidate.read import _read_review
    from addin.consolidate.read.preflight import Limits, Package
    from addin.consolidate.read.workbook import Workbook
    pack = next(p for p in sorted(world.packs.iterdir()) if p.suffix == ".xlsx")
    limits = Limits()
    package = Package(pack.read_bytes(), limits)
    book = Workbook.load(package)
    before = package.budget
    assert before <= limits.inflate_budget
    content = _read_review(book)
    assert content.scorecards and not content.findings
    raised = limits.review_inflate_budget - limits.inflate_budget
    assert package.budget > before + raised - 10 * 1024 * 1024           # raised, minus what the cards took
