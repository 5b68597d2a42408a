"""PTYs through the official Python SDK (sandbox.pty): create with a size, input, output,
resize, kill, connect. Behaviour: shared/spec/envd-api.md §2 (envd 0.6.13)."""

import asyncio

import pytest
from e2b import AsyncSandbox, CommandExitException, PtySize, SandboxException

from compat_helpers import DEFAULT_TIMEOUT_S, PtyCollector, wait_for


def test_pty_create_input_output(sandbox):
    terminal = sandbox.pty.create(
        PtySize(rows=24, cols=80), envs={"SBX_PTY": "pty-ok"}, cwd="/tmp"
    )
    assert terminal.pid > 0
    out = PtyCollector(terminal)
    # The typed line is echoed back by the terminal; only the expansion proves it ran.
    sandbox.pty.send_stdin(terminal.pid, b'echo "$SBX_PTY:$(pwd):$TERM:$((6*7))"\n')
    out.wait_for("pty-ok:/tmp:xterm-256color:42")
    sandbox.pty.send_stdin(terminal.pid, b"tty\n")
    out.wait_for("/dev/pts/")
    sandbox.pty.send_stdin(terminal.pid, b"exit 0\n")
    out.join()
    assert out.error is None, out.error
    assert out.result.exit_code == 0


def test_pty_resize(sandbox):
    terminal = sandbox.pty.create(PtySize(rows=24, cols=80))
    out = PtyCollector(terminal)
    sandbox.pty.send_stdin(terminal.pid, b"echo size=$(stty size)\n")
    out.wait_for("size=24 80")
    sandbox.pty.resize(terminal.pid, PtySize(rows=30, cols=100))
    sandbox.pty.send_stdin(terminal.pid, b"echo size=$(stty size) cols=$(tput cols)\n")
    out.wait_for("size=30 100 cols=100")
    sandbox.pty.send_stdin(terminal.pid, b"exit\n")
    out.join()
    assert out.result is not None and out.result.exit_code == 0, out.error

    # Resizing a command that has no PTY fails.
    plain = sandbox.commands.run("sleep 20", background=True)
    try:
        with pytest.raises(SandboxException):
            sandbox.pty.resize(plain.pid, PtySize(rows=10, cols=10))
    finally:
        plain.kill()


def test_pty_kill(sandbox):
    terminal = sandbox.pty.create(PtySize(rows=24, cols=80))
    out = PtyCollector(terminal)
    assert terminal.pid in {p.pid for p in sandbox.commands.list()}
    # Listed as the SDK's interactive login shell.
    info = next(p for p in sandbox.commands.list() if p.pid == terminal.pid)
    assert info.cmd == "/bin/bash" and info.args == ["-i", "-l"]

    assert sandbox.pty.kill(terminal.pid) is True
    out.join()
    assert isinstance(out.error, CommandExitException), out.error
    assert out.error.exit_code == -1
    assert sandbox.pty.kill(terminal.pid) is False
    wait_for(lambda: terminal.pid not in {p.pid for p in sandbox.commands.list()}, 5,
             "the killed PTY to leave list()")


def test_pty_connect(sandbox):
    terminal = sandbox.pty.create(PtySize(rows=24, cols=80), envs={"SBX_FOO": "bar"})
    sandbox.pty.send_stdin(terminal.pid, b'echo "first:$SBX_FOO"\n')
    # (The sync handle's stream cannot be closed while another thread reads it, so the first
    # handle is not drained here.)
    terminal.disconnect()

    again = sandbox.pty.connect(terminal.pid)
    assert again.pid == terminal.pid
    second = PtyCollector(again)
    sandbox.pty.send_stdin(terminal.pid, b'echo "second:$SBX_FOO:$((40+2))"\n')
    second.wait_for("second:bar:42")
    sandbox.pty.send_stdin(terminal.pid, b"exit 0\n")
    second.join()
    assert second.error is None, second.error
    assert second.result.exit_code == 0


def test_pty_user_and_exit_code(sandbox):
    terminal = sandbox.pty.create(PtySize(rows=24, cols=80), user="root")
    out = PtyCollector(terminal)
    sandbox.pty.send_stdin(terminal.pid, b'echo "who=$(whoami)"\n')
    out.wait_for("who=root")
    sandbox.pty.send_stdin(terminal.pid, b"exit 7\n")
    out.join()
    assert isinstance(out.error, CommandExitException), out.error
    assert out.error.exit_code == 7


def test_pty_async(sandboxes):
    async def main():
        sbx = await AsyncSandbox.create(timeout=DEFAULT_TIMEOUT_S)
        sandboxes.track(sbx.sandbox_id)
        received = bytearray()
        terminal = await sbx.pty.create(
            PtySize(rows=20, cols=70), on_data=lambda d: received.extend(d)
        )

        async def wait_text(needle):
            for _ in range(200):
                if needle in received.decode("utf-8", "replace"):
                    return
                await asyncio.sleep(0.1)
            raise AssertionError(f"{needle!r} not in {received.decode('utf-8', 'replace')!r}")

        await sbx.pty.send_stdin(terminal.pid, b"echo size=$(stty size)\n")
        await wait_text("size=20 70")
        await sbx.pty.resize(terminal.pid, PtySize(rows=21, cols=71))
        await sbx.pty.send_stdin(terminal.pid, b"echo size=$(stty size)\n")
        await wait_text("size=21 71")
        assert await sbx.pty.kill(terminal.pid) is True
        with pytest.raises(CommandExitException):
            await terminal.wait()
        assert await sbx.pty.kill(terminal.pid) is False
        await sbx.kill()

    asyncio.run(main())
