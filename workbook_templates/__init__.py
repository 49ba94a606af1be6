"""The declarative spec: energy items, factor presets, targets, the standard, weights and the data contract.

This package is the single source of truth: every factor, target and point value lives in `spec/*.toml`.
`load_spec()` reads it once into immutable objects; `contract_names(spec)` lists the defined names every
workbook, result and summary column uses. What the TOML does not say — template versions, sheet names, the 参数
columns, the unit-identity and `_meta` names — is fixed in `workbook_templates.contract`.
"""
from functools import lru_cache

from .errors import InputError, JieyueError, OutputError, RosterError, UnknownChoice
from .load import SPEC_DIR, SpecError, load_spec as _load
from .model import SLOTS, Spec

__all__ = ["SLOTS", "SPEC_DIR", "Spec", "SpecError", "JieyueError", "InputError", "OutputError", "RosterError",
           "UnknownChoice",
           "load_spec", "contract_names"]


@lru_cache(maxsize=8)
def _cached(directory):
    spec = _load(directory)
    contract_names(spec)   # names must be unique: raises SpecError otherwise
    return spec


def load_spec(directory=None) -> Spec:
    """The spec in `directory` (default: the shipped one), validated and cached."""
    return _cached(str(directory) if directory is not None else None)


from .names import contract_names  # noqa: E402  (names need load_spec)
