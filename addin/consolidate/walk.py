"""Stage 1 of a run: which files there are, and which of them nobody meant to submit.

`walk(folder)` lists every file under a folder (recursively, one scandir per folder, links to folders not
followed) with its lstat; `skip_reason(path)` says why a file is counted as *skipped* instead of read — only
Excel/WPS lock files, hidden files and system files. Anything else (an .xls, a .csv, a PDF) is read and
rejected with a finding, so every file is accounted for.
"""
from __future__ import annotations

import os
from pathlib import Path

SYSTEM_FILES = frozenset({"thumbs.db", "desktop.ini", ".ds_store", "ehthumbs.db"})


def skip_reason(path: Path) -> str | None:
    """Why the run counts a file as skipped instead of reading it, or None to read it."""
    name = Path(path).name
    if name.lower() in SYSTEM_FILES:
        return f"系统文件（{name}），不是填报工作簿，已跳过"
    if name.startswith("~$"):
        return "Excel/WPS 打开文件时生成的临时锁定文件（~$ 开头），不是填报工作簿，已跳过；请关闭 Excel 后再汇总"
    if name.startswith("."):
        return "隐藏文件（名称以 . 开头，如 WPS 的临时文件或 macOS 的附加文件），已跳过"
    return None


def walk(folder: Path) -> dict[Path, os.stat_result]:
    """Every file (and symbolic link) under `folder`, recursively, with its lstat."""
    found: dict[Path, os.stat_result] = {}
    pending = [folder]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for e in entries:
                if e.is_dir(follow_symlinks=False):
                    pending.append(Path(e.path))
                elif e.is_file(follow_symlinks=False) or e.is_symlink():
                    found[Path(e.path)] = e.stat(follow_symlinks=False)
    return found


def inside(path: Path, folder: Path) -> bool:
    """Whether `path` is `folder` or lies below it (both resolved)."""
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents
