"""Excel worksheet functions (xlwings UDFs) over the calculation core in `udfs/`.

They exist for administrators and reviewers who check figures in Windows Microsoft Excel with the xlwings
add-in: =JY_KGCE(B5:B900, "电") converts a whole column with the spec's factors and Excel's rounding. The
fill-in workbooks that units return never depend on them: WPS has no xlwings, so those workbooks use
native formulas only.

This module only adapts shapes and names; every rule lives in `udfs/`. As the command layer, it chooses what
`udfs/` takes explicitly: the shipped spec, its default factor preset and its latest assessment year. Each
argument accepts a scalar, a list or a list of lists (what xlwings passes with ndim=2); single cells
broadcast, and the result has the shape of the inputs. A blank result is "" and no input raises: xlwings would otherwise write the
traceback into the cell. On Linux the xlwings decorators are no-ops, so the functions are plain Python.

JY_COLLECT is the exception to "same shape": it returns a table (header row + one row per valid return of a
folder), cached by the folder's state (every file's path, size and mtime), so recalculation does not re-read.

No type hints on the UDF parameters: xlwings would take them as converters.
"""
from __future__ import annotations

import gc
import inspect
import math
import os
from contextlib import contextmanager
from functools import lru_cache
from itertools import chain
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import xlwings as xw

from udfs import composite_columns, counted_array, target_pct
from udfs.decline import change_pct_array
from udfs.energy import co2_t_per_unit, kgce_factors
from udfs.numbers import div_array, round_excel_array, to_array
from workbook_templates import load_spec

CATEGORY = "jieyue 节约型机关"
_BLANK = ""
_ROWS = (list, tuple, np.ndarray)

# ---------------------------------------------------------------- shapes: flatten, broadcast, reshape


def _layout(value: Any) -> tuple[tuple[int, ...], list]:
    """(shape, cells) of one argument: () for a scalar, (n,) for a list, (rows, cols) for a list of lists."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        return (), [value]
    kinds = set(map(type, value))
    if value and all(issubclass(k, _ROWS) for k in kinds):
        widths = set(map(len, value))
        if len(widths) != 1:
            raise ValueError("ragged range")
        return (len(value), widths.pop()), list(chain.from_iterable(value))
    if any(issubclass(k, _ROWS) for k in kinds):
        raise ValueError("mixed range")
    return (len(value),), list(value)


def _broadcast(args: Sequence[Any]) -> tuple[tuple[int, ...], list[list] | None]:
    """The result shape and each argument's cells (one cell = broadcast); cells None when shapes clash."""
    layouts = [_layout(a) for a in args]
    shapes = list(dict.fromkeys(shape for shape, cells in layouts if len(cells) != 1))
    if len(shapes) > 1:
        return max(shapes, key=math.prod), None
    shape = shapes[0] if shapes else max((shape for shape, _ in layouts), key=len)
    return shape, [cells for _, cells in layouts]


def _to_cells(result: Any, n: int) -> np.ndarray:
    """A kernel's result as n worksheet values (object array): blank, NaN and ±inf become ""."""
    if isinstance(result, np.ndarray) and result.dtype.kind == "f":
        result = np.broadcast_to(result, (n,))
        out = result.astype(object)
        out[~np.isfinite(result)] = _BLANK
        return out
    values = np.broadcast_to(np.asarray(result, dtype=object), (n,))
    out = np.empty(n, dtype=object)
    for i, v in enumerate(values):
        if isinstance(v, np.generic):
            v = v.item()
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            v = _BLANK
        out[i] = v
    return out


def _run(kernel: Callable[..., Any], n: int, columns: list[list]) -> np.ndarray:
    try:
        with np.errstate(all="ignore"):     # overflow to ±inf is blanked below, not a warning in the log
            return _to_cells(kernel(*columns), n)
    except Exception:       # one bad cell must not blank the range: retry cell by cell
        if n == 1:
            return np.array([_BLANK], dtype=object)
        out = np.empty(n, dtype=object)
        for i in range(n):
            out[i] = _run(kernel, 1, [c if len(c) == 1 else [c[i]] for c in columns])[0]
        return out


