"""`jieyue demo`: a worked example of one unit's two data years, computed from built-in sample data.

Everything printed is computed by `udfs.evaluate` from `sample_data/demo_unit.toml` and the spec; the
report only lays it out like the official 计算表, the decline table and the self-evaluation.
"""
from __future__ import annotations

import random
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import udfs
from workbook_templates import SLOTS, Spec, load_spec

from .textreport import number, table

SAMPLE = "demo_unit.toml"
ROSTER = "名单.csv"


def load_sample(name: str = SAMPLE) -> dict[str, Any]:
    """The sample unit as contract inputs (`prev_electricity_kwh`, `self_2_1_1`, …) plus its unit info."""
    raw = tomllib.loads(resources.files("addin").joinpath("sample_data", name).read_text("utf-8"))
    inputs: dict[str, Any] = {k: raw[k] for k in ("unit_name", "unit_code", "unit_level", "unit_region",
                                                  "assessment_year")}
    for slot in SLOTS:
        inputs.update({f"{slot}_{k}": v for k, v in raw[slot].items()})
    for key, value in raw["self_scores"].items():
        inputs[key if not key[0].isdigit() else "self_" + key.replace(".", "_")] = value
    return inputs


def render(inputs: Mapping[str, Any], preset: str | None = None, grid_factor: str | None = None,
           switches: Mapping[str, str] | None = None, spec: Spec | None = None) -> str:
    """The demo report for one unit, as text."""
    spec = spec or load_spec()
    year = spec.year(inputs.get("assessment_year"))
    p = spec.preset(preset)
    grid = spec.grid_factor(grid_factor, p.id)
    chosen = udfs.resolve_switches(spec, switches)
    r = udfs.evaluate(inputs, year.year, p.id, grid_factor=grid.id, switches=chosen, spec=spec)
    digits = spec.precision
    out: list[str] = []
    code_problem = udfs.check_unit_code(inputs.get("unit_code"))
    out.append(f"单位：{inputs.get('unit_name', '（未填）')}　统一社会信用代码：{inputs.get('unit_code', '')}"
               + (f"（{code_problem}）" if code_problem else "")
               + f"　{inputs.get('unit_level', '')}　{inputs.get('unit_region', '')}")
    out.append(f"复验年度 {year.year}：比较 {year.prev_year} 年（上年）与 {year.cur_year} 年（本年）的数据")
    out.append(f"系数预设：{p.id}　{p.label}")
    out.append(f"电力排放因子：{grid.factor} 吨CO2/兆瓦时　{grid.label}")
    for key, option in chosen.items():
        sw = spec.switches[key]
        default = "（默认）" if option == sw.default else "（非默认）"
        out.append(f"口径：{sw.label} = {sw.options[option].label}{default}")

    for slot in SLOTS:
        out.append("")
        out.append(f"公共机构能耗数据及碳排放计算表（{year.data_year(slot)}年度）")
        rows = [["指标名称", "计量单位", "数量", "折标系数", "附加系数", "标准煤(千克)", "碳排放量(吨)"]]
        for item in spec.items:
            qty = udfs.as_quantity(inputs.get(f"{slot}_{item.name}"))
            row = [item.label, item.unit, number(qty, 2)]
            if item.factor_of and item.factor_of == item.key:
                f = p.kgce[item.key]
                row += [f"{f.factor:g}", f"{f.extra:g}" if f.extra != 1 else "",
                        number(r[f"{slot}_{item.key}_kgce"], digits.kgce),
                        number(r[f"{slot}_{item.key}_co2_t"], digits.co2_t)]
            rows.append(row)
        rows.append(["综合能耗（单能耗）", "", "", "", "", number(r[f"{slot}_total_kgce"], digits.kgce),
                     number(r[f"{slot}_co2_t"], digits.co2_t)])
        rows.append(["建筑能耗", "", "", "", "", number(r[f"{slot}_building_kgce"], digits.kgce), ""])
        out.append(table(rows, right=(2, 3, 4, 5, 6)))
        out.append("计算结果")
        results = [[i.label, i.unit, number(r[f"{slot}_{i.key}"], 2)] for i in spec.intensities]
        out.append(table(results, right=(2,)))

    out.append("")
    out.append(f"{year.cur_year}年度强度指标下降率（目标：变化率不高于所列百分比）")
    rows = [["指标", f"{year.prev_year}", f"{year.cur_year}", "变化率(%)", "目标(%)", "结果"]]
    for i in spec.decline_intensities:
        ok = r[f"ok_{i.key}"]
        rows.append([f"{i.decline_label}（{i.unit}）", number(r[f"prev_{i.key}"], 2), number(r[f"cur_{i.key}"], 2),
                     number(r[f"chg_{i.key}"], digits.change_pct), f"{r[f'target_{i.key}']:.2f}",
                     "数据不全" if ok is None else ("达标" if ok else "未达标")])
    out.append(table(rows, right=(1, 2, 3, 4)))

    out.append("")
    out.append("自评得分（第一单元按下降率自动计算）")
    rows = [["评价单元", "得分", "满分"]]
    for unit in spec.units:
        rows.append([f"第{unit.id}单元 {unit.name}", number(r[unit.score_name], 1), f"{unit.points:g}"])
    rows.append(["自评总分", number(r["self_total"], 1), f"{spec.assessment.total_points:g}"])
    out.append(table(rows, right=(1, 2)))
    verdict = {True: "达到", False: "未达到", None: "无法判断是否达到"}[r["self_pass"]]
    out.append(f"{verdict}{spec.assessment.pass_line:g}分合格线；尚未评分或分值不合规的指标：{r['self_missing_count']} 项")
    inferred = [i.id for i in spec.indicators if i.unverified]
    out.append(f"待核实的指标（文字与分值为推断）：{'、'.join(inferred)}")

    out.append("")
    out.append("待核实的取值（已按所列取值计算，可改选预设或口径）：")
    out += [f"  - {line}" for line in p.flag_lines(spec.items, grid)]
    for sw in spec.switches.values():
        out.append(f"  - {sw.question}")
    return "\n".join(out)


