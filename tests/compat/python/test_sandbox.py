"""Sandbox lifecycle through the official Python SDK (sync API): create, info, list, timeout,
connect, kill, is_running. No commands or files yet."""

import re
import time
from datetime import timedelta

import pytest
from e2b import Sandbox, SandboxNotFoundException, SandboxQuery, SandboxState
from packaging.version import Version

from compat_helpers import EXPIRY_GRACE_S, list_ids, now, wait_gone

# Clock tolerance between the test and the server (same host; covers second truncation).
SKEW = timedelta(seconds=5)


def test_create_with_metadata_and_envs(sandboxes, tag):
    metadata = {"tag": tag, "suite": "compat", "note": "a b&c=d/e%f?g#h+i"}
    sbx = sandboxes.create(
        metadata=metadata,
        envs={"SBX_COMPAT": "1", "SBX_COMPAT_SPACES": "x y z"},
        timeout=60,
    )
    assert re.fullmatch(r"[a-z0-9]+", sbx.sandbox_id), f"bad sandbox id {sbx.sandbox_id!r}"
    info = sbx.get_info()
    assert info.sandbox_id == sbx.sandbox_id
    assert info.metadata == metadata


def test_get_info_fields(sandboxes, tag):
    before = now()
    sbx = sandboxes.create(metadata={"tag": tag}, timeout=120)
    after = now()

    info = sbx.get_info()
    assert info.sandbox_id == sbx.sandbox_id
    assert isinstance(info.template_id, str) and info.template_id
    assert info.name in (None, "base"), f"template name {info.name!r}"
    assert info.metadata == {"tag": tag}
    assert info.state == SandboxState.RUNNING
    assert info.started_at.tzinfo is not None
    assert before - SKEW <= info.started_at <= after + SKEW, (before, info.started_at, after)
    lifetime = (info.end_at - info.started_at).total_seconds()
    assert 115 <= lifetime <= 125, f"end_at - started_at = {lifetime} s for timeout 120 s"
    assert info.end_at > now()
    assert info.cpu_count >= 1
    assert info.memory_mb >= 128
    Version(info.envd_version)  # must parse

    # The static form reads the same sandbox.
    static = Sandbox.get_info(sbx.sandbox_id)
    assert static.sandbox_id == sbx.sandbox_id
    assert static.template_id == info.template_id
    assert static.metadata == {"tag": tag}
    assert static.started_at == info.started_at


def test_list_metadata_filter(sandboxes, tag):
    special = "x y&z=1/2%3+4"
    a = sandboxes.create(metadata={"tag": tag, "role": "a", "note": special})
    b = sandboxes.create(metadata={"tag": tag, "role": "b"})
    other = sandboxes.create(metadata={"tag": tag + "-other", "role": "a"})

    assert sorted(list_ids(SandboxQuery(metadata={"tag": tag}))) == sorted([a.sandbox_id, b.sandbox_id])
    assert list_ids(SandboxQuery(metadata={"tag": tag, "role": "a"})) == [a.sandbox_id]
    assert list_ids(SandboxQuery(metadata={"tag": tag, "note": special})) == [a.sandbox_id]
    assert list_ids(SandboxQuery(metadata={"tag": tag + "-other"})) == [other.sandbox_id]
    assert list_ids(SandboxQuery(metadata={"tag": tag, "role": "c"})) == []

    items = Sandbox.list(query=SandboxQuery(metadata={"tag": tag, "role": "a"})).next_items()
    assert len(items) == 1
    item = items[0]
    assert item.sandbox_id == a.sandbox_id
    assert item.metadata == {"tag": tag, "role": "a", "note": special}
    assert item.state == SandboxState.RUNNING
    assert item.end_at > item.started_at


def test_list_state_filter(sandboxes, tag):
    sbx = sandboxes.create(metadata={"tag": tag})
    md = {"tag": tag}
    assert list_ids(SandboxQuery(metadata=md)) == [sbx.sandbox_id]
    assert list_ids(SandboxQuery(metadata=md, state=[SandboxState.RUNNING])) == [sbx.sandbox_id]
    assert list_ids(SandboxQuery(metadata=md, state=[SandboxState.PAUSED])) == []
    assert list_ids(
        SandboxQuery(metadata=md, state=[SandboxState.RUNNING, SandboxState.PAUSED])
    ) == [sbx.sandbox_id]

    sbx.kill()
    assert list_ids(SandboxQuery(metadata=md)) == []
    assert list_ids(SandboxQuery(metadata=md, state=[SandboxState.RUNNING])) == []