def _apply(kernel: Callable[..., Any], *args: Any) -> Any:
    """Run `kernel` once over every argument's cells (lists; a single cell is a 1-element list) and give the
    result the arguments' shape. The kernel returns a float array (NaN = blank) or a sequence (None = blank)."""
    try:
        shape, columns = _broadcast(args)
        n = math.prod(shape)
        if columns is None or n == 0:
            cells = np.full(n, _BLANK, dtype=object)
        else:
            cells = _run(kernel, n, columns)
        if shape == ():
            return cells[0]
        with _gc_paused():
            return cells.reshape(shape).tolist()
    except Exception:
        return _BLANK


@contextmanager
def _gc_paused():
    """Building 100 000 row lists would set off the cyclic GC over and over (each pass walking every live
    object, the caller's input grids included); the lists hold no cycles, so pause it while they are made."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _numbers(cells: list, quantity: bool = False) -> np.ndarray:
    """`udfs.numbers.to_array`, never raising: a cell it cannot convert is blank."""
    try:
        return to_array(cells, quantity=quantity)
    except Exception:
        out = np.full(len(cells), np.nan)
        for i, v in enumerate(cells):
            try:
                out[i] = to_array([v], quantity=quantity)[0]
            except Exception:
                pass
        return out


def _lookup(cells: list, table: dict[str, Any], blank: Any = np.nan) -> np.ndarray:
    """Each cell's text looked up (by `_canon`) in `table`, as a float array; unknown or non-text is `blank`."""
    memo: dict[str, Any] = {}
    values = []
    for v in cells:
        if isinstance(v, str):
            if v not in memo:
                memo[v] = table.get(_canon(v), blank)
            values.append(memo[v])
        else:
            values.append(blank)
    return np.array(values, dtype=float)


# ---------------------------------------------------------------- names: rows, intensities, indicators

def _canon(name: str) -> str:
    """A name as users type it, reduced: no spaces, case-folded, without a leading 其中： or trailing 消耗量."""
    s = "".join(name.split()).casefold().replace(":", "：")
    s = s.removeprefix("其中：")
    return s.removesuffix("消耗量") or s


def _aliases(entries: list[tuple[str, list[str | None]]]) -> dict[str, str]:
    """canon(alias) → key; an alias shared by different keys (两行「其中：公务用车消耗量」) is dropped."""
    found: dict[str, set[str]] = {}
    for key, names in entries:
        for name in names:
            if name:
                found.setdefault(_canon(name), set()).add(key)
    return {alias: next(iter(keys)) for alias, keys in found.items() if len(keys) == 1}


@lru_cache(maxsize=None)
def _item_aliases() -> dict[str, str]:
    return _aliases([(it.key, [it.key, it.name, it.label]) for it in load_spec().items])


@lru_cache(maxsize=None)
def _kgce_table() -> dict[str, tuple[float, float]]:
    spec = load_spec()
    keys = {it.key for it in spec.factor_items}
    return {alias: kgce_factors(key, spec.default_preset, spec) for alias, key in _item_aliases().items() if key in keys}


@lru_cache(maxsize=None)
def _co2_table() -> dict[str, float]:
    spec = load_spec()
    keys = {it.key for it in spec.factor_items}
    return {alias: co2_t_per_unit(key, spec.default_preset, spec=spec)
            for alias, key in _item_aliases().items() if key in keys}


@lru_cache(maxsize=None)
def _target_table() -> dict[str, float]:
    spec = load_spec()
    entries = [(i.key, [i.key, i.label, i.decline_label]) for i in spec.decline_intensities]
    return {alias: target_pct(key, spec.default_year, spec) for alias, key in _aliases(entries).items()}


