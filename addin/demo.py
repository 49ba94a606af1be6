"""`jieyue demo`: a worked example of one unit's two data years, computed from built-in sample data, then the
whole flow on the sample roster.

`render`: everything printed is computed by `udfs.evaluate` from `sample_data/demo_unit.toml` and the spec; the
report only lays it out like the official 计算表, the decline table and the self-evaluation.

`run_flow`: generate the roster's workbooks, return them filled (a few badly), fill the three reviewers' packs and
consolidate — the files a user opens to see every part, the same on every run.
"""
from __future__ import annotations

import os
import random
import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping

import udfs
from generator.ooxml import with_fixed_times, write_atomically
from generator.review_layout import ReviewUnit
from generator.roster import RosterUnit
from udfs.levels import covers, reviewer_of, reviewers
from udfs.review import DEDUCTING, given_values
from workbook_templates import SLOTS, Spec
from workbook_templates.contract import UNIT_NAMES
from workbook_templates.review_names import findings_name, given_name

from .review.pack import ReviewPack, build_review_pack
from .textreport import number, table

SAMPLE = "demo_unit.toml"
ROSTER = "名单.csv"


def load_sample(name: str = SAMPLE) -> dict[str, Any]:
    """The sample unit as contract inputs (`prev_electricity_kwh`, `self_2_1_1`, …) plus its unit info."""
    raw = tomllib.loads(resources.files("addin").joinpath("sample_data", name).read_text("utf-8"))
    inputs: dict[str, Any] = {k: raw[k] for k in (*UNIT_NAMES, "assessment_year")}
    for slot in SLOTS:
        inputs.update({f"{slot}_{k}": v for k, v in raw[slot].items()})
    for key, value in raw["self_scores"].items():
        inputs[key if not key[0].isdigit() else "self_" + key.replace(".", "_")] = value
    return inputs


def render(inputs: Mapping[str, Any], spec: Spec, preset: str | None = None, grid_factor: str | None = None,
           switches: Mapping[str, str] | None = None) -> str:
    """The demo report for one unit, as text."""
    year = spec.year(inputs.get("assessment_year"))
    p = spec.preset(preset or year.preset)                 # the year's own choices unless others are given
    grid = spec.grid_factor(grid_factor or year.grid_factor)
    chosen = udfs.resolve_switches(spec, switches)
    r = udfs.evaluate(inputs, year.year, p.id, grid_factor=grid.id, switches=chosen, spec=spec)
    digits = spec.precision
    out: list[str] = []
    code_problem = udfs.check_unit_code(inputs.get("unit_code"))
    out.append(f"单位：{inputs.get('unit_name', '（未填）')}　统一社会信用代码：{inputs.get('unit_code', '')}"
               + (f"（{code_problem}）" if code_problem else "")
               + f"　{inputs.get('unit_level', '')}　{inputs.get('unit_region', '')}")
    out.append(f"复验年度 {year.year}：比较 {year.prev_year} 年（上年）与 {year.cur_year} 年（本年）的数据")
    out.append(f"评价标准：{spec.standard(None, year.year).label}")
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
    out += [f"  - {line}" for line in spec.year_flags(year.year)]
    out += [f"  - {line}" for line in p.flag_lines(spec.items, grid)]
    for sw in spec.switches.values():
        out.append(f"  - {sw.question}")
    out.append(f"  - {spec.decline.question}")
    out.append(f"  - {spec.not_applicable.question}")
    return "\n".join(out)


def plausible_inputs(seed: str, spec: Spec) -> dict[str, Any]:
    """Invented but plausible inputs for one unit (both years and self-scores), reproducible from `seed`.

    Scaled from the built-in sample unit: size varies by unit, the current year moves a few per cent from
    the previous, and self-scores are mostly high legal values — so some units meet every target and some
    do not, as in a real batch.
    """
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
            legal = udfs.legal_values(ind, choice, spec=spec)
        else:
            legal = udfs.legal_values(ind, spec=spec)
        out[ind.score_name] = legal[-1] if rng.random() < 0.8 else rng.choice(legal)
    return out


# ---------------------------------------------------------------- the whole flow on the sample roster
#
# `run_flow` plays every part once, in order: the administrator generates the workbooks, units return them
# (most well, a few badly), the three reviewing authorities fill their packs, and the administrator consolidates.
# Every choice below is fixed, so two runs write the same files and the same report.

DEMO_SEED = 20230815
"""The demo's random seed: spot-check lists in the packs and the reviewers' entries are the same on every run."""

