"""Stage 1 of a run: which files there are, and which of them nobody meant to submit.

`walk(folder)` lists every file under a folder (recursively, one scandir per folder, links to folders not
followed) with its lstat, and the folders it did not go into: hidden and system folders (`.git`, `__MACOSX`,
`$RECYCLE.BIN` …, counted as *skipped* like hidden files) and folders it could not read (each *rejected* with
F123, so the run goes on without them and says so). `skip_reason(path, mode)` says why a file is counted as
*skipped* instead of read — Excel/WPS lock files, our own temporaries, hidden and system files, links and special
files (FIFOs, devices, sockets: never opened, so they cannot make the run wait). Anything else (an .xls, a .csv,
a PDF) is read and rejected with a finding, so every file is accounted for.

File names are shown as they are when they decode; a name that is not UTF-8 (a GBK zip unpacked on Linux gives
such names) is shown with its undecodable bytes as `\\xB5` (`shown_path`), so it can be written anywhere, and
its GBK reading is offered in an I124 note (`name_note`).
"""
from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from generator.ooxml import TEMP_PREFIX
from udfs.evidence import is_evidence_name
from udfs.intake import Finding

from .model import EVIDENCE, FOLDER, OTHER, REJECTED, SKIPPED, FileOutcome

SYSTEM_FILES = frozenset({"thumbs.db", "desktop.ini", ".ds_store", "ehthumbs.db"})
SYSTEM_FOLDERS = frozenset({"__macosx", "$recycle.bin", "system volume information", "recycler"})
LINK = "符号链接：请放入文件本身"
SPECIAL = "特殊文件（管道、设备或套接字），不是填报工作簿，没有打开，已跳过"
EVIDENCE_FOLDER = "佐证材料文件夹：其中的文件不是填报工作簿，不作为工作簿读取，另行登记（见「佐证材料」）"
EVIDENCE_ZIP = "佐证材料压缩包：不是填报工作簿，不作为工作簿读取，另行登记（见「佐证材料」）"


def skip_reason(path: Path, mode: int | None = None) -> str | None:
    """Why the run counts a file as skipped instead of reading it, or None to read it: by its name, and by its
    type when its lstat `mode` is given."""
    name = Path(path).name
    if name.lower() in SYSTEM_FILES:
        return f"系统文件（{name}），不是填报工作簿，已跳过"
    if name.startswith(TEMP_PREFIX):
        return "jieyue 写出文件时的临时文件（~$jieyue- 开头），不是填报工作簿，已跳过"
    if name.startswith("~$"):
        return "Excel/WPS 打开文件时生成的临时锁定文件（~$ 开头），不是填报工作簿，已跳过；请关闭 Excel 后再汇总"
    if name.startswith("."):
        return "隐藏文件（名称以 . 开头，如 WPS 的临时文件或 macOS 的附加文件），已跳过"
    if is_evidence_name(name) and name.lower().endswith(".zip"):
        return EVIDENCE_ZIP
    if mode is not None and stat.S_ISLNK(mode):
        return LINK
    if mode is not None and not stat.S_ISREG(mode):
        return SPECIAL
    return None


def skipped_kind(reason: str, folder: bool = False) -> str:
    """What a skipped entry is, for 文件清单's 类型: a 佐证材料 folder or zip, another folder, another file."""
    return EVIDENCE if reason in (EVIDENCE_FOLDER, EVIDENCE_ZIP) else FOLDER if folder else OTHER


def folder_skip_reason(name: str) -> str | None:
    """Why the walk does not go into a folder, or None: hidden folders (.git, .svn …) and system folders."""
    if name.startswith("."):
        return f"隐藏文件夹（{name}），其中的文件没有读取，已跳过"
    if name.lower() in SYSTEM_FOLDERS:
        return f"系统文件夹（{name}，如 macOS 压缩包的附加文件或回收站），其中的文件没有读取，已跳过"
    if is_evidence_name(name):
        return EVIDENCE_FOLDER
    return None


@dataclass(frozen=True)
class Folder:
    """A folder the walk did not go into: skipped (hidden or system) or unreadable (`error` says why)."""

    path: Path
    reason: str                        # skipped: the skip reason; unreadable: the F123 message
    unreadable: bool


def walk(folder: Path) -> tuple[dict[Path, os.stat_result], list[Folder]]:
    """Every file (and link, and special file) under `folder`, recursively, with its lstat; and the folders not
    gone into. Only `folder` itself must be readable (the caller's error otherwise)."""
    found: dict[Path, os.stat_result] = {}
    folders: list[Folder] = []
    pending = [folder]
    while pending:
        current = pending.pop()
        try:
            entries = list(os.scandir(current))
        except OSError as e:
            if current == folder:
                raise
            folders.append(Folder(current, unreadable_message(e), True))
            continue
        for e in entries:
            try:
                is_dir = e.is_dir(follow_symlinks=False)
                if is_dir:
                    reason = folder_skip_reason(e.name)
                    if reason is None:
                        pending.append(Path(e.path))
                    else:
                        folders.append(Folder(Path(e.path), reason, False))
                else:
                    found[Path(e.path)] = e.stat(follow_symlinks=False)
            except OSError as err:                  # gone or unreadable between scandir and stat
                folders.append(Folder(Path(e.path), unreadable_message(err), True))
    return found, folders


def unreadable_message(e: OSError) -> str:
    why = e.strerror or type(e).__name__
    return (f"无法读取（{why}），其中的文件没有汇总：请检查这个文件夹的读取权限（或它是否正被其他程序占用），"
            "然后重新汇总")


