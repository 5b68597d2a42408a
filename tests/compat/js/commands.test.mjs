// Commands through the official JS SDK (sandbox.commands): run, exit codes, callbacks,
// background handles, list, connect, stdin, envs, cwd, users, timeouts, kill, and a sandbox
// killed while a command streams. Behaviour: shared/spec/envd-api.md §2 (envd 0.6.13).
// Test names match the Python suite's.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  CommandExitError,
  InvalidArgumentError,
  NotFoundError,
  SandboxError,
  TimeoutError,
} from 'e2b'

import { HOME, TEST_TIMEOUT_MS, rejectsWith, sandboxFor, sandboxes, sleep, waitFor } from './helpers.mjs'

const opts = { timeout: TEST_TIMEOUT_MS }
// A pid no sandbox process has.
const UNKNOWN_PID = 999999

const livePids = async (sandbox) => new Set((await sandbox.commands.list()).map((p) => p.pid))

test('test_run_stdout_stderr', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  const result = await sandbox.commands.run("echo out; echo err >&2; printf 'no newline'")
  assert.equal(result.exitCode, 0)
  assert.equal(result.stdout, 'out\nno newline')
  assert.equal(result.stderr, 'err\n')
  assert.equal(result.error, undefined)

  // Multi-byte UTF-8 and a larger output (several stream chunks) come back intact.
  const text = 'zażółć gęślą jaźń 🐢 — ✓'
  assert.equal((await sandbox.commands.run(`printf '%s' '${text}'`)).stdout, text)
  const big = await sandbox.commands.run("head -c 300000 /dev/zero | tr '\\0' a; echo; seq 1 20000")
  const seq = Array.from({ length: 20000 }, (_, i) => `${i + 1}\n`).join('')
  assert.equal(big.stdout, 'a'.repeat(300000) + '\n' + seq)
})

test('test_run_exit_code_raises', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  const err = await rejectsWith(
    sandbox.commands.run('echo partial; echo oops >&2; exit 3'),
    CommandExitError
  )
  assert.equal(err.exitCode, 3)
  assert.equal(err.stdout, 'partial\n')
  assert.equal(err.stderr, 'oops\n')
  assert.equal(err.error, 'exit status 3')
  assert.equal(err.message, 'exit status 3')
  assert.ok(err instanceof SandboxError)

  // A command that is not found: bash exits 127.
  const notFound = await rejectsWith(sandbox.commands.run('sbx-no-such-command-xyz'), CommandExitError)
  assert.equal(notFound.exitCode, 127)
  assert.match(notFound.stderr, /not found/)
})

test('test_run_callbacks', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  const out = []
  const err = []
  const result = await sandbox.commands.run(
    'for i in 1 2 3; do echo out$i; echo err$i >&2; sleep 0.2; done',
    { onStdout: (d) => out.push(d), onStderr: (d) => err.push(d) }
  )
  assert.equal(out.join(''), 'out1\nout2\nout3\n')
  assert.equal(err.join(''), 'err1\nerr2\nerr3\n')
  // Output streams as it is produced: one chunk per 0.2 s step at least.
  assert.ok(out.length >= 2, `stdout arrived in one chunk: ${JSON.stringify(out)}`)
  assert.equal(result.stdout, out.join(''))
  assert.equal(result.stderr, err.join(''))
})

test('test_stdin_is_closed_by_default', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  // Without stdin: true the command's stdin is empty: `cat` ends at once instead of hanging.
  const start = Date.now()
  const result = await sandbox.commands.run('cat; echo done', { timeoutMs: 20_000 })
  assert.equal(result.stdout, 'done\n')
  assert.ok(Date.now() - start < 15_000)
})

test('test_background_wait_kill', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  const handle = await sandbox.commands.run('sleep 30', { background: true })
  assert.ok(Number.isInteger(handle.pid) && handle.pid > 0)
  assert.ok((await livePids(sandbox)).has(handle.pid))
  assert.equal(handle.exitCode, undefined)

  assert.equal(await handle.kill(), true)
  const err = await rejectsWith(handle.wait(), CommandExitError)
  assert.equal(err.exitCode, -1)
  assert.match(err.error ?? '', /killed/)
  assert.equal(handle.exitCode, -1)

  // The process is gone (and reaped): kill reports false, kill -0 fails, list drops it.
  assert.equal(await sandbox.commands.kill(handle.pid), false)
  await rejectsWith(sandbox.commands.run(`kill -0 ${handle.pid}`), CommandExitError)
  await waitFor(async () => !(await livePids(sandbox)).has(handle.pid), 5000, 'the killed pid to leave list()')

  // A background command that finishes by itself.
  const done = await sandbox.commands.run('sleep 0.5; echo finished', { background: true })
  const result = await done.wait()
  assert.equal(result.exitCode, 0)
  assert.equal(result.stdout, 'finished\n')
  assert.equal(done.stdout, 'finished\n')

  assert.equal(await sandbox.commands.kill(UNKNOWN_PID), false)
})

