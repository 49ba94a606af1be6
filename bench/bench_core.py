"""Benchmark of the calculation core (not a test: timings never go into tests).

Measures, on synthetic data, against a naive baseline run in the same script:
1. `udfs.evaluate_columns` over 100 000 units vs calling the scalar `udfs.evaluate` once per unit
   (the baseline runs on a sample and is reported per unit, then scaled to 100 000).
2. Each UDF over a 100 000-row range in one call vs one scalar core call per cell (what 100 000 separate
   worksheet calls would cost in Python alone, before any Excel round-trips). Target: ≤ 50 ms per
   100 000 rows for the UDF core.
Peak Python memory of the vectorised runs is reported with tracemalloc.

Usage: python bench/bench_core.py [--units 100000] [--rows 100000] [--baseline-sample 1000]
"""
from __future__ import annotations

import argparse
import random
import statistics
import time
import tracemalloc

import udfs
from addin import functions as fx
from addin.textreport import width
from workbook_templates import SLOTS, load_spec


def best_of(fn, repeat: int = 5) -> float:
    """Best wall time of `repeat` runs, in seconds (the least disturbed by other load on the machine)."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def peak_mib(fn) -> float:
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def synthetic_units(n: int, seed: int = 1) -> dict[str, list]:
    """n plausible units, with ~2 % blanks, zeros and text typed into numeric cells."""
    spec = load_spec()
    rng = random.Random(seed)
    columns: dict[str, list] = {}
    for slot in SLOTS:
        for item in spec.items:
            col = []
            for _ in range(n):
                r = rng.random()
                col.append(None if r < 0.01 else 0 if r < 0.015 else "2000万" if r < 0.02
                           else round(rng.uniform(1, 500000), 2))
            columns[f"{slot}_{item.name}"] = col
    for ind in spec.indicators:
        if ind.rule.type != "computed_target":
            legal = udfs.legal_values(ind, spec=spec)
            columns[ind.score_name] = [rng.choice(legal) for _ in range(n)]
    columns["canteen_evaluation_implemented"] = [rng.choice(["是", "否", None]) for _ in range(n)]
    return columns


def report(name: str, fast_s: float, naive_s: float, rows: int, note: str = "") -> None:
    name = name + " " * max(0, 36 - width(name))
    print(f"{name} {fast_s * 1000:10.1f} ms  naive {naive_s * 1000:12.1f} ms  "
          f"ratio {naive_s / fast_s:8.1f}×  ({fast_s / rows * 1e5 * 1000:.1f} ms per 100 000){note}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=100_000)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--baseline-sample", type=int, default=1000)
    args = ap.parse_args()
    spec = load_spec()
    year, preset = spec.default_year, spec.default_preset

    print(f"== evaluate: {args.units} units ==")
    cols = synthetic_units(args.units)
    fast = best_of(lambda: udfs.evaluate_columns(cols, year, preset, spec=spec), repeat=3)
    k = args.baseline_sample
    sample = [{name: col[i] for name, col in cols.items()} for i in range(k)]
    naive_sample = best_of(lambda: [udfs.evaluate(u, year, preset, spec=spec) for u in sample], repeat=1)
    naive = naive_sample / k * args.units
    report("evaluate_columns vs evaluate×N", fast, naive, args.units,
           f"  [naive measured on {k} units, scaled]")
    print(f"{'':34} peak memory {peak_mib(lambda: udfs.evaluate_columns(cols, year, preset, spec=spec)):.0f} MiB")

    print(f"\n== UDFs: one call over a {args.rows}×1 range vs one call per cell (=JY_…(B5) filled down) ==")
    print("   (Python side only: in Excel each per-cell call also pays a COM round trip, so the real ratio is larger)")
    rng = random.Random(2)
    qty = [[round(rng.uniform(0, 1e6), 2)] for _ in range(args.rows)]
    prev = [[round(rng.uniform(1, 1000), 4)] for _ in range(args.rows)]
    cur = [[round(rng.uniform(1, 1000), 4)] for _ in range(args.rows)]
    levels = [[rng.choice(["县市区级", "地州市级", "自治区本级"])] for _ in range(args.rows)]
    scores = [[round(rng.uniform(60, 100), 1)] for _ in range(args.rows)]
    ids = [[rng.choice(["2.1.1", "3.3.1", "7.1.1"])] for _ in range(args.rows)]
    legal = [[rng.choice([0, 1, 2, 3, 2.5])] for _ in range(args.rows)]
    cells = lambda grid: [row[0] for row in grid]
    per_cell = lambda fn, *grids: [fn(*args) for args in zip(*map(cells, grids))]
    cases = [
        ("JY_KGCE(qty, 电)", lambda: fx.JY_KGCE(qty, "电"), lambda: [fx.JY_KGCE(q, "电") for q in cells(qty)]),
        ("JY_CO2(qty, 柴油)", lambda: fx.JY_CO2(qty, "柴油"), lambda: [fx.JY_CO2(q, "柴油") for q in cells(qty)]),
        ("JY_DIV(num, den)", lambda: fx.JY_DIV(prev, cur), lambda: per_cell(fx.JY_DIV, prev, cur)),
        ("JY_CHANGE(prev, cur)", lambda: fx.JY_CHANGE(prev, cur), lambda: per_cell(fx.JY_CHANGE, prev, cur)),
        ("JY_DECLINE_OK(prev, cur, 人均综合能耗)", lambda: fx.JY_DECLINE_OK(prev, cur, "人均综合能耗"),
         lambda: [fx.JY_DECLINE_OK(a, b, "人均综合能耗") for a, b in zip(cells(prev), cells(cur))]),
        ("JY_SCORE_OK(id, score)", lambda: fx.JY_SCORE_OK(ids, legal), lambda: per_cell(fx.JY_SCORE_OK, ids, legal)),
        ("JY_COMPOSITE(level, self, …)", lambda: fx.JY_COMPOSITE(levels, scores, scores, scores, scores),
         lambda: per_cell(fx.JY_COMPOSITE, levels, scores, scores, scores, scores)),
    ]
    for name, fast_fn, naive_fn in cases:
        fast = best_of(fast_fn)
        naive = best_of(naive_fn, repeat=1)
        report(name, fast, naive, args.rows)

    mem = statistics.mean(peak_mib(c[1]) for c in cases[:4])
    print(f"{'':34} mean peak memory of the four arithmetic UDFs: {mem:.0f} MiB")

    # The core alone: the vectorised kernel on the flat cells, without xlwings' list-of-rows in and out.
    print(f"\n== UDF core (kernel on {args.rows} flat cells; target ≤ 50 ms per 100 000) ==")
    kernels = [
        ("JY_KGCE core", lambda: fx._kgce(cells(qty), ["电"])),
        ("JY_CO2 core", lambda: fx._co2(cells(qty), ["柴油"])),
        ("JY_DIV core", lambda: fx._div(cells(prev), cells(cur))),
        ("JY_CHANGE core", lambda: fx._change(cells(prev), cells(cur))),
        ("JY_DECLINE_OK core", lambda: fx._decline_ok(cells(prev), cells(cur), ["人均综合能耗"])),
        ("JY_SCORE_OK core", lambda: fx._score_ok(cells(ids), cells(legal))),
        ("JY_COMPOSITE core", lambda: fx._composite(cells(levels), cells(scores), cells(scores), cells(scores),
                                                    cells(scores))),
    ]
    for name, fn in kernels:
        t = best_of(fn)
        verdict = "ok" if t / args.rows * 1e5 <= 0.050 else "OVER TARGET"
        print(f"{name:<22} {t * 1000:8.1f} ms per {args.rows}  {verdict}")


if __name__ == "__main__":
    main()
