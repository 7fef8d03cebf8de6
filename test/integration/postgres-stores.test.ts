import { join } from 'node:path'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { openNotificationStores } from '../../src/adapters/notification-stores.ts'
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

  it('writes what a request waits on (audit, Slack replay keys) on a pool of its own, not waiting for the flush', async () => {
    const stores = await openStores({ storeDir: '', databaseUrl: databaseUrl() }, options)
    const { pool, requests } = stores.postgres as NonNullable<Stores['postgres']>
    const notifications = await openNotificationStores(stores.postgres as NonNullable<Stores['postgres']>, {
      logger: silentLogger,
      slack: true,
    })
    try {
      // Nothing else uses the requests pool: a connection there is the audit record's.
      expect(requests.totalCount).toBe(0)
      await stores.audit.record({
        at: new Date().toISOString(),
        actor: { via: 'slack', id: 'U0READER1' },
        action: 'jobs.read',
        where: 'C1',
        allowed: true,
      })
      expect(requests.totalCount).toBe(1)
      expect((await stores.audit.recent(1))[0]).toMatchObject({ actor: { id: 'U0READER1' } })
      const replay = notifications.slack?.replay
      const jobsBefore = pool.totalCount
      let acquired = 0
      requests.on('acquire', () => {
        acquired += 1
      })
      expect(await replay?.firstTime('trigger:t-1')).toBe(true)
      expect(await replay?.firstTime('trigger:t-1')).toBe(false)
      expect(acquired).toBe(2)
      expect(pool.totalCount).toBe(jobsBefore)

      // The test cluster may turn synchronous commits off for every session: what counts is who set it.
      const setting = async (on: pg.Pool) =>
        (
          await on.query<{ setting: string; source: string }>(
            "SELECT setting, source FROM pg_settings WHERE name = 'synchronous_commit'",
          )
        ).rows[0]
      expect(await setting(requests)).toEqual({ setting: 'off', source: 'client' })
      // The jobs' writes (users, catalog, files) keep the database's own setting, durable by default.
      expect((await setting(pool))?.source).not.toBe('client')
    } finally {
      await notifications.close()
      await stores.close()
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