test('test_list', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  const a = await sandbox.commands.run('sleep 31', { background: true })
  const b = await sandbox.commands.run('sleep 32', {
    background: true,
    envs: { SBX_LIST: 'yes' },
    cwd: '/tmp',
  })
  try {
    const procs = new Map((await sandbox.commands.list()).map((p) => [p.pid, p]))
    assert.ok(procs.has(a.pid) && procs.has(b.pid), JSON.stringify([...procs.keys()]))
    const pa = procs.get(a.pid)
    const pb = procs.get(b.pid)
    // The SDK starts every command as /bin/bash -l -c <command>; list shows the request.
    assert.equal(pa.cmd, '/bin/bash')
    assert.deepEqual(pa.args, ['-l', '-c', 'sleep 31'])
    assert.deepEqual(pb.args, ['-l', '-c', 'sleep 32'])
    assert.deepEqual(pb.envs, { SBX_LIST: 'yes' })
    assert.equal(pb.cwd, '/tmp')
    assert.equal(pa.cwd, undefined)
    assert.equal(pa.tag, undefined)
  } finally {
    await a.kill()
    await b.kill()
  }
  await waitFor(
    async () => {
      const pids = await livePids(sandbox)
      return !pids.has(a.pid) && !pids.has(b.pid)
    },
    5000,
    'killed pids to leave list()'
  )
})

test('test_connect_by_pid', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  const handle = await sandbox.commands.run('read line; echo "got:$line"; echo bye >&2; exit 4', {
    background: true,
    stdin: true,
  })
  const seen = []
  const connected = await sandbox.commands.connect(handle.pid, { onStdout: (d) => seen.push(d) })
  assert.equal(connected.pid, handle.pid)
  await sandbox.commands.sendStdin(handle.pid, 'hello\n')

  const err = await rejectsWith(connected.wait(), CommandExitError)
  assert.equal(err.exitCode, 4)
  assert.equal(err.stdout, 'got:hello\n')
  assert.equal(err.stderr, 'bye\n')
  assert.equal(seen.join(''), 'got:hello\n')

  // The original handle saw the same output and end.
  const first = await rejectsWith(handle.wait(), CommandExitError)
  assert.equal(first.exitCode, 4)
  assert.equal(first.stdout, 'got:hello\n')

  await rejectsWith(sandbox.commands.connect(UNKNOWN_PID), NotFoundError)
})

test('test_disconnect_keeps_process', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  const early = []
  const handle = await sandbox.commands.run('read line; echo "late:$line"', {
    background: true,
    stdin: true,
    onStdout: (d) => early.push(d),
  })
  await handle.disconnect()
  assert.ok((await livePids(sandbox)).has(handle.pid))
  const again = await sandbox.commands.connect(handle.pid)
  await again.sendStdin('x\n')
  assert.equal((await again.wait()).stdout, 'late:x\n')
  // The disconnected handle's callback saw none of it.
  assert.deepEqual(early, [])
})

test('test_send_stdin_and_close', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  const handle = await sandbox.commands.run('cat', { background: true, stdin: true })
  await sandbox.commands.sendStdin(handle.pid, 'hello ')
  await sandbox.commands.sendStdin(handle.pid, new TextEncoder().encode('world\n'))
  await handle.sendStdin('ąę🐢\n')
  await sandbox.commands.closeStdin(handle.pid)
  const result = await handle.wait()
  assert.equal(result.exitCode, 0)
  assert.equal(result.stdout, 'hello world\nąę🐢\n')

  // The handle's own closeStdin.
  const other = await sandbox.commands.run('wc -c', { background: true, stdin: true })
  await other.sendStdin('12345')
  await other.closeStdin()
  assert.equal((await other.wait()).stdout.trim(), '5')

  // stdin of a command started without stdin: true cannot be written.
  const plain = await sandbox.commands.run('sleep 20', { background: true })
  try {
    await rejectsWith(sandbox.commands.sendStdin(plain.pid, 'x'), SandboxError)
  } finally {
    await plain.kill()
  }

  await rejectsWith(sandbox.commands.sendStdin(UNKNOWN_PID, 'x'), NotFoundError)
})

test('test_envs', opts, async (t) => {
  const sandbox = await sandboxFor(t, { envs: { SBX_GLOBAL: 'global-value', SBX_BOTH: 'from-create' } })
  const result = await sandbox.commands.run(
    'echo "$SBX_GLOBAL|$SBX_BOTH|$SBX_CMD|$E2B_SANDBOX|$E2B_SANDBOX_ID"',
    { envs: { SBX_CMD: 'a b=c', SBX_BOTH: 'from-command' } }
  )
  assert.equal(result.stdout, `global-value|from-command|a b=c|true|${sandbox.sandboxId}\n`)

  // Command envs do not leak into later commands; creation envs stay.
  const later = await sandbox.commands.run('echo "${SBX_CMD:-unset}|$SBX_BOTH"')
  assert.equal(later.stdout, 'unset|from-create\n')

  // HOME / USER follow the acting user.
  assert.equal((await sandbox.commands.run('echo "$HOME $USER"')).stdout, `${HOME} user\n`)
  assert.equal((await sandbox.commands.run('echo "$HOME $USER"', { user: 'root' })).stdout, '/root root\n')
})

