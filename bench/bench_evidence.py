"""Benchmark of indexing 佐证材料 in `jieyue consolidate` (not a test: timings never go into tests).

Builds N returned workbooks as `bench_consolidate` does (a few LibreOffice-saved contents copied with their own
统一社会信用代码), each with its `evid_<id>` lists filled (`addin.demo.plausible_evidence`: one PDF per 评价内容 and a
photo, about 20 files), then measures on this machine:
1. the full run without any evidence folder (run twice, the second counted: a warm file cache, as the next one),
   and a re-run with its ledger (nothing changed);
2. the same after a `<code>_佐证材料/` folder of about 20 files of `--file-kb` KiB is put beside every return
   (synced to disk, then run twice, the second counted, as in 1): a first run (every file hashed) and a re-run with its ledger (the ledger keeps each evidence file's size, mtime
   and SHA-256: unchanged files are not read again);
3. the evidence stage alone (`index_evidence` over the run), hashing everything and with the stamps kept.
Target: (2 − 1) ≤ 20 % of (1), for the first run and for the re-run.

Usage: python bench/bench_evidence.py [--files 5000] [--base 20] [--file-kb 8]
Needs LibreOffice (soffice).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bench_consolidate as bc  # noqa: E402
from addin.demo import plausible_evidence, plausible_inputs  # noqa: E402
from udfs.evidence import evidence_stem  # noqa: E402
from workbook_templates import load_spec  # noqa: E402


def with_lists(code: str, spec):
    """`plausible_inputs` and the unit's 佐证材料 lists, as a unit that filled them returns its workbook."""
    inputs = plausible_inputs(code, spec)
    return {**inputs, **plausible_evidence(inputs, spec)[0]}


def add_evidence(folder: Path, file_kb: int) -> tuple[int, int]:
    """A `<code>_佐证材料/` folder beside every return: the files its lists name, each padded to `file_kb` KiB."""
    spec = load_spec()
    count = size = 0
    for p in sorted(folder.glob("*.xlsx")):
        code = p.name.split("_", 1)[0]
        _, files = plausible_evidence(plausible_inputs(code, spec), spec)
        target = folder / evidence_stem(code)
        for rel, head in files.items():
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            data = head + bytes(max(0, file_kb * 1024 - len(head)))
            (target / rel).write_bytes(data)
            count, size = count + 1, size + len(data)
    return count, size


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=5000)
    ap.add_argument("--base", type=int, default=20)
    ap.add_argument("--file-kb", type=int, default=8)
    args = ap.parse_args()
    bc.plausible_inputs = with_lists            # the base contents carry their evid_<id> lists
    tmp = Path(tempfile.mkdtemp(prefix="jieyue-bench-evidence-"))
    folder = tmp / "回收"
    t = time.perf_counter()
    bc.build_returns(folder, args.files, args.base)
    print(f"built {args.files} returned workbooks in {time.perf_counter() - t:.1f} s")

    bc.run_cli(folder, tmp / "预热.xlsx")
    without, _, _ = bc.run_cli(folder, tmp / "无佐证材料.xlsx")
    rerun_without, _, _ = bc.run_cli(folder, tmp / "无佐证材料.xlsx")
    t = time.perf_counter()
    count, size = add_evidence(folder, args.file_kb)
    print(f"added {count} evidence files ({size / 1024 / 1024:.0f} MiB) in {time.perf_counter() - t:.1f} s")
    os.sync()                                  # the 800 MiB just written are on disk, not flushed during a timed run
    bc.run_cli(folder, tmp / "预热2.xlsx")      # a warm file cache, as for the run without evidence
    with_evidence, _, rss = bc.run_cli(folder, tmp / "有佐证材料.xlsx")
    rerun_with, _, _ = bc.run_cli(folder, tmp / "有佐证材料.xlsx")

    from addin.consolidate import consolidate
    from addin.consolidate.evidence import index_evidence
    from addin.consolidate.walk import survey
    spec = load_spec()
    run = consolidate(folder, spec=spec)
    t = time.perf_counter()
    found = survey(folder).evidence()
    section, stamps, _, _ = index_evidence(run, folder, spec, {}, kept={}, found=found)
    alone = time.perf_counter() - t
    t = time.perf_counter()
    index_evidence(run, folder, spec, stamps, kept={}, found=found)
    alone_kept = time.perf_counter() - t
    added = with_evidence - without
    added_rerun = rerun_with - rerun_without
    print(f"full run without evidence {without:.2f} s; with {count} evidence files {with_evidence:.2f} s "
          f"(+{added:.2f} s = {100 * added / without:.1f} % of the run, target ≤ 20 %); peak RSS {rss:.0f} MiB; "
          f"the evidence stage alone {alone:.2f} s for {section['totals']['files']} files "
          f"({section['totals']['files'] / alone:.0f} files/s), {alone_kept:.2f} s with the stamps kept")
    print(f"re-run with the ledger, nothing changed: without evidence {rerun_without:.2f} s; with {rerun_with:.2f} s "
          f"(+{added_rerun:.2f} s = {100 * added_rerun / without:.1f} % of the full run, target ≤ 20 %)")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
