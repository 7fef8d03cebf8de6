import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrate } from '../../src/adapters/postgres/migrate.ts'
import { createPool, type Pool } from '../../src/adapters/postgres/pool.ts'
import { createPgReplayKeys } from '../../src/adapters/postgres/replay-keys.ts'
import { memoryReplayKeys, RecentKeys } from '../../src/adapters/slack/replay-guard.ts'
import { hasPostgres, useTestDatabase } from '../support/postgres.ts'
import { replayKeysContract } from './replay-keys.contract.ts'

describe('replay keys in memory (memoryReplayKeys)', () => {
  replayKeysContract(async (windowMs) => ({
    keys: memoryReplayKeys(new RecentKeys({ windowMs, limit: 1000 })),
  }))
})

describe.skipIf(!hasPostgres)('replay keys in PostgreSQL (createPgReplayKeys)', () => {
  const databaseUrl = useTestDatabase()
  let pool: Pool
  /** Another replica's connections. */
  let other: Pool

  beforeAll(async () => {
    pool = createPool(databaseUrl())
    other = createPool(databaseUrl())
    await migrate(pool, databaseUrl())
  })
  afterAll(async () => {
    await Promise.all([pool.end(), other.end()])
  })

  replayKeysContract(async (windowMs) => {
    await pool.query('TRUNCATE slack_requests')
    return {
      keys: createPgReplayKeys(pool, databaseUrl(), { windowMs }),
      other: createPgReplayKeys(other, databaseUrl(), { windowMs }),
    }
  })

  it('prunes keys older than the window', async () => {
    await pool.query('TRUNCATE slack_requests')
    const keys = createPgReplayKeys(pool, databaseUrl(), { windowMs: 60_000 })
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
