import { afterAll, afterEach, beforeAll } from 'vitest'
import { migrate } from '../../src/adapters/postgres/migrate.ts'
import { createPool, type Pool } from '../../src/adapters/postgres/pool.ts'
import { useTestDatabase } from './postgres.ts'

/**
 * The PostgreSQL side of a contract suite (call it inside the `describe.skipIf(!hasPostgres)`): a database of its
 * own, migrated, with two pools on it, this replica's and another replica's, and what each case opened closed after
 * it. The test file still imports test/support/postgres.ts itself (for `hasPostgres`): that is what starts the
 * cluster.
 */
export interface PgContractDatabase {
  url(): string
  /** This replica's connections. */
  pool(): Pool
  /** Another replica's connections to the same database. */
  other(): Pool
  /** Empties `tables` (and restarts their identities): each case starts from nothing. */
  truncate(...tables: string[]): Promise<void>
  /** Runs `close` after the current test, the last registered first (an outbox before the listener it uses). */
  cleanup(close: () => Promise<unknown>): void
  /** A replica id not used before in the file. */
  replicaId(): string
}

export function usePgContractDatabase(): PgContractDatabase {
  const url = useTestDatabase()
  let pool: Pool | undefined
  let other: Pool | undefined
  const closers: (() => Promise<unknown>)[] = []
  let replicas = 0
  beforeAll(async () => {
    pool = createPool(url())
    other = createPool(url())
    await migrate(pool, url())
  })
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close()
  })
  afterAll(async () => {
    await Promise.all([pool?.end(), other?.end()])
  })
  const opened = (which: Pool | undefined) => {
    if (which === undefined) throw new Error('usePgContractDatabase: the pools are made in beforeAll')
    return which
  }
  return {
    url,
    pool: () => opened(pool),
    other: () => opened(other),
    async truncate(...tables) {
      await opened(pool).query(`TRUNCATE ${tables.join(', ')} RESTART IDENTITY`)
    },
    cleanup: (close) => closers.push(close),
    replicaId: () => `replica-${++replicas}`,
  }
}

/**
 * What the outbox contracts open on PostgreSQL: an empty outbox on this replica's pool, the same outbox reopened
 * on another replica's, and another replica whose claims last `claimMs`. `open` makes one outbox on a pool.
 */
export function pgOutboxLocation<T>(
  db: PgContractDatabase,
  tables: readonly string[],
  open: (on: Pool, claimMs?: number) => Promise<T>,
): () => Promise<{ outbox: T; reopen(): Promise<T>; replica(claimMs?: number): Promise<T> }> {
  return async () => {
    await db.truncate(...tables)
    return {
      outbox: await open(db.pool()),
      reopen: () => open(db.other()),
      replica: (claimMs) => open(db.other(), claimMs),
    }
  }
}
