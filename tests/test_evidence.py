"""佐证材料 (issue 13 §1): the `evid_<id>` lists in the fill-in workbook, the folder or zip beside each return, the
consolidation's index (`run.evidence`, the report's `evidence`, the 佐证材料 sheet) and every finding — a hostile zip
and an .exe included.

The returns folder here holds four units of the sample roster, each filled with `plausible_inputs` and the lists
`plausible_evidence` makes (one PDF per 评价内容, a photo with its caption), then handed in as the test says:
    FOLDER  a folder with every listed file — minus one (missing), plus 未列出.pdf (unlisted), 工具.exe (refused),
            数据.xyz (type outside the lists), a file over the size limit (sparse: nothing written), a link; and
            one indicator scored above 0 whose list is emptied (no evidence)
    ZIPPED  the same files in a zip: indexed like a folder
    HOSTILE a zip whose member is named ../../逃逸.pdf: unusable as a whole, nothing listed
    BOMB    a zip whose member inflates 2 MB of zeros at a ratio far above the returns' limit
"""
from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from addin.consolidate import consolidate
from addin.consolidate.content import content
from addin.consolidate import evidence as evidence_module
from addin.consolidate.evidence import (Convention, UnitEvidence, Unlisted, entry_dictionary, index_unit, indexed,
                                        indexed_unlisted, linkable, packed_entry, unpacked)
from addin.consolidate.evidence_sheet import evidence_row, evidence_rows
from addin.consolidate.report_json import dumps
from addin.consolidate.summary import render
from addin.consolidate.unit_indicators import self_counted
from addin.consolidate.walk import survey
from addin.demo import PHOTO, plausible_evidence, plausible_inputs, return_one, sample_roster, write_evidence
from generator import template_bytes
from generator.personalise import Personaliser
from generator.roster import safe_file_name
from udfs.evidence import (BAD_ZIP, KINDS, MISSING, NO_EVIDENCE, NOT_FILE, OTHER_TYPE, OVERSIZE, REFUSED, UNLISTED,
                           Found, evidence_name, findings, is_evidence_name, listed_files, match, safe_member)
from udfs.scoring import legal_values
from workbook_templates import contract_names, load_spec

SPEC = load_spec()
EV = SPEC.process.evidence


# ---------------------------------------------------------------- the rules, by hand

def test_a_list_is_names_separated_by_semicolons_captions_dropped():
    assert listed_files("宣传栏.jpg（节能宣传周展板）；制度.pdf; 照片/会议.png：培训现场\n制度.pdf") == [
        "宣传栏.jpg", "制度.pdf", "照片/会议.png"]
    assert listed_files("照片 (1).jpg") == ["照片 (1).jpg"]          # a bracket inside the name is kept
    assert listed_files(None) == [] and listed_files(3) == [] and listed_files(" ；； ") == []


def test_a_listed_name_finds_its_file_by_path_or_by_its_only_name():
    found = [Found("照片/会议.png", 10, "png", "allowed"), Found("制度.PDF", 10, "pdf", "allowed"),
             Found("a/同名.pdf", 1, "pdf", "allowed"), Found("b/同名.pdf", 1, "pdf", "allowed")]
    got = match({"2.1.1": ["会议.png", "制度.pdf", "同名.pdf", "ａ/同名.pdf"]}, found)
    assert got == {("2.1.1", "会议.png"): "照片/会议.png",      # the only file of that name
                   ("2.1.1", "制度.pdf"): "制度.PDF",           # case folded
                   ("2.1.1", "同名.pdf"): None,                 # two files of that name: which one is unknown
                   ("2.1.1", "ａ/同名.pdf"): "a/同名.pdf"}      # full-width forms folded


def test_every_kind_of_finding_by_hand():
    found = [Found("制度.pdf", 10, "pdf", "allowed"), Found("多余.pdf", 10, "pdf", "allowed"),
             Found("工具.exe", 10, "exe", "refused"), Found("大.pdf", EV.max_file_bytes + 1, "pdf", "allowed")]
    listed = {"2.1.1": ["制度.pdf", "缺.pdf"], "2.1.2": ["工具.exe", "大.pdf"]}
    scored = {"2.1.1": 1.0, "2.1.2": 0.5, "2.2.1": 2.0, "2.2.2": 0.0, "2.2.3": None}
    got, _ = findings(listed, scored, found, EV.max_file_bytes)
    assert [(f.kind, f.indicator, f.file) for f in got] == [
        (NO_EVIDENCE, "2.2.1", ""),                 # scored above 0, nothing listed (0 and blank ask nothing)
        (MISSING, "2.1.1", "缺.pdf"),
        (UNLISTED, "", "多余.pdf"),                  # then each file handed in, by path
        (OVERSIZE, "", "大.pdf"),
        (REFUSED, "", "工具.exe")]


