"""Benchmark (not a test): personalised workbooks for a synthetic roster of 5 000 units.

    python bench/bench_generate.py [--units 5000] [--naive 100] [--workers 1] [--unsigned]

Times the real path of `jieyue generate` — read and validate the roster, personalise at the zip level and sign
each unit's identity with a key (issue 10 §4; `--unsigned`: without a key), write each file atomically to a
temporary directory — against a naive loop that builds every workbook from scratch with openpyxl
(`render_workbook(build_plan(spec, year, preset), values)`, the same values and signature, and a plain write) on
a sample, scaled to the same count.
Then samples 20 of the generated files and checks their structure (protection, structure lock, defined names,
unit cells). Targets (issue 3 §4): ≥ 500 workbooks/s and ≥ 20× the naive loop.
"""
from __future__ import annotations

import argparse
import csv
import io
import multiprocessing
import os
import random
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import openpyxl  # noqa: E402
from stdnum.cn.uscc import calc_check_digit  # noqa: E402

from generator import build_plan, named_cells, render_workbook  # noqa: E402
from generator.ooxml import TEMP_PREFIX  # noqa: E402
from generator.personalise import Personaliser, write_workbooks  # noqa: E402
from generator.roster import read_roster, safe_file_name  # noqa: E402
from workbook_templates import contract_names, load_spec  # noqa: E402

SPEC = load_spec()
YEAR = 2023
PRESET = SPEC.default_preset
REGIONS = {"650100": "乌鲁木齐市", "652300": "昌吉回族自治州", "650500": "哈密市", "654000": "伊犁哈萨克自治州",
           "652900": "阿克苏地区", "653100": "喀什地区", "650200": "克拉玛依市", "652800": "巴音郭楞蒙古自治州"}
KINDS = ["人民法院", "人民检察院", "机关事务管理局", "财政局", "教育局", "卫生健康委员会", "发展和改革委员会",
         "人民政府办公室", "自然资源局", "住房和城乡建设局", "水利局", "档案馆", "统计局", "审计局"]
LEVELS = ["县市区级"] * 7 + ["地州市级"] * 2 + ["自治区本级"]
INFO_CELLS = {"unit_name": "B3", "unit_code": "B4", "unit_level": "B5", "unit_region": "B6"}


def synthetic_roster(path: Path, n: int, seed: int = 2023) -> Path:
    rnd = random.Random(seed)
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(["单位名称", "统一社会信用代码", "单位层级", "所属地区"])
        for i in range(n):
            region_code, region = rnd.choice(list(REGIONS.items()))
            base = f"11{region_code}{i:08d}{rnd.randrange(10)}"
            level = rnd.choice(LEVELS)
            place = {"县市区级": f"示例{i % 97}县", "地州市级": region, "自治区本级": "自治区"}[level]
            name = f"{place}{rnd.choice(KINDS)}（{i}）" + ("/粮食局" if i % 500 == 0 else "")
            w.writerow([name, base + calc_check_digit(base), level, region])
    return path


KEY = bytes(range(32))
"""A fixed key for the benchmark (the signing cost does not depend on the key)."""


def _worker(args):
    units, out_dir, key = args
    p = Personaliser(SPEC, YEAR, PRESET, key=key)
    return len(write_workbooks(units, out_dir, p).written)


