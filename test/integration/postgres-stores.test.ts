import { join } from 'node:path'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { openAccessControl } from '../../src/adapters/slack/access-control.ts'
import { randomIds, systemClock } from '../../src/adapters/system.ts'
import { AppError } from '../../src/errors.ts'
import { silentLogger } from '../../src/logger.ts'
import { openStores, type Stores, seedCatalog } from '../../src/stores.ts'
import { createTestDatabase, hasPostgres, useTestDatabase } from '../support/postgres.ts'
import { poll } from '../support/roster-process.ts'
import { tempDir } from '../support/temp-dir.ts'

/** openStores on PostgreSQL: the schema applied at open, one line naming DATABASE_URL when it cannot be used. */

const options = { logger: silentLogger, seed: () => seedCatalog({}, systemClock, randomIds) }

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(AppError)
  return error as AppError
}

describe('openStores with a database that cannot be used', () => {
  it('names DATABASE_URL without its password when nothing answers', async () => {
    const error = await rejection(
      openStores({ storeDir: '', databaseUrl: 'postgres://roster:hunter2@127.0.0.1:1/roster' }, options),
    )
    expect(error.code).toBe('store_unavailable')
    expect(error.message).toMatch(
      /^PostgreSQL \(DATABASE_URL=postgres:\/\/roster:\*\*\*@127\.0\.0\.1:1\/roster\): cannot connect: /,
    )
    expect(error.message).not.toContain('hunter2')
    expect(error.message).not.toContain('\n')
  })
})

describe.skipIf(!hasPostgres)('openStores on PostgreSQL', () => {
  const databaseUrl = useTestDatabase()

  it('applies the schema, seeds the catalog once, and two openings share one store', async () => {
    const first = await openStores({ storeDir: '', databaseUrl: databaseUrl() }, options)
    const second = await openStores({ storeDir: '', databaseUrl: databaseUrl() }, options)
    try {
      expect(first.kind).toBe('postgres')
      expect(first.embedded).toBeUndefined()
      expect(second.catalog.read().connections).toEqual(first.catalog.read().connections)
      // The Slack access mapping is the catalog's: set through one replica's access control, seen by the other's.
      const control = (stores: Stores) =>
        openAccessControl({
          file: join('/nonexistent', 'access.json'),
          catalog: stores.catalog,
          bootstrapAdmins: [],
          audit: stores.audit,
          clock: systemClock,
          logger: silentLogger,
        })
      await control(first).set('U0EDITOR1', 'editor-users')
      const other = control(second)
      await poll('the other replica to see the role', () => other.roleOf('U0EDITOR1'), { timeoutMs: 10_000 })
      expect((await other.check('U0EDITOR1', 'import', 'C1')).allowed).toBe(true)
      expect((await first.audit.recent(1))[0]).toMatchObject({ actor: { id: 'U0EDITOR1' }, allowed: true })
      expect(await second.access.read()).toEqual({ users: { U0EDITOR1: 'editor-users' } })
    } finally {
      await Promise.all([first.close(), second.close()])
    }
  })

  it('refuses, as a copy source, a database that holds no store, and leaves it untouched', async () => {
    const empty = await createTestDatabase()
    try {
      const error = await rejection(
        openStores({ storeDir: '', databaseUrl: empty.url }, { ...options, create: false }),
      )
      expect(error.message).toMatch(/^There is no Roster store in postgres:\/\//)
      const client = new pg.Client({ connectionString: empty.url })
      await client.connect()
      try {
        expect((await client.query("SELECT 1 FROM pg_tables WHERE schemaname = 'public'")).rowCount).toBe(0)
      } finally {
        await client.end()
      }
    } finally {
      await empty.drop()
    }
  })

  it('refuses, as a copy source, a folder that holds no store', async () => {
    const dir = await tempDir()
    const error = await rejection(openStores({ storeDir: join(dir, 'none') }, { ...options, create: false }))
    expect(error.message).toBe(`There is no Roster store in ${join(dir, 'none')} (no catalog.json).`)
  })
})