def test_names_of_the_convention():
    assert evidence_name("2.1.1") == "evid_2_1_1"
    assert is_evidence_name("11654025104204232C_佐证材料") and is_evidence_name("X_佐证材料.zip")
    assert not is_evidence_name("_佐证材料") and not is_evidence_name("佐证材料.zip")
    assert safe_member("照片/1.jpg") and not safe_member("../1.jpg") and not safe_member("/etc/x")
    assert not safe_member("a\\..\\b") and not safe_member("C:/x") and not safe_member("a/../../b")


# ---------------------------------------------------------------- the fill-in workbook

def test_each_scored_indicator_has_a_named_list_with_a_length_limit():
    wb = openpyxl.load_workbook(io.BytesIO(template_bytes(SPEC, SPEC.default_year, SPEC.default_preset)))
    names = {n.name for n in contract_names(SPEC) if n.kind == "evidence"}
    scored = [i for i in SPEC.indicators if i.rule.type != "computed_target"]
    assert names == {evidence_name(i.id) for i in scored}
    title, ref = next(iter(wb.defined_names[evidence_name(scored[0].id)].destinations))
    ws = wb[title]
    cell = ws[ref.replace("$", "")]
    assert cell.protection.locked is False and cell.value is None
    rules = [dv for dv in ws.data_validations.dataValidation if cell.coordinate in dv.sqref]
    assert rules and rules[0].type == "textLength" and rules[0].formula1 == str(EV.max_list_chars)
    # the 提示 beside it: blank until scored; asks for the files once scored above 0 with nothing listed
    note = ws.cell(cell.row, cell.column - 1)
    assert note.value.startswith("=IF(ISBLANK(") and "请在「佐证材料」列写明文件名" in note.value
    guide = "\n".join(str(c.value) for row in wb["填表说明"].iter_rows() for c in row if c.value)
    assert "_佐证材料" in guide and "pdf" in guide and "；" in guide


# ---------------------------------------------------------------- a returns folder with evidence

FOLDER, ZIPPED, HOSTILE, BOMB = (u.code for u in sample_roster(SPEC)[:4])
EMPTIED = "2.3.2"          # not the first scored indicator: that one also lists the photo


