"""Identity and forgery (issue 10 §4): keyed signatures over what the generator wrote, the roster check of a
return's identity, duplicates that disagree on who the unit is, and a scorecard copied within one pack.

Worked examples first: a signature computed by hand with `hmac` for a message written out in full. Then the key
file (`jieyue key init`), the signed workbook and pack, and a corpus of forged returns and packs, each consolidated
with and without the key (and with and without the roster) with its expected status and finding codes.

The units are the sample roster's (`addin/sample_data/名单.csv`): TIANCHI and BEITING return; XUELIAN does not.
"""
from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import json
import os
import stat
import zipfile
from importlib import resources
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.workbook.defined_name import DefinedName

from addin.cli import main
from addin.consolidate import consolidate, read_roster_entries
from addin.consolidate.model import CONSOLIDATED, REJECTED, ConsolidationRun
from addin.consolidate.signatures import FAILED, MISSING, VALID
from addin.demo import plausible_inputs
from addin.keys import DEFAULT_KEY_NAME, LEDGER_SECRET_NAME, find_key, init_key, ledger_secret, load_key
from addin.review.pack import build_review_pack
from generator import template_bytes
from generator.fill import fill_workbook
from generator.personalise import Personaliser
from generator.roster import read_roster, safe_file_name
from udfs.identity import identity_differences
from udfs.results import NOT_RANKED
from udfs.review import given_values
from udfs.signature import canonical_text, key_id, pack_message, sign, verify, workbook_message
from workbook_templates import InputError, load_spec
from workbook_templates.review_names import given_name

from tests.returns import set_text
from tests.test_consolidate_reviews import card

SPEC = load_spec()
YEAR = SPEC.default_year
PRESET = SPEC.default_preset
KEY = bytes(range(32))                          # 000102…1f
OTHER_KEY = bytes(range(100, 132))
CHANGJI = "昌吉回族自治州"

with resources.as_file(resources.files("addin").joinpath("sample_data", "名单.csv")) as _p:
    SAMPLE = Path(_p)
    _UNITS = {u.name: u for u in read_roster(_p, SPEC).units}
TIANCHI = _UNITS["天池县人民法院"]                          # 116523271905724185, 县市区级, 昌吉回族自治州
BEITING = _UNITS["北庭县发展和改革委员会/粮食和物资储备局"]      # 11652328695454227A, 县市区级, 昌吉回族自治州
XUELIAN = _UNITS["雪莲县人民政府办公室"]                     # 1165402415832858XR, 县市区级, 伊犁哈萨克自治州 — never returns
ROSTER = read_roster_entries(SAMPLE, SPEC)[0]


# ---------------------------------------------------------------- worked examples: the message and its HMAC

WORKBOOK_MESSAGE = ('{"assessment_year":"2023","calc_switches":"building_energy=all_vehicle_fuel;co2_per_area=all_co2",'
                    '"factor_preset":"xj-2023","grid_factor":"mee-2022-grid","kind":"workbook",'
                    '"scheme":"jieyue-hmac-sha256-2","standard_version":"xj-2023","template_version":"1.0",'
                    '"unit_code":"116523271905724185","unit_level":"县市区级","unit_name":"天池县人民法院",'
                    '"unit_region":"昌吉回族自治州"}')
WORKBOOK_SIGNATURE = "b263d23cfa7cb30d3cf8fc5cc2596f853bff7dab14dd0399e8088fd1a9e3600e"
"""HMAC-SHA256 of WORKBOOK_MESSAGE under KEY (bytes 0x00…0x1f), as `hmac.new(KEY, message, sha256)` gives it:
pinned, so that the message format is a contract (a change to it fails here, not in the field)."""


