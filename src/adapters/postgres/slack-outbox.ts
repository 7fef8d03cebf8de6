import type { Logger } from '../../logger.ts'
import { type Notification, notificationSchema, type Outbox } from '../slack/notifier/outbox.ts'
import { type NotificationWakeups, notificationsChannel } from './notification-wakeups.ts'
import { databaseUnavailable, type Pool, transaction } from './pool.ts'

export interface PgOutboxOptions {
  pool: Pool
  databaseUrl: string
  /** This replica, as recorded in `claimed_by`. */
  replicaId: string
  /** How long a claim holds without renewal: a replica that died lets its notifications go after this. Default 30 s. */
  claimMs?: number
  /** Jobs whose notifications this replica holds at most at once. Default 8. */
  maxJobs?: number
  wakeups?: NotificationWakeups
  logger?: Logger
}

export interface PgOutbox extends Outbox {
  /**
   * Stops renewing claims. `release` (the default, a clean shutdown) hands this replica's claims back at once;
   * without it they lapse after `claimMs`, as when the replica dies.
   */
  close(options?: { release?: boolean }): Promise<void>
}

interface Row {
  id: string
  seq: string
  body: unknown
}

/**
 * The Slack outbox in `slack_outbox` (migration 003), shared by replicas. A job's notifications go one at a time,
 * in order (a `parent` first): only the first unsettled row of a job may be claimed, and only while no other row of
 * the job is claimed. A replica claims with `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED LIMIT n)`,
 * sends, settles; it renews its claims while it holds them (a long upload, a Slack outage with backoff), and a
 * claim that lapses (the replica died mid-send) is taken by another. Rows added or let go of are NOTIFYed.
 */
