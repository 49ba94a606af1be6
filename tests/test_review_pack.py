"""The review pack's structure, read back from the generated .xlsx and compared with its plan: sheets and safe
names, protection, unlocked cells == reviewer inputs exactly, validations, defined names == the published
contract (docs/review_names.csv), the formula whitelist, references, cached blank values, which units each level
sees, the spot-check marker, and the CLI.

Every pack is built here from a folder of returns (`tests/reviews.py`): the sample roster plus a unit whose
water decline cannot be computed, one with a name full of characters Excel forbids, and one with an error.
"""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from defusedxml import ElementTree
from openpyxl.formula.tokenizer import Token, Tokenizer
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string, range_boundaries

import udfs
from addin import cli
from addin.review.names import review_names_csv
from generator.fill import fill_workbook
from generator.formulas import ALLOWED_FUNCTIONS
from generator.review_layout import GUIDE, META_SHEET, OVERVIEW, PARAMS, scorecard_title
from generator.wording import fill_year
from udfs.levels import reviewer_of
from udfs.spot_checks import drawn_by, spot_check_groups, spot_check_marks
from workbook_templates.contract import REVIEW_TEMPLATE_VERSION
from workbook_templates.review_names import WORKBOOK_KIND, review_names

from tests.reviews import BAD, CHANGJI, NASTY, PACKS, SEED, SPEC, UNITS, WATER, build_packs, open_pack, write_returns
from tests.workbooks import (INPUT_STYLES, MAIN, all_formulas, formula_cells, functions_not_allowed, is_error,
                             sheet_xml_parts, validations_by_cell)

CJK = re.compile(r"[\u4e00-\u9fff]")
LABELS = [label for label, _, _ in PACKS]
DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return write_returns(tmp_path_factory.mktemp("returns") / "回收的工作簿")


@pytest.fixture(scope="module")
def packs(folder):
    return build_packs(folder)


@pytest.fixture(scope="module")
def books(packs):
    return {label: open_pack(p.data) for label, p in packs.items()}


def cards(pack):
    """The scorecard sheet plans of a pack."""
    return [s for s in pack.plan.sheets if s.title not in (GUIDE, OVERVIEW, PARAMS, META_SHEET)]


def is_input(cell) -> bool:
    return cell.style in INPUT_STYLES and cell.value is None and cell.formula is None


# ---------------------------------------------------------------- which units, which sheets

def test_each_level_sees_the_units_the_spec_gives_it(packs):
    """县市区 reviewers: 县市区级 units; 地州市: 县市区级 and 地州市级 of their region; 自治区: all. The unit with
    an error is in scope for all of them, and in none of the packs."""
    levels = {u.code: u.level for u in UNITS}
    regions = {u.code: u.region for u in UNITS}
    valid = [u.code for u in UNITS if u not in (BAD, WATER)]
    expect = {
        "county": [c for c in valid if levels[c] == "县市区级"],
        "county_changji": [c for c in valid if levels[c] == "县市区级" and regions[c] == CHANGJI],
        "prefecture_changji": [c for c in valid if levels[c] in ("县市区级", "地州市级") and regions[c] == CHANGJI],
        "region": valid,
    }
    for label, pack in packs.items():
        assert sorted(u.code for u in pack.units) == sorted(expect[label]), label
        assert sorted(f.code for f in pack.skipped) == sorted([BAD.code, WATER.code]), label
        assert any(BAD.name in line and "E207" in line for line in pack.skipped_lines(SPEC)), label
        assert any(WATER.name in line and "E211" in line for line in pack.skipped_lines(SPEC)), label


@pytest.mark.parametrize("label", LABELS)
def test_sheets_in_order_with_their_visibility(packs, books, label):
    pack, wb = packs[label], books[label]
    titles = [scorecard_title(i, len(pack.units), u.name) for i, u in enumerate(pack.units, start=1)]
    assert wb.sheetnames == [GUIDE, OVERVIEW, *titles, PARAMS, META_SHEET]
    states = {ws.title: ws.sheet_state for ws in wb.worksheets}
    assert states.pop(PARAMS) == "veryHidden" and states.pop(META_SHEET) == "hidden"
    assert set(states.values()) == {"visible"}
    assert wb.active.title == GUIDE


