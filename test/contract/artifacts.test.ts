import { join } from 'node:path'
import { describe } from 'vitest'
import { createFileArtifacts } from '../../src/adapters/store/artifacts.ts'
import { tempDir } from '../support/temp-dir.ts'
import { artifactsContract } from './artifacts.contract.ts'

describe('Artifacts on files (createFileArtifacts)', () => {
  artifactsContract(async () => createFileArtifacts(join(await tempDir('roster-artifacts-'), 'jobs')))
})
