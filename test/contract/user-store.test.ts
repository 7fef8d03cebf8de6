import { describe } from 'vitest'
import { pgUserStore } from '../../src/adapters/postgres/user-store.ts'
import { asyncUserStore } from '../../src/adapters/store/async-user-store.ts'
import { openFileUserStore } from '../../src/adapters/store/file-user-store.ts'
import { hasPostgres } from '../support/postgres.ts'
import { usePgContractDatabase } from '../support/postgres-contract.ts'
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
  const db = usePgContractDatabase()

  userStoreContract(async () => {
    await db.truncate('users', 'commits')
    return {
      store: pgUserStore(db.pool(), db.url()),
      other: async () => pgUserStore(db.other(), db.url()),
      close: async () => undefined,
    }
  })
})