@pytest.mark.parametrize("label", LABELS)
def test_the_row_of_a_units_choice_is_boxed_like_the_table(books, label):
    # 7.1's 「是否实施…」 row shows what the unit chose: every column of the table has its border there too.
    for ws in books[label].worksheets:
        rows = [c.row for c in ws["J"] if c.value == "单位自评时的选择"]
        for r in rows:
            unboxed = [c.coordinate for c in ws[f"A{r}:K{r}"][0] if not (c.border.left and c.border.left.style)]
            assert not unboxed, (ws.title, unboxed)


def test_scorecard_names_are_safe_unique_and_at_most_31_characters(packs):
    titles = [s.title for s in cards(packs["region"])]
    nasty = next(t for t in titles if "北庭县_测试_" in t)
    for title in titles:
        assert not re.search(r"[\[\]:*?/\\']", title), title
        assert len(title.encode("utf-16-le")) // 2 <= 31, title
        assert title == title.strip() and title
    assert len({t.lower() for t in titles}) == len(titles)
    assert re.match(r"\d{2} 北庭县_测试__单位_名称_含_斜杠_和_引号", nasty), nasty
    assert scorecard_title(7, 120, "x") == "007 x"
    assert scorecard_title(1, 1, "😀" * 40) == "01 " + "😀" * 14        # emoji count twice in Excel's limit
    assert scorecard_title(1, 5, "[]:*?/\\'") == "01 ________"
    assert scorecard_title(2, 5, "   ") == "02 单位"


# ---------------------------------------------------------------- protection and inputs

@pytest.mark.parametrize("label", LABELS)
def test_every_sheet_protected_and_the_structure_locked(packs, books, label):
    for ws in books[label].worksheets:
        assert ws.protection.sheet, ws.title
    xml = zipfile.ZipFile(io.BytesIO(packs[label].data)).read("xl/workbook.xml")
    book = ElementTree.fromstring(xml)
    protection = book.find(f"{{{MAIN}}}workbookProtection")
    assert protection is not None and protection.get("lockStructure") in ("1", "true")
    assert book.find(f"{{{MAIN}}}calcPr").get("fullCalcOnLoad") in ("1", "true")


@pytest.mark.parametrize("label", LABELS)
def test_exactly_the_reviewer_inputs_are_unlocked(packs, books, label):
    wb = books[label]
    planned = {(s.title, ref) for s in packs[label].plan.sheets for ref, c in s.cells.items() if is_input(c)}
    unlocked = {(ws.title, c.coordinate) for ws in wb.worksheets for row in ws.iter_rows() for c in row
                if c.protection.locked is False}
    assert planned == unlocked
    assert all(title not in (GUIDE, OVERVIEW, PARAMS, META_SHEET) for title, _ in planned)
    for title, ref in planned:
        assert wb[title][ref].value is None, f"{title}!{ref}"
    # Per scorecard: 评审人, 日期, one comment per scored indicator, a score per chosen rule, 处数 per deduction.
    scored = [i for i in SPEC.indicators if i.rule.type != "computed_target"]
    given = [i for i in scored if i.rule.type != "deduction"]
    counts = [i for i in scored if i.rule.type in ("deduction", "per_item_with_deduction")]
    for sheet in cards(packs[label]):
        mine = [ref for t, ref in planned if t == sheet.title]
        assert len(mine) == 2 + len(scored) + len(given) + len(counts), sheet.title


@pytest.mark.parametrize("label", LABELS)
def test_every_formula_and_every_unit_figure_locked(packs, books, label):
    wb = books[label]
    assert all(wb[t][ref].protection.locked for t, ref, _ in formula_cells(wb))
    for sheet in packs[label].plan.sheets:
        for ref, cell in sheet.cells.items():
            if cell.value is not None:
                assert wb[sheet.title][ref].protection.locked is not False, f"{sheet.title}!{ref}"


# ---------------------------------------------------------------- validations

