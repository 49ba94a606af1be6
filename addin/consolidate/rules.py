"""Stage 4 of a run: the rules across files, applied afresh on every run (never kept in the ledger).

- `apply_choices`: the run's assessment year (`--year`, else the most common year of the returns) and the
  preset filter (`--preset`: only files of that preset are accepted); a file of another year is F111, of
  another preset F113; a run that recomputes files with several presets says so (D503).
- `check_identity`: with a roster, a return's name, level and region against the roster entry of its code (D504).
- `resolve_duplicates`: two files for one 统一社会信用代码 — one is used, by `DUPLICATE_RULE`, both listed; when
  they disagree on the unit's identity or signature, none is trusted (D505, `CONFLICT_RULE`).
- `match_roster`: units without a matching return, and returns from units not on the roster (D502).
"""
from __future__ import annotations

from collections import Counter

from udfs.identity import FIELD_LABEL, IDENTITY_FIELDS, clean_text, describe_differences, identity_differences, identity_key
from udfs.intake import Finding
from udfs.numbers import as_number
from workbook_templates import Spec

from .model import CONSOLIDATED, REJECTED, RETURN, REVIEW, ConsolidationRun, DuplicateGroup, FileOutcome, RosterEntry
from .signatures import signature_state, state_label

DUPLICATE_RULE = ("同一统一社会信用代码有多个文件时：优先采用没有错误的文件；都没有错误（或都有错误）时，"
                  "采用修改时间最新的文件；修改时间相同时按文件路径排序取最后一个。其余文件列出但不参与汇总。")


def run_year(files: list[FileOutcome], year: int | None, spec: Spec) -> tuple[int, str]:
    """(the run's assessment year, where it came from): `year` as given (option), else the most common year
    of the consolidated returns (the latest among equally common ones: returns), else the spec's latest year
    (spec: nothing was returned)."""
    if year is not None:
        return spec.year(year).year, "option"
    found = Counter(f.meta["assessment_year"] for f in files
                    if f.kind == RETURN and f.status == CONSOLIDATED and f.meta.get("assessment_year") in spec.years)
    if found:
        return max(found, key=lambda y: (found[y], y)), "returns"
    return spec.default_year, "spec"


def apply_choices(run: ConsolidationRun) -> None:
    """F111 for files of another year than the run's, F113 for returns of another preset than `run.preset`
    (when given); `run.presets_used` and D503 when the accepted returns use more than one preset."""
    for f in run.files:
        if f.status != CONSOLIDATED:
            continue
        found = as_number(f.meta.get("assessment_year"))     # a pack's year may come back as text or a float
        if found != run.year:
            what = "评审包" if f.kind == REVIEW else "工作簿"
            todo = ("请用本次回收的工作簿重新生成评审包并评分" if f.kind == REVIEW
                    else f"请使用 {run.year} 年复验下发的工作簿重新填报")
            shown = "未记录年度" if found is None else f"{found:g} 年复验的"
            _reject(f, Finding("F111", f"{what}是{shown}，本次汇总 {run.year} 年：{todo}", "assessment_year"))
        elif f.kind == RETURN and run.preset is not None and f.meta.get("factor_preset") != run.preset:
            _reject(f, Finding("F113", f"工作簿的系数预设为「{f.meta.get('factor_preset')}」，本次汇总只接受「{run.preset}」"
                                       "（--preset）：请确认该单位应使用哪套系数，必要时用本次下发的工作簿重新填报",
                               "factor_preset"))
    used: dict[str, list[str]] = {}
    for f in run.files:
        if f.kind == RETURN and f.status == CONSOLIDATED and not _rejected_by_choice(f):
            used.setdefault(str(f.meta.get("factor_preset")), []).append(f.path)
    run.presets_used = used
    if len(used) > 1:
        tally = "、".join(f"{p} {len(paths)} 个" for p, paths in sorted(used.items()))
        usual = max(used, key=lambda p: (len(used[p]), p))
        for f in run.files:
            preset = f.meta.get("factor_preset")
            if f.kind == RETURN and f.status == CONSOLIDATED and preset != usual and not _rejected_by_choice(f):
                f.findings.append(Finding(
                    "D503", f"本文件按其生成时的系数预设「{preset}」重算；本次汇总的工作簿分别用了 {tally}，"
                            "各自按自己的系数重算：如应统一，请用同一预设重新下发", "factor_preset"))


def _reject(f: FileOutcome, finding: Finding) -> None:
    """A run-level error: a return stays listed (consolidated, not ranked); a review pack is not used."""
    f.findings.append(finding)
    f.blocking = True
    if f.kind == REVIEW:
        f.status = REJECTED


def _rejected_by_choice(f: FileOutcome) -> bool:
    return any(x.code in ("F111", "F113") for x in f.findings)