@lru_cache(maxsize=None)
def _indicators() -> dict[str, Any]:
    return {ind.id: ind for ind in load_spec().indicators}


# ---------------------------------------------------------------- kernels (cells in, values out)

def _kgce(qty: list, item: list) -> np.ndarray:
    fe = _lookup(item, _kgce_table(), (np.nan, np.nan)).reshape(-1, 2)
    return round_excel_array(_numbers(qty, quantity=True) * fe[:, 0] * fe[:, 1], load_spec().precision.kgce)


def _co2(qty: list, item: list) -> np.ndarray:
    per_unit = _lookup(item, _co2_table())
    return round_excel_array(_numbers(qty, quantity=True) * per_unit, load_spec().precision.co2_t)


def _div(num: list, den: list) -> np.ndarray:
    return div_array(_numbers(num), _numbers(den))


def _change(prev: list, cur: list) -> np.ndarray:
    return change_pct_array(_numbers(prev), _numbers(cur), load_spec().precision.change_pct)


def _decline_ok(prev: list, cur: list, indicator: list) -> np.ndarray:
    change, target = np.broadcast_arrays(_change(prev, cur), _lookup(indicator, _target_table()))
    out = np.full(change.shape, None, dtype=object)
    known = np.isfinite(change) & np.isfinite(target)     # change_pct_array overflows to inf, not NaN
    out[known] = (change <= target)[known]
    return out


def _spread(cells: list, n: int) -> list:
    """A broadcast argument (one cell) repeated to n cells."""
    return cells * n if len(cells) == 1 else cells


def _score_ok(indicator_id: list, score: list) -> np.ndarray:
    n = max(len(indicator_id), len(score))
    ids = [v.strip() if isinstance(v, str) else None for v in _spread(indicator_id, n)]
    scores = np.broadcast_to(_numbers(score), (n,))
    out = np.full(n, None, dtype=object)
    for iid in set(ids):
        ind = _indicators().get(iid)
        if ind is None:
            continue
        rows = np.fromiter((i == iid for i in ids), dtype=bool, count=n) & ~np.isnan(scores)
        out[rows] = ~np.isnan(counted_array(ind, scores[rows], spec=load_spec()))
    return out


def _composite(level: list, self_score: list, county: list, prefecture: list, region: list) -> np.ndarray:
    n = max(map(len, (level, self_score, county, prefecture, region)))
    return composite_columns(*(_spread(c, n) for c in (level, self_score, county, prefecture, region)),
                             spec=load_spec())


# ---------------------------------------------------------------- the worksheet functions

def _wizard_doc(f):
    """Dedent the docstring before xlwings reads it: Excel shows it verbatim (first 255 characters)."""
    f.__doc__ = inspect.cleandoc(f.__doc__)
    return f


@xw.func(category=CATEGORY)
@xw.arg("qty", ndim=2, doc="消耗量：数字、单元格或区域；空白、文字、负数得空白")
@xw.arg("item", ndim=2, doc="能源品种：如 电、电消耗量、electricity、electricity_kwh；可为单元格或区域")
@_wizard_doc
def JY_KGCE(qty, item):
    """返回标准煤（千克）= 消耗量 × 折标系数 × 附加系数，按规格四舍五入；无法计算时为空白。
    qty：消耗量（空白、文字、负数得空白）。
    item：能源品种，如 电、电消耗量、electricity。
    """
    return _apply(_kgce, qty, item)


@xw.func(category=CATEGORY)
@xw.arg("qty", ndim=2, doc="消耗量：数字、单元格或区域；空白、文字、负数得空白")
@xw.arg("item", ndim=2, doc="能源品种：如 电、天然气消耗量、gas、gas_m3；可为单元格或区域")
@_wizard_doc
def JY_CO2(qty, item):
    """返回碳排放量（吨）= 消耗量 × 单位碳排放，按规格四舍五入；无法计算时为空白。
    qty：消耗量（空白、文字、负数得空白）。
    item：能源品种，如 电、天然气消耗量、gas。
    """
    return _apply(_co2, qty, item)


