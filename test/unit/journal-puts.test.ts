import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { findPuts, putKeys, readCommitLine } from '../../src/adapters/store/journal-puts.ts'
import { type CommitToEncode, encodeCommit, snapshotKeys } from '../../src/adapters/store/store-files.ts'
import type { StoredUser } from '../../src/domain/users/user.ts'

/** The puts `findPuts` finds in a record line, as the JSON text of each. */
function putsOf(line: string, count: number, prefix = ''): string[] | undefined {
  const bytes = Buffer.from(prefix + line)
  const start = Buffer.byteLength(prefix)
  const ranges = findPuts(bytes, start, bytes.length, count)
  if (ranges === undefined) return undefined
  return ranges.starts.map((at, i) =>
    bytes.toString('utf8', start + at, start + at + (ranges.lengths[i] as number)),
  )
}

describe('findPuts', () => {
  it('finds each user of a record as JSON.stringify wrote it, nested values and escapes included', () => {
    const users = [
      { user_id: 'auth0|1', name: 'Zoë "Z" O’Brien', meta: { list: [1, [2, { a: '}' }]], s: '],[' } },
      { user_id: 'auth0|2', tags: [], empty: {}, back: 'a\\"b' },
    ]
    const line = JSON.stringify({ seq: 3, jobId: 'job_1', chunk: 0, puts: users, deletes: ['x'], meta: null })

    expect(putsOf(line, 2)).toEqual(users.map((u) => JSON.stringify(u)))
  })

  it('skips a "puts":[ inside a string, and counts positions from the line’s start', () => {
    const users = [{ user_id: 'auth0|1' }]
    const line = JSON.stringify({ seq: 1, jobId: '"puts":[', chunk: 0, puts: users, deletes: [] })

    expect(putsOf(line, 1, 'earlier line\n')).toEqual([JSON.stringify(users[0])])
  })

  it('answers no puts for an empty array, and nothing when the count or the shape differs', () => {
    const line = JSON.stringify({ seq: 1, jobId: 'j', chunk: 0, puts: [], deletes: [] })
    const one = JSON.stringify({ seq: 1, jobId: 'j', chunk: 0, puts: [{ a: 1 }], deletes: [] })

    expect(putsOf(line, 0)).toEqual([])
    expect(putsOf(one, 2)).toBeUndefined()
    expect(putsOf('{"seq":1, "puts": [{"a":1}]}', 1)).toBeUndefined()
    expect(putsOf('{"meta":{"puts":[{"a":1}]}}', 1)).toBeUndefined()
  })
})

/**
 * `readCommitLine` lets the store open a journal without parsing its users, as it opens a snapshot: it must find
 * each user of a line `encodeCommit` wrote where `findPuts` does, with the keys snapshotKeys would write for it (the
 * index finds users by those bytes), and the record around them; any line it is unsure of it declines, and the store
 * then parses that line whole, as it did every line before.
 */
