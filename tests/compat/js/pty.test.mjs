// PTYs through the official JS SDK (sandbox.pty): create with a size, input, output, resize,
// kill, connect. Behaviour: shared/spec/envd-api.md §2 (envd 0.6.13). Test names match the
// Python suite's.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CommandExitError, SandboxError } from 'e2b'

import { TEST_TIMEOUT_MS, ptyCollector, rejectsWith, sandboxFor, waitFor } from './helpers.mjs'

const opts = { timeout: TEST_TIMEOUT_MS }
const enc = (s) => new TextEncoder().encode(s)

test('test_pty_create_input_output', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  const out = ptyCollector()
  const terminal = await sandbox.pty.create({
    cols: 80,
    rows: 24,
    onData: out.onData,
    envs: { SBX_PTY: 'pty-ok' },
    cwd: '/tmp',
  })
  assert.ok(terminal.pid > 0)
  // The typed line is echoed back by the terminal; only the expansion proves it ran.
  await sandbox.pty.sendInput(terminal.pid, enc('echo "$SBX_PTY:$(pwd):$TERM:$((6*7))"\n'))
  await out.waitFor('pty-ok:/tmp:xterm-256color:42')
  await sandbox.pty.sendInput(terminal.pid, enc('tty\n'))
  await out.waitFor('/dev/pts/')
  await sandbox.pty.sendInput(terminal.pid, enc('exit 0\n'))
  const result = await terminal.wait()
  assert.equal(result.exitCode, 0)
})

test('test_pty_resize', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  const out = ptyCollector()
  const terminal = await sandbox.pty.create({ cols: 80, rows: 24, onData: out.onData })
  await sandbox.pty.sendInput(terminal.pid, enc('echo size=$(stty size)\n'))
  await out.waitFor('size=24 80')
  await sandbox.pty.resize(terminal.pid, { cols: 100, rows: 30 })
  await sandbox.pty.sendInput(terminal.pid, enc('echo size=$(stty size) cols=$(tput cols)\n'))
  await out.waitFor('size=30 100 cols=100')
  await sandbox.pty.sendInput(terminal.pid, enc('exit\n'))
  assert.equal((await terminal.wait()).exitCode, 0)

  // Resizing a command that has no PTY fails.
  const plain = await sandbox.commands.run('sleep 20', { background: true })
  try {
    await rejectsWith(sandbox.pty.resize(plain.pid, { cols: 10, rows: 10 }), SandboxError)
  } finally {
    await plain.kill()
  }
})

test('test_pty_kill', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  const terminal = await sandbox.pty.create({ cols: 80, rows: 24, onData: () => {} })
  const info = (await sandbox.commands.list()).find((p) => p.pid === terminal.pid)
  assert.ok(info, 'the PTY is listed')
  // Listed as the SDK's interactive login shell.
  assert.equal(info.cmd, '/bin/bash')
  assert.deepEqual(info.args, ['-i', '-l'])

  assert.equal(await sandbox.pty.kill(terminal.pid), true)
  const err = await rejectsWith(terminal.wait(), CommandExitError)
  assert.equal(err.exitCode, -1)
  assert.equal(await sandbox.pty.kill(terminal.pid), false)
  await waitFor(
    async () => !(await sandbox.commands.list()).some((p) => p.pid === terminal.pid),
    5000,
    'the killed PTY to leave list()'
  )
})

test('test_pty_connect', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  const first = ptyCollector()
  const terminal = await sandbox.pty.create({
    cols: 80,
    rows: 24,
    onData: first.onData,
    envs: { SBX_FOO: 'bar' },
  })
  await sandbox.pty.sendInput(terminal.pid, enc('echo "first:$SBX_FOO"\n'))
  await first.waitFor('first:bar')
  await terminal.disconnect()

  const second = ptyCollector()
  const again = await sandbox.pty.connect(terminal.pid, { onData: second.onData })
  assert.equal(again.pid, terminal.pid)
  await sandbox.pty.sendInput(terminal.pid, enc('echo "second:$SBX_FOO:$((40+2))"\n'))
  await second.waitFor('second:bar:42')
  // The disconnected handle got none of the new output.
  assert.ok(!first.text().includes('second:bar:42'))
  await sandbox.pty.sendInput(terminal.pid, enc('exit 0\n'))
  assert.equal((await again.wait()).exitCode, 0)
})

test('test_pty_user_and_exit_code', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  const out = ptyCollector()
  const terminal = await sandbox.pty.create({ cols: 80, rows: 24, onData: out.onData, user: 'root' })
  await sandbox.pty.sendInput(terminal.pid, enc('echo "who=$(whoami)"\n'))
  await out.waitFor('who=root')
  await sandbox.pty.sendInput(terminal.pid, enc('exit 7\n'))
  const err = await rejectsWith(terminal.wait(), CommandExitError)
  assert.equal(err.exitCode, 7)
})