def test_a_workbook_signature_by_hand():
    """The canonical message written out in full, and its HMAC-SHA256 under a 32-byte key computed with `hmac`
    here: what the generator signs and the consolidation recomputes."""
    by_hand = hmac.new(KEY, WORKBOOK_MESSAGE.encode("utf-8"), hashlib.sha256).hexdigest()
    identity = {"unit_code": "116523271905724185", "unit_name": "天池县人民法院", "unit_level": "县市区级",
                "unit_region": "昌吉回族自治州", "template_version": "1.0", "factor_preset": "xj-2023",
                "assessment_year": 2023, "grid_factor": "mee-2022-grid", "standard_version": "xj-2023",
                "calc_switches": "building_energy=all_vehicle_fuel;co2_per_area=all_co2"}
    assert workbook_message(identity) == WORKBOOK_MESSAGE.encode("utf-8")
    assert sign(KEY, workbook_message(identity)) == by_hand
    assert by_hand == WORKBOOK_SIGNATURE
    # What a reader gets back from a file is the same message: a year as 2023.0, spaces, a code typed in
    # lower case with a hyphen.
    as_read = {**identity, "assessment_year": 2023.0, "unit_name": " 天池县人民法院 ", "unit_code": "11652327-1905724185"}
    assert workbook_message(as_read) == WORKBOOK_MESSAGE.encode("utf-8")
    assert verify(KEY, WORKBOOK_MESSAGE.encode(), by_hand) and verify(KEY, WORKBOOK_MESSAGE.encode(), by_hand.upper())


def test_a_pack_signature_by_hand():
    message = ('{"assessment_year":"2023","kind":"review_pack","pack_id":"0123456789ab","pack_part":"2",'
               '"pack_parts":"3","review_level":"county","review_region":"昌吉回族自治州",'
               '"scheme":"jieyue-hmac-sha256-2","scorecards":[["116523271905724185","01 天池县人民法院"],'
               '["11652328695454227A","02 北庭县发展和改革委员会_粮食和物资储备局"]],"template_version":"review-1.0"}')
    by_hand = hmac.new(KEY, message.encode("utf-8"), hashlib.sha256).hexdigest()
    built = pack_message(template_version="review-1.0", assessment_year=2023, review_level="county",
                         review_region=CHANGJI, scorecards=[("11652328695454227A", "02 北庭县发展和改革委员会_粮食和物资储备局"),
                                                            ("116523271905724185", "01 天池县人民法院")],
                         pack_id="0123456789ab", pack_part=2, pack_parts=3.0)
    assert built == message.encode("utf-8")             # the set of scorecards: sorted, whatever the order given
    assert sign(KEY, built) == by_hand


def test_what_changes_the_signature_and_what_does_not():
    identity = {"unit_code": TIANCHI.code, "unit_name": TIANCHI.name, "unit_level": TIANCHI.level,
                "unit_region": TIANCHI.region, "template_version": "1.0", "factor_preset": PRESET, "assessment_year": YEAR,
                "grid_factor": "mee-2022-grid", "calc_switches": "", "standard_version": "xj-2023"}
    genuine = sign(KEY, workbook_message(identity))
    for field, value in (("unit_code", BEITING.code), ("unit_name", BEITING.name), ("unit_level", "地州市级"),
                         ("unit_region", "哈密市"), ("template_version", "0.9"), ("factor_preset", "gbt2589-2020"),
                         ("assessment_year", YEAR - 1), ("grid_factor", "national-2022"),
                         ("calc_switches", "building_energy=all_vehicle_fuel"), ("standard_version", "gbt29118-2023")):
        assert not verify(KEY, workbook_message({**identity, field: value}), genuine), field
    assert not verify(OTHER_KEY, workbook_message(identity), genuine)
    pack = dict(template_version="review-1.0", assessment_year=YEAR, review_level="county", review_region=CHANGJI,
                scorecards=[(TIANCHI.code, "01 天池县人民法院")], pack_id="0123456789ab", pack_part=1, pack_parts=2)
    signed = sign(KEY, pack_message(**pack))
    for field, value in (("review_level", "region"), ("review_region", ""), ("pack_id", "ba9876543210"),
                         ("pack_part", 2), ("pack_parts", 1),
                         ("scorecards", [(TIANCHI.code, "01 天池县人民法院"), (TIANCHI.code, "01 天池县人民法院 (2)")]),
                         ("scorecards", [(BEITING.code, "01 天池县人民法院")])):
        assert not verify(KEY, pack_message(**{**pack, field: value}), signed), field
    # A workbook's signature never stands for a pack's (the kind is in the message).
    assert b'"kind":"workbook"' in workbook_message(identity) and b'"kind":"review_pack"' in pack_message(**pack)
    for junk in (None, "", 12345, "zz" * 32, genuine[:-1], "\ud800" * 64):
        assert not verify(KEY, workbook_message(identity), junk)
    assert canonical_text(None) == "" and canonical_text(2023.0) == "2023" and canonical_text(" a ") == "a"
    assert len(key_id(KEY)) == 12 and key_id(KEY) != key_id(OTHER_KEY)


