import { describe } from 'vitest'
import { openFileMailOutbox } from '../../src/adapters/mail/mail-outbox.ts'
import { createPgMailOutbox } from '../../src/adapters/postgres/mail-outbox.ts'
import { silentLogger } from '../../src/logger.ts'
import { hasPostgres } from '../support/postgres.ts'
import { pgOutboxLocation, usePgContractDatabase } from '../support/postgres-contract.ts'
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
  const db = usePgContractDatabase()

  mailOutboxContract(
    pgOutboxLocation(db, ['mail_outbox'], async (on, claimMs = 60_000) => {
      const outbox = createPgMailOutbox({
        pool: on,
        databaseUrl: db.url(),
        replicaId: db.replicaId(),
        claimMs,
      })
      db.cleanup(() => outbox.close())
      return outbox
    }),
  )
})
