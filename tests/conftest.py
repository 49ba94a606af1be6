import os

import pytest

from tests.libreoffice import soffice


def pytest_collection_modifyitems(config, items):
    """LibreOffice tests skip where soffice is missing — except in CI, where they must run."""
    needs_lo = [item for item in items if "libreoffice" in item.keywords]
    if not needs_lo or soffice() is not None:
        return
    if os.environ.get("CI") == "true":
        raise pytest.UsageError("CI=true: LibreOffice (soffice) must be installed for the real-engine tests")
    for item in needs_lo:
        item.add_marker(pytest.mark.skip(reason="LibreOffice (soffice) not installed"))


def pytest_configure(config):
    """The ledger's machine secret (`addin.keys.ledger_secret`) goes to a folder of the test session's, never the
    user's own ~/.jieyue."""
    if "JIEYUE_HOME" not in os.environ:
        import tempfile
        os.environ["JIEYUE_HOME"] = tempfile.mkdtemp(prefix="jieyue-home-")
