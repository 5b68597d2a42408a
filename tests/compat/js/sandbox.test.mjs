// Sandbox lifecycle through the official JS SDK: create, info, list, timeout, connect, kill,
// isRunning. No commands or files yet. Test names match the Python suite's.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Sandbox, SandboxNotFoundError } from 'e2b'

import {
  EXPIRY_GRACE_MS,
  TEST_TIMEOUT_MS,
  listIds,
  sandboxes,
  secondsUntil,
  sorted,
  uniqueTag,
  waitGone,
} from './helpers.mjs'

// Clock tolerance between the test and the server (same host; covers second truncation).
const SKEW_MS = 5000
const opts = { timeout: TEST_TIMEOUT_MS }

test('test_create_with_metadata_and_envs', opts, async (t) => {
  const box = sandboxes(t)
  const metadata = { tag: uniqueTag(), suite: 'compat', note: 'a b&c=d/e%f?g#h+i' }
  const sbx = await box.create({
    metadata,
    envs: { SBX_COMPAT: '1', SBX_COMPAT_SPACES: 'x y z' },
    timeoutMs: 60_000,
  })
  assert.match(sbx.sandboxId, /^[a-z0-9]+$/)
  const info = await sbx.getInfo()
  assert.equal(info.sandboxId, sbx.sandboxId)
  assert.deepEqual(info.metadata, metadata)
})

test('test_get_info_fields', opts, async (t) => {
  const box = sandboxes(t)
  const tag = uniqueTag()
  const before = Date.now()
  const sbx = await box.create({ metadata: { tag }, timeoutMs: 120_000 })
  const after = Date.now()

  const info = await sbx.getInfo()
  assert.equal(info.sandboxId, sbx.sandboxId)
  assert.equal(typeof info.templateId, 'string')
  assert.ok(info.templateId.length > 0)
  assert.ok(info.name === undefined || info.name === 'base', `template name ${info.name}`)
  assert.deepEqual(info.metadata, { tag })
  assert.equal(info.state, 'running')
  assert.ok(!Number.isNaN(info.startedAt.getTime()), 'startedAt parses')
  assert.ok(!Number.isNaN(info.endAt.getTime()), 'endAt parses')
  assert.ok(
    info.startedAt.getTime() >= before - SKEW_MS && info.startedAt.getTime() <= after + SKEW_MS,
    `startedAt ${info.startedAt.toISOString()} not within the create call`
  )
  const lifetime = (info.endAt - info.startedAt) / 1000
  assert.ok(lifetime >= 115 && lifetime <= 125, `endAt - startedAt = ${lifetime} s for timeout 120 s`)
  assert.ok(info.endAt.getTime() > Date.now())
  assert.ok(info.cpuCount >= 1)
  assert.ok(info.memoryMB >= 128)
  assert.match(info.envdVersion, /^\d+\.\d+\.\d+$/)
  const [major, minor] = info.envdVersion.split('.').map(Number)
  assert.ok(major > 0 || minor >= 1, `envdVersion ${info.envdVersion} < 0.1.0`)

  // The static form reads the same sandbox.
  const same = await Sandbox.getInfo(sbx.sandboxId)
  assert.equal(same.sandboxId, sbx.sandboxId)
  assert.equal(same.templateId, info.templateId)
  assert.deepEqual(same.metadata, { tag })
  assert.equal(same.startedAt.getTime(), info.startedAt.getTime())
})

