"""统一社会信用代码 (GB 32100-2015) validation, by python-stdnum's `stdnum.cn.uscc`.

python-stdnum is imported when a code is first checked, not with `udfs`: the package pulls in ssl, socket and pydoc
(for its online lookups), ~15 ms that every start of the consolidation paid in a process that checks no code.
"""
from __future__ import annotations

import unicodedata
from typing import Any


def normalize_unit_code(code: Any) -> str | None:
    """The code in its canonical form (18 upper-case characters), or None if it is not a valid code.

    Full-width characters, spaces, hyphens and lower case are normalised: they are unambiguous typing
    variants of the same code.
    """
    from stdnum.cn import uscc
    return None if check_unit_code(code) else uscc.compact(unicodedata.normalize("NFKC", str(code)))


def check_unit_code(code: Any) -> str | None:
    """None if valid; otherwise a Chinese message naming the problem and what to do."""
    from stdnum.cn import uscc
    from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength
    if code is None or not str(code).strip():
        return "统一社会信用代码未填写：请填写18位代码"
    text = unicodedata.normalize("NFKC", str(code))
    try:
        uscc.validate(text)
    except InvalidLength:
        n = len(uscc.compact(text))
        return f"统一社会信用代码「{code}」为 {n} 位：应为18位，请核对后重新填写"
    except InvalidFormat:
        return f"统一社会信用代码「{code}」含有不允许的字符：只能是数字和大写字母（不含 I、O、Z、S、V）"
    except InvalidChecksum:
        return f"统一社会信用代码「{code}」校验位不正确：请对照营业执照或事业单位法人证书核对"
    return None
