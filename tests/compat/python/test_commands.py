"""Commands through the official Python SDK (sandbox.commands): run, exit codes, callbacks,
background handles, list, connect, stdin, envs, cwd, users, timeouts, kill, and a sandbox killed
while a command streams. Behaviour: shared/spec/envd-api.md §2 (envd 0.6.13)."""

import time

import pytest
from e2b import (
    AsyncSandbox,
    CommandExitException,
    InvalidArgumentException,
    NotFoundException,
    SandboxException,
    TimeoutException,
)
from packaging.version import Version

from compat_helpers import DEFAULT_TIMEOUT_S, HOME, SDK_VERSION, needs_sdk, wait_for

# A pid no sandbox process has (envd's pid_max is far below it).
UNKNOWN_PID = 999999


def live_pids(sandbox):
    return {p.pid for p in sandbox.commands.list()}


def test_run_stdout_stderr(sandbox):
    result = sandbox.commands.run("echo out; echo err >&2; printf 'no newline'")
    assert result.exit_code == 0
    assert result.stdout == "out\nno newline"
    assert result.stderr == "err\n"
    assert result.error is None

    # Multi-byte UTF-8 and a larger output (several stream chunks) come back intact.
    text = "zażółć gęślą jaźń 🐢 — ✓"
    assert sandbox.commands.run(f"printf '%s' '{text}'").stdout == text
    big = sandbox.commands.run("head -c 300000 /dev/zero | tr '\\0' a; echo; seq 1 20000")
    assert big.stdout == "a" * 300000 + "\n" + "".join(f"{i}\n" for i in range(1, 20001))


def test_run_exit_code_raises(sandbox):
    with pytest.raises(CommandExitException) as info:
        sandbox.commands.run("echo partial; echo oops >&2; exit 3")
    err = info.value
    assert err.exit_code == 3
    assert err.stdout == "partial\n"
    assert err.stderr == "oops\n"
    assert err.error == "exit status 3"
    assert isinstance(err, SandboxException)

    # A command that is not found: bash exits 127.
    with pytest.raises(CommandExitException) as info:
        sandbox.commands.run("sbx-no-such-command-xyz")
    assert info.value.exit_code == 127
    assert "not found" in info.value.stderr


def test_run_callbacks(sandbox):
    out, err = [], []
    result = sandbox.commands.run(
        "for i in 1 2 3; do echo out$i; echo err$i >&2; sleep 0.2; done",
        on_stdout=out.append,
        on_stderr=err.append,
    )
    assert "".join(out) == "out1\nout2\nout3\n"
    assert "".join(err) == "err1\nerr2\nerr3\n"
    # Output streams as it is produced: one chunk per 0.2 s step at least.
    assert len(out) >= 2, f"stdout arrived in one chunk: {out}"
    assert result.stdout == "".join(out)
    assert result.stderr == "".join(err)


def test_stdin_is_closed_by_default(sandbox):
    # Without stdin=True the command's stdin is empty: `cat` ends at once instead of hanging.
    start = time.monotonic()
    result = sandbox.commands.run("cat; echo done", timeout=20)
    assert result.stdout == "done\n"
    assert time.monotonic() - start < 15


def test_background_wait_kill(sandbox):
    handle = sandbox.commands.run("sleep 30", background=True)
    assert isinstance(handle.pid, int) and handle.pid > 0
    assert handle.pid in live_pids(sandbox)

    assert handle.kill() is True
    with pytest.raises(CommandExitException) as info:
        handle.wait()
    assert info.value.exit_code == -1
    assert "killed" in (info.value.error or ""), info.value.error

    # The process is gone (and reaped): kill reports False, kill -0 fails, list drops it.
    assert sandbox.commands.kill(handle.pid) is False
    with pytest.raises(CommandExitException):
        sandbox.commands.run(f"kill -0 {handle.pid}")
    wait_for(lambda: handle.pid not in live_pids(sandbox), 5, "the killed pid to leave list()")

    # A background command that finishes by itself.
    done = sandbox.commands.run("sleep 0.5; echo finished", background=True)
    result = done.wait()
    assert result.exit_code == 0
    assert result.stdout == "finished\n"

    assert sandbox.commands.kill(UNKNOWN_PID) is False


def test_list(sandbox):
    a = sandbox.commands.run("sleep 31", background=True)
    b = sandbox.commands.run(
        "sleep 32", background=True, envs={"SBX_LIST": "yes"}, cwd="/tmp"
    )
    try:
        procs = {p.pid: p for p in sandbox.commands.list()}
        assert a.pid in procs and b.pid in procs, procs
        pa, pb = procs[a.pid], procs[b.pid]
        # The SDK starts every command as /bin/bash -l -c <command>; list shows the request.
        assert pa.cmd == "/bin/bash"
        assert pa.args == ["-l", "-c", "sleep 31"]
        assert pb.args == ["-l", "-c", "sleep 32"]
        assert pb.envs == {"SBX_LIST": "yes"}
        assert pb.cwd == "/tmp"
        assert pa.cwd in (None, ""), pa.cwd
        assert pa.tag is None
    finally:
        a.kill()
        b.kill()
    wait_for(lambda: not ({a.pid, b.pid} & live_pids(sandbox)), 5, "killed pids to leave list()")