@xw.func(category=CATEGORY)
@xw.arg("num", ndim=2, doc="分子：数字、单元格或区域")
@xw.arg("den", ndim=2, doc="分母：数字、单元格或区域；空白、0 或文字时结果为空白")
@_wizard_doc
def JY_DIV(num, den):
    """返回 分子 ÷ 分母（不取舍）；任一方空白或为文字、或分母为 0 时为空白，不出现 #DIV/0!。
    num：分子。
    den：分母。
    """
    return _apply(_div, num, den)


@xw.func(category=CATEGORY)
@xw.arg("prev", ndim=2, doc="上一年度的值：数字、单元格或区域")
@xw.arg("cur", ndim=2, doc="本年度的值：数字、单元格或区域")
@_wizard_doc
def JY_CHANGE(prev, cur):
    """返回同比变化率（%）=（本年 − 上年）÷ 上年 × 100，按规格四舍五入，负数为下降；上年为空白或 0 时为空白。
    prev：上一年度的值。
    cur：本年度的值。
    """
    return _apply(_change, prev, cur)


@xw.func(category=CATEGORY)
@xw.arg("prev", ndim=2, doc="上一年度的强度值：数字、单元格或区域")
@xw.arg("cur", ndim=2, doc="本年度的强度值：数字、单元格或区域")
@xw.arg("indicator", ndim=2, doc="下降指标：如 人均综合能耗、人均能耗、energy_per_capita、单位建筑面积碳排放量")
@_wizard_doc
def JY_DECLINE_OK(prev, cur, indicator):
    """返回 TRUE/FALSE：同比变化率是否达到本年度复验的下降目标（变化率 ≤ 目标）；数据不全或指标无法识别时为空白。
    prev：上一年度的值。
    cur：本年度的值。
    indicator：下降指标，如 人均综合能耗。
    """
    return _apply(_decline_ok, prev, cur, indicator)


@xw.func(category=CATEGORY)
@xw.arg("id", ndim=2, doc="指标编号（文字），如 2.1.1；可为单元格或区域")
@xw.arg("score", ndim=2, doc="自评分：数字、单元格或区域")
@_wizard_doc
def JY_SCORE_OK(id, score):  # noqa: A002  (the argument name Excel's function wizard shows)
    """返回 TRUE/FALSE：自评分是否为该指标评分规则允许的分值；自评分空白或为文字、或编号无法识别时为空白。
    id：指标编号，如 2.1.1。
    score：自评分。
    """
    return _apply(_score_ok, id, score)


@xw.func(category=CATEGORY)
@xw.arg("level", ndim=2, doc="单位层级：县市区级、地州市级、自治区本级（或 county、prefecture、region）")
@xw.arg("self", ndim=2, doc="自评得分（0–100）")
@xw.arg("county", ndim=2, doc="县级复核得分（县市区级单位需要；可省略）")
@xw.arg("prefecture", ndim=2, doc="地州市复核得分（县市区级、地州市级单位需要；可省略）")
@xw.arg("region", ndim=2, doc="自治区复核得分（自治区本级单位需要；可省略）")
@_wizard_doc
def JY_COMPOSITE(level, self, county=None, prefecture=None, region=None):
    """返回综合得分 = Σ 该层级的权重 × 得分，按规格四舍五入；所需得分缺失、非数字或超出 0–100 时为空白。
    level：单位层级，如 县市区级。
    self：自评得分。
    county、prefecture、region：县级、地州市、自治区复核得分。
    """
    return _apply(_composite, level, self, county, prefecture, region)


# ---------------------------------------------------------------- collecting the returned workbooks

COLLECT_CACHE = 2
"""Folder states whose figures are kept (each up to a few MB for thousands of units)."""


