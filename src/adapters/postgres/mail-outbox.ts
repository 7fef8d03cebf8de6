import type { Logger } from '../../logger.ts'
import { type MailOutbox, type QueuedMail, queuedMailSchema } from '../mail/mail-outbox.ts'
import { type NotificationWakeups, notificationsChannel } from './notification-wakeups.ts'
import { databaseUnavailable, type Pool } from './pool.ts'

export interface PgMailOutboxOptions {
  pool: Pool
  databaseUrl: string
  replicaId: string
  /** How long a claim holds without renewal (renewed while the send lasts). Default 60 s. */
  claimMs?: number
  wakeups?: NotificationWakeups
  logger?: Logger
}

export interface PgMailOutbox extends MailOutbox {
  /** Stops renewing claims; `release` (default) hands this replica's back at once, else they lapse. */
  close(options?: { release?: boolean }): Promise<void>
}

interface Row {
  mail: unknown
  attempts: number
  last_error: string | null
}

/**
 * Completion emails in `mail_outbox` (migration 003), one row per job, shared by replicas: the replica that ran
 * the import queues it (a second queue of the same job is ignored, on any replica), any replica claims due rows
 * (`FOR UPDATE SKIP LOCKED`), sends, and records `sent_at`; a failure sets the next `due_at` and lets go. Claims
 * are renewed while the send lasts (an SMTP server that does not answer), and lapse when their replica died.
 */
export function createPgMailOutbox(options: PgMailOutboxOptions): PgMailOutbox {
  const { pool, databaseUrl, replicaId } = options
  const claimMs = options.claimMs ?? 60_000
  const fail = (action: string) => (error: unknown) => {
    throw databaseUnavailable(databaseUrl, action, error)
  }
  const held = new Set<string>()
  const renew = async () => {
    if (held.size === 0) return
    await pool.query(
      `UPDATE mail_outbox SET claimed_until = now() + $2 * interval '1 millisecond'
       WHERE claimed_by = $1 AND sent_at IS NULL AND failed_at IS NULL`,
      [replicaId, claimMs],
    )
  }
  const heartbeat = setInterval(
    () => {
      renew().catch((error: unknown) =>
        options.logger?.warn('mail outbox: claims not renewed', { error: (error as Error).message }),
      )
    },
    Math.max(50, Math.floor(claimMs / 3)),
  )
  heartbeat.unref()
  const offs: (() => void)[] = []
  /** Settles the row this replica holds; `set` is the SQL of the columns to change. */
  const update = async (jobId: string, set: string, values: unknown[], action: string) => {
    held.delete(jobId)
    await pool
      .query(
        `UPDATE mail_outbox SET ${set}, claimed_by = NULL, claimed_until = NULL
         WHERE job_id = $1 AND sent_at IS NULL AND failed_at IS NULL`,
        [jobId, ...values],
      )
      .catch(fail(action))
  }

  return {
    async handled(jobId) {
      const { rowCount } = await pool
        .query('SELECT 1 FROM mail_outbox WHERE job_id = $1', [jobId])
        .catch(fail('read the mail outbox'))
      return rowCount === 1
    },
    async enqueue(mail) {
      const { attempts, lastError, ...rest } = mail
      const { rowCount } = await pool
        .query(
          `WITH queued AS (
             INSERT INTO mail_outbox (job_id, mail, attempts, last_error) VALUES ($1, $2, $3, $4)
             ON CONFLICT (job_id) DO NOTHING RETURNING job_id)
           SELECT pg_notify($5, 'mail') FROM queued`,
          [mail.jobId, rest, attempts, lastError ?? null, notificationsChannel],
        )
        .catch(fail('queue a completion email'))
      return rowCount === 1
    },
    async claimDue(limit) {
      const { rows } = await pool
        .query<Row>(
          `UPDATE mail_outbox SET claimed_by = $1, claimed_until = now() + $2 * interval '1 millisecond'
           WHERE job_id IN (
             SELECT job_id FROM mail_outbox
             WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now()
               AND (claimed_until IS NULL OR claimed_until <= now())
             ORDER BY due_at
             LIMIT $3
             FOR UPDATE SKIP LOCKED)
           RETURNING mail, attempts, last_error`,
          [replicaId, claimMs, limit],
        )
        .catch(fail('claim completion emails'))
      const due: QueuedMail[] = []
      for (const row of rows) {
        const parsed = queuedMailSchema.safeParse({
          ...(row.mail as object),
          attempts: row.attempts,
          ...(row.last_error === null ? {} : { lastError: row.last_error }),
        })
        if (!parsed.success) {
          const jobId = String((row.mail as { jobId?: unknown } | null)?.jobId)
          options.logger?.error('unreadable queued email set aside', { jobId })
          await update(jobId, 'failed_at = now()', [], 'set aside a completion email')
          continue
        }
        held.add(parsed.data.jobId)
        due.push(parsed.data)
      }
      return due
    },
    async nextDueAt() {
      // Relative to the database's clock, then placed on ours: a clock skew between them does not matter.
      const { rows } = await pool
        .query<{ in_ms: number | null }>(
          `SELECT EXTRACT(EPOCH FROM min(GREATEST(due_at, COALESCE(claimed_until, due_at))) - now()) * 1000 AS in_ms
           FROM mail_outbox
           WHERE sent_at IS NULL AND failed_at IS NULL AND NOT (claimed_by IS NOT DISTINCT FROM $1 AND claimed_until > now())`,
          [replicaId],
        )
        .catch(fail('read the mail outbox'))
      const inMs = rows[0]?.in_ms
      return inMs === null || inMs === undefined ? undefined : Date.now() + Math.max(0, Number(inMs))
    },
    sent: (mail, record) =>
      update(mail.jobId, 'sent_at = now(), sent_via = $2', [record.via], 'record a completion email as sent'),
    retry: (mail, delayMs) =>
      update(
        mail.jobId,
        "attempts = $2, last_error = $3, due_at = now() + $4 * interval '1 millisecond'",
        [mail.attempts, mail.lastError ?? null, delayMs],
        'keep a completion email for a retry',
      ),
    failed: (mail) =>
      update(
        mail.jobId,
        'attempts = $2, last_error = $3, failed_at = now()',
        [mail.attempts, mail.lastError ?? null],
        'set aside a completion email',
      ),
    async pending() {
      const { rows } = await pool
        .query<{ n: string }>(
          'SELECT count(*) AS n FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL',
        )
        .catch(fail('read the mail outbox'))
      return Number(rows[0]?.n ?? 0)
    },
    subscribe(listener) {
      const off = options.wakeups?.on('mail', listener) ?? (() => undefined)
      offs.push(off)
      return off
    },
    async close(closeOptions = {}) {
      clearInterval(heartbeat)
      for (const off of offs) off()
      const mine = [...held]
      held.clear()
      if (closeOptions.release === false || mine.length === 0) return
      await pool
        .query(
          `UPDATE mail_outbox SET claimed_by = NULL, claimed_until = NULL
           WHERE claimed_by = $1 AND sent_at IS NULL AND failed_at IS NULL`,
          [replicaId],
        )
        .catch(fail('let go of mail outbox claims'))
    },
  }
}
