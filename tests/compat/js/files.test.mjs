// Files through the official JS SDK (sandbox.files and the signed file URLs): write/read in
// every format, batch writes, list, exists, getInfo, remove, rename, makeDir, users and
// ownership, errors, signed upload/download URLs, gzip and metadata. Behaviour:
// shared/spec/envd-api.md §3 and §5 (envd 0.6.13). Test names match the Python suite's.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { gunzipSync } from 'node:zlib'
import {
  AuthenticationError,
  FileNotFoundError,
  FileType,
  InvalidArgumentError,
  SandboxError,
} from 'e2b'

import { HOME, TEST_TIMEOUT_MS, rejectsWith, sandboxFor, unique } from './helpers.mjs'

const opts = { timeout: TEST_TIMEOUT_MS }
// Payload with every byte value and some non-UTF-8 sequences.
const BINARY = new Uint8Array([
  ...Array.from({ length: 64 }, () => [...Array(256).keys()]).flat(),
  0xff, 0xfe, 0x00, 0xc3,
])
const streamOf = (...chunks) =>
  new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(typeof c === 'string' ? new TextEncoder().encode(c) : c)
      controller.close()
    },
  })
const streamBytes = async (stream) => new Uint8Array(await new Response(stream).arrayBuffer())
const sha256 = (data) => createHash('sha256').update(data).digest('hex')

test('test_write_read_text', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  const text = 'héllo wörld 🐢\nsecond line\n'
  const info = await sandbox.files.write('docs/a.txt', text)
  // Relative paths resolve against the user's home; missing parents are created.
  assert.ok(!Array.isArray(info))
  assert.equal(info.name, 'a.txt')
  assert.equal(info.type, FileType.FILE)
  assert.equal(info.path, `${HOME}/docs/a.txt`)

  assert.equal(await sandbox.files.read('docs/a.txt'), text)
  assert.equal(await sandbox.files.read(`${HOME}/docs/a.txt`, { format: 'text' }), text)
  assert.equal(await sandbox.files.read('~/docs/a.txt'), text)
  const bytes = await sandbox.files.read('docs/a.txt', { format: 'bytes' })
  assert.ok(bytes instanceof Uint8Array)
  assert.deepEqual(bytes, new TextEncoder().encode(text))
  const blob = await sandbox.files.read('docs/a.txt', { format: 'blob' })
  assert.equal(await blob.text(), text)
  assert.deepEqual(await streamBytes(await sandbox.files.read('docs/a.txt', { format: 'stream' })), new TextEncoder().encode(text))

  // The file is a plain file for commands too, owned by the default user.
  const res = await sandbox.commands.run('cat docs/a.txt; stat -c %U:%G:%a docs/a.txt')
  assert.equal(res.stdout, text + 'user:user:644\n')

  // Overwrite replaces the whole content.
  await sandbox.files.write('docs/a.txt', 'short')
  assert.equal(await sandbox.files.read('docs/a.txt'), 'short')
})

