import { describe, expect, it } from 'vitest'
import { findPuts } from '../../src/adapters/store/journal-puts.ts'

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
