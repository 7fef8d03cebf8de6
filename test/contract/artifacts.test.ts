import { join } from 'node:path'
import { describe } from 'vitest'
import { createPgArtifacts } from '../../src/adapters/postgres/artifacts.ts'
import { createFileArtifacts } from '../../src/adapters/store/artifacts.ts'
import { hasPostgres } from '../support/postgres.ts'
import { usePgContractDatabase } from '../support/postgres-contract.ts'
import { tempDir } from '../support/temp-dir.ts'
import { artifactsContract } from './artifacts.contract.ts'

describe('Artifacts on files (createFileArtifacts)', () => {
  artifactsContract(async () => createFileArtifacts(join(await tempDir('roster-artifacts-'), 'jobs')))
})

describe.skipIf(!hasPostgres)('Artifacts in PostgreSQL (createPgArtifacts)', () => {
  const db = usePgContractDatabase()

  artifactsContract(async () => {
    await db.truncate('job_files', 'job_file_parts')
    // Parts of an odd size: files of a few hundred KB already span several, and a part ends mid-piece.
    const artifacts = createPgArtifacts(db.pool(), db.url(), { partBytes: 100_000 })
    db.cleanup(() => artifacts.close())
    return artifacts
  })
})