test('test_write_read_bytes_and_streams', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  let info = await sandbox.files.write('bin/blob.bin', BINARY.buffer)
  assert.equal(info.path, `${HOME}/bin/blob.bin`)
  assert.deepEqual(await sandbox.files.read('bin/blob.bin', { format: 'bytes' }), BINARY)
  assert.deepEqual(await streamBytes(await sandbox.files.read('bin/blob.bin', { format: 'stream' })), BINARY)
  const sum = await sandbox.commands.run('sha256sum bin/blob.bin | cut -c1-64')
  assert.equal(sum.stdout.trim(), sha256(BINARY))

  // A Blob, and a ReadableStream (the SDK sends streams as chunked octet-stream uploads).
  await sandbox.files.write('bin/blob2.bin', new Blob([BINARY]))
  assert.deepEqual(await sandbox.files.read('bin/blob2.bin', { format: 'bytes' }), BINARY)
  const big = 'Streamed upload. '.repeat(60_000) // ~1 MiB
  info = await sandbox.files.write('bin/big.txt', streamOf(big.slice(0, 500_000), big.slice(500_000)))
  assert.equal(info.path, `${HOME}/bin/big.txt`)
  assert.equal(await sandbox.files.read('bin/big.txt'), big)
  // Explicit octet-stream for a plain string.
  await sandbox.files.write('bin/octet.txt', 'octet', { useOctetStream: true })
  assert.equal(await sandbox.files.read('bin/octet.txt'), 'octet')

  // Empty files (the SDK relies on Content-Length: 0 to return '').
  await sandbox.files.write('bin/empty.txt', '')
  assert.equal(await sandbox.files.read('bin/empty.txt'), '')
  assert.deepEqual(await sandbox.files.read('bin/empty.txt', { format: 'bytes' }), new Uint8Array(0))
  await sandbox.files.write('bin/empty2.bin', streamOf())
  assert.equal((await sandbox.files.getInfo('bin/empty2.bin')).size, 0)
})

test('test_write_files_batch', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  const tmpDir = `/tmp/${unique('batch')}`
  const infos = await sandbox.files.write([
    { path: 'batch/one.txt', data: 'one' },
    { path: `${tmpDir}/two.bin`, data: new Uint8Array([0, 116, 119, 111]).buffer },
    { path: 'batch/nested/deep/three.txt', data: new Blob(['three']) },
  ])
  assert.ok(Array.isArray(infos))
  assert.deepEqual(
    infos.map((i) => [i.name, i.path, i.type]),
    [
      ['one.txt', `${HOME}/batch/one.txt`, 'file'],
      ['two.bin', `${tmpDir}/two.bin`, 'file'],
      ['three.txt', `${HOME}/batch/nested/deep/three.txt`, 'file'],
    ]
  )
  assert.equal(await sandbox.files.read('batch/one.txt'), 'one')
  assert.deepEqual(await sandbox.files.read(`${tmpDir}/two.bin`, { format: 'bytes' }), new Uint8Array([0, 116, 119, 111]))
  assert.equal(await sandbox.files.read('batch/nested/deep/three.txt'), 'three')
  assert.deepEqual(await sandbox.files.write([]), [])
  assert.deepEqual(await sandbox.files.writeFiles([]), [])

  // One-element array: still an array.
  const single = await sandbox.files.writeFiles([{ path: 'batch/single.txt', data: 's' }])
  assert.ok(Array.isArray(single) && single.length === 1)
  assert.equal(single[0].path, `${HOME}/batch/single.txt`)

  // Many files in one batch; a stream among them switches the SDK to one octet-stream
  // upload per file.
  const many = Array.from({ length: 20 }, (_, i) => ({ path: `many/f${i}.txt`, data: `content ${i}` }))
  const manyInfos = await sandbox.files.writeFiles(many)
  assert.deepEqual(manyInfos.map((i) => i.path), many.map((f) => `${HOME}/${f.path}`))
  const mixed = await sandbox.files.writeFiles([
    { path: 'mixed/a.txt', data: 'plain' },
    { path: 'mixed/b.txt', data: streamOf('streamed') },
  ])
  assert.deepEqual(mixed.map((i) => i.path).sort(), [`${HOME}/mixed/a.txt`, `${HOME}/mixed/b.txt`])
  assert.equal(await sandbox.files.read('many/f7.txt'), 'content 7')
  assert.equal(await sandbox.files.read('mixed/b.txt'), 'streamed')
})

