import { describe, expect, it } from 'vitest'
import { pgUserStore } from '../../src/adapters/postgres/user-store.ts'
import type { StoredUser } from '../../src/domain/users/user.ts'
import { allOf } from '../support/async-users.ts'
import { hasPostgres } from '../support/postgres.ts'
import { usePgContractDatabase } from '../support/postgres-contract.ts'
import { batch, user, users } from '../support/user-store-fixtures.ts'

/**
 * PostgreSQL's scanJson (src/adapters/postgres/user-scan.ts) beyond the contract both backends keep
 * (user-store.contract.ts): users written before migration 005 hold jsonb's text, which it reads as well.
 */
describe.skipIf(!hasPostgres)('scanJson on PostgreSQL', () => {
  const db = usePgContractDatabase()

  it('reads users written before migration 005 (jsonb’s text) as JSON.stringify’s text of them', async () => {
    await db.truncate('users', 'commits')
    const store = pgUserStore(db.pool(), db.url())
    const metadata = { zeta: 'a: b, c', a: { 'k k': [1, { y: null, x: true }] }, empty: {}, list: [] }
    await store.commit(batch('job_A', 0, { puts: [...users(1, 3), user(4, { user_metadata: metadata })] }))
    await db.pool().query('UPDATE users SET doc = doc::jsonb::json WHERE user_id <> $1', [user(2).user_id])
    const stored = await db.pool().query<{ doc: string }>('SELECT doc::text AS doc FROM users ORDER BY ord')
    expect(stored.rows.map((row) => row.doc.includes('": '))).toEqual([true, false, true, true])

    const scanned = await allOf(store.scan())
    const texts: string[] = []
    const parsed: StoredUser[] = []
    for await (const page of store.scanJson?.({}, { pageSize: 3 }) ?? []) {
      for (const json of page) {
        texts.push(Buffer.from(json.bytes.subarray(json.start, json.end)).toString('utf8'))
        parsed.push(json.user())
      }
    }
    expect(parsed).toEqual(scanned)
    expect(texts).toEqual(scanned.map((each) => JSON.stringify(each)))
    expect(texts[3]).toContain('"zeta":"a: b, c"')
  })

  it('reads a whole scan ahead, page after page, into the same bytes, and stops with the users', async () => {
    await db.truncate('users', 'commits')
    const store = pgUserStore(db.pool(), db.url())
    for (let chunk = 0; chunk < 3; chunk++) {
      await store.commit(batch('job_A', chunk, { puts: users(1 + chunk * 4_000, 4_000) }))
    }
    const scanned = await allOf(store.scan({}, { pageSize: 5_000 }))
    const ids: string[] = []
    const byteArrays = new Set<Uint8Array>()
    for await (const page of store.scanJson?.() ?? []) {
      for (const json of page) {
        byteArrays.add(json.bytes)
        ids.push(
          (JSON.parse(Buffer.from(json.bytes.subarray(json.start, json.end)).toString()) as StoredUser)
            .user_id,
        )
      }
    }
    expect(ids).toEqual(scanned.map((each) => each.user_id))
    // 12,000 users: three pages, the third read into the first's bytes.
    expect(byteArrays.size).toBe(2)
  })
})