GENERATED, RETURNED, PACKS = "生成的工作簿", "回收的工作簿", "评审包"
SUMMARY, REPORT = "汇总.xlsx", "汇总.json"
NOTICES = "结果通知"
AS_OF = date(2023, 8, 15)
"""The demo's consolidation date (`--as-of`): after 8月上旬, so the units that did not return are overdue — and
before 8月中旬, so no review stage is."""

# The bad returns: few on purpose, each showing one thing the consolidation catches (by unit code; the names are
# in addin/sample_data/名单.csv).
NOT_RETURNED = ("11650000519203277E", "116505235511777196")
"""自治区档案资料保管中心 and 白杨河县人民检察院 never return theirs: listed as 未报送."""
TEXT_IN_NUMBER = ("11654025104204232C", "prev_electricity_kwh", "2000万")
"""果园县教育局 pastes 「2000万」 into 用电量 (pasting bypasses a cell's validation): a text in a number cell is
E201, an error, so the unit is not ranked and is left out of the review packs."""
RETURNED_TWICE = "116523271905724185"
"""天池县人民法院 returns a first version, then a corrected one a day later: 重复报送, and the rule takes the newer."""
FIRST_VERSION = "（第一次报送）"
"""What the unit's first, older file has in its name."""
UNFINISHED_REVIEW = ("region", "11650000488423203C", 3)
"""(reviewer key, unit code, blank items): the 自治区 has not finished 自治区公共机构节能监测中心's scorecard yet.
Only the 自治区 reviews a 自治区本级 unit, so nothing else stands in for it: the unit is 待评审."""

EVIDENCE_MISSING = ("1165402415832858XR", "2.2 管理制度.pdf")
"""雪莲县人民政府办公室 lists its 管理制度 file but leaves it out of its 佐证材料 folder: 列出的文件未找到."""
EVIDENCE_UNLISTED = ("1165052246816761XA", "其他/会议签到表.jpg")
"""东天山县卫生健康委员会 puts a file in its folder that no indicator lists: 交回的文件未在自评表中列出."""
EVIDENCE_ZIP = "116505001939191120"
"""哈密市机关事务管理局 hands its 佐证材料 in as a zip instead of a folder."""
PHOTO = ("照片/现场.jpg", "节能宣传展板")
"""Every unit's one photo, listed with its caption (图说) under its first scored indicator."""

LOWER_SHARE = 0.06
"""How often a reviewer gives one legal value less than the unit's self-score (otherwise the nearest legal one)."""
FINDINGS_SHARE = 0.08
"""How often a field check finds something (1 or 2 处) on an item with per-finding deductions."""
SURNAMES = "王李张刘陈杨赵黄"
GIVEN_NAMES = ("建华", "丽娟", "志强", "海燕", "国庆", "晓梅", "文军", "春梅")
AREA_CODE = "0991"
"""The area code of the demo's contact phones (乌鲁木齐)."""
RETURN_MONTH, RETURN_DAYS = 8, 10
"""The 填报日期 of the demo's returns: one of the first `RETURN_DAYS` days of `RETURN_MONTH` of the assessment year
(8月上旬, when returns are due in process.toml; before the demo's `AS_OF`)."""
DAY_NS = 24 * 3600 * 10**9


@dataclass(frozen=True)
class DemoReturn:
    """One file the demo puts in the returns folder, and what it demonstrates (empty for an ordinary return)."""

    unit: RosterUnit
    path: Path
    shows: str = ""


@dataclass(frozen=True)
class DemoPack:
    """One reviewer's filled pack as written, and which of its scorecards were filled."""

    pack: ReviewPack
    path: Path
    entries: dict[str, dict[str, Any]]     # unit code → the reviewer's inputs (fill_workbook's scorecards)
    unfinished: str = ""                    # the code of the scorecard left incomplete on purpose


def sample_roster(spec: Spec) -> list[RosterUnit]:
    """The units of the sample roster (addin/sample_data/名单.csv)."""
    from generator.roster import read_roster
    with resources.as_file(resources.files("addin").joinpath("sample_data", ROSTER)) as path:
        return read_roster(path, spec).units


def plausible_contact(code: str, year: int) -> dict[str, Any]:
    """Invented but plausible 联系人, 联系电话 and 填报日期 of a unit's return, reproducible from its `code`: a name,
    an 乌鲁木齐 phone number, a day in 8月上旬 of the assessment `year` (as the unit types them)."""
    rng = random.Random(f"contact|{code}")
    return {"contact_name": rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES),
            "contact_phone": f"{AREA_CODE}-{rng.randrange(2_000_000, 10_000_000)}",
            "fill_date": date(year, RETURN_MONTH, 1) + timedelta(days=rng.randrange(RETURN_DAYS))}