test('test_list_metadata_filter', opts, async (t) => {
  const box = sandboxes(t)
  const tag = uniqueTag()
  const special = 'x y&z=1/2%3+4'
  const a = await box.create({ metadata: { tag, role: 'a', note: special } })
  const b = await box.create({ metadata: { tag, role: 'b' } })
  const other = await box.create({ metadata: { tag: tag + '-other', role: 'a' } })

  assert.deepEqual(sorted(await listIds({ query: { metadata: { tag } } })), sorted([a.sandboxId, b.sandboxId]))
  assert.deepEqual(await listIds({ query: { metadata: { tag, role: 'a' } } }), [a.sandboxId])
  assert.deepEqual(await listIds({ query: { metadata: { tag, note: special } } }), [a.sandboxId])
  assert.deepEqual(await listIds({ query: { metadata: { tag: tag + '-other' } } }), [other.sandboxId])
  assert.deepEqual(await listIds({ query: { metadata: { tag, role: 'c' } } }), [])

  const items = await Sandbox.list({ query: { metadata: { tag, role: 'a' } } }).nextItems()
  assert.equal(items.length, 1)
  assert.equal(items[0].sandboxId, a.sandboxId)
  assert.deepEqual(items[0].metadata, { tag, role: 'a', note: special })
  assert.equal(items[0].state, 'running')
  assert.ok(items[0].endAt > items[0].startedAt)
})

test('test_list_state_filter', opts, async (t) => {
  const box = sandboxes(t)
  const metadata = { tag: uniqueTag() }
  const sbx = await box.create({ metadata })
  assert.deepEqual(await listIds({ query: { metadata } }), [sbx.sandboxId])
  assert.deepEqual(await listIds({ query: { metadata, state: ['running'] } }), [sbx.sandboxId])
  assert.deepEqual(await listIds({ query: { metadata, state: ['paused'] } }), [])
  assert.deepEqual(await listIds({ query: { metadata, state: ['running', 'paused'] } }), [sbx.sandboxId])

  await sbx.kill()
  assert.deepEqual(await listIds({ query: { metadata } }), [])
  assert.deepEqual(await listIds({ query: { metadata, state: ['running'] } }), [])
})

test('test_list_pagination', opts, async (t) => {
  const box = sandboxes(t)
  const metadata = { tag: uniqueTag() }
  const created = []
  for (let i = 0; i < 3; i++) created.push((await box.create({ metadata })).sandboxId)
  const query = { metadata }

  const paginator = Sandbox.list({ query, limit: 2 })
  assert.equal(paginator.hasNext, true)
  const page1 = await paginator.nextItems()
  assert.equal(page1.length, 2)
  assert.equal(paginator.hasNext, true)
  const token = paginator.nextToken
  assert.ok(token, 'X-Next-Token after a full first page')
  const page2 = await paginator.nextItems()
  assert.equal(page2.length, 1)
  assert.equal(paginator.hasNext, false)
  assert.ok(!paginator.nextToken)
  await assert.rejects(() => paginator.nextItems())

  const all = [...page1, ...page2]
  assert.deepEqual(sorted(all.map((s) => s.sandboxId)), sorted(created), 'each sandbox exactly once')
  // Default order: newest first.
  const started = all.map((s) => s.startedAt.getTime())
  assert.deepEqual(started, [...started].sort((x, y) => y - x))

  // The token resumes where the first page ended.
  const resumed = Sandbox.list({ query, limit: 2, nextToken: token })
  assert.deepEqual(
    (await resumed.nextItems()).map((s) => s.sandboxId),
    page2.map((s) => s.sandboxId)
  )
  assert.equal(resumed.hasNext, false)

  // A page that exactly holds the last results carries no token.
  const exact = Sandbox.list({ query, limit: 3 })
  assert.equal((await exact.nextItems()).length, 3)
  assert.equal(exact.hasNext, false)
})

test('test_set_timeout_extend', opts, async (t) => {
  const box = sandboxes(t)
  const sbx = await box.create({ timeoutMs: 30_000 })
  await sbx.setTimeout(600_000)
  let remaining = secondsUntil((await sbx.getInfo()).endAt)
  assert.ok(remaining >= 590 && remaining <= 605, `${remaining} s left after setTimeout(600 s)`)

  await Sandbox.setTimeout(sbx.sandboxId, 300_000)
  remaining = secondsUntil((await Sandbox.getInfo(sbx.sandboxId)).endAt)
  assert.ok(remaining >= 290 && remaining <= 305, `${remaining} s left after Sandbox.setTimeout(id, 300 s)`)
  assert.equal(await sbx.isRunning(), true)
})

