"""`jieyue review-pack` and `jieyue spot-check`: the commands, each checking its output path first, building and
writing its workbook, and returning the lines to print. The spec comes from the caller (the CLI loads it once,
from `--spec-dir` or the shipped one); `year` and `preset` are the consolidation's checks (None: the returns'
most common year, each return's own preset).
"""
from __future__ import annotations

import glob
import sys
from pathlib import Path

from generator.ooxml import check_output
from workbook_templates import Spec

from ..progress import Progress
from .pack import build_review_pack, write_review_pack
from .select import reviewer_for
from .split import Split, default_split
from .spot_list import draw_spot_check, write_spot_check

DEFAULT = "default"
"""`split` when `--split` is not given (`split.default_split`)."""

SECONDS_PER_SCORECARD = 0.006
"""Measured: 5 000 scorecards are streamed into a pack in about 25–30 s on a 2-core machine
(bench/bench_review_pack.py; the estimate shown, not a limit)."""


def run_review_pack(folder: str, level: str, output: str, spec: Spec, *, region: str | None = None,
                    seed: int | None = None, year: int | None = None, preset: str | None = None,
                    sampled_only: bool = False, key: bytes | None = None, split: Split = DEFAULT) -> list[str]:
    """`jieyue review-pack`: build and write the pack (signed with `key`, when given) — in several workbooks with
    `split` (`split.partition`; DEFAULT: the 自治区's one per 地州市, others one); returns the lines to print."""
    out = check_output(output, ".xlsx", "评审包")
    if split == DEFAULT:
        split = default_split(reviewer_for(level, spec, seed=seed, sampled_only=sampled_only), spec)
    earlier = [out, *_earlier_parts(out)]                   # a previous run's parts are outputs, not returns
    pack = build_review_pack(folder, level, spec=spec, region=region, seed=seed, year=year, preset=preset,
                             outputs=earlier, progress=Progress(label="读取回收的工作簿 "), sampled_only=sampled_only,
                             on_layout=_announce_layout, key=key, pack_dir=out.parent, split=split)
    written = write_review_pack(pack, out)
    scope = f"{'、'.join(pack.reviewer.covers)}单位" + (f"（{pack.region}）" if pack.region else "")
    if len(written) == 1:
        lines = [f"已生成评审包：{out}（{pack.reviewer.label}，{scope}，{len(pack.units)} 个单位）"]
    else:
        lines = [f"已生成评审包（{pack.reviewer.label}，{scope}，{len(pack.units)} 个单位），分为 {len(written)} 个工作簿，"
                 "评完后请全部交回，汇总时合为同一份评审："]
        lines += [f"  {path}（{p.part.label}，{len(p.units)} 个单位）" for path, p in written]
    if len(pack.presets) > 1:
        lines.append(f"单位的工作簿用了不同的系数预设（{'、'.join(pack.presets)}）：各单位按自己的预设重算")
    if pack.skipped:
        lines.append(f"跳过 {len(pack.skipped)} 个工作簿有错误的单位（不在评审包中）：")
        lines += [f"  {line}" for line in pack.skipped_lines(spec)]
    if pack.out_of_scope:
        lines.append(f"另有 {pack.out_of_scope} 个单位不在本级评审范围内（层级或地区不同"
                     + ("，或不在本级实地抽查名单上" if sampled_only else "") + "）。")
    marked = sum(bool(u.spot) for u in pack.units)
    lines.append(f"实地抽查：种子 {seed}，评审包中标出 {marked} 个抽中的单位" if seed is not None
                 else "未指定 --seed：评审包中没有标注实地抽查的单位")
    return lines


def _earlier_parts(out: Path) -> list[Path]:
    """Parts an earlier `--split` run wrote beside `out` (`<stem>_NN_….xlsx`)."""
    if not out.parent.is_dir():
        return []
    return sorted(p for p in out.parent.glob(f"{glob.escape(out.stem)}_[0-9][0-9]*{out.suffix}") if p.is_file())


def _announce_layout(units: int) -> None:
    seconds = max(1, round(units * SECONDS_PER_SCORECARD))
    print(f"正在生成 {units} 张评分表（约 {seconds} 秒）…", file=sys.stderr, flush=True)


def run_spot_check(folder: str, seed: int, output: str, spec: Spec, *, year: int | None = None,
                   preset: str | None = None) -> list[str]:
    """`jieyue spot-check`: draw and write the lists; returns the lines to print."""
    out = check_output(output, ".xlsx", "抽查名单")
    check = draw_spot_check(folder, seed, spec=spec, year=year, preset=preset, outputs=[out],
                            progress=Progress(label="读取回收的工作簿 "))
    write_spot_check(check, out, spec)
    lines = [f"已生成抽查名单：{out}（随机种子 {seed}）"]
    lines += [f"  {g.title}：{len(g.population)} 个单位，抽取 {len(g.sample)} 个（{g.ratio:.0%}）" for g in check.groups]
    return lines


__all__ = ["run_review_pack", "run_spot_check", "SECONDS_PER_SCORECARD"]
