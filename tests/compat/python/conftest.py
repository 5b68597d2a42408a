"""Fixtures for the compat tests that drive sbx through the official `e2b` package.

The SDK reads E2B_API_URL, E2B_SANDBOX_URL, E2B_API_KEY and E2B_DOMAIN from the environment;
tests/compat/run-python.sh sets them (tests/harness/lib.sh, sbx_start_daemon). Every test kills
what it created, in a fixture teardown, whether it passed or not.
"""

import os
import uuid

import pytest

from compat_helpers import LABEL, SandboxFactory


def pytest_configure(config):
    missing = [v for v in ("E2B_API_URL", "E2B_API_KEY") if not os.environ.get(v)]
    if missing:
        raise pytest.UsageError(
            "compat tests need a running sbx: set "
            + ", ".join(missing)
            + " (tests/compat/run-python.sh starts a daemon and sets them)"
        )


@pytest.fixture
def sandboxes():
    factory = SandboxFactory()
    try:
        yield factory
    finally:
        factory.cleanup()


@pytest.fixture
def sandbox(sandboxes):
    """A fresh sandbox from `base` (killed after the test)."""
    return sandboxes.create()


@pytest.fixture
def tag() -> str:
    """A metadata value no other test or run uses."""
    return f"{LABEL}-{uuid.uuid4().hex[:16]}"
