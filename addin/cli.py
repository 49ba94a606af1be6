"""The `jieyue` command: a thin shell over the spec (`workbook_templates`) and the core (`udfs`).

Each command loads the spec once (`--spec-dir`, default the shipped one) and passes it down; nothing below
this layer loads it by itself. Exit codes: 0 done; 2 the input was wrong (a `JieyueError`: its Chinese
message says what to do); 1 the run failed (a fault of the machine or a bug: a short message names the file
being processed, never dressed up as the user's mistake).
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path
from typing import Sequence

from workbook_templates import InputError, JieyueError, Spec, contract_names, load_spec

from .cli_text import ChineseArgumentParser


def _spec(args: argparse.Namespace) -> int:
    spec = load_spec(args.spec_dir)
    if args.copy_to:
        import shutil
        from workbook_templates.load import SPEC_FILES
        target = Path(args.copy_to)
        if target.exists() and any(target.iterdir()):
            print(f"错误：目录「{target}」已存在且不是空的：请换一个新目录，以免覆盖已修改的规格", file=sys.stderr)
            return 2
        target.mkdir(parents=True, exist_ok=True)
        for name in SPEC_FILES:
            shutil.copyfile(Path(spec.directory) / name, target / name)
        print(f"已把规格复制到 {target}（{len(SPEC_FILES)} 个文件）：修改后用 jieyue spec --spec-dir {target} 检查，"
              f"各命令加 --spec-dir {target} 使用（见 docs/新年度.md）")
        return 0
    if args.names:
        from generator import build_plan
        # Where each name sits in the workbook of the spec's latest year (sheet titles carry the data years).
        plan = build_plan(spec, spec.default_year, spec.default_preset)
        where = {name: (sheet.title, ref) for name, (sheet, ref) in plan.named().items()}
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["name", "meaning", "unit", "kind", "sheet", "cell"])
        for n in contract_names(spec):
            sheet, cell = where.get(n.name, ("", ""))
            writer.writerow([n.name, n.meaning, n.unit, n.kind, sheet, cell])
        return 0
    if args.factors:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["preset", "item", "kind", "factor", "unit", "extra", "confidence", "source", "flag"])
        for p in spec.presets.values():
            for key, f in p.kgce.items():
                writer.writerow([p.id, key, "kgce", f.factor, f.factor_unit, f.extra, f.confidence, f.source,
                                 f.flag or ""])
            for key, f in p.co2.items():
                writer.writerow([p.id, key, "co2", f.factor, f.unit, "", f.confidence, f.source, f.flag or ""])
        for g in spec.grid_factors.values():
            writer.writerow(["", "electricity", f"co2:{g.id}", g.factor, "tCO2/MWh", "", g.confidence, g.source,
                             g.flag or ""])
        return 0
    units = len(spec.units)
    print(f"规格有效：{units} 个评价单元，{len(spec.indicators)} 项指标，"
          f"满分 {spec.assessment.total_points:g}，合格线 {spec.assessment.pass_line:g}")
    print(f"复验年度：{'、'.join(map(str, spec.years))}；系数预设：{'、'.join(spec.presets)}（默认 {spec.default_preset}）")
    for line in year_lines(spec):
        print(line)
    print(f"规格摘要（SHA-256）：{spec.digest}")
    return 0


def year_lines(spec: Spec) -> list[str]:
    """Each assessment year's choices as `jieyue spec` lists them, each followed by what the administrator should
    check (`Spec.year_flags`: factors reused from the year before, an unverified standard version)."""
    lines = []
    for y in spec.years.values():
        digits = spec.precision.change_pct
        targets = "、".join(f"{i.decline_label} {y.targets[i.key]:.{digits}f}%" for i in spec.decline_intensities)
        lines.append(f"  {y.year}年复验（数据年度 {y.prev_year}、{y.cur_year}）：系数预设 {y.preset}，电力排放因子 "
                     f"{y.grid_factor}，评价标准 {y.standard}；目标 {targets}")
        lines += [f"    请核实：{flag}" for flag in spec.year_flags(y.year)]
    return lines


def _demo(args: argparse.Namespace) -> int:
    from .demo import load_sample, render, run_flow
    spec = load_spec(args.spec_dir)
    switches = dict(s.split("=", 1) for s in args.switch)
    preset = spec.preset(args.preset).id if args.preset else None     # None: the sample year's own preset
    print(render(load_sample(), spec, preset=preset, grid_factor=args.grid_factor, switches=switches))
    if args.output:
        print()
        print("\n".join(run_flow(Path(args.output), spec)))
    return 0


def _choices(spec: Spec, args: argparse.Namespace) -> tuple[int, str]:
    """The year and preset a command makes workbooks for: the year as given, the preset as given, else the one
    the year names (targets.toml [year.<y>] preset)."""
    year = spec.year(args.year)
    return year.year, spec.preset(args.preset or year.preset).id


def _workbook_choices(spec: Spec, args: argparse.Namespace, year: int) -> dict:
    """The other choices a fill-in workbook is made with (recorded in its `_meta`): the grid factor, the switches
    and the standard version as given, else what the year names (the spec's default switches)."""
    from udfs.choices import parse_switches
    y = spec.year(year)
    switches = parse_switches(";".join(args.switch), spec) if args.switch else {}
    return {"grid_factor": spec.grid_factor(args.grid_factor or y.grid_factor).id, "switches": switches,
            "standard": spec.standard(args.standard, year).id}


def _choice_options(parser: argparse.ArgumentParser) -> None:
    """--grid-factor, --switch and --standard of `template` and `generate` (each recorded in the workbook)."""
    parser.add_argument("--grid-factor", metavar="因子", help="电力排放因子（默认按规格中该年度所列；可选值见 jieyue spec --factors）")
    parser.add_argument("--switch", action="append", default=[], metavar="开关=选项",
                        help="口径开关，如 building_energy=official_vehicle_fuel（可多次给出；默认按规格）")
    parser.add_argument("--standard", metavar="版本", help="评价标准版本（默认按规格中该年度所列，如 xj-2023、gbt29118-2023）")


def _template(args: argparse.Namespace) -> int:
    from generator import template_bytes
    from generator.ooxml import check_output, write_atomically
    spec = load_spec(args.spec_dir)
    year, preset = _choices(spec, args)
    choices = _workbook_choices(spec, args, year)
    out = check_output(args.output, ".xlsx", "模板")
    write_atomically(out, template_bytes(spec, year, preset, **choices))
    print(f"已生成空白工作簿：{out}（{year}年复验，系数预设 {preset}，电力排放因子 {choices['grid_factor']}，"
          f"评价标准 {choices['standard']}）")
    return 0


def _generate(args: argparse.Namespace) -> int:
    from generator.personalise import Personaliser, write_workbooks
    from generator.roster import read_roster

    from generator.ooxml import check_output

    from .progress import Progress
    spec = load_spec(args.spec_dir)
    year, preset = _choices(spec, args)
    out = check_output(args.output, None, "输出目录")
    roster = read_roster(args.roster, spec)
    skipped = len(roster.bad_rows)
    if roster.problems:
        print(f"名单「{args.roster}」中有 {skipped} 行存在问题：", file=sys.stderr)
        for problem in roster.problems:
            print(f"  {problem}", file=sys.stderr)
    if roster.problems and not args.skip_invalid:
        print(f"未生成任何工作簿：请改正以上 {len(roster.problems)} 处问题后重新运行，"
              "或加 --skip-invalid 只为有效的单位生成。", file=sys.stderr)
        return 2
    if not roster.units:
        print("名单中没有有效的单位，未生成任何工作簿。", file=sys.stderr)
        return 2
    key = _key(args, args.roster)
    choices = _workbook_choices(spec, args, year)
    personaliser = Personaliser(spec, year, preset, key=key.key, **choices)
    source = None
    if args.prefill_from:
        from .prefill import Prefilled, read_prefill
        source = read_prefill(args.prefill_from, spec, year)
        personaliser = Prefilled(personaliser, source, spec, year, preset, choices)
    result = write_workbooks(roster.units, out, personaliser, Progress(len(roster.units), "生成工作簿 "))
    if source is not None:
        print(personaliser.describe(len(roster.units)))
    for unit, reason in result.failed:
        print(f"第 {unit.row} 行「{unit.name}」：{reason}", file=sys.stderr)
    summary = f"已生成 {len(result.written)} 个工作簿到 {out}；跳过 {skipped} 行"
    if result.replaced:
        summary += f"；其中 {result.replaced} 个替换了同名的旧文件"
    if result.failed:
        summary += f"；{len(result.failed)} 个写入失败"
    print(summary)
    return 1 if result.failed else 0


SCOPES = {"全区": "region", "地州市": "prefecture"}
"""`--scope` as typed → the spec's elimination scope."""


def _consolidate(args: argparse.Namespace) -> int:
    from .consolidate import (Ledger, check_outputs, claim_outputs, consolidate, ledger_path, outcome_line,
                              read_roster_entries, write_outputs)
    from .consolidate.fingerprint import fingerprint_of, run_options, survey_of
    from .consolidate.ledger import ledger_key, read_last_run
    from .keys import ledger_secret
    from .progress import Progress
    spec = load_spec(args.spec_dir)
    out = Path(args.output)
    check_outputs(out, args.json)                        # before any work: a bad path fails at once
    roster = None
    if args.roster:
        roster, problems = read_roster_entries(args.roster, spec)
        for problem in problems:
            print(f"名单「{args.roster}」{problem}（此行未计入名单）", file=sys.stderr)
    key = _key(args, args.roster)
    options = dict(roster=roster, year=args.year, preset=args.preset, reviews=args.reviews,
                   scope=SCOPES[args.scope] if args.scope else None, key=key.key, final=args.final,
                   as_of=_as_of(args.as_of), outputs=tuple(p for p in (out, args.json, ledger_path(out)) if p))
    with claim_outputs(out, args.json) as notices:       # the lock beside the outputs; a killed run finished
        found = None                                     # the folders walked once, for the fingerprint and the run
        if not (args.no_ledger or args.verify or notices):
            last = read_last_run(ledger_path(out))
            found = survey_of(args.folder, args.reviews) if last is not None else None
            if found is not None and last.current(fingerprint_of(found, run_options(**options), spec, ledger_key(spec))):
                print("回收目录中的文件、汇总选项、规格、名单和日期都与上次汇总相同：汇总表已是最新，没有改写任何文件。"
                      f"上次汇总：{last.outcome}。汇总表：{out}" + (f"；报告：{args.json}" if args.json else ""))
                return 0
        ledger = None if args.no_ledger else Ledger.load(ledger_path(out), spec, verify=args.verify,
                                                             secret=ledger_secret())
        run = consolidate(args.folder, spec=spec, ledger=ledger, progress=Progress(label="汇总 "), found=found,
                          **options)
        found = None                                     # the run's now: not held while the outputs are written
        run.notices[:0] = notices
        write_outputs(run, out, args.json, spec, ledger)
    for line in run.notices:
        print(f"提示：{line}", file=sys.stderr)
    print(outcome_line(run) + f"。汇总表：{out}" + (f"；报告：{args.json}" if args.json else ""))
    return 0


def _as_of(text: str | None):
    """`--as-of 2023-09-15` as a date (default: today — the date is an input of the run, shown in its outputs)."""
    from datetime import date
    if text is None:
        return date.today()
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"--as-of「{text}」不是日期：请写作 2023-09-15（年-月-日）") from None


