import { afterEach, describe, expect, it } from 'vitest'
import { loadMigrations, type Migration, migrate } from '../../src/adapters/postgres/migrate.ts'
import { createPool, type Pool } from '../../src/adapters/postgres/pool.ts'
import { createTestDatabase, hasPostgres } from '../support/postgres.ts'

const opened: { pool: Pool; drop(): Promise<void> }[] = []

/** A pool on a new, empty database of the run's cluster; closed and dropped after the test. */
async function freshDatabase(max = 10): Promise<{ pool: Pool; url: string }> {
  const database = await createTestDatabase()
  const pool = createPool(database.url, { max })
  opened.push({ pool, drop: database.drop })
  return { pool, url: database.url }
}

afterEach(async () => {
  for (const { pool, drop } of opened.splice(0)) {
    await pool.end()
    await drop()
  }
})

/** The names of the migrations this Roster ships (each session may add one). */
async function shippedNames(): Promise<string[]> {
  return (await loadMigrations()).map((migration) => migration.name)
}

async function tables(pool: Pool): Promise<string[]> {
  const { rows } = await pool.query<{ tablename: string }>(
    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
  )
  return rows.map((row) => row.tablename)
}

describe.skipIf(!hasPostgres)('PostgreSQL migrations', () => {
  it('ships 001_store first', async () => {
    const migrations = await loadMigrations()
    expect(migrations[0]).toMatchObject({ version: 1, name: '001_store' })
  })

  it('creates every table of the store and records what it applied', async () => {
    const { pool, url } = await freshDatabase()
    const result = await migrate(pool, url)
    expect(result).toEqual({ applied: await shippedNames(), existing: [] })
    expect(await tables(pool)).toEqual([
      'audit',
      'backup_files',
      'backups',
      'catalog',
      'commits',
      'job_file_parts',
      'job_files',
      'mail_outbox',
      'notification_marks',
      'roster_migrations',
      'slack_outbox',
      'slack_requests',
      'slack_threads',
      'users',
    ])
    const { rows } = await pool.query('SELECT version, name FROM roster_migrations ORDER BY version')
    expect(rows).toEqual((await loadMigrations()).map(({ version, name }) => ({ version, name })))
  })

  it('applied twice, changes nothing the second time', async () => {
    const { pool, url } = await freshDatabase()
    await migrate(pool, url)
    await pool.query("INSERT INTO audit (at, entry) VALUES (now(), '{}'), (now(), '{}')")
    expect(await migrate(pool, url)).toEqual({ applied: [], existing: await shippedNames() })
    const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM audit')
    expect(rows[0]?.n).toBe('2')
  })

  it('stores job file parts with lz4 where the server has it, and reads back what it stored', async () => {
    const { pool, url } = await freshDatabase()
    await migrate(pool, url)
    // A server built without lz4 refuses a table asking for it: then 006 keeps PostgreSQL's default (pglz).
    const lz4 = await pool
      .query('CREATE TEMP TABLE lz4_probe (b bytea COMPRESSION lz4)')
      .then(() => true)
      .catch(() => false)
    const { rows } = await pool.query<{ method: string }>(
      "SELECT attcompression AS method FROM pg_attribute WHERE attrelid = 'job_file_parts'::regclass AND attname = 'bytes'",
    )
    expect(rows[0]?.method).toBe(lz4 ? 'l' : '')
    const part = Buffer.from('user,email\n'.repeat(100_000))
    await pool.query("INSERT INTO job_files (job_id, name, size, parts) VALUES ('job_1', 'f', $1, 1)", [
      part.length,
    ])
    await pool.query('INSERT INTO job_file_parts (file_id, part, bytes) SELECT id, 0, $1 FROM job_files', [
      part,
    ])
    const stored = await pool.query<{ bytes: Buffer; method: string | null }>(
      'SELECT bytes, pg_column_compression(bytes) AS method FROM job_file_parts',
    )
    expect(stored.rows[0]?.bytes.equals(part)).toBe(true)
    expect(stored.rows[0]?.method).toBe(lz4 ? 'lz4' : 'pglz')
  })

  it('run by several migrators at once, applies each migration once', async () => {
    const { pool, url } = await freshDatabase(20)
    // Each migrator has its own pool, as separate replicas would; the migration is slow enough to overlap.
    const slow: Migration[] = [
      ...(await loadMigrations()),
      { version: 900, name: '900_slow', sql: 'SELECT pg_sleep(0.3); CREATE TABLE slow_marker (id int);' },
    ]
    const pools = [1, 2, 3].map(() => createPool(url, { max: 2 }))
    try {
      const results = await Promise.all(pools.map((each) => migrate(each, url, slow)))
      const appliedBy = results.map((result) => result.applied.join(','))
      expect(appliedBy.filter((applied) => applied !== '')).toEqual([
        [...(await shippedNames()), '900_slow'].join(','),
      ])
      const { rows } = await pool.query('SELECT name FROM roster_migrations ORDER BY version')
      expect(rows).toEqual([...(await shippedNames()), '900_slow'].map((name) => ({ name })))
    } finally {
      await Promise.all(pools.map((each) => each.end()))
    }
  })

  it('a failing migration leaves nothing of itself and says which failed', async () => {
    const { pool, url } = await freshDatabase()
    const broken: Migration[] = [
      ...(await loadMigrations()),
      {
        version: 900,
        name: '900_broken',
        sql: 'CREATE TABLE half_done (id int); SELECT no_such_function();',
      },
    ]
    await expect(migrate(pool, url, broken)).rejects.toMatchObject({
      code: 'store_invalid',
      message: expect.stringContaining('Migration 900_broken failed, and nothing of it was applied'),
    })
    expect(await tables(pool)).not.toContain('half_done')
    const { rows } = await pool.query('SELECT name FROM roster_migrations ORDER BY version')
    expect(rows).toEqual((await shippedNames()).map((name) => ({ name })))
  })

  it('refuses a database migrated by a newer Roster', async () => {
    const { pool, url } = await freshDatabase()
    await migrate(pool, url)
    await pool.query("INSERT INTO roster_migrations (version, name) VALUES (99, '099_future')")
    await expect(migrate(pool, url)).rejects.toMatchObject({
      code: 'store_invalid',
      message: expect.stringContaining('schema version 099_future, which this Roster does not know'),
    })
  })

  it('names the database without its password when it cannot connect', async () => {
    const pool = createPool('postgres://roster:hunter2@127.0.0.1:1/roster')
    try {
      const error = await migrate(pool, 'postgres://roster:hunter2@127.0.0.1:1/roster').catch((e: Error) => e)
      expect(error).toMatchObject({ code: 'store_unavailable' })
      expect((error as Error).message).toContain('postgres://roster:***@127.0.0.1:1/roster')
      expect((error as Error).message).not.toContain('hunter2')
    } finally {
      await pool.end()
    }
  })
})
