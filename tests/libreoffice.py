"""LibreOffice headless as a recalculating oracle (shared/research/ecosystem.md appendix A).

Each call uses its own profile directory, set to *always recalculate* OOXML files on load: without it
LibreOffice trusts cached values, and two processes sharing a profile hand work to each other and exit early.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

RECALC_ALWAYS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


CHUNK = 200
"""Files per soffice call: LibreOffice 7.4 silently skips every file after about the 246th on one command line."""


def recalculate(files: list[Path], outdir: Path, timeout: float = 600) -> list[Path]:
    """Recalculate every file in LibreOffice (one call per 200 files) and save as .xlsx into `outdir`."""
    outputs: list[Path] = []
    for start in range(0, len(files), CHUNK):
        outputs += convert(files[start:start + CHUNK], outdir, "xlsx", timeout)
    return outputs


def convert(files: list[Path], outdir: Path, fmt: str = "xlsx", timeout: float = 600) -> list[Path]:
    """One LibreOffice call: open `files` (recalculating everything), save them as `fmt` into `outdir`."""
    exe = soffice()
    if exe is None:
        raise RuntimeError("LibreOffice (soffice) is not installed")
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="jieyue-lo-profile-") as profile:
        user = Path(profile, "user")
        user.mkdir()
        (user / "registrymodifications.xcu").write_text(RECALC_ALWAYS, encoding="utf-8")
        cmd = [exe, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
               "--convert-to", fmt, "--outdir", str(outdir), *map(str, files)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "HOME": profile})
    outputs = [outdir / Path(f).with_suffix("." + fmt).name for f in files]
    missing = [p for p in outputs if not p.exists()]
    if done.returncode != 0 or missing:
        raise RuntimeError(f"LibreOffice failed (rc={done.returncode}), missing {missing}:\n{done.stdout}\n{done.stderr}")
    return outputs


def needs_poppler() -> None:
    """Skip the calling test when poppler-utils (pdftotext, pdfinfo) are missing — fail under CI=true, where
    `.ci/run` installs them."""
    import pytest
    if shutil.which("pdftotext") and shutil.which("pdfinfo"):
        return
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true: poppler-utils (pdftotext, pdfinfo) must be installed")
    pytest.skip("poppler-utils (pdftotext, pdfinfo) not installed")


def pdf_pages(pdf: Path, raw: bool = False) -> list[str]:
    """Each page's text, by pdftotext; `raw`: in content order (a wrapped cell's lines stay together)."""
    import re
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    n = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    flags = ["-raw"] if raw else []
    return [subprocess.run(["pdftotext", *flags, "-f", str(i), "-l", str(i), str(pdf), "-"], capture_output=True,
                           text=True, check=True).stdout for i in range(1, n + 1)]
