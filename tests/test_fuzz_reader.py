"""Issue 10, proof: property-based fuzzing of the reader — hypothesis mutates a real return at the byte, zip and XML
level. Whatever it makes: `read_returned` never raises, every finding has a code of checks.toml, what an accepted
file yields is safe text (`xmlscan.UNSAFE`, the cell limit); and a consolidation of mutated files completes, its
accounting holds and its summary is well formed (`scan_summary`). Example counts are modest (CI has two cores).

Hypothesis's own per-example deadline is off: the tests assert behaviour, never time.
"""
from __future__ import annotations

import io
import json
import re
import warnings
import zipfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from addin.consolidate import consolidate, write_outputs
from addin.consolidate.read import read_returned
from addin.consolidate.read.xmlscan import CANONICAL_NUMBER, UNSAFE, _number
from addin.consolidate.read.rejected import Rejected

from tests.hostile import CELL_LIMIT, SPEC, base_return, code, scan_summary, with_code, zip_parts

FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
                derandomize=True)
BASE = base_return()
PARTS = zip_parts(BASE)

# What a hostile writer puts into XML: the markup, escapes and characters the reader must not be fooled by.
HOSTILE = ["<", ">", "&", "&amp;", "&#1;", "&#xD800;", "_xD800_", "_xFFFE_", "_x0000_", "_x005F_", "\ufffe", "\x01",
           "<!--", "-->", "<![CDATA[", "]]>", "<!DOCTYPE x [<!ENTITY e 'e'>]>", "&e;", '<c r="C9"><v>1</v></c>',
           '<c r="A1"/>', "<v>", "</v>", "<f>1</f>", "<is><t>x</t></is>", 't="s"', 't="str"', 't="b"', 't="e"',
           ' r="C9"', ' r="c9"', "5_9", "５", "١", "1e999", "NaN", "-0", " ", "\t", "万", "x" * 40, "1" * 200,
           '<definedName name="unit_name">单位信息!$B$9</definedName>', "</sheetData>", "<sheetData/>", "\udcb5"]


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "fuzzed.xlsx"
    path.write_bytes(data)
    return path


def _assert_read_well(path: Path) -> None:
    result = read_returned(path)                                   # never raises
    assert result.status in ("ok", "rejected")
    assert all(f.code in SPEC.checks for f in result.findings), result.findings
    assert (result.status == "rejected") == bool(result.findings)
    if result.extracted is None:
        return
    texts = [v for v in (*result.extracted.values.values(), *result.extracted.params.values(),
                         *result.unit.values(), *result.meta.values()) if isinstance(v, str)]
    for text in texts:
        assert not UNSAFE.search(text) and len(text.encode("utf-16-le")) // 2 <= CELL_LIMIT


# ---------------------------------------------------------------- bytes

@settings(FUZZ, max_examples=60)
@given(st.lists(st.tuples(st.integers(0, len(BASE) - 1), st.integers(0, 255)), min_size=1, max_size=12),
       st.one_of(st.none(), st.integers(1, len(BASE))))
def test_byte_mutations_never_raise(tmp_path, flips, cut):
    data = bytearray(BASE)
    for at, value in flips:
        data[at] = value
    if cut is not None:
        data = data[:cut]
    _assert_read_well(_write(tmp_path, bytes(data)))


# ---------------------------------------------------------------- the zip

ZIP_OPS = st.sampled_from(["drop", "duplicate", "rename_case", "stored", "junk", "swap", "empty"])


@settings(FUZZ, max_examples=60)
@given(st.lists(st.tuples(ZIP_OPS, st.sampled_from(sorted(PARTS))), min_size=1, max_size=4), st.randoms())
def test_zip_mutations_never_raise(tmp_path, ops, rnd):
    entries = list(PARTS.items())
    compress = {name: zipfile.ZIP_DEFLATED for name, _ in entries}
    for op, name in ops:
        names = [n for n, _ in entries]
        i = names.index(name) if name in names else rnd.randrange(len(entries))
        if op == "drop" and len(entries) > 1:
            entries.pop(i)
        elif op == "duplicate":
            entries.append(entries[i])
        elif op == "rename_case":
            entries[i] = (entries[i][0].upper(), entries[i][1])
        elif op == "stored":
            compress[entries[i][0]] = zipfile.ZIP_STORED
        elif op == "junk":
            entries.append((f"xl/junk{rnd.randrange(9)}.xml", bytes(rnd.randrange(256) for _ in range(64))))
        elif op == "swap":
            j = rnd.randrange(len(entries))
            entries[i], entries[j] = (entries[i][0], entries[j][1]), (entries[j][0], entries[i][1])
        elif op == "empty":
            entries[i] = (entries[i][0], b"")
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                              # duplicate names: meant
        with zipfile.ZipFile(buffer, "w") as z:
            for name, content in entries:
                z.writestr(name, content, compress.get(name, zipfile.ZIP_DEFLATED))
    _assert_read_well(_write(tmp_path, buffer.getvalue()))


