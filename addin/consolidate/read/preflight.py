"""Pre-flight: what a file's bytes and its zip must be before any XML is parsed (F101–F107).

1. the bytes (read once, bounded, and only from a regular file: a pipe or a device put in the file's place is
   never waited on, F122): too large (F105), empty (F101), an OLE file — an encrypted OOXML workbook
   (F104) or a legacy .xls / WPS .et (F103) —, not a zip at all (F102, saying what it looks like);
2. the zip's central directory: entry count, declared sizes, compression ratios, zip-level encryption (F106,
   F104), two entries of one name (F125: Excel and this reader could each take another), and what the zip
   holds (F102 for .ods, .docx, .xlsb, Strict Open XML or a plain archive);
3. macros: a `vbaProject.bin` part or a macro-enabled content type (F107).

`Package` is the checked zip with a bounded part reader: a part may not inflate past its declared size or the
file's remaining budget, whatever its header says.
"""
from __future__ import annotations

import io
import math
import os
import posixpath
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import unquote

from . import pack_limits
from .rejected import AGAIN, Deadline, Rejected, exc_text
from .xmlscan import T_REL, parse_xml

OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_SIGNATURE = b"PK\x03\x04"
ENCRYPTION_INFO = "EncryptionInfo".encode("utf-16-le")


@dataclass(frozen=True)
class Limits:
    """What one returned file may be. A filled workbook is about 50 KB with about 20 zip entries, inflating to
    about 400 KB: the defaults are a unit's return's (and any file's before it shows it is a review pack). A review
    pack holds one sheet per unit, so its limits grow with the scorecards its `_meta` declares, as many as its zip
    holds (`for_pack`, `pack_limits`); what may actually be inflated is a unit's return's budget until the workbook
    says it is a review pack."""

    max_bytes: int = 64 * 1024 * 1024                 # the file itself (F105)
    max_entries: int = 5000                           # zip entries (F106)
    max_total_uncompressed: int = 512 * 1024 * 1024   # declared in the central directory (F106)
    inflate_budget: int = 100 * 1024 * 1024           # actually inflated, a unit's return (F106)
    review_inflate_budget: int = 512 * 1024 * 1024    # actually inflated, a review pack (F106)
    max_ratio: float = 200.0                          # per entry, for entries larger than ratio_min_size
    ratio_min_size: int = 1024 * 1024
    seconds: float = 30.0                             # reading a unit's return (F120; it takes a few ms)
    review_seconds: float = 300.0                     # reading a review pack (931 scorecards: about 5 s)
    scorecards: int | None = None                     # a review pack's: the scorecards these limits were raised for
    base: Limits | None = field(default=None, repr=False, compare=False)   # what they were raised from

    def for_pack(self, scorecards: int) -> Limits:
        """The limits of a review pack of `scorecards` scorecards: the allowance per scorecard (`pack_limits`, as
        measured on the packs the generator writes) on top of the pack's fixed parts, never below these limits
        and never beyond the ceiling (`pack_limits.PACK_MAX_SCORECARDS`)."""
        base = self.base or self
        n = max(0, min(scorecards, pack_limits.PACK_MAX_SCORECARDS))
        inflated = pack_limits.PACK_FIXED_INFLATED + n * pack_limits.SCORECARD_INFLATED
        return replace(base, scorecards=n, base=base,
                       max_bytes=max(base.max_bytes, pack_limits.PACK_FIXED_BYTES + n * pack_limits.SCORECARD_BYTES),
                       max_entries=max(base.max_entries,
                                       pack_limits.PACK_FIXED_ENTRIES + n * pack_limits.SCORECARD_ENTRIES),
                       max_total_uncompressed=max(base.max_total_uncompressed, inflated),
                       review_inflate_budget=max(base.review_inflate_budget, inflated))

    def with_declared(self, read_at: pack_limits.ReadAt, size: int) -> Limits:
        """These limits, raised for the review pack the file declares it is (`pack_limits.declared_scorecards`);
        unchanged for any other file, or when they were raised already."""
        if self.scorecards is not None:
            return self
        declared = pack_limits.declared_scorecards(read_at, size)
        return self if declared is None else self.for_pack(declared)


OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
              | getattr(os, "O_NOCTTY", 0))
"""Opening never waits (a FIFO opens at once with O_NONBLOCK), never follows a link put in the file's place, and
a terminal never becomes ours."""


def open_regular(path: Path) -> int:
    """A descriptor of `path` opened for reading, once `fstat` has shown it is a regular file (F122 otherwise,
    without reading from it). The walk already skipped what was not a regular file; this is for whatever took its
    place since (a FIFO would block a plain open forever). The caller closes the descriptor."""
    fd = os.open(path, OPEN_FLAGS)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise Rejected("F122", "这不是普通文件（而是文件夹、管道、设备或其他特殊文件），没有读取：请放入填好的工作簿本身")
        if getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(fd, True)                    # a regular file: reads as usual from here
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_regular(path: Path, limit: int) -> bytes:
    """Up to `limit` bytes of a regular file (`open_regular`)."""
    with os.fdopen(open_regular(path), "rb") as f:
        return f.read(limit)


def read_bytes(path: Path, limits: Limits) -> tuple[bytes, int]:
    """The file's bytes, read once and never more than the limit (F105 without reading a huge file)."""
    data, size, _ = read_within(path, limits)
    return data, size


def read_within(path: Path, limits: Limits) -> tuple[bytes, int, Limits]:
    """The file's bytes, read once and never more than the limit, and the limits it is read under: a file larger
    than `limits` allow is first asked, by a few bounded reads, whether it is a review pack and of how many
    scorecards (`Limits.with_declared`); F105 without reading the file when it is still too large."""
    with os.fdopen(open_regular(path), "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size > limits.max_bytes:
            limits = limits.with_declared(_reader(f), size)
            if size > limits.max_bytes:
                raise _too_large(size, limits, size)
            f.seek(0)
        # Read as much as stat says (plus one byte to see it grew), then on to the limit only if it did: one read
        # of limit + 1 bytes would allocate the whole limit (64 MiB) for every 50 KB file.
        data = f.read(min(size, limits.max_bytes) + 1)
        if len(data) > size:
            data += f.read(limits.max_bytes + 1 - len(data))
    if len(data) > limits.max_bytes:                    # grew since stat
        raise _too_large(len(data), limits, size)
    return data, len(data), limits


def _reader(f) -> pack_limits.ReadAt:
    def read_at(offset: int, length: int) -> bytes:
        f.seek(offset)
        return f.read(length)
    return read_at


def _too_large(size: int, limits: Limits, stat_size: int) -> Rejected:
    if limits.scorecards is not None:
        return Rejected("F105", f"评审包大小 {_size(size)}，超过上限 {_size(limits.max_bytes)}（按评审包中的 "
                                f"{limits.scorecards} 张评分表计算，每张不超过 {_size(pack_limits.SCORECARD_BYTES)}，"
                                f"一个评审包最多 {pack_limits.PACK_MAX_SCORECARDS} 张）：请用 jieyue review-pack --split "
                                "把评审包分成几个工作簿重新生成（例如每个地州市一个），评分时不要在评审包中粘贴图片或增加工作表",
                        size=stat_size)
    return Rejected("F105", f"文件大小 {_size(size)}，超过上限 {_size(limits.max_bytes)}（填报工作簿通常不到 1 MB）："
                            "请删除粘贴进去的图片、多余的工作表后另存为 .xlsx 重新提交", size=stat_size)


def _size(n: float) -> str:
    return f"{n / 1048576:.1f} MB" if n >= 1048576 else f"{n / 1024:.0f} KB"


def check_empty(data: bytes) -> None:
    """F101: zero bytes (an interrupted copy or download)."""
    if not data:
        raise Rejected("F101", "文件是空的（0 字节），可能复制或下载时中断：请重新发送填好的工作簿")


def check_ole(data: bytes) -> None:
    """F104 / F103: an OLE compound file is either an encrypted OOXML workbook or a legacy .xls / .et."""
    if not data.startswith(OLE_SIGNATURE):
        return
    if ENCRYPTION_INFO in data:
        raise Rejected("F104", "文件设置了打开密码（已加密），无法读取：请在 Excel 中取消密码"
                               "（文件 → 信息 → 保护工作簿 → 用密码进行加密，清空密码）后另存为 .xlsx 重新提交")
    raise Rejected("F103", "这是旧版 Excel 97-2003 (.xls) 或 WPS (.et) 格式的文件：请用 Excel 或 WPS 打开后"
                           "另存为「Excel 工作簿 (*.xlsx)」格式（不含宏）再提交")


def check_zip_signature(data: bytes) -> None:
    """F102: not a zip at all — often a CSV, an HTML page or a text file renamed to .xlsx."""
    if data.startswith(ZIP_SIGNATURE) or data.startswith(b"PK\x05\x06"):
        return
    raise Rejected("F102", f"这不是 xlsx 工作簿（{looks_like(data)}），可能只是把扩展名改成了 .xlsx：{AGAIN}")


def looks_like(data: bytes) -> str:
    """What a non-zip file seems to be, in a few words."""
    head = data[:4096]
    stripped = head.lstrip(b"\xef\xbb\xbf\xff\xfe \t\r\n")
    low = stripped[:512].lower()
    if stripped.startswith(b"%PDF"):
        return "看起来是 PDF 文件"
    if stripped.startswith(b"Rar!") or stripped.startswith(b"7z\xbc\xaf") or stripped.startswith(b"\x1f\x8b"):
        return "看起来是 RAR/7z/gzip 压缩包"
    if stripped.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8")):
        return "看起来是图片"
    if low.startswith(b"<"):
        if b"urn:schemas-microsoft-com:office:spreadsheet" in head:
            return "看起来是 Excel 2003 XML 表格"
        if b"<html" in low or b"<!doctype html" in low or b"<table" in low or b"<meta" in low:
            return "看起来是网页（HTML）文件，例如从网页或系统导出的表格"
        return "看起来是 XML 或网页（HTML）文件"
    text = _as_text(head)
    if text is not None:
        lines = [ln for ln in text.splitlines()[:5] if ln.strip()]
        if lines and all(("," in ln or "\t" in ln or "，" in ln) for ln in lines):
            return "看起来是 CSV 或文本表格"
        return "看起来是文本文件"
    return "无法识别的文件内容，或文件已损坏"


def _as_text(head: bytes) -> str | None:
    if b"\x00" in head:
        try:
            return head.decode("utf-16") if head[:2] in (b"\xff\xfe", b"\xfe\xff") else None
        except UnicodeDecodeError:
            return None
    for encoding in ("utf-8", "gb18030"):
        try:
            return head.decode(encoding)
        except UnicodeDecodeError as e:
            if e.start >= len(head) - 4:                 # cut in the middle of a character at 4 KB
                return head[:e.start].decode(encoding, errors="ignore")
    return None


# ---------------------------------------------------------------- the zip

class Package:
    """The zip, checked against `Limits` from its central directory, with a bounded part reader; every part read
    first asks the file's `deadline`."""

    def __init__(self, data: bytes, limits: Limits, deadline: Deadline | None = None):
        self.deadline = deadline
        self.size = len(data)
        self.data = data
        entries = _declared_entries(data)
        if entries is not None and entries > limits.max_entries:
            limits = limits.with_declared(_in_memory(data), len(data))      # a review pack of many scorecards?
            if entries > limits.max_entries:
                raise _bomb(f"压缩包中有 {entries} 个条目（上限 {limits.max_entries}）")
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile as e:
            raise Rejected("F102", f"文件不完整或已损坏，不是有效的 xlsx 压缩包（{e}），可能发送或下载时中断："
                                   "请重新保存后再发送") from None
        infos = self.zip.infolist()
        self.declared_total = sum(i.file_size for i in infos)
        if self.declared_total > limits.inflate_budget:
            limits = limits.with_declared(_in_memory(data), len(data))      # inflating past a return's budget
        self.limits = limits
        check_zip_entries(infos, limits)
        check_entry_names(infos)
        self.names = {i.filename: i for i in infos}
        self.lower = {i.filename.lower(): i for i in infos}
        self.part_names = frozenset(self.lower)         # what `has` matches, in lower case
        self.budget = limits.inflate_budget
        check_contents(self)

    def info(self, name: str) -> zipfile.ZipInfo | None:
        return self.names.get(name) or self.lower.get(name.lower())

    def has(self, name: str) -> bool:
        return self.info(name) is not None

    def read(self, name: str) -> bytes:
        """A part's bytes, never inflating past its declared size nor the file's remaining budget."""
        info = self.info(name)
        if info is None:
            raise KeyError(name)
        if self.deadline is not None:
            self.deadline.check()
        limit = min(info.file_size, self.budget)
        out = _inflated_whole(self.data, info) if info.file_size <= self.budget else None
        if out is None:
            try:
                with self.zip.open(info) as f:
                    out = f.read(limit + 1)
            except Exception as e:   # noqa: BLE001 — bad CRC, zlib/bz2/lzma errors, unsupported methods…
                raise _bomb(f"读取 {name} 时压缩数据异常（{exc_text(e)}）") from None
            if len(out) > limit:
                raise _bomb(f"{name} 解压后超过 {limit} 字节")
        self.budget -= len(out)
        return out


LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
"""A zip entry's local header: signature, version, flags, method, time, date, CRC, sizes, name and extra lengths."""


def _inflated_whole(data: bytes, info: zipfile.ZipInfo) -> bytes | None:
    """The entry's bytes inflated straight from the file's bytes when it is in the plain form every writer uses —
    stored or deflated, no encryption, its local header naming it as the central directory does, its data ending
    where it says and the whole stream inflating to exactly the declared size with the declared CRC — which is
    then exactly what zipfile would give; None otherwise (zipfile reads it, and says what is wrong). Saves
    zipfile's per-entry machinery on the ~11 parts of every file."""
    at = info.header_offset
    if info.flag_bits & 0x61 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or at < 0:
        return None                                      # encrypted, patched or strongly encrypted; other methods
    if len(data) < at + LOCAL_HEADER.size:
        return None
    signature, _, flags, _, _, _, _, _, _, name_length, extra_length = LOCAL_HEADER.unpack_from(data, at)
    if signature != b"PK\x03\x04":
        return None
    start = at + LOCAL_HEADER.size + name_length + extra_length
    try:
        name = data[at + LOCAL_HEADER.size:at + LOCAL_HEADER.size + name_length].decode(
            "utf-8" if flags & 0x800 else "cp437")
    except UnicodeDecodeError:
        return None
    end = start + info.compress_size
    overlap = getattr(info, "_end_offset", None)         # zipfile 3.12+: entries may not overlap
    if name != info.orig_filename or end > len(data) or (overlap is not None and end > overlap):
        return None
    form = (info.compress_type, info.compress_size, info.file_size, info.CRC)
    last = _LAST_INFLATED.get(info.orig_filename)
    if last is not None and last[0] == form and data.startswith(last[1], start):
        return last[2]                                   # the same compressed bytes as the last file's part
    if info.compress_type == zipfile.ZIP_STORED:
        out = data[start:end]
    else:
        inflater = zlib.decompressobj(-15)
        try:
            out = inflater.decompress(memoryview(data)[start:end], info.file_size + 1)
        except zlib.error:
            return None
        if not inflater.eof or inflater.unused_data or inflater.unconsumed_tail:
            return None
    if len(out) != info.file_size or zlib.crc32(out) != info.CRC:
        return None
    if info.file_size <= SAME_PART_LIMIT:
        if len(_LAST_INFLATED) >= SAME_PART_NAMES:
            del _LAST_INFLATED[next(iter(_LAST_INFLATED))]
        _LAST_INFLATED.pop(info.orig_filename, None)
        _LAST_INFLATED[info.orig_filename] = (form, data[start:end], out)
    return out


SAME_PART_LIMIT = 1 << 18
SAME_PART_NAMES = 32
_LAST_INFLATED: dict[str, tuple[tuple[int, int, int, int], bytes, bytes]] = {}
"""Part name → (method, sizes and CRC, compressed bytes, inflated bytes) of the part last inflated under that name:
files from one template share many parts byte for byte (workbook.xml, the 参数 and _meta sheets), and the same
compressed bytes, compared in full, inflate to the same bytes. At most `SAME_PART_NAMES` parts of up to
`SAME_PART_LIMIT` bytes are held (the oldest dropped first)."""


def _in_memory(data: bytes) -> pack_limits.ReadAt:
    view = memoryview(data)
    return lambda offset, length: bytes(view[offset:offset + length])


def check_pack_limits(package: Package, declared: object, found: int) -> None:
    """After a review pack is read: the limits it was read under were raised for the scorecards it declared (as
    far as its zip held sheets); it is held to those of the scorecards it actually holds — the smaller of its
    `_meta` scorecard_count (read by name) and the scorecards found — F105 / F106 when it is over them."""
    number = isinstance(declared, (int, float)) and not isinstance(declared, bool) and 0 <= declared < 1e9
    holds = min(int(declared) if number else 0, found)
    _hold(package, holds, f"评审包记录有 {_shown_count(declared)} 张评分表，实际有 {found} 张",
          "评审包被改动过，或不是 jieyue review-pack 生成的：请用 jieyue review-pack 重新生成评审包并评分")


def check_return_limits(package: Package) -> None:
    """After a file turned out not to be a review pack: held to a return's limits, whatever its `_meta` said."""
    _hold(package, 0, "文件的 _meta 记有评分表张数，但它不是评审包", f"按填报工作簿的上限判断：{AGAIN}")


def _hold(package: Package, holds: int, said: str, todo: str) -> None:
    limits = package.limits
    if limits.scorecards is None or holds >= limits.scorecards:
        return
    fair = limits.for_pack(holds)
    if package.size > fair.max_bytes:
        raise Rejected("F105", f"{said}，按 {holds} 张评分表计算文件大小上限为 {_size(fair.max_bytes)}，"
                               f"而文件有 {_size(package.size)}：{todo}", size=package.size)
    if len(package.names) > fair.max_entries or package.declared_total > fair.max_total_uncompressed:
        raise _bomb(f"{said}，按 {holds} 张评分表计算最多 {fair.max_entries} 个条目、解压后 "
                    f"{_size(fair.max_total_uncompressed)}，而文件有 {len(package.names)} 个条目、解压后 "
                    f"{_size(package.declared_total)}；{todo}")
    if limits.review_inflate_budget - package.budget > fair.review_inflate_budget:
        raise _bomb(f"{said}，解压的内容超过 {holds} 张评分表的上限 {_size(fair.review_inflate_budget)}；{todo}")


def _shown_count(declared: object) -> str:
    if isinstance(declared, float) and declared.is_integer():
        return str(int(declared))
    return "（空白）" if declared in (None, "") else str(declared)


def _bomb(detail: str) -> Rejected:
    return Rejected("F106", f"压缩包异常（{detail}），疑似压缩炸弹或文件已损坏：{AGAIN}")


def _declared_entries(data: bytes) -> int | None:
    """The entry count of the end-of-central-directory record, before zipfile parses every entry."""
    pos = data.rfind(b"PK\x05\x06", max(0, len(data) - 65557))
    if pos < 0 or pos + 22 > len(data):
        return None
    (count,) = struct.unpack_from("<H", data, pos + 10)
    return None if count == 0xFFFF else count           # zip64: zipfile reads the real count


def check_zip_entries(infos: list[zipfile.ZipInfo], limits: Limits) -> None:
    """F106 / F104 from the central directory: count, declared total size, per-entry ratio, encryption."""
    if len(infos) > limits.max_entries:
        raise _bomb(f"压缩包中有 {len(infos)} 个条目（上限 {limits.max_entries}）")
    total = sum(i.file_size for i in infos)
    if total > limits.max_total_uncompressed:
        raise _bomb(f"解压后共 {_size(total)}（上限 {_size(limits.max_total_uncompressed)}）")
    for i in infos:
        if i.flag_bits & 0x1:
            raise Rejected("F104", f"压缩包中的 {i.filename} 已加密，无法读取：请取消密码后另存为 .xlsx 重新提交")
        if i.file_size > limits.ratio_min_size:
            ratio = i.file_size / i.compress_size if i.compress_size else math.inf
            if ratio > limits.max_ratio:
                raise _bomb(f"{i.filename} 的压缩比为 {ratio:.0f}:1（上限 {limits.max_ratio:.0f}:1）")


def check_entry_names(infos: list[zipfile.ZipInfo]) -> None:
    """F125: two entries of one name — also differing only in case, since part names are case-insensitive
    (ECMA-376 Part 2): zipfile takes the last, Excel may take the first, so what we read might not be what Excel
    shows. No program we know writes such a zip."""
    seen: dict[str, str] = {}
    for i in infos:
        key = i.filename.lower()
        if key in seen:
            twice = i.filename if seen[key] == i.filename else f"{seen[key]} 与 {i.filename}"
            raise Rejected("F125", f"压缩包中有两个同名的条目（{twice}）：Excel 与本程序可能读到不同的内容，"
                                   f"这不是 Excel/WPS 保存的文件；{AGAIN}")
        seen[key] = i.filename


def check_contents(package: Package) -> None:
    """F102: a zip that is not an .xlsx workbook (.ods, .docx, .xlsb, an archive of files…)."""
    names = package.names
    if package.has("xl/workbook.xml") or package.has("[Content_Types].xml") and office_document(package):
        return
    todo = AGAIN
    if "mimetype" in names:
        kind = "OpenDocument 表格（如 WPS/LibreOffice 保存的 .ods）"
    elif package.has("xl/workbook.bin"):
        kind = "Excel 二进制工作簿（.xlsb）"
    elif package.has("word/document.xml"):
        kind = "Word 文档"
    elif package.has("ppt/presentation.xml"):
        kind = "PowerPoint 演示文稿"
    elif names:
        kind, todo = "一个普通压缩包", "请解压后直接提交其中的 .xlsx 工作簿，不要压缩或改名"
    else:
        kind = "一个空的压缩包"
    raise Rejected("F102", f"这不是 xlsx 工作簿，而是{kind}：{todo}")


def office_document(package: Package) -> str | None:
    """The workbook part named by _rels/.rels (when it is not xl/workbook.xml)."""
    if not package.has("_rels/.rels"):
        return None
    root = parse_xml(package.read("_rels/.rels"), "_rels/.rels")
    for rel in root.iter(T_REL):
        if rel.get("Type", "").endswith("/officeDocument"):
            target = resolve_part("", rel.get("Target", ""))
            if package.has(target) and target.lower().endswith(".xml"):
                return target
    return None


def check_macros(package: Package) -> None:
    """F107: a VBA project part, or a macro-enabled content type (an .xlsm renamed .xlsx)."""
    for name in package.names:
        if name.lower().endswith("vbaproject.bin"):
            raise _macros(f"含有 VBA 宏（{name}）")
    if package.has("[Content_Types].xml"):
        types = package.read("[Content_Types].xml")
        if b"macroenabled" in types.lower():
            raise _macros("内容类型为启用宏的工作簿（.xlsm）")


def _macros(detail: str) -> Rejected:
    return Rejected("F107", f"文件{detail}，可能是 .xlsm 改了扩展名：为安全起见不读取含宏的文件，"
                            "请用 Excel 另存为「Excel 工作簿 (*.xlsx)」格式（不含宏）后重新提交")


def resolve_part(base: str, target: str) -> str:
    """A relationship target as a zip part name ("/xl/x.xml" is absolute; others relative to `base`)."""
    if "%" in target:
        target = unquote(target)
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join(base, target))