def test_identity_is_compared_as_the_roster_reader_cleans_it():
    roster = {"unit_name": "天池县人民法院", "unit_level": "县市区级", "unit_region": "昌吉回族自治州"}
    assert identity_differences({"unit_name": " 天池县人民法院\n", "unit_level": "county", "unit_region": "昌吉回族自治州"},
                                roster, SPEC) == []
    assert identity_differences({**roster, "unit_level": "地州市级", "unit_region": None}, roster, SPEC) == [
        ("unit_level", "地州市级", "县市区级"), ("unit_region", "", "昌吉回族自治州")]


# ---------------------------------------------------------------- the key file

def test_key_init_creates_a_private_key_and_never_overwrites(tmp_path, capsys):
    path = tmp_path / DEFAULT_KEY_NAME
    assert main(["key", "init", "-o", str(path)]) == 0
    out = capsys.readouterr().out
    key, warnings = load_key(path)
    assert len(key) == 32 and warnings == () and key_id(key) in out
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert main(["key", "init", "-o", str(path)]) == 2                  # refuses: the old key would be lost
    assert "已存在" in capsys.readouterr().err and load_key(path)[0] == key
    assert main(["key", "init", "-o", str(path), "--force"]) == 0
    assert load_key(path)[0] != key
    assert [p.name for p in tmp_path.iterdir()] == [DEFAULT_KEY_NAME]      # no temporary left behind


def test_the_ledger_secret_is_made_once_private_and_never_fails_a_run(tmp_path, monkeypatch):
    """This machine's ledger secret: made on first use in JIEYUE_HOME (0600), the same bytes afterwards; when it
    can be neither read nor made (a folder, a pipe or garbage in its place, a home that is a file) there is none —
    the ledger then checks every row — and nothing is raised."""
    home = tmp_path / "家"
    monkeypatch.setenv("JIEYUE_HOME", str(home))
    first = ledger_secret()
    assert isinstance(first, bytes) and len(first) == 32 and ledger_secret() == first
    path = home / LEDGER_SECRET_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and first.hex() in path.read_text("utf-8")
    assert [p.name for p in home.iterdir()] == [LEDGER_SECRET_NAME]          # no temporary file left
    path.write_text("# 不是密钥\nxyz\n", encoding="utf-8")
    assert ledger_secret() is None
    path.unlink()
    path.mkdir()
    assert ledger_secret() is None
    path.rmdir()
    if hasattr(os, "mkfifo"):                                                # POSIX
        os.mkfifo(path)
        assert ledger_secret() is None                                       # not waited on
        path.unlink()
    (tmp_path / "文件").write_text("x", encoding="utf-8")
    monkeypatch.setenv("JIEYUE_HOME", str(tmp_path / "文件"))
    assert ledger_secret() is None
    monkeypatch.setenv("JIEYUE_HOME", str(home))
    assert ledger_secret() not in (None, first)                              # made again once the place is free


def test_a_key_file_is_checked_and_found_beside_the_roster(tmp_path):
    bad = tmp_path / "bad.key"
    bad.write_text("not a key\n", encoding="utf-8")
    with pytest.raises(InputError, match="不是 jieyue 签名密钥文件"):
        load_key(bad)
    with pytest.raises(InputError, match="找不到签名密钥文件"):
        find_key(tmp_path / "missing.key")
    roster = tmp_path / "名单.csv"
    roster.write_bytes(SAMPLE.read_bytes())
    assert find_key(None, roster).key is None and "未使用签名密钥" in find_key(None, roster).describe()
    init_key(tmp_path / DEFAULT_KEY_NAME)
    found = find_key(None, roster)
    assert found.source == "roster" and found.key == load_key(tmp_path / DEFAULT_KEY_NAME)[0]
    assert found.key_id in found.describe()
    if os.name == "posix":
        os.chmod(tmp_path / DEFAULT_KEY_NAME, 0o644)
        assert "chmod 600" in find_key(None, roster).warnings[0]


# ---------------------------------------------------------------- the signed workbook

@pytest.fixture(scope="module")
def signer() -> Personaliser:
    return Personaliser(SPEC, YEAR, PRESET, key=KEY)