test('test_list_depth', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  for (const path of ['tree/a.txt', 'tree/sub/b.txt', 'tree/sub/deeper/c.txt', 'tree/z/d.txt']) {
    await sandbox.files.write(path, path)
  }
  const base = `${HOME}/tree`
  const byPath = (a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0)

  const entries = await sandbox.files.list('tree')
  assert.deepEqual(
    entries.map((e) => [e.name, e.path, e.type]).sort(byPath),
    [
      ['a.txt', `${base}/a.txt`, 'file'],
      ['sub', `${base}/sub`, 'dir'],
      ['z', `${base}/z`, 'dir'],
    ]
  )
  const a = entries.find((e) => e.name === 'a.txt')
  assert.equal(a.size, 'tree/a.txt'.length)
  assert.equal(a.owner, 'user')

  const depth2 = await sandbox.files.list('tree', { depth: 2 })
  assert.deepEqual(
    depth2.map((e) => e.path).sort(),
    [`${base}/a.txt`, `${base}/sub`, `${base}/sub/b.txt`, `${base}/sub/deeper`, `${base}/z`, `${base}/z/d.txt`]
  )
  // Names are base names, not relative paths.
  assert.equal(depth2.find((e) => e.path === `${base}/sub/b.txt`).name, 'b.txt')
  const depth3 = await sandbox.files.list(base, { depth: 3 })
  assert.ok(depth3.some((e) => e.path === `${base}/sub/deeper/c.txt`))
  assert.equal(depth3.length, 7)

  await sandbox.files.makeDir('empty-dir')
  assert.deepEqual(await sandbox.files.list('empty-dir'), [])

  await rejectsWith(sandbox.files.list('tree', { depth: 0 }), InvalidArgumentError)
  await rejectsWith(sandbox.files.list('no-such-dir'), FileNotFoundError)
  await rejectsWith(sandbox.files.list('tree/a.txt'), SandboxError) // not a directory
})

test('test_exists', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  await sandbox.files.write('ex/file.txt', 'x')
  assert.equal(await sandbox.files.exists('ex/file.txt'), true)
  assert.equal(await sandbox.files.exists('ex'), true)
  assert.equal(await sandbox.files.exists(`${HOME}/ex/file.txt`), true)
  assert.equal(await sandbox.files.exists('ex/missing.txt'), false)
  assert.equal(await sandbox.files.exists('/no/such/path'), false)
})

test('test_file_info_fields', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  const before = Date.now()
  await sandbox.files.write('info/file.txt', '1234')
  const info = await sandbox.files.getInfo('info/file.txt')
  assert.equal(info.name, 'file.txt')
  assert.equal(info.type, FileType.FILE)
  assert.equal(info.path, `${HOME}/info/file.txt`)
  assert.equal(info.size, 4)
  assert.equal(info.mode, 0o644)
  assert.equal(info.permissions, '-rw-r--r--')
  assert.equal(info.owner, 'user')
  assert.equal(info.group, 'user')
  assert.ok(info.modifiedTime instanceof Date)
  const skew = 30_000
  assert.ok(info.modifiedTime.getTime() >= before - skew && info.modifiedTime.getTime() <= Date.now() + skew)
  assert.equal(info.symlinkTarget, undefined)
  assert.equal(info.metadata, undefined)

  const d = await sandbox.files.getInfo('info')
  assert.deepEqual([d.name, d.type, d.path], ['info', FileType.DIR, `${HOME}/info`])
  assert.equal(d.mode, 0o755)
  assert.equal(d.permissions, 'drwxr-xr-x')
  assert.ok(d.size > 0)
  assert.deepEqual([d.owner, d.group], ['user', 'user'])

  // Mode changes, ownership by root, a symlink and special files.
  await sandbox.commands.run(
    'cd info && chmod 600 file.txt && ln -s file.txt link.txt && ln -s sub dirlink && mkdir sub && ln -s missing dangling'
  )
  await sandbox.commands.run('touch /tmp/root-file', { user: 'root' })
  const chmodded = await sandbox.files.getInfo('info/file.txt')
  assert.equal(chmodded.permissions, '-rw-------')
  assert.equal(chmodded.mode, 0o600)
  const rootFile = await sandbox.files.getInfo('/tmp/root-file')
  assert.deepEqual([rootFile.owner, rootFile.group], ['root', 'root'])

  const link = await sandbox.files.getInfo('info/link.txt')
  assert.equal(link.name, 'link.txt')
  assert.equal(link.path, `${HOME}/info/link.txt`)
  assert.equal(link.symlinkTarget, `${HOME}/info/file.txt`)
  // envd 0.6.13 reports the target's type and permission bits for a symlink.
  assert.equal(link.type, FileType.FILE)
  assert.equal(link.mode, 0o600)
  assert.ok(link.permissions.startsWith('L'), link.permissions)
  const dirlink = await sandbox.files.getInfo('info/dirlink')
  assert.equal(dirlink.type, FileType.DIR)
  assert.equal(dirlink.symlinkTarget, `${HOME}/info/sub`)
  // A dangling link has no type: list() leaves it out.
  const names = (await sandbox.files.list('info')).map((e) => e.name).sort()
  assert.deepEqual(names, ['dirlink', 'file.txt', 'link.txt', 'sub'])

  assert.equal((await sandbox.files.getInfo('/tmp')).permissions, 'dtrwxrwxrwx')

  await rejectsWith(sandbox.files.getInfo('info/nope.txt'), FileNotFoundError)
})

