import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { loadMigrations } from '../../src/adapters/postgres/migrate.ts'
import { createTestDatabase, hasPostgres } from '../support/postgres.ts'
import { exitWithin, RosterProcesses } from '../support/roster-process.ts'

/**
 * DATABASE_URL as a person meets it when something is wrong: a database that cannot be reached stops `npm start`
 * and every command with one line naming DATABASE_URL (password hidden), never a quiet fall-back to the embedded
 * store; `roster db migrate` applies the schema and says what it did.
 */

const processes = new RosterProcesses()
let dir: string
let storeDir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'roster-pg-cli-'))
  storeDir = join(dir, 'store')
})

afterEach(() => processes.killAll())

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** A URL that names a database but reaches no server: nothing listens on port 1. */
const unreachable = 'postgres://roster:hunter2@127.0.0.1:1/roster'
const noStack = /^\s+at /m

describe('DATABASE_URL without a database to reach', () => {
  it('npm start stops with store_unavailable: one line naming DATABASE_URL, its password hidden', async () => {
    const server = processes.spawnServer(storeDir, { DATABASE_URL: unreachable })
    const exit = await exitWithin(server, 30_000)
    expect(exit.code).toBe(1)
    expect(server.stderr()).toMatch(
      /^roster: PostgreSQL \(DATABASE_URL=postgres:\/\/roster:\*\*\*@127\.0\.0\.1:1\/roster\): cannot connect: .*ECONNREFUSED.*\n$/,
    )
    expect(server.stderr()).not.toContain('hunter2')
    expect(server.stderr()).not.toMatch(noStack)
    // STORE_DIR is only this process's folder on PostgreSQL: no store was made in it, and its lock is released.
    expect(existsSync(join(storeDir, 'catalog.json'))).toBe(false)
    expect(existsSync(join(storeDir, 'roster.lock'))).toBe(false)
  })

  it('CLI commands stop the same way, with the store-unavailable exit code', async () => {
    const run = await processes.runCli(storeDir, ['jobs'], { env: { DATABASE_URL: unreachable } })
    expect(run.code).toBe(3)
    expect(run.stderr).toContain(
      'PostgreSQL (DATABASE_URL=postgres://roster:***@127.0.0.1:1/roster): cannot connect',
    )
    expect(run.stderr).not.toContain('hunter2')
    expect(run.stderr).not.toMatch(noStack)
    expect(existsSync(join(storeDir, 'catalog.json'))).toBe(false)
  })

  it('db migrate says it cannot reach the database, without the password', async () => {
    const run = await processes.runCli(storeDir, ['db', 'migrate'], { env: { DATABASE_URL: unreachable } })
    expect(run.code).toBe(3)
    expect(run.stderr).toMatch(
      /^roster: PostgreSQL \(DATABASE_URL=postgres:\/\/roster:\*\*\*@127\.0\.0\.1:1\/roster\): cannot connect: .*ECONNREFUSED/,
    )
    expect(run.stderr).not.toContain('hunter2')
    expect(run.stderr).not.toMatch(noStack)
  })

  it('a DATABASE_URL that is not a PostgreSQL URL is refused, its password hidden', async () => {
    const run = await processes.runCli(storeDir, ['jobs'], {
      env: { DATABASE_URL: 'mysql://roster:hunter2@db/roster' },
    })
    expect(run.code).toBe(3)
    expect(run.stderr).toContain(
      'DATABASE_URL="mysql://roster:***@db/roster": expected a URL naming the database',
    )
    expect(run.stderr).not.toContain('hunter2')
  })

  it('db migrate without DATABASE_URL says what it needs', async () => {
    const run = await processes.runCli(storeDir, ['db', 'migrate'])
    expect(run.code).toBe(3)
    expect(run.stderr).toContain('set DATABASE_URL')
    expect(existsSync(join(storeDir, 'catalog.json'))).toBe(false)
  })
})

describe.skipIf(!hasPostgres)('roster db migrate on PostgreSQL', () => {
  let database: { url: string; drop(): Promise<void> }
  beforeAll(async () => {
    database = await createTestDatabase()
  })
  afterAll(() => database.drop())

  it('applies the schema and says which migrations it applied, then that there is nothing to apply', async () => {
    const shipped = (await loadMigrations()).map((migration) => migration.name)
    const first = await processes.runCli(storeDir, ['db', 'migrate'], { env: { DATABASE_URL: database.url } })
    expect(first.stderr).toBe('')
    expect(first.code).toBe(0)
    expect(first.stdout).toMatch(
      /^Applied 001_store, [\w, ]+ to postgres:\/\/postgres@127\.0\.0\.1:\d+\/t_\w+: its schema/,
    )
    const client = new pg.Client({ connectionString: database.url })
    await client.connect()
    try {
      const { rows } = await client.query('SELECT name FROM roster_migrations ORDER BY version')
      expect(rows).toEqual(shipped.map((name) => ({ name })))
    } finally {
      await client.end()
    }
    const again = await processes.runCli(storeDir, ['db', 'migrate', '--json'], {
      env: { DATABASE_URL: database.url },
    })
    expect(again.code).toBe(0)
    expect(JSON.parse(again.stdout)).toMatchObject({ applied: [], existing: shipped })
    expect(existsSync(join(storeDir, 'catalog.json'))).toBe(false)
  })
})