CHOSEN = {"template_version": "1.0", "factor_preset": PRESET, "assessment_year": YEAR, "grid_factor": "mee-2022-grid",
          "calc_switches": "building_energy=all_vehicle_fuel;co2_per_area=all_co2", "standard_version": "xj-2023"}
"""The `_meta` values a workbook made for the year's defaults signs besides the unit's cells."""


def _meta_signature(data: bytes) -> Any:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    (title, ref), = wb.defined_names["signature"].destinations
    return wb[title][ref.replace("$", "")].value


def test_a_signed_workbook_equals_openpyxl_rendering_and_carries_its_units_signature(signer):
    mine = signer.workbook(TIANCHI)
    theirs = template_bytes(SPEC, YEAR, PRESET, unit=signer.values(TIANCHI))
    zm, zt = (zipfile.ZipFile(io.BytesIO(d)) for d in (mine, theirs))
    assert [n for n in zm.namelist() if zm.read(n) != zt.read(n)] in ([], ["docProps/core.xml"])
    identity = {**TIANCHI.unit_info(), **CHOSEN}
    assert _meta_signature(mine) == sign(KEY, workbook_message(identity))
    assert _meta_signature(Personaliser(SPEC, YEAR, PRESET).workbook(TIANCHI)) is None     # no key: blank


def test_generate_signs_with_the_key_beside_the_roster(tmp_path, capsys):
    roster = tmp_path / "名单.csv"
    roster.write_bytes(SAMPLE.read_bytes())
    (tmp_path / DEFAULT_KEY_NAME).write_text(f"{KEY.hex()}\n", encoding="utf-8")
    os.chmod(tmp_path / DEFAULT_KEY_NAME, 0o600)
    assert main(["generate", "--roster", str(roster), "--year", str(YEAR), "-o", str(tmp_path / "out")]) == 0
    assert f"指纹 {key_id(KEY)}" in capsys.readouterr().err
    data = (tmp_path / "out" / safe_file_name(TIANCHI.code, TIANCHI.name)).read_bytes()
    identity = {**TIANCHI.unit_info(), **CHOSEN}
    assert verify(KEY, workbook_message(identity), _meta_signature(data))
    assert main(["generate", "--roster", str(roster), "--year", str(YEAR), "-o", str(tmp_path / "o2"),
                 "--key", str(tmp_path / "missing.key")]) == 2          # a --key that is not there: nothing made
    assert "找不到签名密钥文件" in capsys.readouterr().err and not (tmp_path / "o2").exists()


# ---------------------------------------------------------------- forged returns, consolidated

def returned(personaliser: Personaliser, unit, **changes: Any) -> bytes:
    return fill_workbook(personaliser.workbook(unit), {**plausible_inputs(unit.code, SPEC), **changes})


def put(folder: Path, name: str, data: bytes, mtime: int = 1_700_000_000) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    os.utime(folder / name, (mtime, mtime))
    return name


def codes(run: ConsolidationRun, path: str) -> set[str]:
    return {x.code for x in next(f for f in run.files if f.path == path).findings}


def outcome(run: ConsolidationRun, path: str):
    return next(f for f in run.files if f.path == path)


def run_on(folder: Path, key: bytes | None, roster: bool = True, **kwargs) -> ConsolidationRun:
    return consolidate(folder, spec=SPEC, key=key, roster=ROSTER if roster else None, workers=1, **kwargs)


@pytest.fixture(scope="module")
def genuine(signer) -> dict[str, bytes]:
    return {u.code: returned(signer, u) for u in (TIANCHI, BEITING)}


def test_genuine_signed_returns_verify(tmp_path, genuine):
    a = put(tmp_path, "天池.xlsx", genuine[TIANCHI.code])
    b = put(tmp_path, "北庭.xlsx", genuine[BEITING.code])
    run = run_on(tmp_path, KEY)
    assert run.signatures.checked and run.signatures.status == {a: VALID, b: VALID}
    for path in (a, b):
        assert not codes(run, path) & {"S701", "S702", "D504", "D505"} and not outcome(run, path).blocking
    assert TIANCHI.code not in {e.code for e in run.not_returned} and XUELIAN.code in {e.code for e in run.not_returned}
    unchecked = run_on(tmp_path, None)
    assert not unchecked.signatures.checked and unchecked.signatures.status == {}


