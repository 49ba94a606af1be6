"""argparse in Chinese: `ChineseArgumentParser` speaks to the user in Chinese all the way — 「用法：」, 「错误：」,
「缺少必填参数」, 「无效的选项」, 「显示此帮助信息并退出」, the 「位置参数」/「选项」 headings — with argparse's exit codes
(2 for a wrong command line, 0 after help). argparse looks every message up through gettext's `_` in its own
module at the moment it uses it, so the parser swaps in `translate` (a fixed English → Chinese table, `MESSAGES`)
only while one of its own methods runs and puts the original back afterwards: nothing outside the parser changes.
A message argparse adds in a later Python version and the table does not know stays English rather than wrong.
`ChineseHelpFormatter` (the parser's default formatter) writes 「用法：」 by itself, so help formatted outside the
parser is Chinese too. Subcommand parsers made by `add_subparsers` are of the same class.
"""
from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any, Iterator, NoReturn

MESSAGES = {
    "usage: ": "用法：",
    "positional arguments": "位置参数",
    "options": "选项",
    "optional arguments": "选项",                      # Python before 3.10
    "subcommands": "子命令",
    "show this help message and exit": "显示此帮助信息并退出",
    "%(prog)s: error: %(message)s\n": "%(prog)s：错误：%(message)s\n",
    "the following arguments are required: %s": "缺少必填参数：%s",
    "unrecognized arguments: %s": "无法识别的参数：%s",
    "invalid choice: %(value)r (choose from %(choices)s)": "无效的选项「%(value)s」（可选：%(choices)s）",
    "invalid %(type)s value: %(value)r": "「%(value)s」不是有效的%(type)s",
    "argument %(argument_name)s: %(message)s": "参数 %(argument_name)s：%(message)s",
    "expected one argument": "需要一个参数值",
    "expected at most one argument": "最多需要一个参数值",
    "expected at least one argument": "至少需要一个参数值",
    "expected %s argument": "需要 %s 个参数值",
    "expected %s arguments": "需要 %s 个参数值",
    "ambiguous option: %(option)s could match %(matches)s": "有歧义的选项：%(option)s 可以是 %(matches)s",
    "not allowed with argument %s": "不能与参数 %s 同时使用",
    "one of the arguments %s is required": "参数 %s 必须填写其中一个",
    "ignored explicit argument %r": "多余的参数值「%s」",
    "unknown parser %(parser_name)r (choices: %(choices)s)": "未知的子命令「%(parser_name)s」（可选：%(choices)s）",
    "can't open '%(filename)s': %(error)s": "无法打开「%(filename)s」：%(error)s",
}
"""argparse's English message (the gettext msgid) → the Chinese shown instead, with the same %-placeholders."""

TYPE_NAMES = {"int": "整数", "float": "数字", "str": "文本", "Path": "路径", "complex": "复数"}
"""`%(type)s` in 「不是有效的…」: the type function's name in words."""

VERSION_HELP = "显示程序版本号并退出"


class _Template(str):
    """A translated message that also puts its %-arguments into words: type names in Chinese (int → 整数)."""

    def __mod__(self, args: Any) -> str:
        if isinstance(args, dict) and isinstance(args.get("type"), str):
            args = {**args, "type": TYPE_NAMES.get(args["type"], args["type"])}
        return str.__mod__(self, args)


def translate(message: str | None) -> str | None:
    """The Chinese of one argparse message (unknown messages unchanged)."""
    if message is None:
        return None
    chinese = MESSAGES.get(message)
    return message if chinese is None else _Template(chinese)


def ntranslate(singular: str, plural: str, n: int) -> str:
    return translate(singular if n == 1 else plural)


@contextlib.contextmanager
def _chinese() -> Iterator[None]:
    """argparse's gettext functions replaced by `translate` for the duration (re-entrant)."""
    saved = argparse._, argparse.ngettext
    argparse._, argparse.ngettext = translate, ntranslate
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved


class ChineseHelpFormatter(argparse.HelpFormatter):
    """A help formatter whose usage line starts 「用法：」."""

    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, MESSAGES["usage: "] if prefix is None else prefix)

    def format_help(self) -> str:
        """Section headings end with a Chinese colon (「选项：」) when they are Chinese."""
        lines = super().format_help().split("\n")
        return "\n".join(line[:-1] + "：" if line.endswith(":") and not line.startswith(" ") and not line.isascii()
                         else line for line in lines)


class ChineseArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose messages, headings and errors are Chinese; `error` exits 2 as argparse's does."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", ChineseHelpFormatter)
        with _chinese():
            super().__init__(*args, **kwargs)

    def add_argument(self, *args: Any, **kwargs: Any):
        if kwargs.get("action") == "version":
            kwargs.setdefault("help", VERSION_HELP)
        with _chinese():
            return super().add_argument(*args, **kwargs)

    def add_subparsers(self, **kwargs: Any):
        with _chinese():
            return super().add_subparsers(**kwargs)

    def parse_known_args(self, args=None, namespace=None):
        with _chinese():
            return super().parse_known_args(args, namespace)

    def parse_args(self, args=None, namespace=None):
        with _chinese():
            return super().parse_args(args, namespace)

    def format_usage(self) -> str:
        with _chinese():
            return super().format_usage()

    def format_help(self) -> str:
        with _chinese():
            return super().format_help()

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        """An invalid choice names the choices as a Chinese list: 「可选：县市区、地州市、自治区」."""
        if action.choices is not None and value not in action.choices:
            choices = "、".join(map(str, action.choices))
            raise argparse.ArgumentError(action, f"无效的选项「{value}」（可选：{choices}）")

    def error(self, message: str) -> NoReturn:
        """Usage and 「<prog>：错误：<message>」 on stderr, exit code 2."""
        self.print_usage(sys.stderr)
        self.exit(2, MESSAGES["%(prog)s: error: %(message)s\n"] % {"prog": self.prog, "message": message})


__all__ = ["ChineseArgumentParser", "ChineseHelpFormatter", "MESSAGES", "translate"]
