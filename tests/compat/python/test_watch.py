"""Directory watching through the official Python SDK: the sync client's polling watcher
(CreateWatcher / GetWatcherEvents / RemoveWatcher) and the async client's streaming watch_dir.
Behaviour: shared/spec/envd-api.md §3.3 (envd 0.6.13, inotify)."""

import asyncio
import time

import pytest
from e2b import (
    AsyncSandbox,
    FileNotFoundException,
    FilesystemEventType as Ev,
    FileType,
    SandboxException,
    TimeoutException,
)

from compat_helpers import DEFAULT_TIMEOUT_S, HOME

EVENT_WAIT_S = 10


def collect_until(handle, wanted, timeout=EVENT_WAIT_S, into=None):
    """Polls handle.get_new_events() until every (type, name) in `wanted` was seen; returns
    all events collected (appended to `into` if given)."""
    events = [] if into is None else into
    deadline = time.monotonic() + timeout
    while True:
        events.extend(handle.get_new_events())
        seen = {(e.type, e.name) for e in events}
        if set(wanted) <= seen:
            return events
        if time.monotonic() > deadline:
            missing = set(wanted) - seen
            raise AssertionError(
                f"events {sorted((t.value, n) for t, n in missing)} not seen; got "
                f"{[(e.type.value, e.name) for e in events]}"
            )
        time.sleep(0.1)


def test_watch_events(sandbox):
    sandbox.files.make_dir("w")
    sandbox.files.write("w/f.txt", "v1")
    handle = sandbox.files.watch_dir("w")
    try:
        sandbox.files.write("w/new.txt", "new")
        sandbox.files.write("w/f.txt", "v2")
        sandbox.commands.run("chmod 600 w/f.txt")
        sandbox.files.rename("w/new.txt", "w/renamed.txt")
        sandbox.commands.run("echo appended >> w/renamed.txt")
        sandbox.files.remove("w/f.txt")
        events = collect_until(
            handle,
            [
                (Ev.CREATE, "new.txt"),
                (Ev.WRITE, "new.txt"),
                (Ev.WRITE, "f.txt"),
                (Ev.CHMOD, "f.txt"),
                (Ev.RENAME, "new.txt"),
                (Ev.CREATE, "renamed.txt"),
                (Ev.WRITE, "renamed.txt"),
                (Ev.REMOVE, "f.txt"),
            ],
        )
        # Without include_entry no entry is attached.
        assert all(e.entry is None for e in events)
    finally:
        handle.stop()
    with pytest.raises(SandboxException):
        handle.get_new_events()


def test_watch_new_file_exact_events(sandbox):
    # Writing a new file through the SDK is exactly: create, chown (chmod event), one write.
    sandbox.files.make_dir("exact")
    handle = sandbox.files.watch_dir("exact")
    try:
        sandbox.files.write("exact/file.txt", "content")
        events = collect_until(handle, [(Ev.WRITE, "file.txt")])
        time.sleep(0.5)
        events.extend(handle.get_new_events())
        assert [(e.type, e.name) for e in events] == [
            (Ev.CREATE, "file.txt"),
            (Ev.CHMOD, "file.txt"),
            (Ev.WRITE, "file.txt"),
        ]
        # Nothing new happened: no events.
        assert handle.get_new_events() == []
    finally:
        handle.stop()


def test_watch_recursive(sandbox):
    sandbox.files.make_dir("rec/existing")
    deep = sandbox.files.watch_dir("rec", recursive=True)
    flat = sandbox.files.watch_dir("rec")
    try:
        sandbox.files.make_dir("rec/added")
        sandbox.files.write("rec/added/x.txt", "x")
        sandbox.files.write("rec/existing/y.txt", "y")
        deep_events = collect_until(
            deep,
            [
                (Ev.CREATE, "added"),
                (Ev.CREATE, "added/x.txt"),
                (Ev.WRITE, "added/x.txt"),
                (Ev.WRITE, "existing/y.txt"),
            ],
        )
        assert deep_events
        # The non-recursive watcher sees the new directory, but nothing inside subdirectories.
        sandbox.files.write("rec/top.txt", "t")
        flat_events = collect_until(flat, [(Ev.CREATE, "added"), (Ev.WRITE, "top.txt")])
        assert not [e for e in flat_events if "/" in e.name], [
            (e.type.value, e.name) for e in flat_events
        ]
    finally:
        deep.stop()
        flat.stop()


