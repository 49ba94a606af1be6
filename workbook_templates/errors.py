"""The errors a user can cause and fix: one family, each carrying the Chinese message the user reads.

`addin/cli.py` prints a `JieyueError` as 「错误：…」 and exits 2 (the input was wrong); anything else is a
bug or a fault of the machine and exits 1 with a short crash message naming the file being processed, so a
bug never looks like a user error. The family lives with the spec, the lowest layer, so every package can
raise it without importing the shell.
"""
from __future__ import annotations


class JieyueError(ValueError):
    """An input the user can correct (a file, a folder, an option); `str(e)` is the Chinese message.

    A `ValueError` so that code which already handles bad values keeps doing so."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InputError(JieyueError):
    """A command-line choice or input path that cannot be used (unknown level, missing folder …)."""


class UnknownChoice(InputError, KeyError):
    """A year, preset, level or other choice the spec does not have (a `KeyError` too: it is a failed lookup)."""


class OutputError(JieyueError):
    """An output path that cannot be written (wrong suffix, missing folder, a folder where a file goes …)."""


class RosterError(JieyueError):
    """The roster file cannot be read at all (wrong format, unreadable); the message says what to do."""
