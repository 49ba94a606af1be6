"""Run choices travel with the file: each return is recomputed with the year and preset its `_meta` records,
`--preset`/`--year` on consolidate only filter, and a custom spec (`--spec-dir`) reaches the worker processes.

Worked example (diesel, the one factor the two presets disagree on): 1 000 L of diesel is
1 000 × 1.4571 × 0.86 = 1 253.106 kgce with gbt2589-2020, and 1 000 × 1.4571 × 0.96 = 1 398.816 kgce with
xj-2023 (the deck's figure). A workbook generated with gbt2589-2020 and consolidated without `--preset` must
show the first, with no W303 「系数被修改」.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from addin.cli import main
from addin.demo import plausible_inputs, return_one, sample_roster
from generator.personalise import Personaliser
from workbook_templates import load_spec

from tests import libreoffice

SPEC = load_spec()
YEAR = SPEC.default_year
ROOT = Path(__file__).resolve().parents[1]


def _returns(folder: Path, preset: str, units, diesel_l: float = 1000.0, spec=SPEC) -> list[Path]:
    """Each unit's personalised workbook for `preset`, filled with plausible data and `diesel_l` litres of
    diesel in the current data year."""
    folder.mkdir(parents=True, exist_ok=True)
    personaliser = Personaliser(spec, YEAR, preset)
    paths = []
    for u in units:
        inputs = {**plausible_inputs(u.code, spec), "cur_diesel_l": diesel_l, "cur_official_diesel_l": None}
        paths.append(return_one(u, folder / f"{u.code}.xlsx", inputs, personaliser))
    return paths


def _consolidate(folder: Path, out: Path, *options: str) -> dict:
    code = main(["consolidate", str(folder), "-o", str(out / "汇总.xlsx"), "--json", str(out / "r.json"),
                 "--no-ledger", *options])
    assert code == 0
    return json.loads((out / "r.json").read_text(encoding="utf-8"))


def _codes(report: dict, path: str) -> list[str]:
    return [f["code"] for f in report["findings"] if f["file"] == path]


def test_worked_example_factors():
    gbt, xj = SPEC.preset("gbt2589-2020").kgce["diesel"], SPEC.preset("xj-2023").kgce["diesel"]
    assert (gbt.factor, gbt.extra) == (1.4571, 0.86)
    assert (xj.factor, xj.extra) == (1.4571, 0.96)


@pytest.mark.libreoffice
def test_a_return_made_with_another_preset_is_recomputed_with_its_own(tmp_path):
    """Generated with gbt2589-2020, saved by a spreadsheet (LibreOffice recalculates it), consolidated with no
    --preset: diesel at 0.86, no W303, and the workbook's own cached figure agrees."""
    unit = sample_roster(SPEC)[0]
    made = _returns(tmp_path / "made", "gbt2589-2020", [unit])
    saved = libreoffice.recalculate(made, tmp_path / "回收")
    report = _consolidate(tmp_path / "回收", tmp_path)
    (entry,) = report["units"]
    assert entry["meta"]["factor_preset"] == "gbt2589-2020"
    assert entry["results"]["cur_diesel_kgce"] == pytest.approx(1253.11, abs=0.01)     # 1 000 × 1.4571 × 0.86
    codes = _codes(report, saved[0].name)
    assert "W303" not in codes and "F113" not in codes and "R603" not in codes
    assert report["presets_used"] == {"gbt2589-2020": [saved[0].name]}


def test_a_run_mixing_presets_recomputes_each_file_with_its_own_and_says_so(tmp_path):
    units = sample_roster(SPEC)[:3]
    _returns(tmp_path / "回收" / "a", "xj-2023", units[:2])
    _returns(tmp_path / "回收" / "b", "gbt2589-2020", units[2:])
    report = _consolidate(tmp_path / "回收", tmp_path)
    by_file = {u["file"]: u for u in report["units"]}
    for path, u in by_file.items():
        expected = 1398.82 if path.startswith("a/") else 1253.11       # 1 000 L × 1.4571 × 0.96 | 0.86
        assert u["results"]["cur_diesel_kgce"] == pytest.approx(expected, abs=0.01), path
        assert "W303" not in _codes(report, path)
    assert {p: sorted(v) for p, v in report["presets_used"].items()} == {
        "xj-2023": sorted(p for p in by_file if p.startswith("a/")), "gbt2589-2020": [f"b/{units[2].code}.xlsx"]}
    # The mix is reported on the file of the less common preset, naming both presets.
    (d503,) = [f for f in report["findings"] if f["code"] == "D503"]
    assert d503["file"].startswith("b/") and "xj-2023 2 个" in d503["message"] and "gbt2589-2020 1 个" in d503["message"]


