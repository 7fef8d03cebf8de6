import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { openPgCatalogStore, type PgCatalogStore } from '../../src/adapters/postgres/catalog-store.ts'
import { migrate } from '../../src/adapters/postgres/migrate.ts'
import { createPool, type Pool } from '../../src/adapters/postgres/pool.ts'
import { type Catalog, editJob } from '../../src/domain/catalog.ts'
import { AppError } from '../../src/errors.ts'
import { noSeed, seedCatalog } from '../contract/catalog-store.contract.ts'
import { hasPostgres, useTestDatabase } from '../support/postgres.ts'

// What every CatalogStore does is in test/contract/catalog-store.contract.ts; these are about several replicas
// sharing one database.

describe.skipIf(!hasPostgres)('openPgCatalogStore', () => {
  const databaseUrl = useTestDatabase()
  let pool: Pool
  let opened: PgCatalogStore[] = []

  async function open(seed: () => Catalog = seedCatalog): Promise<PgCatalogStore> {
    const store = await openPgCatalogStore(pool, databaseUrl(), seed, { reconnectDelayMs: 20 })
    opened.push(store)
    return store
  }

  beforeAll(async () => {
    pool = createPool(databaseUrl())
    await migrate(pool, databaseUrl())
  })
  beforeEach(async () => {
    await pool.query('DELETE FROM catalog')
  })
  afterEach(async () => {
    await Promise.all(opened.map((store) => store.close()))
    opened = []
  })
  afterAll(async () => {
    await pool.end()
  })

  it('serializes concurrent updates from two replicas: none is lost, each sees the one before', async () => {
    const a = await open()
    const b = await open(noSeed)

    const counts = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 === 0 ? a : b).update((draft) => {
          draft.exportLabels[`Label ${i}`] = `user_metadata.field${i}`
          return Object.keys(draft.exportLabels).length
        }),
      ),
    )

    expect([...counts].sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1))
    const { rows } = await pool.query<{ doc: Catalog; version: string }>('SELECT doc, version FROM catalog')
    expect(Object.keys(rows[0]?.doc.exportLabels ?? {})).toHaveLength(40)
    expect(rows[0]?.version).toBe('41')
  })

  it("shows another replica's update in read() once its notification arrives", async () => {
    const a = await open()
    const b = await open(noSeed)

    await a.update((draft) => {
      draft.exportLabels.Plan = 'user_metadata.plan'
    })

    await vi.waitFor(() => expect(b.read().exportLabels).toEqual({ Plan: 'user_metadata.plan' }))
  })

  it("tells subscribers once another replica's change is in read(), and stops when unsubscribed", async () => {
    const a = await open()
    const b = await open(noSeed)
    const seen: string[][] = []
    const unsubscribe =
      b.subscribe?.(() => seen.push(Object.keys(b.read().exportLabels))) ?? (() => undefined)

    await a.update((draft) => {
      draft.exportLabels.Plan = 'user_metadata.plan'
    })
    await vi.waitFor(() => expect(seen.at(-1)).toEqual(['Plan']))
    unsubscribe()
    await a.update((draft) => {
      draft.exportLabels.Tier = 'user_metadata.tier'
    })
    await vi.waitFor(() => expect(Object.keys(b.read().exportLabels)).toEqual(['Plan', 'Tier']))
    expect(seen.at(-1)).toEqual(['Plan'])
  })

  it('applies a change to the document in the database, not to a stale copy in memory', async () => {
    const a = await open()
    const b = await open(noSeed)
    // Without its listener, b's copy stays as it was: only the lock-and-read of its update can know better.
    await b.close()
    await a.update((draft) => {
      draft.exportLabels.First = 'user_metadata.first'
    })
    expect(b.read().exportLabels).toEqual({})

    const seen = await b.update((draft) => {
      draft.exportLabels.Second = 'user_metadata.second'
      return Object.keys(draft.exportLabels)
    })

    expect(seen).toEqual(['First', 'Second'])
    expect(b.read().exportLabels).toEqual({ First: 'user_metadata.first', Second: 'user_metadata.second' })
  })

  it('holds no lock while an update waits for its renameAfter barrier', async () => {
    const a = await open()
    const b = await open(noSeed)
    let release = () => {}
    const barrier = new Promise<void>((resolve) => {
      release = resolve
    })
    const waiting = a.update(
      (draft) => {
        draft.exportLabels.Waiting = 'user_metadata.waiting'
      },
      { renameAfter: barrier },
    )

    await b.update((draft) => {
      draft.exportLabels.Other = 'user_metadata.other'
    })
    release()
    await waiting

    expect(a.read().exportLabels).toEqual({ Other: 'user_metadata.other', Waiting: 'user_metadata.waiting' })
  })

  it('seeds an empty database once when two replicas start at once', async () => {
    const [a, b] = await Promise.all([
      open(() => ({ ...seedCatalog(), tenant: { ...seedCatalog().tenant, name: 'first' } })),
      open(() => ({ ...seedCatalog(), tenant: { ...seedCatalog().tenant, name: 'second' } })),
    ])

    expect(a?.read().tenant.name).toBe(b?.read().tenant.name)
    const { rows } = await pool.query('SELECT version FROM catalog')
    expect(rows).toEqual([{ version: '1' }])
  })

  it('listens again after its connection is cut, and catches up', async () => {
    const a = await open()
    const b = await open(noSeed)
    await pool.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'roster-catalog' AND datname = current_database()",
    )

    await a.update((draft) => {
      draft.exportLabels.After = 'user_metadata.after'
    })

    await vi.waitFor(() => expect(b.read().exportLabels).toEqual({ After: 'user_metadata.after' }), {
      timeout: 5000,
    })
  })

  it('refuses a change that would leave the catalog invalid, saving nothing', async () => {
    const a = await open()

    const error = await a
      .update((draft) => {
        draft.tenant.owners.push('not an email')
      })
      .catch((e: unknown) => e)

    expect((error as AppError).code).toBe('unexpected')
    expect((error as AppError).message).toContain('tenant.owners')
    expect(a.read().tenant.owners).toEqual(['owner@example.com'])
    const { rows } = await pool.query<{ doc: Catalog }>('SELECT doc FROM catalog')
    expect(rows[0]?.doc.tenant.owners).toEqual(['owner@example.com'])
  })

  it('refuses a change that edits a job into an invalid one, naming the job, and keeps its other jobs as they were', async () => {
    const job = (id: string) =>
      ({
        id,
        type: 'users_import',
        status: 'completed',
        connectionId: 'con_1',
        connectionName: 'Username-Password-Authentication',
        createdAt: '2026-12-06T05:50:01.545Z',
        requestedBy: { via: 'cli', id: 'root' },
        options: { upsert: false, merge: false, dryRun: false, sendCompletionEmail: false },
        upload: { fileName: 'users.json', format: 'json', bytes: 10, rows: 1, chunkRows: 2000 },
        summary: { inserted: 1, updated: 0, failed: 0, total: 1, unchanged: 0 },
      }) as unknown as Catalog['jobs'][number]
    const a = await open()
    await a.update((draft) => {
      draft.jobs.push(job('job_aaaaaaaaaaaaaaaa'), job('job_bbbbbbbbbbbbbbbb'))
    })

    const error = await a
      .update((draft) => {
        ;(editJob(draft, 'job_bbbbbbbbbbbbbbbb') as unknown as { status: string }).status = 'done'
      })
      .catch((e: unknown) => e)

    expect((error as AppError).code).toBe('unexpected')
    expect((error as AppError).message).toMatch(/job job_bbbbbbbbbbbbbbbb:[\s\S]*status/)
    expect(a.read().jobs.map((j) => j.status)).toEqual(['completed', 'completed'])
    const { rows } = await pool.query<{ doc: Catalog }>('SELECT doc FROM catalog')
    expect(rows[0]?.doc.jobs.map((j) => j.status)).toEqual(['completed', 'completed'])
    // A valid edit of the same job goes through, the other job untouched.
    await a.update((draft) => {
      ;(editJob(draft, 'job_bbbbbbbbbbbbbbbb') as unknown as { status: string }).status = 'expired'
    })
    expect(a.read().jobs.map((j) => j.status)).toEqual(['completed', 'expired'])
  })

  it('refuses a document of the wrong shape with store_invalid, naming the table and the field', async () => {
    await open()
    await pool.query(`UPDATE catalog SET doc = jsonb_set(doc, '{version}', '2')`)

    const error = await openPgCatalogStore(pool, databaseUrl(), noSeed).catch((e: unknown) => e)

    expect(error).toBeInstanceOf(AppError)
    expect((error as AppError).code).toBe('store_invalid')
    expect((error as AppError).message).toContain('table catalog')
    expect((error as AppError).message).toContain('version')
  })

  it('reports a database it cannot reach as store_unavailable, without the password', async () => {
    const url = 'postgres://roster:secret@127.0.0.1:1/roster'
    const unreachable = createPool(url)
    try {
      const error = await openPgCatalogStore(unreachable, url, seedCatalog).catch((e: unknown) => e)

      expect((error as AppError).code).toBe('store_unavailable')
      expect((error as AppError).message).toContain('DATABASE_URL')
      expect((error as AppError).message).not.toContain('secret')
    } finally {
      await unreachable.end()
    }
  })
})
