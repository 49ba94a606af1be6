"""Benchmark of writing a review pack (not a test: timings never go into tests).

The units are synthetic consolidated units (`generator.review_layout.ReviewUnit`, what `build_review_pack` makes
of each consolidated return): the sample roster's returns are written and consolidated once, and their units are
copied with their own names and codes (every third with two 佐证材料 files, so its scorecard links to files), so
no thousands of returns need generating. Each measurement runs in a child process of its own, which reports its
wall time and its peak RSS:
1. the openpyxl path (the whole pack rendered by `render.render_workbook`: the reference) on 500 units;
2. the streaming path (`sheet_stream.write_review_workbook`, what `jieyue review-pack` uses) on the same 500
   → the ratio (target ≥ 10×);
3. the streaming path on 5 000 units (a region-wide pack): ms per scorecard (target ≤ 5), peak RSS (target
   ≤ 300 MB) and the file's size.
Times are wall and CPU time of the child (on a machine shared with other work, CPU time is the steadier figure).
Both paths include laying the pack out (`review_layout`) and writing the file atomically; neither includes the
consolidation of the returns.

Usage: python bench/bench_review_pack.py [--small 500] [--large 5000] [--skip-openpyxl]
"""
from __future__ import annotations

import argparse
import pickle
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LEVEL = "自治区"
SEED = 20230815


def template_units(work: Path) -> Path:
    """The sample roster's units as the 自治区's pack shows them, pickled into `work`."""
    from addin.review.pack import build_review_pack
    from tests.reviews import SPEC, write_returns
    pack = build_review_pack(write_returns(work / "回收"), LEVEL, seed=SEED, spec=SPEC)
    path = work / "units.pkl"
    path.write_bytes(pickle.dumps((pack.units, pack.year, pack.presets)))
    return path


def synthetic_units(templates: list, n: int) -> list:
    """`n` units copied from `templates`, each with its own name and code; every third lists two evidence files."""
    files = (("佐证材料/节能制度.pdf", "佐证材料/%E8%8A%82%E8%83%BD.pdf", "2.1.1、2.1.2"),
             ("佐证材料/现场照片.jpg", "佐证材料/%E7%8E%B0.jpg", "3.1.1"))
    return [replace(templates[k % len(templates)], name=f"{templates[k % len(templates)].name}{k:04d}",
                    code=f"9165{k:013d}X", evidence_files=files if k % 3 == 0 else ()) for k in range(n)]


def child(path: str, n: int, out: str, streaming: bool) -> None:
    """Lay out and write one pack of `n` units; prints its wall time and peak RSS."""
    import resource

    from addin.review.select import reviewer_for
    from generator.ooxml import write_atomically
    from generator.render import render_workbook
    from generator.review_layout import PackPart, ReviewLayout, build_review_plan
    from generator.sheet_stream import write_review_workbook
    from workbook_templates import load_spec
    spec = load_spec()
    templates, year, presets = pickle.loads(Path(path).read_bytes())
    units = synthetic_units(templates, n)
    reviewer = reviewer_for(LEVEL, spec, seed=SEED)
    args = dict(spec=spec, year=year, presets=presets, seed=SEED, part=PackPart("bench"))
    t, cpu = time.perf_counter(), time.process_time()
    if streaming:
        layout = ReviewLayout(reviewer, units, **args)
        write_atomically(Path(out), lambda f: write_review_workbook(layout, f))
    else:
        write_atomically(Path(out), render_workbook(build_review_plan(reviewer, units, **args)))
    print("WALL", time.perf_counter() - t)
    print("CPU", time.process_time() - cpu)
    print("RSS", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def measure(path: Path, n: int, out: Path, streaming: bool) -> tuple[float, float, float, float]:
    """(wall seconds, CPU seconds, peak RSS MiB, file MiB) of writing a pack of `n` units in a child process."""
    done = subprocess.run([sys.executable, __file__, "--child", str(path), str(n), str(out),
                           "stream" if streaming else "openpyxl"], capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(done.stdout + done.stderr)
    values = dict(line.split(" ", 1) for line in done.stdout.splitlines() if line.startswith(("WALL", "CPU", "RSS")))
    return float(values["WALL"]), float(values["CPU"]), int(values["RSS"]) / 1024, out.stat().st_size / 2 ** 20


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5] == "stream")
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", type=int, default=500)
    ap.add_argument("--large", type=int, default=5000)
    ap.add_argument("--skip-openpyxl", action="store_true", help="only the streaming path")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="jieyue-bench-review-"))
    units = template_units(work)
    small = args.small
    stream = measure(units, small, work / "stream.xlsx", True)
    report("streaming", small, *stream)
    if not args.skip_openpyxl:
        reference = measure(units, small, work / "openpyxl.xlsx", False)
        report("openpyxl ", small, *reference)
        print(f"ratio: streaming is {reference[0] / stream[0]:.1f}× the openpyxl path in wall time, "
              f"{reference[1] / stream[1]:.1f}× in CPU time (target ≥ 10×)")
    large = args.large
    wall, cpu, rss, mib = measure(units, large, work / "large.xlsx", True)
    report("streaming", large, wall, cpu, rss, mib)
    print(f"  targets: ≤ 5 ms per scorecard ({wall / large * 1000:.2f} wall, {cpu / large * 1000:.2f} CPU), "
          f"peak RSS ≤ 300 MB ({rss:.0f} MiB); file {mib * 1024 / large:.1f} KiB per scorecard")


def report(path: str, n: int, wall: float, cpu: float, rss: float, mib: float) -> None:
    print(f"{path}, {n} units: {wall:.2f} s wall = {wall / n * 1000:.2f} ms per scorecard "
          f"(CPU {cpu / n * 1000:.2f} ms), peak RSS {rss:.0f} MiB, file {mib:.1f} MiB")


if __name__ == "__main__":
    main()
