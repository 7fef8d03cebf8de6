import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe } from 'vitest'
import { createPgArtifacts, type PgArtifacts } from '../../src/adapters/postgres/artifacts.ts'
import { migrate } from '../../src/adapters/postgres/migrate.ts'
import { createPool, type Pool } from '../../src/adapters/postgres/pool.ts'
import { createFileArtifacts } from '../../src/adapters/store/artifacts.ts'
import { hasPostgres, useTestDatabase } from '../support/postgres.ts'
import { tempDir } from '../support/temp-dir.ts'
import { artifactsContract } from './artifacts.contract.ts'

describe('Artifacts on files (createFileArtifacts)', () => {
  artifactsContract(async () => createFileArtifacts(join(await tempDir('roster-artifacts-'), 'jobs')))
})

describe.skipIf(!hasPostgres)('Artifacts in PostgreSQL (createPgArtifacts)', () => {
  const databaseUrl = useTestDatabase()
  let pool: Pool
  const opened: PgArtifacts[] = []

  beforeAll(async () => {
    pool = createPool(databaseUrl())
    await migrate(pool, databaseUrl())
  })
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((artifacts) => artifacts.close()))
  })
  afterAll(async () => {
    await pool.end()
  })

  artifactsContract(async () => {
    await pool.query('DELETE FROM job_files')
    // Parts of an odd size: files of a few hundred KB already span several, and a part ends mid-piece.
    const artifacts = createPgArtifacts(pool, databaseUrl(), { partBytes: 100_000 })
    opened.push(artifacts)
    return artifacts
  })
})