@pytest.mark.parametrize("label", ["prefecture_changji", "region"])
def test_scores_offer_the_legal_values_and_counts_are_whole_numbers(packs, books, label):
    level = packs[label].reviewer.key
    names = {n.name: n for n in review_names(SPEC, level)}
    for sheet in cards(packs[label]):
        ws = books[label][sheet.title]
        by_cell = validations_by_cell(ws)
        local = sheet.local_names()
        for ref, cell in sheet.cells.items():
            if is_input(cell) and cell.style in ("input_number", "input_choice"):
                (dv,) = by_cell[ref]
                assert dv.showErrorMessage and dv.errorStyle in (None, "stop") and CJK.search(dv.error), ref
        assert set(by_cell) <= {ref for ref, c in sheet.cells.items() if is_input(c)}
        for ind in SPEC.indicators:
            key = ind.id.replace(".", "_")
            if f"rev_{level}_given_{key}" in names:
                (dv,) = by_cell[local[f"rev_{level}_given_{key}"]]
                assert dv.type == "list" and len(dv.formula1) <= 255
                offered = [float(v) for v in dv.formula1.strip('"').split(",")]
                assert offered == list(udfs.review.given_values(ind, spec=SPEC))
                assert ind.id in dv.error
            if f"rev_{level}_findings_{key}" in names:
                (dv,) = by_cell[local[f"rev_{level}_findings_{key}"]]
                assert (dv.type, dv.operator, dv.formula1) == ("whole", "greaterThanOrEqual", "0")
                assert "整数" in dv.error and ind.id in dv.error
        assert set(udfs.review.given_values(SPEC.indicator("7.1.1"), spec=SPEC)) == (
            set(udfs.legal_values("7.1.1", "是", spec=SPEC)) | set(udfs.legal_values("7.1.1", "否", spec=SPEC)))


# ---------------------------------------------------------------- defined names

def test_published_names_are_the_generated_ones():
    published = (DOCS / "review_names.csv").read_text(encoding="utf-8")
    assert published == review_names_csv(SPEC), (
        "docs/review_names.csv is stale: regenerate it with `python -m addin.review --names > docs/review_names.csv`")


@pytest.mark.parametrize("label", LABELS)
def test_defined_names_are_the_contract_on_every_scorecard(packs, books, label):
    pack, wb = packs[label], books[label]
    level = pack.reviewer.key
    contract = review_names(SPEC, level)
    meta = {n.name for n in contract if n.scope == "workbook"}
    local = {n.name for n in contract if n.scope == "scorecard"}
    assert set(wb.defined_names) == meta
    for name, dn in wb.defined_names.items():
        ((title, ref),) = list(dn.destinations)
        assert title == META_SHEET and re.fullmatch(r"\$[A-Z]+\$\d+", ref), name
    rows = {(r.split(",")[0], r.split(",")[1]): r.split(",")[-1]
            for r in (DOCS / "review_names.csv").read_text(encoding="utf-8").splitlines()[1:]}
    for sheet in cards(pack):
        ws = wb[sheet.title]
        found = {n for n in ws.defined_names if not n.startswith("_xlnm.")}
        assert found == local, sheet.title
        for name in local:
            ((title, ref),) = list(ws.defined_names[name].destinations)
            assert title == sheet.title, name
            assert ref.replace("$", "") == sheet.local_names()[name] == rows[(level, name)], name
    for ws in (wb[GUIDE], wb[OVERVIEW], wb[PARAMS], wb[META_SHEET]):
        assert not [n for n in ws.defined_names if not n.startswith("_xlnm.")], ws.title


@pytest.mark.parametrize("label", LABELS)
def test_each_name_points_at_the_right_kind_of_cell(packs, books, label):
    pack, wb = packs[label], books[label]
    for sheet in cards(pack):
        local = sheet.local_names()
        for n in review_names(SPEC, pack.reviewer.key):
            if n.scope != "scorecard":
                continue
            planned, cell = sheet.cells[local[n.name]], wb[sheet.title][local[n.name]]
            formula = isinstance(cell.value, str) and cell.value.startswith("=")
            if n.kind == "input":
                assert is_input(planned) and cell.protection.locked is False, n.name
            elif n.kind == "derived":
                assert formula and cell.protection.locked, n.name
            else:       # unit identity and unit 1: constants, locked (unit 1 may be empty when not computable)
                assert not formula and cell.protection.locked, n.name