def test_connect_by_pid(sandbox):
    handle = sandbox.commands.run(
        'read line; echo "got:$line"; echo bye >&2; exit 4', background=True, stdin=True
    )
    connected = sandbox.commands.connect(handle.pid)
    assert connected.pid == handle.pid
    sandbox.commands.send_stdin(handle.pid, "hello\n")

    with pytest.raises(CommandExitException) as info:
        connected.wait()
    assert info.value.exit_code == 4
    assert info.value.stdout == "got:hello\n"
    assert info.value.stderr == "bye\n"

    # The original handle saw the same output and end.
    with pytest.raises(CommandExitException) as info:
        handle.wait()
    assert info.value.exit_code == 4
    assert info.value.stdout == "got:hello\n"

    with pytest.raises(NotFoundException):
        sandbox.commands.connect(UNKNOWN_PID)


def test_disconnect_keeps_process(sandbox):
    handle = sandbox.commands.run("read line; echo \"late:$line\"", background=True, stdin=True)
    handle.disconnect()
    assert handle.pid in live_pids(sandbox)
    again = sandbox.commands.connect(handle.pid)
    again.send_stdin("x\n")
    assert again.wait().stdout == "late:x\n"


def test_send_stdin_and_close(sandbox):
    handle = sandbox.commands.run("cat", background=True, stdin=True)
    sandbox.commands.send_stdin(handle.pid, "hello ")
    sandbox.commands.send_stdin(handle.pid, b"world\n")
    handle.send_stdin("ąę🐢\n")
    sandbox.commands.close_stdin(handle.pid)
    result = handle.wait()
    assert result.exit_code == 0
    assert result.stdout == "hello world\nąę🐢\n"

    # The handle's own close_stdin.
    other = sandbox.commands.run("wc -c", background=True, stdin=True)
    other.send_stdin("12345")
    other.close_stdin()
    assert other.wait().stdout.strip() == "5"

    # stdin of a command started without stdin=True cannot be written.
    plain = sandbox.commands.run("sleep 20", background=True)
    try:
        with pytest.raises(SandboxException):
            sandbox.commands.send_stdin(plain.pid, "x")
    finally:
        plain.kill()

    with pytest.raises(NotFoundException):
        sandbox.commands.send_stdin(UNKNOWN_PID, "x")


@needs_sdk("2.63.0", "commands.stream_input")
def test_stream_input(sandbox):
    handle = sandbox.commands.run("cat", background=True, stdin=True)
    sandbox.commands.stream_input(handle.pid, ["one ", b"two ", "three\n"])
    sandbox.commands.close_stdin(handle.pid)
    assert handle.wait().stdout == "one two three\n"


def test_envs(sandboxes):
    sandbox = sandboxes.create(envs={"SBX_GLOBAL": "global-value", "SBX_BOTH": "from-create"})
    result = sandbox.commands.run(
        'echo "$SBX_GLOBAL|$SBX_BOTH|$SBX_CMD|$E2B_SANDBOX|$E2B_SANDBOX_ID"',
        envs={"SBX_CMD": "a b=c", "SBX_BOTH": "from-command"},
    )
    assert result.stdout == f"global-value|from-command|a b=c|true|{sandbox.sandbox_id}\n"

    # Command envs do not leak into later commands; creation envs stay.
    later = sandbox.commands.run('echo "${SBX_CMD:-unset}|$SBX_BOTH"')
    assert later.stdout == "unset|from-create\n"

    # HOME / USER follow the acting user.
    assert sandbox.commands.run('echo "$HOME $USER"').stdout == f"{HOME} user\n"
    assert sandbox.commands.run('echo "$HOME $USER"', user="root").stdout == "/root root\n"


def test_cwd(sandbox):
    assert sandbox.commands.run("pwd").stdout == f"{HOME}\n"
    assert sandbox.commands.run("pwd", cwd="/tmp").stdout == "/tmp\n"
    sandbox.commands.run("mkdir -p sub/dir")
    assert sandbox.commands.run("pwd", cwd="sub/dir").stdout == f"{HOME}/sub/dir\n"
    assert sandbox.commands.run("pwd", cwd="~/sub").stdout == f"{HOME}/sub\n"
    with pytest.raises(InvalidArgumentException):
        sandbox.commands.run("pwd", cwd="/sbx/does/not/exist")