test('test_cwd', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  assert.equal((await sandbox.commands.run('pwd')).stdout, `${HOME}\n`)
  assert.equal((await sandbox.commands.run('pwd', { cwd: '/tmp' })).stdout, '/tmp\n')
  await sandbox.commands.run('mkdir -p sub/dir')
  assert.equal((await sandbox.commands.run('pwd', { cwd: 'sub/dir' })).stdout, `${HOME}/sub/dir\n`)
  assert.equal((await sandbox.commands.run('pwd', { cwd: '~/sub' })).stdout, `${HOME}/sub\n`)
  await rejectsWith(sandbox.commands.run('pwd', { cwd: '/sbx/does/not/exist' }), InvalidArgumentError)
})

test('test_user_root_vs_user', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  assert.equal((await sandbox.commands.run('id -u; whoami; pwd')).stdout, `1000\nuser\n${HOME}\n`)
  assert.equal((await sandbox.commands.run('id -u; whoami', { user: 'user' })).stdout, '1000\nuser\n')
  assert.equal((await sandbox.commands.run('id -u; whoami', { user: 'root' })).stdout, '0\nroot\n')

  // Files created by a command belong to the acting user.
  await sandbox.commands.run('touch /tmp/by-user')
  await sandbox.commands.run('touch /tmp/by-root', { user: 'root' })
  const owners = await sandbox.commands.run('stat -c %U /tmp/by-user /tmp/by-root')
  assert.equal(owners.stdout, 'user\nroot\n')

  // The template's passwordless sudo works for user.
  assert.equal((await sandbox.commands.run('sudo id -u')).stdout, '0\n')
})

test('test_permission_denied_for_user', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  const err = await rejectsWith(sandbox.commands.run('echo x > /root/forbidden'), CommandExitError)
  assert.equal(err.exitCode, 1)
  assert.match(err.stderr, /Permission denied/)

  await sandbox.commands.run('echo x > /root/allowed', { user: 'root' })
  assert.equal((await sandbox.commands.run('cat /root/allowed', { user: 'root' })).stdout, 'x\n')
})

test('test_timeout', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  const start = Date.now()
  await rejectsWith(sandbox.commands.run('sleep 10; echo never', { timeoutMs: 1000 }), TimeoutError)
  assert.ok(Date.now() - start < 8000)

  // The server kills the process at the deadline, not just the stream.
  await waitFor(
    async () => !(await sandbox.commands.list()).some((p) => p.args.at(-1) === 'sleep 10; echo never'),
    5000,
    'the timed-out command to be killed'
  )

  // Background commands have the same deadline.
  const handle = await sandbox.commands.run('sleep 10', { background: true, timeoutMs: 2000 })
  await rejectsWith(handle.wait(), TimeoutError)

  // A short command well within its timeout.
  assert.equal((await sandbox.commands.run('echo ok', { timeoutMs: 5000 })).stdout, 'ok\n')
})

test('test_timeout_zero_means_unlimited', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  const limited = await sandbox.commands.run('sleep 6', { background: true, timeoutMs: 2000 })
  const unlimited = await sandbox.commands.run('sleep 6; echo survived', { background: true, timeoutMs: 0 })
  limited.wait().catch(() => {})
  await sleep(3500)
  const pids = await livePids(sandbox)
  assert.ok(!pids.has(limited.pid), 'a command with timeoutMs 2000 still runs after 3.5 s')
  assert.ok(pids.has(unlimited.pid), 'a command with timeoutMs 0 was killed')
  assert.equal((await unlimited.wait()).stdout, 'survived\n')
})

test('test_sandbox_killed_during_command', opts, async (t) => {
  const sandbox = await sandboxes(t).create()
  const handle = await sandbox.commands.run('echo started; sleep 60', { background: true })
  // A foreground run streaming at the same time.
  const foreground = sandbox.commands.run('sleep 60')
  foreground.catch(() => {})
  await sleep(500)
  await sandbox.kill()
  const start = Date.now()
  // The SDK probes GET /health (502 = gone) after the dropped stream.
  const re = /sandbox was killed or reached its end of life/
  await rejectsWith(handle.wait(), TimeoutError, re)
  await rejectsWith(foreground, TimeoutError, re)
  assert.ok(Date.now() - start < 20_000)
  assert.equal(await sandbox.isRunning(), false)
})