def return_one(unit: RosterUnit, path: Path, inputs: Mapping[str, Any], personaliser: Any) -> Path:
    """The unit's personalised workbook filled with `inputs` (as the unit types them) and written to `path`
    atomically, with fixed timestamps (`generator.ooxml.with_fixed_times`: the same bytes on every run)."""
    from generator import fill_workbook
    write_atomically(path, with_fixed_times(fill_workbook(personaliser.workbook(unit), inputs)))
    return path


def plausible_evidence(inputs: Mapping[str, Any], spec: Spec) -> tuple[dict[str, str], dict[str, bytes]]:
    """(the `evid_<id>` lists, the files by path) a unit hands in for its self-scores: each 评价内容's scored
    indicators share one PDF named after it, and the first scored indicator also lists `PHOTO` with its caption.
    The files are tiny stand-ins (a PDF or JPEG header), never opened by anything."""
    from udfs.evidence import evidence_name
    texts: dict[str, str] = {}
    files: dict[str, bytes] = {}
    for unit in spec.units:
        for sub in unit.subareas:
            pdf = f"{sub.id} {sub.name}.pdf".replace("/", "、")
            for ind in sub.indicators:
                score = inputs.get(ind.score_name)
                if ind.rule.type == "computed_target" or not isinstance(score, (int, float)) or score <= 0:
                    continue
                texts[evidence_name(ind.id)] = pdf
                files[pdf] = b"%PDF-1.4\n% jieyue demo: " + pdf.encode("utf-8") + b"\n%%EOF\n"
                if not files.get(PHOTO[0]):
                    texts[evidence_name(ind.id)] += f"；{PHOTO[0]}（{PHOTO[1]}）"
                    files[PHOTO[0]] = b"\xff\xd8\xff\xe0 jieyue demo photo \xff\xd9"
    return texts, files


def write_evidence(beside: Path, code: str, files: Mapping[str, bytes], as_zip: bool = False) -> Path:
    """The unit's 佐证材料 beside its return: a folder `<code>_佐证材料/`, or a zip of that name with fixed
    timestamps (the same bytes on every run)."""
    import zipfile
    from udfs.evidence import evidence_stem
    target = beside / evidence_stem(code)
    if as_zip:
        target = target.with_name(target.name + ".zip")
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
            for path in sorted(files):
                z.writestr(zipfile.ZipInfo(path, date_time=(2023, 8, 1, 0, 0, 0)), files[path])
        return target
    for path in sorted(files):
        (target / path).parent.mkdir(parents=True, exist_ok=True)
        (target / path).write_bytes(files[path])
    return target


def plain_returns(folder: str | Path, spec: Spec, units: Iterable[RosterUnit] | None = None) -> list[Path]:
    """Only good returns: each unit's workbook (default: every unit of the sample roster) filled with
    `plausible_inputs` and written to `folder` as `jieyue generate` names it — a clean returns folder for tests
    and trials. Returns the files, in roster order."""
    from generator.personalise import Personaliser
    from generator.roster import safe_file_name
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    personaliser = Personaliser(spec, spec.default_year, spec.default_preset)
    return [return_one(u, folder / safe_file_name(u.code, u.name), plausible_inputs(u.code, spec), personaliser)
            for u in (sample_roster(spec) if units is None else units)]


