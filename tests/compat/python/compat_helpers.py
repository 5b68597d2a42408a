"""Helpers shared by the compat tests (imported by the test modules and conftest.py)."""

import os
import random
import string
import time
from datetime import datetime, timezone

from e2b import Sandbox, SandboxNotFoundException

# How long after its end time a sandbox may still be visible before the test fails.
EXPIRY_GRACE_S = float(os.environ.get("SBX_COMPAT_EXPIRY_GRACE", "7"))
# Timeout for the sandboxes the tests create when they do not care about it.
DEFAULT_TIMEOUT_S = 120
# A well-formed key (passes the SDKs' local format check) that sbx never issued.
WRONG_API_KEY = "e2b_" + "0" * 40
# Label of the SDK version under test (set by run-python.sh), stored in metadata.
LABEL = os.environ.get("SBX_COMPAT_LABEL", "py-manual")


def now() -> datetime:
    return datetime.now(timezone.utc)


def unknown_sandbox_id() -> str:
    """An ID in sbx's format that no sandbox has."""
    return "i" + "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(20))


def list_ids(query=None, limit=None, max_pages=50):
    """All sandbox IDs over all pages of Sandbox.list(query)."""
    paginator = Sandbox.list(query=query, limit=limit)
    ids = []
    pages = 0
    while paginator.has_next:
        pages += 1
        assert pages <= max_pages, "Sandbox.list paginator did not end"
        ids.extend(s.sandbox_id for s in paginator.next_items())
    return ids


def wait_gone(sandbox_id: str, within_s: float) -> float:
    """Polls get_info until SandboxNotFoundException; returns the seconds it took."""
    start = time.monotonic()
    while True:
        try:
            info = Sandbox.get_info(sandbox_id)
        except SandboxNotFoundException:
            return time.monotonic() - start
        elapsed = time.monotonic() - start
        if elapsed > within_s:
            raise AssertionError(
                f"sandbox {sandbox_id} still exists {elapsed:.1f} s later "
                f"(state {info.state}, end_at {info.end_at.isoformat()}, now {now().isoformat()})"
            )
        time.sleep(0.25)


class SandboxFactory:
    """Creates sandboxes and remembers them so that teardown kills every one."""

    def __init__(self):
        self.ids = []

    def create(self, **kwargs) -> Sandbox:
        kwargs.setdefault("timeout", DEFAULT_TIMEOUT_S)
        sbx = Sandbox.create(**kwargs)
        self.ids.append(sbx.sandbox_id)
        return sbx

    def track(self, sandbox_id: str) -> None:
        self.ids.append(sandbox_id)

    def cleanup(self) -> None:
        for sandbox_id in self.ids:
            try:
                Sandbox.kill(sandbox_id)
            except Exception:
                pass
