"""Stage 4 of a run: the rules across files, applied afresh on every run (never kept in the ledger).

- `apply_choices`: the run's assessment year (`--year`, else the most common year of the returns) and the
  preset filter (`--preset`: only files of that preset are accepted); a file of another year is F111, of
  another preset F113; a run that recomputes files with several presets says so (D503).
- `resolve_duplicates`: two files for one 统一社会信用代码 — one is used, by `DUPLICATE_RULE`, both listed.
- `match_roster`: units without a return, and returns from units not on the roster (D502).
"""
from __future__ import annotations

from collections import Counter

from udfs.intake import Finding
from workbook_templates import Spec

from .model import CONSOLIDATED, REJECTED, RETURN, REVIEW, ConsolidationRun, DuplicateGroup, FileOutcome, RosterEntry

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


def apply_choices(run: ConsolidationRun, spec: Spec) -> None:
    """F111 for files of another year than the run's, F113 for returns of another preset than `run.preset`
    (when given); `run.presets_used` and D503 when the accepted returns use more than one preset."""
    for f in run.files:
        if f.status != CONSOLIDATED:
            continue
        found = f.meta.get("assessment_year")
        if found != run.year:
            what = "评审包" if f.kind == REVIEW else "工作簿"
            todo = ("请用本次回收的工作簿重新生成评审包并评分" if f.kind == REVIEW
                    else f"请使用 {run.year} 年复验下发的工作簿重新填报")
            _reject(f, Finding("F111", f"{what}是 {found} 年复验的，本次汇总 {run.year} 年：{todo}", "assessment_year"),
                    spec)
        elif f.kind == RETURN and run.preset is not None and f.meta.get("factor_preset") != run.preset:
            _reject(f, Finding("F113", f"工作簿的系数预设为「{f.meta.get('factor_preset')}」，本次汇总只接受「{run.preset}」"
                                       "（--preset）：请确认该单位应使用哪套系数，必要时用本次下发的工作簿重新填报",
                               "factor_preset"), spec)
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


def _reject(f: FileOutcome, finding: Finding, spec: Spec) -> None:
    """A run-level error: a return stays listed (consolidated, not ranked); a review pack is not used."""
    f.findings.append(finding)
    f.blocking = True
    if f.kind == REVIEW:
        f.status = REJECTED


def _rejected_by_choice(f: FileOutcome) -> bool:
    return any(x.code in ("F111", "F113") for x in f.findings)


def resolve_duplicates(run: ConsolidationRun, mtimes: dict[str, int]) -> None:
    """One used file per unit code, by `DUPLICATE_RULE`; each file of the group gets a D501 naming the others."""
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
        for f in group:
            f.used = f is chosen
            others = "、".join(p for p in paths if p != f.path)
            verdict = "采用本文件" if f.used else f"采用「{chosen.path}」，本文件不参与汇总"
            f.findings.append(Finding("D501", f"同一单位还交了：{others}；{verdict}（规则：优先无错误，再取最新）",
                                      name="unit_code"))
        run.duplicates.append(DuplicateGroup(unit_code=code, files=paths, chosen=chosen.path, rule=DUPLICATE_RULE))


def match_roster(run: ConsolidationRun, roster: list[RosterEntry]) -> None:
    """Roster units without a return (`not_returned`) and returns of units not on it (D502, `outside_roster`)."""
    listed = {r.code for r in roster}
    returned = {f.code for f in run.units}
    run.not_returned = [r for r in roster if r.code not in returned]
    for f in run.units:
        if f.code not in listed:
            f.findings.append(Finding("D502", "本单位不在名单中：请核对统一社会信用代码，或确认是否应纳入本次复验",
                                      name="unit_code"))
            run.outside_roster.append(f)