test('test_make_dir_rename_remove', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  assert.equal(await sandbox.files.makeDir('mk/a/b/c'), true)
  assert.equal(await sandbox.files.makeDir('mk/a/b/c'), false)
  for (const path of ['mk', 'mk/a', 'mk/a/b', 'mk/a/b/c']) {
    const info = await sandbox.files.getInfo(path)
    assert.equal(info.type, FileType.DIR, path)
    assert.equal(info.owner, 'user', path)
  }
  await sandbox.files.write('mk/file.txt', 'f')
  await rejectsWith(sandbox.files.makeDir('mk/file.txt'), SandboxError) // exists as a file

  const moved = await sandbox.files.rename('mk/file.txt', 'mk/a/renamed.txt')
  assert.equal(moved.name, 'renamed.txt')
  assert.equal(moved.path, `${HOME}/mk/a/renamed.txt`)
  assert.equal(moved.type, FileType.FILE)
  assert.equal(await sandbox.files.exists('mk/file.txt'), false)
  assert.equal(await sandbox.files.read('mk/a/renamed.txt'), 'f')
  // Rename into a directory that does not exist yet creates it.
  await sandbox.files.rename('mk/a/renamed.txt', 'mk/new/parent/r.txt')
  assert.equal(await sandbox.files.read('mk/new/parent/r.txt'), 'f')
  // Directories move with their content.
  const movedDir = await sandbox.files.rename('mk/a', 'mk/a2')
  assert.equal(movedDir.type, FileType.DIR)
  assert.equal(await sandbox.files.exists('mk/a2/b/c'), true)
  await rejectsWith(sandbox.files.rename('mk/missing', 'mk/other'), FileNotFoundError)

  await sandbox.files.remove('mk/new/parent/r.txt')
  assert.equal(await sandbox.files.exists('mk/new/parent/r.txt'), false)
  await sandbox.files.remove('mk') // recursive
  assert.equal(await sandbox.files.exists('mk'), false)
  await sandbox.files.remove('mk/never-existed') // not an error
})

test('test_missing_file_errors', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  await rejectsWith(sandbox.files.read('missing/file.txt'), FileNotFoundError)
  await rejectsWith(sandbox.files.read('/missing/file.txt', { format: 'bytes' }), FileNotFoundError)
  await rejectsWith(sandbox.files.read('/missing/file.txt', { format: 'stream' }), FileNotFoundError)
  await rejectsWith(sandbox.files.getInfo('missing/file.txt'), FileNotFoundError)
  // Reading a directory is a bad request.
  await sandbox.files.makeDir('a-dir')
  await rejectsWith(sandbox.files.read('a-dir'), InvalidArgumentError)
})

