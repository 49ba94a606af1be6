"""Issue 14 §1: `jieyue review-pack --split` — a review pack written in several workbooks, and consolidated as one
authority's review.

The returns are the review tests' (`tests.reviews`: the sample roster's twelve units and three more; two have errors
and stay out of every pack), so a pack covers 13 units — 4 地州市 at the 自治区 level (乌鲁木齐市 3, 伊犁 3, 哈密 3,
昌吉 4). Worked examples: `--split 5` over 13 units → parts of 5, 5 and 3 units (「单位1-5」「单位6-10」「单位11-13」);
the 自治区 pack without --split → one part per 地州市, `评审包_01_乌鲁木齐市.xlsx` … `评审包_04_昌吉回族自治州.xlsx`.
"""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from addin.cli import main
from addin.consolidate import consolidate, write_outputs
from addin.consolidate.model import CONSOLIDATED, REJECTED
from addin.consolidate.review_content import COMPLETE, NOT_RECEIVED
from addin.consolidate.signatures import VALID
from addin.review import split as split_module
from addin.review.pack import build_review_pack, write_review_pack
from addin.review.split import BY_REGION, partition
from generator.fill import fill_workbook
from generator.ooxml import TEMP_PREFIX
from udfs.review import DEDUCTING, given_values
from udfs.signature import pack_message, sign
from workbook_templates.contract import META_SHEET
from workbook_templates.review_names import findings_name, given_name

from tests.reviews import SEED, SPEC, write_returns

KEY = bytes(range(32))
SCORED = [i for i in SPEC.indicators if i.rule.type != "computed_target"]
REGIONS = ["乌鲁木齐市", "伊犁哈萨克自治州", "哈密市", "昌吉回族自治州"]


def full_marks(level: str) -> dict[str, Any]:
    """A complete scorecard's entries at full marks: the highest legal value, no findings."""
    entries: dict[str, Any] = {"rev_reviewer": "评审组 王某", "rev_date": "2023-09-05"}
    for ind in SCORED:
        if ind.rule.type in DEDUCTING:
            entries[findings_name(level, ind.id)] = 0
        if ind.rule.type != "deduction":
            entries[given_name(level, ind.id)] = max(given_values(ind, spec=SPEC))
    return entries


def meta_of(data: bytes) -> dict[str, Any]:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb[META_SHEET]
    return {row[0].value: row[1].value for row in ws.iter_rows(min_row=1, max_col=2)}


def scorecard_titles(data: bytes) -> list[str]:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    return [ws.title for ws in wb.worksheets if "rev_unit_code" in ws.defined_names]


@pytest.fixture(scope="module")
def returns(tmp_path_factory) -> Path:
    return write_returns(tmp_path_factory.mktemp("split") / "回收", key=KEY)


@pytest.fixture(scope="module")
def region_pack(returns):
    """The 自治区's pack, one part per 地州市, signed."""
    return build_review_pack(returns, "自治区", seed=SEED, spec=SPEC, split=BY_REGION, key=KEY)


# ---------------------------------------------------------------- which units go into which part

def test_split_by_n_units(returns):
    pack = build_review_pack(returns, "自治区", seed=SEED, spec=SPEC, split=5)
    assert [len(p.units) for p in pack.parts] == [5, 5, 3]
    assert [p.part.label for p in pack.parts] == ["单位1-5", "单位6-10", "单位11-13"]
    assert [u.code for p in pack.parts for u in p.units] == [u.code for u in pack.units]     # every unit once, in order
    assert pack.data == b"" and pack.plan is None                                          # no single workbook
    ids = {p.part.pack_id for p in pack.parts}
    assert len(ids) == 1 and len(ids.pop()) == 12
    for number, p in enumerate(pack.parts, start=1):
        meta = meta_of(p.data)
        assert (meta["pack_part"], meta["pack_parts"], meta["scorecard_count"]) == (number, 3, len(p.units))
        assert meta["pack_id"] == p.part.pack_id and meta["pack_part_label"] == p.part.label
        assert len(scorecard_titles(p.data)) == len(p.units)          # each part a whole pack of its own units


def test_one_workbook_is_part_1_of_1(returns):
    pack = build_review_pack(returns, "县市区", seed=SEED, spec=SPEC)
    assert len(pack.parts) == 1 and pack.data == pack.parts[0].data
    meta = meta_of(pack.data)
    assert (meta["pack_part"], meta["pack_parts"], meta["scorecard_count"]) == (1, 1, len(pack.units))
    assert meta["pack_part_label"] is None