# Each case: how the file is forged from the genuine returns, and per (key, roster) the expected status,
# blocking and the codes that must be among its findings (and the S/D5 codes that must not).
FORGED = {
    # BEITING's return re-coded with the code of XUELIAN, who never returned.
    "recoded_to_a_silent_unit": lambda g, s: set_text(g[BEITING.code], "unit_code", XUELIAN.code),
    # 单位层级 edited (the cell is locked, the password is public).
    "level_edited": lambda g, s: set_text(g[TIANCHI.code], "unit_level", "地州市级"),
    # 所属地区 edited.
    "region_edited": lambda g, s: set_text(g[TIANCHI.code], "unit_region", "哈密市"),
    # The signature cleared.
    "signature_removed": lambda g, s: set_text(g[TIANCHI.code], "signature", ""),
    # Signed with another key (someone else generated it).
    "other_key": lambda g, s: returned(Personaliser(SPEC, YEAR, PRESET, key=OTHER_KEY), TIANCHI),
    # Generated without any key.
    "unsigned": lambda g, s: returned(Personaliser(SPEC, YEAR, PRESET), TIANCHI),
    # The preset in _meta changed (the file would be recomputed with other factors).
    "preset_edited": lambda g, s: set_text(g[TIANCHI.code], "factor_preset", "gbt2589-2020"),
    # The standard version in _meta changed (unit 1 would count as a gate, not as points, or the reverse).
    "standard_edited": lambda g, s: set_text(g[TIANCHI.code], "standard_version", "gbt29118-2023"),
    # The grid factor in _meta changed (another CO2 factor for electricity).
    "grid_factor_edited": lambda g, s: set_text(g[TIANCHI.code], "grid_factor", "national-2022"),
}
EXPECTED = {
    #                           key+roster              key only          roster only         neither
    "recoded_to_a_silent_unit": ({"S702", "D504"},       {"S702"},         {"D504"},           set()),
    "level_edited":             ({"S702", "D504"},       {"S702"},         {"D504"},           set()),
    "region_edited":            ({"S702", "D504"},       {"S702"},         {"D504"},           set()),
    "signature_removed":        ({"S701"},               {"S701"},         set(),              set()),
    "other_key":                ({"S702"},               {"S702"},         set(),              set()),
    "unsigned":                 ({"S701"},               {"S701"},         set(),              set()),
    "preset_edited":            ({"S702"},               {"S702"},         set(),              set()),
    "standard_edited":          ({"S702"},               {"S702"},         set(),              set()),
    "grid_factor_edited":       ({"S702"},               {"S702"},         set(),              set()),
}
IDENTITY_CODES = {"S701", "S702", "D504", "D505"}


@pytest.mark.parametrize("case", list(FORGED))
def test_a_forged_return_with_and_without_key_and_roster(case, tmp_path, genuine, signer):
    """The forged file is consolidated (listed) in every setting; it is an error (not ranked) exactly when a
    check that can see the forgery runs: the signature with the key, the identity with the roster."""
    path = put(tmp_path, f"{case}.xlsx", FORGED[case](genuine, signer))
    settings = [(KEY, True), (KEY, False), (None, True), (None, False)]
    for (key, roster), expected in zip(settings, EXPECTED[case]):
        run = run_on(tmp_path, key, roster)
        f = outcome(run, path)
        found = codes(run, path) & IDENTITY_CODES
        assert f.status == CONSOLIDATED and found == expected, (case, key is not None, roster, found)
        assert f.blocking or not expected                     # every identity finding is an error: not ranked
        if key is not None:
            assert run.signatures.status[path] == (MISSING if "S701" in expected else FAILED)


def test_d504_names_both_values_and_the_silent_unit_stays_not_returned(tmp_path, genuine):
    path = put(tmp_path, "冒用.xlsx", set_text(genuine[BEITING.code], "unit_code", XUELIAN.code))
    run = run_on(tmp_path, None)
    d504, = [x for x in outcome(run, path).findings if x.code == "D504"]
    assert f"「{BEITING.name}」" in d504.message and f"「{XUELIAN.name}」" in d504.message
    assert "「昌吉回族自治州」" in d504.message and "「伊犁哈萨克自治州」" in d504.message
    # XUELIAN's code came back, but in a file that does not match: it is still 未报送, and the file is named.
    assert XUELIAN.code in {e.code for e in run.not_returned}
    assert run.roster_mismatch == {XUELIAN.code: [path]}