def _notices(args: argparse.Namespace) -> int:
    from .notices import summary_line, write_notices
    written = write_notices(args.report, args.output)
    print(summary_line(written, Path(args.output)))
    return 0


def _console(args: argparse.Namespace) -> int:
    from .console import build_console, module_warning
    load_spec(args.spec_dir)                             # a spec that does not load is reported now, not in Excel
    book, module = build_console(args.output, overwrite=args.force, spec_dir=args.spec_dir)
    print(f"已生成汇总台：{book}")
    print(f"以及同名的 Python 模块：{module}（「Run main」运行其中的 main()；两个文件请放在同一文件夹，不要改名）")
    print("下一步（Windows 版 Microsoft Excel）：pip install jieyue，再运行 xlwings addin install；"
          "打开汇总台，在「设置」中填写回收目录，保存，点击 xlwings 选项卡上的「Run main」。")
    if warning := module_warning(book):
        print(warning)
    print("WPS 用户：xlwings 不支持 WPS，请用命令 jieyue consolidate 回收目录 -o 汇总.xlsx，结果相同。")
    return 0


def _addin_build(args: argparse.Namespace) -> int:
    from .build import AddinBuildError, build_addin
    try:
        built = build_addin(args.output, interpreter=args.interpreter or "", show_console=args.show_console)
    except AddinBuildError as e:
        print(f"错误：{e}", file=sys.stderr)
        print("未写入任何文件（已有的加载项保持不变）。", file=sys.stderr)
        return 2
    print(f"已生成 Excel 加载项：{built.xlam}" + ("（替换了上一次生成的文件）" if built.replaced else ""))
    print(f"以及它调用的 Python 模块：{built.module}（两个文件放在同一文件夹，不要改名）")
    print("下一步（Windows 版 Microsoft Excel）：文件 → 选项 → 加载项 → 转到 → 浏览，选择 jieyue.xlam；"
          "功能区出现「节约型机关」选项卡。详见 docs/安装指南.md。")
    print("WPS 用户：xlwings 不支持 WPS，请用命令 jieyue consolidate 回收目录 -o 汇总.xlsx。")
    return 0