def test_partition_by_region_keeps_the_units_order():
    from generator.review_layout import ReviewUnit
    units = [ReviewUnit(name=n, code=c, level="县市区级", region=r, self_scores={}, self_units={}, self_total=None)
             for n, c, r in (("甲", "1", "哈密市"), ("乙", "2", ""), ("丙", "3", "哈密市"))]
    assert [(label, [u.code for u in part]) for label, part in partition(units, BY_REGION)] == \
           [("哈密市", ["1", "3"]), ("未填所属地区", ["2"])]
    assert [len(p) for _, p in partition(units, 0)] == [3] and [len(p) for _, p in partition(units, None)] == [3]
    with pytest.raises(ValueError, match="--split"):
        partition(units, -1)


def test_the_region_pack_is_split_per_prefecture_by_default(returns, tmp_path, capsys):
    out = tmp_path / "评审包.xlsx"
    assert main(["review-pack", str(returns), "--level", "自治区", "--seed", str(SEED), "-o", str(out)]) == 0
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == [f"评审包_{i:02d}_{r}.xlsx" for i, r in enumerate(REGIONS, start=1)]
    for i, region in enumerate(REGIONS, start=1):
        data = (tmp_path / f"评审包_{i:02d}_{region}.xlsx").read_bytes()
        meta = meta_of(data)
        assert (meta["pack_part"], meta["pack_parts"], meta["pack_part_label"]) == (i, 4, region)
        wb = openpyxl.load_workbook(io.BytesIO(data))
        regions = {wb[t]["B3"].value for t in scorecard_titles(data)}
        assert regions == {region}
    printed = capsys.readouterr().out
    assert "分为 4 个工作簿" in printed and "评审包_04_昌吉回族自治州.xlsx（昌吉回族自治州，4 个单位）" in printed