def test_summary_and_report_show_the_mismatch_and_the_signature_check(tmp_path, genuine):
    returns = tmp_path / "回收"
    path = put(returns, "冒用.xlsx", set_text(genuine[BEITING.code], "unit_code", XUELIAN.code))
    put(returns, "天池.xlsx", genuine[TIANCHI.code])
    roster = tmp_path / "名单" / "名单.csv"
    roster.parent.mkdir()
    roster.write_bytes(SAMPLE.read_bytes())
    (roster.parent / DEFAULT_KEY_NAME).write_text(f"# the test's key\n{KEY.hex()}\n", encoding="utf-8")
    os.chmod(roster.parent / DEFAULT_KEY_NAME, 0o600)
    summary, report = tmp_path / "汇总.xlsx", tmp_path / "汇总.json"
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        assert main(["consolidate", str(returns), "--roster", str(roster), "-o", str(summary), "--json", str(report),
                     "--no-ledger"]) == 0
    assert f"指纹 {key_id(KEY)}" in err.getvalue() and "名单旁" in err.getvalue()      # found beside the roster
    data = json.loads(report.read_text("utf-8"))
    assert data["signatures"]["checked"] and data["signatures"]["counts"] == {"valid": 1, "failed": 1, "missing": 0}
    assert {f["path"]: f["signature"] for f in data["files"]} == {path: "签名不符", "天池.xlsx": "签名有效"}
    silent, = [e for e in data["not_returned"] if e["code"] == XUELIAN.code]
    assert silent["mismatched_files"] == [path]
    wb = openpyxl.load_workbook(summary, read_only=True)
    notes = {r[0]: r[1] for r in wb["说明"].iter_rows(values_only=True) if r and r[0]}
    assert key_id(KEY) in notes["签名核验"]
    rows = [r for r in wb["未报送"].iter_rows(values_only=True) if r and r[1] == XUELIAN.code]
    assert path in rows[0][4] and "D504" in rows[0][4]
    # Without the key: one run-level note, no per-file finding.
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        assert main(["consolidate", str(returns), "-o", str(summary), "--json", str(report), "--no-ledger"]) == 0
    data = json.loads(report.read_text("utf-8"))
    assert data["signatures"]["checked"] is False and "没有核验" in data["signatures"]["note"]
    assert not [x for x in data["findings"] if x["code"].startswith("S7")]


# ---------------------------------------------------------------- duplicates that disagree

def test_a_return_recoded_with_a_returned_units_code_is_not_newest_wins(tmp_path, genuine):
    """BEITING's file re-coded as TIANCHI's, newer than TIANCHI's own: before, the newer file replaced the genuine
    return with only a D501 warning. Now both files are D505 errors, the unit is not ranked, a person decides."""
    real = put(tmp_path, "天池.xlsx", genuine[TIANCHI.code], mtime=1_700_000_000)
    fake = put(tmp_path, "天池（更正）.xlsx", set_text(genuine[BEITING.code], "unit_code", TIANCHI.code),
               mtime=1_700_009_999)
    for key, roster in ((KEY, True), (None, True), (None, False), (KEY, False)):
        run = run_on(tmp_path, key, roster)
        group, = run.duplicates
        assert group.conflict and "单位名称" in group.conflict, (key, roster)
        for path in (real, fake):
            assert "D505" in codes(run, path) and "D501" not in codes(run, path) and outcome(run, path).blocking
        unit, = [f for f in run.units if f.code == TIANCHI.code]
        assert unit.blocking
        if roster:
            assert "D504" in codes(run, fake) and "D504" not in codes(run, real)
            assert group.chosen == real           # the file that matches the roster is the one shown
            assert TIANCHI.code not in {e.code for e in run.not_returned}
        if key is not None:
            assert run.signatures.status == {real: VALID, fake: FAILED}