@pytest.fixture(scope="module")
def returns(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("evidence") / "回收"
    folder.mkdir()
    personaliser = Personaliser(SPEC, SPEC.default_year, SPEC.default_preset)
    handed: dict[str, dict] = {}
    for unit in sample_roster(SPEC)[:4]:
        inputs = plausible_inputs(unit.code, SPEC)
        ind = SPEC.indicator(EMPTIED)
        inputs[ind.score_name] = legal_values(ind, spec=SPEC)[-1]     # scored above 0 …
        listed, files = plausible_evidence(inputs, SPEC)
        if unit.code == FOLDER:
            listed[evidence_name(EMPTIED)] = ""                   # … with nothing listed
        return_one(unit, folder / safe_file_name(unit.code, unit.name), {**inputs, **listed}, personaliser)
        handed[unit.code] = {"listed": listed, "files": files}
    # FOLDER: one listed file left out, extra files, an oversize one, a link
    files = dict(handed[FOLDER]["files"])
    gone = sorted(p for p in files if p.endswith(".pdf"))[0]
    del files[gone]
    files.update({"未列出.pdf": b"%PDF-1.4", "工具.exe": b"MZ\x90\x00", "数据.xyz": b"?"})
    target = write_evidence(folder, FOLDER, files)
    with open(target / "大.pdf", "wb") as f:
        f.truncate(EV.max_file_bytes + 1)                         # sparse: nothing written, nothing hashed
    os.symlink("/etc/passwd", target / "链接.pdf")
    handed[FOLDER]["gone"] = gone
    write_evidence(folder, ZIPPED, handed[ZIPPED]["files"], as_zip=True)
    with zipfile.ZipFile(folder / f"{HOSTILE}_佐证材料.zip", "w") as z:
        z.writestr("../../逃逸.pdf", b"%PDF-1.4")
        z.writestr("正常.pdf", b"%PDF-1.4")
    with zipfile.ZipFile(folder / f"{BOMB}_佐证材料.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("炸弹.pdf", bytes(2 * 1024 * 1024))
    return folder, handed


@pytest.fixture(scope="module")
def data(returns) -> dict:
    folder, _ = returns
    run = consolidate(folder, spec=SPEC, workers=1)
    return content(run, SPEC)


def entry(data: dict, code: str) -> dict:
    return next(unpacked(u) for u in data["evidence"]["units"] if u.unit_code == code)


def kinds(u: dict) -> list[tuple]:
    return [(x["kind"], x["indicator"], x["file"]) for x in u["findings"]]


def test_the_walk_never_reads_evidence_as_returns(data):
    acc = data["accounting"]
    assert acc["consolidated"] == 4 and acc["rejected"] == 0
    skipped = {f["path"]: f["skip_reason"] for f in data["files"] if f["status"] == "skipped"}
    assert set(skipped) == {f"{FOLDER}_佐证材料/", f"{ZIPPED}_佐证材料.zip", f"{HOSTILE}_佐证材料.zip",
                            f"{BOMB}_佐证材料.zip"}
    assert all("佐证材料" in why for why in skipped.values())
    # 文件清单 says what they are: 佐证材料, not 填报工作簿
    assert {f["kind_label"] for f in data["files"] if f["status"] == "skipped"} == {"佐证材料"}
    assert not any("工具.exe" in f["path"] for f in data["files"])


def test_what_the_walk_lists_as_handed_in_is_a_real_folder_or_a_regular_zip(tmp_path):
    """The evidence stage takes what each unit handed in from the walk's listing: a folder or a regular .zip with
    the convention's name; a link of either name or one in a hidden folder is not handed in, and a folder named like
    the zip is a folder (which the unit's folder name does not match), never a zip."""
    code = "91650000000000000A"
    (tmp_path / f"{code}_佐证材料").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / f"{code}_佐证材料.zip").write_bytes(b"PK")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / f"{code}_佐证材料.zip").mkdir()                   # a folder named like the zip
    (tmp_path / "d").mkdir()
    os.symlink(tmp_path / f"{code}_佐证材料", tmp_path / "d" / f"{code}_佐证材料")
    os.symlink(tmp_path / "b" / f"{code}_佐证材料.zip", tmp_path / "d" / f"{code}_佐证材料.zip")
    (tmp_path / ".e").mkdir()
    (tmp_path / ".e" / f"{code}_佐证材料").mkdir()                      # in a hidden folder: never walked
    assert survey(tmp_path).evidence() == {str(tmp_path / f"{code}_佐证材料"): "folder",
                                           str(tmp_path / "b" / f"{code}_佐证材料.zip"): "zip",
                                           str(tmp_path / "c" / f"{code}_佐证材料.zip"): "folder"}


def test_a_folder_with_every_finding(data, returns):
    _, handed = returns
    u = entry(data, FOLDER)
    assert u["source"] == "folder" and u["location"] == f"{FOLDER}_佐证材料/"
    got = kinds(u)
    gone = handed[FOLDER]["gone"]
    assert (NO_EVIDENCE, EMPTIED, None) in got
    assert {(k, f) for k, _, f in got if k == MISSING} == {(MISSING, gone)}
    assert {f for k, _, f in got if k == UNLISTED} == {"未列出.pdf", "工具.exe", "数据.xyz", "大.pdf"}
    assert (REFUSED, None, "工具.exe") in got and (OTHER_TYPE, None, "数据.xyz") in got
    assert (OVERSIZE, None, "大.pdf") in got and (NOT_FILE, None, "链接.pdf") in got
    files = {x["path"]: x for x in u["files"]}
    assert files["大.pdf"]["sha256"] is None and len(files["工具.exe"]["sha256"]) == 64
    assert "链接.pdf" not in files                                   # a link is never followed nor listed
    assert files[PHOTO[0]]["listed_by"]                               # the photo, listed with its caption
    # a scorecard may link only to allowed files that an indicator lists
    assert {x["path"] for x in linkable(u)} == {p for p in handed[FOLDER]["files"] if p != gone}


