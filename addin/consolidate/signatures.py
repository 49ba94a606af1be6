"""Stage 4 of a run (with `rules`): the generator's keyed signatures checked, afresh on every run — the key may
differ from one run to the next, so what the ledger keeps is the signature as read (`_meta` `signature`), never
a verdict.

With the key, every consolidated return and review pack is checked (`udfs.signature`): a return whose
signature is missing (S701) or does not match what the file says of its unit, version, preset and year (S702)
is listed but not ranked (nor put in a review pack); a pack whose signature is missing (S703) or does not match
its level, region, year, version, scorecards and part (S704) is not used. Without a key nothing is checked, and the
run says so once (`run.signatures.checked` is False; 说明 and the JSON report show it).
"""
from __future__ import annotations

from typing import Any

from udfs.intake import Finding
from udfs.signature import WORKBOOK_FIELDS, canonical_text, key_id, pack_message, verify, workbook_message
from workbook_templates.contract import SIGNATURE_NAME

from .model import CONSOLIDATED, REJECTED, RETURN, ConsolidationRun, FileOutcome, SignatureCheck

VALID, FAILED, MISSING = "valid", "failed", "missing"
STATUS_LABEL = {VALID: "签名有效", FAILED: "签名不符", MISSING: "无签名"}


def verify_signatures(run: ConsolidationRun, key: bytes | None) -> None:
    """`run.signatures`, and S701–S704 on the files whose signature is missing or wrong (with a key)."""
    if key is None:
        run.signatures = SignatureCheck(checked=False)
        return
    run.signatures = SignatureCheck(checked=True, key_id=key_id(key))
    for f in run.files:
        if f.status != CONSOLIDATED:
            continue
        given = f.meta.get(SIGNATURE_NAME)
        message = _workbook(f) if f.kind == RETURN else _pack(f)
        status = MISSING if canonical_text(given) == "" else VALID if verify(key, message, given) else FAILED
        run.signatures.status[f.path] = status
        if status != VALID:
            _flag(f, status, run.signatures.key_id)


def _workbook(f: FileOutcome) -> bytes:
    said = {**f.unit, **f.meta, "unit_code": f.code}          # a name the file lacks signs as blank
    return workbook_message({name: said.get(name) for name in WORKBOOK_FIELDS})


def _pack(f: FileOutcome) -> bytes:
    meta = f.meta
    return pack_message(template_version=meta.get("template_version"), assessment_year=meta.get("assessment_year"),
                        review_level=meta.get("review_level"), review_region=meta.get("review_region"),
                        scorecards=[(card["values"].get("rev_unit_code"), card["sheet"]) for card in f.scorecards],
                        pack_id=meta.get("pack_id"), pack_part=meta.get("pack_part"), pack_parts=meta.get("pack_parts"))


def _flag(f: FileOutcome, status: str, fingerprint: str) -> None:
    """The finding for a missing or wrong signature: a return stays listed but is not ranked; a pack is not used."""
    who = f"「{f.unit.get('unit_name') or '（未填单位名称）'}」（{f.code or '无代码'}）"
    if f.kind == RETURN and status == MISSING:
        finding = Finding("S701", f"工作簿没有签名：它不是管理员用本次的密钥（指纹 {fingerprint}）按名单生成的——可能是空白模板、"
                                  f"未签名时生成的旧文件，或他人制作的文件。请核实这个文件是否确为{who}交回；确认之前该单位不参与排名",
                          SIGNATURE_NAME)
    elif f.kind == RETURN:
        finding = Finding("S702", f"工作簿的签名与文件中的单位信息不符：单位名称、统一社会信用代码、单位层级、所属地区、模板版本、"
                                  f"系数预设或复验年度在生成后被改动过，或文件是用另一个密钥生成的（本次密钥指纹 {fingerprint}）。"
                                  f"请核实这个文件是否确为{who}的原始工作簿；确认之前该单位不参与排名", SIGNATURE_NAME)
    elif status == MISSING:
        finding = Finding("S703", f"评审包没有签名：它不是管理员用本次的密钥（指纹 {fingerprint}）生成的，评审包不采用。"
                                  "请核实来源；确需采用时，请用 jieyue review-pack --key 重新生成评审包，由评审部门重新评分后交回",
                          SIGNATURE_NAME)
    else:
        finding = Finding("S704", "评审包的签名不符：评审部门层级、评审地区、复验年度、模板版本、评分表（单位代码、工作表名，"
                                  "含增加、删除或复制的评分表）或分册信息（评审包编号、第几部分、共几部分）在生成后被改动过，或是用另一个密钥生成的"
                                  f"（本次密钥指纹 {fingerprint}），评审包不采用。请核实来源，必要时重新生成评审包并评分",
                          SIGNATURE_NAME)
    f.findings.append(finding)
    f.blocking = True
    if f.kind != RETURN:
        f.status = REJECTED


def signature_state(run: ConsolidationRun, f: FileOutcome) -> Any:
    """What two returns for one code are compared by (besides name, level, region): with a key, the status of
    each file's signature; without one, the signature as written (two genuine files of one unit, year, preset
    and version carry the same; a file whose unit cells were edited keeps the signature of the unit it was made
    for, so it differs) — "" when there is none."""
    if run.signatures.checked:
        return run.signatures.status.get(f.path, MISSING)
    return canonical_text(f.meta.get(SIGNATURE_NAME)).lower()


def state_label(run: ConsolidationRun, state: Any) -> str:
    """A signature state (`signature_state`) as a reader sees it."""
    if run.signatures.checked:
        return STATUS_LABEL.get(state, str(state))
    return f"签名 {state[:12]}…" if state else "无签名"


def summary(run: ConsolidationRun) -> dict[str, Any]:
    """The run-level account of the signatures, for 说明 and the JSON report: whether they were checked, the
    key's fingerprint, the counts, and one sentence."""
    s = run.signatures
    if not s.checked:
        return {"checked": False, "key_id": None, "counts": None,
                "note": "未提供签名密钥（--key），本次没有核验工作簿和评审包的签名：单位信息或评审包层级在生成后被改动过的文件"
                        "无法识别（同一单位的重复报送仍比较签名）。请用生成工作簿时的密钥重新汇总：jieyue consolidate … --key 密钥文件"}
    counts = {k: sum(1 for v in s.status.values() if v == k) for k in (VALID, FAILED, MISSING)}
    return {"checked": True, "key_id": s.key_id, "counts": counts,
            "note": f"已用密钥（指纹 {s.key_id}）核验 {len(s.status)} 个工作簿和评审包的签名：有效 {counts[VALID]} 个，"
                    f"签名不符 {counts[FAILED]} 个（S702、S704），无签名 {counts[MISSING]} 个（S701、S703）"}


__all__ = ["verify_signatures", "signature_state", "state_label", "summary", "VALID", "FAILED", "MISSING",
           "STATUS_LABEL"]
