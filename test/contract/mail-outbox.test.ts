import { afterAll, afterEach, beforeAll, describe } from 'vitest'
import { openFileMailOutbox } from '../../src/adapters/mail/mail-outbox.ts'
import { createPgMailOutbox, type PgMailOutbox } from '../../src/adapters/postgres/mail-outbox.ts'
import { migrate } from '../../src/adapters/postgres/migrate.ts'
import { createPool, type Pool } from '../../src/adapters/postgres/pool.ts'
import { silentLogger } from '../../src/logger.ts'
import { hasPostgres, useTestDatabase } from '../support/postgres.ts'
import { tempDir } from '../support/temp-dir.ts'
import { mailOutboxContract } from './mail-outbox.contract.ts'

describe('mail outbox in STORE_DIR/outbox (openFileMailOutbox)', () => {
  mailOutboxContract(async () => {
    const dir = await tempDir('roster-mail-')
    return {
      outbox: await openFileMailOutbox(dir, { logger: silentLogger }),
      reopen: () => openFileMailOutbox(dir, { logger: silentLogger }),
    }
  })
})

describe.skipIf(!hasPostgres)('mail outbox in PostgreSQL (createPgMailOutbox)', () => {
  const databaseUrl = useTestDatabase()
  let pool: Pool
  /** Another replica's connections. */
  let other: Pool
  const opened: PgMailOutbox[] = []
  let replicas = 0

  beforeAll(async () => {
    pool = createPool(databaseUrl())
    other = createPool(databaseUrl())
    await migrate(pool, databaseUrl())
  })
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((outbox) => outbox.close()))
  })
  afterAll(async () => {
    await Promise.all([pool.end(), other.end()])
  })

  const openOn = (on: Pool, claimMs = 60_000) => {
    const outbox = createPgMailOutbox({
      pool: on,
      databaseUrl: databaseUrl(),
      replicaId: `replica-${++replicas}`,
      claimMs,
    })
    opened.push(outbox)
    return outbox
  }

  mailOutboxContract(async () => {
    await pool.query('TRUNCATE mail_outbox')
    return {
      outbox: openOn(pool),
      reopen: async () => openOn(other),
      replica: async (claimMs?: number) => openOn(other, claimMs),
    }
  })
})