export async function openPgOutbox(options: PgOutboxOptions): Promise<PgOutbox> {
  const { pool, databaseUrl, replicaId } = options
  const claimMs = options.claimMs ?? 30_000
  const maxJobs = options.maxJobs ?? 8
  const fail = (action: string) => (error: unknown) => {
    throw databaseUnavailable(databaseUrl, action, error)
  }
  // Fresh until a replica records what ended before (settleUnsent), in the same transaction as the mark.
  const { rowCount: adopted } = await pool
    .query("SELECT 1 FROM notification_marks WHERE mark = 'slack_outbox'")
    .catch(fail('open the Slack outbox'))
  /** What this replica claimed, by id, with its place in the outbox. */
  let held = new Map<string, { seq: bigint; notification: Notification }>()
  let closed = false

  const renew = async () => {
    if (held.size === 0) return
    const { rows } = await pool.query<{ id: string }>(
      `UPDATE slack_outbox SET claimed_until = now() + $2 * interval '1 millisecond'
       WHERE claimed_by = $1 AND settled_at IS NULL RETURNING id`,
      [replicaId, claimMs],
    )
    // A claim that lapsed while this replica was stalled may have gone to another: it is theirs now.
    const still = new Set(rows.map((row) => row.id))
    for (const id of held.keys()) if (!still.has(id)) held.delete(id)
  }
  const heartbeat = setInterval(
    () => {
      renew().catch((error: unknown) =>
        options.logger?.warn('Slack outbox: claims not renewed', { error: (error as Error).message }),
      )
    },
    Math.max(50, Math.floor(claimMs / 3)),
  )
  heartbeat.unref()

  const unsubscribeWakeups: (() => void)[] = []

  return {
    fresh: adopted === 0,
    pending: () =>
      [...held.values()].sort((a, b) => (a.seq < b.seq ? -1 : 1)).map((entry) => entry.notification),
    async claim() {
      if (closed) return false
      const before = held.size
      await renew().catch(fail('renew Slack outbox claims'))
      const room = maxJobs - held.size
      if (room > 0) {
        const { rows } = await pool
          .query<Row>(
            `UPDATE slack_outbox SET claimed_by = $1, claimed_until = now() + $2 * interval '1 millisecond'
             WHERE id IN (
               SELECT o.id FROM slack_outbox o
               WHERE o.settled_at IS NULL AND o.body IS NOT NULL
                 AND (o.claimed_until IS NULL OR o.claimed_until <= now())
                 AND NOT EXISTS (
                   SELECT 1 FROM slack_outbox p
                   WHERE p.job_key = o.job_key AND p.settled_at IS NULL AND p.id <> o.id
                     AND ((p.rank, p.seq) < (o.rank, o.seq) OR p.claimed_until > now()))
               ORDER BY o.seq
               LIMIT $3
               FOR UPDATE SKIP LOCKED)
             RETURNING id, seq, body`,
            [replicaId, claimMs, room],
          )
          .catch(fail('claim Slack notifications'))
        const next = new Map(held)
        for (const row of rows) {
          const parsed = notificationSchema.safeParse(row.body)
          if (!parsed.success) {
            // Written by something else than this Roster: never sendable, so settled rather than claimed forever.
            options.logger?.error('Slack outbox: unreadable notification settled unsent', { id: row.id })
            await pool.query('UPDATE slack_outbox SET settled_at = now() WHERE id = $1', [row.id])
            continue
          }
          next.set(row.id, { seq: BigInt(row.seq), notification: parsed.data })
        }
        held = next
        return rows.length > 0 || held.size !== before
      }
      return held.size !== before
    },
    async knows(id) {
      const { rowCount } = await pool
        .query('SELECT 1 FROM slack_outbox WHERE id = $1', [id])
        .catch(fail('read the Slack outbox'))
      return rowCount === 1
    },
    async parentPending(jobId) {
      const { rowCount } = await pool
        .query(
          'SELECT 1 FROM slack_outbox WHERE job_key = $1 AND rank = 0 AND settled_at IS NULL AND body IS NOT NULL',
          [jobId],
        )
        .catch(fail('read the Slack outbox'))
      return (rowCount ?? 0) > 0
    },
    async add(items) {
      const unique = items.filter((item, i) => items.findIndex((x) => x.id === item.id) === i)
      if (unique.length === 0) return []
      const added = await transaction(pool, async (client) => {
        const done: Notification[] = []
        for (const item of unique) {
          const { rowCount } = await client.query(
            `INSERT INTO slack_outbox (id, job_key, rank, body) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO NOTHING`,
            [item.id, item.jobId, item.kind === 'parent' ? 0 : 1, item],
          )
          if (rowCount === 1) done.push(item)
        }
        // Delivered at COMMIT: the others claim what is there by then.
        if (done.length > 0) await client.query('SELECT pg_notify($1, $2)', [notificationsChannel, 'slack'])
        return done
      }).catch(fail('write to the Slack outbox'))
      return added
    },
    async settle(id) {
      held.delete(id)
      await pool
        .query(
          `UPDATE slack_outbox SET settled_at = now(), claimed_by = NULL, claimed_until = NULL
           WHERE id = $1 AND settled_at IS NULL`,
          [id],
        )
        .catch(fail('record a Slack notification as sent'))
    },
    async settleUnsent(ids) {
      // With the mark, in one transaction: two replicas starting on a fresh database at once record it once; the
      // second waits on the mark's row, then finds it, and leaves what the first recorded (it plans nothing either:
      // it also saw a fresh outbox). A replica that saw the mark plans outcomes only for ids not known by then.
      await transaction(pool, async (client) => {
        const { rowCount } = await client.query(
          "INSERT INTO notification_marks (mark) VALUES ('slack_outbox') ON CONFLICT (mark) DO NOTHING",
        )
        if (rowCount !== 1 || ids.length === 0) return
        await client.query(
          `INSERT INTO slack_outbox (id, job_key, settled_at)
           SELECT id, split_part(id, ':', 1), now() FROM unnest($1::text[]) AS id
           ON CONFLICT (id) DO NOTHING`,
          [[...ids]],
        )
      }).catch(fail('write to the Slack outbox'))
    },
    async prune(live) {
      await pool
        .query(
          `DELETE FROM slack_outbox WHERE settled_at IS NOT NULL AND NOT (split_part(id, ':', 1) = ANY($1))`,
          [[...live]],
        )
        .catch(fail('prune the Slack outbox'))
    },
    subscribe(listener) {
      const off = options.wakeups?.on('slack', listener) ?? (() => undefined)
      unsubscribeWakeups.push(off)
      return off
    },
    async close(closeOptions = {}) {
      closed = true
      clearInterval(heartbeat)
      for (const off of unsubscribeWakeups) off()
      held = new Map()
      if (closeOptions.release === false) return
      await pool
        .query(
          `WITH released AS (
             UPDATE slack_outbox SET claimed_by = NULL, claimed_until = NULL
             WHERE claimed_by = $1 AND settled_at IS NULL RETURNING id)
           SELECT pg_notify($2, 'slack') FROM (SELECT count(*) AS n FROM released) AS r WHERE r.n > 0`,
          [replicaId, notificationsChannel],
        )
        .catch(fail('let go of Slack outbox claims'))
    },
  }
}