def _folder_state(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """(relative path, size, mtime_ns) of every file under `folder`, sorted: what the figures depend on."""
    state = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in files:
            path = Path(root, name)
            try:
                st = path.lstat()
            except OSError:         # gone between the listing and the stat: the next call sees the new state
                continue
            state.append((path.relative_to(folder).as_posix(), st.st_size, st.st_mtime_ns))
    return tuple(sorted(state))


@lru_cache(maxsize=COLLECT_CACHE)
def _collected(folder: str, state: tuple) -> tuple[dict[str, int], tuple[tuple, ...]]:
    """The valid units' figures for the folder in this `state` (the argument is the cache key only):
    (column of each name, one row per unit). Results win over inputs, inputs over unit info and _meta."""
    from .consolidate import consolidate
    run = consolidate(folder, spec=load_spec(), workers=1)   # inside the UDF server: no worker processes, no ledger
    units = [{**f.meta, **f.unit, **f.inputs, **f.results} for f in run.units if not f.blocking]
    columns = {name: i for i, name in enumerate(dict.fromkeys(k for u in units for k in u))}
    rows = tuple(tuple(u.get(name) for name in columns) for u in units)
    return columns, rows


@lru_cache(maxsize=None)
def _contract_names() -> dict[str, str]:
    from workbook_templates import contract_names
    return {n.name.casefold(): n.name for n in contract_names(load_spec())}


def _cell(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return _BLANK
    return value


def _collect(folder: Any, names: Any) -> list[list]:
    shape, cells = _layout(folder)
    texts = [str(c).strip().strip('"').strip() for c in cells if c is not None and str(c).strip()]
    if len(texts) != 1:
        return [["请给出一个回收目录（一个单元格或文字），如 \"D:\\复验\\回收的工作簿\""]]
    path = Path(texts[0])
    if not path.is_absolute():
        return [[f"回收目录「{texts[0]}」请写完整路径，如 D:\\复验\\回收的工作簿"]]
    if not path.is_dir():
        return [[f"回收目录「{texts[0]}」不存在或不是文件夹：请检查路径"]]
    shape, cells = _layout(names)
    if len(shape) == 2 and min(shape) > 1:
        return [["名称应为一个单元格、一行或一列，如 unit_name、self_total"]]
    wanted = [str(c).strip() for c in cells if c is not None and str(c).strip()]
    if not wanted:
        return [["请给出至少一个数据约定名称，如 unit_name、self_total（见 jieyue spec --names）"]]
    known = _contract_names()
    unknown = [w for w in wanted if w.casefold() not in known]
    if unknown:
        return [[f"未知的名称：{'、'.join(unknown)}（数据约定名称见 jieyue spec --names）"]]
    columns, rows = _collected(str(path), _folder_state(path))
    picks = [columns.get(known[w.casefold()]) for w in wanted]
    with _gc_paused():
        return [wanted] + [[_BLANK if i is None else _cell(row[i]) for i in picks] for row in rows]


@xw.func(category=CATEGORY)
@xw.arg("folder", ndim=2, doc="回收目录：存放交回工作簿的文件夹的完整路径，如 D:\\复验\\回收的工作簿；文字或一个单元格")
@xw.arg("names", ndim=2, doc="数据约定名称：一个，或一行、一列单元格，如 unit_name、self_total、chg_co2_per_area；"
                             "见 jieyue spec --names")
@_wizard_doc
def JY_COLLECT(folder, names):
    """返回回收目录中有效单位的数据表：首行为所给名称，其后每个单位一行（已汇总、无错误、未被重复报送取代，按地区和代码排序），值为重算结果；目录中文件未变时不重新读取。
    folder：回收目录的完整路径。
    names：数据约定名称，一个或一行、一列。
    """
    try:
        return _collect(folder, names)
    except Exception as e:      # never a traceback in the cell
        return [[f"无法汇总：{e}"]]
