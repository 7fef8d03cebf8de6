import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createPgArtifacts, type PgArtifacts } from '../../src/adapters/postgres/artifacts.ts'
import { migrate } from '../../src/adapters/postgres/migrate.ts'
import { createPool, type Pool } from '../../src/adapters/postgres/pool.ts'
import { hasPostgres, useTestDatabase } from '../support/postgres.ts'
import { tempDir } from '../support/temp-dir.ts'

// What every Artifacts adapter does is in test/contract/artifacts.contract.ts; these are about PostgreSQL.

const jobA = 'job_AAAAAAAAAAAAAAA1'

describe.skipIf(!hasPostgres)('createPgArtifacts', () => {
  const databaseUrl = useTestDatabase()
  let pool: Pool
  let opened: PgArtifacts[] = []

  function open(): PgArtifacts {
    const artifacts = createPgArtifacts(pool, databaseUrl(), { partBytes: 100_000 })
    opened.push(artifacts)
    return artifacts
  }

  beforeAll(async () => {
    pool = createPool(databaseUrl())
    await migrate(pool, databaseUrl())
  })
  beforeEach(async () => {
    await pool.query('DELETE FROM job_files')
  })
  afterEach(async () => {
    await Promise.all(opened.map((artifacts) => artifacts.close()))
    opened = []
  })
  afterAll(async () => {
    await pool.end()
  })

  async function partSizes(name: string): Promise<number[]> {
    const { rows } = await pool.query<{ size: number }>(
      'SELECT length(p.bytes) AS size FROM job_files f JOIN job_file_parts p ON p.file_id = f.id ' +
        'WHERE f.job_id = $1 AND f.name = $2 ORDER BY p.part',
      [jobA, name],
    )
    return rows.map((row) => row.size)
  }

  it('keeps a file in parts of at most partBytes, whatever the pieces were', async () => {
    const artifacts = open()
    await artifacts.put(jobA, 'users.json', Buffer.alloc(250_000, 1))
    await artifacts.putStream(
      jobA,
      'export.json',
      (async function* () {
        for (let i = 0; i < 7; i++) yield 'z'.repeat(33_333)
      })(),
      { gzip: false },
    )

    expect(await partSizes('users.json')).toEqual([100_000, 100_000, 50_000])
    expect(await partSizes('export.json')).toEqual([100_000, 100_000, 33_331])
  })

  it('leaves no row behind when the pieces throw after several parts', async () => {
    const artifacts = open()

    await expect(
      artifacts.putStream(
        jobA,
        'export.json',
        (async function* () {
          yield 'x'.repeat(350_000)
          throw new Error('the export broke off')
        })(),
        { gzip: false },
      ),
    ).rejects.toThrow('the export broke off')

    const { rows } = await pool.query('SELECT 1 FROM job_file_parts')
    expect(rows).toEqual([])
  })

  it('locates a file in a private cache under the OS temp dir, removed by close', async () => {
    const artifacts = open()
    await artifacts.put(jobA, 'export.csv', 'email\nzoë@example.com\n')

    const path = (await artifacts.locate(jobA, 'export.csv')) as string

    expect(path.startsWith(tmpdir())).toBe(true)
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    expect((await stat(dirname(dirname(path)))).mode & 0o777).toBe(0o700)
    await artifacts.close()
    await expect(stat(path)).rejects.toThrow(/ENOENT/)
  })

  it("serves a file another replica wrote, and drops its copy once that job's files are gone", async () => {
    const writer = open()
    const reader = open()
    await writer.put(jobA, 'export.csv', 'a,b\n')
    const copy = (await reader.locate(jobA, 'export.csv')) as string
    expect(await readFile(copy, 'utf8')).toBe('a,b\n')

    await writer.remove(jobA)

    expect(await reader.locate(jobA, 'export.csv')).toBeUndefined()
    expect(await reader.jobIds()).toEqual([])
    await expect(stat(copy)).rejects.toThrow(/ENOENT/)
  })

  it('clears cache folders left by processes that are gone, and leaves live ones', async () => {
    const parent = await tempDir('roster-cache-parent-')
    for (const [name, pid] of [
      ['roster-files-dead', 999_999_999],
      ['roster-files-live', process.pid],
    ] as const) {
      await mkdir(join(parent, name))
      await writeFile(join(parent, name, 'owner.pid'), String(pid))
    }
    const artifacts = createPgArtifacts(pool, databaseUrl(), { cacheParent: parent })
    opened.push(artifacts)
    await artifacts.put(jobA, 'export.csv', 'a,b\n')

    await artifacts.locate(jobA, 'export.csv')

    const left = await readdir(parent)
    expect(left).toContain('roster-files-live')
    expect(left).not.toContain('roster-files-dead')
  })

  it('reports a database it cannot reach as store_unavailable, naming DATABASE_URL', async () => {
    const unreachable = createPool('postgres://roster:secret@127.0.0.1:1/roster')
    try {
      const artifacts = createPgArtifacts(unreachable, 'postgres://roster:secret@127.0.0.1:1/roster')
      const error = await artifacts.get(jobA, 'users.json').catch((e: unknown) => e)

      expect(error).toMatchObject({ code: 'store_unavailable' })
      expect((error as Error).message).toContain('DATABASE_URL')
      expect((error as Error).message).not.toContain('secret')
    } finally {
      await unreachable.end()
    }
  })
})