test('test_users_and_permissions', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  // user 'root': relative paths resolve against root's home and files belong to root.
  const info = await sandbox.files.write('owned-by-root.txt', 'r', { user: 'root' })
  assert.equal(info.path, '/root/owned-by-root.txt')
  const stat = await sandbox.files.getInfo('/root/owned-by-root.txt')
  assert.deepEqual([stat.owner, stat.group], ['root', 'root'])
  assert.equal(await sandbox.files.read('owned-by-root.txt', { user: 'root' }), 'r')
  assert.equal(await sandbox.files.exists('owned-by-root.txt', { user: 'root' }), true)
  assert.ok((await sandbox.files.list('/root', { user: 'root' })).length > 0)

  // envd's file API acts with root privileges for every user: writing as `user` into a
  // root-owned directory works (the SDKs' own tests write to /<n>/... as user) and the new
  // file and the parents it created belong to that user.
  const top = `/${unique('sbx')}`
  await sandbox.files.write(`${top}/x.txt`, 'x')
  assert.equal((await sandbox.files.getInfo(top)).owner, 'user')
  assert.equal((await sandbox.files.getInfo(`${top}/x.txt`)).owner, 'user')
  assert.equal(await sandbox.files.makeDir('/opt/by-user'), true)
  assert.equal((await sandbox.files.getInfo('/opt/by-user')).owner, 'user')

  // Commands, on the other hand, run with the user's own permissions.
  const res = await sandbox.commands.run('test -w /root && echo writable || echo denied')
  assert.equal(res.stdout, 'denied\n')

  // An unknown user is refused (HTTP 401 on /files, unauthenticated on RPCs).
  const nobody = { user: 'sbx-no-such-user' }
  await rejectsWith(sandbox.files.read('x', nobody), AuthenticationError)
  await rejectsWith(sandbox.files.write('x', 'y', nobody), AuthenticationError)
  await rejectsWith(sandbox.files.list('/', nobody), AuthenticationError)
  await rejectsWith(sandbox.commands.run('id', nobody), AuthenticationError)
})

test('test_signed_urls', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  const content = 'signed download ✓'
  await sandbox.files.write('signed/down.txt', content)

  // Plain fetch: no SDK, no E2b-Sandbox-* headers.
  let url = await sandbox.downloadUrl('signed/down.txt')
  assert.match(url, /signature=/) // sandboxes are secure: the URL is signed
  let res = await fetch(url)
  assert.equal(res.status, 200)
  assert.equal(await res.text(), content)

  url = await sandbox.downloadUrl('signed/down.txt', { useSignatureExpiration: 120 })
  assert.match(url, /signature_expiration=/)
  res = await fetch(url)
  assert.equal(res.status, 200)
  assert.equal(await res.text(), content)

  res = await fetch(await sandbox.downloadUrl('signed/down.txt', { user: 'user', useSignatureExpiration: 120 }))
  assert.equal(res.status, 200)
  await res.arrayBuffer()

  res = await fetch(await sandbox.downloadUrl('signed/down.txt', { useSignatureExpiration: -120 }))
  assert.equal(res.status, 401)
  assert.deepEqual(await res.json(), { code: 401, message: 'signature is already expired' })

  // Missing file through a valid URL.
  res = await fetch(await sandbox.downloadUrl('signed/missing.txt'))
  assert.equal(res.status, 404)
  assert.equal((await res.json()).code, 404)

  // Upload through a signed URL: multipart form with a `file` part.
  const form = () => {
    const f = new FormData()
    f.append('file', new Blob(['uploaded content']), 'up.txt')
    return f
  }
  res = await fetch(await sandbox.uploadUrl('signed/up.txt', { useSignatureExpiration: 120 }), {
    method: 'POST',
    body: form(),
  })
  assert.equal(res.status, 200)
  assert.deepEqual(await res.json(), [{ name: 'up.txt', path: `${HOME}/signed/up.txt`, type: 'file' }])
  assert.equal(await sandbox.files.read('signed/up.txt'), 'uploaded content')

  // As root: the path resolves against /root.
  res = await fetch(await sandbox.uploadUrl('root-up.txt', { user: 'root' }), { method: 'POST', body: form() })
  assert.equal(res.status, 200)
  assert.deepEqual(await res.json(), [{ name: 'root-up.txt', path: '/root/root-up.txt', type: 'file' }])
  assert.equal((await sandbox.files.getInfo('/root/root-up.txt')).owner, 'root')

  res = await fetch(await sandbox.uploadUrl('signed/late.txt', { useSignatureExpiration: -120 }), {
    method: 'POST',
    body: form(),
  })
  assert.equal(res.status, 401)
  assert.deepEqual(await res.json(), { code: 401, message: 'signature is already expired' })
  assert.equal(await sandbox.files.exists('signed/late.txt'), false)
})

