"""Reading one returned workbook safely: pre-flight checks, then the defined names' cells — never openpyxl.

`read_returned(path)` never raises for any file content. It runs a pipeline of small, named checks and stops at
the first that fails, as one finding (F1xx of checks.toml) whose message says what to do:

1. the bytes (read once, bounded): too large (F105), empty (F101), an OLE file — an encrypted OOXML workbook
   (F104) or a legacy .xls / WPS .et (F103) —, not a zip at all (F102, saying what it looks like);
2. the zip's central directory: entry count, declared sizes, compression ratios, zip-level encryption (F106,
   F104), and what the zip holds (F102 for .ods, .docx, .xlsb, Strict Open XML or a plain archive);
3. macros: a `vbaProject.bin` part or a macro-enabled content type (F107);
4. the XML (F108): parts are read through a bounded reader (a part may not inflate past its declared size or the
   run's total budget, whatever its header says) and parsed only by defusedxml with DTDs forbidden, so entity
   expansion and external entities are refused, not expanded;
5. identity (F109 no `template_version` name: not a jieyue workbook; F110 a version this reader does not know).

Then `Extracted` holds every workbook-scoped defined name's cell (value, error, formula, cached result) and the
factors of the 参数 sheet. Whatever goes wrong anywhere else (I/O, a bug, an unforeseen structure) becomes an
F108 finding with the exception text: the run goes on with the next file.

Speed. Only the parts needed are inflated (workbook.xml, its rels, the sheets the names point at, the shared
strings when a needed cell uses them). workbook.xml is parsed whole (and its names remembered by its bytes,
which files from one template share). A worksheet or the shared-string table is *scanned* first: when the part
has no DTD, comment, CDATA or processing instruction, no prefixed element and every cell start tag is
`<c r="…"` (as LibreOffice and openpyxl write them — checked by the tests — and, as far as known, Excel and
WPS), only the needed `<c>…</c>` / `<si>…</si>` elements are cut out (in well-formed XML a `<` in text or an
attribute is always escaped, so the byte search cannot match inside content). A cut-out element in the plain
form (no entity or character reference, no nested markup beyond `<f>`/`<v>` or one `<t>`) is decoded from its
bytes; the others are parsed by defusedxml as one small document under the part's own root tag. Anything else
falls back to parsing the whole part with defusedxml. A DOCTYPE before the root element is refused outright
(F108); any `<!` inside the scanned region sends the part to the whole parse, which refuses a DTD the same way.
Parsing every needed part whole through defusedxml (its pure-Python expat front end) takes about 16 ms per
LibreOffice-saved workbook here; with the scan the whole read takes about 2.5 ms.
"""
from __future__ import annotations

import hashlib
import io
import math
import posixpath
import re
import struct
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import unquote
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as _defused_fromstring

from generator.layout import TEMPLATE_VERSION, sheet_names
from generator.plan import column_letter
from generator.review_layout import REVIEW_TEMPLATE_VERSION
from udfs.intake import Extracted, Finding
from workbook_templates import Spec
from workbook_templates.review_names import META as REVIEW_META, WORKBOOK_KIND

from .model import RETURN, REVIEW

KNOWN_TEMPLATE_VERSIONS = frozenset({TEMPLATE_VERSION})
KNOWN_REVIEW_VERSIONS = frozenset({REVIEW_TEMPLATE_VERSION})

META_NAMES = ("template_version", "assessment_year", "factor_preset", "spec_digest")
UNIT_NAMES = ("unit_name", "unit_code", "unit_level", "unit_region")
PARAMS_SHEET = sheet_names(2000)["params"]        # 参数 (the title does not depend on the year)
PARAM_COLUMNS = {"C": "factor", "D": "extra", "E": "co2"}

OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_SIGNATURE = b"PK\x03\x04"
ENCRYPTION_INFO = "EncryptionInfo".encode("utf-16-le")
SYSTEM_FILES = frozenset({"thumbs.db", "desktop.ini", ".ds_store", "ehthumbs.db"})

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"
DOC_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_M = "{" + MAIN_NS + "}"
T_SHEET, T_SHEETS, T_DEFINED = _M + "sheet", _M + "sheets", _M + "definedName"
T_SHEETDATA, T_ROW, T_C, T_F, T_V, T_IS, T_T, T_R, T_SI = (
    _M + "sheetData", _M + "row", _M + "c", _M + "f", _M + "v", _M + "is", _M + "t", _M + "r", _M + "si")
T_REL = "{" + PKG_REL_NS + "}Relationship"
A_RID = "{" + DOC_REL_NS + "}id"

AGAIN = "请用 Excel 打开下发的工作簿填写，另存为 .xlsx 格式（不含宏）后重新提交"