def plausible_inputs(seed: str, spec: Spec | None = None) -> dict[str, Any]:
    """Invented but plausible inputs for one unit (both years and self-scores), reproducible from `seed`.

    Scaled from the built-in sample unit: size varies by unit, the current year moves a few per cent from
    the previous, and self-scores are mostly high legal values — so some units meet every target and some
    do not, as in a real batch.
    """
    spec = spec or load_spec()
    rng = random.Random(seed)
    base = load_sample()
    size = rng.uniform(0.3, 3.0)
    out: dict[str, Any] = {}
    for item in spec.items:
        prev = base[f"prev_{item.name}"]
        value = round(prev * size * rng.uniform(0.9, 1.1)) if prev else 0
        out[f"prev_{item.name}"] = value
    for item in spec.items:
        prev = out[f"prev_{item.name}"]
        drift = 1.0 if item.key in ("area", "vehicles", "official_vehicles") else rng.uniform(0.94, 1.02)
        out[f"cur_{item.name}"] = round(prev * drift)
    for slot in SLOTS:   # keep every 其中 row within its parent
        for item in spec.items:
            if item.parent:
                parent = out[f"{slot}_{spec.item(item.parent).name}"]
                out[f"{slot}_{item.name}"] = min(out[f"{slot}_{item.name}"], parent)
    for ind in spec.indicators:
        if ind.rule.type == "computed_target":
            continue
        if ind.rule.selector:
            choice = rng.choice(["是", "否"])
            out[ind.rule.selector] = choice
            legal = udfs.legal_values(ind, choice)
        else:
            legal = udfs.legal_values(ind)
        out[ind.score_name] = legal[-1] if rng.random() < 0.8 else rng.choice(legal)
    return out


def run_flow(out_dir: Path, spec: Spec | None = None) -> list[str]:
    """The whole flow on the sample roster: generate a personalised workbook per unit, then fill most of them
    with plausible data as units would return them. Returns the lines to print."""
    from generator import fill_workbook
    from generator.personalise import Personaliser, write_atomically, write_workbooks
    from generator.roster import read_roster, safe_file_name

    spec = spec or load_spec()
    roster_path = resources.files("addin").joinpath("sample_data", ROSTER)
    with resources.as_file(roster_path) as path:
        roster = read_roster(path, spec)
    generated, returned = out_dir / "生成的工作簿", out_dir / "回收的工作簿"
    returned.mkdir(parents=True, exist_ok=True)
    personaliser = Personaliser(spec=spec)
    result = write_workbooks(roster.units, generated, personaliser)
    filled = []
    for unit in roster.units[:-2]:            # the last two have not returned theirs yet
        data = fill_workbook(personaliser.workbook(unit), plausible_inputs(unit.code, spec))
        write_atomically(returned / safe_file_name(unit.code, unit.name), data)
        filled.append(unit.name)
    return [
        f"名单：{ROSTER}（{len(roster.units)} 个单位）",
        f"已生成 {len(result.written)} 个预填单位信息的工作簿：{generated}",
        f"已模拟 {len(filled)} 个单位填好并交回（其余 {len(roster.units) - len(filled)} 个未交）：{returned}",
        "用 Excel 或 WPS 打开任一工作簿即可看到填报界面；能耗与下降率由表内公式计算，自评表从下拉列表选择。",
    ]
