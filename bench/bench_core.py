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
from udfs.decline import change_pct
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
            legal = udfs.legal_values(ind)
            columns[ind.score_name] = [rng.choice(legal) for _ in range(n)]
    columns["canteen_evaluation_implemented"] = [rng.choice(["是", "否", None]) for _ in range(n)]
    return columns


def report(name: str, fast_s: float, naive_s: float, rows: int, note: str = "") -> None:
    print(f"{name:<34} {fast_s * 1000:10.1f} ms  naive {naive_s * 1000:12.1f} ms  "
          f"ratio {naive_s / fast_s:8.1f}×  ({fast_s / rows * 1e5 * 1000:.1f} ms per 100 000){note}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=100_000)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--baseline-sample", type=int, default=1000)
    args = ap.parse_args()
    load_spec()

    print(f"== evaluate: {args.units} units ==")
    cols = synthetic_units(args.units)
    fast = best_of(lambda: udfs.evaluate_columns(cols), repeat=3)
    k = args.baseline_sample
    sample = [{name: col[i] for name, col in cols.items()} for i in range(k)]
    naive_sample = best_of(lambda: [udfs.evaluate(u) for u in sample], repeat=1)
    naive = naive_sample / k * args.units
    report("evaluate_columns vs evaluate×N", fast, naive, args.units,
           f"  [naive measured on {k} units, scaled]")
    print(f"{'':34} peak memory {peak_mib(lambda: udfs.evaluate_columns(cols)):.0f} MiB")

    print(f"\n== UDFs: one call over a {args.rows}×1 range vs one scalar core call per cell ==")
    rng = random.Random(2)
    qty = [[round(rng.uniform(0, 1e6), 2)] for _ in range(args.rows)]
    prev = [[round(rng.uniform(1, 1000), 4)] for _ in range(args.rows)]
    cur = [[round(rng.uniform(1, 1000), 4)] for _ in range(args.rows)]
    levels = [["县市区级"] for _ in range(args.rows)]
    scores = [[round(rng.uniform(60, 100), 1)] for _ in range(args.rows)]
    ids = [["2.1.1"] for _ in range(args.rows)]
    legal = [[rng.choice([0, 1, 2, 3, 2.5])] for _ in range(args.rows)]
    flat = lambda grid: [row[0] for row in grid]
    cases = [
        ("JY_KGCE(qty, 电)", lambda: fx.JY_KGCE(qty, "电"),
         lambda: [udfs.to_kgce(q, "electricity") for q in flat(qty)]),
        ("JY_CO2(qty, 柴油)", lambda: fx.JY_CO2(qty, "柴油"),
         lambda: [udfs.to_co2_t(q, "diesel") for q in flat(qty)]),
        ("JY_DIV(num, den)", lambda: fx.JY_DIV(prev, cur),
         lambda: [udfs.safe_div(a, b) for a, b in zip(flat(prev), flat(cur))]),
        ("JY_CHANGE(prev, cur)", lambda: fx.JY_CHANGE(prev, cur),
         lambda: [change_pct(a, b) for a, b in zip(flat(prev), flat(cur))]),
        ("JY_DECLINE_OK(prev, cur, 人均综合能耗)", lambda: fx.JY_DECLINE_OK(prev, cur, "人均综合能耗"),
         lambda: [udfs.decline_ok(change_pct(a, b), -1.4) for a, b in zip(flat(prev), flat(cur))]),
        ("JY_SCORE_OK(id, score)", lambda: fx.JY_SCORE_OK(ids, legal),
         lambda: [udfs.counted_score(load_spec().indicator(i), s) is not None
                  for i, s in zip(flat(ids), flat(legal))]),
        ("JY_COMPOSITE(level, self, …)", lambda: fx.JY_COMPOSITE(levels, scores, scores, scores, None),
         lambda: [udfs.composite_score(lv, s, s, s) for lv, s in zip(flat(levels), flat(scores))]),
    ]
    for name, fast_fn, naive_fn in cases:
        fast = best_of(fast_fn)
        naive = best_of(naive_fn, repeat=1)
        report(name, fast, naive, args.rows)
    mem = statistics.mean(peak_mib(c[1]) for c in cases[:4])
    print(f"{'':34} mean peak memory of the four arithmetic UDFs: {mem:.0f} MiB")


if __name__ == "__main__":
    main()
