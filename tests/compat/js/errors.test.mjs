// Error mapping through the official JS SDK: wrong API key, unknown sandbox IDs.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AuthenticationError, Sandbox, SandboxNotFoundError } from 'e2b'

import { TEST_TIMEOUT_MS, WRONG_API_KEY, listIds, sandboxes, uniqueTag, unknownSandboxId } from './helpers.mjs'

const opts = { timeout: TEST_TIMEOUT_MS }
const bad = { apiKey: WRONG_API_KEY }

test('test_wrong_api_key', opts, async (t) => {
  const box = sandboxes(t)
  const tag = uniqueTag()

  // Create must be refused; should it succeed anyway, kill what it made and fail.
  let leaked
  try {
    leaked = await Sandbox.create({ timeoutMs: 30_000, metadata: { tag }, ...bad })
  } catch (err) {
    assert.ok(err instanceof AuthenticationError, `create with a wrong key threw ${err}`)
  }
  if (leaked) {
    box.track(leaked.sandboxId)
    assert.fail('Sandbox.create with a wrong API key succeeded')
  }

  await assert.rejects(() => Sandbox.list(bad).nextItems(), AuthenticationError)

  // A real sandbox: the wrong key must neither see nor touch it.
  const sbx = await box.create({ metadata: { tag } })
  await assert.rejects(() => Sandbox.getInfo(sbx.sandboxId, bad), AuthenticationError)
  await assert.rejects(() => Sandbox.setTimeout(sbx.sandboxId, 5_000, bad), AuthenticationError)
  await assert.rejects(() => Sandbox.connect(sbx.sandboxId, bad), AuthenticationError)
  await assert.rejects(() => Sandbox.kill(sbx.sandboxId, bad), AuthenticationError)

  assert.equal(await sbx.isRunning(), true)
  assert.deepEqual(await listIds({ query: { metadata: { tag } } }), [sbx.sandboxId])
  assert.equal((await Sandbox.getInfo(sbx.sandboxId)).sandboxId, sbx.sandboxId)
})

test('test_unknown_sandbox', opts, async () => {
  const id = unknownSandboxId()
  await assert.rejects(() => Sandbox.getInfo(id), SandboxNotFoundError)
  await assert.rejects(() => Sandbox.connect(id), SandboxNotFoundError)
  await assert.rejects(() => Sandbox.setTimeout(id, 30_000), SandboxNotFoundError)
  assert.equal(await Sandbox.kill(id), false)
})
