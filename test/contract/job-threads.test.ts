import { join } from 'node:path'
import { describe } from 'vitest'
import { createPgJobThreads } from '../../src/adapters/postgres/slack-threads.ts'
import { openJobThreads } from '../../src/adapters/slack/job-threads.ts'
import { hasPostgres } from '../support/postgres.ts'
import { usePgContractDatabase } from '../support/postgres-contract.ts'
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
  const db = usePgContractDatabase()

  jobThreadsContract(
    async () => {
      await db.truncate('slack_threads')
      return {
        threads: createPgJobThreads(db.pool(), db.url()),
        reopen: async () => createPgJobThreads(db.other(), db.url()),
      }
    },
    { shared: true },
  )
})