def test_watch_include_entry(sandbox):
    sandbox.files.make_dir("ent")
    sandbox.files.write("ent/f.txt", "1")
    handle = sandbox.files.watch_dir("ent", include_entry=True)
    try:
        sandbox.files.write("ent/f.txt", "22")
        sandbox.files.remove("ent/f.txt")
        events = collect_until(handle, [(Ev.WRITE, "f.txt"), (Ev.REMOVE, "f.txt")])
        write = next(e for e in events if e.type == Ev.WRITE)
        # Best effort: the file may already be gone when envd stats it for a late event.
        if write.entry is not None:
            assert write.entry.name == "f.txt"
            assert write.entry.path == f"{HOME}/ent/f.txt"
            assert write.entry.type == FileType.FILE
        remove = next(e for e in events if e.type == Ev.REMOVE)
        assert remove.entry is None
    finally:
        handle.stop()

    # With the file left in place the entry is there.
    sandbox.files.write("ent/g.txt", "1")
    handle = sandbox.files.watch_dir("ent", include_entry=True)
    try:
        sandbox.files.write("ent/g.txt", "333")
        events = collect_until(handle, [(Ev.WRITE, "g.txt")])
        write = next(e for e in events if e.type == Ev.WRITE)
        assert write.entry is not None
        assert (write.entry.name, write.entry.path, write.entry.type) == (
            "g.txt", f"{HOME}/ent/g.txt", FileType.FILE
        )
    finally:
        handle.stop()


def test_watch_errors(sandbox):
    with pytest.raises(FileNotFoundException):
        sandbox.files.watch_dir("no-such-dir")
    sandbox.files.write("plain.txt", "x")
    with pytest.raises(SandboxException):
        sandbox.files.watch_dir("plain.txt")


def test_watch_async(sandboxes):
    async def main():
        sbx = await AsyncSandbox.create(timeout=DEFAULT_TIMEOUT_S)
        sandboxes.track(sbx.sandbox_id)
        await sbx.files.make_dir("aw/sub")
        events = []
        changed = asyncio.Event()

        def on_event(e):
            events.append((e.type, e.name))
            changed.set()

        async def wait_for(wanted):
            deadline = time.monotonic() + EVENT_WAIT_S
            while not set(wanted) <= set(events):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{wanted} not all in {events}")
                changed.clear()
                try:
                    await asyncio.wait_for(changed.wait(), remaining)
                except asyncio.TimeoutError:
                    pass

        handle = await sbx.files.watch_dir("aw", on_event=on_event, recursive=True)
        await sbx.files.write("aw/a.txt", "a")
        await sbx.files.write("aw/sub/b.txt", "b")
        await sbx.files.remove("aw/a.txt")
        await wait_for(
            [(Ev.CREATE, "a.txt"), (Ev.WRITE, "a.txt"), (Ev.WRITE, "sub/b.txt"),
             (Ev.REMOVE, "a.txt")]
        )
        await handle.stop()
        count = len(events)
        await sbx.files.write("aw/after-stop.txt", "late")
        await asyncio.sleep(1)
        assert len(events) == count, f"events after stop: {events[count:]}"

        with pytest.raises(FileNotFoundException):
            await sbx.files.watch_dir("aw/none", on_event=on_event)

        # The watch stream ends at its timeout (default 60 s; here 1 s) with an error for
        # on_exit.
        exits = []
        done = asyncio.Event()

        def on_exit(err):
            exits.append(err)
            done.set()

        await sbx.files.watch_dir("aw", on_event=on_event, on_exit=on_exit, timeout=1)
        await asyncio.wait_for(done.wait(), 15)
        assert exits and isinstance(exits[0], TimeoutException), exits
        await sbx.kill()

    asyncio.run(main())
