// node:test reporter for run-js.sh: one line per top-level test,
//   RESULT<TAB>ok|fail|skip<TAB>NAME[<TAB>REASON]
// and everything else (failure details, test output, diagnostics) as "# " comment lines.
// run-js.sh turns RESULT lines into TAP through tests/harness/lib.sh, which numbers them.

const oneLine = (s, limit = 300) => {
  const t = String(s ?? '').replace(/\s+/g, ' ').trim()
  return t.length <= limit ? t : t.slice(0, limit - 3) + '...'
}

const comment = (text) =>
  String(text ?? '')
    .split('\n')
    .map((l) => `# ${l}\n`)
    .join('')

function errorText(err) {
  if (!err) return ''
  // node:test wraps what the test threw in ERR_TEST_FAILURE with the original as `cause`.
  const inner = err.code === 'ERR_TEST_FAILURE' && err.cause ? err.cause : err
  return inner?.stack ?? inner?.message ?? String(inner)
}

function reason(err) {
  if (!err) return 'failed'
  const inner = err.code === 'ERR_TEST_FAILURE' && err.cause ? err.cause : err
  return oneLine(inner?.message ?? String(inner))
}

export default async function* reporter(source) {
  for await (const event of source) {
    const data = event.data ?? {}
    switch (event.type) {
      case 'test:pass':
      case 'test:fail': {
        if (data.nesting !== 0) break
        if (data.details?.type === 'suite' && event.type === 'test:pass') break
        const name = oneLine(data.name).replaceAll('\t', ' ')
        if (data.skip !== undefined && data.skip !== false) {
          const why = typeof data.skip === 'string' ? data.skip : 'skipped'
          yield `RESULT\tskip\t${name}\t${oneLine(why)}\n`
        } else if (data.todo !== undefined && data.todo !== false) {
          const why = typeof data.todo === 'string' ? data.todo : 'todo'
          yield `RESULT\tskip\t${name}\tTODO ${oneLine(why)}\n`
        } else if (event.type === 'test:pass') {
          yield `RESULT\tok\t${name}\n`
        } else {
          yield `RESULT\tfail\t${name}\t${reason(data.details?.error)}\n`
          yield comment(`--- ${data.name}${data.file ? ` (${data.file})` : ''}:\n${errorText(data.details?.error)}`)
        }
        break
      }
      case 'test:diagnostic':
        yield comment(data.message)
        break
      case 'test:stdout':
      case 'test:stderr':
        yield comment(String(data.message ?? '').replace(/\n$/, ''))
        break
      default:
        break
    }
  }
}