# ---------------------------------------------------------------- the XML

XML_PARTS = sorted(n for n in PARTS if n.endswith(".xml") and n.startswith(("xl/worksheets/", "xl/workbook")))
_TAG_OR_VALUE = re.compile(rb"<v>[^<]*</v>|<t>[^<]*</t>| r=\"[A-Z]+[0-9]+\"| t=\"[a-zA-Z]+\"|<c |</c>|<row |>")


@settings(FUZZ, max_examples=100)
@given(st.sampled_from(XML_PARTS), st.lists(st.tuples(st.integers(0, 10 ** 6), st.sampled_from(HOSTILE),
                                                       st.booleans()), min_size=1, max_size=6))
def test_xml_mutations_never_raise(tmp_path, part, edits):
    """Hostile text put at the places the reader looks (a value, a text, a reference, a type, a tag boundary):
    inserted there, or replacing what was there."""
    xml = PARTS[part]
    spots = [m.span() for m in _TAG_OR_VALUE.finditer(xml)]
    for at, piece, replace in edits:
        start, end = spots[at % len(spots)]
        raw = piece.encode("utf-8", "surrogatepass")
        xml = xml[:start] + raw + xml[end:] if replace else xml[:end] + raw + xml[end:]
        spots = [m.span() for m in _TAG_OR_VALUE.finditer(xml)] or [(0, 0)]
    parts = dict(PARTS)
    parts[part] = xml
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in parts.items():
            z.writestr(name, content)
    _assert_read_well(_write(tmp_path, buffer.getvalue()))


@settings(FUZZ, max_examples=300)
@given(st.text(alphabet=st.sampled_from("0123456789+-.eE_ ５١xXnaNinfty\t"), min_size=1, max_size=12))
def test_a_number_is_read_exactly_when_it_is_canonical(text):
    """`_number` (the fast check) accepts exactly the canonical grammar, finite values only."""
    try:
        value = _number(text, "A1")
    except Rejected:
        accepted = False
    else:
        accepted = True
        assert value == float(text)
    finite = bool(CANONICAL_NUMBER.fullmatch(text)) and float(text) not in (float("inf"), float("-inf"))
    assert accepted == finite, text


# ---------------------------------------------------------------- a run of mutated files

@settings(FUZZ, max_examples=8)
@given(st.lists(st.tuples(st.sampled_from(XML_PARTS), st.integers(0, 10 ** 6), st.sampled_from(HOSTILE)),
                min_size=1, max_size=3))
def test_a_run_over_mutated_files_completes_and_writes_a_clean_summary(tmp_path_factory, mutations):
    folder = tmp_path_factory.mktemp("fuzz") / "回收目录"
    folder.mkdir()
    for n, (part, at, piece) in enumerate(mutations):
        parts = zip_parts(with_code(BASE, code(600 + n)))
        xml = parts[part]
        spots = [m.span() for m in _TAG_OR_VALUE.finditer(xml)]
        start, end = spots[at % len(spots)]
        parts[part] = xml[:end] + piece.encode("utf-8", "surrogatepass") + xml[end:]
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
            for name, content in parts.items():
                z.writestr(name, content)
        (folder / f"变异{n}.xlsx").write_bytes(buffer.getvalue())
    (folder / "正常.xlsx").write_bytes(with_code(BASE, code(699)))
    run = consolidate(folder, spec=SPEC, workers=1)
    acc = run.accounting
    assert acc["seen"] == acc["consolidated"] + acc["rejected"] + acc["skipped"] == len(mutations) + 1
    out = folder.parent
    write_outputs(run, out / "汇总.xlsx", out / "报告.json", SPEC)
    scan_summary(out / "汇总.xlsx")
    json.loads((out / "报告.json").read_text("utf-8"))