def test_other_levels_write_one_workbook_unless_split(returns, tmp_path):
    out = tmp_path / "县市区.xlsx"
    assert main(["review-pack", str(returns), "--level", "县市区", "-o", str(out)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["县市区.xlsx"]
    assert main(["review-pack", str(returns), "--level", "自治区", "--split", "0", "-o", str(tmp_path / "全区.xlsx")]) == 0
    assert meta_of((tmp_path / "全区.xlsx").read_bytes())["pack_parts"] == 1
    assert main(["review-pack", str(returns), "--level", "县市区", "--split", "3", "-o", str(out)]) == 0
    assert sorted(p.name for p in tmp_path.glob("县市区_*.xlsx")) == ["县市区_01_单位1-3.xlsx", "县市区_02_单位4-6.xlsx",
                                                                   "县市区_03_单位7.xlsx"]


def test_a_split_that_is_not_a_number_is_refused_in_chinese(returns, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["review-pack", str(returns), "--level", "县市区", "--split", "五", "-o", str(tmp_path / "x.xlsx")])
    assert e.value.code == 2
    assert "「五」不是每个工作簿的单位数" in capsys.readouterr().err


# ---------------------------------------------------------------- all parts written, or none

def test_all_parts_are_written_or_none(region_pack, tmp_path, monkeypatch):
    out = tmp_path / "评审包.xlsx"
    first = tmp_path / "评审包_01_乌鲁木齐市.xlsx"
    first.write_bytes(b"the previous part 1")
    real = split_module.write_temporary
    calls = []

    def fail_on_the_third(path, data, tag=""):
        calls.append(path)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(path, data, tag)
    monkeypatch.setattr(split_module, "write_temporary", fail_on_the_third)
    with pytest.raises(OSError):
        write_review_pack(region_pack, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == [first.name]            # no temporary left, no new part
    assert first.read_bytes() == b"the previous part 1"
    monkeypatch.setattr(split_module, "write_temporary", real)
    written = write_review_pack(region_pack, out)
    assert [path.name for path, _ in written] == [f"评审包_{i:02d}_{r}.xlsx" for i, r in enumerate(REGIONS, start=1)]
    assert not list(tmp_path.glob(f"{TEMP_PREFIX}*"))


# ---------------------------------------------------------------- consolidated as one authority's review

def _returned_parts(pack, folder: Path, parts: list[int]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for p in pack.parts:
        if p.part.number in parts:
            filled = fill_workbook(p.data, scorecards={u.code: full_marks("region") for u in p.units})
            (folder / f"自治区_{p.part.number:02d}.xlsx").write_bytes(filled)


def test_the_returned_parts_count_as_one_review(region_pack, returns, tmp_path):
    packs = tmp_path / "评审包"
    _returned_parts(region_pack, packs, [1, 2, 3, 4])
    run = consolidate(returns, reviews=packs, spec=SPEC, key=KEY, workers=1)
    read = [f for f in run.files if f.kind == "review"]
    assert len(read) == 4 and all(f.status == CONSOLIDATED for f in read), [f.findings for f in read]
    assert all(run.signatures.status[f.path] == VALID for f in read)                # each part signed on its own
    chosen = {c.unit_code for c in run.review_cards if c.chosen and c.level == "region"}
    assert chosen == {u.code for u in region_pack.units}                           # one card per unit, no R605
    assert not [x for f in read for x in f.findings if x.code in ("R605", "R609")]
    write_outputs(run, tmp_path / "汇总.xlsx", tmp_path / "汇总.json", SPEC)
    report = json.loads((tmp_path / "汇总.json").read_text("utf-8"))
    (pack,) = report["review_packs"]
    assert pack["pack_id"] == region_pack.parts[0].part.pack_id and pack["reviewer"] == "region"
    assert pack["parts"] == 4 and pack["missing"] == [] and [p["part"] for p in pack["received"]] == [1, 2, 3, 4]
    progress = [p for p in report["review_progress"] if p["reviewer"] == "region"]
    assert {p["unit_code"] for p in progress if p["status"] == COMPLETE} == {u.code for u in region_pack.units}


def test_a_missing_part_is_named(region_pack, returns, tmp_path):
    """Parts 1, 2 and 4 come back, 3 (哈密市) does not: R609 on each part received names 第 3 部分, and the units
    of 哈密市 the 自治区 reviews are 未收到."""
    packs = tmp_path / "评审包"
    _returned_parts(region_pack, packs, [1, 2, 4])
    run = consolidate(returns, reviews=packs, spec=SPEC, workers=1)
    for f in (f for f in run.files if f.kind == "review"):
        (r609,) = [x for x in f.findings if x.code == "R609"]
        assert "共 4 部分" in r609.message and "缺少第 3 部分" in r609.message
    assert SPEC.checks["R609"].severity == "警告"
    write_outputs(run, tmp_path / "汇总.xlsx", tmp_path / "汇总.json", SPEC)
    report = json.loads((tmp_path / "汇总.json").read_text("utf-8"))
    assert report["review_packs"][0]["missing"] == [3]
    hami = {u.code for u in region_pack.parts[2].units}
    states = {p["unit_code"]: p["status"] for p in report["review_progress"] if p["reviewer"] == "region"}
    assert hami and all(states[c] == NOT_RECEIVED for c in hami if c in states)
    # 说明 counts the parts as one pack, and names the part missing
    book = openpyxl.load_workbook(tmp_path / "汇总.xlsx", read_only=True)
    notes = [v for row in book["说明"].iter_rows(values_only=True) for v in row if isinstance(v, str)]
    book.close()
    assert any(n.startswith("读取评审包 1 份（其中自治区机关事务管理局的评审包分为 4 个工作簿，收到 3 个，缺少第 3 部分") for n in notes)


def test_a_rejected_part_is_named_as_rejected(region_pack, returns, tmp_path):
    """Part 2 comes back with its part number changed to 5: its signature no longer verifies (S704), so it is not
    used; the other parts name part 2 as missing, and the file as rejected."""
    packs = tmp_path / "评审包"
    _returned_parts(region_pack, packs, [1, 2, 3, 4])
    second = packs / "自治区_02.xlsx"
    wb = openpyxl.load_workbook(second)
    (title, ref), = wb.defined_names["pack_part"].destinations
    wb[title][ref.replace("$", "")].value = 5
    wb.save(second)
    run = consolidate(returns, reviews=packs, spec=SPEC, key=KEY, workers=1)
    files = {Path(f.path).name: f for f in run.files if f.kind == "review"}
    assert files["自治区_02.xlsx"].status == REJECTED and "S704" in {x.code for x in files["自治区_02.xlsx"].findings}
    message = next(x.message for x in files["自治区_01.xlsx"].findings if x.code == "R609")
    assert "缺少第 2 部分（本评审包的「" in message and "自治区_02.xlsx」已拒收" in message


def test_each_part_is_signed_with_its_place_in_the_pack(region_pack):
    for p in region_pack.parts:
        meta = meta_of(p.data)
        titles = scorecard_titles(p.data)
        assert meta["signature"] == sign(KEY, pack_message(
            template_version=meta["template_version"], assessment_year=meta["assessment_year"],
            review_level="region", review_region=None, scorecards=[(u.code, t) for u, t in zip(p.units, titles)],
            pack_id=p.part.pack_id, pack_part=p.part.number, pack_parts=4))
    assert len({meta_of(p.data)["signature"] for p in region_pack.parts}) == 4
