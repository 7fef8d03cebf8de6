import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeEach, describe, expect, it } from 'vitest'
import { createFileArtifacts } from '../../src/adapters/store/artifacts.ts'
import { writeNewFileDurably } from '../../src/adapters/store/durable-json-file.ts'
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

  it("writes a job's upload and undo data in place, private, and replaces them whole when put again", async () => {
    const folder = join(dir, 'artifacts', jobA)
    await artifacts.put(jobA, 'upload', Buffer.from('[{"email":"zoë@example.com"}]'))
    await artifacts.put(jobA, 'undo.json', '[]')
    // What a crash in the middle of the first put leaves: the file, half-written, under its name.
    await writeFile(join(folder, 'undo.json'), '[{"seq":')
    await artifacts.put(jobA, 'undo.json', '[{"seq":3,"preImages":[]}]')

    expect((await readdir(folder)).sort()).toEqual(['undo.json', 'upload'])
    expect((await artifacts.get(jobA, 'upload'))?.toString()).toBe('[{"email":"zoë@example.com"}]')
    expect((await artifacts.get(jobA, 'undo.json'))?.toString()).toBe('[{"seq":3,"preImages":[]}]')
    expect((await stat(join(folder, 'upload'))).mode & 0o777).toBe(0o600)
  })

  it('writeNewFileDurably writes only a file that is not there yet', async () => {
    const file = join(dir, 'new.json')

    expect(await writeNewFileDurably(file, 'first')).toBe(true)
    expect(await writeNewFileDurably(file, 'second')).toBe(false)
    expect(await readFile(file, 'utf8')).toBe('first')
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
