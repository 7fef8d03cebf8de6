import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  type CompletionNotifier,
  createCompletionNotifier,
} from '../../src/adapters/mail/completion-notifier.ts'
import { createMailer } from '../../src/adapters/mail/mailer.ts'
import { createPgMailOutbox, type PgMailOutbox } from '../../src/adapters/postgres/mail-outbox.ts'
import { migrate } from '../../src/adapters/postgres/migrate.ts'
import { NotificationWakeups } from '../../src/adapters/postgres/notification-wakeups.ts'
import { createPool, type Pool } from '../../src/adapters/postgres/pool.ts'
import { silentLogger } from '../../src/logger.ts'
import { hasPostgres, useTestDatabase } from '../support/postgres.ts'
import { type Harness, openHarness } from '../support/roster-harness.ts'
import { poll } from '../support/roster-process.ts'
import { type SmtpSink, startSmtpSink } from '../support/smtp-sink.ts'

/**
 * Completion emails through the `mail_outbox` table: queued by the replica whose engine ran the import, sent by
 * whichever replica claims them, once, over a real SMTP server on loopback.
 */
describe.skipIf(!hasPostgres)('completion emails queued in PostgreSQL', () => {
  const databaseUrl = useTestDatabase()
  let pool: Pool
  let smtp: SmtpSink
  const cleanups: (() => Promise<void>)[] = []

  beforeAll(async () => {
    pool = createPool(databaseUrl())
    await migrate(pool, databaseUrl())
  })
  afterAll(async () => {
    await pool.end()
  })
  beforeEach(async () => {
    await pool.query('TRUNCATE mail_outbox')
    smtp = await startSmtpSink()
  })
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
    await smtp.close()
  })

  /** A replica: its own engine (harness) and notifier, the shared table, woken by NOTIFY. */
  async function replica(
    name: string,
    smtpUrl: string,
  ): Promise<{ harness: Harness; notifier: CompletionNotifier }> {
    const harness = await openHarness({ TENANT_OWNERS: 'owner@example.com' })
    const wakeups = new NotificationWakeups(databaseUrl(), { pollMs: 60_000 })
    await wakeups.start()
    const outbox: PgMailOutbox = createPgMailOutbox({
      pool,
      databaseUrl: databaseUrl(),
      replicaId: name,
      wakeups,
    })
    const notifier = createCompletionNotifier({
      engine: harness.engine,
      mailer: createMailer({ smtpUrl, from: 'roster@acme.example', outboxDir: harness.storeDir }),
      outbox,
      logger: silentLogger,
      publicUrl: () => 'http://roster.test',
      retentionHours: 24,
      retryDelaysMs: [20, 20],
    })
    cleanups.push(async () => {
      await notifier.close()
      await outbox.close()
      await wakeups.stop()
      await harness.close()
    })
    return { harness, notifier }
  }

  const users = [{ email: 'ada@example.com', email_verified: true }]

  it('sends an email queued on one replica from another, once', async () => {
    const a = await replica('replica-a', smtp.url)
    const b = await replica('replica-b', smtp.url)
    // A does not send (its sender has not started): B, woken by A's NOTIFY, claims and sends.
    await b.notifier.start()
    const job = await a.harness.importUsers(users, { sendCompletionEmail: true })
    const mail = await smtp.next()
    expect(mail.subject).toContain(job.id)
    await poll('recorded as sent', async () => {
      const { rows } = await pool.query<{ sent_at: Date | null }>(
        'SELECT sent_at FROM mail_outbox WHERE job_id = $1',
        [job.id],
      )
      return rows[0]?.sent_at ? true : undefined
    })
    // A's sender starting later finds nothing left; the same completion announced again queues nothing.
    await a.notifier.start()
    a.harness.engine.ctx.events.emit({ type: 'job:finished', job })
    const other = await a.harness.importUsers(users, { sendCompletionEmail: true })
    expect((await smtp.next()).subject).toContain(other.id)
    expect(smtp.messages).toHaveLength(2)
    await poll('nothing left queued', async () => ((await a.notifier.pending()) === 0 ? true : undefined))
    expect(smtp.messages).toHaveLength(2)
  })

  it('retries a refused send on whichever replica is free, and sends it once', async () => {
    smtp.refuseNext(1)
    const a = await replica('replica-a', smtp.url)
    const b = await replica('replica-b', smtp.url)
    await Promise.all([a.notifier.start(), b.notifier.start()])
    const job = await a.harness.importUsers(users, { sendCompletionEmail: true })
    expect((await smtp.next()).subject).toContain(job.id)
    await poll('recorded as sent', async () => ((await a.notifier.pending()) === 0 ? true : undefined))
    const { rows } = await pool.query<{ attempts: number }>(
      'SELECT attempts FROM mail_outbox WHERE job_id = $1',
      [job.id],
    )
    expect(rows[0]?.attempts).toBe(1)
    expect(smtp.messages).toHaveLength(1)
  })
})
