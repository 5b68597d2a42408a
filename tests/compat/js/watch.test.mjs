// Directory watching through the official JS SDK (files.watchDir, a WatchDir stream).
// Behaviour: shared/spec/envd-api.md §3.3 (envd 0.6.13, inotify). Test names match the Python
// suite's.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FileNotFoundError, FileType, FilesystemEventType as Ev, SandboxError, TimeoutError } from 'e2b'

import { HOME, TEST_TIMEOUT_MS, rejectsWith, sandboxFor, sleep, waitFor } from './helpers.mjs'

const opts = { timeout: TEST_TIMEOUT_MS }
const EVENT_WAIT_MS = 10_000

/** Event recorder: `onEvent` for watchDir, `until(pairs)` waits for every [type, name]. */
function recorder() {
  const events = []
  return {
    events,
    onEvent: (e) => {
      events.push(e)
    },
    pairs: () => events.map((e) => `${e.type} ${e.name}`),
    async until(wanted) {
      await waitFor(
        () => wanted.every(([type, name]) => events.some((e) => e.type === type && e.name === name)),
        EVENT_WAIT_MS,
        `events ${JSON.stringify(wanted)} (got ${JSON.stringify(events.map((e) => [e.type, e.name]))})`
      )
      return events
    },
  }
}

test('test_watch_events', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  await sandbox.files.makeDir('w')
  await sandbox.files.write('w/f.txt', 'v1')
  const rec = recorder()
  const handle = await sandbox.files.watchDir('w', rec.onEvent)
  try {
    await sandbox.files.write('w/new.txt', 'new')
    await sandbox.files.write('w/f.txt', 'v2')
    await sandbox.commands.run('chmod 600 w/f.txt')
    await sandbox.files.rename('w/new.txt', 'w/renamed.txt')
    await sandbox.commands.run('echo appended >> w/renamed.txt')
    await sandbox.files.remove('w/f.txt')
    const events = await rec.until([
      [Ev.CREATE, 'new.txt'],
      [Ev.WRITE, 'new.txt'],
      [Ev.WRITE, 'f.txt'],
      [Ev.CHMOD, 'f.txt'],
      [Ev.RENAME, 'new.txt'],
      [Ev.CREATE, 'renamed.txt'],
      [Ev.WRITE, 'renamed.txt'],
      [Ev.REMOVE, 'f.txt'],
    ])
    // Without includeEntry no entry is attached.
    assert.ok(events.every((e) => e.entry === undefined))
  } finally {
    await handle.stop()
  }
  // Nothing arrives after stop.
  const count = rec.events.length
  await sandbox.files.write('w/after-stop.txt', 'late')
  await sleep(1000)
  assert.deepEqual(rec.pairs().slice(count), [])
})

test('test_watch_new_file_exact_events', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  // Writing a new file through the SDK is exactly: create, chown (chmod event), one write.
  await sandbox.files.makeDir('exact')
  const rec = recorder()
  const handle = await sandbox.files.watchDir('exact', rec.onEvent)
  try {
    await sandbox.files.write('exact/file.txt', 'content')
    await rec.until([[Ev.WRITE, 'file.txt']])
    await sleep(500)
    assert.deepEqual(rec.pairs(), ['create file.txt', 'chmod file.txt', 'write file.txt'])
  } finally {
    await handle.stop()
  }
})

test('test_watch_recursive', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  await sandbox.files.makeDir('rec/existing')
  const deep = recorder()
  const flat = recorder()
  const deepHandle = await sandbox.files.watchDir('rec', deep.onEvent, { recursive: true })
  const flatHandle = await sandbox.files.watchDir('rec', flat.onEvent)
  try {
    await sandbox.files.makeDir('rec/added')
    await sandbox.files.write('rec/added/x.txt', 'x')
    await sandbox.files.write('rec/existing/y.txt', 'y')
    await deep.until([
      [Ev.CREATE, 'added'],
      [Ev.CREATE, 'added/x.txt'],
      [Ev.WRITE, 'added/x.txt'],
      [Ev.WRITE, 'existing/y.txt'],
    ])
    // The non-recursive watcher sees the new directory, but nothing inside subdirectories.
    await sandbox.files.write('rec/top.txt', 't')
    await flat.until([
      [Ev.CREATE, 'added'],
      [Ev.WRITE, 'top.txt'],
    ])
    assert.deepEqual(flat.events.filter((e) => e.name.includes('/')), [])
  } finally {
    await deepHandle.stop()
    await flatHandle.stop()
  }
})

test('test_watch_include_entry', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  await sandbox.files.makeDir('ent')
  await sandbox.files.write('ent/g.txt', '1')
  const rec = recorder()
  const handle = await sandbox.files.watchDir('ent', rec.onEvent, { includeEntry: true })
  try {
    await sandbox.files.write('ent/g.txt', '333')
    await rec.until([[Ev.WRITE, 'g.txt']])
    const write = rec.events.find((e) => e.type === Ev.WRITE)
    assert.ok(write.entry, 'WRITE event has an entry')
    assert.equal(write.entry.name, 'g.txt')
    assert.equal(write.entry.path, `${HOME}/ent/g.txt`)
    assert.equal(write.entry.type, FileType.FILE)
    assert.ok(write.entry.modifiedTime instanceof Date)
    await sandbox.files.remove('ent/g.txt')
    await rec.until([[Ev.REMOVE, 'g.txt']])
    assert.equal(rec.events.find((e) => e.type === Ev.REMOVE).entry, undefined)
  } finally {
    await handle.stop()
  }
})

test('test_watch_errors', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  await rejectsWith(sandbox.files.watchDir('no-such-dir', () => {}), FileNotFoundError)
  await sandbox.files.write('plain.txt', 'x')
  await rejectsWith(sandbox.files.watchDir('plain.txt', () => {}), SandboxError)
})

test('test_watch_timeout', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  await sandbox.files.makeDir('tw')
  // The watch stream ends at its timeout (default 60 s; here 1.5 s) with an error for onExit.
  let exitErr = null
  let exited = false
  const rec = recorder()
  await sandbox.files.watchDir('tw', rec.onEvent, {
    timeoutMs: 1500,
    onExit: (err) => {
      exitErr = err
      exited = true
    },
  })
  await sandbox.files.write('tw/early.txt', 'e')
  await rec.until([[Ev.WRITE, 'early.txt']])
  await waitFor(() => exited, 15_000, 'onExit after the watch timeout')
  assert.ok(exitErr instanceof TimeoutError, `onExit got ${exitErr}`)

  // timeoutMs 0: the watch outlives the default and keeps delivering.
  const rec2 = recorder()
  const handle = await sandbox.files.watchDir('tw', rec2.onEvent, { timeoutMs: 0 })
  try {
    await sleep(2000)
    await sandbox.files.write('tw/later.txt', 'l')
    await rec2.until([[Ev.WRITE, 'later.txt']])
  } finally {
    await handle.stop()
  }
})