def test_a_zip_is_indexed_like_a_folder(data, returns):
    _, handed = returns
    u = entry(data, ZIPPED)
    assert u["source"] == "zip" and u["zip_problem"] is None
    assert sorted(x["path"] for x in u["files"]) == sorted(handed[ZIPPED]["files"])
    assert not [k for k in kinds(u) if k[0] != NO_EVIDENCE] and u["with_evidence"] == u["scored"] - 0
    assert linkable(u) == []                                          # a zip's members have no path to open


def test_a_hostile_zip_is_unusable_as_a_whole(data):
    u = entry(data, HOSTILE)
    assert u["source"] == "zip" and u["files"] == [] and "越出" in u["zip_problem"]
    assert kinds(u)[0] == (BAD_ZIP, None, f"{HOSTILE}_佐证材料.zip")
    assert {k for k, _, _ in kinds(u)} == {BAD_ZIP, MISSING}         # every listed file is then missing


def test_a_zip_bomb_is_refused_by_the_returns_limits(data):
    u = entry(data, BOMB)
    assert u["files"] == [] and "压缩炸弹" in u["zip_problem"]


def test_the_report_and_the_summary_sheet(data):
    section = json.loads(dumps(data))["evidence"]
    assert section["totals"]["units"] == 4
    assert section["units"] == [unpacked(u) for u in data["evidence"]["units"]]
    wb = openpyxl.load_workbook(io.BytesIO(render(data, SPEC)))
    ws = wb["佐证材料"]
    head = [c.value for c in ws[1]]
    rows = {r[head.index("统一社会信用代码")]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == {FOLDER, ZIPPED, HOSTILE, BOMB}
    missing = entry(data, FOLDER)["counts"][MISSING]                 # the gone PDF, once per indicator listing it
    assert missing >= 1 and rows[FOLDER][head.index("列出未找到")] == missing
    assert rows[FOLDER][head.index("类型不允许")] == 3                  # 工具.exe, 数据.xyz, 链接.pdf
    assert "越出" in rows[HOSTILE][head.index("问题说明")]


def test_an_entry_is_held_packed_and_given_back_as_made():
    """Once indexed, a unit's entry is held packed against a dictionary made from the spec (a unit listing 20 files
    has ~30 KB of tables, ~1.2 KB packed): unpacked it is the entry as made, the report splices in exactly its JSON,
    the 佐证材料 sheet gets its row."""
    entry = {"unit_code": FOLDER, "unit_name": "甲局\ud800", "unit_region": "哈密市", "unit_level": "县市区级",
             "file": "甲局.xlsx", "source": "folder", "location": f"{FOLDER}_佐证材料/", "zip_problem": None,
             "files": [{"path": "制度.pdf", "size": 8, "type": "pdf", "class": "allowed", "sha256": "ab" * 32,
                        "listed_by": ["2.1.1"]}],
             "indicators": [{"indicator": "2.1.1", "self_score": 0.5, "listed": ["制度.pdf", "缺.pdf"],
                             "found": ["制度.pdf"], "missing": ["缺.pdf"]}],
             "scored": 2, "with_evidence": 1, "listed": 2, "counts": {**dict.fromkeys(KINDS, 0), MISSING: 1},
             "findings": [{"kind": MISSING, "indicator": "2.1.1", "file": "缺.pdf"}]}
    held = packed_entry(entry, entry_dictionary(Convention.of(SPEC)))
    assert unpacked(held) == entry and held.unit_code == FOLDER               # the lone surrogate kept as it was
    assert dumps({"evidence": {"units": [held, held]}}) == dumps({"evidence": {"units": [entry, entry]}})
    assert list(evidence_rows({"units": [held]})) == [evidence_row(entry)]
    assert evidence_row(entry)[-1] == "列出的文件未找到：指标 2.1.1、「缺.pdf」"


# ---------------------------------------------------------------- units that hand nothing in and list nothing

RULES = Convention.of(SPEC)
DICTIONARY = entry_dictionary(RULES)
SELF_SCORED = [ind for ind, _ in RULES.indicators]


def by_index_unit(identity: dict, scores: dict) -> evidence_module.Indexed:
    """The unit `identity` (nothing handed in, nothing listed, self scores `scores`) indexed as every other unit is."""
    unit = {k: identity[k] for k in ("unit_name", "unit_region", "unit_level")}
    return indexed(UnitEvidence(identity["unit_code"], identity["file"], unit, {}, scores, {}, ""), Path(), RULES,
                   DICTIONARY)


def test_a_unit_that_hands_nothing_in_gets_the_entry_index_unit_makes():
    """Worked example: the first self-scored indicator scored 1, the second 0, the rest blank — one finding (scored
    above 0, nothing listed: 0 and blank ask for nothing). The entry made from the one of units alike (`Unlisted`,
    by the indicators scored above 0) is index_unit's byte for byte, and so is its row — even for a name that spells
    the key the findings are spliced in at."""
    scores = {**dict.fromkeys(SELF_SCORED), SELF_SCORED[0]: 1.0, SELF_SCORED[1]: 0.0}
    identity = {"unit_code": FOLDER, "unit_name": '甲局,"findings":[],\\"', "unit_region": "哈密市", "unit_level": None,
                "file": "哈密市/甲局.xlsx"}
    fast = indexed_unlisted(Unlisted.of((SELF_SCORED[0],), RULES), identity, DICTIONARY)
    assert fast == by_index_unit(identity, scores)
    got = unpacked(fast.entry)
    assert kinds(got) == [(NO_EVIDENCE, SELF_SCORED[0], None)] and got["scored"] == 1 and got["source"] is None
    assert got["unit_name"] == identity["unit_name"]
    assert json.loads(evidence_module.unpack(fast.entry.row, DICTIONARY))[0] == identity["unit_name"]


NAMES = st.one_of(st.none(), st.text(max_size=12), st.sampled_from(['"', "\\", ',"findings":[],', "甲\ud800局", "\x00"]))


@settings(max_examples=60, deadline=None)
@given(scores=st.lists(st.one_of(st.none(), st.floats(allow_nan=False), st.sampled_from([0.0, -0.0, -1.0, 0.5])),
                       min_size=len(SELF_SCORED), max_size=len(SELF_SCORED)),
       name=NAMES, region=NAMES, level=NAMES, code=st.text(max_size=20), path=st.text(min_size=1, max_size=20))
def test_the_entry_of_units_alike_is_index_units_whatever_the_scores_and_names(scores, name, region, level, code,
                                                                                path):
    """Any self scores (blank, zero, negative, above zero) and any names: the same `Indexed` as index_unit's."""
    by_indicator = dict(zip(SELF_SCORED, scores))
    positive = tuple(ind for ind, s in by_indicator.items() if s is not None and s > 0)
    identity = {"unit_code": code, "unit_name": name, "unit_region": region, "unit_level": level, "file": path}
    assert indexed_unlisted(Unlisted.of(positive, RULES), identity, DICTIONARY) == by_index_unit(identity, by_indicator)


def test_a_run_indexes_units_that_hand_nothing_in_from_units_alike(tmp_path, monkeypatch):
    """Three returns and nothing handed in beside them: A filled as usual, B with every self score blank, C listing a
    file. A and B are made from the entry of units alike (C's list has to be judged: index_unit), and every entry of
    the run is the one index_unit makes for its unit."""
    folder = tmp_path / "回收"
    folder.mkdir()
    personaliser = Personaliser(SPEC, SPEC.default_year, SPEC.default_preset)
    a, b, c = sample_roster(SPEC)[:3]
    for unit in (a, b, c):
        inputs = plausible_inputs(unit.code, SPEC)
        if unit is b:
            inputs.update({SPEC.indicator(ind).score_name: None for ind in SELF_SCORED})
        listed = {evidence_name(SELF_SCORED[0]): "制度.pdf"} if unit is c else {}
        return_one(unit, folder / safe_file_name(unit.code, unit.name), {**inputs, **listed}, personaliser)
    made_alike = []
    real = evidence_module.indexed_unlisted

    def counted(unlisted, identity, dictionary):
        made_alike.append(identity["unit_code"])
        return real(unlisted, identity, dictionary)
    monkeypatch.setattr(evidence_module, "indexed_unlisted", counted)
    run = consolidate(folder, spec=SPEC, workers=1)
    assert sorted(made_alike) == sorted([a.code, b.code])
    scores = self_counted(run.units, SPEC)
    ids = [ind.id for ind in SPEC.indicators]
    for k, f in enumerate(run.units):
        by_id = dict(zip(ids, scores[k].tolist()))
        lists = {evidence_name(SELF_SCORED[0]): "制度.pdf"} if f.code == c.code else {}
        unit = UnitEvidence(f.code, f.path, {n: f.unit.get(n) for n in ("unit_name", "unit_region", "unit_level")},
                            lists, {ind: None if by_id[ind] != by_id[ind] else by_id[ind] for ind in SELF_SCORED},
                            {}, "")
        assert unpacked(run.evidence["units"][k]) == index_unit(unit, folder, RULES)[0]
    assert unpacked(run.evidence["units"][[f.code for f in run.units].index(b.code)])["findings"] == []


def test_indexing_on_workers_gives_what_this_process_gives(returns, monkeypatch):
    """The four units indexed on two worker processes, one unit a chunk (so chunks are sent ahead and collected
    later), give the same entries, totals, stamps and listing digests as indexed here, in the same order."""
    import addin.consolidate.evidence as evidence_module
    folder, _ = returns
    run = consolidate(folder, spec=SPEC, workers=1)
    here = evidence_module.index_evidence(run, folder, SPEC, {}, kept={}, found=survey(folder).evidence(),
                                                workers=1)
    monkeypatch.setattr(evidence_module, "PARALLEL_FROM", 1)
    monkeypatch.setattr(evidence_module, "CHUNK_UNITS", 1)
    monkeypatch.setattr(evidence_module, "CHUNKS_AHEAD", 1)
    here_calls = []                                  # a unit indexed in this process (none: all on the workers)
    real = evidence_module.indexed

    def counted(*args):
        here_calls.append(args)
        return real(*args)
    monkeypatch.setattr(evidence_module, "indexed", counted)
    pooled = evidence_module.index_evidence(run, folder, SPEC, {}, kept={}, found=survey(folder).evidence(),
                                                  workers=2)
    assert here_calls == []
    assert [unpacked(u) for u in pooled[0]["units"]] == [unpacked(u) for u in here[0]["units"]]
    assert [u.row for u in pooled[0]["units"]] == [u.row for u in here[0]["units"]]
    assert pooled[0]["totals"] == here[0]["totals"] and pooled[0]["totals"]["units"] == 4
    assert pooled[1:] == here[1:] and pooled[2]                      # stamps, and the folder's listing digest


# ---------------------------------------------------------------- the scorecards

def test_scorecard_links_resolve_to_the_listed_files_relative_to_the_pack(returns):
    from urllib.parse import unquote

    from addin.review.pack import build_review_pack
    folder, handed = returns
    pack_dir = folder / "评审包"
    pack = build_review_pack(folder, "自治区", spec=SPEC, pack_dir=pack_dir)
    wb = openpyxl.load_workbook(io.BytesIO(pack.data))
    card = next(ws for ws in wb.worksheets if ws["A1"].value and handed[FOLDER]["listed"] and
                any(c.value == FOLDER for row in ws.iter_rows(max_row=6) for c in row))
    links = {c.value: c.hyperlink.target for row in card.iter_rows() for c in row
             if c.hyperlink is not None and c.hyperlink.target}
    evidence = folder / f"{FOLDER}_佐证材料"
    expected = {p for p in handed[FOLDER]["files"] if p != handed[FOLDER]["gone"]}
    assert set(links) == expected                                      # nothing unlisted, refused or missing
    for shown, target in links.items():
        assert (pack_dir / unquote(target)).resolve() == (evidence / shown).resolve()
        assert (evidence / shown).is_file()
    # what the unit listed is beside each indicator's requirement, a missing file marked
    texts = "\n".join(str(c.value) for row in card.iter_rows() for c in row if c.value)
    assert f"单位提供：{handed[FOLDER]['gone']}（未找到）" in texts
    # a zip's files are listed on the card but not linked
    zipped = next(ws for ws in wb.worksheets if any(c.value == ZIPPED for row in ws.iter_rows(max_row=6) for c in row))
    assert not [c for row in zipped.iter_rows() for c in row if c.hyperlink is not None and c.hyperlink.target]


# ---------------------------------------------------------------- re-runs: what was hashed is not hashed again

def sha(u: dict, path: str) -> str:
    return next(x["sha256"] for x in u["files"] if x["path"] == path)


def run_with_ledger(folder: Path, ledger_file: Path, verify: bool = False, secret: bytes | None = None) -> dict:
    from addin.consolidate.ledger import Ledger
    ledger = Ledger.load(ledger_file, SPEC, verify=verify, secret=secret)
    run = consolidate(folder, spec=SPEC, ledger=ledger, workers=1)
    ledger.commit()                  # as `write_outputs` does once the outputs are written
    return content(run, SPEC)


def test_a_rerun_keeps_the_digest_of_a_file_whose_size_and_mtime_are_unchanged(returns, tmp_path):
    """The ledger keeps (size, mtime, SHA-256) of every evidence file: the proof that a re-run did not read a file
    is a file rewritten with other bytes of the same length and its mtime put back — the digest stays the old one
    (as a return's row does), until `--verify` hashes everything again. A file whose mtime moved is hashed again."""
    import hashlib
    import shutil
    folder = tmp_path / "回收"
    shutil.copytree(returns[0], folder, symlinks=True)
    ledger_file = tmp_path / "汇总.jieyue-ledger.sqlite"
    first = run_with_ledger(folder, ledger_file)
    same = folder / f"{FOLDER}_佐证材料" / "未列出.pdf"               # b"%PDF-1.4": 8 bytes
    old = hashlib.sha256(b"%PDF-1.4").hexdigest()
    assert sha(entry(first, FOLDER), "未列出.pdf") == old
    st = same.stat()
    same.write_bytes(b"%PDF-1.5")                                     # 8 bytes again …
    os.utime(same, ns=(st.st_atime_ns, st.st_mtime_ns))               # … and the same mtime
    moved = folder / f"{FOLDER}_佐证材料" / "数据.xyz"
    moved.write_bytes(b"!")                                          # the same size, a new mtime
    again = run_with_ledger(folder, ledger_file)
    assert sha(entry(again, FOLDER), "未列出.pdf") == old              # not read: the stamp was unchanged
    assert sha(entry(again, FOLDER), "数据.xyz") == hashlib.sha256(b"!").hexdigest()
    assert entry(again, ZIPPED)["files"] == entry(first, ZIPPED)["files"]   # members: by the zip's own stamp
    verified = run_with_ledger(folder, ledger_file, verify=True)
    assert sha(entry(verified, FOLDER), "未列出.pdf") == hashlib.sha256(b"%PDF-1.5").hexdigest()


def test_a_rerun_takes_the_entries_of_units_that_handed_nothing_in_from_the_ledger(returns, tmp_path, monkeypatch):
    """HOSTILE and BOMB hand nothing in here (their zips removed): their entries are made from their returns alone,
    so a re-run with this machine's secret takes them from the ledger as they were and indexes only the units
    that hand something in — the same section as a fresh run. An entry edited in the ledger (its seal no longer
    right), a return changed, or no secret: made again."""
    import shutil
    import sqlite3
    import addin.consolidate.evidence as evidence_module
    from addin.consolidate.packed import pack
    folder = tmp_path / "回收"
    shutil.copytree(returns[0], folder, symlinks=True)
    (folder / f"{HOSTILE}_佐证材料.zip").unlink()
    (folder / f"{BOMB}_佐证材料.zip").unlink()
    ledger_file, secret = tmp_path / "汇总.jieyue-ledger.sqlite", bytes(range(32))
    made: list[str] = []
    real = evidence_module.indexed

    def indexing(u, *more):
        made.append(u.code)
        return real(u, *more)
    monkeypatch.setattr(evidence_module, "indexed", indexing)

    def section(**options) -> tuple[list[str], dict]:
        made.clear()
        evidence = run_with_ledger(folder, ledger_file, **options)["evidence"]
        return sorted(made), {**evidence, "units": [unpacked(u) for u in evidence["units"]]}

    everyone, handing = sorted([FOLDER, ZIPPED, HOSTILE, BOMB]), sorted([FOLDER, ZIPPED])
    hostile = next(u for u in sample_roster(SPEC) if u.code == HOSTILE)
    path = folder / safe_file_name(hostile.code, hostile.name)           # its return
    made_first, first = section(secret=secret)
    assert made_first == everyone
    assert section(secret=secret) == (handing, first)                  # HOSTILE's and BOMB's taken as they were
    db = sqlite3.connect(ledger_file)
    with db:                                          # an entry with a key of its own smuggled in, the seal kept
        db.execute("UPDATE evidence_entries SET entry = ? WHERE path = ?",
                   (pack('{"unit_code": "x", "偷带": 1}', entry_dictionary(Convention.of(SPEC))), path.name))
    db.close()
    assert section(secret=secret) == (sorted([*handing, HOSTILE]), first)   # not right: made again
    assert section(secret=bytes(32)) == (everyone, first)             # another machine's secret: all made again
    assert section() == (everyone, first)                             # no secret: all made again …
    db = sqlite3.connect(ledger_file)
    assert db.execute("SELECT count(*) FROM evidence_entries").fetchone() == (0,)   # … and none kept unsealed
    db.close()
    assert section(secret=secret)[0] == everyone and section(secret=secret)[0] == handing
    inputs = plausible_inputs(hostile.code, SPEC)
    return_one(hostile, path, {**inputs, evidence_name(EMPTIED): "另一份.pdf"},
               Personaliser(SPEC, SPEC.default_year, SPEC.default_preset))
    made_now, now = section(secret=secret)
    assert made_now == sorted([*handing, HOSTILE])                     # its return changed: made again

    def hostile_listed(evidence: dict) -> list:
        return next(u["indicators"] for u in evidence["units"] if u["unit_code"] == HOSTILE)
    assert hostile_listed(now) != hostile_listed(first)


def test_a_tampered_evidence_stamp_is_not_used(returns, tmp_path):
    """The stamps are data like a file's row: one that is not a SHA-256 is dropped and that file hashed again."""
    import shutil
    import sqlite3
    folder = tmp_path / "回收"
    shutil.copytree(returns[0], folder, symlinks=True)
    ledger_file = tmp_path / "汇总.jieyue-ledger.sqlite"
    first = run_with_ledger(folder, ledger_file)
    db = sqlite3.connect(ledger_file)
    with db:
        assert db.execute("SELECT count(*) FROM evidence_files").fetchone()[0] > 10
        db.execute("UPDATE evidence_files SET sha256='<f>1+1</f>' WHERE path='未列出.pdf'")
    db.close()
    again = run_with_ledger(folder, ledger_file)
    assert sha(entry(again, FOLDER), "未列出.pdf") == sha(entry(first, FOLDER), "未列出.pdf")
    db = sqlite3.connect(ledger_file)
    assert db.execute("SELECT sha256 FROM evidence_files WHERE path='未列出.pdf'").fetchone()[0] == sha(
        entry(first, FOLDER), "未列出.pdf")                          # and stored right again
    db.close()


def test_an_unreadable_folder_file_or_zip_is_a_finding_not_the_runs_end(returns, tmp_path, monkeypatch):
    """No permission on a subfolder, a file or the zip (simulated: the tests may run as root, who reads anything):
    each is reported as 无法读取 and the rest is indexed as before."""
    import shutil
    from addin.consolidate import evidence as stage
    from udfs.evidence import UNREADABLE
    folder = tmp_path / "回收"
    shutil.copytree(returns[0], folder, symlinks=True)
    (folder / f"{FOLDER}_佐证材料" / "锁住的文件夹").mkdir()
    real_scandir, real_hash, real_open = os.scandir, stage._hash, stage.open_regular

    def scandir(path):
        if str(path).endswith("锁住的文件夹"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    def hash_(path):
        if path.endswith("未列出.pdf"):
            raise PermissionError(13, "Permission denied", path)
        return real_hash(path)

    def open_(path):
        if str(path).endswith(f"{ZIPPED}_佐证材料.zip"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path)
    monkeypatch.setattr(stage.os, "scandir", scandir)
    monkeypatch.setattr(stage, "_hash", hash_)
    monkeypatch.setattr(stage, "open_regular", open_)
    data = content(consolidate(folder, spec=SPEC, workers=1), SPEC)
    u = entry(data, FOLDER)
    assert (UNREADABLE, None, "锁住的文件夹/") in kinds(u) and (UNREADABLE, None, "未列出.pdf") in kinds(u)
    assert "未列出.pdf" not in {x["path"] for x in u["files"]} and len(u["files"]) > 5
    assert "无法读取" in entry(data, ZIPPED)["zip_problem"]