@dataclass(frozen=True)
class Limits:
    """What one returned file may be. A filled workbook is about 50 KB with about 20 zip entries, inflating to
    about 400 KB; a returned review pack holds one sheet per unit — 931 units: 14 MB, 943 entries, 94 MB inflated.
    The file size, entry count and declared total allow a pack of some 2 000 units; what may actually be
    inflated is a unit's return's budget unless the workbook says it is a review pack."""

    max_bytes: int = 64 * 1024 * 1024                 # the file itself (F105)
    max_entries: int = 5000                           # zip entries (F106)
    max_total_uncompressed: int = 512 * 1024 * 1024   # declared in the central directory (F106)
    inflate_budget: int = 100 * 1024 * 1024           # actually inflated, a unit's return (F106)
    review_inflate_budget: int = 512 * 1024 * 1024    # actually inflated, a review pack (F106)
    max_ratio: float = 200.0                          # per entry, for entries larger than ratio_min_size
    ratio_min_size: int = 1024 * 1024


@dataclass
class ReadResult:
    """One file as read. `status` is "rejected" when a finding of severity 错误 was made (every F101–F110 is);
    `extracted` is None when the file could not be read as a jieyue workbook (pre-flight, XML, F109), and
    filled for an unknown template version (F110) so that a report can still show what the file says."""

    status: str                     # "ok" | "rejected"
    findings: list[Finding]
    extracted: Extracted | None
    meta: dict[str, Any]            # template_version, assessment_year, factor_preset, spec_digest (as found)
    unit: dict[str, Any]            # unit_name, unit_code, unit_level, unit_region (text stripped)
    size: int                       # of the bytes read (a file too large to read: its size on disk)
    sha256: str                     # of the bytes read ("" when the file was too large or unreadable)
    kind: str = RETURN              # RETURN (a unit's fill-in workbook) | REVIEW (a reviewer's review pack)
    scorecards: list[Scorecard] = field(default_factory=list)   # a review pack's, in sheet order


@dataclass
class Scorecard:
    """One scorecard sheet of a review pack: its sheet-local names read as `Extracted` (by name)."""

    sheet: str
    cells: Extracted


@dataclass
class _Content:
    findings: list[Finding]
    extracted: Extracted | None
    meta: dict[str, Any]
    unit: dict[str, Any]
    kind: str = "return"
    scorecards: list[Scorecard] = field(default_factory=list)


class Rejected(Exception):
    """A pre-flight or structural check failed: the file is reported with this finding."""

    def __init__(self, code: str, message: str, name: str = "", cell: str = "", size: int | None = None):
        super().__init__(message)
        self.finding = Finding(code, message, name, cell)
        self.size = size                 # the file's size when it was too large to read


# ---------------------------------------------------------------- skipped files

def skip_reason(path: Path) -> str | None:
    """Why the run counts a file as skipped instead of reading it, or None to read it.

    Only files nobody means to submit are skipped: Excel/WPS lock files, hidden files and system files.
    Anything else — an .xls, a .csv, a PDF in the folder — is read and rejected with a finding."""
    name = Path(path).name
    if name.lower() in SYSTEM_FILES:
        return f"系统文件（{name}），不是填报工作簿，已跳过"
    if name.startswith("~$"):
        return "Excel/WPS 打开文件时生成的临时锁定文件（~$ 开头），不是填报工作簿，已跳过；请关闭 Excel 后再汇总"
    if name.startswith("."):
        return "隐藏文件（名称以 . 开头，如 WPS 的临时文件或 macOS 的附加文件），已跳过"
    return None


# ---------------------------------------------------------------- the entry point

def read_returned(path: Path, spec: Spec | None = None, limits: Limits = Limits()) -> ReadResult:
    """Read one returned file by defined name; never raises (a failure is a finding). `spec` is accepted for
    the run's signature; nothing here depends on it (year and spec mismatches are the checks' F111/F112)."""
    size, sha = 0, ""
    meta: dict[str, Any] = {}
    unit: dict[str, Any] = {}
    extracted: Extracted | None = None
    findings: list[Finding] = []
    kind, scorecards = RETURN, []
    try:
        data, size = _read_bytes(Path(path), limits)
        sha = hashlib.sha256(data).hexdigest()
        content = _read(data, limits)
        findings, extracted, meta, unit = content.findings, content.extracted, content.meta, content.unit
        kind, scorecards = content.kind, content.scorecards
    except Rejected as r:
        findings = [r.finding]
        size = r.size if r.size is not None else size
    except OSError as e:
        findings = [Finding("F100", f"无法读取文件（{_exc_text(e)}）：请确认文件没有被其他程序打开、有读取权限，"
                                    "然后重新汇总")]
    except Exception as e:   # noqa: BLE001 — the file boundary: any failure is this file's finding
        findings = [Finding("F100", f"读取文件时出错（{_exc_text(e)}）：文件可能已损坏；{AGAIN}")]
    status = "rejected" if findings else "ok"
    return ReadResult(status, findings, extracted, meta, unit, size, sha, kind, scorecards)


def _exc_text(e: BaseException) -> str:
    text = f"{type(e).__name__}: {e}"
    return text if len(text) <= 300 else text[:297] + "…"


