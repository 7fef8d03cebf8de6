import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { seedRows, toJsonArray } from '../support/generate-users.ts'
import { createTestDatabase, hasPostgres } from '../support/postgres.ts'
import { defaultConnection, RosterProcesses } from '../support/roster-process.ts'

/**
 * `npm start` with DATABASE_URL, as processes: the server runs on a throwaway database (the schema applied at
 * start), the CLI on the same machine goes through it, the HTTP API reads from the database, and a second Roster
 * process on the same database (its own STORE_DIR) serves the same users, jobs and tokens.
 */

const processes = new RosterProcesses()
afterEach(() => processes.killAll())

const users = 500
let dir: string
let database: { url: string; drop(): Promise<void> }

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'roster-pg-server-'))
  if (hasPostgres) database = await createTestDatabase()
})
afterAll(async () => {
  await database?.drop()
  await rm(dir, { recursive: true, force: true })
})

describe.skipIf(!hasPostgres)('Roster on PostgreSQL (DATABASE_URL)', () => {
  it('imports through the server, serves the users, exports, undoes; a second replica serves reads', async () => {
    const env = { DATABASE_URL: database.url }
    const storeA = join(dir, 'a')
    const a = await processes.startServer(storeA, { env })
    const health = await a.health()
    expect(health.store).toMatchObject({
      kind: 'postgres',
      database: expect.stringMatching(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/t_\w+$/),
      reachable: true,
    })
    // The probe asks the database `SELECT 1`, not a count of every user (slow at a million).
    expect(health.store).not.toHaveProperty('users')

    const cli = async (args: string[], code = 0) => {
      const run = await processes.runCli(storeA, args, { env })
      if (run.code !== code) throw new Error(`roster ${args.join(' ')} exited ${run.code}: ${run.stderr}`)
      return run.stdout
    }
    const file = join(dir, 'users.json')
    await writeFile(file, toJsonArray(seedRows(users)))
    const imported = JSON.parse(
      await cli(['import', file, '--connection', defaultConnection, '--wait', '--json']),
    )
    expect(imported).toMatchObject({ status: 'completed', summary: { inserted: users, failed: 0 } })
    // The server ran it: the CLI found it through STORE_DIR's lock file and sent the import there.
    expect(a.stderr()).toContain(imported.id)

    const secret = /^ {2}(rst_\S+)$/m.exec(
      await cli(['tokens', 'create', '--name', 'ci', '--scopes', 'read:users']),
    )?.[1]
    expect(secret).toBeDefined()
    const total = async (port: number) => {
      const response = await fetch(`http://127.0.0.1:${port}/api/v2/users?include_totals=true&per_page=1`, {
        headers: { authorization: `Bearer ${secret}` },
      })
      expect(response.status).toBe(200)
      return ((await response.json()) as { total: number }).total
    }
    expect(await total(a.port)).toBe(users)

    const out = join(dir, 'export.json')
    await cli(['export', '--connection', defaultConnection, '--out', out])
    const exported = JSON.parse(await readFile(out, 'utf8')) as { email: string }[]
    expect(exported.map((user) => user.email).sort()).toEqual(
      seedRows(users)
        .map((row) => String(row.email))
        .sort(),
    )

    // A second replica: its own STORE_DIR, the same database. Same users, same jobs, same tokens.
    const b = await processes.startServer(join(dir, 'b'), { env })
    expect((await b.health()).store).toMatchObject({ kind: 'postgres', reachable: true })
    expect(await total(b.port)).toBe(users)
    const job = await fetch(`http://127.0.0.1:${b.port}/api/v2/jobs/${imported.id}`, {
      headers: { authorization: `Bearer ${secret}` },
    })
    expect(await job.json()).toMatchObject({ id: imported.id, status: 'completed' })

    const undone = JSON.parse(await cli(['undo', imported.id, '--wait', '--json']))
    expect(undone).toMatchObject({ status: 'completed', summary: { deleted: users, conflicts: 0 } })
    expect(await total(b.port)).toBe(0)

    // Nothing of an embedded store was made in STORE_DIR: the users and the catalog are the database's.
    expect(existsSync(join(storeA, 'catalog.json'))).toBe(false)
    expect(existsSync(join(storeA, 'users'))).toBe(false)
    await Promise.all([a.stop(), b.stop()])
  }, 240_000)
})
