"""Review packs in a real spreadsheet engine: LibreOffice recalculates packs filled with seeded random states.

Packs for three reviewing levels are built from the folder of returns in `tests/reviews.py`. Each pack is filled
several times, each scorecard with its own state, exactly as a reviewer would type it (text stays text, a
negative or fractional 处数 stays a number): blank, full marks, edge cases (illegal scores, text, negative,
fractional and huge 处数, unit 7's two paths) and seeded random states. All files are recalculated in one
headless LibreOffice call and read back. Then:

* no cell on any sheet holds an error value;
* every derived name on every scorecard (item scores, unit subtotals, total, missing count) and every 提示
  equals `udfs.review` on the same inputs, and 总览 shows the same totals and progress;
* the blank pack recalculates to the cached values the generator wrote.
"""
from __future__ import annotations

import random
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from addin.review.pack import build_review_pack
from generator.fill import fill_workbook
from generator.review_layout import C_NOTE, C_SCORE, OVERVIEW
from udfs.review import DEDUCTING, entries_by_id, given_values, item_status, review_values, score_card
from workbook_templates.review_names import findings_name, given_name, score_name

from tests.libreoffice import recalculate
from tests.reviews import CHANGJI, SEED, SPEC, write_returns
from tests.workbooks import is_error, plain, read_values

pytestmark = pytest.mark.libreoffice

LEVELS = [("county", "县市区", CHANGJI), ("prefecture", "地州市", CHANGJI), ("region", "自治区", None)]
RANDOM_VARIANTS = 5
BAD_SCORES = [2.7, "3", -1, 0.25, 1.004, 99, "满分", " "]
BAD_FINDINGS = [-1, 1.5, "2处", 1e300, 0.5, "", "一处"]


def full_marks(level: str) -> dict[str, Any]:
    out: dict[str, Any] = {"rev_reviewer": "张三", "rev_date": "2023-08-20"}
    for ind in SPEC.indicators:
        if given_values(ind, spec=SPEC):
            out[given_name(level, ind.id)] = max(given_values(ind, spec=SPEC))
        if ind.rule.type in DEDUCTING:
            out[findings_name(level, ind.id)] = 0
    return out


def edge_state(level: str, k: int) -> dict[str, Any]:
    """Full marks with every kind of bad entry somewhere (which ones depends on the sheet's index `k`)."""
    out = full_marks(level)
    scored = [i for i in SPEC.indicators if given_values(i, spec=SPEC)]
    counted = [i for i in SPEC.indicators if i.rule.type in DEDUCTING]
    for j, ind in enumerate(scored):
        if (j + k) % 5 == 0:
            out[given_name(level, ind.id)] = BAD_SCORES[(j + k) % len(BAD_SCORES)]
    for j, ind in enumerate(counted):
        out[findings_name(level, ind.id)] = BAD_FINDINGS[(j + k) % len(BAD_FINDINGS)] if (j + k) % 2 else j + k
    seven = SPEC.indicator("7.1.1")
    out[given_name(level, seven.id)] = given_values(seven, spec=SPEC)[(k * 3) % len(given_values(seven, spec=SPEC))]
    return {name: value for name, value in out.items() if value != ""}


