"""Typed, immutable objects that the spec files load into.

Nothing here computes: conversions and scoring live in `udfs/`. These classes only hold the data and
answer look-ups (by key, by id) so that callers never walk raw TOML.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any, Mapping

from .errors import UnknownChoice

SLOTS: tuple[str, str] = ("prev", "cur")
"""Data-year slots: `prev` = assessment year − 2, `cur` = assessment year − 1."""


def frozen_map(d: Mapping) -> Mapping:
    return MappingProxyType(dict(d))


@dataclass(frozen=True)
class EnergyItem:
    """One row of the official 公共机构能耗数据及碳排放计算表."""

    key: str            # names the row's derived figures: <slot>_<key>_kgce
    name: str           # the contract input name (without the slot prefix)
    label: str
    unit: str
    parent: str | None  # key of the row a "其中" row belongs to
    factor_of: str | None  # key whose factors convert this row (None: not an energy row)
    in_total: bool
    required: bool


@dataclass(frozen=True)
class KgceFactor:
    """折标系数 × 附加系数 of one energy row, with provenance."""

    factor: float
    factor_unit: str
    extra: float        # 附加系数 (1 where the official table leaves it blank)
    source: str
    confidence: str
    flag: str | None = None


@dataclass(frozen=True)
class Co2Factor:
    factor: float
    unit: str           # one of CO2_UNITS
    source: str
    confidence: str
    flag: str | None = None


CO2_UNITS = ("tCO2/MWh", "tCO2/GJ", "kgCO2/m3", "kgCO2/kg", "as_heat")


@dataclass(frozen=True)
class GridFactor:
    """An electricity CO2 factor (tCO2/MWh) that a preset may use."""

    id: str
    factor: float
    label: str
    source: str
    confidence: str
    flag: str | None = None


@dataclass(frozen=True)
class Preset:
    id: str
    label: str
    source: str
    grid_factor: str
    kgce: Mapping[str, KgceFactor]
    co2: Mapping[str, Co2Factor]   # every factor row except electricity, which uses `grid_factor`

    def flags(self, grid: GridFactor | None = None) -> dict[str, list[str]]:
        """Every unverified value of this preset: flag text → the rows it concerns (kgce / CO2 keys)."""
        found: dict[str, list[str]] = {}
        for kind, table in (("kgce", self.kgce), ("co2", self.co2)):
            for key, f in table.items():
                if f.flag:
                    found.setdefault(f.flag, []).append(f"{key}.{kind}")
        if grid is not None and grid.flag:
            found.setdefault(grid.flag, []).append("electricity.co2")
        return found

    def flag_lines(self, items: tuple["EnergyItem", ...], grid: GridFactor | None = None) -> list[str]:
        """`flags` as the lines users read: 「柴油折标：…」, rows named by their short label."""
        short = {i.key: i.label.removeprefix("其中：").removesuffix("消耗量") for i in items}
        kinds = {"kgce": "折标", "co2": "碳排放"}
        return ["、".join(short[key] + kinds[kind] for key, kind in (r.split(".") for r in rows)) + f"：{flag}"
                for flag, rows in self.flags(grid).items()]


@dataclass(frozen=True)
class Intensity:
    """One figure of the 计算结果 block: a guarded, rounded ratio of per-slot figures."""

    key: str
    label: str
    unit: str
    numerator: tuple[str, ...]
    denominator: str
    scale: float = 1
    decline_label: str | None = None  # set for the four intensities of the decline table


@dataclass(frozen=True)
class SwitchOption:
    key: str
    label: str
    vehicle_fuel: tuple[str, ...] = ()
    exclude_vehicle_fuel: bool = False


@dataclass(frozen=True)
class Switch:
    key: str
    label: str
    default: str
    question: str
    options: Mapping[str, SwitchOption]


@dataclass(frozen=True)
class Precision:
    kgce: int
    co2_t: int
    intensity: int
    change_pct: int
    score: int


@dataclass(frozen=True)
class YearTargets:
    year: int                       # the assessment year (复验年度)
    targets: Mapping[str, float]    # intensity key → % change that must not be exceeded
    source: str
    confidence: str
    preset: str = ""                # the factor preset this year's workbooks are made with (factors.toml)
    grid_factor: str = ""           # the electricity CO2 factor of this year (factors.toml [grid_factor])
    standard: str = ""              # the version of the evaluation standard (standard.toml [version])

    @property
    def prev_year(self) -> int:
        return self.year - 2

    @property
    def cur_year(self) -> int:
        return self.year - 1

    def data_year(self, slot: str) -> int:
        return {"prev": self.prev_year, "cur": self.cur_year}[slot]


TARGET_MANAGEMENT = ("score", "gate")
"""How a standard version treats unit 1 (目标管理): `score` — each met decline target earns its points (the deck's
2.5 per target); `gate` — a 符合性 requirement: every target must be met, else the unit fails whatever its score."""


@dataclass(frozen=True)
class StandardVersion:
    """A version of the evaluation standard (standard.toml [version.<id>]): the 54 indicators are shared, the way
    unit 1 counts is the version's."""

    id: str
    label: str
    target_management: str         # score | gate (TARGET_MANAGEMENT)
    source: str
    provenance: str                # seed | external | inferred
    confidence: str
    flag: str | None = None        # unverified: shown to administrators (jieyue spec, the demo, 说明)

    @property
    def gate(self) -> bool:
        return self.target_management == "gate"


