"""Reading and validating the spec files.

Every problem is raised as `SpecError` naming the file, the key path and what is wrong, in Chinese, because
the people who edit these files (a 机关事务管理局 analyst adding next year's targets) read Chinese first.
Unknown keys are errors too: a misspelt key must not be silently ignored.
"""
from __future__ import annotations

import hashlib
import math
import tomllib
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable

from .errors import JieyueError
from .process import read_process
from .model import (CO2_UNITS, ELIMINATION_BASES, RECHECK_RULES, RULE_TYPES, SEVERITIES, TARGET_MANAGEMENT, Assessment, Bound,
                    CheckCode, Co2Factor, DeclineRule, Elimination, EnergyItem, GridFactor, Indicator, Intensity,
                    KgceFactor, Level, NotApplicable, Plausibility, Precision, Preset, Recheck, Rule, RulePart, RulePath,
                    Spec, SpotCheck, StandardVersion, Subarea, Switch, SwitchOption, Unit, YearTargets, frozen_map)

SPEC_DIR = Path(__file__).parent / "spec"
SPEC_FILES = ("energy.toml", "factors.toml", "calculation.toml", "targets.toml", "standard.toml",
              "assessment.toml", "checks.toml", "process.toml")
CONFIDENCE = ("H", "M", "L")
PROVENANCE = ("seed", "external", "inferred")


class SpecError(JieyueError):
    """A malformed spec: the message names the file, the key and the problem."""

    def __init__(self, file: str, key: str, problem: str):
        self.file, self.key, self.problem = file, key, problem
        super().__init__(f"规格文件 {file} 的 {key or '（顶层）'}：{problem}")


class Node:
    """A table of one spec file, read key by key; `done()` rejects keys nobody asked for."""

    def __init__(self, data: Any, file: str, path: str = ""):
        if not isinstance(data, dict):
            raise SpecError(file, path, f"应为表（table），实际为 {data!r}")
        self.data, self.file, self.path, self.seen = data, file, path, set()

    def _key(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str, problem: str) -> SpecError:
        return SpecError(self.file, self._key(key) if key else self.path, problem)

    def get(self, key: str, kind: type | tuple, default: Any = ..., check: Callable[[Any], str | None] | None = None):
        self.seen.add(key)
        if key not in self.data:
            if default is ...:
                raise self.error(key, "缺少此项")
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            names = "、".join(_KIND_NAMES.get(k, k.__name__) for k in kinds)
            raise self.error(key, f"应为{names}，实际为 {value!r}")
        if check is not None and (msg := check(value)):
            raise self.error(key, msg)
        return value

    def text(self, key: str, default: Any = ...) -> str:
        return self.get(key, str, default, check=lambda v: None if v.strip() else "不能为空")

    def number(self, key: str, default: Any = ..., positive: bool = False) -> float:
        def check(v):
            if not math.isfinite(v):
                return f"必须是有限的数，实际为 {v!r}"
            if positive and v <= 0:
                return f"必须是大于 0 的数，实际为 {v!r}"
            return None
        return self.get(key, float, default, check=check)

    def choice(self, key: str, options: tuple, default: Any = ...) -> str:
        return self.get(key, str, default,
                        check=lambda v: None if v in options else f"应为 {' | '.join(options)} 之一，实际为 {v!r}")

    def child(self, key: str, default: Any = ...) -> "Node":
        return Node(self.get(key, dict, {} if default is not ... else ...), self.file, self._key(key))

    def children(self, key: str) -> list["Node"]:
        value = self.get(key, list)
        return [Node(v, self.file, f"{self._key(key)}[{i}]") for i, v in enumerate(value)]

    def table(self, key: str) -> dict[str, "Node"]:
        """A table of named sub-tables, e.g. `preset.<id>`."""
        raw = self.get(key, dict)
        return {k: Node(v, self.file, f"{self._key(key)}.{k}") for k, v in raw.items()}

    def done(self) -> None:
        extra = sorted(set(self.data) - self.seen)
        if extra:
            raise self.error("", f"未知的键：{'、'.join(extra)}（拼写错误？）")


