"""The `jieyue` command: a thin shell over the spec (`workbook_templates`) and the core (`udfs`)."""
from __future__ import annotations

import argparse
import csv
import sys
from typing import Sequence

from workbook_templates import SpecError, contract_names, load_spec


def _spec(args: argparse.Namespace) -> int:
    spec = load_spec(args.spec_dir)
    if args.names:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["name", "meaning", "unit", "kind", "sheet", "cell"])
        for n in contract_names(spec):
            writer.writerow([n.name, n.meaning, n.unit, n.kind, n.sheet, n.cell])
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
    from .demo import load_sample, render
    switches = dict(s.split("=", 1) for s in args.switch)
    print(render(load_sample(), preset=args.preset, grid_factor=args.grid_factor, switches=switches))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jieyue", description="节约型机关创建与复验的电子表格工具")
    sub = parser.add_subparsers(dest="command", required=True, metavar="命令")

    demo = sub.add_parser("demo", help="用内置示例数据演示一个单位两个年度的计算、下降率与自评得分")
    demo.add_argument("--preset", help="系数预设（默认按规格）")
    demo.add_argument("--grid-factor", help="电力排放因子（见 jieyue spec --factors）")
    demo.add_argument("--switch", action="append", default=[], metavar="开关=选项",
                      help="口径开关，如 building_energy=official_vehicle_fuel")
    demo.set_defaults(run=_demo)

    spec = sub.add_parser("spec", help="检查规格文件，或列出数据约定名称 / 系数")
    spec.add_argument("--names", action="store_true", help="以 CSV 列出全部数据约定名称")
    spec.add_argument("--factors", action="store_true", help="以 CSV 列出全部系数及其来源")
    spec.add_argument("--spec-dir", help="检查另一个规格目录（默认为内置规格）")
    spec.set_defaults(run=_spec)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except SpecError as e:
        print(f"错误：{e}", file=sys.stderr)
        return 2
    except (KeyError, ValueError) as e:
        message = e.args[0] if e.args else str(e)
        print(f"错误：{message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
