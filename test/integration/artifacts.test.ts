import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createFileArtifacts } from '../../src/adapters/store/artifacts.ts'
import type { Artifacts } from '../../src/engine/ports.ts'
import { AppError } from '../../src/errors.ts'

const jobA = 'job_AAAAAAAAAAAAAAA1'
const jobB = 'job_BBBBBBBBBBBBBBB2'

let dir: string
let artifacts: Artifacts

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'roster-artifacts-'))
  artifacts = createFileArtifacts(join(dir, 'artifacts'))
})

afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(AppError)
  return error as AppError
}

describe('createFileArtifacts', () => {
  it('gives back the bytes that were put', async () => {
    const bytes = new Uint8Array([0, 1, 2, 250, 255])

    await artifacts.put(jobA, 'users.json', bytes)

    expect(await artifacts.get(jobA, 'users.json')).toEqual(Buffer.from(bytes))
  })

  it('stores a string as UTF-8 at <dir>/<jobId>/<name>, with no tmp file left behind', async () => {
    await artifacts.put(jobA, 'errors.ndjson', '{"email":"zoë@example.com"}\n')

    expect((await artifacts.get(jobA, 'errors.ndjson'))?.toString('utf8')).toBe(
      '{"email":"zoë@example.com"}\n',
    )
    expect(await readdir(join(dir, 'artifacts', jobA))).toEqual(['errors.ndjson'])
  })

  it('replaces a file put twice', async () => {
    await artifacts.put(jobA, 'undo.json', 'first')
    await artifacts.put(jobA, 'undo.json', 'second')

    expect((await artifacts.get(jobA, 'undo.json'))?.toString()).toBe('second')
  })

  it('answers undefined for a file or a job that has none', async () => {
    await artifacts.put(jobA, 'users.json', '[]')

    expect(await artifacts.get(jobA, 'export.csv')).toBeUndefined()
    expect(await artifacts.get(jobB, 'users.json')).toBeUndefined()
  })

  it('removes every file of a job and nothing of another', async () => {
    await artifacts.put(jobA, 'users.json', '[]')
    await artifacts.put(jobA, 'errors.json', '[]')
    await artifacts.put(jobB, 'users.json', '[]')

    await artifacts.remove(jobA)

    expect(await artifacts.get(jobA, 'users.json')).toBeUndefined()
    expect(await artifacts.jobIds()).toEqual([jobB])
  })

  it('removes a job that has no files without complaint', async () => {
    await expect(artifacts.remove(jobA)).resolves.toBeUndefined()
  })

  it('lists the jobs that have files, ignoring anything else in the directory', async () => {
    await artifacts.put(jobA, 'users.json', '[]')
    await artifacts.put(jobB, 'users.json', '[]')
    await mkdir(join(dir, 'artifacts', 'lost+found'))
    await writeFile(join(dir, 'artifacts', 'job_CCCCCCCCCCCCCCC3'), 'a file, not a job directory')

    expect((await artifacts.jobIds()).sort()).toEqual([jobA, jobB])
  })

  it('lists no jobs before anything was put', async () => {
    expect(await artifacts.jobIds()).toEqual([])
  })

  it.each(['../../etc/passwd', 'a/b.json', '.hidden', 'Users.json', ''])(
    'refuses the file name %j',
    async (name) => {
      const error = await rejection(artifacts.put(jobA, name, 'x'))

      expect(error.code).toBe('invalid_request')
    },
  )

  it.each(['../job_AAAAAAAAAAAAAAA1', 'job_short', `${jobA}/..`, '/etc'])(
    'refuses the job id %j',
    async (jobId) => {
      expect((await rejection(artifacts.get(jobId, 'users.json'))).code).toBe('invalid_request')
      expect((await rejection(artifacts.remove(jobId))).code).toBe('invalid_request')
    },
  )

  it('writes nothing outside its directory when asked to escape it', async () => {
    await rejection(artifacts.put('../../escaped', 'users.json', 'x'))

    expect(await readdir(dir)).toEqual([])
  })
})
