import { join } from 'node:path'
import { describe } from 'vitest'
import { NotificationWakeups } from '../../src/adapters/postgres/notification-wakeups.ts'
import { openPgOutbox } from '../../src/adapters/postgres/slack-outbox.ts'
import { openOutbox } from '../../src/adapters/slack/notifier/outbox.ts'
import { hasPostgres } from '../support/postgres.ts'
import { pgOutboxLocation, usePgContractDatabase } from '../support/postgres-contract.ts'
import { tempDir } from '../support/temp-dir.ts'
import { sharedSlackOutboxContract, slackOutboxContract } from './slack-outbox.contract.ts'

describe('Slack outbox in a file (openOutbox)', () => {
  slackOutboxContract(async () => {
    const file = join(await tempDir('roster-outbox-'), 'slack-outbox.json')
    return { outbox: await openOutbox(file), reopen: () => openOutbox(file) }
  })
})

describe.skipIf(!hasPostgres)('Slack outbox in PostgreSQL (openPgOutbox)', () => {
  const db = usePgContractDatabase()
  const location = pgOutboxLocation(
    db,
    ['slack_outbox', 'notification_marks'],
    async (on, claimMs = 30_000) => {
      const listening = new NotificationWakeups(db.url(), { pollMs: 60_000 })
      await listening.start()
      db.cleanup(() => listening.stop())
      const outbox = await openPgOutbox({
        pool: on,
        databaseUrl: db.url(),
        replicaId: db.replicaId(),
        claimMs,
        wakeups: listening,
      })
      db.cleanup(() => outbox.close())
      return outbox
    },
  )

  slackOutboxContract(location)
  sharedSlackOutboxContract(location)
})
