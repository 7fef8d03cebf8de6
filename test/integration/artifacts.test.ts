import { mkdir, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeEach, describe, expect, it } from 'vitest'
import { createFileArtifacts } from '../../src/adapters/store/artifacts.ts'
import type { Artifacts } from '../../src/engine/ports.ts'
import { AppError } from '../../src/errors.ts'
import { tempDir } from '../support/temp-dir.ts'

// What every Artifacts adapter does is in test/contract/artifacts.contract.ts; these are about the files.

const jobA = 'job_AAAAAAAAAAAAAAA1'
const jobB = 'job_BBBBBBBBBBBBBBB2'

let dir: string
let artifacts: Artifacts

beforeEach(async () => {
  dir = await tempDir('roster-artifacts-')
  artifacts = createFileArtifacts(join(dir, 'artifacts'))
})

describe('createFileArtifacts on disk', () => {
  it('keeps a file at <dir>/<jobId>/<name>, with no tmp file left behind', async () => {
    await artifacts.put(jobA, 'errors.ndjson', '{"email":"zoë@example.com"}\n')
    await artifacts.putStream(
      jobA,
      'export.json',
      (async function* () {
        yield '[]'
      })(),
      { gzip: false },
    )

    expect((await readdir(join(dir, 'artifacts', jobA))).sort()).toEqual(['errors.ndjson', 'export.json'])
    expect(await artifacts.locate(jobA, 'export.json')).toBe(join(dir, 'artifacts', jobA, 'export.json'))
  })

  it('lists the jobs that have files, ignoring anything else in the directory', async () => {
    await artifacts.put(jobA, 'users.json', '[]')
    await artifacts.put(jobB, 'users.json', '[]')
    await mkdir(join(dir, 'artifacts', 'lost+found'))
    await writeFile(join(dir, 'artifacts', 'job_CCCCCCCCCCCCCCC3'), 'a file, not a job directory')

    expect((await artifacts.jobIds()).sort()).toEqual([jobA, jobB])
  })

  it('writes nothing outside its directory when asked to escape it', async () => {
    const error = await artifacts.put('../../escaped', 'users.json', 'x').catch((e: unknown) => e)

    expect(error).toBeInstanceOf(AppError)
    expect(await readdir(dir)).toEqual([])
  })
})
