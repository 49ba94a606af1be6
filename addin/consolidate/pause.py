"""`JIEYUE_PAUSE_AT=<stage>`: a run that waits at a named stage, so that a test can kill it there.

The fault tests (tests/test_faults.py) start `jieyue consolidate` with the variable set, wait for the line
「JIEYUE_PAUSE_AT <stage> <pid>」 on standard error, kill the process with SIGKILL and check what the next run finds.
The stages, in the order a run reaches them:

    reading    the first chunk of files has been read on the worker processes (they are alive)
    written    every output is complete in its temporary file; nothing has been renamed yet
    renaming   the run marker is written and the summary renamed into place; the report and the ledger are not
    ledger     the summary and the report are in place; the ledger is about to be committed

Unset (always, outside the tests) it costs one dictionary lookup per stage. The pause ends after
`MAX_PAUSE` seconds, so a forgotten variable cannot hang a run for good.
"""
from __future__ import annotations

import os
import sys
import time

VARIABLE = "JIEYUE_PAUSE_AT"
STAGES = ("reading", "written", "renaming", "ledger")
MAX_PAUSE = 600.0


def pause_at(stage: str) -> None:
    """Wait here when JIEYUE_PAUSE_AT names this stage (announced on standard error)."""
    if os.environ.get(VARIABLE) != stage:
        return
    print(f"{VARIABLE} {stage} {os.getpid()}", file=sys.stderr, flush=True)
    time.sleep(MAX_PAUSE)
