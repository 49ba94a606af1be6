"""Benchmark of `jieyue consolidate` (not a test: timings never go into tests).

Builds N returned workbooks with real cached values: a few units are generated, filled with plausible data
and recalculated by LibreOffice (as Excel or WPS would on save), then copied with variations (each copy gets
its own checksum-valid 统一社会信用代码 patched into the saved file). Then measures, on this machine, in one run:
1. the whole run (read, checks, recompute, summary workbook and JSON) → files/s   (target ≥ 500/s);
2. a python-calamine loop reading the same sheets (the ones jieyue reads) of every file, in one process, no
   checks → ratio (target ≥ 2×);
3. pandas.read_excel of those sheets with the openpyxl engine (target ≥ 10×) and with the calamine engine, each
   on a sample, scaled → ratios;
4. peak RSS of the run, measured in a child process (≥ workers included)            (target ≤ 300 MB);
5. a re-run with nothing changed (target ≤ 5 % of the full run, the outputs not rewritten) and a re-run after
   1 % of the files changed (target ≤ 10 %), with the ledger.
Each run also prints the CPU it used over the same span as its wall time — its own process from the call of the
CLI's `main` on, and its children (the worker processes, the report's writer) — and the least wall time two cores
could finish that work in (CPU ÷ 2): what no overlap of the stages can beat on this 2-core machine, so what a target
below it would need cut from the work itself.
The full run and each re-run are tried `--repeat` times and the median reported (a run moves by a tenth from one try
to the next on a shared machine): each full try without a ledger, each 1 % try from the full run's outputs and
ledger.

Usage: python bench/bench_consolidate.py [--files 5000] [--base 20] [--naive-sample 100] [--folder DIR] [--repeat 3]
  --folder DIR   copy the returns from DIR (made once by `build_returns`) instead of building them
  --rss-only     only the full run (e.g. --files 20000 for the memory figure)
Needs LibreOffice (soffice), pandas and python-calamine (pip install -e ".[bench]").
"""
from __future__ import annotations

import argparse
import io
import json
import os
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

from addin.consolidate.ledger import ledger_path  # noqa: E402
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


BYTECODE = Path(tempfile.gettempdir()) / "jieyue-bench-bytecode"


def installed_env() -> dict[str, str]:
    """The environment the runs are timed in: as an installed jieyue runs, its modules' bytecode cached (pip compiles
    it when it installs) — in a folder of the benchmark's own (`BYTECODE`, compiled by `compile_once`), whatever
    PYTHONDONTWRITEBYTECODE says here: each run would otherwise compile ~0.2 s of source, the full run and a re-run
    alike."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(BYTECODE)
    return env


PACKAGES = ("addin", "generator", "udfs", "workbook_templates")


def compile_once() -> None:
    """The project's modules compiled into `BYTECODE` before anything is timed."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", *PACKAGES], cwd=ROOT, env=installed_env(), check=True)


