import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe } from 'vitest'
import { migrate } from '../../src/adapters/postgres/migrate.ts'
import { NotificationWakeups } from '../../src/adapters/postgres/notification-wakeups.ts'
import { createPool, type Pool } from '../../src/adapters/postgres/pool.ts'
import { openPgOutbox, type PgOutbox } from '../../src/adapters/postgres/slack-outbox.ts'
import { openOutbox } from '../../src/adapters/slack/notifier/outbox.ts'
import { hasPostgres, useTestDatabase } from '../support/postgres.ts'
import { tempDir } from '../support/temp-dir.ts'
import { sharedSlackOutboxContract, slackOutboxContract } from './slack-outbox.contract.ts'

describe('Slack outbox in a file (openOutbox)', () => {
  slackOutboxContract(async () => {
    const file = join(await tempDir('roster-outbox-'), 'slack-outbox.json')
    return { outbox: await openOutbox(file), reopen: () => openOutbox(file) }
  })
})

describe.skipIf(!hasPostgres)('Slack outbox in PostgreSQL (openPgOutbox)', () => {
  const databaseUrl = useTestDatabase()
  let pool: Pool
  /** Another replica's connections. */
  let other: Pool
  const opened: PgOutbox[] = []
  const wakeups: NotificationWakeups[] = []
  let replicas = 0

  beforeAll(async () => {
    pool = createPool(databaseUrl())
    other = createPool(databaseUrl())
    await migrate(pool, databaseUrl())
  })
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((outbox) => outbox.close()))
    await Promise.all(wakeups.splice(0).map((each) => each.stop()))
  })
  afterAll(async () => {
    await Promise.all([pool.end(), other.end()])
  })

  const openOn = async (on: Pool, claimMs = 30_000) => {
    const listening = new NotificationWakeups(databaseUrl(), { pollMs: 60_000 })
    await listening.start()
    wakeups.push(listening)
    const outbox = await openPgOutbox({
      pool: on,
      databaseUrl: databaseUrl(),
      replicaId: `replica-${++replicas}`,
      claimMs,
      wakeups: listening,
    })
    opened.push(outbox)
    return outbox
  }
  const location = async () => {
    await pool.query('TRUNCATE slack_outbox, notification_marks')
    return {
      outbox: await openOn(pool),
      reopen: () => openOn(other),
      replica: (claimMs?: number) => openOn(other, claimMs),
    }
  }

  slackOutboxContract(location)
  sharedSlackOutboxContract(location)
})
