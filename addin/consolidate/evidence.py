"""佐证材料 in a consolidation run: each unit's evidence folder or zip beside its return, indexed without opening or
running anything (`run.evidence`, the report's `evidence`, the summary's 佐证材料 sheet).

Beside the unit's chosen return, `<统一社会信用代码>_佐证材料/` (a folder, links never followed) or else
`<统一社会信用代码>_佐证材料.zip`: every file in it with its path inside, size, type and SHA-256 (files over the size
limit are not hashed). A zip goes through the returns' pre-flight limits (`read.preflight`: entry count, declared and
actual inflated size, compression ratio, encryption, duplicate names) and every member name must stay inside (no
`..`, absolute path or drive): one failure and the whole zip is unusable (bad_zip), nothing in it is listed. The
walk does not read these folders and zips as returns (`walk`). What the unit listed per indicator (`evid_<id>`, carried
with its inputs) is matched to the files and judged by `udfs.evidence`.
"""
from __future__ import annotations

import hashlib
import os
import posixpath
import stat
import zipfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

from udfs.evidence import (BAD_ZIP, KINDS, NOT_FILE, OTHER, REFUSED_CLASS, Finding, Found, evidence_name,
                           evidence_stem, file_type, findings, listed_files, safe_member, type_class)
from workbook_templates import Spec
from workbook_templates.process import Evidence

from .model import ConsolidationRun, FileOutcome
from .read.preflight import OPEN_FLAGS, Limits, check_entry_names, check_zip_entries, open_regular
from .read.rejected import Rejected
from .unit_indicators import self_counted

CHUNK = 1024 * 1024
PARALLEL_FROM = 200
"""Evidence folders from which the scan runs on worker processes."""
CHUNK_UNITS = 50
ZIP_PROBLEMS = {
    "F104": "压缩包中的文件已加密，无法登记：请取消密码后重新压缩",
    "F106": "压缩包异常（条目过多、解压后过大或压缩比异常），疑似压缩炸弹或文件已损坏：请重新压缩后交回",
    "F125": "压缩包中有同名的文件：请重新压缩后交回",
}


def _hash(path: str) -> str | None:
    """SHA-256 of a regular file; None when what is there now is not one (never waits on a FIFO put in its place)."""
    fd = os.open(path, OPEN_FLAGS)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        h = hashlib.sha256()
        while block := os.read(fd, CHUNK):
            h.update(block)
        return h.hexdigest()
    finally:
        os.close(fd)


def scan_folder(root: str, ev: Evidence) -> tuple[list[dict[str, Any]], list[Finding]]:
    """Every file under an evidence folder (links and special files reported, never followed nor read), by path."""
    files, problems = [], []
    pending = [("", root)]
    while pending:
        prefix, current = pending.pop()
        with os.scandir(current) as entries:
            for e in entries:
                rel = prefix + e.name
                st = e.stat(follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    pending.append((rel + "/", e.path))
                    continue
                regular = stat.S_ISREG(st.st_mode)
                digest = _hash(e.path) if regular and st.st_size <= ev.max_file_bytes else None
                if not regular or (digest is None and st.st_size <= ev.max_file_bytes):
                    problems.append(Finding(NOT_FILE, "", rel))
                    continue
                kind = file_type(rel)
                files.append({"path": rel, "size": st.st_size, "type": kind,
                              "class": type_class(kind, ev.allowed_types, ev.refused_types), "sha256": digest})
    files.sort(key=lambda x: x["path"])
    problems.sort(key=lambda x: x.file)
    return files, problems


def _scan_all(roots: list[str], ev: Evidence, workers: int) -> list[tuple[list[dict[str, Any]], list[Finding]]]:
    """`scan_folder` of every root, on `workers` processes when there are many (the cost is opening and hashing
    each file: about 20 per unit)."""
    if workers < 2 or len(roots) < PARALLEL_FROM:
        return [scan_folder(r, ev) for r in roots]
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(scan_folder, roots, [ev] * len(roots), chunksize=CHUNK_UNITS))


