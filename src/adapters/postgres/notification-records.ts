import { queuedMailSchema } from '../mail/mail-outbox.ts'
import { inSendingOrder, type NotificationRecords } from '../notification-records.ts'
import { jobOfId, type Notification, notificationSchema } from '../slack/notifier/outbox.ts'
import { replayWindowMs } from '../slack/replay-guard.ts'
import { databaseUnavailable, type Pool, transaction } from './pool.ts'

/**
 * The notification tables of migration 003 as `NotificationRecords` (see there), for `roster store copy`. A row a
 * live replica claims (its claim has not lapsed) is being sent now: its job is named in `claimed`, and the copy
 * refuses, as for a job half-way through. A claim that lapsed is copied as unclaimed: the target sends the row.
 */
export async function readPgNotificationRecords(
  pool: Pool,
  databaseUrl: string,
): Promise<NotificationRecords> {
  const query = async <R extends object>(sql: string, values: unknown[] = []) => {
    try {
      return (await pool.query<R>(sql, values)).rows
    } catch (error) {
      throw databaseUnavailable(databaseUrl, 'read the notification tables', error)
    }
  }
  const claimed = new Set<string>()
  const unreadable: string[] = []

  const threads: NotificationRecords['threads'] = {}
  for (const row of await query<{ job_id: string; channel: string; ts: string; user_id: string | null }>(
    'SELECT job_id, channel, ts, user_id FROM slack_threads WHERE ts IS NOT NULL ORDER BY job_id',
  )) {
    threads[row.job_id] = { channel: row.channel, ts: row.ts, user: row.user_id ?? '' }
  }

  const outboxRows = await query<{
    id: string
    job_key: string
    body: unknown
    settled: boolean
    live: boolean
  }>(
    `SELECT id, job_key, body, settled_at IS NOT NULL AS settled, COALESCE(claimed_until > now(), false) AS live
     FROM slack_outbox ORDER BY seq`,
  )
  const marked = await query("SELECT 1 FROM notification_marks WHERE mark = 'slack_outbox'")
  const pending: Notification[] = []
  const settled: string[] = []
  for (const row of outboxRows) {
    if (row.settled) {
      settled.push(row.id)
      continue
    }
    if (row.live) claimed.add(row.job_key)
    const parsed = notificationSchema.safeParse(row.body)
    if (parsed.success) pending.push(parsed.data)
    else unreadable.push(`Slack notification ${row.id} (not what Roster writes there)`)
  }

  const mail: NotificationRecords['mail'] = { queued: [], sent: [], failed: [] }
  for (const row of await query<{
    job_id: string
    mail: { to?: unknown } | null
    attempts: number
    last_error: string | null
    sent_at: Date | null
    sent_via: string | null
    failed_at: Date | null
    live: boolean
  }>(
    `SELECT job_id, mail, attempts, last_error, sent_at, sent_via, failed_at,
            COALESCE(claimed_until > now(), false) AS live
     FROM mail_outbox ORDER BY job_id`,
  )) {
    if (row.sent_at !== null) {
      const to = Array.isArray(row.mail?.to)
        ? row.mail.to.filter((x): x is string => typeof x === 'string')
        : []
      mail.sent.push({ jobId: row.job_id, to, via: row.sent_via ?? '', sentAt: row.sent_at.toISOString() })
      continue
    }
    const parsed = queuedMailSchema.safeParse({
      ...row.mail,
      attempts: row.attempts,
      ...(row.last_error === null ? {} : { lastError: row.last_error }),
    })
    if (!parsed.success) {
      unreadable.push(`completion email of job ${row.job_id} (not what Roster writes there)`)
      continue
    }
    if (row.failed_at !== null) mail.failed.push(parsed.data)
    else {
      if (row.live) claimed.add(row.job_id)
      mail.queued.push(parsed.data)
    }
  }

  const replayKeys = (
    await query<{ key: string; seen_at: Date }>(
      `SELECT key, seen_at FROM slack_requests WHERE seen_at >= now() - $1 * interval '1 millisecond'
       ORDER BY seen_at, key`,
      [replayWindowMs],
    )
  ).map((row) => ({ key: row.key, seenAt: row.seen_at.toISOString() }))

  return {
    threads,
    slackOutbox:
      marked.length > 0 || outboxRows.length > 0 ? { pending: inSendingOrder(pending), settled } : undefined,
    mail,
    replayKeys,
    claimed: [...claimed].sort(),
    unreadable,
  }
}

/** Into empty tables, in one transaction: a copy that fails half-way leaves none of it. */
export async function writePgNotificationRecords(
  pool: Pool,
  databaseUrl: string,
  records: NotificationRecords,
): Promise<void> {
  await transaction(pool, async (client) => {
    for (const [jobId, thread] of Object.entries(records.threads)) {
      await client.query('INSERT INTO slack_threads (job_id, channel, ts, user_id) VALUES ($1, $2, $3, $4)', [
        jobId,
        thread.channel,
        thread.ts,
        thread.user,
      ])
    }
    if (records.slackOutbox !== undefined) {
      // The outbox was opened on the source: the target's is not fresh either (its replicas plan the outcomes of
      // jobs that ended unannounced rather than take them as announced).
      await client.query(
        "INSERT INTO notification_marks (mark) VALUES ('slack_outbox') ON CONFLICT (mark) DO NOTHING",
      )
      const { settled, pending } = records.slackOutbox
      await client.query(
        `INSERT INTO slack_outbox (id, job_key, settled_at)
         SELECT id, job_key, now() FROM unnest($1::text[], $2::text[]) AS s(id, job_key)`,
        [settled, settled.map(jobOfId)],
      )
      // In sending order: the table's seq keeps it.
      for (const item of pending) {
        await client.query('INSERT INTO slack_outbox (id, job_key, rank, body) VALUES ($1, $2, $3, $4)', [
          item.id,
          item.jobId,
          item.kind === 'parent' ? 0 : 1,
          item,
        ])
      }
    }
    const { queued, failed, sent } = records.mail
    for (const [mails, failedAt] of [
      [queued, null],
      [failed, 'now'],
    ] as const) {
      for (const { attempts, lastError, ...rest } of mails) {
        await client.query(
          `INSERT INTO mail_outbox (job_id, mail, attempts, last_error, failed_at)
           VALUES ($1, $2, $3, $4, CASE WHEN $5::text IS NULL THEN NULL ELSE now() END)`,
          [rest.jobId, rest, attempts, lastError ?? null, failedAt],
        )
      }
    }
    for (const mail of sent) {
      // Only who it went to is known of a sent email: enough, as nothing reads a sent row's body.
      await client.query(
        'INSERT INTO mail_outbox (job_id, mail, sent_at, sent_via) VALUES ($1, $2, $3, $4)',
        [mail.jobId, { jobId: mail.jobId, to: mail.to }, mail.sentAt, mail.via],
      )
    }
    await client.query(
      'INSERT INTO slack_requests (key, seen_at) SELECT * FROM unnest($1::text[], $2::timestamptz[])',
      [records.replayKeys.map((each) => each.key), records.replayKeys.map((each) => each.seenAt)],
    )
  }).catch((error: unknown) => {
    throw databaseUnavailable(databaseUrl, 'write the notification tables', error)
  })
}
