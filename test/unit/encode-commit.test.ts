import { describe, expect, it } from 'vitest'
import { encodeCommit, type JournalRecord, snapshotKeys } from '../../src/adapters/store/store-files.ts'
import type { StoredUser } from '../../src/domain/users/user.ts'

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
  it('writes the bytes of JSON.stringify(record), says where each put is in them, and gives each put its keys', () => {
    const puts = [
      user(1, { name: 'Zoë "Z" O’Brien 😀', username: 'zoë' }),
      user(2, { user_metadata: { note: 'a\\"b\n\t', list: [1, [2, { a: '}' }]] } }),
      user(3, { email: 'ünï@exämple.com', given_name: '\u2028\ud83d' }),
    ]
    const record: JournalRecord = {
      seq: 7,
      jobId: 'job_1',
      chunk: 2,
      puts,
      deletes: ['auth0|9'],
      meta: { a: [1] },
    }

    const encoded = encodeCommit(record)

    expect(encoded.line.toString('utf8')).toBe(`${JSON.stringify(record)}\n`)
    const found = encoded.putStarts.map((start, i) =>
      encoded.line.toString('utf8', start, start + (encoded.putLengths[i] as number)),
    )
    expect(found).toEqual(puts.map((put) => JSON.stringify(put)))
    expect(encoded.keys.toString('utf8')).toBe(puts.map((put) => `${snapshotKeys(put)}\n`).join(''))
  })

  it('leaves out meta when it is undefined, and encodes a commit without puts', () => {
    const record = { seq: 1, jobId: 'j', chunk: 0, puts: [], deletes: [], meta: undefined }

    const encoded = encodeCommit(record)

    expect(encoded.line.toString('utf8')).toBe(`${JSON.stringify(record)}\n`)
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

    expect(encodeCommit(record).line.toString('utf8')).toBe(`${JSON.stringify(record)}\n`)
    expect(encodeCommit(small).line.toString('utf8')).toBe(`${JSON.stringify(small)}\n`)
  })
})