def random_state(rng: random.Random, level: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if rng.random() < 0.7:
        out["rev_reviewer"] = rng.choice(["张三", "李四", "王五"])
    for ind in SPEC.indicators:
        values = given_values(ind, spec=SPEC)
        if values:
            roll = rng.random()
            if roll < 0.8:
                out[given_name(level, ind.id)] = rng.choice(values)
            elif roll < 0.9:
                out[given_name(level, ind.id)] = rng.choice(BAD_SCORES)
        if ind.rule.type in DEDUCTING:
            roll = rng.random()
            if roll < 0.75:
                out[findings_name(level, ind.id)] = rng.choice([0, 0, 1, 2, 3, 5, 8, 12])
            elif roll < 0.9:
                out[findings_name(level, ind.id)] = rng.choice([b for b in BAD_FINDINGS if b != ""])
    return out


def fill_pack(data: bytes, entries: dict[str, dict[str, Any]]) -> bytes:
    """A pack filled as its reviewer types it (module level, so that worker processes can run it)."""
    return fill_workbook(data, scorecards=entries)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    """[(file label, pack, {unit code: inputs})], and label → {(sheet, cell): value} after LibreOffice."""
    folder = write_returns(tmp_path_factory.mktemp("returns") / "回收的工作簿")
    rng = random.Random(SEED)
    cases = []
    for level_key, level, region in LEVELS:
        pack = build_review_pack(folder, level, region=region, seed=SEED, spec=SPEC)
        assert pack.reviewer.key == level_key
        codes = [u.code for u in pack.units]
        variants = {"blank": {c: {} for c in codes},
                    "full": {c: full_marks(level_key) for c in codes},
                    "edge": {c: edge_state(level_key, k) for k, c in enumerate(codes)}}
        for v in range(RANDOM_VARIANTS):
            variants[f"random{v}"] = {c: random_state(rng, level_key) for c in codes}
        cases += [(f"{level_key}_{name}", pack, entries) for name, entries in variants.items()]
    src = tmp_path_factory.mktemp("filled")
    with ProcessPoolExecutor(max_workers=2) as pool:
        filled = list(pool.map(fill_pack, [p.data for _, p, _ in cases], [e for _, _, e in cases]))
    files = []
    for (label, _, _), data in zip(cases, filled):
        path = src / f"{label}.xlsx"
        path.write_bytes(data)
        files.append(path)
    outputs = recalculate(files, tmp_path_factory.mktemp("recalculated"))
    with ProcessPoolExecutor(max_workers=2) as pool:
        values = list(pool.map(read_values, outputs))
    return cases, {label: v for (label, _, _), v in zip(cases, values)}


def case_labels():
    return [f"{lk}_{v}" for lk, _, _ in LEVELS for v in ["blank", "full", "edge"] +
            [f"random{k}" for k in range(RANDOM_VARIANTS)]]


def same(got: Any, want: Any) -> bool:
    got = plain(got)
    if want is None or want == "":
        return got is None
    if isinstance(want, str):
        return got == want
    return isinstance(got, (int, float)) and not isinstance(got, bool) and float(got) == float(want)


def expected_cards(pack, entries):
    """Scorecard plan, its unit and the udfs.review card for each unit of the pack."""
    level = pack.reviewer.key
    cards = [s for s in pack.plan.sheets if "rev_unit_code" in s.local_names()]
    for sheet, unit in zip(cards, pack.units):
        given, findings = entries_by_id(level, entries[unit.code], SPEC)
        yield sheet, unit, given, findings, score_card(given, findings, unit.recomputed, spec=SPEC)


def test_states_cover_blank_zero_negative_text_and_fractions(scenario):
    cases, _ = scenario
    values = [v for _, _, entries in cases for e in entries.values() for v in e.values()]
    assert {0, -1, 1.5, 1e300, "2处", "3", 2.7} <= set(values)
    assert len(cases) == len(case_labels()) and sum(len(e) for _, _, e in cases) >= 100


@pytest.mark.parametrize("label", case_labels())
def test_no_cell_holds_an_error_value(scenario, label):
    _, values = scenario
    errors = [f"{s}!{ref} = {v}" for (s, ref), v in values[label].items() if is_error(v)]
    assert not errors, errors


@pytest.mark.parametrize("label", case_labels())
def test_scorecards_equal_udfs_review(scenario, label):
    cases, values = scenario
    (_, pack, entries), = [c for c in cases if c[0] == label]
    cells = values[label]
    wrong = []
    for sheet, unit, given, findings, card in expected_cards(pack, entries):
        local = sheet.local_names()
        for name, want in review_values(pack.reviewer.key, card).items():
            got = cells.get((sheet.title, local[name]))
            if not same(got, want):
                wrong.append(f"{sheet.title} {name}: LibreOffice {got!r}, udfs {want!r}")
        for ind in SPEC.indicators:
            row = local[score_name(pack.reviewer.key, ind.id)][len(C_SCORE):]
            if ind.rule.type == "computed_target":
                continue            # a locked constant with the decline details, not a formula
            want = item_status(ind, given[ind.id], findings[ind.id], unit.recomputed.get(ind.id), spec=SPEC)
            got = cells.get((sheet.title, f"{C_NOTE}{row}"))
            if not same(got, want):
                wrong.append(f"{sheet.title} {ind.id} 提示: LibreOffice {got!r}, udfs {want!r}")
    assert not wrong, "\n".join(wrong[:40])


@pytest.mark.parametrize("label", case_labels())
def test_overview_shows_the_scorecards_totals_and_progress(scenario, label):
    cases, values = scenario
    (_, pack, entries), = [c for c in cases if c[0] == label]
    cells = values[label]
    n = len(SPEC.indicators)
    done = 0
    for r, (_, unit, _, _, card) in enumerate(expected_cards(pack, entries), start=5):
        assert cells[(OVERVIEW, f"C{r}")] == unit.code
        assert same(cells.get((OVERVIEW, f"G{r}")), card.total), (unit.code, cells.get((OVERVIEW, f"G{r}")))
        assert same(cells.get((OVERVIEW, f"H{r}")), n - card.missing)
        assert same(cells.get((OVERVIEW, f"I{r}")), card.missing)
        done += isinstance(card.total, float)
    assert same(cells.get((OVERVIEW, "C3")), done)


def test_full_marks_total_100_and_the_edge_states_really_differ(scenario):
    cases, values = scenario
    for label, pack, entries in cases:
        if not label.endswith(("_full", "_edge")):
            continue
        for sheet, unit, _, _, card in expected_cards(pack, entries):
            got = values[label][(sheet.title, sheet.local_names()[f"rev_{pack.reviewer.key}_total"])]
            if label.endswith("_full") and all(v is not None for v in unit.recomputed.values()):
                expected = sum(i.points for i in SPEC.indicators if i.rule.type != "computed_target") + \
                    sum(unit.recomputed.values())
                assert got == expected == card.total, (label, unit.code)
            if label.endswith("_edge"):
                assert isinstance(got, str) and got.startswith("尚有"), (label, unit.code, got)


@pytest.mark.parametrize("level_key", [lk for lk, _, _ in LEVELS])
def test_blank_pack_recalculates_to_the_cached_values(scenario, level_key):
    cases, values = scenario
    (_, pack, _), = [c for c in cases if c[0] == f"{level_key}_blank"]
    cells = values[f"{level_key}_blank"]
    wrong = [f"{s.title}!{ref}: cached {c.blank!r}, LibreOffice {cells.get((s.title, ref))!r}"
             for s in pack.plan.sheets for ref, c in s.cells.items()
             if c.formula and not same(cells.get((s.title, ref)), c.blank)]
    assert not wrong, wrong[:20]
