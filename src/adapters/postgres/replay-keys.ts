import type { Logger } from '../../logger.ts'
import { type ReplayKeys, replayWindowMs } from '../slack/replay-guard.ts'
import { databaseUnavailable, type Pool } from './pool.ts'

/** Every this many requests, keys older than the window are deleted (one statement, on the index). */
const pruneEvery = 200

/**
 * The replay guard's keys in `slack_requests` (migration 003), shared by replicas: the first INSERT of a key
 * decides "first time", whichever replica Slack's retry (or a replayed signed request) reaches. A key older than
 * the window counts as new again, as in memory; old keys are pruned as requests come.
 */
export function createPgReplayKeys(
  pool: Pool,
  databaseUrl: string,
  options: { windowMs?: number; logger?: Logger } = {},
): ReplayKeys & { prune(): Promise<void> } {
  const windowMs = options.windowMs ?? replayWindowMs
  let calls = 0
  const prune = async () => {
    await pool.query("DELETE FROM slack_requests WHERE seen_at < now() - $1 * interval '1 millisecond'", [
      windowMs,
    ])
  }
  return {
    prune,
    async firstTime(key) {
      let rowCount: number | null
      try {
        ;({ rowCount } = await pool.query(
          `INSERT INTO slack_requests (key) VALUES ($1)
           ON CONFLICT (key) DO UPDATE SET seen_at = now()
             WHERE slack_requests.seen_at < now() - $2 * interval '1 millisecond'`,
          [key, windowMs],
        ))
      } catch (error) {
        throw databaseUnavailable(databaseUrl, 'record a Slack request (replay guard)', error)
      }
      if (++calls % pruneEvery === 0) {
        prune().catch((error: unknown) =>
          options.logger?.warn('old Slack request keys not pruned', { error }),
        )
      }
      return rowCount === 1
    },
  }
}