def test_duplicates_whose_identity_cells_were_all_edited_differ_by_their_signature(tmp_path, genuine):
    """Without key and roster, a copy of BEITING's file with all four identity cells set to TIANCHI's is caught
    by its signature alone: it still carries BEITING's."""
    real = put(tmp_path, "天池.xlsx", genuine[TIANCHI.code])
    data = genuine[BEITING.code]
    for name in ("unit_code", "unit_name", "unit_level", "unit_region"):
        data = set_text(data, name, TIANCHI.unit_info()[name])
    fake = put(tmp_path, "天池（又一份）.xlsx", data, mtime=1_700_009_999)
    run = run_on(tmp_path, None, roster=False)
    group, = run.duplicates
    assert group.conflict.startswith("签名：") and {"D505"} <= codes(run, fake) and {"D505"} <= codes(run, real)
    with_key = run_on(tmp_path, KEY, roster=True)
    assert codes(with_key, fake) >= {"S702", "D505"} and "D504" not in codes(with_key, fake)


def test_a_genuine_resubmission_is_still_newest_wins(tmp_path, signer):
    first = put(tmp_path, "天池（第一次）.xlsx", returned(signer, TIANCHI))
    again = put(tmp_path, "天池.xlsx", returned(signer, TIANCHI, cur_water_m3=1234), mtime=1_700_009_999)
    for key in (KEY, None):
        run = run_on(tmp_path, key)
        group, = run.duplicates
        assert not group.conflict and group.chosen == again
        assert codes(run, first) & IDENTITY_CODES == set() and "D501" in codes(run, first)
        assert not outcome(run, again).blocking


# ---------------------------------------------------------------- review packs

def _edited(data: bytes, edit) -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    edit(wb)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _scorecards(wb) -> dict[str, Any]:
    out = {}
    for ws in wb.worksheets:
        dn = ws.defined_names.get("rev_unit_code")
        if dn is not None:
            (title, ref), = dn.destinations
            out[str(wb[title][ref.replace("$", "")].value)] = ws
    return out


def relevel(level: str):
    """The pack's `_meta` review_level set to `level` and every scorecard's rev_county_* names renamed to
    rev_<level>_* — what turns a 县市区 pack into one that reads as another reviewer's."""
    def edit(wb):
        (title, ref), = wb.defined_names["review_level"].destinations
        wb[title][ref.replace("$", "")].value = level
        for ws in _scorecards(wb).values():
            for name in [n for n in ws.defined_names if n.startswith("rev_county_")]:
                dn = ws.defined_names[name]
                del ws.defined_names[name]
                new = name.replace("rev_county_", f"rev_{level}_", 1)
                ws.defined_names[new] = DefinedName(new, attr_text=dn.attr_text)
    return edit


def copy_scorecard(code: str):
    """A copy of the unit's scorecard (its sheet-local names pointing at the copy) with every choice at its
    lowest legal value: the all-zero copy of the issue."""
    def edit(wb):
        ws = _scorecards(wb)[code]
        copy = wb.copy_worksheet(ws)
        for name, dn in ws.defined_names.items():
            copy.defined_names[name] = DefinedName(name, attr_text=dn.attr_text.replace(f"'{ws.title}'!", f"'{copy.title}'!"))
        for ind in SPEC.indicators:
            values = given_values(ind, spec=SPEC)
            name = given_name("county", ind.id)
            if values and name in copy.defined_names:
                (_, ref), = copy.defined_names[name].destinations
                copy[ref.replace("$", "")].value = min(values)
    return edit


@pytest.fixture(scope="module")
def pack_world(tmp_path_factory, genuine):
    base = tmp_path_factory.mktemp("packs")
    returns = base / "回收"
    put(returns, "天池.xlsx", genuine[TIANCHI.code])
    put(returns, "北庭.xlsx", genuine[BEITING.code])
    signed = build_review_pack(returns, "县市区", region=CHANGJI, spec=SPEC, key=KEY)
    unsigned = build_review_pack(returns, "县市区", region=CHANGJI, spec=SPEC)
    entries = {TIANCHI.code: card("county", 1), BEITING.code: card("county", 2)}
    filled = {"signed": fill_workbook(signed.data, scorecards=entries),
              "unsigned": fill_workbook(unsigned.data, scorecards=entries)}
    return returns, filled, signed


def run_pack(tmp_path: Path, returns: Path, data: bytes, key: bytes | None) -> tuple[ConsolidationRun, str]:
    packs = tmp_path / "评审包"
    put(packs, "县市区.xlsx", data)
    return consolidate(returns, reviews=packs, spec=SPEC, key=key, workers=1), "评审包/县市区.xlsx"


