"""argparse in Chinese (`addin.cli_text`): a tiny parser built with `ChineseArgumentParser` — an option, a required
option, an int, a choice and a subcommand — shows usage, help, headings and every kind of command-line error in
Chinese, with no English 「usage:」/「error:」 left, and exits 2 on a wrong command line (0 after help)."""
from __future__ import annotations

import argparse

import pytest

from addin.cli_text import ChineseArgumentParser, ChineseHelpFormatter

ENGLISH = ("usage:", "error:", "the following arguments", "invalid", "show this help", "unrecognized",
           "positional arguments", "options:", "optional arguments", "argument ", "expected")


def parser() -> ChineseArgumentParser:
    p = ChineseArgumentParser(prog="jieyue", description="节约型机关复验工具")
    p.add_argument("--version", action="version", version="jieyue 1.0")
    sub = p.add_subparsers(dest="command", required=True)
    pack = sub.add_parser("review-pack", help="生成评审包")
    pack.add_argument("folder", help="回收目录")
    pack.add_argument("--level", choices=["县市区", "地州市", "自治区"], required=True, help="评审层级")
    pack.add_argument("--seed", type=int, help="抽查种子")
    pack.add_argument("-o", "--output", required=True, help="评审包")
    return p


def run(capsys, argv: list[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        parser().parse_args(argv)
    out, err = capsys.readouterr()
    return exit_.value.code, out, err


def assert_chinese(text: str) -> None:
    left = [w for w in ENGLISH if w in text]
    assert not left, f"English argparse words left {left}:\n{text}"


def test_a_missing_required_argument(capsys):
    code, out, err = run(capsys, ["review-pack", "回收", "--level", "县市区"])
    assert code == 2 and out == ""
    assert err.startswith("用法：jieyue review-pack")
    assert "jieyue review-pack：错误：缺少必填参数：-o/--output" in err
    assert_chinese(err)


def test_a_missing_subcommand(capsys):
    code, _, err = run(capsys, [])
    assert code == 2 and "缺少必填参数：command" in err
    assert_chinese(err)


def test_an_invalid_int(capsys):
    code, _, err = run(capsys, ["review-pack", "回收", "--level", "县市区", "-o", "a.xlsx", "--seed", "abc"])
    assert code == 2
    assert "参数 --seed：「abc」不是有效的整数" in err
    assert_chinese(err)


def test_an_invalid_choice(capsys):
    code, _, err = run(capsys, ["review-pack", "回收", "--level", "省级", "-o", "a.xlsx"])
    assert code == 2
    assert "参数 --level：无效的选项「省级」（可选：县市区、地州市、自治区）" in err
    assert_chinese(err)


def test_an_unknown_subcommand(capsys):
    code, _, err = run(capsys, ["pack"])
    assert code == 2 and "无效的选项「pack」" in err
    assert_chinese(err)


def test_unrecognized_arguments(capsys):
    code, _, err = run(capsys, ["review-pack", "回收", "--level", "县市区", "-o", "a.xlsx", "--fast", "x"])
    assert code == 2 and "无法识别的参数：--fast x" in err
    assert_chinese(err)


def test_an_option_without_its_value(capsys):
    code, _, err = run(capsys, ["review-pack", "回收", "--level", "县市区", "-o"])
    assert code == 2 and "参数 -o/--output：需要一个参数值" in err
    assert_chinese(err)


def test_help_is_chinese_and_exits_0(capsys):
    code, out, err = run(capsys, ["review-pack", "--help"])
    assert code == 0 and err == ""
    assert out.startswith("用法：jieyue review-pack")
    for words in ("位置参数：", "选项：", "-h, --help", "显示此帮助信息并退出", "回收目录", "抽查种子"):
        assert words in out, words
    assert_chinese(out)
    code, out, _ = run(capsys, ["-h"])
    assert code == 0 and "显示程序版本号并退出" in out and "节约型机关复验工具" in out
    assert_chinese(out)


def test_the_version(capsys):
    code, out, _ = run(capsys, ["--version"])
    assert code == 0 and out.strip() == "jieyue 1.0"


def test_nothing_outside_the_parser_changes(capsys):
    """argparse's own messages are Chinese only while a Chinese parser works: a plain parser stays English."""
    parser().format_help()
    plain = argparse.ArgumentParser(prog="plain")
    plain.add_argument("-o", required=True)
    with pytest.raises(SystemExit):
        plain.parse_args([])
    assert "the following arguments are required: -o" in capsys.readouterr().err
    assert argparse._("usage: ") == "usage: "


def test_the_formatter_alone_writes_chinese_usage():
    p = argparse.ArgumentParser(prog="x", formatter_class=ChineseHelpFormatter)
    assert p.format_usage().startswith("用法：x")