def test_preset_on_consolidate_is_a_filter_not_an_override(tmp_path):
    units = sample_roster(SPEC)[:2]
    _returns(tmp_path / "回收" / "a", "xj-2023", units[:1])
    _returns(tmp_path / "回收" / "b", "gbt2589-2020", units[1:])
    report = _consolidate(tmp_path / "回收", tmp_path, "--preset", "xj-2023")
    by_file = {u["file"]: u for u in report["units"]}
    kept, other = by_file[f"a/{units[0].code}.xlsx"], by_file[f"b/{units[1].code}.xlsx"]
    assert kept["state"] == "有效" and kept["results"]["cur_diesel_kgce"] == pytest.approx(1398.82, abs=0.01)
    assert other["blocking"] and "F113" in _codes(report, other["file"])
    assert other["results"]["cur_diesel_kgce"] == pytest.approx(1253.11, abs=0.01)   # still its own factors


def test_year_comes_from_the_returns_and_year_option_is_checked(tmp_path):
    units = sample_roster(SPEC)[:1]
    _returns(tmp_path / "回收", "xj-2023", units)
    report = _consolidate(tmp_path / "回收", tmp_path)
    assert (report["year"], report["year_source"]) == (YEAR, "returns")
    report = _consolidate(tmp_path / "回收", tmp_path, "--year", str(YEAR))
    assert (report["year"], report["year_source"]) == (YEAR, "option")
    assert main(["consolidate", str(tmp_path / "回收"), "-o", str(tmp_path / "x.xlsx"), "--year", "1999"]) == 2


def test_a_custom_spec_dir_reaches_the_worker_processes(tmp_path, capsys):
    """A copy of the spec with gbt2589-2020's diesel density set to 0.80: a workbook generated from it and
    consolidated with --spec-dir on two worker processes (≥ 40 files) shows 1 000 × 1.4571 × 0.80 = 1 165.68."""
    spec_dir = tmp_path / "规格"
    shutil.copytree(SPEC.directory, spec_dir)
    factors = spec_dir / "factors.toml"
    text = factors.read_text(encoding="utf-8")
    head, sep, rest = text.partition("[preset.gbt2589-2020.kgce.diesel]")
    assert sep and "extra = 0.86" in rest.split("[", 1)[0]
    factors.write_text(head + sep + rest.replace("extra = 0.86", "extra = 0.80", 1), encoding="utf-8")
    custom = load_spec(spec_dir)
    assert custom.digest != SPEC.digest and custom.preset("gbt2589-2020").kgce["diesel"].extra == 0.80

    unit = sample_roster(custom)[0]
    made = _returns(tmp_path / "one", "gbt2589-2020", [unit], spec=custom)[0]
    folder = tmp_path / "回收"
    folder.mkdir()
    for i in range(40):                                  # workers.PARALLEL_FROM: read on two processes
        shutil.copy(made, folder / f"{i:02d}.xlsx")
    report = _consolidate(folder, tmp_path, "--spec-dir", str(spec_dir))
    assert report["accounting"]["consolidated"] == 40 and len(report["duplicates"]) == 1    # one unit, 40 files
    assert [u["results"]["cur_diesel_kgce"] for u in report["units"]] == [pytest.approx(1165.68, abs=0.01)]
    assert not [f for f in report["findings"] if f["code"] in ("F112", "W303", "F114")]
    # The same files with the shipped spec: another spec (F112, a warning) and the shipped factor.
    report = _consolidate(folder, tmp_path)
    assert {f["code"] for f in report["findings"]} >= {"F112"}
    assert [u["results"]["cur_diesel_kgce"] for u in report["units"]] == [pytest.approx(1253.11, abs=0.01)]


def test_the_core_never_loads_the_spec_by_itself():
    found = subprocess.run(["grep", "-rn", "load_spec", "udfs/"], cwd=ROOT, capture_output=True, text=True)
    assert found.stdout == ""


def test_importing_the_consolidation_leaves_openpyxl_and_stdnum_out():
    """Every start of a run imports the consolidation: openpyxl (the roster reader's) and python-stdnum (with its
    ssl and socket, for checking a code) are imported only by what uses them."""
    code = ("import sys, addin.cli, addin.consolidate, addin.consolidate.read, addin.consolidate.summary, "
            "addin.consolidate.workers, addin.consolidate.ledger, addin.consolidate.run; "
            "found = [m for m in sys.modules if m.split('.')[0] in ('openpyxl', 'stdnum')]; assert not found, found[:3]")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_the_reader_imports_nothing_from_the_generator():
    code = ("import sys, addin.consolidate.read; "
            "assert not [m for m in sys.modules if m == 'generator' or m.startswith('generator.')]")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
