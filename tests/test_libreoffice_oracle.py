"""The core's arithmetic, proven in a real spreadsheet engine.

The fill-in workbook (generator issue) will compute every figure with worksheet formulas of this shape:
ROUND(quantity*factor*extra, 2), ROUND(quantity*co2_per_unit, 4), guarded divisions and
ROUND((cur-prev)/prev*100, 2). Here LibreOffice recalculates those exact formula shapes on hundreds of
values — tricky .5 ties included — and every result must equal the Python function in `udfs/`.
"""
from __future__ import annotations

import random

import openpyxl
import pytest

import udfs
from udfs.decline import change_pct
from workbook_templates import load_spec

from tests.libreoffice import recalculate

pytestmark = pytest.mark.libreoffice

TIES = [1.005, 2.675, 0.285, 1.015, 8.345, 0.125, 2.5, -2.5, 0.5, -0.5, 1.4999999999999998, 123456.785,
        -1.005, 0.0049999, 4.35, 1e-9, 99999.995, 10.005, 5.015, 0.045]


def _values(seed: int = 7) -> list[float]:
    rng = random.Random(seed)
    values = list(TIES)
    for _ in range(150):
        d = rng.randint(0, 4)
        values.append(round(rng.uniform(-1e5, 1e5), d + 1) + rng.choice([0, 0.5]) / 10 ** d)
        values.append(rng.uniform(0, 1e7))
    return values


def _run(tmp_path, rows: list[list], formulas: list[str]) -> list[list]:
    """Write rows (values in A…), add one formula column per template ({r} = row), recalc, read back."""
    wb = openpyxl.Workbook()
    ws = wb.active
    width = len(rows[0])
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if value is not None:
                ws.cell(r, c, value)
        for k, f in enumerate(formulas):
            ws.cell(r, width + 1 + k, "=" + f.format(r=r))
    src = tmp_path / "oracle.xlsx"
    wb.save(src)
    out = recalculate([src], tmp_path / "out")[0]
    ws = openpyxl.load_workbook(out, data_only=True).active
    return [[ws.cell(r, width + 1 + k).value for k in range(len(formulas))] for r in range(1, len(rows) + 1)]


def test_round_equals_excel_round_in_libreoffice(tmp_path):
    values = _values()
    rows = [[v] for v in values]
    got = _run(tmp_path, rows, [f"ROUND(A{{r}},{d})" for d in (0, 1, 2, 4)])
    for v, results in zip(values, got):
        for d, result in zip((0, 1, 2, 4), results):
            assert result == pytest.approx(udfs.round_excel(v, d), abs=0), (v, d)


def test_row_conversions_equal_to_kgce_and_to_co2_t(tmp_path):
    """kgce = ROUND(q*factor*extra, 2) and CO2 = ROUND(q*co2_per_unit, 4), per row and preset."""
    spec = load_spec()
    rng = random.Random(11)
    cases = []
    for preset in spec.presets:
        for item in spec.factor_items:
            factor, extra = udfs.kgce_factors(item.key, preset, spec)
            per_unit = udfs.co2_t_per_unit(item.key, preset, spec=spec)
            for _ in range(12):
                q = rng.choice([round(rng.uniform(0, 2e6), rng.randint(0, 3)), rng.randint(0, 50000)])
                cases.append((preset, item.key, [q, factor, extra, per_unit]))
    got = _run(tmp_path, [c[2] for c in cases],
               ["ROUND(A{r}*B{r}*C{r},%d)" % spec.precision.kgce, "ROUND(A{r}*D{r},%d)" % spec.precision.co2_t])
    for (preset, key, (q, *_)), (kgce, co2) in zip(cases, got):
        assert kgce == udfs.to_kgce(q, key, preset, spec), (preset, key, q)
        assert co2 == udfs.to_co2_t(q, key, preset, spec=spec), (preset, key, q)


def test_guarded_division_and_change_rate(tmp_path):
    """Division guarded by IF(AND(ISNUMBER(den),den<>0),…,"") never errors; change % = ROUND((c-p)/p*100,2)."""
    rng = random.Random(3)
    pairs = [[None, 5], [0, 5], [5, None], [5, 0], ["文本", 3], [3, "文本"], [100, 98.6], [100, 98.6000001]]
    pairs += [[round(rng.uniform(0, 500), 4), round(rng.uniform(0, 500), 4)] for _ in range(200)]
    guard = 'IF(AND(ISNUMBER(A{r}),ISNUMBER(B{r}),A{r}<>0),ROUND((B{r}-A{r})/A{r}*100,2),"")'
    div = 'IF(AND(ISNUMBER(A{r}),ISNUMBER(B{r}),B{r}<>0),A{r}/B{r},"")'
    got = _run(tmp_path, pairs, [guard, div])
    for (p, c), (chg, q) in zip(pairs, got):
        assert (chg if chg != "" else None) == change_pct(p, c, load_spec()), (p, c)
        expected = udfs.safe_div(p, c)
        assert (q if q != "" else None) == (pytest.approx(expected, rel=1e-15) if expected is not None else None)
