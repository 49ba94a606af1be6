"""Shared fixtures for the review-pack and spot-check tests: a folder of returned workbooks, built here (nothing
checked in), and the packs built from it for each reviewing level.

The folder holds the sample roster's twelve units (plausible data, `addin.demo.plausible_inputs`) and three more
county-level units of 昌吉回族自治州:
- WATER: water use 0 in both years, so 1.1.4 cannot be scored (the decline is blank): an error (E211) since
  issue 12 — no reviewer could ever finish its scorecard — so, like BAD, left out of every pack and listed;
- NASTY: a name with every character Excel forbids in sheet names and longer than 31 characters;
- BAD: an illegal self-score (E207, an error): left out of every pack and listed.
"""
from __future__ import annotations

import io
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import openpyxl

from addin.demo import plausible_inputs
from addin.review.pack import ReviewPack, build_review_pack
from generator import fill_workbook
from generator.personalise import Personaliser
from generator.roster import RosterUnit, read_roster, safe_file_name
from workbook_templates import load_spec

from tests.returns import unit_code

SPEC = load_spec()
SEED = 20230815
CHANGJI = "昌吉回族自治州"

with resources.as_file(resources.files("addin").joinpath("sample_data", "名单.csv")) as _p:
    SAMPLE_UNITS = read_roster(_p, SPEC).units

WATER = RosterUnit("天池县水务局", unit_code("11652327MB0000101"), "县市区级", CHANGJI, 0)
NASTY = RosterUnit("北庭县[测试]:单位*名称?含/斜杠\\和'引号'的很长很长很长很长的单位名称", unit_code("11652328MB0000102"),
                   "县市区级", CHANGJI, 0)
BAD = RosterUnit("天池县有错误的单位", unit_code("11652327MB0000103"), "县市区级", CHANGJI, 0)
UNITS = [*SAMPLE_UNITS, WATER, NASTY, BAD]


def unit_inputs(unit: RosterUnit) -> dict[str, Any]:
    inputs = plausible_inputs(unit.code, SPEC)
    if unit is WATER:
        inputs.update(prev_water_m3=0, cur_water_m3=0)
    if unit is BAD:
        inputs["self_2_1_1"] = 2.7
    return inputs


def write_returns(folder: Path, key: bytes | None = None) -> Path:
    """Every unit's filled return in `folder` (named as `jieyue generate` names them), signed with `key` if given."""
    folder.mkdir(parents=True, exist_ok=True)
    personaliser = Personaliser(SPEC, SPEC.default_year, SPEC.default_preset, key=key)
    for unit in UNITS:
        data = fill_workbook(personaliser.workbook(unit), unit_inputs(unit))
        (folder / safe_file_name(unit.code, unit.name)).write_bytes(data)
    return folder


# The packs the tests look at: (label, level as typed, region).
PACKS = [
    ("county", "县市区", None),
    ("county_changji", "县市区", CHANGJI),
    ("prefecture_changji", "地州市", CHANGJI),
    ("region", "自治区", None),
]


def build_packs(folder: Path) -> dict[str, ReviewPack]:
    return {label: build_review_pack(folder, level, region=region, seed=SEED, spec=SPEC)
            for label, level, region in PACKS}


def open_pack(data: bytes, **kwargs) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data), **kwargs)


@lru_cache(maxsize=None)
def _scorecard_cells(data: bytes) -> dict[str, dict[str, str]]:
    wb = open_pack(data)
    return {ws.title: {n: ref.replace("$", "") for n, dn in ws.defined_names.items()
                       for _, ref in dn.destinations}
            for ws in wb.worksheets if "rev_unit_code" in ws.defined_names}


def scorecard_cells(data: bytes) -> dict[str, dict[str, str]]:
    """Scorecard title → {sheet-local name → cell}, read from the file."""
    return _scorecard_cells(data)