@dataclass(frozen=True)
class NotApplicable:
    """What a unit is told for an indicator whose matter did not occur (standard.toml [not_applicable]), by the
    indicator's `na_full_award`: yes (不适用直接得分) | unknown (the standard does not say)."""

    yes: str
    unknown: str
    question: str


@dataclass(frozen=True)
class DeclineRule:
    """How the decline check compares (calculation.toml [decline]): the change is ROUNDed to `precision.change_pct`
    places, then compared with the target — an open question kept in the spec."""

    question: str


@dataclass(frozen=True)
class RulePart:
    """A part of a summed alternative path (unit 7 path B)."""

    id: str
    text: str
    points: float
    rule: "Rule"
    field_check: bool = False


@dataclass(frozen=True)
class RulePath:
    id: str
    when: str           # the selector value that chooses this path
    condition: str
    type: str           # "tiered" | "sum"
    grades: Mapping[str, float] = field(default_factory=dict)
    parts: tuple[RulePart, ...] = ()


RULE_TYPES = ("computed_target", "fixed", "per_item", "per_occurrence", "deduction",
              "per_item_with_deduction", "tiered", "alternatives")


@dataclass(frozen=True)
class Rule:
    type: str
    metric: str | None = None          # computed_target: the intensity key
    step: float | None = None
    items: tuple[str, ...] = ()
    per: str | None = None             # 处 / 人: what a deduction counts
    deduction_step: float | None = None
    grades: Mapping[str, float] = field(default_factory=dict)
    selector: str | None = None        # alternatives: the input name that chooses a path
    selector_label: str | None = None
    paths: tuple[RulePath, ...] = ()


@dataclass(frozen=True, eq=False)   # identity hash: rules hold mappings, and results are cached per indicator
class Indicator:
    id: str
    text: str
    points: float
    evidence: str
    provenance: str                    # seed | external | inferred
    confidence: str
    rule: Rule
    unit_id: str
    subarea_id: str
    na_full_award: str = "no"          # no | yes | unknown
    authority_assessed: bool = False
    field_check: bool = False
    zero_if: str | None = None
    note: str | None = None
    context: str | None = None

    @property
    def score_name(self) -> str:
        """The contract name of this indicator's self-score, e.g. `self_2_1_1`."""
        return "self_" + self.id.replace(".", "_")

    @property
    def unverified(self) -> bool:
        """Text or points are our inference: listed to administrators as 待核实 (`jieyue demo`, the spec's provenance);
        units and reviewers read the text without the tag (`generator.wording`)."""
        return self.provenance == "inferred"


@dataclass(frozen=True)
class Subarea:
    id: str
    name: str
    points: float
    provenance: str
    indicators: tuple[Indicator, ...]
    verification: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Unit:
    id: str
    name: str
    points: float
    provenance: str
    subareas: tuple[Subarea, ...]

    @property
    def indicators(self) -> tuple[Indicator, ...]:
        return tuple(i for s in self.subareas for i in s.indicators)

    @property
    def score_name(self) -> str:
        return f"self_unit_{self.id}"


@dataclass(frozen=True)
class Level:
    key: str            # county | prefecture | region
    label: str          # 县市区级 …
    weights: Mapping[str, float]   # "self" and reviewer keys → weight


ELIMINATION_BASES = ("roster", "ranked")
"""What the 5 % is a share of: `roster` — the 复验 units of the roster (whether or not they returned); `ranked` —
the units that were ranked (the behaviour before the option existed)."""


@dataclass(frozen=True)
class Elimination:
    ratio: float
    rounding: str       # ceil | round | floor
    scope: str          # region | prefecture
    below_pass_line_eliminated: bool
    source: str
    question: str
    base: str = "roster"            # roster | ranked (ELIMINATION_BASES)
    base_question: str = ""
    incomplete: str = ""            # what the rule says happens to a 复验 unit that did not complete (Chinese)


@dataclass(frozen=True)
class SpotCheck:
    prefecture_over_county: float
    region_over_all: float
    rounding: str


RECHECK_RULES = ("replace_top", "none")


@dataclass(frozen=True)
class Recheck:
    rule: str           # replace_top | none
    source: str
    question: str


@dataclass(frozen=True)
class Assessment:
    pass_line: float
    total_points: float
    declared_units: int
    declared_indicators: int
    reviewers: Mapping[str, str]     # key → label
    levels: Mapping[str, Level]
    elimination: Elimination
    spot_check: SpotCheck
    recheck: Recheck


SEVERITIES = ("错误", "警告", "提示")


@dataclass(frozen=True)
class CheckCode:
    """One intake finding: a stable code (E201), its severity (错误 blocks ranking) and title."""

    code: str
    severity: str
    title: str