test('test_gzip', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  const content = 'gzip me '.repeat(1000)
  const info = await sandbox.files.write('gz/a.txt', content, { gzip: true })
  assert.equal(info.path, `${HOME}/gz/a.txt`)
  assert.equal(await sandbox.files.read('gz/a.txt', { gzip: true }), content)
  assert.equal(await sandbox.files.read('gz/a.txt'), content)
  assert.deepEqual(
    await sandbox.files.read('gz/a.txt', { format: 'bytes', gzip: true }),
    new TextEncoder().encode(content)
  )
  assert.deepEqual(
    await streamBytes(await sandbox.files.read('gz/a.txt', { format: 'stream', gzip: true })),
    new TextEncoder().encode(content)
  )
  const infos = await sandbox.files.writeFiles(
    [
      { path: 'gz/b.txt', data: 'bee' },
      { path: 'gz/c.bin', data: BINARY.buffer },
      { path: 'gz/d.txt', data: streamOf('streamed ', 'gzip') },
    ],
    { gzip: true }
  )
  assert.deepEqual(infos.map((i) => i.path).sort(), [`${HOME}/gz/b.txt`, `${HOME}/gz/c.bin`, `${HOME}/gz/d.txt`])
  assert.deepEqual(await sandbox.files.read('gz/c.bin', { format: 'bytes' }), BINARY)
  assert.equal(await sandbox.files.read('gz/d.txt'), 'streamed gzip')

  // A plain client asking for gzip gets either gzip (Content-Encoding) or identity. (fetch
  // would decompress by itself; ask for the raw bytes through node's http client instead.)
  const { request } = await import('node:http')
  const url = new URL(await sandbox.downloadUrl('gz/a.txt'))
  const { headers, body } = await new Promise((resolve, reject) => {
    const req = request(url, { headers: { 'Accept-Encoding': 'gzip' } }, (r) => {
      const parts = []
      r.on('data', (c) => parts.push(c))
      r.on('end', () => resolve({ headers: r.headers, body: Buffer.concat(parts), status: r.statusCode }))
      r.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
  const raw = headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body
  assert.equal(raw.toString('utf8'), content)
})

test('test_metadata', opts, async (t) => {
  const sandbox = await sandboxFor(t)
  let info = await sandbox.files.write('meta/a.txt', 'm', { metadata: { Owner: 'me', stage: 'draft v1' } })
  assert.deepEqual(info.metadata, { owner: 'me', stage: 'draft v1' })
  assert.deepEqual((await sandbox.files.getInfo('meta/a.txt')).metadata, { owner: 'me', stage: 'draft v1' })
  assert.deepEqual((await sandbox.files.list('meta'))[0].metadata, { owner: 'me', stage: 'draft v1' })
  // Rewriting without metadata clears it.
  info = await sandbox.files.write('meta/a.txt', 'm2')
  assert.equal(info.metadata, undefined)
  assert.equal((await sandbox.files.getInfo('meta/a.txt')).metadata, undefined)
  await rejectsWith(sandbox.files.write('meta/b.txt', 'x', { metadata: { 'bad key': 'v' } }), InvalidArgumentError)
})
