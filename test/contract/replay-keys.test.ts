import { describe, expect, it } from 'vitest'
import { createPgReplayKeys } from '../../src/adapters/postgres/replay-keys.ts'
import { memoryReplayKeys, RecentKeys } from '../../src/adapters/slack/replay-guard.ts'
import { hasPostgres } from '../support/postgres.ts'
import { usePgContractDatabase } from '../support/postgres-contract.ts'
import { replayKeysContract } from './replay-keys.contract.ts'

describe('replay keys in memory (memoryReplayKeys)', () => {
  replayKeysContract(async (windowMs) => ({
    keys: memoryReplayKeys(new RecentKeys({ windowMs, limit: 1000 })),
  }))
})

describe.skipIf(!hasPostgres)('replay keys in PostgreSQL (createPgReplayKeys)', () => {
  const db = usePgContractDatabase()

  replayKeysContract(async (windowMs) => {
    await db.truncate('slack_requests')
    return {
      keys: createPgReplayKeys(db.pool(), db.url(), { windowMs }),
      other: createPgReplayKeys(db.other(), db.url(), { windowMs }),
    }
  })

  it('prunes keys older than the window', async () => {
    await db.truncate('slack_requests')
    const pool = db.pool()
    const keys = createPgReplayKeys(pool, db.url(), { windowMs: 60_000 })
    await keys.firstTime('event:Old')
    await keys.firstTime('event:New')
    await pool.query(
      "UPDATE slack_requests SET seen_at = now() - interval '10 minutes' WHERE key = 'event:Old'",
    )
    await keys.prune()
    const { rows } = await pool.query<{ key: string }>('SELECT key FROM slack_requests')
    expect(rows.map((row) => row.key)).toEqual(['event:New'])
  })
})
