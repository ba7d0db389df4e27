"""Shared fixtures, and the Hypothesis profiles of the suite's own property tests.

The suite's profiles have names of their own (``suite-*``), chosen by ``$BPVERIFY_TEST_PROFILE``:
bpverify's profiles (dev, ci, thorough, chosen by ``$BPVERIFY_PROFILE``) say how many examples
*a grade* draws per check, these how many the suite's own ``@given`` tests draw.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference"

#: The environment variable that picks one of the suite's profiles below.
TEST_PROFILE_ENV = "BPVERIFY_TEST_PROFILE"
settings.register_profile("suite-ci", max_examples=25, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("suite-dev", max_examples=50, deadline=None)
settings.register_profile("suite-thorough", max_examples=500, deadline=None)
settings.load_profile(os.environ.get(TEST_PROFILE_ENV, "suite-ci"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="also run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def reference_path() -> Path:
    return REFERENCE


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A folder every user may enter (pytest's own are 0700): where the worker can drop its uid,
    as it does on Gradescope, the submission must be readable by that uid."""
    path = Path(tempfile.mkdtemp(prefix="bpverify-open-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)
