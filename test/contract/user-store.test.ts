import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrate } from '../../src/adapters/postgres/migrate.ts'
import { createPool, type Pool } from '../../src/adapters/postgres/pool.ts'
import { pgUserStore } from '../../src/adapters/postgres/user-store.ts'
import { asyncUserStore } from '../../src/adapters/store/async-user-store.ts'
import { openFileUserStore } from '../../src/adapters/store/file-user-store.ts'
import type { StoredUser } from '../../src/domain/users/user.ts'
import { allOf } from '../support/async-users.ts'
import { hasPostgres, useTestDatabase } from '../support/postgres.ts'
import { batch, removeDir, tempDir, user, users } from '../support/user-store-fixtures.ts'
import { userStoreContract } from './user-store.contract.ts'

describe('AsyncUserStore over the file store (asyncUserStore(openFileUserStore))', () => {
  userStoreContract(async () => {
    const dir = await tempDir()
    const store = asyncUserStore(await openFileUserStore(dir))
    return {
      store,
      close: async () => {
        await store.close()
        await removeDir(dir)
      },
    }
  })
})

describe.skipIf(!hasPostgres)('AsyncUserStore in PostgreSQL (pgUserStore)', () => {
  const databaseUrl = useTestDatabase()
  let pool: Pool
  /** Another replica's connections to the same database. */
  let other: Pool

  beforeAll(async () => {
    pool = createPool(databaseUrl())
    other = createPool(databaseUrl())
    await migrate(pool, databaseUrl())
  })
  afterAll(async () => {
    await Promise.all([pool.end(), other.end()])
  })

  it('scanJson reads users written before migration 004 (jsonb’s text) as JSON.stringify’s text of them', async () => {
    await pool.query('TRUNCATE users, commits RESTART IDENTITY')
    const store = pgUserStore(pool, databaseUrl())
    const metadata = { zeta: 'a: b, c', a: { 'k k': [1, { y: null, x: true }] }, empty: {}, list: [] }
    await store.commit(batch('job_A', 0, { puts: [...users(1, 3), user(4, { user_metadata: metadata })] }))
    await pool.query('UPDATE users SET doc = doc::jsonb::json WHERE user_id <> $1', [user(2).user_id])
    const stored = await pool.query<{ doc: string }>('SELECT doc::text AS doc FROM users ORDER BY ord')
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

  userStoreContract(async () => {
    await pool.query('TRUNCATE users, commits RESTART IDENTITY')
    return {
      store: pgUserStore(pool, databaseUrl()),
      other: async () => pgUserStore(other, databaseUrl()),
      close: async () => undefined,
    }
  })
})