def _read(data: bytes, limits: Limits) -> _Content:
    for check in (check_empty, check_ole, check_zip_signature):
        check(data)
    package = Package(data, limits)
    check_macros(package)
    book = Workbook.load(package)
    names = book.names
    if "template_version" not in names:
        # Not ours: read what unit information there is (for the report), nothing else.
        found = book.extract([n for n in (*META_NAMES, *UNIT_NAMES) if n in names], params=False)
        return _Content([Finding("F109", "不是 jieyue 生成的填报工作簿（没有模板版本标记 template_version）："
                                         "请使用下发的工作簿填写，不要把数据复制到其他表格中提交")],
                        None, _meta(found), _unit(found))
    if "workbook_kind" in names:
        kind = book.extract(["workbook_kind"], params=False).values.get("workbook_kind")
        if isinstance(kind, str) and kind.strip() == WORKBOOK_KIND:
            return _read_review(book)
    extracted = book.extract(list(names), params=True)
    meta, unit = _meta(extracted), _unit(extracted)
    version = meta.get("template_version")
    if version not in KNOWN_TEMPLATE_VERSIONS:
        return _Content([_unknown_version("工作簿", version, KNOWN_TEMPLATE_VERSIONS,
                                          "请使用本次下发的工作簿重新填写（旧版或改动过的工作簿无法可靠汇总）",
                                          extracted.cells.get("template_version", ""))], extracted, meta, unit)
    return _Content([], extracted, meta, unit)


def _unknown_version(what: str, version: Any, known: frozenset[str], todo: str, cell: str) -> Finding:
    shown = "空白" if version in (None, "") else f"「{version}」"
    return Finding("F110", f"{what}的模板版本为{shown}，本程序只识别 {'、'.join(sorted(known))} 版：{todo}",
                   "template_version", cell)


def _read_review(book: "Workbook") -> _Content:
    """A review pack: its `_meta` (workbook names) and every scorecard — a sheet with a sheet-local
    `rev_unit_code` — read by its sheet-local names. A pack may inflate more than a unit's return (one sheet
    per unit): its budget is raised to the review pack's."""
    limits = book.package.limits
    book.package.budget += limits.review_inflate_budget - limits.inflate_budget
    found = book.extract([n for n, _, _ in REVIEW_META if n in book.names], params=False)
    meta = {n: (v.strip() if isinstance(v, str) else v) for n, v in found.values.items()}
    version = meta.get("template_version")
    if version not in KNOWN_REVIEW_VERSIONS:
        return _Content([_unknown_version("评审包", version, KNOWN_REVIEW_VERSIONS,
                                          "请用 jieyue review-pack 重新生成评审包并评分",
                                          found.cells.get("template_version", ""))], None, meta, {}, REVIEW)
    cards = [Scorecard(title, book.extract_at(local)) for title, local in book.local_names.items()
             if "rev_unit_code" in local]
    return _Content([], None, meta, {}, REVIEW, cards)


def _meta(ex: Extracted) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in META_NAMES:
        if name not in ex.cells:
            continue
        v = ex.values.get(name)
        if isinstance(v, str):
            v = v.strip()
        if name == "template_version" and isinstance(v, float):
            v = str(v)                                  # "1.0" retyped as a number
        if name == "assessment_year":
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            elif isinstance(v, str) and v.isascii() and v.isdigit():
                v = int(v)
        out[name] = v
    return out


def _unit(ex: Extracted) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in UNIT_NAMES:
        if name in ex.cells:
            v = ex.values.get(name)
            out[name] = v.strip() if isinstance(v, str) else v
    return out


# ---------------------------------------------------------------- pre-flight on the bytes

def _read_bytes(path: Path, limits: Limits) -> tuple[bytes, int]:
    """The file's bytes, read once and never more than the limit (F105 without reading a huge file)."""
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise _too_large(size, limits, size)
    with path.open("rb") as f:
        data = f.read(limits.max_bytes + 1)
    if len(data) > limits.max_bytes:                    # grew since stat
        raise _too_large(len(data), limits, size)
    return data, len(data)


def _too_large(size: int, limits: Limits, stat_size: int) -> Rejected:
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
    """The zip, checked against `Limits` from its central directory, with a bounded part reader."""

    def __init__(self, data: bytes, limits: Limits):
        self.limits = limits
        entries = _declared_entries(data)
        if entries is not None and entries > limits.max_entries:
            raise _bomb(f"压缩包中有 {entries} 个条目（上限 {limits.max_entries}）")
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile as e:
            raise Rejected("F102", f"文件不完整或已损坏，不是有效的 xlsx 压缩包（{e}），可能发送或下载时中断："
                                   "请重新保存后再发送") from None
        infos = self.zip.infolist()
        check_zip_entries(infos, limits)
        self.names = {i.filename: i for i in infos}
        self.lower = {i.filename.lower(): i for i in infos}
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
        limit = min(info.file_size, self.budget)
        try:
            with self.zip.open(info) as f:
                out = f.read(limit + 1)
        except Exception as e:   # noqa: BLE001 — bad CRC, zlib/bz2/lzma errors, unsupported methods…
            raise _bomb(f"读取 {name} 时压缩数据异常（{_exc_text(e)}）") from None
        if len(out) > limit:
            raise _bomb(f"{name} 解压后超过 {limit} 字节")
        self.budget -= len(out)
        return out


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


