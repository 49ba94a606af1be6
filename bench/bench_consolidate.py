"""Benchmark of `jieyue consolidate` (not a test: timings never go into tests).

Builds N returned workbooks with real cached values: a few units are generated, filled with plausible data
and recalculated by LibreOffice (as Excel or WPS would on save), then copied with variations (each copy gets
its own checksum-valid 统一社会信用代码 patched into the saved file). Then measures, on this machine:
1. the whole run (read, checks, recompute, summary workbook and JSON) → files/s   (target ≥ 500/s);
2. a naive loop reading every sheet of each file with pandas.read_excel, on a sample, scaled → ratio (≥ 10×);
3. peak RSS of the run, measured in a child process (≥ workers included)            (target ≤ 300 MB);
4. a re-run after 50 files (1 %) changed, with the ledger (target ≤ 20 % of the full run), and its processing
   part without rewriting the outputs reported separately.

Usage: python bench/bench_consolidate.py [--files 5000] [--base 20] [--naive-sample 100]
Needs LibreOffice (soffice) and pandas (pip install -e ".[bench]").
"""
from __future__ import annotations

import argparse
import io
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from stdnum.cn import uscc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from addin.demo import plausible_inputs  # noqa: E402
from generator import fill_workbook  # noqa: E402
from generator.personalise import Personaliser  # noqa: E402
from tests.libreoffice import recalculate  # noqa: E402
from workbook_templates import load_spec  # noqa: E402


def code_for(i: int) -> str:
    base = f"1165{i:013d}"[:17]
    return base + uscc.calc_check_digit(base)


def build_returns(folder: Path, files: int, base: int) -> list:
    """`files` LibreOffice-saved returned workbooks in `folder`, `base` distinct contents, unique codes.
    Returns the saved contents (unit, zip) for `changed_copy`."""
    spec = load_spec()
    personaliser = Personaliser(spec, spec.default_year, spec.default_preset)
    work = Path(tempfile.mkdtemp(prefix="jieyue-bench-src-"))
    sources = []
    for i in range(base):
        unit = {"unit_name": f"基准单位{i:04d}", "unit_code": code_for(i), "unit_level": "县市区级",
                "unit_region": ["昌吉回族自治州", "哈密市", "伊犁哈萨克自治州"][i % 3]}
        path = work / f"src{i:03d}.xlsx"
        path.write_bytes(fill_workbook(personaliser.workbook(unit), plausible_inputs(unit["unit_code"], spec)))
        sources.append((unit, path))
    saved = recalculate([p for _, p in sources], work / "lo")
    templates = [(unit, zipfile.ZipFile(io.BytesIO(p.read_bytes()))) for (unit, _), p in zip(sources, saved)]
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(files):
        unit, _ = templates[n % base]
        new_code = code_for(10_000 + n)
        (folder / f"{new_code}_{unit['unit_name']}_{n}.xlsx").write_bytes(copy_with_code(templates[n % base],
                                                                                         new_code))
    shutil.rmtree(work)
    return templates


def copy_with_code(template, new_code: str) -> bytes:
    """A saved workbook with another unit's 统一社会信用代码 patched in (a checksum-valid code)."""
    unit, z = template
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in z.infolist():
            data = z.read(info.filename)
            if info.filename in ("xl/sharedStrings.xml", "xl/worksheets/sheet2.xml"):
                data = data.replace(unit["unit_code"].encode(), new_code.encode())
            # A fresh ZipInfo: writestr updates the one it is given, which would corrupt the source zip.
            dst.writestr(zipfile.ZipInfo(info.filename, info.date_time), data, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def run_cli(folder: Path, out: Path) -> tuple[float, float, float]:
    """Wall time, the part of it spent writing the outputs (summary, JSON, ledger commit), and peak RSS (MiB, the
    largest of the process and its workers) of one `jieyue consolidate` run."""
    # The CLI takes write_outputs from the package `addin.consolidate` when it runs: timed there.
    code = ("import resource, sys, time; import addin.consolidate as C; real = C.write_outputs\n"
            "def timed(*a, **k):\n    t0 = time.perf_counter(); real(*a, **k); print('OUTPUTS', time.perf_counter() - t0)\n"
            "C.write_outputs = timed\n"
            "from addin.cli import main; t = time.perf_counter(); "
            f"rc = main(['consolidate', {str(folder)!r}, '-o', {str(out)!r}, '--json', {str(out.with_suffix('.json'))!r}]); "
            "print('WALL', time.perf_counter() - t); "
            "print('RSS', max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
            "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); sys.exit(rc)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(done.stdout + done.stderr)
    values = dict(line.split(" ", 1) for line in done.stdout.splitlines()
                  if line.startswith(("WALL", "RSS", "OUTPUTS")))
    return float(values["WALL"]), float(values["OUTPUTS"]), int(values["RSS"]) / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=5000)
    ap.add_argument("--base", type=int, default=20)
    ap.add_argument("--naive-sample", type=int, default=100)
    args = ap.parse_args()
    import pandas as pd

    tmp = Path(tempfile.mkdtemp(prefix="jieyue-bench-"))
    folder, out = tmp / "回收", tmp / "汇总.xlsx"
    t = time.perf_counter()
    templates = build_returns(folder, args.files, args.base)
    print(f"built {args.files} returned workbooks ({args.base} LibreOffice-saved contents) in "
          f"{time.perf_counter() - t:.1f} s")

    wall, outputs, rss = run_cli(folder, out)
    report = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    a = report["accounting"]
    rate = args.files / wall
    print(f"full run: {wall:.2f} s → {rate:.0f} files/s (target ≥ 500), of which writing the summary, the JSON "
          f"and the ledger {outputs:.2f} s; peak RSS {rss:.0f} MiB (target ≤ 300); "
          f"accounting seen {a['seen']} = consolidated {a['consolidated']} + rejected {a['rejected']} + "
          f"skipped {a['skipped']}")

    sample = sorted(folder.iterdir())[: args.naive_sample]
    t = time.perf_counter()
    for p in sample:
        pd.read_excel(p, sheet_name=None, header=None)
    naive = (time.perf_counter() - t) / len(sample) * args.files
    print(f"naive pandas.read_excel loop (all sheets, no checks): {naive:.1f} s for {args.files} "
          f"[measured on {len(sample)}, scaled] → ratio {naive / wall:.1f}× (target ≥ 10×)")

    # 50 resubmissions: each file replaced by the same unit's return with other figures (the next base
    # content, its code patched in), so every one is really read, checked and recomputed again.
    rng = random.Random(5)
    for p in rng.sample(sorted(folder.iterdir()), 50):
        n = int(p.stem.rsplit("_", 1)[1])
        p.write_bytes(copy_with_code(templates[(n + 1) % args.base], p.name.split("_", 1)[0]))
    rerun, rerun_outputs, _ = run_cli(folder, out)
    report = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    if report["accounting"]["consolidated"] != args.files:
        raise SystemExit(f"re-run did not consolidate every file: {report['accounting']}")
    print(f"re-run after 50 files changed: {rerun:.2f} s = {100 * rerun / wall:.1f} % of the full run "
          f"(target ≤ 20 %); without rewriting the outputs (walk, ledger lookup, reading and checking): "
          f"{rerun - rerun_outputs:.2f} s = {100 * (rerun - rerun_outputs) / wall:.1f} %")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
