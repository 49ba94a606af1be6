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

from workbook_templates import JieyueError, Spec, contract_names, load_spec


def _spec(args: argparse.Namespace) -> int:
    spec = load_spec(args.spec_dir)
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
    print(f"规格摘要（SHA-256）：{spec.digest}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .demo import load_sample, render, run_flow
    spec = load_spec(args.spec_dir)
    switches = dict(s.split("=", 1) for s in args.switch)
    preset = spec.preset(args.preset).id
    print(render(load_sample(), spec, preset=preset, grid_factor=args.grid_factor, switches=switches))
    if args.output:
        print()
        print("\n".join(run_flow(Path(args.output), spec)))
    return 0


def _choices(spec: Spec, args: argparse.Namespace) -> tuple[int, str]:
    """The year and preset a command makes workbooks for: as given, else the spec's latest year and default."""
    return spec.year(args.year).year, spec.preset(args.preset).id


def _template(args: argparse.Namespace) -> int:
    from generator import template_bytes
    from generator.ooxml import check_output, write_atomically
    spec = load_spec(args.spec_dir)
    year, preset = _choices(spec, args)
    out = check_output(args.output, ".xlsx", "模板")
    write_atomically(out, template_bytes(spec, year, preset))
    print(f"已生成空白工作簿：{out}（{year}年复验，系数预设 {preset}）")
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
    personaliser = Personaliser(spec, year, preset)
    result = write_workbooks(roster.units, out, personaliser, Progress(len(roster.units), "生成工作簿 "))
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
    from .consolidate import (Ledger, check_outputs, consolidate, ledger_path, outcome_line, read_roster_entries,
                              write_outputs)
    from .progress import Progress
    spec = load_spec(args.spec_dir)
    out = Path(args.output)
    check_outputs(out, args.json)                        # before any work: a bad path fails at once
    roster = None
    if args.roster:
        roster, problems = read_roster_entries(args.roster, spec)
        for problem in problems:
            print(f"名单「{args.roster}」{problem}（此行未计入名单）", file=sys.stderr)
    ledger = None if args.no_ledger else Ledger.load(ledger_path(out), spec)
    run = consolidate(args.folder, spec=spec, roster=roster, year=args.year, preset=args.preset, ledger=ledger,
                      progress=Progress(label="汇总 "), outputs=tuple(p for p in (out, args.json, ledger_path(out)) if p),
                      reviews=args.reviews, scope=SCOPES[args.scope] if args.scope else None)
    write_outputs(run, out, args.json, spec, ledger)
    print(outcome_line(run) + f"。汇总表：{out}" + (f"；报告：{args.json}" if args.json else ""))
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
    from .review.commands import run_review_pack
    spec = load_spec(args.spec_dir)
    print("\n".join(run_review_pack(args.folder, args.level, args.output, spec, region=args.region, seed=args.seed,
                                     year=args.year, preset=args.preset, sampled_only=args.sampled_only)))
    return 0


def _spot_check(args: argparse.Namespace) -> int:
    from .review.commands import run_spot_check
    spec = load_spec(args.spec_dir)
    print("\n".join(run_spot_check(args.folder, args.seed, args.output, spec, year=args.year, preset=args.preset)))
    return 0


def _spec_dir(parser: argparse.ArgumentParser, text: str = "规格目录（默认为内置规格）") -> None:
    parser.add_argument("--spec-dir", metavar="目录", help=text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jieyue", description="节约型机关创建与复验的电子表格工具")
    sub = parser.add_subparsers(dest="command", required=True, metavar="命令")

    demo = sub.add_parser("demo", help="用内置示例数据演示一个单位两个年度的计算、下降率与自评得分")
    demo.add_argument("--preset", help="系数预设（默认按规格）")
    demo.add_argument("--grid-factor", help="电力排放因子（见 jieyue spec --factors）")
    demo.add_argument("--switch", action="append", default=[], metavar="开关=选项",
                      help="口径开关，如 building_energy=official_vehicle_fuel")
    demo.add_argument("-o", "--output", default="jieyue-demo", metavar="目录",
                      help="演示完整流程的输出目录（默认 jieyue-demo；给空字符串则只打印计算示例）")
    _spec_dir(demo)
    demo.set_defaults(run=_demo)

    spec = sub.add_parser("spec", help="检查规格文件，或列出数据约定名称 / 系数")
    spec.add_argument("--names", action="store_true", help="以 CSV 列出全部数据约定名称")
    spec.add_argument("--factors", action="store_true", help="以 CSV 列出全部系数及其来源")
    _spec_dir(spec, "检查另一个规格目录（默认为内置规格）")
    spec.set_defaults(run=_spec)

    template = sub.add_parser("template", help="生成空白的填报工作簿")
    template.add_argument("--year", type=int, required=True, help="复验年度，如 2023")
    template.add_argument("--preset", help="系数预设（默认按规格）")
    template.add_argument("-o", "--output", required=True, metavar="模板.xlsx", help="输出文件")
    _spec_dir(template)
    template.set_defaults(run=_template)

    generate = sub.add_parser("generate", help="按名单为每个单位生成预填单位信息的工作簿")
    generate.add_argument("--roster", required=True, metavar="名单.xlsx|.csv",
                          help="名单：列 单位名称、统一社会信用代码、单位层级、所属地区（顺序不限）")
    generate.add_argument("--year", type=int, required=True, help="复验年度，如 2023")
    generate.add_argument("--preset", help="系数预设（默认按规格）")
    generate.add_argument("-o", "--output", required=True, metavar="输出目录", help="输出目录（不存在时创建）")
    generate.add_argument("--skip-invalid", action="store_true",
                          help="名单有问题时仍为有效的单位生成，并列出跳过的行")
    _spec_dir(generate)
    generate.set_defaults(run=_generate)

    cons = sub.add_parser("consolidate", help="汇总回收目录中的工作簿：校验、重算、列出问题，每个文件都有交代")
    cons.add_argument("folder", metavar="回收目录", help="存放交回工作簿的目录（含子目录）")
    cons.add_argument("--roster", metavar="名单.xlsx|.csv", help="名单：据此列出未报送和名单外的单位")
    cons.add_argument("-o", "--output", required=True, metavar="汇总.xlsx", help="汇总表")
    cons.add_argument("--json", metavar="report.json", help="同时输出 JSON 报告")
    cons.add_argument("--year", type=int,
                      help="只接受此复验年度的文件（默认：交回的工作簿中最多的年度；其他年度的文件报 F111）")
    cons.add_argument("--preset", help="只接受用此系数预设生成的工作簿（默认都接受：每个工作簿按自己的预设重算）")
    cons.add_argument("--no-ledger", action="store_true",
                      help="不使用台账（默认在汇总表旁记录每个文件，再次运行只处理新增或修改的文件）")
    cons.add_argument("--reviews", metavar="评审包目录",
                      help="另存评审包的目录（回收目录中的评审包也会读取）：据此计算综合得分、排名和拟摘牌")
    cons.add_argument("--scope", choices=list(SCOPES),
                      help="排名范围（默认按规格 assessment.toml [elimination] scope）")
    _spec_dir(cons)
    cons.set_defaults(run=_consolidate)

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
    review.add_argument("--year", type=int, help="复验年度（默认按规格最新年度）")
    review.add_argument("--preset", help="重算所用的系数预设（默认按规格）")
    _spec_dir(review)
    review.set_defaults(run=_review_pack)

    spot = sub.add_parser("spot-check", help="按规格的比例和随机种子抽取实地抽查名单（可重做）")
    spot.add_argument("folder", metavar="回收目录", help="存放交回工作簿的目录（含子目录）")
    spot.add_argument("--seed", type=int, required=True, metavar="N", help="随机种子（整数，写在名单上，据此可重做）")
    spot.add_argument("-o", "--output", required=True, metavar="抽查名单.xlsx", help="输出的抽查名单")
    spot.add_argument("--year", type=int, help="复验年度（默认按规格最新年度）")
    spot.add_argument("--preset", help="系数预设（默认按规格）")
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