def test_user_root_vs_user(sandbox):
    assert sandbox.commands.run("id -u; whoami; pwd").stdout == f"1000\nuser\n{HOME}\n"
    assert sandbox.commands.run("id -u; whoami", user="user").stdout == "1000\nuser\n"
    assert sandbox.commands.run("id -u; whoami", user="root").stdout == "0\nroot\n"

    # Files created by a command belong to the acting user.
    sandbox.commands.run("touch /tmp/by-user")
    sandbox.commands.run("touch /tmp/by-root", user="root")
    owners = sandbox.commands.run("stat -c %U /tmp/by-user /tmp/by-root").stdout
    assert owners == "user\nroot\n"

    # The template's passwordless sudo works for user.
    assert sandbox.commands.run("sudo id -u").stdout == "0\n"


def test_permission_denied_for_user(sandbox):
    with pytest.raises(CommandExitException) as info:
        sandbox.commands.run("echo x > /root/forbidden")
    assert info.value.exit_code == 1
    assert "Permission denied" in info.value.stderr

    sandbox.commands.run("echo x > /root/allowed", user="root")
    assert sandbox.commands.run("cat /root/allowed", user="root").stdout == "x\n"


def test_timeout(sandbox):
    start = time.monotonic()
    with pytest.raises(TimeoutException):
        sandbox.commands.run("sleep 10; echo never", timeout=1)
    assert time.monotonic() - start < 8

    # The server kills the process at the deadline, not just the stream.
    def sleep10_gone():
        return not any(p.args[-1:] == ["sleep 10; echo never"] for p in sandbox.commands.list())

    wait_for(sleep10_gone, 5, "the timed-out command to be killed")

    # Background commands have the same deadline.
    handle = sandbox.commands.run("sleep 10", background=True, timeout=2)
    with pytest.raises(TimeoutException):
        handle.wait()

    # A short command well within its timeout.
    assert sandbox.commands.run("echo ok", timeout=5).stdout == "ok\n"


def test_timeout_zero_means_unlimited(sandbox):
    limited = sandbox.commands.run("sleep 6", background=True, timeout=2)
    unlimited = sandbox.commands.run("sleep 6; echo survived", background=True, timeout=0)
    time.sleep(3.5)
    pids = live_pids(sandbox)
    assert limited.pid not in pids, "a command with timeout 2 s still runs after 3.5 s"
    assert unlimited.pid in pids, "a command with timeout 0 was killed"
    assert unlimited.wait().stdout == "survived\n"


def test_sandbox_killed_during_command(sandboxes):
    sandbox = sandboxes.create()
    handle = sandbox.commands.run("echo started; sleep 60", background=True)
    time.sleep(0.5)
    sandbox.kill()
    start = time.monotonic()
    with pytest.raises(TimeoutException) as info:
        handle.wait()
    assert time.monotonic() - start < 20
    # The SDK probes GET /health (502 = gone) after the dropped stream: e2b >= 2.5x says so
    # outright; 2.45.1 maps the dropped connection straight to its sandbox-timeout text.
    message = str(info.value)
    assert (
        "sandbox was killed or reached its end of life" in message
        or "likely due to sandbox timeout" in message
    ), message
    if SDK_VERSION >= Version("2.63.0"):
        assert "sandbox was killed or reached its end of life" in message, message
    assert sandbox.is_running() is False


def test_async_commands(sandboxes):
    import asyncio

    async def main():
        sbx = await AsyncSandbox.create(timeout=DEFAULT_TIMEOUT_S)
        sandboxes.track(sbx.sandbox_id)
        out = []
        result = await sbx.commands.run("echo a; echo b >&2", on_stdout=out.append)
        assert (result.stdout, result.stderr, result.exit_code) == ("a\n", "b\n", 0)
        assert "".join(out) == "a\n"

        with pytest.raises(CommandExitException) as info:
            await sbx.commands.run("exit 5")
        assert info.value.exit_code == 5

        seen = []
        handle = await sbx.commands.run(
            "cat", background=True, stdin=True, on_stdout=seen.append
        )
        await sbx.commands.send_stdin(handle.pid, "async-in\n")
        await sbx.commands.close_stdin(handle.pid)
        result = await handle.wait()
        assert result.stdout == "async-in\n"
        assert "".join(seen) == "async-in\n"

        sleeper = await sbx.commands.run("sleep 30", background=True)
        assert sleeper.pid in {p.pid for p in await sbx.commands.list()}
        assert await sbx.commands.kill(sleeper.pid) is True
        with pytest.raises(CommandExitException):
            await sleeper.wait()
        assert await sbx.commands.kill(sleeper.pid) is False

        with pytest.raises(TimeoutException):
            await sbx.commands.run("sleep 10", timeout=1)
        await sbx.kill()

    asyncio.run(main())

