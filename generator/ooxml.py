"""Writing output files safely and working on .xlsx files at the zip level — without openpyxl.

`check_output` refuses an output path before any work is done (wrong suffix, a folder where a file goes, a
missing folder) with an `OutputError` whose Chinese message names the path and what to do; `write_atomically`
writes through a temporary file (`TEMP_PREFIX…`) in the same directory and renames it, so an interrupted run never
leaves a half-written file under a real name. The zip helpers read an archive's entries with their raw local and
central records (`read_zip`, `inflate`), rebuild an archive with some entries replaced while every other
entry's compressed bytes are copied unchanged (`replace_entries`: how `personalise` makes thousands of workbooks
fast), and copy an archive entry by entry with some parts edited (`rewrite_zip`; `with_fixed_times` makes a file's
bytes reproducible). Only the standard library is used, so the consolidation can import this module without
importing openpyxl.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import secrets
import struct
import zipfile
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Callable, Mapping, Sequence

from workbook_templates.errors import OutputError

TEMP_PREFIX = "~$jieyue-"
"""Temporary files start like Excel's own lock files (`~$`), which every tool already ignores."""

FIXED_TIME = datetime(2000, 1, 1)
"""The timestamp of outputs that must be the same bytes on every run (the spot-check list, the demo's files)."""

LOCAL = struct.Struct("<IHHHHHIIIHH")            # local file header, 30 bytes
CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")    # central directory header, 46 bytes
EOCD = struct.Struct("<IHHHHIIH")                # end of central directory, 22 bytes
LOCAL_SIG, CENTRAL_SIG, EOCD_SIG = 0x04034B50, 0x02014B50, 0x06054B50
DATA_DESCRIPTOR_FLAG = 0x08
DEFLATED = 8


# ---------------------------------------------------------------- output paths

def check_output(path: str | Path, suffix: str | None, what: str) -> Path:
    """`path` as a Path once it can be written: with `suffix` (".xlsx", compared case-insensitively) it must end
    so, must not be a folder, and its folder must exist; with `suffix` None it is an output folder (created later
    if missing) and must not be a file. `what` names the output in the message (评审包, 汇总表, 输出目录 …).
    Raises OutputError (Chinese: the path and what to do)."""
    path = Path(path)
    if suffix is None:
        if path.exists() and not path.is_dir():
            raise OutputError(f"「{path}」是一个文件：-o 应为{what}，请换一个名称或位置")
        return path
    if path.suffix.lower() != suffix.lower():
        raise OutputError(f"{what}「{path}」应以 {suffix} 结尾，如 {what}{suffix}：请改正文件名")
    if path.is_dir():
        raise OutputError(f"「{path}」是一个文件夹：{what}应为一个文件，如「{path / (what + suffix)}」")
    if not path.parent.is_dir():
        raise OutputError(f"{what}所在的文件夹「{path.parent}」不存在：请先创建，或换一个输出位置")
    return path


# ---------------------------------------------------------------- writing

def write_atomically(path: str | Path, data: bytes | Callable[[BinaryIO], None], tag: str = "") -> None:
    """Write `data` to `path` through a temporary file in the same directory, then rename it into place.

    `data` is the bytes, or a function that writes them to the open file (so a large output can be streamed
    instead of held in memory twice). The temporary name starts with `~$jieyue-` and ends with `.tmp`; it is
    removed on any error (including Ctrl-C). The rename is atomic, so `path` is either the old file or the
    complete new one, never a partial write. No fsync: this protects against an interrupted run, not against a
    power cut. `tag` marks the temporary as one run's (`remove_stale_temporaries`).
    """
    path = Path(path)
    tmp = write_temporary(path, data, tag)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def temporary_name(tag: str = "") -> str:
    """`~$jieyue-<tag>-<random>.tmp` (or `~$jieyue-<random>.tmp` without a tag)."""
    return f"{TEMP_PREFIX}{tag + '-' if tag else ''}{secrets.token_hex(6)}.tmp"


def write_temporary(path: str | Path, data: bytes | Callable[[BinaryIO], None], tag: str = "") -> Path:
    """`data` written completely to a new temporary file beside `path`, which is *not* renamed: for outputs that
    must change together (the consolidation's summary, report and ledger), the caller renames them all once every
    one is complete. The temporary is removed on any error while writing."""
    path = Path(path)
    tmp = path.with_name(temporary_name(tag))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def remove_stale_temporaries(folder: str | Path, tag: str) -> list[Path]:
    """Our temporaries marked `tag` in `folder` — left by a run of the same outputs that was killed (a run holds
    its outputs' lock while its temporaries exist, so none of these is in use) — removed; the ones removed."""
    if not tag:
        raise ValueError("remove_stale_temporaries needs a tag: untagged temporaries may be another command's")
    removed = []
    for tmp in sorted(Path(folder).glob(f"{TEMP_PREFIX}{tag}-*.tmp")):          # neither has a glob character
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
            removed.append(tmp)
    return removed


# ---------------------------------------------------------------- zip entries, raw

@dataclass
class ZipEntry:
    """One entry of a zip as stored: where its local record starts and the raw bytes of both of its records."""

    name: str
    offset: int          # of the local header in the archive
    central: bytes       # the central directory record
    local: bytes         # the whole local record (header, name, extra, compressed data)


