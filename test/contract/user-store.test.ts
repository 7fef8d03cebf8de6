import { afterAll, beforeAll, describe } from 'vitest'
import { migrate } from '../../src/adapters/postgres/migrate.ts'
import { createPool, type Pool } from '../../src/adapters/postgres/pool.ts'
import { pgUserStore } from '../../src/adapters/postgres/user-store.ts'
import { asyncUserStore } from '../../src/adapters/store/async-user-store.ts'
import { openFileUserStore } from '../../src/adapters/store/file-user-store.ts'
import { hasPostgres, useTestDatabase } from '../support/postgres.ts'
import { removeDir, tempDir } from '../support/user-store-fixtures.ts'
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

  userStoreContract(async () => {
    await pool.query('TRUNCATE users, commits RESTART IDENTITY')
    return {
      store: pgUserStore(pool, databaseUrl()),
      other: async () => pgUserStore(other, databaseUrl()),
      close: async () => undefined,
    }
  })
})