def check_structure(path: Path, unit, contract: set[str], signature: str | None = None) -> list[str]:
    """The structure checks of issue 3 §3 that apply to a personalised copy (and its `_meta` signature): what
    fails, or []."""
    problems = []
    data = path.read_bytes()
    z = zipfile.ZipFile(io.BytesIO(data))
    if z.testzip() is not None:
        problems.append("zip CRC")
    if 'lockStructure="1"' not in z.read("xl/workbook.xml").decode():
        problems.append("no lockStructure")
    wb = openpyxl.load_workbook(io.BytesIO(data))
    unprotected = [ws.title for ws in wb.worksheets if not ws.protection.sheet]
    if unprotected:
        problems.append(f"unprotected sheets {unprotected}")
    if set(named_cells(wb)) != contract:
        problems.append("defined names differ from the contract")
    ws = wb["单位信息"]
    for name, ref in INFO_CELLS.items():
        if ws[ref].value != unit.unit_info()[name] or not ws[ref].protection.locked:
            problems.append(f"{ref} ≠ {unit.unit_info()[name]!r} or unlocked")
    title, ref = named_cells(wb)["signature"]
    if wb[title][ref].value != signature:
        problems.append(f"_meta signature {wb[title][ref].value!r} ≠ {signature!r}")
    formulas_unlocked = [f"{w.title}!{c.coordinate}" for w in wb.worksheets for row in w.iter_rows() for c in row
                         if isinstance(c.value, str) and c.value.startswith("=") and not c.protection.locked]
    if formulas_unlocked:
        problems.append(f"unlocked formulas {formulas_unlocked[:3]}")
    return problems


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--units", type=int, default=5000)
    ap.add_argument("--naive", type=int, default=100, help="units built from scratch by the naive loop")
    ap.add_argument("--workers", type=int, default=1, help="also time this many processes (e.g. 2)")
    ap.add_argument("--unsigned", action="store_true", help="generate without a signing key")
    args = ap.parse_args()
    key = None if args.unsigned else KEY
    print(f"Python {sys.version.split()[0]}, openpyxl {openpyxl.__version__}, {os.cpu_count()} CPUs, "
          f"{args.units} units, {'unsigned' if key is None else 'signed (HMAC-SHA256)'}")

    with tempfile.TemporaryDirectory(prefix="jieyue-bench-") as tmp:
        tmp = Path(tmp)
        roster_path = synthetic_roster(tmp / "名单.csv", args.units)

        t0 = time.perf_counter()
        roster = read_roster(roster_path, SPEC)
        t_roster = time.perf_counter() - t0
        assert roster.ok and len(roster.units) == args.units, roster.problems[:5]

        t0 = time.perf_counter()
        personaliser = Personaliser(SPEC, YEAR, PRESET, key=key)
        t_base = time.perf_counter() - t0

        out = tmp / "out"
        t0 = time.perf_counter()
        result = write_workbooks(roster.units, out, personaliser)
        t_write = time.perf_counter() - t0
        assert len(result.written) == args.units and not result.failed
        leftovers = [p for p in out.iterdir() if p.name.startswith(TEMP_PREFIX)]
        assert not leftovers

        t0 = time.perf_counter()
        for unit in roster.units:
            personaliser.workbook(unit)
        t_bytes = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in result.written) / len(result.written)

        total = t_roster + t_base + t_write
        rate = args.units / total
        print("\nPersonalised (zip-level patch, atomic write, 1 process)")
        print(f"  read + validate roster   {t_roster * 1000:8.1f} ms  ({t_roster / args.units * 1e6:.0f} µs/unit)")
        print(f"  render base once         {t_base * 1000:8.1f} ms")
        print(f"  personalise + write      {t_write * 1000:8.1f} ms  ({t_write / args.units * 1000:.3f} ms/file;"
              f" bytes alone {t_bytes / args.units * 1000:.3f} ms/file)")
        print(f"  total                    {total:8.2f} s   → {rate:,.0f} workbooks/s   ({size / 1024:.1f} KB/file)")

        if args.workers > 1:
            out2 = tmp / "out2"
            chunks = [roster.units[i::args.workers] for i in range(args.workers)]
            t0 = time.perf_counter()
            with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
                done = sum(pool.map(_worker, [(c, out2, key) for c in chunks]))
            t_mp = time.perf_counter() - t0 + t_roster
            print(f"  {args.workers} processes (spawn, each renders its base): {t_mp:.2f} s → "
                  f"{done / t_mp:,.0f} workbooks/s")

        sample = roster.units[: args.naive]
        naive_dir = tmp / "naive"
        naive_dir.mkdir()
        t0 = time.perf_counter()
        for unit in sample:
            data = render_workbook(build_plan(SPEC, YEAR, PRESET), personaliser.values(unit))
            (naive_dir / safe_file_name(unit.code, unit.name)).write_bytes(data)
        t_naive = time.perf_counter() - t0
        naive_rate = len(sample) / t_naive
        print(f"\nNaive openpyxl loop (build_plan + render_workbook + write per unit), {len(sample)} units")
        print(f"  {t_naive / len(sample) * 1000:.1f} ms/file → {naive_rate:,.1f} workbooks/s; "
              f"{args.units} units would take {args.units / naive_rate:,.0f} s")
        print(f"\nSpeed-up: {rate / naive_rate:,.0f}×   (targets: ≥ 500 workbooks/s, ≥ 20×)  "
              f"{'OK' if rate >= 500 and rate / naive_rate >= 20 else 'MISSED'}")

        contract = {n.name for n in contract_names(SPEC)}
        picks = random.Random(7).sample(range(args.units), min(20, args.units))
        failures = {}
        for i in picks:
            unit = roster.units[i]
            problems = check_structure(out / safe_file_name(unit.code, unit.name), unit, contract,
                                       personaliser.values(unit).get("signature"))
            if problems:
                failures[unit.row] = problems
        print(f"\nStructure checks on {len(picks)} sampled files (zip CRC, lockStructure, every sheet protected, "
              f"defined names = {len(contract)} contract names, unit cells hold the values and are locked, "
              f"the signature is the unit's, "
              f"no unlocked formula): {'all pass' if not failures else failures}")


if __name__ == "__main__":
    main()
