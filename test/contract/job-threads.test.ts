import { join } from 'node:path'
import { afterAll, beforeAll, describe } from 'vitest'
import { migrate } from '../../src/adapters/postgres/migrate.ts'
import { createPool, type Pool } from '../../src/adapters/postgres/pool.ts'
import { createPgJobThreads } from '../../src/adapters/postgres/slack-threads.ts'
import { openJobThreads } from '../../src/adapters/slack/job-threads.ts'
import { hasPostgres, useTestDatabase } from '../support/postgres.ts'
import { tempDir } from '../support/temp-dir.ts'
import { jobThreadsContract } from './job-threads.contract.ts'

describe('Slack thread links in a file (openJobThreads)', () => {
  jobThreadsContract(
    async () => {
      const file = join(await tempDir('roster-threads-'), 'slack-threads.json')
      return { threads: await openJobThreads(file), reopen: () => openJobThreads(file) }
    },
    { shared: false },
  )
})

describe.skipIf(!hasPostgres)('Slack thread links in PostgreSQL (createPgJobThreads)', () => {
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

  jobThreadsContract(
    async () => {
      await pool.query('TRUNCATE slack_threads')
      return {
        threads: createPgJobThreads(pool, databaseUrl()),
        reopen: async () => createPgJobThreads(other, databaseUrl()),
      }
    },
    { shared: true },
  )
})
