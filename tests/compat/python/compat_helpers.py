"""Helpers shared by the compat tests (imported by the test modules and conftest.py)."""

import importlib.metadata
import os
import random
import string
import threading
import time
import uuid
from datetime import datetime, timezone

import pytest
from e2b import Sandbox, SandboxNotFoundException
from packaging.version import Version

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


# --- in-sandbox API helpers (commands, PTY, files, watch, git) ---------------------------------

# Version of the e2b package under test (tests for features it lacks are skipped, with it named).
SDK_VERSION = Version(importlib.metadata.version("e2b"))
# The sandbox's default user and its home (base template; envd-api.md §1).
HOME = "/home/user"


def needs_sdk(version: str, feature: str):
    """Skips a test on SDK versions older than `version`, which have no `feature`."""
    return pytest.mark.skipif(
        SDK_VERSION < Version(version),
        reason=f"e2b {SDK_VERSION} has no {feature} (added in {version})",
    )


def unique(prefix: str) -> str:
    """A name no other test or run uses (for paths inside the sandbox)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def wait_for(predicate, timeout: float, what: str, interval: float = 0.1):
    """Polls predicate() until it returns a truthy value (returned); fails after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class PtyCollector:
    """Drains a sync PTY CommandHandle in a thread (handle.wait(on_pty=...)), so that the test
    can send input and look at the output meanwhile. `result` / `error` are set when the PTY
    ends."""

    def __init__(self, handle):
        self.handle = handle
        self._buf = bytearray()
        self._lock = threading.Lock()
        self.result = None
        self.error = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _on_pty(self, data: bytes) -> None:
        with self._lock:
            self._buf.extend(data)

    def _run(self) -> None:
        try:
            self.result = self.handle.wait(on_pty=self._on_pty)
        except Exception as e:  # the test looks at it
            self.error = e

    def text(self) -> str:
        with self._lock:
            return self._buf.decode("utf-8", errors="replace")

    def wait_for(self, needle: str, timeout: float = 20) -> str:
        wait_for(lambda: needle in self.text() or not self._thread.is_alive(), timeout,
                 f"{needle!r} in the PTY output")
        text = self.text()
        assert needle in text, f"PTY ended without printing {needle!r}; output: {text!r}"
        return text

    def join(self, timeout: float = 20) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"PTY still running after {timeout} s; output: {self.text()!r}"