_KIND_NAMES = {str: "文本", float: "数", int: "整数", bool: "true/false", list: "数组", dict: "表"}


def _read(directory: Path, name: str) -> tuple[Node, bytes]:
    path = directory / name
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise SpecError(name, "", f"无法读取：{e.strerror or e}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise SpecError(name, "", f"不是有效的 UTF-8 TOML：{e}") from None
    return Node(data, name), raw


def load_spec(directory: str | Path | None = None) -> Spec:
    """Read, validate and freeze the spec in `directory` (default: the shipped one)."""
    directory = Path(directory) if directory is not None else SPEC_DIR
    nodes, digest = {}, hashlib.sha256()
    for name in SPEC_FILES:
        nodes[name], raw = _read(directory, name)
        digest.update(name.encode() + b"\0" + raw + b"\0")

    items = _energy(nodes["energy.toml"])
    presets, default_preset, grids = _factors(nodes["factors.toml"], items)
    precision, intensities, switches, decline = _calculation(nodes["calculation.toml"], items)
    assessment = _assessment(nodes["assessment.toml"])
    units, standards, not_applicable = _standard(nodes["standard.toml"], intensities, assessment)
    years = _targets(nodes["targets.toml"], intensities, presets, grids, standards)
    _check_target_texts(units, years, precision)
    checks, plausibility = _checks(nodes["checks.toml"], items)
    process = read_process(nodes["process.toml"], assessment.reviewers, assessment.levels,
                           ("prefecture_over_county", "region_over_all"))
    return Spec(process=process, checks=frozen_map(checks), plausibility=plausibility, items=items, presets=frozen_map(presets), default_preset=default_preset,
                grid_factors=frozen_map(grids), precision=precision, intensities=intensities,
                switches=frozen_map(switches), years=frozen_map(years), units=units,
                assessment=assessment, standards=frozen_map(standards), not_applicable=not_applicable,
                decline=decline, digest=digest.hexdigest(), directory=str(directory.resolve()))


# ---------------------------------------------------------------- energy.toml

def _energy(root: Node) -> tuple[EnergyItem, ...]:
    items: list[EnergyItem] = []
    for n in root.children("item"):
        item = EnergyItem(key=n.text("key"), name=n.text("name"), label=n.text("label"), unit=n.text("unit"),
                          parent=n.text("parent", None), factor_of=n.text("factor_of", None),
                          in_total=n.get("in_total", bool, False), required=n.get("required", bool, False))
        n.done()
        known = {i.key: i for i in items}
        if item.key in known or any(i.name == item.name for i in items):
            raise n.error("key", f"重复的行「{item.key}」/「{item.name}」")
        if item.parent is not None and item.parent not in known:
            raise n.error("parent", f"上级行「{item.parent}」不存在或不在本行之前")
        if item.factor_of not in (None, item.key):
            source = known.get(item.factor_of)
            if source is None or source.factor_of != source.key:
                raise n.error("factor_of", f"「{item.factor_of}」不是本行之前的能源行")
        if item.in_total and item.factor_of is None:
            raise n.error("in_total", "没有折标系数的行不能计入合计")
        if item.in_total and item.parent and known[item.parent].in_total:
            raise n.error("in_total", f"「其中」行不能再计入合计：其上级「{item.parent}」已计入（会重复计算）")
        items.append(item)
    root.done()
    return tuple(items)


# ---------------------------------------------------------------- factors.toml

def _factors(root: Node, items: tuple[EnergyItem, ...]):
    energy_rows = [i.key for i in items if i.factor_of == i.key]
    grids = {}
    for gid, n in root.table("grid_factor").items():
        grids[gid] = GridFactor(id=gid, factor=n.number("factor", positive=True), label=n.text("label"),
                                source=n.text("source"), confidence=n.choice("confidence", CONFIDENCE),
                                flag=n.text("flag", None))
        n.done()

    raw = root.table("preset")
    presets: dict[str, Preset] = {}

    def build(pid: str, chain: tuple = ()) -> Preset:
        if pid in presets:
            return presets[pid]
        if pid in chain:
            raise raw[chain[-1]].error("base", f"预设继承形成循环：{' → '.join(chain + (pid,))}")
        n = raw[pid]
        base_id = n.text("base", None)
        if base_id is not None and base_id not in raw:
            raise n.error("base", f"继承的预设「{base_id}」不存在")
        base = build(base_id, chain + (pid,)) if base_id else None
        kgce = dict(base.kgce) if base else {}
        for key, f in n.table("kgce").items() if "kgce" in n.data else ():
            kgce[key] = KgceFactor(factor=f.number("factor", positive=True), factor_unit=f.text("factor_unit"),
                                   extra=f.number("extra", positive=True), source=f.text("source"),
                                   confidence=f.choice("confidence", CONFIDENCE), flag=f.text("flag", None))
            f.done()
        co2 = dict(base.co2) if base else {}
        for key, f in n.table("co2").items() if "co2" in n.data else ():
            co2[key] = Co2Factor(factor=f.number("factor", positive=True), unit=f.choice("unit", CO2_UNITS),
                                 source=f.text("source"), confidence=f.choice("confidence", CONFIDENCE),
                                 flag=f.text("flag", None))
            f.done()
        n.seen.update({"kgce", "co2"})
        grid = n.text("grid_factor")
        if grid not in grids:
            raise n.error("grid_factor", f"电力排放因子「{grid}」不在 grid_factor 中")
        preset = Preset(id=pid, label=n.text("label"), source=n.text("source"), grid_factor=grid,
                        kgce=frozen_map(kgce), co2=frozen_map(co2))
        n.done()
        for table, have, wanted in (("kgce", kgce, energy_rows),
                                    ("co2", co2, [k for k in energy_rows if k != "electricity"])):
            missing = [k for k in wanted if k not in have]
            unknown = [k for k in have if k not in wanted]
            if missing or unknown:
                raise n.error(table, (f"缺少能源行 {'、'.join(missing)} 的系数" if missing else "")
                              + (f"未知的能源行 {'、'.join(unknown)}" if unknown else ""))
        if "heat" not in kgce and any(c.unit == "as_heat" for c in co2.values()):
            raise n.error("co2", "按热力折算（as_heat）需要热力行的系数")
        presets[pid] = preset
        return preset

    for pid in raw:
        build(pid)
    default = root.text("default_preset")
    if default not in presets:
        raise root.error("default_preset", f"预设「{default}」不存在")
    root.done()
    # Keep the file's order: presets were built depth-first.
    return {pid: presets[pid] for pid in raw}, default, grids


# ---------------------------------------------------------------- calculation.toml

def _calculation(root: Node, items: tuple[EnergyItem, ...]):
    p = root.child("precision")
    digits = {k: p.get(k, int, check=lambda v: None if 0 <= v <= 10 else "小数位数应在 0–10 之间")
              for k in ("kgce", "co2_t", "intensity", "change_pct", "score")}
    p.done()
    per_slot = {i.name for i in items} | {"total_kgce", "co2_t", "building_kgce", "area_co2_t",
                                         "vehicle_fuel_kgce", "vehicle_fuel_co2_t"}
    intensities = []
    for n in root.children("intensity"):
        numerator = tuple(n.get("numerator", list))
        for key, names in (("numerator", numerator), ("denominator", (n.text("denominator"),))):
            for name in names:
                if name not in per_slot:
                    raise n.error(key, f"「{name}」不是每年度的数据项（可用：{'、'.join(sorted(per_slot))}）")
        intensities.append(Intensity(key=n.text("key"), label=n.text("label"), unit=n.text("unit"),
                                     numerator=numerator, denominator=n.text("denominator"),
                                     scale=n.number("scale", 1.0, positive=True),
                                     decline_label=n.text("decline_label", None)))
        n.done()
    if len({i.key for i in intensities}) != len(intensities):
        raise root.error("intensity", "计算结果的 key 重复")
    switches = {}
    factor_keys = {i.key for i in items if i.factor_of}
    for skey, n in root.table("switch").items():
        options = {}
        for okey, o in n.table("option").items():
            fuel = tuple(o.get("vehicle_fuel", list, []))
            if bad := [k for k in fuel if k not in factor_keys]:
                raise o.error("vehicle_fuel", f"不是能源行：{'、'.join(bad)}")
            options[okey] = SwitchOption(key=okey, label=o.text("label"), vehicle_fuel=fuel,
                                         exclude_vehicle_fuel=o.get("exclude_vehicle_fuel", bool, False))
            o.done()
        default = n.text("default")
        if default not in options:
            raise n.error("default", f"默认选项「{default}」不在 option 中")
        switches[skey] = Switch(key=skey, label=n.text("label"), default=default, question=n.text("question"),
                                options=frozen_map(options))
        n.done()
    for needed in ("building_energy", "co2_per_area"):
        if needed not in switches:
            raise root.error("switch", f"缺少开关「{needed}」")
    d = root.child("decline")
    decline = DeclineRule(question=d.text("question"))
    d.done()
    root.done()
    return Precision(**digits), tuple(intensities), switches, decline


# ---------------------------------------------------------------- targets.toml

def _targets(root: Node, intensities: tuple[Intensity, ...], presets: dict, grids: dict,
             standards: dict) -> dict[int, YearTargets]:
    declined = [i.key for i in intensities if i.decline_label]
    years = {}
    for y, n in root.table("year").items():
        if not y.isdigit() or not 2000 <= int(y) <= 2100:
            raise n.error("", f"年度「{y}」不是四位年份")
        t = n.child("target")
        targets = {k: t.number(k) for k in declined}
        t.done()
        named = {}
        for key, known, where in (("preset", presets, "factors.toml 的 [preset]"),
                                  ("grid_factor", grids, "factors.toml 的 [grid_factor]"),
                                  ("standard", standards, "standard.toml 的 [version]")):
            named[key] = n.text(key)
            if named[key] not in known:
                raise n.error(key, f"「{named[key]}」不在{where}中（可用：{'、'.join(known)}）")
        years[int(y)] = YearTargets(year=int(y), targets=frozen_map(targets), source=n.text("source"),
                                    confidence=n.choice("confidence", CONFIDENCE), **named)
        n.done()
    root.done()
    return dict(sorted(years.items()))


TARGET_PLACEHOLDER = "{target}"
"""In an indicator text of standard.toml: the year's target of the indicator's decline metric (targets.toml), as
a positive percentage — 「同比下降{target}%以上」 reads 「同比下降1.40%以上」 for 2023. No figure is typed twice."""


def _target_text(n: Node, text: str, rule: Rule) -> None:
    """A `{target}` placeholder only where there is a target to put in (unit-1 indicators), and a computed
    indicator's text that quotes a figure only through it — never a figure typed twice."""
    has = TARGET_PLACEHOLDER in text
    if has and rule.type != "computed_target":
        raise n.error("text", f"{TARGET_PLACEHOLDER} 只能用于按下降率计分的指标（rule.type = computed_target）")
    if not has and rule.type == "computed_target" and any(c.isdigit() for c in text):
        raise n.error("text", f"指标文字中的目标数值请写作 {TARGET_PLACEHOLDER}（从 targets.toml 取当年目标），"
                              f"不要直接写数字：「{text}」")


def _check_target_texts(units: tuple[Unit, ...], years: dict[int, YearTargets], precision: Precision) -> None:
    """A year's target that the indicator text would misquote: 「下降{target}%」 needs a negative target."""
    for unit in units:
        for ind in unit.indicators:
            if "下降" + TARGET_PLACEHOLDER in ind.text:
                for y in years.values():
                    if y.targets[ind.rule.metric] > 0:
                        raise SpecError("targets.toml", f"year.{y.year}.target.{ind.rule.metric}",
                                        f"目标 {y.targets[ind.rule.metric]:g} 为正数（允许上升），而指标 {ind.id} 的文字写"
                                        f"「下降{TARGET_PLACEHOLDER}%」：请核对目标的正负号（下降1.40%写 -1.40）")


# ---------------------------------------------------------------- assessment.toml

def _assessment(root: Node) -> Assessment:
    reviewers = {}
    for key, n in root.table("reviewer").items():
        reviewers[key] = n.text("label")
        n.done()
    levels = {}
    for key, n in root.table("level").items():
        weights = n.get("weights", dict)
        for who, w in weights.items():
            if who != "self" and who not in reviewers:
                raise n.error("weights", f"「{who}」不是评分方（可用：self、{'、'.join(reviewers)}）")
            if isinstance(w, bool) or not isinstance(w, (int, float)) or not 0 < w <= 1:
                raise n.error("weights", f"「{who}」的权重应为 (0, 1] 内的数，实际为 {w!r}")
        if "self" not in weights:
            raise n.error("weights", "缺少自评分（self）的权重")
        if abs(sum(weights.values()) - 1) > 1e-9:
            raise n.error("weights", f"权重之和应为 1，实际为 {sum(weights.values())}")
        levels[key] = Level(key=key, label=n.text("label"),
                            weights=frozen_map({k: float(v) for k, v in weights.items()}))
        n.done()
    ratio = lambda v: None if 0 < v <= 1 else "比例应在 (0, 1] 内"
    e = root.child("elimination")
    elimination = Elimination(ratio=e.get("ratio", float, check=ratio),
                              rounding=e.choice("rounding", ("ceil", "round", "floor")),
                              scope=e.choice("scope", ("region", "prefecture")),
                              below_pass_line_eliminated=e.get("below_pass_line_eliminated", bool),
                              source=e.text("source"), question=e.text("question"),
                              base=e.choice("base", ELIMINATION_BASES), base_question=e.text("base_question"),
                              incomplete=e.text("incomplete"))
    e.done()
    s = root.child("spot_check")
    spot = SpotCheck(prefecture_over_county=s.get("prefecture_over_county", float, check=ratio),
                     region_over_all=s.get("region_over_all", float, check=ratio),
                     rounding=s.choice("rounding", ("ceil", "round", "floor")))
    s.done()
    r = root.child("recheck")
    recheck = Recheck(rule=r.choice("rule", RECHECK_RULES), source=r.text("source"), question=r.text("question"))
    r.done()
    a = Assessment(pass_line=root.number("pass_line", positive=True),
                   total_points=root.number("total_points", positive=True),
                   declared_units=root.get("declared_units", int), declared_indicators=root.get("declared_indicators", int),
                   reviewers=frozen_map(reviewers), levels=frozen_map(levels), elimination=elimination,
                   spot_check=spot, recheck=recheck)
    root.done()
    return a


# ---------------------------------------------------------------- standard.toml

def _multiple(points: float, step: float) -> bool:
    q = Fraction(str(points)) / Fraction(str(step))
    return q.denominator == 1


def _rule(n: Node, points: float, intensities: tuple[Intensity, ...], allowed=RULE_TYPES) -> Rule:
    rtype = n.choice("type", allowed)
    declined = {i.key for i in intensities if i.decline_label}
    kw: dict[str, Any] = {"type": rtype}
    if rtype == "computed_target":
        kw["metric"] = n.choice("metric", tuple(sorted(declined)))
    if rtype in ("per_item", "per_occurrence", "deduction", "per_item_with_deduction"):
        kw["step"] = n.number("step", positive=True)
        if not _multiple(points, kw["step"]):
            raise n.error("step", f"分值 {points} 不是步长 {kw['step']} 的整数倍")
    if rtype in ("per_item", "per_item_with_deduction"):
        kw["items"] = tuple(n.get("items", list, []))
    if rtype == "per_occurrence":
        kw["items"] = ()
    if rtype in ("deduction", "per_item_with_deduction"):
        kw["per"] = n.text("per")
    if rtype == "per_item_with_deduction":
        kw["deduction_step"] = n.number("deduction_step", positive=True)
    if rtype == "tiered":
        kw["grades"] = frozen_map(_grades(n, points))
    n.done()
    return Rule(**kw)


def _grades(n: Node, points: float) -> dict[str, float]:
    """grade → points: non-negative numbers whose best grade is worth the indicator's points."""
    grades = n.get("grades", dict)
    if bad := [g for g, v in grades.items() if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0]:
        raise n.error("grades", f"等级分值应为非负数：{'、'.join(bad)}")
    if max(grades.values(), default=0) != points:
        raise n.error("grades", f"最高等级分值 {max(grades.values(), default=0)} 与指标分值 {points} 不符")
    return {g: float(v) for g, v in grades.items()}


def _path(n: Node, points: float, intensities) -> RulePath:
    ptype = n.choice("type", ("tiered", "sum"))
    grades, parts = {}, []
    if ptype == "tiered":
        grades = _grades(n, points)
    else:
        for p in n.children("part"):
            pts = p.number("points", positive=True)
            parts.append(RulePart(id=p.text("id"), text=p.text("text"), points=pts,
                                  rule=_rule(p.child("rule"), pts, intensities, ("fixed", "deduction")),
                                  field_check=p.get("field_check", bool, False)))
            p.done()
        total = sum(Fraction(str(p.points)) for p in parts)
        if total != Fraction(str(points)):
            raise n.error("part", f"各部分分值之和 {float(total)} 与指标分值 {points} 不符")
    path = RulePath(id=n.text("id"), when=n.text("when"), condition=n.text("condition"), type=ptype,
                    grades=frozen_map(grades), parts=tuple(parts))
    n.done()
    return path


def _indicator(n: Node, unit_id: str, subarea_id: str, intensities) -> Indicator:
    iid, points = n.text("id"), n.number("points", positive=True)
    if not iid.startswith(subarea_id + "."):
        raise n.error("id", f"指标编号「{iid}」不属于评价内容「{subarea_id}」")
    r = n.child("rule")
    if r.data.get("type") == "alternatives":
        r.choice("type", RULE_TYPES)
        paths = tuple(_path(p, points, intensities) for p in r.children("path"))
        if len({p.when for p in paths}) != len(paths):
            raise r.error("path", "各路径的 when 取值必须不同")
        rule = Rule(type="alternatives", selector=r.text("selector"), selector_label=r.text("selector_label"),
                    paths=paths)
        r.done()
    else:
        rule = _rule(r, points, intensities)
    _target_text(n, n.text("text"), rule)
    ind = Indicator(id=iid, text=n.text("text"), points=points, evidence=n.text("evidence"),
                    provenance=n.choice("provenance", PROVENANCE), confidence=n.choice("confidence", CONFIDENCE),
                    rule=rule, unit_id=unit_id, subarea_id=subarea_id,
                    na_full_award=n.choice("na_full_award", ("no", "yes", "unknown"), "no"),
                    authority_assessed=n.get("authority_assessed", bool, False),
                    field_check=n.get("field_check", bool, False), zero_if=n.text("zero_if", None),
                    note=n.text("note", None), context=n.text("context", None))
    n.done()
    return ind


def _sum(values) -> Fraction:
    return sum((Fraction(str(v)) for v in values), Fraction(0))


def _versions(root: Node) -> dict[str, StandardVersion]:
    versions = {}
    for vid, n in root.table("version").items():
        versions[vid] = StandardVersion(id=vid, label=n.text("label"),
                                        target_management=n.choice("target_management", TARGET_MANAGEMENT),
                                        source=n.text("source"), provenance=n.choice("provenance", PROVENANCE),
                                        confidence=n.choice("confidence", CONFIDENCE), flag=n.text("flag", None))
        if versions[vid].provenance == "inferred" and not versions[vid].flag:
            raise n.error("flag", "推断（inferred）的标准版本须写明待核实的内容（flag），管理员才会看到")
        n.done()
    if not versions:
        raise root.error("version", "至少需要一个评价标准版本")
    return versions


def _standard(root: Node, intensities, assessment: Assessment):
    versions = _versions(root)
    na = root.child("not_applicable")
    not_applicable = NotApplicable(yes=na.text("yes"), unknown=na.text("unknown"), question=na.text("question"))
    na.done()
    units = []
    for un in root.children("unit"):
        uid = un.text("id")
        subareas = []
        for sn in un.children("subarea"):
            sid = sn.text("id")
            if not sid.startswith(uid + "."):
                raise sn.error("id", f"评价内容编号「{sid}」不属于评价单元「{uid}」")
            inds = tuple(_indicator(i, uid, sid, intensities) for i in sn.children("indicator"))
            sub = Subarea(id=sid, name=sn.text("name"), points=sn.number("points", positive=True),
                          provenance=sn.choice("provenance", PROVENANCE), indicators=inds,
                          verification=sn.text("verification", None), note=sn.text("note", None))
            if _sum(i.points for i in inds) != Fraction(str(sub.points)):
                raise sn.error("points", f"各指标分值之和 {float(_sum(i.points for i in inds))} 与 {sub.points} 不符")
            sn.done()
            subareas.append(sub)
        unit = Unit(id=uid, name=un.text("name"), points=un.number("points", positive=True),
                    provenance=un.choice("provenance", PROVENANCE), subareas=tuple(subareas))
        if _sum(s.points for s in subareas) != Fraction(str(unit.points)):
            raise un.error("points", f"各评价内容分值之和 {float(_sum(s.points for s in subareas))} 与 {unit.points} 不符")
        un.done()
        units.append(unit)
    root.done()
    all_ids = [i.id for u in units for i in u.indicators]
    if len(set(all_ids)) != len(all_ids):
        raise SpecError(root.file, "unit", "指标编号重复")
    if len({u.id for u in units}) != len(units):
        raise SpecError(root.file, "unit", "评价单元编号重复")
    total = _sum(u.points for u in units)
    if total != Fraction(str(assessment.total_points)):
        raise SpecError(root.file, "unit", f"总分 {float(total)} 与 assessment.toml 的 total_points {assessment.total_points} 不符")
    if len(units) != assessment.declared_units:
        raise SpecError(root.file, "unit", f"评价单元数 {len(units)} 与声明的 {assessment.declared_units} 不符")
    if len(all_ids) != assessment.declared_indicators:
        raise SpecError(root.file, "unit", f"指标数 {len(all_ids)} 与声明的 {assessment.declared_indicators} 不符")
    computed = [i.rule.metric for u in units for i in u.indicators if i.rule.type == "computed_target"]
    declined = [i.key for i in intensities if i.decline_label]
    if sorted(computed) != sorted(declined):
        raise SpecError(root.file, "unit", f"按目标计算的指标（{'、'.join(computed)}）应与下降率指标（{'、'.join(declined)}）一一对应")
    return tuple(units), versions, not_applicable


# ---------------------------------------------------------------- checks.toml

def _checks(root: Node, items: tuple[EnergyItem, ...]) -> tuple[dict[str, CheckCode], Plausibility]:
    codes = {}
    for code, n in root.table("code").items():
        if not (len(code) == 4 and code[0] in "FEWIDRS" and code[1:].isdigit()):
            raise n.error("", f"代码「{code}」应为一个字母加三位数字，如 E201")
        codes[code] = CheckCode(code=code, severity=n.choice("severity", SEVERITIES), title=n.text("title"))
        n.done()
    p = root.child("plausibility")
    plausibility = Plausibility(max_yearly_change=p.number("max_yearly_change", positive=True),
                                fuel_per_vehicle_min=p.number("fuel_per_vehicle_min", positive=True),
                                fuel_per_vehicle_max=p.number("fuel_per_vehicle_max", positive=True),
                                bounds=frozen_map(_bounds(root, items)))
    p.done()
    if plausibility.fuel_per_vehicle_min >= plausibility.fuel_per_vehicle_max:
        raise p.error("fuel_per_vehicle_min", "下限应小于上限")
    root.done()
    return codes, plausibility


def _bounds(root: Node, items: tuple[EnergyItem, ...]) -> dict[str, Bound]:
    """[bounds.<item key>] max, reason: one for every energy item (an item without one would go unchecked)."""
    bounds = {}
    for key, n in root.table("bounds").items():
        if key not in {i.key for i in items}:
            raise n.error("", f"「{key}」不是 energy.toml 中的填报项（可用：{'、'.join(i.key for i in items)}）")
        bounds[key] = Bound(max=n.number("max", positive=True), reason=n.text("reason"))
        n.done()
    missing = [i.key for i in items if i.key not in bounds]
    if missing:
        raise root.error("bounds", f"缺少这些填报项的上限：{'、'.join(missing)}（每个填报项都要有上限和理由）")
    return bounds