def _review_pack(args: argparse.Namespace) -> int:
    from .review.commands import DEFAULT, run_review_pack
    spec = load_spec(args.spec_dir)
    key = _key(args, None)
    print("\n".join(run_review_pack(args.folder, args.level, args.output, spec, region=args.region, seed=args.seed,
                                     year=args.year, preset=args.preset, sampled_only=args.sampled_only,
                                     key=key.key, split=DEFAULT if args.split is None else args.split)))
    return 0


def _split_value(text: str) -> int | str:
    """`--split`: a number of units per workbook (0: one workbook) or 「地州市」."""
    from .review.split import BY_REGION
    if text.strip() == BY_REGION:
        return BY_REGION
    if text.strip().isascii() and text.strip().isdigit():
        return int(text.strip())
    raise argparse.ArgumentTypeError(f"「{text}」不是每个工作簿的单位数：请填写不小于 0 的整数（0 表示不分开），"
                                     f"或「{BY_REGION}」（每个地州市一个工作簿）")


def _spot_check(args: argparse.Namespace) -> int:
    from .review.commands import run_spot_check
    spec = load_spec(args.spec_dir)
    print("\n".join(run_spot_check(args.folder, args.seed, args.output, spec, year=args.year, preset=args.preset)))
    return 0


def _key(args: argparse.Namespace, roster: str | None):
    """The signing key of a command (`addin.keys.find_key`: --key, else jieyue.key beside the roster), said on
    stderr — which file and its fingerprint, or that there is none — with any warning about the file."""
    from .keys import find_key
    choice = find_key(args.key, roster)
    print(choice.describe(), file=sys.stderr)
    for warning in choice.warnings:
        print(f"注意：{warning}", file=sys.stderr)
    return choice


