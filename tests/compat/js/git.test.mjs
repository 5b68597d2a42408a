// The SDK's git helpers (sandbox.git, in both pinned JS versions): init, add, commit, status,
// branches, config, clone from a local path. They are shell strings run through commands.run
// (`git ...` with GIT_TERMINAL_PROMPT=0), so they exercise the process API plus the template's
// git. Behaviour: shared/spec/envd-api.md §2.5. Test names match the Python suite's.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CommandExitError } from 'e2b'

import { HOME, TEST_TIMEOUT_MS, rejectsWith, sandboxFor } from './helpers.mjs'

const opts = { timeout: TEST_TIMEOUT_MS }
const AUTHOR = { authorName: 'Sbx Test', authorEmail: 'sbx@example.com' }

async function makeRepo(sandbox, path) {
  await sandbox.git.init(path, { initialBranch: 'main' })
  await sandbox.files.write(`${path}/a.txt`, 'a\n')
  await sandbox.git.add(path)
  await sandbox.git.commit(path, 'initial', AUTHOR)
}

test('test_git_init_add_commit_status', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  const repo = `${HOME}/repo`
  await sandbox.git.init(repo, { initialBranch: 'main' })
  let status = await sandbox.git.status(repo)
  assert.equal(status.currentBranch, 'main')
  assert.equal(status.isClean, true)
  assert.deepEqual(status.fileStatus, [])
  assert.equal(status.detached, false)

  await sandbox.files.write(`${repo}/a.txt`, 'a\n')
  await sandbox.files.write(`${repo}/b.txt`, 'b\n')
  status = await sandbox.git.status(repo)
  assert.deepEqual(
    status.fileStatus.map((f) => [f.name, f.status]).sort(),
    [
      ['a.txt', 'untracked'],
      ['b.txt', 'untracked'],
    ]
  )
  assert.equal(status.untrackedCount, 2)
  assert.equal(status.hasUntracked, true)

  await sandbox.git.add(repo, { files: ['a.txt'] })
  status = await sandbox.git.status(repo)
  const files = Object.fromEntries(status.fileStatus.map((f) => [f.name, f]))
  assert.deepEqual([files['a.txt'].status, files['a.txt'].staged], ['added', true])
  assert.equal(files['b.txt'].status, 'untracked')
  assert.equal(status.stagedCount, 1)

  await sandbox.git.add(repo)
  assert.equal((await sandbox.git.status(repo)).stagedCount, 2)
  await sandbox.git.commit(repo, 'first commit', AUTHOR)
  status = await sandbox.git.status(repo)
  assert.equal(status.isClean, true, JSON.stringify(status.fileStatus))
  const log = await sandbox.commands.run(`git -C ${repo} log --format=%an/%ae/%s`)
  assert.equal(log.stdout, 'Sbx Test/sbx@example.com/first commit\n')

  await sandbox.files.write(`${repo}/a.txt`, 'changed\n')
  status = await sandbox.git.status(repo)
  assert.deepEqual(status.fileStatus.map((f) => [f.name, f.status, f.staged]), [['a.txt', 'modified', false]])

  let branches = await sandbox.git.branches(repo)
  assert.deepEqual([branches.branches, branches.currentBranch], [['main'], 'main'])
  await sandbox.git.createBranch(repo, 'feature')
  branches = await sandbox.git.branches(repo)
  assert.deepEqual([[...branches.branches].sort(), branches.currentBranch], [['feature', 'main'], 'feature'])
  await sandbox.git.checkoutBranch(repo, 'main')
  assert.equal((await sandbox.git.branches(repo)).currentBranch, 'main')
  await sandbox.git.deleteBranch(repo, 'feature')
  assert.deepEqual((await sandbox.git.branches(repo)).branches, ['main'])

  await sandbox.git.setConfig('user.name', 'Global Name')
  assert.equal(await sandbox.git.getConfig('user.name'), 'Global Name')
  assert.equal(await sandbox.git.getConfig('sbx.unset-key'), undefined)
  await sandbox.git.setConfig('core.autocrlf', 'input', { scope: 'local', path: repo })
  assert.equal(await sandbox.git.getConfig('core.autocrlf', { scope: 'local', path: repo }), 'input')
})

test('test_git_clone_local', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  const src = `${HOME}/src`
  await makeRepo(sandbox, src)
  await sandbox.git.createBranch(src, 'dev')
  await sandbox.files.write(`${src}/dev.txt`, 'dev\n')
  await sandbox.git.add(src)
  await sandbox.git.commit(src, 'on dev', AUTHOR)
  await sandbox.git.checkoutBranch(src, 'main')

  const dst = `${HOME}/dst`
  await sandbox.git.clone(src, { path: dst })
  assert.equal(await sandbox.files.read(`${dst}/a.txt`), 'a\n')
  const status = await sandbox.git.status(dst)
  assert.deepEqual([status.currentBranch, status.upstream], ['main', 'origin/main'])
  assert.deepEqual([status.ahead, status.behind], [0, 0])
  assert.equal(await sandbox.git.remoteGet(dst, 'origin'), src)
  assert.equal(await sandbox.git.remoteGet(dst, 'nope'), undefined)

  const onlyDev = `${HOME}/only-dev`
  await sandbox.git.clone(src, { path: onlyDev, branch: 'dev' })
  const branches = await sandbox.git.branches(onlyDev)
  assert.deepEqual([branches.branches, branches.currentBranch], [['dev'], 'dev'])
  assert.equal(await sandbox.files.read(`${onlyDev}/dev.txt`), 'dev\n')

  // A local commit puts the clone ahead of its upstream.
  await sandbox.files.write(`${dst}/c.txt`, 'c\n')
  await sandbox.git.add(dst)
  await sandbox.git.commit(dst, 'local', AUTHOR)
  assert.equal((await sandbox.git.status(dst)).ahead, 1)

  await sandbox.git.remoteAdd(dst, 'mirror', src)
  assert.equal(await sandbox.git.remoteGet(dst, 'mirror'), src)
})

test('test_git_errors', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  await sandbox.files.makeDir('not-a-repo')
  const err = await rejectsWith(sandbox.git.status(`${HOME}/not-a-repo`), CommandExitError)
  assert.equal(err.exitCode, 128)
  assert.match(err.stderr.toLowerCase(), /not a git repository/)
  await rejectsWith(sandbox.git.clone(`${HOME}/no-such-source`, { path: `${HOME}/x` }), CommandExitError)
})