@pytest.mark.parametrize("label", LABELS)
def test_meta_says_what_the_pack_is(packs, books, label):
    pack, wb = packs[label], books[label]

    def value(name):
        ((title, ref),) = list(wb.defined_names[name].destinations)
        return wb[title][ref].value
    assert value("template_version") == REVIEW_TEMPLATE_VERSION != "1.0"
    assert value("workbook_kind") == WORKBOOK_KIND == "review"
    assert value("review_level") == pack.reviewer.key == reviewer_of(dict((l, v) for l, v, _ in PACKS)[label], SPEC).key
    assert value("review_region") == pack.region
    assert value("assessment_year") == SPEC.default_year
    assert value("factor_preset") == SPEC.default_preset
    assert value("spec_digest") == SPEC.digest
    assert value("spot_check_seed") == str(SEED)


def test_scorecards_hold_the_units_own_recomputed_figures(folder, packs, books):
    """rev_unit_code identifies the sheet; self-scores and unit 1 come from the recomputed return."""
    from addin.consolidate.run import consolidate
    run = {f.code: f for f in consolidate(folder, spec=SPEC).units}
    pack, wb = packs["region"], books["region"]
    for sheet, unit in zip(cards(pack), pack.units):
        local = sheet.local_names()
        ws = wb[sheet.title]
        outcome = run[unit.code]
        assert ws[local["rev_unit_code"]].value == unit.code
        assert ws[local["rev_unit_name"]].value == outcome.unit["unit_name"]
        assert ws[local["rev_self_total"]].value == outcome.results["self_total"]
        for ind in SPEC.indicators:
            if ind.rule.type == "computed_target":
                assert ws[local[f"rev_region_{ind.id.replace('.', '_')}"]].value == outcome.results[ind.score_name]
    assert WATER.code not in [u.code for u in pack.units]      # 1.1.4 cannot be scored: an error (E211), left out


# ---------------------------------------------------------------- formulas

@pytest.mark.parametrize("label", LABELS)
def test_formulas_use_only_whitelisted_functions(books, label):
    bad = functions_not_allowed(books[label], ALLOWED_FUNCTIONS)
    assert not bad, bad


@pytest.mark.parametrize("label", LABELS)
def test_file_formulas_are_the_planned_formulas_and_read_only_planned_cells(packs, books, label):
    plan = packs[label].plan
    cells = {(s.title, ref): c for s in plan.sheets for ref, c in s.cells.items()}
    assert {(t, ref): f for t, ref, f in formula_cells(books[label])} == {
        k: c.formula for k, c in cells.items() if c.formula}
    titles = {s.title for s in plan.sheets}
    bad = []
    for where, here, f in all_formulas(books[label]):
        for t in Tokenizer("=" + f).items:
            if not (t.type == Token.OPERAND and t.subtype == Token.RANGE):
                continue
            sheet, _, corners = t.value.rpartition("!")
            sheet = sheet.strip("'") if sheet else here
            if sheet not in titles:
                bad.append(f"{where}: unknown sheet in {t.value}")
                continue
            corners = [c.replace("$", "") for c in corners.split(":")]
            if re.search(r"(?:^|:)\$?[A-Z]+$|(?:^|:)\$?\d+$", t.value):
                bad.append(f"{where}: whole column or row {t.value}")
            if len(corners) == 1:
                planned = cells.get((sheet, corners[0]))
                if planned is None or (planned.value is None and planned.formula is None and not is_input(planned)
                                       and not planned.local_name):
                    bad.append(f"{where}: {t.value} reads an empty cell")
                continue
            min_col, min_row, max_col, max_row = range_boundaries(":".join(corners))
            inside = [c for (s, ref), c in cells.items() if s == sheet
                      and min_col <= column_index_from_string(coordinate_from_string(ref)[0]) <= max_col
                      and min_row <= coordinate_from_string(ref)[1] <= max_row]
            if not inside or any(isinstance(c.value, str) for c in inside):
                bad.append(f"{where}: {t.value} covers labels or nothing")
    assert not bad, bad


def _cached(data: bytes) -> dict[tuple[str, str], tuple[str | None, str | None]]:
    out = {}
    z = zipfile.ZipFile(io.BytesIO(data))
    for title, part in sheet_xml_parts(data).items():
        for c in ElementTree.fromstring(z.read(part)).iter(f"{{{MAIN}}}c"):
            if c.find(f"{{{MAIN}}}f") is not None:
                v = c.find(f"{{{MAIN}}}v")
                out[(title, c.get("r"))] = (c.get("t"), None if v is None else (v.text or ""))
    return out


