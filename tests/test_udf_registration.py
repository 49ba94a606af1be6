"""The UDFs register with xlwings as Excel would import them, checked on Linux.

On Linux `xlwings.func/arg/ret` are no-ops, so a typo in `@xw.arg("qyt")` or a keyword-only parameter
would only show on a Windows PC. Here a fresh interpreter stubs pywin32 (`pythoncom`, `pywintypes`,
`win32com.client`), imports the real decorators from `xlwings.udfs` (internal API of the pinned xlwings
0.37.8), imports `addin.functions` with them and generates the VBA wrapper module that "Import Functions"
would write. The stubs live only in that child process, so they cannot leak into other tests.
"""
from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import addin.functions as functions

EXPECTED = {"JY_KGCE", "JY_CO2", "JY_DIV", "JY_CHANGE", "JY_DECLINE_OK", "JY_SCORE_OK", "JY_COMPOSITE",
            "JY_COLLECT"}
CATEGORY = "jieyue 节约型机关"
ROOT = Path(__file__).resolve().parents[1]

CHILD = r'''
import io, json, sys, types

for name in ("pythoncom", "pywintypes", "win32com", "win32com.client"):
    sys.modules[name] = types.ModuleType(name)
sys.modules["pythoncom"].CoInitialize = lambda: None
sys.modules["win32com.client"].Dispatch = lambda *a, **k: None
sys.modules["win32com"].client = sys.modules["win32com.client"]

import xlwings as xw
from xlwings import udfs

xw.func, xw.arg, xw.ret = udfs.xlfunc, udfs.xlarg, udfs.xlret
assert "addin.functions" not in sys.modules
import addin.functions as module            # decorated with the real xlwings decorators

try:                                        # the check this test relies on is really active
    udfs.xlarg("typo")(lambda x: x)
    typo_caught = False
except Exception as e:
    typo_caught = "Invalid argument name" in str(e)


class FakeBook:
    Name = "jieyue.xlam"


vba = io.StringIO()
udfs.generate_vba_wrapper("addin.functions", module, vba, FakeBook())

meta = {name: getattr(module, name).__xlfunc__ for name in dir(module) if hasattr(getattr(module, name), "__xlfunc__")}
print(json.dumps({"xlwings": xw.__version__, "typo_caught": typo_caught, "vba": vba.getvalue(), "meta": meta},
                 default=repr))
'''


@pytest.fixture(scope="module")
def registered():
    proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, f"registering the UDFs failed:\n{proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def jy_functions():
    return {name: getattr(functions, name) for name in dir(functions) if name.startswith("JY_")}


def test_exactly_the_expected_functions():
    assert set(jy_functions()) == EXPECTED
    assert all(callable(f) for f in jy_functions().values())


def test_decorators_are_no_ops_here_and_the_stubs_did_not_leak():
    assert "pythoncom" not in sys.modules and "win32com.client" not in sys.modules
    assert not any(hasattr(f, "__xlfunc__") for f in jy_functions().values())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_signature_is_one_xlwings_accepts(name):
    params = inspect.signature(jy_functions()[name]).parameters.values()
    kinds = {p.kind for p in params}
    assert inspect.Parameter.KEYWORD_ONLY not in kinds, "xlwings does not support keyword-only arguments"
    assert inspect.Parameter.VAR_KEYWORD not in kinds
    has_defaults = any(p.default is not inspect.Parameter.empty for p in params)
    assert not (inspect.Parameter.VAR_POSITIONAL in kinds and has_defaults), "*args with defaults"
    # A type hint would become an xlwings converter on Windows; these functions take raw cells.
    assert all(p.annotation is inspect.Parameter.empty for p in params)
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", p.name) for p in params), "not a VBA identifier"


def test_xlwings_version_is_the_pinned_one(registered):
    assert registered["xlwings"] == "0.37.8"    # the stub trick uses xlwings' internal API
    assert registered["typo_caught"]


def test_every_function_registers_with_metadata(registered):
    meta = registered["meta"]
    assert set(meta) == EXPECTED                # no helper is registered by mistake
    for name, xlf in meta.items():
        f = jy_functions()[name]
        assert xlf["name"] == name
        assert xlf["sub"] is False
        assert xlf["category"] == CATEGORY
        assert xlf["volatile"] is False and xlf["async_mode"] is None
        params = list(inspect.signature(f).parameters)
        assert [a["name"] for a in xlf["args"]] == params
        for a in xlf["args"]:
            assert a["options"] == {"ndim": 2}, (name, a["name"])        # every argument takes a range
            assert not a["doc"].startswith("Positional argument"), (name, a["name"], "needs doc=")
            assert 0 < len(a["doc"]) <= 255, (name, a["name"])          # Excel's ArgumentDescriptions limit
        doc = xlf["ret"]["doc"]
        assert doc == f.__doc__
        assert doc.startswith("返回"), name                              # first words say what it returns
        assert all(p in "\n".join(doc.splitlines()[1:]) for p in params), (name, "describe every argument")
        assert len(doc) <= 255, (name, len(doc))                        # xlwings cuts the description here
        assert xlf["ret"]["options"] == {}


def test_optional_arguments(registered):
    optional = {name: [a["name"] for a in xlf["args"] if "optional" in a] for name, xlf in registered["meta"].items()}
    assert optional.pop("JY_COMPOSITE") == ["county", "prefecture", "region"]
    assert all(not v for v in optional.values()), optional


def test_vba_wrapper_declares_every_function(registered):
    vba = registered["vba"]
    declared = re.findall(r"^Function (JY_\w+)\(", vba, flags=re.M)
    assert sorted(declared) == sorted(EXPECTED)
    assert "Sub " not in vba
    assert "Function JY_KGCE(qty, item)" in vba
    assert "Function JY_COMPOSITE(level, self, Optional county, Optional prefecture, Optional region)" in vba
    assert "Function JY_COLLECT(folder, names)" in vba
    for name in EXPECTED:
        assert f'XLPy.CallUDF("addin.functions", "{name}", ' in vba
    assert "ActiveWorkbook" in vba and "ThisWorkbook" not in vba     # an add-in calls for the active book
