"""A review pack in several workbooks (`jieyue review-pack --split`): which units go into which part, what the
parts are called, and writing them all or none.

A region-wide pack holds thousands of scorecards — heavy for any spreadsheet program — so the 自治区's pack is
written one workbook per 地州市 (所属地区) by default, and any pack can be written N units a workbook. Every part
is a whole review pack of its own (说明, 总览, its scorecards, 参数, _meta) whose `_meta` records the pack's id,
its number and the number of parts (`generator.review_layout.PackPart`), signed with the rest; consolidation
takes the parts as one authority's review and names a part that did not come back (`consolidate.pack_parts`).

Parts are named after the output: `-o 评审包.xlsx` → `评审包_01_昌吉回族自治州.xlsx`, `评审包_02_哈密市.xlsx` … (by
地州市) or `评审包_01_单位1-500.xlsx` … (N units a part); one part keeps the name given.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import BinaryIO, Callable, Sequence

from generator.ooxml import write_temporary
from generator.review_layout import PackPart, ReviewUnit
from generator.roster import safe_file_name
from udfs.levels import Reviewer
from workbook_templates import Spec

BY_REGION = "地州市"
"""`split` for one workbook per 地州市 (the units' 所属地区)."""
NO_REGION = "未填所属地区"

Split = int | str | None
"""How a pack is split: None or 0 — one workbook; N ≥ 1 — N units a workbook; BY_REGION — one per 地州市."""


def default_split(reviewer: Reviewer, spec: Spec) -> Split:
    """What `review-pack` does without `--split`: the top reviewer's (自治区's) pack one workbook per 地州市, any
    other one workbook."""
    return BY_REGION if reviewer.key == list(spec.assessment.reviewers)[-1] else None


def partition(units: Sequence[ReviewUnit], split: Split) -> list[tuple[str, list[ReviewUnit]]]:
    """(what the part covers, its units) of every part, the units in pack order within each part: by 地州市 in
    the order the units first name it, or N units at a time; one part (label "") when not split."""
    if split is None or split == 0:
        return [("", list(units))]
    if split == BY_REGION:
        regions: dict[str, list[ReviewUnit]] = {}
        for unit in units:
            regions.setdefault(unit.region.strip() or NO_REGION, []).append(unit)
        return list(regions.items())
    if not isinstance(split, int) or isinstance(split, bool) or split < 0:
        raise ValueError(f"--split 应为不小于 0 的整数（每个工作簿的单位数），而不是「{split}」")
    return [(_numbers(start + 1, min(start + split, len(units))), list(units[start:start + split]))
            for start in range(0, len(units), split)]


def _numbers(first: int, last: int) -> str:
    """「单位1-500」: the part's units by their place in the pack."""
    return f"单位{first}" if first == last else f"单位{first}-{last}"


def pack_parts(groups: Sequence[tuple[str, list[ReviewUnit]]], reviewer: Reviewer, region: str | None,
               year: int) -> list[tuple[PackPart, list[ReviewUnit]]]:
    """Each part (`partition`) with its identity: one id for the whole pack — a digest of the reviewer, region,
    year and every part's units, so the same pack made again has the same id and another pack another — and the
    part's number."""
    digest = hashlib.sha256()
    for text in (reviewer.key, region or "", str(year)):
        digest.update(text.encode("utf-8") + b"\x00")
    for label, units in groups:
        digest.update(label.encode("utf-8", "surrogatepass") + b"\x01")
        for unit in units:
            digest.update(unit.code.encode("utf-8", "surrogatepass") + b"\x00")
    pack_id = digest.hexdigest()[:12]
    return [(PackPart(pack_id, number, len(groups), label), units)
            for number, (label, units) in enumerate(groups, start=1)]


def part_path(out: Path, part: PackPart) -> Path:
    """Where a part is written: the output itself when the pack is one part, else `<stem>_<NN>_<label><suffix>`
    beside it (safe on Windows: `generator.roster.safe_file_name`)."""
    if part.count == 1:
        return out
    width = max(2, len(str(part.count)))
    return out.with_name(safe_file_name(f"{out.stem}_{part.number:0{width}d}", part.label, out.suffix))


def write_all(files: Sequence[tuple[Path, bytes | Callable[[BinaryIO], None]]]) -> None:
    """Every file written, or none: each is written completely to a temporary beside it first (its bytes, or a
    function that streams them: `ooxml.write_temporary`); only when all are complete are they renamed into place.
    On any failure before that, the temporaries are removed and the files already there stay as they were."""
    written: list[tuple[Path, Path]] = []
    try:
        for path, data in files:
            written.append((write_temporary(path, data), path))
    except BaseException:
        for tmp, _ in written:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise
    try:
        for tmp, path in written:
            os.replace(tmp, path)
    finally:                                # a rename that failed: no temporary is left behind
        for tmp, _ in written:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


__all__ = ["BY_REGION", "Split", "default_split", "partition", "pack_parts", "part_path", "write_all"]