@pytest.mark.parametrize("label", LABELS)
def test_every_formula_caches_its_blank_state_value_never_an_error(packs, label):
    cells = {(s.title, ref): c for s in packs[label].plan.sheets for ref, c in s.cells.items()}
    cached = _cached(packs[label].data)
    assert set(cached) == {k for k, c in cells.items() if c.formula}
    for key, (t, v) in cached.items():
        blank = cells[key].blank
        assert v is not None and not is_error(v), key
        if isinstance(blank, (int, float)) and not isinstance(blank, bool):
            assert t in (None, "n") and float(v) == blank, (key, t, v, blank)
        else:
            assert (t, v) == ("str", str(blank)), (key, t, v, blank)


def test_blank_totals_say_how_many_items_are_left(packs):
    pack = packs["region"]
    n = len(SPEC.indicators) - sum(i.rule.type == "computed_target" for i in SPEC.indicators)
    for sheet, unit in zip(cards(pack), pack.units):
        local = sheet.local_names()
        missing = n
        assert sheet.cells[local["rev_region_total"]].blank == f"尚有{missing}项未评分"
        assert sheet.cells[local["rev_region_missing_count"]].blank == missing
        assert sheet.cells[local["rev_region_unit_2"]].blank == f"尚有{len(SPEC.units[1].indicators)}项未评分"


# ---------------------------------------------------------------- 总览 and 说明

@pytest.mark.parametrize("label", LABELS)
def test_overview_has_one_row_per_unit_linked_to_its_scorecard(packs, books, label):
    pack, ws = packs[label], books[label][OVERVIEW]
    rows = [r for r in range(5, ws.max_row + 1) if ws.cell(r, 3).value]
    assert len(rows) == len(pack.units)
    marks = spot_check_marks(pack.spot_groups)
    for r, unit, sheet in zip(rows, pack.units, cards(pack)):
        total = sheet.local_names()[f"rev_{pack.reviewer.key}_total"]
        missing = sheet.local_names()[f"rev_{pack.reviewer.key}_missing_count"]
        assert [ws.cell(r, c).value for c in (2, 3, 4, 5)] == [unit.name, unit.code, unit.level, unit.region]
        assert ws.cell(r, 6).value == unit.self_total
        assert ws.cell(r, 7).value == f"='{sheet.title}'!${total[0]}${total[1:]}"
        assert ws.cell(r, 9).value == f"='{sheet.title}'!${missing[0]}${missing[1:]}"
        assert ws.cell(r, 8).value == f"={len(SPEC.indicators)}-'{sheet.title}'!${missing[0]}${missing[1:]}"
        assert (ws.cell(r, 10).value or "") == "、".join(marks.get(unit.code, ()))
        assert ws.cell(r, 11).hyperlink.location == f"'{sheet.title}'!A1"


def test_spot_check_marker_is_the_spot_check_sample(folder, packs):
    from addin.consolidate.run import consolidate
    run = consolidate(folder, spec=SPEC)
    groups = spot_check_groups([{"code": f.code, "level": f.unit["unit_level"], "region": f.unit["unit_region"]}
                                for f in run.units], SEED, SPEC)
    marks = spot_check_marks(groups)
    assert any(marks.values())
    for pack in packs.values():
        for unit in pack.units:
            assert unit.spot == marks.get(unit.code, ())


def test_guide_explains_scope_scoring_and_the_spot_check(books):
    text = "\n".join(str(c.value) for row in books["prefecture_changji"][GUIDE].iter_rows() for c in row if c.value)
    for r in udfs.levels.reviewers(SPEC):
        assert r.label in text and "、".join(r.covers) in text
    assert CHANGJI in text and str(SEED) in text and "管理部门可用同一个种子重做这份名单" in text  # redo, no command
    assert "jieyue" not in text                                    # a reviewer runs no command
    assert "30%" in text and "10%" in text and "向上取整" in text
    assert "发现问题处数" in text and "尚有N项未评分" in text
    assert BAD.name in text and "E207" in text
    # In a reviewer's words: no file, module or function names (the contract is in docs/review_names.csv).
    for word in ("random.Random", "sorted", "udfs.", ".toml", ".csv", "workbook_kind", "_meta", "--region"):
        assert word not in text, word