def read_zip(data: bytes) -> list[ZipEntry]:
    """The entries of a zip in local-header order, each with its raw local record and central record."""
    at = data.rfind(struct.pack("<I", EOCD_SIG))
    _, _, _, _, count, cd_size, cd_offset, _ = EOCD.unpack_from(data, at)
    centrals: list[tuple[int, str, bytes]] = []
    p = cd_offset
    for _ in range(count):
        rec = CENTRAL.unpack_from(data, p)
        if rec[0] != CENTRAL_SIG:
            raise ValueError("not a plain zip archive")
        end = p + CENTRAL.size + rec[10] + rec[11] + rec[12]
        name = data[p + CENTRAL.size:p + CENTRAL.size + rec[10]].decode("utf-8")
        centrals.append((rec[16], name, data[p:end]))
        p = end
    centrals.sort()
    entries = []
    for i, (offset, name, central) in enumerate(centrals):
        end = centrals[i + 1][0] if i + 1 < len(centrals) else cd_offset
        if LOCAL.unpack_from(data, offset)[0] != LOCAL_SIG:
            raise ValueError(f"{name}: bad local header")
        entries.append(ZipEntry(name, offset, central, data[offset:end]))
    return entries


def inflate(entry: ZipEntry) -> bytes:
    """The uncompressed content of `entry` (stored or deflated)."""
    header = LOCAL.unpack_from(entry.local)
    method = header[3]
    csize = CENTRAL.unpack_from(entry.central)[8]
    start = LOCAL.size + header[9] + header[10]
    raw = entry.local[start:start + csize]
    if method == 0:
        return raw
    if method == DEFLATED:
        return zlib.decompress(raw, -15)
    raise ValueError(f"{entry.name}: unsupported compression method {method}")


@dataclass(frozen=True)
class Deflated:
    """An entry's new content already deflated by the caller (raw deflate, no zlib header): the compressed bytes,
    the CRC-32 and the length of the uncompressed content."""

    data: bytes
    crc: int
    size: int


def replace_entries(entries: Sequence[ZipEntry], contents: Mapping[int, bytes | Deflated],
                    compresslevel: int = 6) -> bytes:
    """The archive of `entries` (as `read_zip` gives them) with the content of each entry `k` in `contents`
    replaced by `contents[k]`: uncompressed bytes, deflated here, or a `Deflated` the caller compressed.

    Every other entry's local record — header and compressed bytes — is copied unchanged; only the replaced
    entries' local records and the central directory are rebuilt (the offsets after a replaced entry move)."""
    locals_: list[bytes] = []
    centrals: list[bytes] = []
    offset = 0
    for k, e in enumerate(entries):
        rec = list(CENTRAL.unpack_from(e.central))
        rec[16] = offset
        if k in contents:
            new = contents[k]
            if isinstance(new, Deflated):
                data, crc, size = new.data, new.crc, new.size
            else:
                packer = zlib.compressobj(compresslevel, zlib.DEFLATED, -15)
                data, crc, size = packer.compress(new) + packer.flush(), zlib.crc32(new), len(new)
            header = LOCAL.unpack_from(e.local)
            name_extra = e.local[LOCAL.size:LOCAL.size + header[9] + header[10]]
            flags = header[2] & ~DATA_DESCRIPTOR_FLAG
            local = LOCAL.pack(header[0], header[1], flags, DEFLATED, header[4], header[5], crc, len(data), size,
                               header[9], header[10]) + name_extra + data
            rec[3], rec[4], rec[7], rec[8], rec[9] = flags, DEFLATED, crc, len(data), size
        else:
            local = e.local
        locals_.append(local)
        centrals.append(e.central if rec[16] == e.offset and k not in contents
                        else CENTRAL.pack(*rec) + e.central[CENTRAL.size:])
        offset += len(local)
    cd = b"".join(centrals)
    return b"".join(locals_) + cd + EOCD.pack(EOCD_SIG, 0, 0, len(entries), len(entries), len(cd), offset, 0)


# ---------------------------------------------------------------- zip entries, through zipfile

def zip_parts(data: bytes) -> tuple[list[zipfile.ZipInfo], dict[str, bytes]]:
    """The entries of a zip in archive order and their uncompressed contents by name (zipfile's errors —
    BadZipFile, OSError, EOFError — pass through for the caller to explain)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        infos = z.infolist()
        return infos, {i.filename: z.read(i) for i in infos}


def rewrite_zip(data: bytes, edit: Callable[[str, bytes], bytes] | None = None, *,
                date_time: tuple[int, int, int, int, int, int] | None = None) -> bytes:
    """A deflated copy of the zip `data`, entry by entry in the same order with the same attributes, each
    content passed through `edit(name, content)` (unchanged without `edit`). Every entry keeps its timestamp,
    or gets `date_time` when given — so the same input always gives the same bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():     # one entry in memory at a time: a review pack inflates to ~100 MB
            copy = zipfile.ZipInfo(info.filename, date_time=date_time or info.date_time)
            copy.compress_type, copy.external_attr = zipfile.ZIP_DEFLATED, info.external_attr
            content = src.read(info)
            dst.writestr(copy, edit(info.filename, content) if edit else content)
    return out.getvalue()


def with_fixed_times(data: bytes, when: datetime = FIXED_TIME) -> bytes:
    """The .xlsx with every timestamp fixed to `when` (zip entries, docProps/core.xml created and modified):
    openpyxl stamps the time of saving, and a reproducible output must be the same bytes on every run."""
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()

    def fix(name: str, content: bytes) -> bytes:
        if name != "docProps/core.xml":
            return content
        return re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp, content)
    return rewrite_zip(data, fix, date_time=when.timetuple()[:6])


__all__ = ["TEMP_PREFIX", "FIXED_TIME", "check_output", "write_atomically", "write_temporary", "temporary_name",
           "remove_stale_temporaries", "ZipEntry", "read_zip", "inflate",
           "Deflated", "replace_entries", "zip_parts", "rewrite_zip", "with_fixed_times"]