def resolve_duplicates(run: ConsolidationRun, mtimes: dict[str, int], spec: Spec) -> None:
    """One used file per unit code, by `DUPLICATE_RULE`; each file of the group gets a D501 naming the others.

    When the files disagree on who the unit is — name, level, region (`udfs.identity.identity_key`) or signature
    (`signatures.signature_state`) — one of them is not a resubmission but another unit's file under this code
    (or an edited one): no rule can tell which, so every file of the group gets a D505 (错误) and the unit is not
    ranked until a person removes the wrong file. The file the rule would choose is still shown in 汇总."""
    by_code: dict[str, list[FileOutcome]] = {}
    for f in run.files:
        if f.status == CONSOLIDATED and f.kind == RETURN and f.code:
            by_code.setdefault(f.code, []).append(f)
    for code in sorted(by_code):
        group = by_code[code]
        if len(group) < 2:
            continue
        chosen = max(group, key=lambda f: (not f.blocking, mtimes.get(f.path, 0), f.path))
        paths = sorted(f.path for f in group)
        conflict = _identity_conflict(sorted(group, key=lambda f: f.path), run, spec)
        for f in group:
            f.used = f is chosen
            others = "、".join(p for p in paths if p != f.path)
            if conflict:
                shown = "；汇总中暂列本文件" if f.used else ""
                f.findings.append(Finding(
                    "D505", f"同一统一社会信用代码还交了：{others}；这些文件的单位信息不一致（{conflict}），其中可能有冒用该代码"
                            f"或被改动的文件，不按修改时间自动采用：请人工核实哪个是该单位交回的文件，把其他文件移出回收目录后"
                            f"重新汇总；在此之前该单位不参与排名{shown}", name="unit_code"))
                f.blocking = True
                continue
            verdict = "采用本文件" if f.used else f"采用「{chosen.path}」，本文件不参与汇总"
            f.findings.append(Finding("D501", f"同一单位还交了：{others}；{verdict}（规则：优先无错误，再取最新）",
                                      name="unit_code"))
        run.duplicates.append(DuplicateGroup(unit_code=code, files=paths, chosen=chosen.path,
                                             rule=CONFLICT_RULE if conflict else DUPLICATE_RULE, conflict=conflict))


CONFLICT_RULE = ("同一统一社会信用代码的文件单位信息（名称、层级、地区或签名）不一致时：不自动采用，每个文件报 D505（错误），"
                 "该单位不参与排名，由人工确认哪个文件是该单位的并移走其他文件；汇总中暂列按上一条规则选出的文件。")


def _identity_conflict(group: list[FileOutcome], run: ConsolidationRun, spec: Spec) -> str:
    """How the files of one code disagree on the unit ("" when they agree): each differing field with every
    file's value."""
    keys = {f.path: identity_key(f.unit, spec) for f in group}
    states = {f.path: signature_state(run, f) for f in group}
    parts = []
    for i, field in enumerate(IDENTITY_FIELDS):
        if len({k[i] for k in keys.values()}) > 1:
            parts.append(FIELD_LABEL[field] + "：" + "，".join(
                f"{f.path} 为「{clean_text(f.unit.get(field)) or '空白'}」" for f in group))
    if len(set(states.values())) > 1:
        parts.append("签名：" + "，".join(f"{f.path} {state_label(run, states[f.path])}" for f in group))
    return "；".join(parts)


def check_identity(run: ConsolidationRun, roster: list[RosterEntry], spec: Spec) -> None:
    """D504 (错误) on every consolidated return whose name, level or region differ from the roster entry of its
    统一社会信用代码, naming both values; `run.roster_mismatch` lists them by code. Before duplicates are
    resolved, so that a return that matches its roster entry wins over one that does not."""
    entries = {r.code: r for r in roster}
    for f in run.files:
        entry = entries.get(f.code)
        if f.status != CONSOLIDATED or f.kind != RETURN or entry is None:
            continue
        expected = {"unit_name": entry.name, "unit_level": entry.level, "unit_region": entry.region}
        differences = identity_differences(f.unit, expected, spec)
        if not differences:
            continue
        f.findings.append(Finding(
            "D504", f"单位信息与名单不符：{describe_differences(differences, '文件', '名单')}（名单中统一社会信用代码 {entry.code} "
                    f"是「{entry.name}」）。这些单元格由名单生成时锁定，不应改动：请核实这个文件是否确为该单位交回（可能冒用了"
                    "该单位的代码）；若是名单在下发后改过，请与单位核实后按名单重新生成。确认之前该文件不参与排名，"
                    "该单位仍列在「未报送」中", name="unit_code"))
        f.blocking = True
        run.roster_mismatch.setdefault(entry.code, []).append(f.path)


def match_roster(run: ConsolidationRun, roster: list[RosterEntry]) -> None:
    """Roster units without a return (`not_returned`) and returns of units not on it (D502, `outside_roster`).

    A unit whose code came back only in files that do not match its roster entry (D504, `check_identity`) has
    not been shown to have returned: it stays in `not_returned`, and `run.roster_mismatch` names those files."""
    listed = {r.code for r in roster}
    mismatched = {p for paths in run.roster_mismatch.values() for p in paths}
    returned = {f.code for f in run.files
                if f.status == CONSOLIDATED and f.kind == RETURN and f.code and f.path not in mismatched}
    run.not_returned = [r for r in roster if r.code not in returned]
    for f in run.units:
        if f.code not in listed:
            f.findings.append(Finding("D502", "本单位不在名单中：请核对统一社会信用代码，或确认是否应纳入本次复验",
                                      name="unit_code"))
            run.outside_roster.append(f)