def return_workbooks(units: list[RosterUnit], folder: Path, personaliser: Any, spec: Spec,
                     year: int) -> list[DemoReturn]:
    """Fill the units' workbooks of the assessment `year` with plausible data (and 单位信息's contact and date) and
    put them in `folder` as units return them — except the bad returns above. Returns every file written, in the
    order written."""
    from generator.roster import safe_file_name

    folder.mkdir(parents=True, exist_ok=True)
    written: list[DemoReturn] = []

    def put(unit: RosterUnit, name: str, inputs: Mapping[str, Any], shows: str = "") -> Path:
        written.append(DemoReturn(unit, return_one(unit, folder / name, inputs, personaliser), shows))
        return written[-1].path

    code, name, text = TEXT_IN_NUMBER
    slot, item_name = name.split("_", 1)
    item = next(i for i in spec.items if i.name == item_name)
    where = f"{spec.year(None).data_year(slot)}年{item.label}"
    for unit in units:
        if unit.code in NOT_RETURNED:
            continue
        inputs = plausible_inputs(unit.code, spec)
        listed, files = plausible_evidence(inputs, spec)
        contact = plausible_contact(unit.code, year)
        inputs = {**inputs, **listed, **contact}
        shown = ""
        if unit.code == EVIDENCE_MISSING[0]:
            files = {p: b for p, b in files.items() if p != EVIDENCE_MISSING[1]}
            shown = f"佐证材料文件夹中缺少表中列出的「{EVIDENCE_MISSING[1]}」→ 列出的文件未找到"
        elif unit.code == EVIDENCE_UNLISTED[0]:
            files = {**files, EVIDENCE_UNLISTED[1]: b"\xff\xd8\xff\xe0 jieyue demo \xff\xd9"}
            shown = f"佐证材料文件夹中多了表中没有列出的「{EVIDENCE_UNLISTED[1]}」→ 未在自评表中列出"
        elif unit.code == EVIDENCE_ZIP:
            shown = "佐证材料打成 zip 压缩包交回（与文件夹同样登记）"
        write_evidence(folder, unit.code, files, as_zip=unit.code == EVIDENCE_ZIP)
        file_name = safe_file_name(unit.code, unit.name)
        if shown and unit.code not in (code, RETURNED_TWICE):
            put(unit, file_name, inputs, shown)
        elif unit.code == code:
            put(unit, file_name, {**inputs, name: text},
                f"{where}填了「{text}」（文本，不是数字）→ E201 错误，不参与排名，也不进入评审包")
        elif unit.code == RETURNED_TWICE:
            first = put(unit, file_name.removesuffix(".xlsx") + FIRST_VERSION + ".xlsx",
                        {**plausible_inputs(unit.code + FIRST_VERSION, spec), **contact}, "第一次报送的文件（较旧）")
            newer = put(unit, file_name, inputs, "改正后再次报送（较新）→ 重复报送，按规则采用较新的文件")
            # A day apart, whatever the clock says: the rule takes the newer file (both are free of errors).
            mtime = newer.stat().st_mtime_ns
            os.utime(first, ns=(mtime - DAY_NS, mtime - DAY_NS))
        else:
            put(unit, file_name, inputs)
    return written


def _close_to(self_score: Any, allowed: tuple[float, ...], rng: random.Random) -> float:
    """A legal value near the unit's self-score: the nearest, sometimes the one below; any legal value when the
    unit has no counted self-score."""
    ordered = sorted(allowed)
    if isinstance(self_score, bool) or not isinstance(self_score, (int, float)):
        return rng.choice(ordered)
    i = min(range(len(ordered)), key=lambda k: (abs(ordered[k] - self_score), -k))
    if i > 0 and rng.random() < LOWER_SHARE:
        i -= 1
    return ordered[i]


def plausible_review(pack_or_units: ReviewPack | Iterable[ReviewUnit], level: str, spec: Spec,
                     seed: int | str = DEMO_SEED) -> dict[str, dict[str, Any]]:
    """Invented but plausible reviewer entries for each unit, as `fill_workbook(…, scorecards=…)` takes them:
    {统一社会信用代码: {rev_reviewer, rev_date, rev_<level>_given_<id>, rev_<level>_findings_<id>}}.

    Legal values only: a score the rule allows (`udfs.review.given_values`), mostly the one nearest the unit's
    self-score and sometimes one lower; for items with per-finding deductions a 发现问题处数 of 0, now and then 1
    or 2. Unit 1 is recomputed by the pack, so it has no entry. `level` is a reviewer (县市区 / 地州市 / 自治区
    or its key); the same seed, level and unit always give the same entries.
    """
    reviewer = reviewer_of(level, spec)
    if isinstance(pack_or_units, ReviewPack):
        units, year = pack_or_units.units, pack_or_units.year
    else:
        units, year = list(pack_or_units), spec.year(None).year
    order = [r.key for r in reviewers(spec)].index(reviewer.key)
    entries: dict[str, dict[str, Any]] = {}
    for unit in units:
        rng = random.Random(f"{seed}|{reviewer.key}|{unit.code}")
        # Lower levels review first: each authority's week in September of the assessment year.
        day = date(year, 9, 1) + timedelta(days=7 * order + rng.randrange(5))
        values: dict[str, Any] = {"rev_reviewer": f"{rng.choice(SURNAMES)}某（{reviewer.short}评审组）",
                                  "rev_date": day.isoformat()}
        for ind in spec.indicators:
            if allowed := given_values(ind, spec=spec):
                values[given_name(reviewer.key, ind.id)] = _close_to(unit.self_scores.get(ind.id), allowed, rng)
            if ind.rule.type in DEDUCTING:
                values[findings_name(reviewer.key, ind.id)] = rng.choice((1, 2)) if rng.random() < FINDINGS_SHARE else 0
        entries[unit.code] = values
    return entries


def reviewed_units(pack: ReviewPack, spec: Spec) -> list[ReviewUnit]:
    """The scorecards a reviewer fills: all of its pack — except the top authority's, which covers every unit but
    scores only its own level and re-checks the units drawn for its spot check (复核)."""
    top = reviewers(spec)[-1]
    if pack.reviewer.key != top.key:
        return list(pack.units)
    drawn = {code for g in pack.spot_groups if g.region is None for code in g.sample}
    return [u for u in pack.units if u.level == pack.reviewer.level or u.code in drawn]


def build_packs(returned: Path, spec: Spec) -> list[ReviewPack]:
    """Every reviewer's pack from the returns: the 县市区 and 地州市 authorities one per 地区 that has units they
    review (with a valid return), the 自治区 one over all units."""
    from .consolidate import consolidate
    # Packs a previous run left in the folder are not returns: a new pack is built from the units' files only.
    earlier = sorted((returned / PACKS).glob("*.xlsx"))
    units = [f for f in consolidate(returned, spec=spec, outputs=earlier).units if not f.blocking]
    *regional, top = reviewers(spec)
    packs = []
    for reviewer in regional:
        regions = sorted({str(f.unit.get("unit_region")) for f in units
                          if covers(reviewer, f.unit.get("unit_level"), spec=spec)})
        packs += [build_review_pack(returned, reviewer.key, region=r, seed=DEMO_SEED, spec=spec, outputs=earlier,
                                    pack_dir=returned / PACKS)
                  for r in regions]
    return packs + [build_review_pack(returned, top.key, seed=DEMO_SEED, spec=spec, outputs=earlier,
                                      pack_dir=returned / PACKS)]


def fill_packs(packs: list[ReviewPack], folder: Path, spec: Spec) -> list[DemoPack]:
    """Fill each pack as its reviewer would (`plausible_review`), leave UNFINISHED_REVIEW's scorecard with a few
    items blank, and write the packs into `folder` atomically."""
    from generator import fill_workbook
    folder.mkdir(parents=True, exist_ok=True)
    level, code, blanks = UNFINISHED_REVIEW
    out = []
    for pack in packs:
        entries = plausible_review(reviewed_units(pack, spec), pack.reviewer.key, spec, DEMO_SEED)
        unfinished = code if pack.reviewer.key == level and code in entries else ""
        if unfinished:
            scored = [given_name(level, i.id) for i in spec.indicators if given_values(i, spec=spec)]
            for name in scored[-blanks:]:
                del entries[code][name]
        path = folder / (f"{PACKS}_{pack.reviewer.short}" + (f"_{pack.region}" if pack.region else "") + ".xlsx")
        write_atomically(path, with_fixed_times(fill_workbook(pack.data, scorecards=entries)))
        out.append(DemoPack(pack, path, entries, unfinished))
    return out


def consolidate_all(returned: Path, out_dir: Path, spec: Spec) -> Any:
    """The administrator's consolidation of the returns folder (review packs included) against the sample roster:
    汇总.xlsx and 汇总.json in `out_dir`, the ledger beside them. Returns the run."""
    from .consolidate import Ledger, consolidate, ledger_path, read_roster_entries, write_outputs
    from .keys import ledger_secret
    with resources.as_file(resources.files("addin").joinpath("sample_data", ROSTER)) as path:
        roster, _ = read_roster_entries(path, spec)
    summary, report = out_dir / SUMMARY, out_dir / REPORT
    ledger = Ledger.load(ledger_path(summary), spec, secret=ledger_secret())
    run = consolidate(returned, spec=spec, roster=roster, ledger=ledger, outputs=(summary, report, ledger_path(summary)),
                      as_of=AS_OF)
    write_outputs(run, summary, report, spec, ledger)
    return run


@dataclass
class DemoFlow:
    """What one run of the flow wrote: the files of every step and the consolidation's run."""

    out_dir: Path
    units: list[RosterUnit]                 # the sample roster
    generated: Any                          # generator.personalise.BatchResult
    returns: list[DemoReturn]
    packs: list[DemoPack]
    run: Any                                # addin.consolidate.model.ConsolidationRun
    notices: Any = None                     # addin.notices.Written: the results handed back (结果通知/)

    @property
    def generated_dir(self) -> Path:
        return self.out_dir / GENERATED

    @property
    def returned_dir(self) -> Path:
        return self.out_dir / RETURNED