def check_contents(package: Package) -> None:
    """F102: a zip that is not an .xlsx workbook (.ods, .docx, .xlsb, an archive of files…)."""
    names = package.names
    if package.has("xl/workbook.xml") or package.has("[Content_Types].xml") and _office_document(package):
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


def _office_document(package: Package) -> str | None:
    """The workbook part named by _rels/.rels (when it is not xl/workbook.xml)."""
    if not package.has("_rels/.rels"):
        return None
    root = parse_xml(package.read("_rels/.rels"), "_rels/.rels")
    for rel in root.iter(T_REL):
        if rel.get("Type", "").endswith("/officeDocument"):
            target = _resolve("", rel.get("Target", ""))
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


def _resolve(base: str, target: str) -> str:
    """A relationship target as a zip part name ("/xl/x.xml" is absolute; others relative to `base`)."""
    if "%" in target:
        target = unquote(target)
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join(base, target))


# ---------------------------------------------------------------- XML through defusedxml only

def parse_xml(data: bytes, part: str) -> Element:
    """A whole part, parsed by defusedxml with DTDs forbidden (F108 for a DTD, an entity or broken XML)."""
    try:
        return _defused_fromstring(data, forbid_dtd=True)
    except DefusedXmlException as e:
        raise Rejected("F108", f"{part} 含有 DTD 或实体声明（{type(e).__name__}），可能是恶意构造的文件，"
                               f"已拒绝读取：{AGAIN}") from None
    except (ParseError, ValueError, UnicodeError, LookupError) as e:
        raise Rejected("F108", f"{part} 的 XML 已损坏（{_exc_text(e)}）：{AGAIN}") from None


