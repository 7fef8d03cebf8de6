import { defaultExpectMs, type JobThreads } from '../slack/job-threads.ts'
import { databaseUnavailable, type Pool } from './pool.ts'

/**
 * Job → Slack thread in `slack_threads` (migration 003), shared by replicas: a thread linked on one is found on
 * every other. The expected mark is a row without `ts`, bounded in time (`expected_until`), so a notifier on
 * replica B waits for the parent replica A is posting instead of starting a thread of its own, and a mark whose
 * replica died lapses.
 */
export function createPgJobThreads(pool: Pool, databaseUrl: string): JobThreads {
  const run = async <R extends object>(action: string, sql: string, values: unknown[]) => {
    try {
      return await pool.query<R>(sql, values)
    } catch (error) {
      throw databaseUnavailable(databaseUrl, action, error)
    }
  }
  return {
    async get(jobId) {
      const { rows } = await run<{ channel: string; ts: string; user_id: string | null }>(
        'read the Slack thread of a job',
        'SELECT channel, ts, user_id FROM slack_threads WHERE job_id = $1 AND ts IS NOT NULL',
        [jobId],
      )
      const row = rows[0]
      return row ? { channel: row.channel, ts: row.ts, user: row.user_id ?? '' } : undefined
    },
    async link(jobId, thread) {
      await run(
        'link a job to its Slack thread',
        `INSERT INTO slack_threads (job_id, channel, ts, user_id) VALUES ($1, $2, $3, $4)
         ON CONFLICT (job_id) DO UPDATE
           SET channel = EXCLUDED.channel, ts = EXCLUDED.ts, user_id = EXCLUDED.user_id, expected_until = NULL`,
        [jobId, thread.channel, thread.ts, thread.user],
      )
    },
    async expect(jobId, forMs = defaultExpectMs) {
      // Made only where there is neither a link nor a live mark: the one caller that made it posts the parent.
      const { rowCount } = await run(
        'mark a Slack thread as coming',
        `INSERT INTO slack_threads (job_id, expected_until) VALUES ($1, now() + $2 * interval '1 millisecond')
         ON CONFLICT (job_id) DO UPDATE SET expected_until = EXCLUDED.expected_until
           WHERE slack_threads.ts IS NULL
             AND (slack_threads.expected_until IS NULL OR slack_threads.expected_until <= now())`,
        [jobId, forMs],
      )
      return rowCount === 1
    },
    async unexpect(jobId) {
      await run(
        'clear the mark of a coming Slack thread',
        'DELETE FROM slack_threads WHERE job_id = $1 AND ts IS NULL',
        [jobId],
      )
    },
    async expected(jobId) {
      const { rowCount } = await run(
        'read the mark of a coming Slack thread',
        'SELECT 1 FROM slack_threads WHERE job_id = $1 AND ts IS NULL AND expected_until > now()',
        [jobId],
      )
      return rowCount === 1
    },
    async prune(live) {
      await run(
        'forget Slack threads of expired jobs',
        'DELETE FROM slack_threads WHERE NOT (job_id = ANY($1))',
        [[...live]],
      )
    },
  }
}
