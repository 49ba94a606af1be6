"""The `jieyue` command: the same actions as the library, in Chinese, with errors that say what to do."""
from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest

import udfs
from addin.cli import main
from addin.demo import load_sample
from workbook_templates import contract_names, load_spec
from workbook_templates.load import SPEC_DIR

DOCS = Path(__file__).resolve().parents[1] / "docs"
SPEC = load_spec()


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_spec_names_lists_every_contract_name_as_csv(capsys):
    code, out, _ = run(capsys, "spec", "--names")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0
    assert [r["name"] for r in rows] == [n.name for n in contract_names(SPEC)]
    assert {"name", "meaning", "unit", "kind", "sheet", "cell"} == set(rows[0])
    by_name = {r["name"]: r for r in rows}
    assert by_name["prev_electricity_kwh"]["unit"] == "千瓦时"
    assert by_name["chg_co2_per_area"]["unit"] == "%"
    # Every name says where it lives in the workbook of the default year.
    assert all(r["sheet"] and r["cell"] for r in rows)
    assert (by_name["prev_electricity_kwh"]["sheet"], by_name["unit_name"]["sheet"]) == ("能耗数据2021", "单位信息")


def test_contract_names_are_never_renamed():
    """docs/contract_names.csv is the published contract: every name in it must still exist.

    Adding a name is allowed (regenerate the file with `jieyue spec --names > docs/contract_names.csv`);
    removing or renaming one breaks every workbook already handed out, so this test fails.
    """
    published = [r["name"] for r in csv.DictReader((DOCS / "contract_names.csv").open(encoding="utf-8"))]
    current = [n.name for n in contract_names(SPEC)]
    assert not set(published) - set(current), "contract names removed or renamed"
    assert published == current, "docs/contract_names.csv is stale: regenerate it with `jieyue spec --names`"


def test_factor_listing_is_current_and_names_every_source(capsys):
    code, out, _ = run(capsys, "spec", "--factors")
    assert code == 0
    assert out == (DOCS / "factors.csv").read_text(encoding="utf-8"), "regenerate docs/factors.csv"
    rows = list(csv.DictReader(io.StringIO(out)))
    assert all(r["source"] for r in rows)
    diesel = [r for r in rows if r["preset"] == "xj-2023" and r["item"] == "diesel" and r["kind"] == "kgce"]
    assert diesel[0]["extra"] == "0.96" and "0.86" in diesel[0]["flag"]


def test_spec_check_reports_a_broken_spec_by_file_and_key(capsys, tmp_path):
    broken = tmp_path / "spec"
    shutil.copytree(SPEC_DIR, broken)
    path = broken / "factors.toml"
    path.write_text(path.read_text(encoding="utf-8").replace("factor = 0.1229", 'factor = "0.1229"'),
                    encoding="utf-8")
    code, out, err = run(capsys, "spec", "--spec-dir", str(broken))
    assert code == 2 and out == ""
    assert "factors.toml" in err and "preset.xj-2023.kgce.electricity.factor" in err and "应为数" in err


def test_spec_summary(capsys):
    code, out, _ = run(capsys, "spec")
    assert code == 0
    assert "8 个评价单元，54 项指标，满分 100，合格线 80" in out


def test_demo_prints_the_sample_units_figures(capsys):
    """The demo is computed, not canned: its figures are evaluate()'s on the sample data."""
    code, out, _ = run(capsys, "demo", "-o", "")
    spec = load_spec()
    r = udfs.evaluate(load_sample(), spec.default_year, spec.default_preset, spec=spec)   # no --year, no --preset
    assert code == 0
    assert "公共机构能耗数据及碳排放计算表（2021年度）" in out and "2022年度强度指标下降率" in out
    assert f"{r['prev_total_kgce']:,.2f}" in out and f"{r['cur_energy_per_area']:,.2f}" in out
    assert f"{r['chg_energy_per_capita']:,.2f}" in out
    assert "自评总分" in out and f"{r['self_total']:,.1f}" in out
    # The unverified values are shown, not hidden.
    assert "0.96" in out and "0.98" in out and "待核实" in out


def test_demo_with_another_preset_changes_diesel(capsys):
    _, default, _ = run(capsys, "demo", "-o", "")
    code, other, _ = run(capsys, "demo", "-o", "", "--preset", "gbt2589-2020")
    assert code == 0 and default != other
    assert "0.86" in other


@pytest.mark.parametrize("argv, fragment", [
    (["demo", "-o", "", "--preset", "nope"], "未知的系数预设「nope」"),
    (["demo", "-o", "", "--switch", "building_energy=nope"], "没有选项「nope」"),
    (["demo", "-o", "", "--grid-factor", "nope"], "未知的电力排放因子「nope」"),
])
def test_demo_rejects_unknown_choices_in_chinese(capsys, argv, fragment):
    code, out, err = run(capsys, *argv)
    assert code == 2 and fragment in err
