"""docs/新年度.md, step by step, in a temporary copy of the spec (issue 12 §1): an administrator adds the 2024 复验
without touching the package, generates the 2024 workbooks pre-filled from the 2023 report, and consolidates them.

The 2024 table is the one the document shows (read from it, so the document and the test cannot drift apart):
targets −1.50 / −1.20 / −1.30 / −1.60, preset xj-2023 (the same as 2023: flagged), grid factor national-2022
(0.5366 tCO2/MWh: 2023 used mee-2022-grid 0.5703), standard xj-2023.
"""
from __future__ import annotations

import io
import json
import re
from contextlib import redirect_stdout
from pathlib import Path

import openpyxl
import pytest

from addin.cli import main
from addin.demo import plausible_inputs, sample_roster
from generator import fill_workbook
from generator.roster import safe_file_name
from workbook_templates import load_spec

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "新年度.md"
SPEC = load_spec()


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(list(argv))
    return code, out.getvalue()


def doc_table() -> str:
    """The TOML block of step 2 in docs/新年度.md."""
    (block,) = re.findall(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    return block


@pytest.fixture(scope="module")
def spec_dir(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("admin") / "规格2024"
    code, printed = run("spec", "--copy-to", str(target))                  # step 1
    assert code == 0 and "已把规格复制到" in printed
    targets = target / "targets.toml"                                      # step 2
    targets.write_text(targets.read_text(encoding="utf-8") + "\n" + doc_table(), encoding="utf-8")
    return target


def test_step_3_the_spec_lists_2024_and_flags_the_reused_preset(spec_dir):
    code, printed = run("spec", "--spec-dir", str(spec_dir))
    assert code == 0
    assert "2024年复验（数据年度 2022、2023）：系数预设 xj-2023，电力排放因子 national-2022，评价标准 xj-2023" in printed
    assert "人均综合能耗 -1.50%" in printed
    assert "请核实：2024年复验沿用2023年的系数预设 xj-2023" in printed and "电力排放因子 national-2022" not in \
        printed.split("请核实：")[1]
    assert load_spec(SPEC.directory).years.keys() == {2023}                 # the package is untouched


def test_step_3_a_mistake_names_the_file_and_the_key(tmp_path, spec_dir, capsys):
    bad = tmp_path / "坏规格"
    bad.mkdir()
    for f in spec_dir.iterdir():
        (bad / f.name).write_bytes(f.read_bytes())
    t = bad / "targets.toml"
    t.write_text(t.read_text(encoding="utf-8").replace('grid_factor = "national-2022"', 'grid_factor = "national-2025"'),
                 encoding="utf-8")
    assert main(["spec", "--spec-dir", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "targets.toml" in err and "year.2024.grid_factor" in err and "national-2025" in err


def test_step_3_the_template_follows_the_year(spec_dir, tmp_path):
    out = tmp_path / "2024模板.xlsx"
    code, printed = run("template", "--year", "2024", "--spec-dir", str(spec_dir), "-o", str(out))
    assert code == 0 and "电力排放因子 national-2022" in printed
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[2:5] == ["能耗数据2022", "能耗数据2023", "强度指标下降率"]
    texts = [c.value for c in wb["自评表"]["B"] if isinstance(c.value, str) and c.value.startswith("完成上一年度")]
    assert texts == ["完成上一年度人均综合能耗强度指标（同比下降1.50%以上）",
                     "完成上一年度单位建筑面积能耗强度指标（同比下降1.20%以上）",
                     "完成上一年度单位建筑面积碳排放强度指标（同比下降1.60%以上）",
                     "完成上一年度人均水资源消耗强度指标（人均用水量同比下降1.30%以上）"]
    meta = {wb["_meta"][f"A{r}"].value: wb["_meta"][f"B{r}"].value for r in range(1, 12) if wb["_meta"][f"A{r}"].value}
    assert (meta["assessment_year"], meta["factor_preset"], meta["grid_factor"], meta["standard_version"]) == (
        2024, "xj-2023", "national-2022", "xj-2023")


def _roster(path: Path, units, kinds: dict[str, str]) -> Path:
    lines = ["单位名称,统一社会信用代码,单位层级,所属地区,类型,命名年度"]
    lines += [f"{u.name},{u.code},{u.level},{u.region},{kinds.get(u.code, '')},{'' if kinds.get(u.code) == '创建' else 2020}"
              for u in units]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def flow(spec_dir, tmp_path_factory):
    """2023: generate, fill, consolidate (the report 2024 pre-fills from); 2024: generate --prefill-from it, fill
    only 2023 and the self-scores, consolidate with --roster and --spec-dir."""
    base = tmp_path_factory.mktemp("flow")
    spec = load_spec(spec_dir)
    units = sample_roster(spec)[:4]
    creating = units[3]
    roster = _roster(base / "名单.csv", units, {creating.code: "创建"})

    assert run("generate", "--roster", str(roster), "--year", "2023", "--spec-dir", str(spec_dir),
               "-o", str(base / "2023工作簿"))[0] == 0
    (base / "2023回收").mkdir()
    last = {}
    for u in units[:3]:                                                    # the 创建 unit was not there in 2023
        name = safe_file_name(u.code, u.name)
        last[u.code] = plausible_inputs(u.code + "2023", spec)
        data = fill_workbook((base / "2023工作簿" / name).read_bytes(), last[u.code])
        (base / "2023回收" / name).write_bytes(data)
    assert run("consolidate", str(base / "2023回收"), "--spec-dir", str(spec_dir), "--no-ledger",
               "-o", str(base / "2023汇总.xlsx"), "--json", str(base / "2023汇总.json"))[0] == 0

    code, printed = run("generate", "--roster", str(roster), "--year", "2024", "--spec-dir", str(spec_dir),
                        "-o", str(base / "2024工作簿"), "--prefill-from", str(base / "2023汇总.json"))
    assert code == 0, printed
    (base / "2024回收").mkdir()
    for u in units:
        name = safe_file_name(u.code, u.name)
        this = plausible_inputs(u.code + "2024", spec)
        typed = {k: v for k, v in this.items() if not k.startswith("prev_")} if u.code in last else this
        (base / "2024回收" / name).write_bytes(fill_workbook((base / "2024工作簿" / name).read_bytes(), typed))
    code, _ = run("consolidate", str(base / "2024回收"), "--roster", str(roster), "--spec-dir", str(spec_dir),
                  "--no-ledger", "-o", str(base / "2024汇总.xlsx"), "--json", str(base / "2024汇总.json"))
    assert code == 0
    report = json.loads((base / "2024汇总.json").read_text(encoding="utf-8"))
    return {"base": base, "units": units, "creating": creating, "last": last, "printed": printed, "report": report,
            "spec": spec}


def test_step_4_the_earlier_year_is_prefilled_from_last_years_report(flow):
    """The 2024 form's 2022 column is the 2023 form's 2022 column: each carried value, as a number, in a blue cell
    that is still unlocked, and the sheet says where the numbers come from."""
    assert "按2023年复验汇总报告预填 2022 年度数据：3 个单位已预填；1 个单位" in flow["printed"]
    u = flow["units"][0]
    wb = openpyxl.load_workbook(flow["base"] / "2024工作簿" / safe_file_name(u.code, u.name))
    ws = wb["能耗数据2022"]
    assert "已按你单位在2023年复验中报送的2022年度数据预填" in ws["A2"].value and "直接修改" in ws["A2"].value
    spec = flow["spec"]
    names = {n: ref for n, (sheet, ref) in __import__("generator").build_plan(spec, 2024, "xj-2023").named().items()
             if sheet.title == "能耗数据2022"}
    for item in spec.items:
        cell = ws[names[f"prev_{item.name}"]]
        assert cell.value == flow["last"][u.code][f"cur_{item.name}"], item.name
        assert cell.protection.locked is False
    blank = openpyxl.load_workbook(flow["base"] / "2024工作簿" / safe_file_name(flow["creating"].code,
                                                                              flow["creating"].name))
    assert blank["能耗数据2022"][names["prev_people"]].value is None          # not in last year's report


def test_step_5_consolidated_as_2024_with_the_years_own_factors(flow):
    report = flow["report"]
    assert report["year"] == 2024 and report["year_source"] == "returns"
    codes = {f["code"] for f in report["findings"]}
    assert not codes & {"F111", "F112", "F113", "F114", "W302", "W303"}, codes
    for unit in report["units"]:
        assert unit["meta"]["grid_factor"] == "national-2022"
        kwh = unit["inputs"]["cur_electricity_kwh"]
        # national-2022: 0.5366 tCO2/MWh → kWh × 0.5366 ÷ 1000 tonnes, rounded to 4 places
        assert unit["results"]["cur_electricity_co2_t"] == round(kwh * 0.5366 / 1000, 4)
        assert unit["results"]["target_energy_per_capita"] == -1.5
        if unit["unit_code"] in flow["last"]:
            assert unit["inputs"]["prev_people"] == flow["last"][unit["unit_code"]]["cur_people"]
    assert report["year_flags"] and "沿用2023年的系数预设 xj-2023" in report["year_flags"][0]


def test_step_5_cohorts_and_the_base(flow):
    report = flow["report"]
    results = {r["unit_code"]: r for r in report["review_results"]}
    assert results[flow["creating"].code]["cohort"] == "创建"
    assert results[flow["units"][0].code]["cohort"] == "复验" and results[flow["units"][0].code]["named_year"] == 2020
    rules = report["review_rules"]
    # 3 复验 units on the roster (the 创建 unit does not count): ceil(5 % × 3) = ceil(0.15) = 1 — but none is
    # ranked yet (no review pack came back), so none is marked.
    assert rules["elimination_base"] == "roster" and rules["elimination_base_units"] == 3
    assert rules["elimination_count"] == 0 and rules["elimination_groups"][0]["base"] == 3
    assert {r["state"] for r in report["review_results"]} <= set(rules["states"])
    book = openpyxl.load_workbook(flow["base"] / "2024汇总.xlsx", read_only=True)
    notes = "\n".join(str(c) for row in book["说明"].iter_rows(values_only=True) for c in row if c)
    assert "摘牌比例的基数" in notes and "名单中的复验单位" in notes and "本次基数 3 个单位" in notes
    assert "沿用2023年的系数预设 xj-2023" in notes


def test_step_4_or_from_last_years_returns_folder(flow, tmp_path):
    """The same pre-fill from the 2023 returns folder itself (consolidated on the way): the same numbers."""
    base, u = flow["base"], flow["units"][1]
    code, printed = run("generate", "--roster", str(base / "名单.csv"), "--year", "2024", "--spec-dir",
                        flow["spec"].directory, "-o", str(tmp_path / "out"), "--prefill-from", str(base / "2023回收"))
    assert code == 0 and "按2023年复验回收的工作簿预填 2022 年度数据：3 个单位已预填" in printed
    def values(path: Path) -> list:
        ws = openpyxl.load_workbook(path)["能耗数据2022"]
        return [[c.value for c in row] for row in ws.iter_rows() if row[0].row != 2]   # row 2: the note
    assert values(tmp_path / "out" / safe_file_name(u.code, u.name)) == \
        values(base / "2024工作簿" / safe_file_name(u.code, u.name))


def test_a_report_of_another_year_is_refused_in_chinese(flow, tmp_path, capsys):
    base = flow["base"]
    code = main(["generate", "--roster", str(base / "名单.csv"), "--year", "2023", "--spec-dir",
                 flow["spec"].directory, "-o", str(tmp_path / "o"), "--prefill-from", str(base / "2024汇总.json")])
    err = capsys.readouterr().err
    assert code == 2 and "上年汇总是 2024 年复验的" in err and "不含 2023 年复验需要预填的 2021 年度数据" in err
