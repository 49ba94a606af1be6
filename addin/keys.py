"""The administrator's signing key, as a file: created once (`jieyue key init`), read by `jieyue generate`,
`jieyue review-pack` and `jieyue consolidate` (`--key`). The HMAC itself is `udfs.signature`; this module only
does the file's I/O and decides which file a command uses.

Why a file of its own: the key must never travel with a workbook (anyone holding it can sign a forged one), so
it lives beside the roster, readable by its owner only (0600), and is passed to each command.

Which key a command uses (`find_key`), in order — and the command says which, or that it has none:
1. `--key 路径`: that file (it must exist and be a key file);
2. otherwise `jieyue.key` in the folder of the roster (`--roster`), when there is one;
3. otherwise none: generated workbooks and packs are not signed, and a consolidation says that it did not
   check signatures.

The file is text: comment lines (#) saying what it is, and one line of 64 hex digits (32 random bytes).

Apart from it, each machine has a secret of its own for the consolidation's ledger (`ledger_secret`): made on
first use in the user's jieyue folder (`~/.jieyue`, or the folder `JIEYUE_HOME` names), never passed around. The
ledger seals each row it stores with it, so a re-run on this machine takes its own rows as written instead of
checking every one again; a row someone else wrote (another machine, an edited ledger) is checked as before.
"""
from __future__ import annotations

import contextlib
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from udfs.signature import KEY_BYTES, key_id
from workbook_templates import InputError

from .consolidate.read.preflight import read_regular

DEFAULT_KEY_NAME = "jieyue.key"
"""The key file's default name: `jieyue key init` writes it, the commands look for it beside the roster."""

HEADER = ("# jieyue 签名密钥（HMAC-SHA256）：只由管理员保管。不要放入工作簿或回收目录，不要发给填报单位或评审部门。\n"
          "# 生成工作簿、评审包和汇总时用 --key 指定（或放在名单旁，命名为 jieyue.key）。\n"
          "# 丢失后无法核验已生成的文件；泄露后任何人都能伪造签名：请重新生成密钥，再重新生成工作簿和评审包。\n")


@dataclass(frozen=True)
class KeyChoice:
    """The key a command uses (None: no key) and where it came from, with what the command should say."""

    key: bytes | None
    path: Path | None = None
    source: str = ""                  # "option" (--key) | "roster" (beside the roster) | "" (none)
    warnings: tuple[str, ...] = field(default=())
    searched: Path | None = None      # where the key was looked for beside the roster (none found there)

    @property
    def key_id(self) -> str:
        return key_id(self.key) if self.key is not None else ""

    def describe(self) -> str:
        """One line: which key file (and its fingerprint), or that there is none."""
        if self.key is None:
            beside = f"，名单旁也没有 {self.searched}" if self.searched else ""
            return (f"未使用签名密钥（没有 --key{beside}）：不签名、不核验签名。"
                    "如需签名，请先运行 jieyue key init 创建密钥，生成、评审包和汇总时用 --key 指定")
        where = "（名单旁）" if self.source == "roster" else ""
        return f"签名密钥：{self.path}{where}，指纹 {self.key_id}"


LEDGER_SECRET_NAME = "ledger.secret"
LEDGER_SECRET_HEADER = ("# jieyue 本机台账密钥：汇总台账用它标记本机写入的记录，不要复制或发给他人。\n"
                        "# 删除后下次汇总会自动重新生成（台账中的记录将重新核验一次）。\n")


def jieyue_home() -> Path:
    """The user's jieyue folder: `JIEYUE_HOME` when set, else `~/.jieyue`."""
    return Path(os.environ.get("JIEYUE_HOME") or Path.home() / ".jieyue")


def ledger_secret() -> bytes | None:
    """This machine's ledger secret (see the module's docstring), made on first use (0600); None when it can be
    neither read nor made (no home folder, no permission, a file that is not one): the ledger then checks every
    row, as it does without a secret. Never an error: the secret only saves time."""
    path = jieyue_home() / LEDGER_SECRET_NAME
    try:
        return _read_secret(path)
    except FileNotFoundError:
        pass
    except Exception:   # noqa: BLE001 — unreadable, not a secret, not a regular file: no secret, never the run's end
        return None
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(LEDGER_SECRET_HEADER + secrets.token_bytes(KEY_BYTES).hex() + "\n")
        os.replace(tmp, path)                            # whole or not at all; two runs at once: the last one's
        return _read_secret(path)
    except Exception:   # noqa: BLE001 — as above
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        return None


def _read_secret(path: Path) -> bytes:
    text = read_regular(path, 4096).decode("utf-8")    # ~250 bytes; a FIFO or a folder there is refused, not waited on
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if len(lines) != 1:
        raise ValueError("not a ledger secret")
    secret = bytes.fromhex(lines[0])
    if len(secret) != KEY_BYTES:
        raise ValueError("not a ledger secret")
    return secret


def init_key(path: str | Path, force: bool = False) -> Path:
    """Create a new key file at `path` with permissions 0600; an existing file is replaced only with `force`
    (replacing a key makes every file signed with the old one fail verification)."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"「{path}」是文件夹：请给出密钥文件的路径，如 {path / DEFAULT_KEY_NAME}")
    if not path.parent.is_dir():
        raise InputError(f"文件夹「{path.parent}」不存在：请先创建它，或换一个路径")
    if path.exists() and not force:
        raise InputError(f"密钥文件「{path}」已存在，未覆盖：用旧密钥签名的工作簿和评审包只能用旧密钥核验。"
                         "确需换用新密钥，请加 --force（之后须重新生成工作簿和评审包）")
    text = HEADER + secrets.token_bytes(KEY_BYTES).hex() + "\n"
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)                              # whatever the umask
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def load_key(path: str | Path) -> tuple[bytes, tuple[str, ...]]:
    """(the key in the file at `path`, warnings): an InputError when the file is missing or not a key file; a
    warning when others may read it (POSIX permissions wider than 0600)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"找不到签名密钥文件「{path}」：请检查 --key 的路径，或用 jieyue key init 创建") from None
    except IsADirectoryError:
        raise InputError(f"「{path}」是文件夹，不是签名密钥文件：请给出 jieyue key init 创建的文件") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = ""
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if len(lines) != 1 or len(lines[0]) != 2 * KEY_BYTES or not all(c in "0123456789abcdefABCDEF" for c in lines[0]):
        raise InputError(f"「{path}」不是 jieyue 签名密钥文件（应有一行 {2 * KEY_BYTES} 位十六进制数字）："
                         "请给出 jieyue key init 创建的文件，不要手工修改它")
    warnings: list[str] = []
    if os.name == "posix":
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            warnings.append(f"签名密钥文件「{path}」的权限为 {mode:04o}，其他用户也能读取：请运行 chmod 600 \"{path}\"")
    return bytes.fromhex(lines[0]), tuple(warnings)


def find_key(explicit: str | Path | None, roster: str | Path | None = None) -> KeyChoice:
    """The key a command uses, by the order in the module's docstring."""
    if explicit:
        key, warnings = load_key(explicit)
        return KeyChoice(key, Path(explicit), "option", warnings)
    if roster:
        beside = Path(roster).parent / DEFAULT_KEY_NAME
        if beside.is_file():
            key, warnings = load_key(beside)
            return KeyChoice(key, beside, "roster", warnings)
        return KeyChoice(None, searched=beside)
    return KeyChoice(None)


__all__ = ["DEFAULT_KEY_NAME", "KeyChoice", "init_key", "load_key", "find_key", "jieyue_home", "ledger_secret"]