def test_list_pagination(sandboxes, tag):
    created = [sandboxes.create(metadata={"tag": tag}).sandbox_id for _ in range(3)]
    query = SandboxQuery(metadata={"tag": tag})

    paginator = Sandbox.list(query=query, limit=2)
    assert paginator.has_next
    page1 = paginator.next_items()
    assert len(page1) == 2
    assert paginator.has_next
    token = paginator.next_token
    assert token
    page2 = paginator.next_items()
    assert len(page2) == 1
    assert not paginator.has_next
    assert not paginator.next_token
    with pytest.raises(Exception):
        paginator.next_items()

    ids = [s.sandbox_id for s in page1 + page2]
    assert sorted(ids) == sorted(created), "pages must hold each sandbox exactly once"
    # Default order: newest first.
    started = [s.started_at for s in page1 + page2]
    assert started == sorted(started, reverse=True), started

    # The token resumes where the first page ended.
    resumed = Sandbox.list(query=query, limit=2, next_token=token)
    assert [s.sandbox_id for s in resumed.next_items()] == [s.sandbox_id for s in page2]
    assert not resumed.has_next

    # A page that exactly holds the last results carries no token.
    exact = Sandbox.list(query=query, limit=3)
    assert len(exact.next_items()) == 3
    assert not exact.has_next


def test_set_timeout_extend(sandboxes):
    sbx = sandboxes.create(timeout=30)
    sbx.set_timeout(600)
    remaining = (sbx.get_info().end_at - now()).total_seconds()
    assert 590 <= remaining <= 605, f"{remaining} s left after set_timeout(600)"

    Sandbox.set_timeout(sbx.sandbox_id, 300)
    remaining = (Sandbox.get_info(sbx.sandbox_id).end_at - now()).total_seconds()
    assert 290 <= remaining <= 305, f"{remaining} s left after Sandbox.set_timeout(id, 300)"
    assert sbx.is_running()


def test_set_timeout_shorten(sandboxes):
    sbx = sandboxes.create(timeout=300)
    sbx.set_timeout(3)
    remaining = (sbx.get_info().end_at - now()).total_seconds()
    assert remaining <= 4, f"{remaining} s left after set_timeout(3)"
    wait_gone(sbx.sandbox_id, within_s=3 + EXPIRY_GRACE_S)
    assert sbx.is_running() is False
    assert Sandbox.kill(sbx.sandbox_id) is False


def test_killed_by_own_timeout(sandboxes, tag):
    start = time.monotonic()
    sbx = sandboxes.create(timeout=3, metadata={"tag": tag})
    info = Sandbox.get_info(sbx.sandbox_id)
    assert info.state == SandboxState.RUNNING
    wait_gone(sbx.sandbox_id, within_s=3 + EXPIRY_GRACE_S)
    lived = time.monotonic() - start
    assert lived >= 2.0, f"sandbox with timeout 3 s was gone after {lived:.1f} s"
    assert list_ids(SandboxQuery(metadata={"tag": tag})) == []
    assert sbx.is_running() is False
    assert Sandbox.kill(sbx.sandbox_id) is False


def test_connect_running(sandboxes, tag):
    sbx = sandboxes.create(metadata={"tag": tag}, timeout=120)
    connected = Sandbox.connect(sbx.sandbox_id)
    assert connected.sandbox_id == sbx.sandbox_id
    assert connected.is_running()
    info = connected.get_info()
    assert info.sandbox_id == sbx.sandbox_id
    assert info.metadata == {"tag": tag}
    assert info.state == SandboxState.RUNNING

    # The instance form returns the same object.
    assert sbx.connect() is sbx
    assert sbx.is_running()


def test_connect_only_extends_timeout(sandboxes):
    sbx = sandboxes.create(timeout=600)
    end0 = sbx.get_info().end_at

    Sandbox.connect(sbx.sandbox_id, timeout=10)
    end1 = sbx.get_info().end_at
    assert end1 >= end0 - timedelta(seconds=1), f"connect(timeout=10) shortened {end0} to {end1}"

    sbx.connect(timeout=1200)
    remaining = (sbx.get_info().end_at - now()).total_seconds()
    assert 1190 <= remaining <= 1205, f"{remaining} s left after connect(timeout=1200)"


def test_kill(sandboxes):
    a = sandboxes.create()
    b = sandboxes.create()

    assert a.kill() is True
    assert a.kill() is False
    assert Sandbox.kill(a.sandbox_id) is False

    assert Sandbox.kill(b.sandbox_id) is True
    assert Sandbox.kill(b.sandbox_id) is False
    assert b.kill() is False

    for sandbox_id in (a.sandbox_id, b.sandbox_id):
        with pytest.raises(SandboxNotFoundException):
            Sandbox.get_info(sandbox_id)
        with pytest.raises(SandboxNotFoundException):
            Sandbox.connect(sandbox_id)


def test_context_manager_kills(sandboxes):
    with Sandbox.create(timeout=60) as sbx:
        sandboxes.track(sbx.sandbox_id)
        assert sbx.is_running()
    with pytest.raises(SandboxNotFoundException):
        Sandbox.get_info(sbx.sandbox_id)


def test_is_running(sandboxes):
    sbx = sandboxes.create()
    assert sbx.is_running() is True
    assert sbx.kill() is True
    assert sbx.is_running() is False