def median_try(tries: list[tuple]) -> tuple:
    """The try whose wall time (its first item) is the median: the middle one of an odd number of tries."""
    return sorted(tries)[len(tries) // 2]


def walls(tries: list[tuple]) -> str:
    """Every try's wall time, shortest first, as the benchmark prints them."""
    return ", ".join(f"{t[0]:.2f}" for t in sorted(tries))


def run_cli(folder: Path, out: Path) -> tuple[float, float, float, float, float]:
    """Wall time, the part of it spent writing the outputs (summary, JSON, ledger commit; 0 when nothing changed
    and nothing was written), peak RSS (MiB, the largest of the process and its workers), and the CPU seconds of
    its own process and of its children (workers, the report's writer) of one `jieyue consolidate` run."""
    # The CLI takes write_outputs from the package `addin.consolidate` when it runs: timed there.
    # The main process's peak is VmHWM, its own address space's: Linux keeps ru_maxrss across exec, so that would
    # also count this benchmark process (grown by the calamine and pandas loops) that started it.
    code = ("import resource, sys, time; import addin.consolidate as C; real = C.write_outputs\n"
            "def timed(*a, **k):\n    t0 = time.perf_counter(); real(*a, **k); print('OUTPUTS', time.perf_counter() - t0)\n"
            "C.write_outputs = timed\n"
            "def peak():\n    try:\n        return int(next(line for line in open('/proc/self/status') "
            "if line.startswith('VmHWM')).split()[1])\n"
            "    except (OSError, StopIteration):\n        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "from addin.cli import main; start = resource.getrusage(resource.RUSAGE_SELF); t = time.perf_counter(); "
            f"rc = main(['consolidate', {str(folder)!r}, '-o', {str(out)!r}, '--json', {str(out.with_suffix('.json'))!r}]); "
            "print('WALL', time.perf_counter() - t); "
            "print('RSS', max(peak(), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); "
            "print('MAINRSS', peak()); own = resource.getrusage(resource.RUSAGE_SELF); "
            "kids = resource.getrusage(resource.RUSAGE_CHILDREN); "
            "print('CPU', own.ru_utime + own.ru_stime - start.ru_utime - start.ru_stime, "
            "kids.ru_utime + kids.ru_stime); sys.exit(rc)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=installed_env())
    if done.returncode != 0:
        raise SystemExit(done.stdout + done.stderr)
    values = dict(line.split(" ", 1) for line in done.stdout.splitlines()
                  if line.startswith(("WALL", "RSS", "OUTPUTS", "MAINRSS", "CPU")))
    own, kids = (float(x) for x in values["CPU"].split())
    print(f"  (run took {float(values['WALL']):.2f} s; peak RSS of its main process "
          f"{int(values['MAINRSS']) / 1024:.0f} MiB; {cpu_text(own, kids)})")
    return (float(values["WALL"]), float(values.get("OUTPUTS", 0)), int(values["RSS"]) / 1024,   # no OUTPUTS: unchanged
            own, kids)


def cpu_text(own: float, kids: float) -> str:
    """A run's CPU and the least wall time two cores could do it in."""
    return (f"CPU {own + kids:.2f} s = main process {own:.2f} + children {kids:.2f}, "
            f"on 2 cores at least {(own + kids) / 2:.2f} s")


def read_sheets(folder: Path) -> list[str]:
    """The sheets jieyue reads of a return: those its defined names point at, and the 参数 sheet."""
    from addin.consolidate.read.preflight import Limits, Package, read_bytes
    from addin.consolidate.read.workbook import Workbook
    from workbook_templates.contract import PARAMS_SHEET
    data, _ = read_bytes(next(iter(sorted(folder.iterdir()))), Limits())
    book = Workbook.load(Package(data, Limits(), None))
    titles = {title for title, _ in book.names.values()} | {PARAMS_SHEET}
    return [t for t in book.sheet_parts if t in titles]


def calamine_loop(files: list[Path], sheets: list[str]) -> float:
    """Seconds for python-calamine to read `sheets` of every file into Python values, one process, no checks."""
    from python_calamine import CalamineWorkbook
    t = time.perf_counter()
    for p in files:
        book = CalamineWorkbook.from_path(str(p))
        for name in sheets:
            book.get_sheet_by_name(name).to_python()
    return time.perf_counter() - t


def pandas_loop(files: list[Path], sheets: list[str], engine: str) -> float:
    """Seconds for pandas.read_excel to read `sheets` of every file (no checks)."""
    import pandas as pd
    t = time.perf_counter()
    for p in files:
        pd.read_excel(p, sheet_name=sheets, header=None, engine=engine)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=5000)
    ap.add_argument("--base", type=int, default=20)
    ap.add_argument("--naive-sample", type=int, default=100)
    ap.add_argument("--folder", type=Path)
    ap.add_argument("--rss-only", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="tries of each run measured (the median is reported)")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="jieyue-bench-"))
    compile_once()
    folder, out = tmp / "回收", tmp / "汇总.xlsx"
    t = time.perf_counter()
    if args.folder:
        folder.mkdir()
        for p in sorted(args.folder.iterdir())[: args.files]:
            shutil.copy2(p, folder / p.name)
        if len(list(folder.iterdir())) != args.files:
            raise SystemExit(f"{args.folder} holds fewer than {args.files} files")
        templates = None
        print(f"copied {args.files} returned workbooks from {args.folder} in {time.perf_counter() - t:.1f} s")
    else:
        templates = build_returns(folder, args.files, args.base)
        print(f"built {args.files} returned workbooks ({args.base} LibreOffice-saved contents) in "
              f"{time.perf_counter() - t:.1f} s")

    full_tries = []
    for _ in range(1 if args.rss_only else args.repeat):
        for p in (out, out.with_suffix(".json"), ledger_path(out)):   # no ledger: every file read
            p.unlink(missing_ok=True)
        full_tries.append(run_cli(folder, out))
    wall, outputs, _, own, kids = median_try(full_tries)
    rss = max(t[2] for t in full_tries)
    report = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    a = report["accounting"]
    rate = args.files / wall
    tried = f" (median of {len(full_tries)}: {walls(full_tries)} s)" if len(full_tries) > 1 else ""
    print(f"full run{tried}: {wall:.2f} s → {rate:.0f} files/s (target ≥ 500), of which writing the summary, the "
          f"JSON and the ledger {outputs:.2f} s; {cpu_text(own, kids)}; peak RSS {rss:.0f} MiB (target ≤ 300); "
          f"accounting seen {a['seen']} = consolidated {a['consolidated']} + rejected {a['rejected']} + "
          f"skipped {a['skipped']}")
    if args.rss_only:
        shutil.rmtree(tmp)
        return

    files = sorted(folder.iterdir())
    sheets = read_sheets(folder)
    cal = calamine_loop(files, sheets)
    print(f"python-calamine loop ({len(sheets)} sheets: {'、'.join(sheets)}; one process, no checks): {cal:.2f} s "
          f"for {len(files)} → ratio {cal / wall:.2f}× (calamine time / jieyue time, target ≥ 2×); per file calamine "
          f"{1000 * cal / len(files):.2f} ms, jieyue {1000 * (own + kids) / len(files):.2f} ms of CPU: with that CPU on "
          f"2 cores at most {cal / ((own + kids) / 2):.2f}×")
    sample = files[: args.naive_sample]
    for engine, target in (("openpyxl", " (target ≥ 10×)"), ("calamine", "")):
        naive = pandas_loop(sample, sheets, engine) / len(sample) * args.files
        print(f"pandas.read_excel loop, engine {engine} (same sheets, no checks): {naive:.1f} s for {args.files} "
              f"[measured on {len(sample)}, scaled] → ratio {naive / wall:.1f}×{target}")

    before = out.stat().st_mtime_ns, out.with_suffix(".json").stat().st_mtime_ns
    again = median_try([run_cli(folder, out) for _ in range(args.repeat)])[0]
    after = out.stat().st_mtime_ns, out.with_suffix(".json").stat().st_mtime_ns
    print(f"re-run with nothing changed (median of {args.repeat}): {again:.2f} s = {100 * again / wall:.1f} % of the "
          f"full run (target ≤ 5 %); outputs {'not rewritten' if before == after else 'REWRITTEN'}")

    # 1 % resubmissions: each file replaced by the same unit's return with other figures (the next base content,
    # its code patched in), so every one is really read, checked and recomputed again.
    if templates is None:
        by_n = {int(p.stem.rsplit("_", 1)[1]): p for p in files}     # the copy numbered n holds content n % base
        templates = [({"unit_code": by_n[n].name.split("_", 1)[0]}, zipfile.ZipFile(io.BytesIO(by_n[n].read_bytes())))
                     for n in range(args.base)]
    rng = random.Random(5)
    changed = max(1, args.files // 100)
    for p in rng.sample(files, changed):
        n = int(p.stem.rsplit("_", 1)[1])
        p.write_bytes(copy_with_code(templates[(n + 1) % args.base], p.name.split("_", 1)[0]))
    full_outputs = tmp / "full-run-outputs"            # each try starts from the full run's outputs and ledger
    full_outputs.mkdir()
    kept = [out, out.with_suffix(".json"), ledger_path(out)]
    for p in kept:
        shutil.copy2(p, full_outputs / p.name)
    tries = []
    for _ in range(args.repeat):
        for p in kept:
            shutil.copy2(full_outputs / p.name, p)
        wall_1, outputs_1, _, own_1, kids_1 = run_cli(folder, out)
        report = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
        if report["accounting"]["consolidated"] != args.files:
            raise SystemExit(f"re-run did not consolidate every file: {report['accounting']}")
        tries.append((wall_1, outputs_1, own_1, kids_1))
    rerun, rerun_outputs, own_1, kids_1 = median_try(tries)
    print(f"re-run after {changed} files (1 %) changed (median of {args.repeat}: {walls(tries)} s): {rerun:.2f} s = "
          f"{100 * rerun / wall:.1f} % of the full run (target ≤ 10 %); of which writing the outputs "
          f"{rerun_outputs:.2f} s; {cpu_text(own_1, kids_1)} = {50 * (own_1 + kids_1) / wall:.1f} % of the full run")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