def _key_init(args: argparse.Namespace) -> int:
    from .keys import DEFAULT_KEY_NAME, init_key, load_key
    from udfs.signature import key_id
    path = init_key(args.output, force=args.force)
    key, _ = load_key(path)
    private = "权限 0600，仅本人可读" if os.name == "posix" else "请放在只有管理员能访问的文件夹中"
    print(f"已创建签名密钥：{path.resolve()}（指纹 {key_id(key)}；{private}）")
    print(f"请把它放在名单旁（命名为 {DEFAULT_KEY_NAME}，generate 和 consolidate --roster 会自动找到），"
          "或在 generate、review-pack、consolidate 中用 --key 指定；不要放入回收目录，不要发给填报单位或评审部门。"
          "请另行备份：丢失后无法核验已生成的工作簿和评审包。")
    return 0


def _key_option(parser: argparse.ArgumentParser, text: str) -> None:
    parser.add_argument("--key", metavar="密钥文件", help=text)


def _spec_dir(parser: argparse.ArgumentParser, text: str = "规格目录（默认为内置规格）") -> None:
    parser.add_argument("--spec-dir", metavar="目录", help=text)


def build_parser() -> argparse.ArgumentParser:
    parser = ChineseArgumentParser(prog="jieyue", description="节约型机关创建与复验的电子表格工具")
    sub = parser.add_subparsers(dest="command", required=True, metavar="命令")

    demo = sub.add_parser("demo", help="用内置示例数据演示一个单位两个年度的计算、下降率与自评得分")
    demo.add_argument("--preset", metavar="预设", help="系数预设（默认按规格）")
    demo.add_argument("--grid-factor", metavar="因子", help="电力排放因子（见 jieyue spec --factors）")
    demo.add_argument("--switch", action="append", default=[], metavar="开关=选项",
                      help="口径开关，如 building_energy=official_vehicle_fuel")
    demo.add_argument("-o", "--output", default="jieyue-demo", metavar="目录",
                      help="演示完整流程的输出目录（默认 jieyue-demo；给空字符串则只打印计算示例）")
    _spec_dir(demo)
    demo.set_defaults(run=_demo)

    spec = sub.add_parser("spec", help="检查规格文件，或列出数据约定名称 / 系数")
    spec.add_argument("--names", action="store_true", help="以 CSV 列出全部数据约定名称")
    spec.add_argument("--factors", action="store_true", help="以 CSV 列出全部系数及其来源")
    spec.add_argument("--copy-to", metavar="目录", help="把规格文件复制到一个新目录，供修改（如增加新的复验年度，见 docs/新年度.md）")
    _spec_dir(spec, "检查另一个规格目录（默认为内置规格）")
    spec.set_defaults(run=_spec)

    template = sub.add_parser("template", help="生成空白的填报工作簿")
    template.add_argument("--year", type=int, metavar="年度", required=True, help="复验年度，如 2023")
    template.add_argument("--preset", metavar="预设", help="系数预设（默认按规格）")
    template.add_argument("-o", "--output", required=True, metavar="模板.xlsx", help="输出文件")
    _choice_options(template)
    _spec_dir(template)
    template.set_defaults(run=_template)

    generate = sub.add_parser("generate", help="按名单为每个单位生成预填单位信息的工作簿")
    generate.add_argument("--roster", required=True, metavar="名单.xlsx|.csv",
                          help="名单：列 单位名称、统一社会信用代码、单位层级、所属地区（顺序不限）")
    generate.add_argument("--year", type=int, metavar="年度", required=True, help="复验年度，如 2023")
    generate.add_argument("--preset", metavar="预设", help="系数预设（默认按规格）")
    generate.add_argument("-o", "--output", required=True, metavar="输出目录", help="输出目录（不存在时创建）")
    generate.add_argument("--skip-invalid", action="store_true",
                          help="名单有问题时仍为有效的单位生成，并列出跳过的行")
    _choice_options(generate)
    generate.add_argument("--prefill-from", metavar="上年汇总.json|上年回收目录",
                          help="按单位上年报送的数据预填较早的数据年度（单位可修改）：上年 jieyue consolidate --json 的报告，或上年的回收目录")
    _key_option(generate, "签名密钥（jieyue key init 创建；默认为名单旁的 jieyue.key，没有则不签名）")
    _spec_dir(generate)
    generate.set_defaults(run=_generate)

    cons = sub.add_parser("consolidate", help="汇总回收目录中的工作簿：校验、重算、列出问题，每个文件都有交代")
    cons.add_argument("folder", metavar="回收目录", help="存放交回工作簿的目录（含子目录）")
    cons.add_argument("--roster", metavar="名单.xlsx|.csv", help="名单：据此列出未报送和名单外的单位")
    cons.add_argument("-o", "--output", required=True, metavar="汇总.xlsx", help="汇总表")
    cons.add_argument("--json", metavar="report.json", help="同时输出 JSON 报告")
    cons.add_argument("--year", type=int, metavar="年度",
                      help="只接受此复验年度的文件（默认：交回的工作簿中最多的年度；其他年度的文件报 F111）")
    cons.add_argument("--preset", metavar="预设", help="只接受用此系数预设生成的工作簿（默认都接受：每个工作簿按自己的预设重算）")
    cons.add_argument("--no-ledger", action="store_true",
                      help="不使用台账（默认在汇总表旁记录每个文件，再次运行只处理新增或修改的文件）")
    cons.add_argument("--verify", action="store_true",
                      help="逐个计算文件的 SHA-256 与台账核对（默认认为大小和修改时间都没变的文件没有改动）")
    cons.add_argument("--reviews", metavar="评审包目录",
                      help="另存评审包的目录（回收目录中的评审包也会读取）：据此计算综合得分、排名和拟摘牌")
    cons.add_argument("--scope", choices=list(SCOPES),
                      help="排名范围：全区 = 全区统一排名，地州市 = 各地州市分别排名（不填时按规格文件的设定）")
    cons.add_argument("--as-of", metavar="日期",
                      help="按此日期判断各阶段是否逾期（如 2023-09-15；默认今天），见汇总表「进度」")
    cons.add_argument("--final", action="store_true",
                      help="截止后的最终汇总：未报送、有错误未改正、仍待评审的单位列为「未完成复验」（由人工决定如何处理）")
    _key_option(cons, "核验签名的密钥（默认为名单旁的 jieyue.key；没有则不核验，并在说明中注明）")
    _spec_dir(cons)
    cons.set_defaults(run=_consolidate)

    notices = sub.add_parser("notices", help="按汇总的 JSON 报告生成每个单位的复验结果通知、公示名单和各地州市的结果")
    notices.add_argument("report", metavar="汇总.json", help="jieyue consolidate --json 写出的报告")
    notices.add_argument("-o", "--output", required=True, metavar="目录", help="输出目录（不存在时创建）")
    notices.set_defaults(run=_notices)

    console = sub.add_parser("console", help="生成管理员的 Excel 汇总台：填写回收目录，点击 xlwings 的「Run main」一键汇总")
    console.add_argument("-o", "--output", required=True, metavar="汇总台.xlsx",
                         help="汇总台工作簿；同一文件夹中另写同名的 .py 模块（文件名须为合法的 Python 名称）")
    console.add_argument("--force", action="store_true", help="覆盖已有的汇总台（其中填写的设置会丢失）")
    _spec_dir(console)
    console.set_defaults(run=_console)

    addin = sub.add_parser("addin", help="Excel 加载项：用 xlwings 的加载项模板生成带「节约型机关」选项卡的 jieyue.xlam")
    addin_sub = addin.add_subparsers(dest="addin_command", required=True, metavar="操作")
    addin_build = addin_sub.add_parser("build", help="生成 jieyue.xlam 和它调用的 jieyue.py")
    addin_build.add_argument("-o", "--output", default="dist", metavar="目录", help="输出目录（默认 dist，不存在时创建）")
    addin_build.add_argument("--interpreter", metavar="python.exe",
                             help="写入加载项配置的 Python 完整路径（默认用 PATH 中的 python）")
    addin_build.add_argument("--show-console", action="store_true", help="运行时显示命令行窗口，便于查看出错信息")
    addin_build.set_defaults(run=_addin_build)

    review = sub.add_parser("review-pack", help="为评审部门生成受保护的评审包：每个单位一张评分表，另有总览")
    review.add_argument("folder", metavar="回收目录", help="存放交回工作簿的目录（含子目录）")
    review.add_argument("--level", required=True, metavar="县市区|地州市|自治区",
                        help="评审部门层级（县市区评审县市区级单位；地州市评审县市区级和地州市级；自治区评审全部）")
    review.add_argument("--region", metavar="地区", help="只包括所属地区为此地区的单位（地州市评审部门填本地区）")
    review.add_argument("--seed", type=int, metavar="N", help="实地抽查的随机种子：与 jieyue spot-check 相同时标出同样的单位")
    review.add_argument("--sampled-only", action="store_true",
                        help="只放入本级单位和本级实地抽查名单上的单位（需 --seed）：自治区评审全区时不必每个单位一张评分表")
    review.add_argument("-o", "--output", required=True, metavar="评审包.xlsx", help="输出的评审包")
    review.add_argument("--split", type=_split_value, metavar="N|地州市",
                        help="把评审包分成几个工作簿：每 N 个单位一个（0：不分开），或每个地州市一个；汇总时各部分合为同一份评审。"
                             "默认：自治区的评审包每个地州市一个（评审包_01_昌吉回族自治州.xlsx …），其他一个工作簿")
    _key_option(review, "签名密钥：核验回收的工作簿并为评审包签名（不给则都不做）")
    review.add_argument("--year", type=int, metavar="年度", help="只纳入此复验年度的工作簿（默认：交回的工作簿中最多的年度）")
    review.add_argument("--preset", metavar="预设", help="只纳入用此系数预设生成的工作簿（默认都纳入：各按自己的预设重算）")
    _spec_dir(review)
    review.set_defaults(run=_review_pack)

    key = sub.add_parser("key", help="签名密钥：为工作簿和评审包签名、汇总时核验（见 README「签名与身份」）")
    key_sub = key.add_subparsers(dest="key_command", required=True, metavar="操作")
    key_init = key_sub.add_parser("init", help="创建新的签名密钥文件（权限 0600；已存在时不覆盖）")
    key_init.add_argument("-o", "--output", default="jieyue.key", metavar="路径",
                          help="密钥文件（默认为当前文件夹中的 jieyue.key；建议放在名单旁）")
    key_init.add_argument("--force", action="store_true", help="覆盖已有的密钥文件（用旧密钥签名的文件将无法核验）")
    key_init.set_defaults(run=_key_init)

    spot = sub.add_parser("spot-check", help="按规格的比例和随机种子抽取实地抽查名单（可重做）")
    spot.add_argument("folder", metavar="回收目录", help="存放交回工作簿的目录（含子目录）")
    spot.add_argument("--seed", type=int, required=True, metavar="N", help="随机种子（整数，写在名单上，据此可重做）")
    spot.add_argument("-o", "--output", required=True, metavar="抽查名单.xlsx", help="输出的抽查名单")
    spot.add_argument("--year", type=int, metavar="年度", help="只纳入此复验年度的工作簿（默认：交回的工作簿中最多的年度）")
    spot.add_argument("--preset", metavar="预设", help="只纳入用此系数预设生成的工作簿（默认都纳入）")
    _spec_dir(spot)
    spot.set_defaults(run=_spot_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except JieyueError as e:
        print(f"错误：{e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader closed the pipe (`jieyue spec --names | head`): not an error. Point stdout at devnull so
        # the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as e:
        where = f"（{e.filename}）" if e.filename else ""
        print(f"运行失败：{e.strerror or e}{where}：请检查该文件或文件夹是否存在、有无读写权限、磁盘是否已满，"
              "然后重新运行", file=sys.stderr)
        return 1
    except Exception as e:   # noqa: BLE001 — the command's boundary: a bug, said as one
        where = getattr(e, "path", None)
        print(f"程序出错（这是 jieyue 的缺陷，不是输入的问题）：{type(e).__name__}: {e}"
              + (f"；当时正在处理：{where}" if where else "")
              + "。请把这段信息和所用的命令告诉维护者。", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