def test_evidence_placeholders_are_filled(books):
    texts = [c.value for ws in books["region"].worksheets for row in ws.iter_rows() for c in row
             if isinstance(c.value, str)]
    assert not [t for t in texts if re.search(r"\{(assessment_year|cur_year|prev_year)\}", t)]
    year = SPEC.default_year
    assert fill_year("{prev_year}和{cur_year}年度，{assessment_year}年", year) == f"{year - 2}和{year - 1}年度，{year}年"
    assert any(f"{year}年以来相应的会议纪要" in t for t in texts)


# ---------------------------------------------------------------- filling, and the command

def test_filling_a_pack_sets_only_reviewer_cells(packs):
    pack = packs["county_changji"]
    code = pack.units[0].code
    data = fill_workbook(pack.data, scorecards={code: {"rev_reviewer": "张三", "rev_county_given_2_1_1": 3,
                                                       "rev_county_findings_3_2_2": 1}})
    sheet = cards(pack)[0]
    ws = open_pack(data)[sheet.title]
    local = sheet.local_names()
    assert ws[local["rev_reviewer"]].value == "张三" and ws[local["rev_county_findings_3_2_2"]].value == 1
    with pytest.raises(ValueError, match="不是评审人填写的单元格"):
        fill_workbook(pack.data, scorecards={code: {"rev_county_total": 90}})
    with pytest.raises(ValueError, match="没有统一社会信用代码"):
        fill_workbook(pack.data, scorecards={"000": {"rev_reviewer": "x"}})


def test_cli_review_pack_writes_the_pack_and_names_the_skipped_unit(folder, tmp_path, capsys):
    out = tmp_path / "评审包.xlsx"
    assert cli.main(["review-pack", str(folder), "--level", "地州市", "--region", CHANGJI, "--seed", str(SEED),
                     "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert str(out) in printed and BAD.name in printed and "E207" in printed and "跳过 2 个" in printed
    assert WATER.name in printed and "E211" in printed
    wb = open_pack(out.read_bytes())
    assert wb.sheetnames[0] == GUIDE and not list(tmp_path.glob("~$jieyue-*"))
    assert any(NASTY.code == wb[t]["E2"].value for t in wb.sheetnames if t not in (GUIDE, OVERVIEW, PARAMS, META_SHEET))


def test_sampled_only_pack_holds_the_own_level_and_the_reviewers_own_spot_check_list(folder, packs):
    """The 自治区 scores 自治区本级 units and re-checks its region-wide sample: with --sampled-only its pack has a
    scorecard for exactly those, not one for every unit of the region."""
    from addin.review.pack import build_review_pack
    full = packs["region"]
    drawn = {code for g in full.spot_groups if drawn_by(g) == full.reviewer.key for code in g.sample}
    assert drawn and drawn_by(next(g for g in full.spot_groups if g.region is not None)) == "prefecture"
    pack = build_review_pack(folder, "自治区", seed=SEED, spec=SPEC, sampled_only=True)
    expected = [u.code for u in full.units if u.level == full.reviewer.level or u.code in drawn]
    assert [u.code for u in pack.units] == expected and len(expected) < len(full.units)
    with pytest.raises(ValueError, match="--seed"):
        build_review_pack(folder, "自治区", spec=SPEC, sampled_only=True)


@pytest.mark.parametrize("args, message", [
    (["--level", "省"], "县市区、地州市、自治区"),
    (["--level", "县市区", "--region", "无此地区"], "回收目录中的地区"),
    (["--level", "自治区", "--sampled-only"], "--seed"),
])
def test_cli_review_pack_refuses_in_chinese(folder, tmp_path, capsys, args, message):
    assert cli.main(["review-pack", str(folder), *args, "-o", str(tmp_path / "x.xlsx")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.xlsx").exists()


def test_cli_review_pack_wants_an_xlsx(folder, tmp_path, capsys):
    assert cli.main(["review-pack", str(folder), "--level", "自治区", "-o", str(tmp_path / "x.xls")]) == 2
    assert ".xlsx" in capsys.readouterr().err