@dataclass(frozen=True)
class Bound:
    """The largest value one 机关 can report for an input (checks.toml [bounds]): above it a figure is impossible,
    not merely unusual — an error (E220), never a ranked figure."""

    max: float
    reason: str


@dataclass(frozen=True)
class Plausibility:
    max_yearly_change: float
    fuel_per_vehicle_min: float
    fuel_per_vehicle_max: float
    bounds: Mapping[str, Bound] = field(default_factory=dict)   # energy item key → its upper bound


@dataclass(frozen=True)
class Spec:
    """The whole declarative spec: the single source of truth for every factor, target and point."""

    items: tuple[EnergyItem, ...]
    presets: Mapping[str, Preset]
    default_preset: str
    grid_factors: Mapping[str, GridFactor]
    precision: Precision
    intensities: tuple[Intensity, ...]
    switches: Mapping[str, Switch]
    years: Mapping[int, YearTargets]
    units: tuple[Unit, ...]
    assessment: Assessment
    checks: Mapping[str, CheckCode]
    plausibility: Plausibility
    standards: Mapping[str, StandardVersion]
    not_applicable: NotApplicable
    decline: DeclineRule
    digest: str                     # SHA-256 of the spec files, recorded in every workbook's _meta
    directory: str = ""             # where it was read from: worker processes load the same spec from here
    process: Any = None             # process.toml: each year's stages and due dates (`workbook_templates.process`)

    def item(self, key: str) -> EnergyItem:
        for it in self.items:
            if it.key == key:
                return it
        raise KeyError(key)

    @property
    def factor_items(self) -> tuple[EnergyItem, ...]:
        """Rows that carry 标准煤 and 碳排放 figures (energy rows and their 公务用车 sub-rows)."""
        return tuple(i for i in self.items if i.factor_of)

    @cached_property            # asked per unit and per indicator in a run: computed once (the spec is frozen)
    def indicators(self) -> tuple[Indicator, ...]:
        return tuple(i for u in self.units for i in u.indicators)

    def indicator(self, indicator_id: str) -> Indicator:
        for ind in self.indicators:
            if ind.id == indicator_id:
                return ind
        raise KeyError(indicator_id)

    def intensity(self, key: str) -> Intensity:
        for i in self.intensities:
            if i.key == key:
                return i
        raise KeyError(key)

    @cached_property
    def decline_intensities(self) -> tuple[Intensity, ...]:
        """The four intensities of the decline table, in the deck's column order."""
        order = ("energy_per_capita", "energy_per_area", "water_per_capita", "co2_per_area")
        by_key = {i.key: i for i in self.intensities if i.decline_label}
        return tuple(by_key[k] for k in order if k in by_key) + tuple(
            i for k, i in by_key.items() if k not in order)

    @property
    def default_year(self) -> int:
        return max(self.years)

    def preset(self, preset_id: str | None = None) -> Preset:
        pid = preset_id or self.default_preset
        try:
            return self.presets[pid]
        except KeyError:
            raise UnknownChoice(f"未知的系数预设「{pid}」，可选：{'、'.join(self.presets)}") from None

    def grid_factor(self, grid_id: str | None = None, preset_id: str | None = None) -> GridFactor:
        """An electricity CO2 factor by id; None means the preset's default."""
        gid = grid_id or self.preset(preset_id).grid_factor
        try:
            return self.grid_factors[gid]
        except KeyError:
            raise UnknownChoice(f"未知的电力排放因子「{gid}」，可选：{'、'.join(self.grid_factors)}") from None

    def standard(self, standard_id: str | None = None, year: int | None = None) -> StandardVersion:
        """A version of the evaluation standard by id; None means the one the assessment `year` names."""
        sid = standard_id or self.year(year).standard
        try:
            return self.standards[sid]
        except KeyError:
            raise UnknownChoice(f"未知的评价标准版本「{sid}」，可选：{'、'.join(self.standards)}") from None

    def year_flags(self, year: int) -> list[str]:
        """What an administrator should check about the assessment `year`'s choices: the factor preset or grid
        factor reused from the year before it (the spec's previous year), and an unverified standard version."""
        this = self.year(year)
        flags = []
        earlier = [y for y in self.years if y < this.year]
        if earlier:
            last = self.years[max(earlier)]
            same = [f"系数预设 {this.preset}" if this.preset == last.preset else "",
                    f"电力排放因子 {this.grid_factor}" if this.grid_factor == last.grid_factor else ""]
            if any(same):
                flags.append(f"{this.year}年复验沿用{last.year}年的{'和'.join(s for s in same if s)}："
                             f"请核实是否已有新的系数（如新公布的电力排放因子），确认后可在 targets.toml [year.{this.year}] 中改选")
        standard = self.standards.get(this.standard)
        if standard is not None and standard.flag:
            flags.append(f"评价标准「{standard.label}」：{standard.flag}")
        return flags

    def year(self, year: int | None = None) -> YearTargets:
        y = self.default_year if year is None else int(year)
        try:
            return self.years[y]
        except KeyError:
            raise UnknownChoice(f"规格中没有{y}年复验的目标，已有：{'、'.join(map(str, self.years))}") from None