def play_flow(out_dir: str | Path, spec: Spec) -> DemoFlow:
    """Run every step into `out_dir`: generate a personalised workbook per roster unit (生成的工作簿/), return most
    of them filled — a few badly — (回收的工作簿/), build and fill the three reviewers' packs (回收的工作簿/评审包/),
    and consolidate everything (汇总.xlsx, 汇总.json). Two runs write the same returns, packs and report."""
    from generator.personalise import Personaliser, write_workbooks
    out_dir = Path(out_dir)
    units = sample_roster(spec)
    year = spec.year(spec.default_year)                                        # the demo's choice: the latest year
    personaliser = Personaliser(spec, year.year, year.preset, grid_factor=year.grid_factor)
    generated = write_workbooks(units, out_dir / GENERATED, personaliser)
    returns = return_workbooks(units, out_dir / RETURNED, personaliser, spec, year.year)
    packs = fill_packs(build_packs(out_dir / RETURNED, spec), out_dir / RETURNED / PACKS, spec)
    run = consolidate_all(out_dir / RETURNED, out_dir, spec)
    from .notices import write_notices
    notices = write_notices(out_dir / REPORT, out_dir / NOTICES)
    return DemoFlow(out_dir, units, generated, returns, packs, run, notices)


def flow_lines(flow: DemoFlow) -> list[str]:
    """What `jieyue demo` prints after the worked example: where each step's files are, what the bad returns and
    the unfinished review show, the consolidation's one-line outcome and where the summary is."""
    from .consolidate import outcome_line
    names = {u.code: u.name for u in flow.units}
    returned, packs_dir = flow.returned_dir, flow.returned_dir / PACKS
    lines = [f"名单：{ROSTER}（{len(flow.units)} 个单位，示例数据）",
             f"1. 生成：{len(flow.generated.written)} 个预填单位信息的工作簿 → {flow.generated_dir}"]
    lines += [f"   未能写入：{unit.name}：{reason}" for unit, reason in flow.generated.failed]
    lines.append(f"2. 交回：{len(flow.returns)} 个文件（{len({r.unit.code for r in flow.returns})} 个单位）→ {returned}")
    lines += [f"   {r.unit.name}：{r.shows}（{r.path.name}）" for r in flow.returns if r.shows]
    lines.append(f"   {'、'.join(names[c] for c in NOT_RETURNED)}：没有交回 → 未报送")
    lines.append(f"3. 评审：{len(flow.packs)} 个评审包，已模拟评审人填写 → {packs_dir}")
    for p in flow.packs:
        region = f"（{p.pack.region}）" if p.pack.region else ""
        reviewed = len(p.entries)
        lines.append(f"   {p.path.name}：{p.pack.reviewer.label}，{'、'.join(p.pack.reviewer.covers)}单位{region} "
                     f"{len(p.pack.units)} 个，已评 {reviewed} 个"
                     + ("（本级单位和实地抽查复核的单位）" if reviewed < len(p.pack.units) else ""))
        if p.unfinished:
            lines.append(f"     其中「{names[p.unfinished]}」的评分表还有 {UNFINISHED_REVIEW[2]} 项未评分 → 待评审")
    lines.append(f"4. 汇总：{outcome_line(flow.run)}")
    lines.append(f"   汇总表：{flow.out_dir / SUMMARY}")
    lines.append(f"   JSON 报告：{flow.out_dir / REPORT}")
    if flow.notices is not None:
        from .notices import summary_line
        lines.append(f"5. 结果通知（jieyue notices {REPORT} -o {NOTICES}）："
                     + summary_line(flow.notices, flow.out_dir / NOTICES))
    lines.append("用 Excel 或 WPS 打开汇总表：「汇总」看每个单位，「评审结果」看综合得分、排名和拟摘牌，「评审进度」看"
                 "哪级评审还没交，「问题清单」「未报送」「重复报送」看上面演示的问题；打开任一工作簿或评审包可看到"
                 "单位和评审人填写的界面。")
    return lines


def run_flow(out_dir: str | Path, spec: Spec) -> list[str]:
    """`jieyue demo -o 目录`: the whole flow on the sample roster (`play_flow`); returns the lines to print."""
    return flow_lines(play_flow(out_dir, spec))