@dataclass
class Survey:
    """What a run has to read, as stage 1 leaves it: every file with its lstat and its path as shown (relative to
    the returns folder, `/` separators, unique), the folders not gone into, and the I124 notes of names that are
    not UTF-8."""

    files: dict[Path, os.stat_result]
    rels: dict[Path, str]                  # files and folders not gone into → the path the outputs show
    folders: list[Folder]
    notes: dict[Path, Finding]

    def folder_outcomes(self) -> list[FileOutcome]:
        """A skipped or rejected entry for each folder not gone into (its path ends with /)."""
        out = []
        for f in self.folders:
            rel = self.rels[f.path]
            if f.unreadable:
                out.append(FileOutcome(path=rel, size=0, sha256="", status=REJECTED, blocking=True, kind=FOLDER,
                                       findings=[Finding("F123", f"文件夹「{rel}」{f.reason}")]))
            else:
                out.append(FileOutcome(path=rel, size=0, sha256="", status=SKIPPED, skip_reason=f.reason,
                                       kind=skipped_kind(f.reason, folder=True)))
        return out

    def evidence(self) -> dict[str, str]:
        """The 佐证材料 folders and zips the walk found (each one's path → "folder" or "zip"): the evidence stage
        tells which units handed something in from what was listed here, without looking at the disk again —
        two lstat calls a unit, for thousands of units that mostly hand in nothing."""
        found = {str(f.path): "folder" for f in self.folders if f.reason == EVIDENCE_FOLDER}
        found.update((str(p), "zip") for p, st in self.files.items()
                     if p.name.lower().endswith(".zip") and is_evidence_name(p.name) and stat.S_ISREG(st.st_mode))
        return found

    def unread(self, rel: str) -> bool:
        """Whether `rel` lies in a folder that could not be read (its files are not gone, only unseen)."""
        return any(rel.startswith(self.rels[f.path]) for f in self.folders if f.unreadable)


def survey(folder: Path, reviews: Path | None = None) -> Survey:
    """`walk` of the returns folder — and of the reviews folder unless it lies inside, its paths shown as
    「<its name>/…」 — with every path as the outputs show it."""
    files, folders = walk(folder)
    raw = _relative(files, folder)
    raw.update({path: rel + "/" for path, rel in _relative([f.path for f in folders], folder).items()})
    if reviews is not None and not inside(reviews, folder):
        more, more_folders = walk(reviews)
        files.update(more)
        folders += more_folders
        name = reviews.resolve().name
        raw.update({p: f"{name}/{rel}" for p, rel in _relative(more, reviews).items()})
        raw.update({p: f"{name}/{rel}/" for p, rel in _relative([f.path for f in more_folders], reviews).items()})
    notes = {p: note for p, rel in raw.items() if p in files and (note := name_note(rel)) is not None}
    return Survey(files, unique_names({p: shown_path(rel) for p, rel in raw.items()}), folders, notes)


def _relative(paths: Iterable[Path], folder: Path) -> dict[Path, str]:
    """Each of `paths` (found by `walk(folder)`, so below it) relative to `folder`, with `/` separators — as
    `relative_to(folder).as_posix()` gives it, from the text (pathlib took a tenth of a second for 10 000)."""
    prefix = os.path.join(str(folder), "")
    return {p: str(p)[len(prefix):].replace(os.sep, "/") for p in paths}


def inside(path: Path, folder: Path) -> bool:
    """Whether `path` is `folder` or lies below it (both resolved)."""
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


# ---------------------------------------------------------------- names as shown

_SURROGATE = re.compile("[\ud800-\udfff]")


def shown_path(text: str) -> str:
    """A path as the outputs show it: unchanged when it is proper Unicode; otherwise each byte the file system
    gave that is not UTF-8 (Python keeps it as a lone surrogate, PEP 383) shown as `\\xB5`, any other lone
    surrogate as `\\uD800` — text every writer can carry, and the same on every run."""
    if not _SURROGATE.search(text):
        return text
    return _SURROGATE.sub(lambda m: (f"\\x{ord(m.group()) - 0xDC00:02X}" if 0xDC80 <= ord(m.group()) <= 0xDCFF
                                     else f"\\u{ord(m.group()):04X}"), text)


def name_note(text: str) -> Finding | None:
    """I124 for a path that is not UTF-8: how it is shown and, when its bytes read as GBK, what it most likely
    says — so that a person can rename the file."""
    if not _SURROGATE.search(text):
        return None
    try:
        guess = text.encode("utf-8", "surrogateescape").decode("gb18030")
    except (UnicodeError, ValueError):
        guess = None
    reading = f"；按 GBK 编码读作「{guess}」" if guess else ""
    return Finding("I124", f"文件名不是 UTF-8 编码，显示为「{shown_path(text)}」{reading}：多为在 Linux 或 macOS 上"
                           "解压了 Windows 中文压缩包；文件照常读取，建议改为正确的名称后重新汇总")


def unique_names(shown: dict[Path, str]) -> dict[Path, str]:
    """`shown` with every name unique: a shown name can (rarely) equal another file's real name; the later one,
    in path order, gets 「 #2」."""
    out: dict[Path, str] = {}
    taken: set[str] = set()
    for path in sorted(shown, key=lambda p: p.parts):     # path order, as pathlib compares (without its cost)
        name, n = shown[path], 1
        while name in taken:
            n += 1
            name = f"{shown[path]} #{n}"
        taken.add(name)
        out[path] = name
    return out