def _zip(path: Path, spec: Spec) -> tuple[list[dict[str, Any]], str]:
    """The zip's files, or ([], why it cannot be used)."""
    ev = spec.process.evidence
    limits = Limits(max_bytes=ev.max_zip_bytes)
    try:
        with os.fdopen(open_regular(path), "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > ev.max_zip_bytes:
                return [], f"压缩包大小 {size / 1024 / 1024:.1f} MB，超过上限 {ev.max_zip_bytes // 1024 // 1024} MB"
            try:
                z = zipfile.ZipFile(handle)
            except (zipfile.BadZipFile, OSError) as e:
                return [], f"不是有效的 zip 压缩包（{e}）：请重新压缩后交回"
            infos = z.infolist()
            check_zip_entries(infos, limits)
            check_entry_names(infos)
            unsafe = [i.filename for i in infos if not safe_member(i.filename)]
            if unsafe:
                return [], f"压缩包中的文件路径越出了压缩包（如「{unsafe[0]}」，含 .. 或绝对路径）：请重新压缩后交回"
            budget = limits.max_total_uncompressed
            files = []
            for i in sorted(infos, key=lambda i: i.filename):
                if i.is_dir():
                    continue
                kind = file_type(i.filename)
                digest = None
                if i.file_size <= ev.max_file_bytes:
                    h, read = hashlib.sha256(), 0
                    with z.open(i) as member:
                        while block := member.read(CHUNK):
                            read += len(block)
                            if read > i.file_size or read > budget:
                                return [], ZIP_PROBLEMS["F106"]
                            h.update(block)
                    budget -= read
                    digest = h.hexdigest()
                files.append({"path": i.filename, "size": i.file_size, "type": kind,
                              "class": type_class(kind, ev.allowed_types, ev.refused_types), "sha256": digest})
            return files, ""
    except Rejected as e:
        return [], ZIP_PROBLEMS.get(e.finding.code, "压缩包无法读取：请重新压缩后交回")
    except (zipfile.BadZipFile, NotImplementedError, EOFError, ValueError) as e:   # bad CRC, odd methods
        return [], f"压缩包数据异常（{type(e).__name__}），疑似已损坏：请重新压缩后交回"


def evidence_folder(f: FileOutcome, folder: Path) -> Path | None:
    """The unit's `<code>_佐证材料/` folder beside its return, when there is one (a link is not one)."""
    directory = folder / posixpath.dirname(f.path) / evidence_stem(f.code)
    return directory if directory.is_dir() and not directory.is_symlink() else None


def index_unit(f: FileOutcome, counted: list[float | None], folder: Path, spec: Spec,
               scanned: tuple[list[dict[str, Any]], list[Finding]] | None = None) -> dict[str, Any]:
    """One unit's evidence entry (see `index_evidence`); `scanned`: its folder already scanned (`scan_folder`)."""
    base = posixpath.dirname(f.path)
    stem = evidence_stem(f.code)
    archive = folder / base / (stem + ".zip")
    files: list[dict[str, Any]] = []
    problems: list[Finding] = []
    source = location = None
    bad_zip = ""
    directory = evidence_folder(f, folder) if scanned is None else None
    if scanned is not None or directory is not None:
        source, location = "folder", posixpath.join(base, stem) + "/"
        files, problems = scanned if scanned is not None else scan_folder(str(directory), spec.process.evidence)
    elif archive.is_file() and not archive.is_symlink():
        source, location = "zip", posixpath.join(base, stem + ".zip")
        files, bad_zip = _zip(archive, spec)
    listed = {ind.id: listed_files(f.inputs.get(evidence_name(ind.id))) for ind in spec.indicators
              if ind.rule.type != "computed_target"}
    listed = {k: v for k, v in listed.items() if v}
    scored = {ind.id: score for ind, score in zip(spec.indicators, counted) if ind.rule.type != "computed_target"}
    found = [Found(x["path"], x["size"], x["type"], x["class"]) for x in files]
    judged, matches = findings(listed, scored, found, spec.process.evidence.max_file_bytes)
    if bad_zip:
        judged = [Finding(BAD_ZIP, "", location)] + judged
    judged += problems
    listed_by: dict[str, list[str]] = {}
    for (ind, _), path in matches.items():
        if path is not None and ind not in listed_by.setdefault(path, []):
            listed_by[path].append(ind)
    for x in files:
        x["listed_by"] = listed_by.get(x["path"], [])
    indicators = []
    for ind in spec.indicators:
        names = listed.get(ind.id, [])
        score = scored.get(ind.id)
        if not names and not (score is not None and score > 0):
            continue
        indicators.append({"indicator": ind.id, "self_score": score, "listed": names,
                           "found": [matches[(ind.id, n)] for n in names if matches[(ind.id, n)] is not None],
                           "missing": [n for n in names if matches[(ind.id, n)] is None]})
    counts = {k: sum(1 for x in judged if x.kind == k) for k in KINDS}
    return {"unit_code": f.code, "unit_name": f.unit.get("unit_name"), "unit_region": f.unit.get("unit_region"),
            "unit_level": f.unit.get("unit_level"), "file": f.path, "source": source, "location": location,
            "zip_problem": bad_zip or None, "files": files, "indicators": indicators,
            "scored": sum(1 for s in scored.values() if s is not None and s > 0),
            "with_evidence": sum(1 for k, s in scored.items() if s is not None and s > 0 and listed.get(k)),
            "listed": sum(len(v) for v in listed.values()), "counts": counts,
            "findings": [{"kind": x.kind, "label": KINDS[x.kind], "indicator": x.indicator or None,
                          "file": x.file or None} for x in judged]}


def index_evidence(run: ConsolidationRun, folder: Path, spec: Spec, workers: int = 2) -> dict[str, Any]:
    """The report's `evidence` section: the convention and limits, and one entry per unit of the run. The folders
    are scanned first, all together (on `workers` processes when there are many)."""
    ev = spec.process.evidence
    counted = self_counted(run.units, spec)
    folders = {f.code: d for f in run.units if (d := evidence_folder(f, folder)) is not None}
    scans = dict(zip(folders, _scan_all([str(d) for d in folders.values()], ev, workers)))
    units = [index_unit(f, [None if v != v else float(v) for v in row], folder, spec, scans.get(f.code))
             for f, row in zip(run.units, counted.tolist())]
    return {"folder": evidence_stem("<统一社会信用代码>"), "allowed_types": sorted(ev.allowed_types),
            "refused_types": sorted(ev.refused_types), "max_file_bytes": ev.max_file_bytes,
            "max_zip_bytes": ev.max_zip_bytes, "kinds": dict(KINDS),
            "totals": {"units": len(units), "with_evidence": sum(1 for u in units if u["source"]),
                       "files": sum(len(u["files"]) for u in units),
                       "bytes": sum(x["size"] for u in units for x in u["files"]),
                       "findings": {k: sum(u["counts"][k] for u in units) for k in KINDS}},
            "units": units}


def linkable(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The files of a unit's entry a scorecard may link to: allowed types, in a folder (a zip's members have no
    path of their own), listed by an indicator."""
    if entry.get("source") != "folder":
        return []
    return [x for x in entry["files"] if x["class"] not in (REFUSED_CLASS, OTHER) and x["listed_by"]]


def scorecard_evidence(entry: dict[str, Any] | None, folder: str | Path, pack_dir: str | Path
                       ) -> tuple[dict[str, str], tuple[tuple[str, str, str], ...]]:
    """What a unit's scorecard shows of its evidence: indicator → the names it listed (「（未找到）」 after a missing
    one), and each file that may be opened as (its path inside, a link relative to the pack's folder `pack_dir`,
    the indicators listing it). The returns folder is `folder`."""
    if not entry:
        return {}, ()
    listed = {i["indicator"]: "；".join(n + ("（未找到）" if n in i["missing"] else "") for n in i["listed"])
              for i in entry["indicators"] if i["listed"]}
    files = []
    for x in linkable(entry):
        target = Path(folder) / entry["location"] / x["path"]
        relative = Path(os.path.relpath(target.resolve(), Path(pack_dir).resolve())).as_posix()
        files.append((x["path"], quote(relative, safe="/"), "、".join(x["listed_by"])))
    return listed, tuple(files)


__all__ = ["index_evidence", "index_unit", "linkable", "scorecard_evidence"]
