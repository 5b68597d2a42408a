// Helpers shared by the compat tests that drive sbx through the official `e2b` npm package.
// The SDK reads E2B_API_URL, E2B_SANDBOX_URL, E2B_API_KEY and E2B_DOMAIN from the environment;
// tests/compat/run-js.sh sets them (tests/harness/lib.sh, sbx_start_daemon).
import { randomBytes, randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { Sandbox, SandboxNotFoundError } from 'e2b'

for (const name of ['E2B_API_URL', 'E2B_API_KEY']) {
  if (!process.env[name]) {
    throw new Error(
      `compat tests need a running sbx: set ${name} (tests/compat/run-js.sh starts a daemon and sets it)`
    )
  }
}

// How long after its end time a sandbox may still be visible before a test fails (ms).
export const EXPIRY_GRACE_MS = Number(process.env.SBX_COMPAT_EXPIRY_GRACE ?? '7') * 1000
// Timeout for the sandboxes the tests create when they do not care about it (ms).
export const DEFAULT_TIMEOUT_MS = 120_000
// Per-test limit for node:test (ms).
export const TEST_TIMEOUT_MS = Number(process.env.SBX_COMPAT_TEST_TIMEOUT ?? '300') * 1000
// A well-formed key (passes the SDKs' local format check) that sbx never issued.
export const WRONG_API_KEY = 'e2b_' + '0'.repeat(40)
// Label of the SDK version under test (set by run-js.sh), stored in metadata.
export const LABEL = process.env.SBX_COMPAT_LABEL ?? 'js-manual'

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** A metadata value no other test or run uses. */
export function uniqueTag() {
  return `${LABEL}-${randomUUID().replaceAll('-', '').slice(0, 16)}`
}

/** An ID in sbx's format that no sandbox has. */
export function unknownSandboxId() {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789'
  return 'i' + [...randomBytes(20)].map((b) => alphabet[b % alphabet.length]).join('')
}

/**
 * Creates sandboxes for test `t` and kills every one of them after it, passed or not.
 */
export function sandboxes(t) {
  const ids = []
  t.after(async () => {
    for (const id of ids) {
      await Sandbox.kill(id).catch(() => {})
    }
  })
  return {
    async create(opts = {}) {
      const sbx = await Sandbox.create({ timeoutMs: DEFAULT_TIMEOUT_MS, ...opts })
      ids.push(sbx.sandboxId)
      return sbx
    },
    track(id) {
      ids.push(id)
    },
  }
}

/** All sandbox IDs over all pages of Sandbox.list(opts). */
export async function listIds(opts = {}) {
  const paginator = Sandbox.list(opts)
  const ids = []
  let pages = 0
  while (paginator.hasNext) {
    if (++pages > 50) throw new Error('Sandbox.list paginator did not end')
    for (const s of await paginator.nextItems()) ids.push(s.sandboxId)
  }
  return ids
}

/** Polls getInfo until SandboxNotFoundError; returns the ms it took. */
export async function waitGone(sandboxId, withinMs) {
  const start = Date.now()
  for (;;) {
    let info
    try {
      info = await Sandbox.getInfo(sandboxId)
    } catch (err) {
      if (err instanceof SandboxNotFoundError) return Date.now() - start
      throw err
    }
    const elapsed = Date.now() - start
    if (elapsed > withinMs) {
      throw new Error(
        `sandbox ${sandboxId} still exists ${elapsed} ms later (state ${info.state}, ` +
          `endAt ${info.endAt.toISOString()}, now ${new Date().toISOString()})`
      )
    }
    await sleep(250)
  }
}

/** Seconds from now until `date`. */
export const secondsUntil = (date) => (date.getTime() - Date.now()) / 1000

export const sorted = (a) => [...a].sort()

// --- in-sandbox API helpers (commands, PTY, files, watch, git) -------------------------------

/** Version of the e2b package under test, e.g. "2.51.0". */
export const SDK_VERSION = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.resolve('e2b')), 'utf8')
).version

const versionParts = (v) => v.split('.').map((x) => Number.parseInt(x, 10))

/** True when the SDK under test is at least `version`. */
export function sdkAtLeast(version) {
  const [a, b, c] = versionParts(SDK_VERSION)
  const [x, y, z] = versionParts(version)
  return a !== x ? a > x : b !== y ? b > y : c >= z
}

/** node:test `skip` option for a feature the SDK under test lacks (false when it has it). */
export function needsSdk(version, feature) {
  return sdkAtLeast(version) ? false : `e2b ${SDK_VERSION} has no ${feature} (added in ${version})`
}

/** The sandbox's default user's home (base template; envd-api.md §1). */
export const HOME = '/home/user'

/** A name no other test or run uses (for paths inside the sandbox). */
export function unique(prefix) {
  return `${prefix}-${randomUUID().replaceAll('-', '').slice(0, 10)}`
}

/** Polls `predicate` (sync or async) until it returns a truthy value; fails after `timeoutMs`. */
export async function waitFor(predicate, timeoutMs, what, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await predicate()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(intervalMs)
  }
}

/** A sandbox for test `t` (killed after it). */
export async function sandboxFor(t, opts = {}) {
  return sandboxes(t).create(opts)
}

/** Collects PTY bytes (use `collector.onData` as the PTY's onData) and waits for text in them. */
export function ptyCollector() {
  const chunks = []
  const decoder = new TextDecoder()
  let text = ''
  return {
    onData: (data) => {
      chunks.push(data)
      text += decoder.decode(data, { stream: true })
    },
    text: () => text,
    async waitFor(needle, timeoutMs = 20_000) {
      await waitFor(() => text.includes(needle), timeoutMs, `${JSON.stringify(needle)} in the PTY output (got ${JSON.stringify(text.slice(-500))})`)
      return text
    },
  }
}

/** Asserts that `promise` rejects with an instance of `cls` (and message matching `re`, if given). */
export async function rejectsWith(promise, cls, re) {
  let err
  try {
    await promise
  } catch (e) {
    err = e
  }
  if (err === undefined) throw new Error(`expected ${cls.name}, but the call succeeded`)
  if (!(err instanceof cls)) {
    throw new Error(`expected ${cls.name}, got ${err?.constructor?.name}: ${err?.message}`, { cause: err })
  }
  if (re && !re.test(err.message)) throw new Error(`${cls.name} message ${JSON.stringify(err.message)} does not match ${re}`)
  return err
}
