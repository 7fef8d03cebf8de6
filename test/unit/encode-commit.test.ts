import { describe, expect, it } from 'vitest'
import { type CommitToEncode, encodeCommit, snapshotKeys } from '../../src/adapters/store/store-files.ts'
import type { StoredUser } from '../../src/domain/users/user.ts'

/** What JSON.stringify writes for the record once each put is `{...put, rev: seq}`. */
function stored(record: CommitToEncode): string {
  return JSON.stringify({ ...record, puts: record.puts.map((put) => ({ ...put, rev: record.seq })) })
}

function user(n: number, extra: Partial<StoredUser> = {}): StoredUser {
  return {
    user_id: `auth0|${n}`,
    connection_id: 'con_1',
    email: `u${n}@example.com`,
    email_verified: false,
    identities: [
      { connection: 'Username-Password-Authentication', provider: 'auth0', user_id: `${n}`, isSocial: false },
    ],
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
    rev: 7,
    ...extra,
  }
}

describe('encodeCommit', () => {
  it('writes the bytes of JSON.stringify(record) with each put at rev seq, says where each put is, gives its keys', () => {
    const puts = [
      user(1, { name: 'Zoë "Z" O’Brien 😀', username: 'zoë' }),
      user(2, { user_metadata: { note: 'a\\"b\n\t', list: [1, [2, { a: '}' }]] } }),
      user(3, { email: 'ünï@exämple.com', given_name: '\u2028\ud83d' }),
      user(4, { user_id: 'auth0|a"b\\c\u0001', email: 'q"\u001f~@x.co', username: '\u007f\u0000' }),
    ]
    const record: CommitToEncode = {
      seq: 7,
      jobId: 'job_1',
      chunk: 2,
      puts,
      deletes: ['auth0|9'],
      meta: { a: [1] },
    }

    const encoded = encodeCommit(record)

    expect(encoded.line.toString('utf8')).toBe(`${stored(record)}\n`)
    const found = encoded.putStarts.map((start, i) =>
      encoded.line.toString('utf8', start, start + (encoded.putLengths[i] as number)),
    )
    expect(found).toEqual(puts.map((put) => JSON.stringify({ ...put, rev: 7 })))
    expect(encoded.keys.toString('utf8')).toBe(puts.map((put) => `${snapshotKeys(put)}\n`).join(''))
  })

  it('escapes a key that holds just one character JSON escapes (a quote, a backslash, a control character)', () => {
    const puts = [
      user(1, { user_id: 'auth0|q"' }),
      user(2, { email: 'b\\@x.co' }),
      user(3, { username: 'tab\t' }),
      user(4, { connection_id: 'con_\u007f', username: 'zoë' }),
    ]
    const record: CommitToEncode = { seq: 3, jobId: 'job_1', chunk: 0, puts, deletes: [], meta: null }

    const encoded = encodeCommit(record)

    expect(encoded.line.toString('utf8')).toBe(`${stored(record)}\n`)
    expect(encoded.keys.toString('utf8')).toBe(puts.map((put) => `${snapshotKeys(put)}\n`).join(''))
  })

  it('gives a new user (no rev of its own) the rev last, where a copy with the rev would have it; a stored one keeps its place', () => {
    const { rev: _rev, ...fresh } = user(1, { name: 'Zoë 😀' })
    const record: CommitToEncode = {
      seq: 12,
      jobId: 'job_1',
      chunk: 0,
      puts: [fresh, user(2)],
      deletes: [],
      meta: null,
    }

    const encoded = encodeCommit(record)

    expect(encoded.line.toString('utf8')).toBe(`${stored(record)}\n`)
    const first = encoded.line.toString(
      'utf8',
      encoded.putStarts[0],
      (encoded.putStarts[0] ?? 0) + (encoded.putLengths[0] ?? 0),
    )
    expect(first).toBe(JSON.stringify({ ...fresh, rev: 12 }))
    expect(JSON.parse(first)).toMatchObject({ rev: 12, name: 'Zoë 😀' })
    expect(Object.keys(JSON.parse(stored(record)).puts[1])).toEqual(Object.keys(user(2)))
    // The caller's users are not changed.
    expect(fresh).not.toHaveProperty('rev')
  })

  it('leaves out meta when it is undefined, and encodes a commit without puts', () => {
    const record = { seq: 1, jobId: 'j', chunk: 0, puts: [], deletes: [], meta: undefined }

    const encoded = encodeCommit(record)

    expect(encoded.line.toString('utf8')).toBe(`${stored(record)}\n`)
    expect(encoded.putStarts).toEqual([])
    expect(encoded.keys.length).toBe(0)
  })

  it('refuses a put whose keys are not strings, and meta that is not JSON', () => {
    const bad = { ...user(1), email: 5 } as unknown as StoredUser
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic

    expect(() =>
      encodeCommit({ seq: 1, jobId: 'j', chunk: 0, puts: [bad], deletes: [], meta: null }),
    ).toThrow(/email: expected a string/)
    expect(() =>
      encodeCommit({ seq: 1, jobId: 'j', chunk: 0, puts: [user(1)], deletes: [], meta: cyclic }),
    ).toThrow()
  })

  it('encodes a commit larger than the shared scratch Buffer, then small ones again', () => {
    const big = 'x'.repeat(6_000_000)
    const record = { seq: 1, jobId: 'j', chunk: 0, puts: [user(1, { name: big })], deletes: [], meta: null }
    const small = { seq: 2, jobId: 'j', chunk: 1, puts: [user(2)], deletes: [], meta: null }

    expect(encodeCommit(record).line.toString('utf8')).toBe(`${stored(record)}\n`)
    expect(encodeCommit(small).line.toString('utf8')).toBe(`${stored(small)}\n`)
  })
})