_DECL = re.compile(rb"<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_ROOT = re.compile(rb"<([A-Za-z_][\w.-]*)((?:\s+[^\s=>/]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)\s*(/?)>")
# What a scanned region may not hold: a comment, CDATA, DTD or processing instruction (`<!`, `<?`), a prefixed
# element (`<x:`), or a cell whose start tag is not `<c r="…"` (another attribute first, other quoting).
_UNSCANNABLE = re.compile(rb'<(?:[!?]|c(?! r=")[\s/>]|[\w.-]+:)')


def _scannable(data: bytes, part: str, root: bytes) -> tuple[bytes, int] | None:
    """(the part's root start tag, where it ends) when the part may be scanned by byte search, else None.
    A DOCTYPE (which can only stand before the root element) is refused here (F108), as defusedxml would."""
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    if data.startswith(b"<?xml", start):
        end = data.find(b"?>", start)
        if end < 0:
            return None
        decl = _DECL.match(data, start, end + 2)
        if decl and decl.group(1).lower().replace(b"_", b"-") not in (b"utf-8", b"utf8"):
            return None                                  # another encoding: the parser decodes it
        start = end + 2
    m = _ROOT.search(data, start)
    if m is None:
        return None
    prolog = data[start:m.start()]
    if b"<!" in prolog or b"<?" in prolog:
        if b"<!DOCTYPE" in prolog or b"<!ENTITY" in prolog:
            raise Rejected("F108", f"{part} 含有 DTD 或实体声明，可能是恶意构造的文件，已拒绝读取：{AGAIN}")
        return None
    if m.group(1) != root or m.group(3) or prolog.strip():
        return None                                      # prefixed or unexpected root, or an empty part
    return m.group(0), m.end()


def _plain(data: bytes, lo: int, hi: int) -> bool:
    """Nothing in data[lo:hi] that would make a byte search find what a parser would not (in well-formed
    XML a `<` in text or an attribute is always escaped, so a tag found by bytes is a tag)."""
    return _UNSCANNABLE.search(data, lo, hi) is None and data.find(b"xmlns", lo, hi) < 0


def _fragments_root(root_tag: bytes, fragments: list[bytes], close: bytes) -> list[Element] | None:
    """The cut-out elements, parsed by defusedxml as one document under the part's own root tag (so that
    every namespace the part declares is declared); None when that fails (then the whole part is parsed)."""
    try:
        root = _defused_fromstring(root_tag + b"".join(fragments) + close, forbid_dtd=True)
    except (DefusedXmlException, ParseError, ValueError):
        return None
    items = list(root)
    return items if len(items) == len(fragments) else None


def _cut(data: bytes, start: int, close: bytes, hi: int) -> bytes | None:
    """The element starting at `start`: up to its end tag `close`, or its own "/>"."""
    gt = data.find(b">", start, hi)
    if gt < 0:
        return None
    if data[gt - 1] == 0x2F:                             # "/>": an empty element
        return data[start:gt + 1]
    end = data.find(close, gt, hi)
    return None if end < 0 else data[start:end + len(close)]


# ---------------------------------------------------------------- worksheets and shared strings

_REF = re.compile(r"([A-Z]{1,3})([0-9]{1,7})")
_SELF_CLOSED = re.compile(rb"<sheetData\s*/>")


def sheet_values(data: bytes, part: str, refs: set[str], params: bool = False, scan: bool = True,
                 title: str = "") -> dict[str, "_Cell"]:
    """The cells of a worksheet part at `refs` ("C9") as plain data (`_Cell`), by reference (a cell the part
    does not hold is absent); with `params` also the 参数 rows' A, C, D, E from row 2 on (at least while A is
    present). Scanned when the part allows it, else parsed whole. A scanned cell in the common plain form
    (`_QUICK_CELL`: no entity or character reference, no nested markup beyond `<f>` and `<v>`) is decoded
    from its bytes; any other cut-out cell is parsed by defusedxml as before."""
    if scan:
        cut = _cut_cells(data, part, refs, params)
        if cut is not None:
            root_tag, fragments = cut
            out: dict[str, _Cell] = {}
            rest: dict[str, bytes] = {}
            for ref, fragment in fragments.items():
                quick = _quick_cell(fragment, f"{title}!{ref}")
                if quick is None:
                    rest[ref] = fragment
                else:
                    out[ref] = quick
            if rest:
                items = _fragments_root(root_tag, list(rest.values()), b"</worksheet>")
                if items is None:
                    return {ref: _cell(el, f"{title}!{ref}") for ref, el in
                            _parse_cells(data, part, _wanted(refs, params)).items()}
                out.update((ref, _cell(el, f"{title}!{ref}")) for ref, el in zip(rest, items))
            return out
    return {ref: _cell(el, f"{title}!{ref}") for ref, el in _parse_cells(data, part, _wanted(refs, params)).items()}


def _wanted(refs: set[str], params: bool) -> Callable[[str, int], bool]:
    return lambda col, row: f"{col}{row}" in refs or (params and _param_cell(col, row))


def _cut_cells(data: bytes, part: str, refs: set[str], params: bool) -> tuple[bytes, dict[str, bytes]] | None:
    """(the part's root start tag, ref → the cut-out `<c>…</c>` bytes) when the part may be scanned, else None."""
    head = _scannable(data, part, b"worksheet")
    if head is None:
        return None
    root_tag, pos = head
    hi = data.find(b"</sheetData>", pos)
    if hi < 0:
        lo = data.find(b"<sheetData", pos)
        return (root_tag, {}) if lo >= 0 and _SELF_CLOSED.match(data, lo) and _plain(data, pos, lo) else None
    if not _plain(data, pos, hi):
        return None
    lo = data.find(b"<sheetData", pos, hi)
    if lo < 0:
        return None
    starts: dict[str, int] = {}
    at = lo
    for ref in _document_order(frozenset(refs)):        # in document order: one pass through the part
        s = _find_cell(data, ref, at, lo, hi)
        if s >= 0:
            starts[ref] = at = s
    if params:
        row, at = 2, lo
        while (s := _find_cell(data, f"A{row}", at, lo, hi)) >= 0:
            starts.setdefault(f"A{row}", s)
            at = s
            for col in PARAM_COLUMNS:
                c = _find_cell(data, f"{col}{row}", at, lo, hi)
                if c >= 0:
                    starts.setdefault(f"{col}{row}", c)
            row += 1
    fragments = {ref: _cut(data, s, b"</c>", hi) for ref, s in starts.items()}
    if None in fragments.values():
        return None
    return root_tag, fragments


def _find_cell(data: bytes, ref: str, at: int, lo: int, hi: int) -> int:
    """Where `<c r="ref"` starts: searched from `at` on, then (cells out of order) from `lo`."""
    pattern = b'<c r="' + ref.encode("ascii") + b'"'
    s = data.find(pattern, at, hi)
    return s if s >= 0 or at == lo else data.find(pattern, lo, at + len(pattern))


def _parse_cells(data: bytes, part: str, want: Callable[[str, int], bool]) -> dict[str, Element]:
    """The wanted cells from the whole part (cells and rows may omit `r`: positions are then implied)."""
    root = parse_xml(data, part)
    if root.tag.startswith("{" + STRICT_NS):
        raise _strict()
    sheet_data = root.find(T_SHEETDATA)
    out: dict[str, Element] = {}
    if sheet_data is None:
        return out
    row_no = 0
    for row in sheet_data.iter(T_ROW):
        r = row.get("r")
        row_no = int(r) if r and r.isdigit() else row_no + 1
        col_no = 0
        for c in row.iter(T_C):
            ref = c.get("r")
            m = _REF.fullmatch(ref) if ref else None
            if m:
                col, rr = m.group(1), int(m.group(2))
                col_no = _col_number(col)
            else:
                col_no += 1
                col, rr = column_letter(col_no), row_no
            if want(col, rr):
                out.setdefault(f"{col}{rr}", c)
    return out


@lru_cache(maxsize=64)
def _document_order(refs: frozenset[str]) -> tuple[str, ...]:
    """The refs by row, then column (files from one template ask for the same refs: sorted once)."""
    return tuple(sorted(refs, key=_ref_order))


# A cell as LibreOffice, openpyxl and Excel write it in the common case: `r` first, plain attributes, an optional
# `<f>` (its text may hold the predefined entities; only its presence matters) and an optional `<v>` whose
# text has no markup and no reference at all. Anything else is parsed by defusedxml.
_QUICK_CELL = re.compile(
    rb'<c r="[A-Z]{1,3}[0-9]{1,7}"(?:\s+(?:t="(?P<t>[^"<&]*)"|[A-Za-z]+="[^"<&]*"))*\s*'
    rb'(?:/>|>(?P<f><f(?:\s+[A-Za-z]+="[^"<&]*")*\s*(?:/>|>[^<&]*(?:&(?:amp|lt|gt|quot|apos);[^<&]*)*</f>))?'
    rb'(?:<v>(?P<v>[^<&\r]*)</v>|(?P<ev><v/>))?</c>)\Z')


def _quick_cell(fragment: bytes, where: str) -> "_Cell | None":
    """One plain `<c>` decoded from its bytes, exactly as `_cell` would from the parsed element; None when the
    fragment is not in the plain form (inline strings, references in the value, whitespace between elements)."""
    m = _QUICK_CELL.match(fragment)
    if m is None:
        return None
    t_raw = m.group("t")
    t = (t_raw.decode("ascii", "replace") if t_raw else "") or "n"
    if t == "inlineStr":
        return None
    raw = m.group("v")
    text = raw.decode("utf-8") if raw is not None else None
    c = _Cell(formula=m.group("f") is not None)
    c.cached = c.formula and (raw is not None or m.group("ev") is not None) and (bool(text) or t == "str")
    return _typed(c, t, text, where)


def _ref_order(ref: str) -> tuple[int, int]:
    m = _REF.fullmatch(ref)
    return (int(m.group(2)), _col_number(m.group(1))) if m else (0, 0)


def _col_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def shared_strings(data: bytes, part: str, indices: set[int], scan: bool = True) -> dict[int, str]:
    """The entries `indices` of the shared-string table (rich-text runs concatenated, phonetic runs left out);
    an index beyond the table is absent."""
    if scan:
        found = _scan_strings(data, part, indices)
        if found is not None:
            return found
    root = parse_xml(data, part)
    items = root.findall(T_SI)
    return {i: _text_of(items[i]) for i in indices if 0 <= i < len(items)}


def _scan_strings(data: bytes, part: str, indices: set[int]) -> dict[int, str] | None:
    head = _scannable(data, part, b"sst")
    if head is None:
        return None
    root_tag, pos = head
    end = data.find(b"</sst>", pos)
    if end < 0 or not _plain(data, pos, end):
        return None
    fragments, found = [], []
    at, k = pos, -1                                      # `at`: where entry k starts
    for i in sorted(x for x in indices if x >= 0):
        while k < i:
            at = data.find(b"<si", at + 1 if k >= 0 else at, end)
            if at < 0:
                break
            if data[at + 3] not in b" \t\r\n/>":
                return None                              # some other element: parse the whole part
            k += 1
        if at < 0:
            break                                        # beyond the table: the caller reports it
        fragment = _cut(data, at, b"</si>", end)
        if fragment is None:
            return None
        fragments.append(fragment)
        found.append(i)
    out: dict[int, str] = {}
    rest = []
    for i, fragment in zip(found, fragments):
        m = _QUICK_STRING.match(fragment)
        if m is None:
            rest.append((i, fragment))
        else:
            out[i] = _unescape(m.group(1).decode("utf-8"))
    if rest:
        items = _fragments_root(root_tag, [f for _, f in rest], b"</sst>")
        if items is None:
            return None
        out.update((i, _text_of(el)) for (i, _), el in zip(rest, items))
    return out


# A shared string as one plain run (`<si><t>…</t></si>`), its text without markup or references.
_QUICK_STRING = re.compile(rb'<si><t(?: xml:space="preserve")?>([^<&\r]*)</t></si>\Z')


_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _unescape(text: str) -> str:
    """OOXML's escaping of characters XML cannot hold (`_x000D_` for a carriage return)."""
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x" in text else text


def _text_of(el: Element) -> str:
    """The text of an `<si>` or `<is>`: its `<t>`, or its rich-text runs' `<t>` concatenated."""
    parts = []
    for child in el:
        if child.tag == T_T:
            parts.append(child.text or "")
        elif child.tag == T_R:
            t = child.find(T_T)
            if t is not None:
                parts.append(t.text or "")
    return _unescape("".join(parts))


# ---------------------------------------------------------------- the workbook and its names

_NAME_REF = re.compile(r"^=?\s*(?:'((?:[^']|'')+)'|([^'!\[\]]+))!\$?([A-Za-z]{1,3})\$?([0-9]{1,7})\s*$")
_BOOL = {"1": True, "true": True, "TRUE": True, "0": False, "false": False, "FALSE": False}


@dataclass
class _Cell:
    value: Any = None
    error: str | None = None
    formula: bool = False
    cached: bool = False
    shared: int | None = None        # a shared-string index still to resolve


@dataclass
class Workbook:
    package: Package
    sheet_parts: dict[str, str]                                  # sheet title → part name
    names: dict[str, tuple[str, str]] = field(default_factory=dict)   # name → (sheet title, "C9")
    strings_part: str | None = None
    scan: bool = True
    # sheet title → its sheet-local names → (sheet title, "C9"): a review pack's scorecards (none in a fill-in)
    local_names: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)

    @classmethod
    def load(cls, package: Package, scan: bool = True) -> "Workbook":
        main = "xl/workbook.xml" if package.has("xl/workbook.xml") else _office_document(package)
        if main is None:
            raise Rejected("F102", f"压缩包中没有工作簿（xl/workbook.xml）：{AGAIN}")
        base = posixpath.dirname(main)
        rels_part = posixpath.join(base, "_rels", posixpath.basename(main) + ".rels")
        rels = package.read(rels_part) if package.has(rels_part) else b""
        book = package.read(main)
        structure = _structure_cached if len(book) + len(rels) < STRUCTURE_CACHE_LIMIT else _structure
        sheets, names, strings_part, local = structure(book, main, rels, rels_part)
        if strings_part is None or not package.has(strings_part):
            default = posixpath.join(base, "sharedStrings.xml")
            strings_part = default if package.has(default) else None
        sheet_parts = {title: target for title, target in sheets.items() if package.has(target)}
        return cls(package, sheet_parts, {n: ref for n, ref in names.items() if ref[0] in sheet_parts},
                   strings_part, scan, {t: {n: ref for n, ref in refs.items() if ref[0] in sheet_parts}
                                        for t, refs in local.items() if t in sheet_parts})

    def extract(self, names: Iterable[str], params: bool) -> Extracted:
        """The named cells (and the 参数 factors), each sheet part inflated and scanned once."""
        return self.extract_at({n: self.names[n] for n in names}, params)

    def extract_at(self, where: dict[str, tuple[str, str]], params: bool = False) -> Extracted:
        """The cells at `where` (a key → (sheet title, "C9")) as `Extracted` by key — workbook names, or a
        scorecard's sheet-local names; with `params` also the 参数 factors."""
        wanted: dict[str, set[str]] = {}
        for title, ref in where.values():
            wanted.setdefault(title, set()).add(ref)
        with_params = params and PARAMS_SHEET in self.sheet_parts
        if with_params:
            wanted.setdefault(PARAMS_SHEET, set())
        cells: dict[str, dict[str, _Cell]] = {}
        for title, refs in wanted.items():
            part = self.sheet_parts[title]
            cells[title] = sheet_values(self.package.read(part), part, refs, with_params and title == PARAMS_SHEET,
                                        self.scan, title)
        self._resolve_strings(cells)

        ex = Extracted()
        for n, (title, ref) in where.items():
            ex.cells[n] = f"{title}!{ref}"
            c = cells[title].get(ref) or _Cell()
            if c.error is not None:
                ex.errors[n] = c.error
            else:
                ex.values[n] = c.value
            if c.formula:
                ex.formulas.add(n)
                if c.cached:
                    ex.cached.add(n)
        if with_params:
            ex.params = _params(cells[PARAMS_SHEET])
        return ex

    def _resolve_strings(self, cells: dict[str, dict[str, _Cell]]) -> None:
        pending = [c for sheet in cells.values() for c in sheet.values() if c.shared is not None]
        if not pending:
            return
        if self.strings_part is None:
            raise Rejected("F108", f"工作簿引用了共享字符串，但文件中没有共享字符串表：文件已损坏；{AGAIN}")
        table = shared_strings(self.package.read(self.strings_part), self.strings_part,
                               {c.shared for c in pending}, self.scan)
        for c in pending:
            if c.shared not in table:
                raise Rejected("F108", f"共享字符串编号 {c.shared} 超出范围：文件已损坏；{AGAIN}")
            text = table[c.shared]
            c.value = text if text != "" else None
            c.shared = None


def _structure(book: bytes, part: str, rels: bytes, rels_part: str
               ) -> tuple[dict[str, str], dict[str, tuple[str, str]], str | None,
                          dict[str, dict[str, tuple[str, str]]]]:
    """(sheet title → part, workbook-scoped name → (sheet title, "C9"), shared-strings part, sheet title → its
    sheet-local names → (sheet title, "C9")) from the bytes of workbook.xml and its rels. Files from one template (or one program's resave of it) share these bytes, so
    the result is remembered by them for parts under 1 MB (`_structure_cached`; a Rejected is raised again
    each time, never remembered). The caller must not change the dicts returned."""
    root = parse_xml(book, part)
    if root.tag.startswith("{" + STRICT_NS):
        raise _strict()
    base = posixpath.dirname(part)
    targets: dict[str, str] = {}
    strings_part = None
    if rels:
        for rel in parse_xml(rels, rels_part).iter(T_REL):
            if rel.get("TargetMode") == "External":
                continue
            target = _resolve(base, rel.get("Target", ""))
            targets[rel.get("Id", "")] = target
            if rel.get("Type", "").endswith("/sharedStrings"):
                strings_part = target
    sheets: dict[str, str] = {}
    order: list[str] = []                                # every <sheet> in order: what localSheetId counts
    found = root.find(T_SHEETS)
    for sheet in (found if found is not None else ()):
        if sheet.tag != T_SHEET:
            continue
        order.append(sheet.get("name", ""))
        target = targets.get(sheet.get(A_RID, ""))
        if target:
            sheets.setdefault(sheet.get("name", ""), target)
    names: dict[str, tuple[str, str]] = {}
    local: dict[str, dict[str, tuple[str, str]]] = {}
    for dn in root.iter(T_DEFINED):
        name = dn.get("name", "")
        if not name or name.lower().startswith("_xlnm."):
            continue
        m = _NAME_REF.match(dn.text or "")
        if m is None:
            continue                                     # #REF!, a range, a constant, another workbook
        title = m.group(1).replace("''", "'") if m.group(1) is not None else m.group(2).strip()
        if title not in sheets:
            continue
        where = (title, f"{m.group(3).upper()}{m.group(4)}")
        scope = dn.get("localSheetId")
        if scope is None:
            names.setdefault(name, where)
        elif scope.isdigit() and int(scope) < len(order):
            local.setdefault(order[int(scope)], {}).setdefault(name, where)
    return sheets, names, strings_part, local


STRUCTURE_CACHE_LIMIT = 1 << 20
_structure_cached = lru_cache(maxsize=32)(_structure)


def _param_cell(col: str, row: int) -> bool:
    return row >= 2 and (col == "A" or col in PARAM_COLUMNS)


def _strict() -> Rejected:
    return Rejected("F102", "这是「Strict Open XML 电子表格」格式：请在 Excel 中另存为「Excel 工作簿 (*.xlsx)」"
                            "格式后重新提交")


def _cell(el: Element, where: str) -> _Cell:
    """One `<c>` as plain data: value (or error), whether it holds a formula and a cached result."""
    t = el.get("t") or "n"
    v = el.find(T_V)
    text = v.text if v is not None else None
    c = _Cell(formula=el.find(T_F) is not None)
    c.cached = c.formula and v is not None and (bool(text) or t == "str")
    if t == "inlineStr":
        is_ = el.find(T_IS)
        c.value = (_text_of(is_) or None) if is_ is not None else None
        return c
    return _typed(c, t, text, where)


def _typed(c: _Cell, t: str, text: str | None, where: str) -> _Cell:
    """The value of a cell of type `t` whose `<v>` holds `text` (None: no `<v>`)."""
    if text is None or text == "":
        return c                                         # blank (a formula's "" result is cached as blank)
    if t == "s":
        try:
            c.shared = int(text)
        except ValueError:
            raise Rejected("F108", f"{where} 的共享字符串编号「{text[:20]}」无效：文件已损坏；{AGAIN}",
                           cell=where) from None
    elif t == "str":
        c.value = _unescape(text)
    elif t == "b":
        c.value = _BOOL.get(text.strip(), bool(text.strip()))
    elif t == "e":
        c.error = text.strip()
    elif t == "d":
        c.value = text.strip()                          # ISO 8601, as stored
    else:
        try:
            number = float(text)
        except ValueError:
            raise Rejected("F108", f"{where} 的数值「{text[:20]}」无法识别：文件已损坏；{AGAIN}", cell=where) from None
        if not math.isfinite(number):
            raise Rejected("F108", f"{where} 的数值「{text[:20]}」无效：文件已损坏；{AGAIN}", cell=where)
        c.value = number
    return c


def _params(cells: dict[str, _Cell]) -> dict[str, Any]:
    """"<row key>.factor" / ".extra" / ".co2" → the 参数 sheet's C / D / E value as found (a number when the
    file is intact; text, None or the error code when someone edited it), for rows 2, 3, … while column A
    holds a cell (a row whose A is not text is passed over)."""
    out: dict[str, Any] = {}
    row = 2
    while (key_cell := cells.get(f"A{row}")) is not None:
        key = key_cell.value.strip() if isinstance(key_cell.value, str) else ""
        if key:
            for col, part in PARAM_COLUMNS.items():
                c = cells.get(f"{col}{row}") or _Cell()
                out[f"{key}.{part}"] = c.error if c.error is not None else c.value
        row += 1
    return out