describe('readCommitLine', () => {
  const plain = (value: string) => JSON.stringify(value) === `"${value}"`
  const text = fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.string({ unit: 'grapheme', maxLength: 8 }),
    fc.constantFrom('zoë@exämple.org', 'a"b', 'back\\slash', 'tab\there', '\u2028', '😀', '\u007f', 'a,b}]'),
  )
  const metadata = fc.dictionary(text, fc.jsonValue({ maxDepth: 4 }), { maxKeys: 4 })
  const aUser = fc
    .record(
      {
        user_id: text,
        connection_id: text,
        email: text,
        username: text,
        name: text,
        app_metadata: metadata,
        user_metadata: metadata,
        email_verified: fc.boolean(),
        rev: fc.nat(),
      },
      { requiredKeys: ['user_id', 'connection_id', 'email'] },
    )
    .chain((user) =>
      // Any order of its keys: the scan must not rely on encodeCommit's.
      fc
        .shuffledSubarray(Object.keys(user), { minLength: Object.keys(user).length })
        .map((keys) => Object.fromEntries(keys.map((key) => [key, user[key as keyof typeof user]]))),
    )
  const aRecord = fc.record({
    seq: fc.integer({ min: 1, max: 1e9 }),
    jobId: text,
    chunk: fc.nat(),
    puts: fc.array(aUser, { maxLength: 5 }),
    deletes: fc.array(text, { maxLength: 3 }),
    meta: fc.option(fc.jsonValue({ maxDepth: 3 }), { nil: undefined }),
  })

  it('reads every line encodeCommit writes whose keys are plain, as findPuts and snapshotKeys would', () => {
    let taken = 0
    fc.assert(
      fc.property(aRecord, fc.string({ maxLength: 5 }), (record, before) => {
        const { line } = encodeCommit(record as unknown as CommitToEncode)
        const prefix = Buffer.from(`${before.replaceAll('\n', '')}\n`)
        const bytes = Buffer.concat([prefix, line])
        const start = prefix.length
        const end = bytes.length - 1 // without the newline
        const read = readCommitLine(bytes, start, end)
        const keysPlain = record.puts.every((put) =>
          [put.user_id, put.connection_id, put.email, put.username].every(
            (v) => v === undefined || plain(v as string),
          ),
        )
        if (keysPlain) expect(read).toBeDefined()
        if (read === undefined) return
        taken++
        const whole = JSON.parse(bytes.toString('utf8', start, end))
        expect(JSON.parse(read.envelope)).toEqual({ ...whole, puts: [] })
        expect(read.ranges).toEqual(findPuts(bytes, start, end, record.puts.length))
        whole.puts.forEach((put: StoredUser, i: number) => {
          const keys = [0, 2, 4, 6].map((k) => {
            const at = read.keys[8 * i + k] as number
            return at === -1 ? '' : bytes.toString('utf8', at, read.keys[8 * i + k + 1])
          })
          expect(`${keys.join('\t')}\t`).toBe(snapshotKeys(put))
          // One put alone, as compaction reads it, gives the same keys.
          const from = start + (read.ranges.starts[i] as number)
          expect(putKeys(bytes, from, from + (read.ranges.lengths[i] as number))?.toString()).toBe(
            snapshotKeys(put),
          )
        })
      }),
      { seed: 20261206, numRuns: 600 },
    )
    expect(taken).toBeGreaterThan(100)
  })

  const user = '{"user_id":"auth0|1","connection_id":"con_1","email":"a@b.c","rev":1}'
  const lineWith = (puts: string) => `{"seq":1,"jobId":"job_1","chunk":0,"puts":[${puts}],"deletes":[]}`
  const read = (line: string | Buffer) => {
    const bytes = Buffer.isBuffer(line) ? line : Buffer.from(line)
    return readCommitLine(bytes, 0, bytes.length)
  }

  it('reads a plain line, a line without puts, and values with spaces or escapes where no key is', () => {
    expect(read(lineWith(user))?.ranges.starts).toHaveLength(1)
    expect(read(lineWith(''))).toEqual({
      envelope: lineWith(''),
      ranges: { starts: [], lengths: [] },
      keys: [],
    })
    const nested =
      '{"user_id":"auth0|1","connection_id":"con_1","email":"a@b.c","m":{"email": "x\\"y", "k":[1, {}]}}'
    const bytes = Buffer.from(lineWith(nested))
    const keys = readCommitLine(bytes, 0, bytes.length)?.keys ?? []
    const strings = [0, 2, 4].map((k) => bytes.toString('utf8', keys[k], keys[k + 1]))
    expect(strings).toEqual(['"auth0|1"', '"con_1"', '"a@b.c"'])
    expect(keys.slice(6)).toEqual([-1, -1])
  })

  it.each([
    ['a space before a key’s value', user.replace('"email":"', '"email": "')],
    ['a key twice (JSON.parse keeps the last)', user.replace('"rev":1', '"email":"z@b.c"')],
    ['a key twice, once escaped', user.replace('"rev":1', '"\\u0065mail":"z@b.c"')],
    ['a key value with an escape', user.replace('a@b.c', 'a\\u0040b.c')],
    ['a username that is not a string', user.replace('"rev":1', '"username":null')],
    ['no email', user.replace('"email":"a@b.c",', '')],
    ['brackets that do not pair', user.replace('"rev":1', '"m":[1}')],
    ['a trailing comma', user.replace('"rev":1', '"rev":1,')],
    ['a put that is not an object', '1'],
    ['an empty object', '{}'],
    ['nesting deeper than the scan goes', user.replace('"rev":1', `"m":${'['.repeat(70)}${']'.repeat(70)}`)],
  ])('declines %s', (_, put) => {
    expect(read(lineWith(put))).toBeUndefined()
    expect(read(lineWith(`${user},${put}`))).toBeUndefined()
  })

  it('reads the keys of one put alone, and declines one with more after it or keys it cannot take', () => {
    const keysOf = (put: string) => putKeys(Buffer.from(put), 0, Buffer.byteLength(put))?.toString()
    expect(keysOf(user)).toBe('"auth0|1"\t"con_1"\t"a@b.c"\t\t')
    expect(keysOf(user.replace('"rev":1', '"username":"zoë"'))).toBe('"auth0|1"\t"con_1"\t"a@b.c"\t"zoë"\t')
    expect(keysOf(`${user} `)).toBeUndefined()
    expect(keysOf(user.replace('a@b.c', 'a\\u0040b.c'))).toBeUndefined()
  })

  it('declines a line that is not UTF-8, or has no top-level puts', () => {
    const bytes = Buffer.from(lineWith(user.replace('a@b.c', 'a@b.cX')))
    bytes[bytes.indexOf('X')] = 0xff
    expect(read(bytes)).toBeUndefined()
    expect(read('{"meta":{"puts":[]}}')).toBeUndefined()
    expect(read('{"seq":1,"jobId":"job_1","chunk":0,"puts":[')).toBeUndefined()
  })
})
