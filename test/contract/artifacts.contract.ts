import { readFile } from 'node:fs/promises'
import { gunzipSync } from 'node:zlib'
import { beforeEach, describe, expect, it } from 'vitest'
import type { Artifacts } from '../../src/engine/ports.ts'
import { AppError } from '../../src/errors.ts'

/**
 * What every Artifacts adapter does, whatever keeps the files. `open` gives a store holding no files yet; the
 * caller's own hooks clean up after it.
 */
export function artifactsContract(open: () => Promise<Artifacts>): void {
  const jobA = 'job_AAAAAAAAAAAAAAA1'
  const jobB = 'job_BBBBBBBBBBBBBBB2'
  let artifacts: Artifacts

  beforeEach(async () => {
    artifacts = await open()
  })

  async function* piecesOf(...pieces: (string | Uint8Array)[]): AsyncIterable<string | Uint8Array> {
    yield* pieces
  }

  async function* failingAfter(...pieces: string[]): AsyncIterable<string> {
    yield* pieces
    throw new Error('the export broke off')
  }

  describe('put and get', () => {
    it('gives back the bytes that were put', async () => {
      const bytes = new Uint8Array([0, 1, 2, 250, 255])

      await artifacts.put(jobA, 'users.json', bytes)

      expect(await artifacts.get(jobA, 'users.json')).toEqual(Buffer.from(bytes))
    })

    it('stores a string as UTF-8', async () => {
      await artifacts.put(jobA, 'errors.ndjson', '{"email":"zoë@example.com"}\n')

      expect((await artifacts.get(jobA, 'errors.ndjson'))?.toString('utf8')).toBe(
        '{"email":"zoë@example.com"}\n',
      )
    })

    it('gives back an empty file as empty bytes, not as missing', async () => {
      await artifacts.put(jobA, 'errors.json', '')

      expect(await artifacts.get(jobA, 'errors.json')).toEqual(Buffer.alloc(0))
    })

    it('replaces a file put twice', async () => {
      await artifacts.put(jobA, 'undo.json', 'first')
      await artifacts.put(jobA, 'undo.json', 'second')

      expect((await artifacts.get(jobA, 'undo.json'))?.toString()).toBe('second')
    })

    it('keeps one whole version when the same file is put twice at once', async () => {
      const first = Buffer.alloc(3_000_000, 'a')
      const second = Buffer.alloc(2_000_000, 'b')

      await Promise.all([artifacts.put(jobA, 'users.json', first), artifacts.put(jobA, 'users.json', second)])

      const stored = await artifacts.get(jobA, 'users.json')
      expect([first, second].some((version) => stored?.equals(version))).toBe(true)
    })

    it('answers undefined for a file or a job that has none', async () => {
      await artifacts.put(jobA, 'users.json', '[]')

      expect(await artifacts.get(jobA, 'export.csv')).toBeUndefined()
      expect(await artifacts.get(jobB, 'users.json')).toBeUndefined()
    })
  })

  describe('putStream', () => {
    it('writes the pieces, text and bytes, in order and counts the bytes written', async () => {
      const { bytes } = await artifacts.putStream(
        jobA,
        'export.ndjson',
        piecesOf('{"a":1}\n', new Uint8Array([0x7b, 0x7d, 0x0a]), 'zoë\n'),
        { gzip: false },
      )

      const stored = await artifacts.get(jobA, 'export.ndjson')
      expect(stored?.toString('utf8')).toBe('{"a":1}\n{}\nzoë\n')
      expect(bytes).toBe(stored?.length)
    })

    it('gzips when asked, and counts the gzipped bytes', async () => {
      const line = `${'x'.repeat(100)}\n`
      const { bytes } = await artifacts.putStream(
        jobA,
        'export.csv.gz',
        piecesOf(...Array.from({ length: 1000 }, () => line)),
        { gzip: true },
      )

      const stored = (await artifacts.get(jobA, 'export.csv.gz')) as Buffer
      expect(stored.length).toBe(bytes)
      expect(bytes).toBeLessThan(line.length * 1000)
      expect(gunzipSync(stored).toString()).toBe(line.repeat(1000))
    })

    it('writes a file larger than any buffer whole', async () => {
      // 12 MB in 64 KB pieces, each piece with its own number: order and completeness both show.
      const pieces = Array.from(
        { length: 192 },
        (_, i) => `${String(i).padStart(8, '0')}${'y'.repeat(65_528)}`,
      )

      const { bytes } = await artifacts.putStream(jobA, 'export.json', piecesOf(...pieces), { gzip: false })

      expect(bytes).toBe(192 * 65_536)
      expect((await artifacts.get(jobA, 'export.json'))?.toString()).toBe(pieces.join(''))
    })

    it('leaves no file when the pieces throw', async () => {
      const failed = artifacts.putStream(jobA, 'export.json', failingAfter('[', '{"a":1}'), { gzip: true })

      await expect(failed).rejects.toThrow('the export broke off')
      expect(await artifacts.get(jobA, 'export.json')).toBeUndefined()
      expect(await artifacts.locate(jobA, 'export.json')).toBeUndefined()
    })

    it('keeps the earlier version whole when a replacement throws', async () => {
      await artifacts.put(jobA, 'export.json', '[]')

      await expect(
        artifacts.putStream(jobA, 'export.json', failingAfter('[{"a":'), { gzip: false }),
      ).rejects.toThrow('the export broke off')

      expect((await artifacts.get(jobA, 'export.json'))?.toString()).toBe('[]')
    })
  })

  describe('locate', () => {
    it('gives a path that holds the file, for streaming it out', async () => {
      const content = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251))
      await artifacts.put(jobA, 'export.csv', content)

      const path = await artifacts.locate(jobA, 'export.csv')

      expect(path).toBeDefined()
      expect((await readFile(path as string)).equals(content)).toBe(true)
    })

    it('gives the new content once a file is replaced', async () => {
      await artifacts.put(jobA, 'export.csv', 'old')
      await readFile((await artifacts.locate(jobA, 'export.csv')) as string)
      await artifacts.putStream(jobA, 'export.csv', piecesOf('new'), { gzip: false })

      expect(await readFile((await artifacts.locate(jobA, 'export.csv')) as string, 'utf8')).toBe('new')
    })

    it('answers undefined for a file that does not exist', async () => {
      await artifacts.put(jobA, 'users.json', '[]')

      expect(await artifacts.locate(jobA, 'export.csv')).toBeUndefined()
      expect(await artifacts.locate(jobB, 'users.json')).toBeUndefined()
    })
  })

  describe('remove and jobIds', () => {
    it('removes every file of a job and nothing of another', async () => {
      await artifacts.put(jobA, 'users.json', '[]')
      await artifacts.put(jobA, 'errors.json', '[]')
      await artifacts.put(jobB, 'users.json', '[]')

      await artifacts.remove(jobA)

      expect(await artifacts.get(jobA, 'users.json')).toBeUndefined()
      expect(await artifacts.get(jobA, 'errors.json')).toBeUndefined()
      expect(await artifacts.locate(jobA, 'users.json')).toBeUndefined()
      expect((await artifacts.get(jobB, 'users.json'))?.toString()).toBe('[]')
      expect(await artifacts.jobIds()).toEqual([jobB])
    })

    it('removes a job that has no files without complaint', async () => {
      await expect(artifacts.remove(jobA)).resolves.toBeUndefined()
    })

    it('lists the jobs that have files', async () => {
      await artifacts.put(jobA, 'users.json', '[]')
      await artifacts.put(jobA, 'errors.json', '[]')
      await artifacts.put(jobB, 'users.json', '[]')

      expect((await artifacts.jobIds()).sort()).toEqual([jobA, jobB])
    })

    it('lists no jobs before anything was put', async () => {
      expect(await artifacts.jobIds()).toEqual([])
    })

    it("lists a job's files by name, sorted, and none of another job's", async () => {
      await artifacts.put(jobA, 'users.json', '[]')
      await artifacts.putStream(jobA, 'export.json.gz', piecesOf('[]'), { gzip: true })
      await artifacts.put(jobA, 'errors.json', '[]')
      await artifacts.put(jobB, 'upload', 'x')

      expect(await artifacts.list(jobA)).toEqual(['errors.json', 'export.json.gz', 'users.json'])
      expect(await artifacts.list(jobB)).toEqual(['upload'])
    })

    it('lists no files of a job that has none, or whose files were removed', async () => {
      expect(await artifacts.list(jobA)).toEqual([])
      await artifacts.put(jobA, 'users.json', '[]')
      await artifacts.remove(jobA)
      expect(await artifacts.list(jobA)).toEqual([])
    })
  })

  describe('names', () => {
    async function rejection(promise: Promise<unknown>): Promise<AppError> {
      const error = await promise.then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(AppError)
      return error as AppError
    }

    it.each(['../../etc/passwd', 'a/b.json', '.hidden', 'Users.json', ''])(
      'refuses the file name %j',
      async (name) => {
        expect((await rejection(artifacts.put(jobA, name, 'x'))).code).toBe('invalid_request')
        expect((await rejection(artifacts.putStream(jobA, name, piecesOf('x'), { gzip: false }))).code).toBe(
          'invalid_request',
        )
        expect((await rejection(artifacts.get(jobA, name))).code).toBe('invalid_request')
        expect((await rejection(artifacts.locate(jobA, name))).code).toBe('invalid_request')
      },
    )

    it.each(['../job_AAAAAAAAAAAAAAA1', 'job_short', `${jobA}/..`, '/etc'])(
      'refuses the job id %j',
      async (jobId) => {
        expect((await rejection(artifacts.put(jobId, 'users.json', 'x'))).code).toBe('invalid_request')
        expect((await rejection(artifacts.get(jobId, 'users.json'))).code).toBe('invalid_request')
        expect((await rejection(artifacts.remove(jobId))).code).toBe('invalid_request')
      },
    )
  })
}