def test_a_signed_pack_verifies_and_counts(tmp_path, pack_world):
    returns, filled, signed = pack_world
    titles = [sheet.title for sheet in signed.plan.sheets if "rev_unit_code" in sheet.local_names()]
    assert _meta_signature(signed.data) == sign(KEY, pack_message(
        template_version="review-1.0", assessment_year=YEAR, review_level="county", review_region=CHANGJI,
        scorecards=[(u.code, t) for u, t in zip(signed.units, titles)], pack_id=signed.parts[0].part.pack_id,
        pack_part=1, pack_parts=1))
    run, path = run_pack(tmp_path, returns, filled["signed"], KEY)
    assert run.signatures.status[path] == VALID and outcome(run, path).status == CONSOLIDATED
    assert {(c.unit_code, c.level) for c in run.review_cards if c.chosen} == {(TIANCHI.code, "county"),
                                                                           (BEITING.code, "county")}


@pytest.mark.parametrize("case,make,with_key,without_key", [
    # (status, codes) with the key; without it: (status, codes, the level the cards count as)
    ("unsigned", lambda f: f["unsigned"], (REJECTED, {"S703"}), (CONSOLIDATED, set(), "county")),
    ("level_changed_and_names_renamed", lambda f: _edited(f["signed"], relevel("region")),
     (REJECTED, {"S704"}), (CONSOLIDATED, set(), "region")),
    ("level_changed_to_prefecture", lambda f: _edited(f["signed"], relevel("prefecture")),
     (REJECTED, {"S704"}), (CONSOLIDATED, set(), "prefecture")),
])
def test_a_forged_pack_with_and_without_key(case, make, with_key, without_key, tmp_path, pack_world):
    returns, filled, _ = pack_world
    data = make(filled)
    run, path = run_pack(tmp_path / "key", returns, data, KEY)
    f = outcome(run, path)
    assert (f.status, {x.code for x in f.findings} & {"S703", "S704"}) == with_key, case
    assert not [c for c in run.review_cards if c.chosen]            # a rejected pack's cards never count
    run, path = run_pack(tmp_path / "nokey", returns, data, None)
    f = outcome(run, path)
    assert f.status == without_key[0] and not {x.code for x in f.findings} & {"S703", "S704"}, case
    # Without the key the forgery works: the cards count as the level the pack now claims (what the key prevents).
    assert {c.level for c in run.review_cards if c.chosen} == {without_key[2]}


def test_a_scorecard_copied_within_a_pack_is_an_error_for_that_unit(tmp_path, pack_world):
    returns, filled, _ = pack_world
    data = _edited(filled["unsigned"], copy_scorecard(TIANCHI.code))
    run, path = run_pack(tmp_path, returns, data, None)
    pack = outcome(run, path)
    r608, = [x for x in pack.findings if x.code == "R608"]
    assert TIANCHI.code in r608.message and "2 张评分表" in r608.message
    assert pack.status == CONSOLIDATED                            # the pack's other cards still count
    assert {c.unit_code for c in run.review_cards if c.chosen} == {BEITING.code}
    assert {c.unit_code for c in run.review_cards if c.duplicated} == {TIANCHI.code}
    unit, = [f for f in run.units if f.code == TIANCHI.code]
    assert "R608" in {x.code for x in unit.findings} and unit.blocking
    assert run.results[TIANCHI.code].state == NOT_RANKED and run.results[TIANCHI.code].rank is None
    # With the key the copy breaks the pack's signature: the whole pack is not used.
    signed_copy = _edited(filled["signed"], copy_scorecard(TIANCHI.code))
    run, path = run_pack(tmp_path / "key", returns, signed_copy, KEY)
    assert outcome(run, path).status == REJECTED and "S704" in codes(run, path)


def test_review_pack_with_a_key_leaves_out_returns_that_fail(tmp_path, genuine):
    returns = tmp_path / "回收"
    put(returns, "天池.xlsx", genuine[TIANCHI.code])
    put(returns, "北庭（改了地区）.xlsx", set_text(genuine[BEITING.code], "unit_region", "哈密市"))
    pack = build_review_pack(returns, "县市区", spec=SPEC, key=KEY)
    assert [u.code for u in pack.units] == [TIANCHI.code]
    assert [f.code for f in pack.skipped] == [BEITING.code] and "S702" in pack.skipped_lines(SPEC)[0]