test('test_set_timeout_shorten', opts, async (t) => {
  const box = sandboxes(t)
  const sbx = await box.create({ timeoutMs: 300_000 })
  await sbx.setTimeout(3_000)
  const remaining = secondsUntil((await sbx.getInfo()).endAt)
  assert.ok(remaining <= 4, `${remaining} s left after setTimeout(3 s)`)
  await waitGone(sbx.sandboxId, 3_000 + EXPIRY_GRACE_MS)
  assert.equal(await sbx.isRunning(), false)
  assert.equal(await Sandbox.kill(sbx.sandboxId), false)
})

test('test_killed_by_own_timeout', opts, async (t) => {
  const box = sandboxes(t)
  const metadata = { tag: uniqueTag() }
  const start = Date.now()
  const sbx = await box.create({ timeoutMs: 3_000, metadata })
  const info = await Sandbox.getInfo(sbx.sandboxId)
  assert.equal(info.state, 'running')
  await waitGone(sbx.sandboxId, 3_000 + EXPIRY_GRACE_MS)
  const lived = (Date.now() - start) / 1000
  assert.ok(lived >= 2.0, `sandbox with timeout 3 s was gone after ${lived} s`)
  assert.deepEqual(await listIds({ query: { metadata } }), [])
  assert.equal(await sbx.isRunning(), false)
  assert.equal(await Sandbox.kill(sbx.sandboxId), false)
})

test('test_connect_running', opts, async (t) => {
  const box = sandboxes(t)
  const tag = uniqueTag()
  const sbx = await box.create({ metadata: { tag }, timeoutMs: 120_000 })
  const connected = await Sandbox.connect(sbx.sandboxId)
  assert.equal(connected.sandboxId, sbx.sandboxId)
  assert.equal(await connected.isRunning(), true)
  const info = await connected.getInfo()
  assert.equal(info.sandboxId, sbx.sandboxId)
  assert.deepEqual(info.metadata, { tag })
  assert.equal(info.state, 'running')

  // The instance form returns the same object.
  assert.equal(await sbx.connect(), sbx)
  assert.equal(await sbx.isRunning(), true)
})

test('test_connect_only_extends_timeout', opts, async (t) => {
  const box = sandboxes(t)
  const sbx = await box.create({ timeoutMs: 600_000 })
  const end0 = (await sbx.getInfo()).endAt

  await Sandbox.connect(sbx.sandboxId, { timeoutMs: 10_000 })
  const end1 = (await sbx.getInfo()).endAt
  assert.ok(end1.getTime() >= end0.getTime() - 1000, `connect(10 s) shortened ${end0.toISOString()} to ${end1.toISOString()}`)

  await sbx.connect({ timeoutMs: 1_200_000 })
  const remaining = secondsUntil((await sbx.getInfo()).endAt)
  assert.ok(remaining >= 1190 && remaining <= 1205, `${remaining} s left after connect(1200 s)`)
})

test('test_kill', opts, async (t) => {
  const box = sandboxes(t)
  const a = await box.create()
  const b = await box.create()

  assert.equal(await a.kill(), true)
  assert.equal(await a.kill(), false)
  assert.equal(await Sandbox.kill(a.sandboxId), false)

  assert.equal(await Sandbox.kill(b.sandboxId), true)
  assert.equal(await Sandbox.kill(b.sandboxId), false)
  assert.equal(await b.kill(), false)

  for (const id of [a.sandboxId, b.sandboxId]) {
    await assert.rejects(() => Sandbox.getInfo(id), SandboxNotFoundError)
    await assert.rejects(() => Sandbox.connect(id), SandboxNotFoundError)
  }
})

test('test_is_running', opts, async (t) => {
  const box = sandboxes(t)
  const sbx = await box.create()
  assert.equal(await sbx.isRunning(), true)
  assert.equal(await sbx.kill(), true)
  assert.equal(await sbx.isRunning(), false)
})
