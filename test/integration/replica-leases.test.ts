import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { schedule } from '../../src/adapters/cron/schedules.ts'
import { openPgCatalogStore, type PgCatalogStore } from '../../src/adapters/postgres/catalog-store.ts'
import { migrate } from '../../src/adapters/postgres/migrate.ts'
import { createPool, type Pool } from '../../src/adapters/postgres/pool.ts'
import { pgUserStore } from '../../src/adapters/postgres/user-store.ts'
import { createFileArtifacts } from '../../src/adapters/store/artifacts.ts'
import { randomIds } from '../../src/adapters/system.ts'
import { type Catalog, editJob } from '../../src/domain/catalog.ts'
import { isActive, type Job, writesUsers } from '../../src/domain/jobs/job.ts'
import type { EngineLimits, FaultInjection } from '../../src/engine/context.ts'
import { Engine } from '../../src/engine/engine.ts'
import { JobEvents } from '../../src/engine/events.ts'
import { finishJob } from '../../src/engine/finish-job.ts'
import type { Artifacts, CatalogStore, Clock } from '../../src/engine/ports.ts'
import type { AsyncUserStore } from '../../src/engine/user-directory.ts'
import { silentLogger } from '../../src/logger.ts'
import { createTestDatabase, hasPostgres } from '../support/postgres.ts'
import { tempDir } from '../support/temp-dir.ts'

// Two engines, as two replicas would run them, on ONE PostgreSQL database (catalog and users, each replica with its
// own pool and catalog listener); the job files are one folder both use. What is under test is who runs which job.

const connection = 'Username-Password-Authentication'

function seed(): Catalog {
  return {
    version: 1,
    tenant: { name: 'acme', owners: [], createdAt: '2026-01-01T00:00:00.000Z' },
    connections: [
      {
        id: 'con_0000000000000001',
        name: connection,
        strategy: 'auth0',
        enabled: true,
        created_at: '2026-01-01T00:00:00.000Z',
      },
    ],
    jobs: [],
    exportLabels: {},
  }
}

/** Real time plus an offset a test moves forward: the same clock for both replicas, as NTP would make it. */
class ShiftedClock implements Clock {
  offsetMs = 0
  now(): Date {
    return new Date(Date.now() + this.offsetMs)
  }
}

/** Every catalog change as committed (changes take turns on the row lock): who claimed what, live writers. */
class CatalogLog {
  readonly claims: { jobId: string; holder: string }[] = []
  maxLiveWriters = 0

  constructor(readonly clock: Clock) {}

  watch(store: CatalogStore): CatalogStore {
    const wrap =
      <T>(change: (draft: Catalog) => T) =>
      (draft: Catalog) => {
        const before = new Map(draft.jobs.map((j) => [j.id, j.lease?.holder]))
        const result = change(draft)
        for (const job of draft.jobs) {
          const holder = job.lease?.holder
          if (holder !== undefined && holder !== before.get(job.id))
            this.claims.push({ jobId: job.id, holder })
        }
        const nowMs = this.clock.now().getTime()
        const live = draft.jobs.filter(
          (j) => isActive(j) && writesUsers(j) && j.lease && Date.parse(j.lease.until) > nowMs,
        )
        this.maxLiveWriters = Math.max(this.maxLiveWriters, live.length)
        return result
      }
    return {
      read: () => store.read(),
      update: (change, options) => store.update(wrap(change), options),
      updateEarly: (change) => store.updateEarly(wrap(change)),
      subscribe: (listener) => store.subscribe?.(listener) ?? (() => undefined),
    }
  }
}

interface Replica {
  engine: Engine
  pool: Pool
  catalog: PgCatalogStore
  finished: string[]
}

describe.skipIf(!hasPostgres)('replicas sharing one PostgreSQL database', () => {
  let database: { url: string; drop(): Promise<void> } | undefined
  let databaseUrl: string
  /** The users as the test reads them, on a pool of its own. */
  let observer: Pool
  let users: AsyncUserStore
  let artifacts: Artifacts
  let clock: ShiftedClock
  let log: CatalogLog
  const replicas: Replica[] = []

  afterEach(async () => {
    for (const replica of replicas.splice(0)) {
      await replica.engine.stop()
      await replica.catalog.close()
      await replica.pool.end().catch(() => undefined)
    }
    await observer?.end()
    await database?.drop()
    database = undefined
  })

  /** A new database for the test; job files in a folder both replicas use. */
  async function shared(): Promise<void> {
    database = await createTestDatabase()
    databaseUrl = database.url
    observer = createPool(databaseUrl)
    await migrate(observer, databaseUrl)
    users = pgUserStore(observer, databaseUrl)
    artifacts = createFileArtifacts(join(await tempDir('roster-replicas-'), 'jobs'))
    clock = new ShiftedClock()
    log = new CatalogLog(clock)
  }

  async function replica(
    id: string,
    limits: Partial<EngineLimits> = {},
    faults: FaultInjection = {},
  ): Promise<Replica> {
    const pool = createPool(databaseUrl)
    const catalog = await openPgCatalogStore(pool, databaseUrl, seed, { reconnectDelayMs: 20 })
    const events = new JobEvents(silentLogger)
    const engine = new Engine({
      users: pgUserStore(pool, databaseUrl),
      catalog: log.watch(catalog),
      artifacts,
      clock,
      ids: randomIds,
      logger: silentLogger,
      events,
      limits: {
        importMaxBytes: 512_000,
        maxActiveImports: 2,
        retentionHours: 24,
        chunkRows: 5,
        leaseMs: 60_000,
        leaseRenewMs: 50,
        ...limits,
      },
      replica: { id, shared: true },
      faults,
    })
    const made: Replica = { engine, pool, catalog, finished: [] }
    engine.subscribe((event) => {
      if (event.type === 'job:finished') made.finished.push(event.job.id)
    })
    replicas.push(made)
    return made
  }

  const usersFile = (job: number, count: number) =>
    Buffer.from(
      JSON.stringify(Array.from({ length: count }, (_, n) => ({ email: `j${job}-u${n}@example.com` }))),
    )

  function request(engine: Engine, job: number, count = 10) {
    return engine.requestImport({
      connection,
      fileName: `users-${job}.json`,
      bytes: usersFile(job, count),
      options: { upsert: false, merge: false, dryRun: false, sendCompletionEmail: false },
      requestedBy: { via: 'cli', id: 'tester' },
    })
  }

  /** Waits until `done()` holds, looking every 20 ms. */
  async function until(done: () => boolean | Promise<boolean>): Promise<void> {
    while (!(await done())) await new Promise((resolve) => setTimeout(resolve, 20))
  }

  it('runs each job once, on one replica or the other, in order, never more than MAX_ACTIVE_IMPORTS at once', async () => {
    await shared()
    const a = await replica('replica-a')
    const b = await replica('replica-b')
    const jobs: Job[] = []
    for (let n = 0; n < 12; n++) jobs.push(await request(n % 2 === 0 ? a.engine : b.engine, n))
    a.engine.start()
    b.engine.start()
    const ids = jobs.map((job) => job.id)
    // A waits for every job, those B runs too (seen in the catalog once B's change arrives); B's requests show
    // in A's copy of the catalog a moment after B made them.
    await until(() => ids.every((id) => a.engine.getJob(id) !== null))
    const settled = await Promise.all(ids.map((id) => a.engine.waitFor(id)))
    expect(settled.map((job) => job.status)).toEqual(ids.map(() => 'completed'))
    await until(() => a.finished.length + b.finished.length === jobs.length)

    expect([...a.finished, ...b.finished].sort()).toEqual([...ids].sort())
    // Claimed once each, in the order they were created, by whichever replica came first.
    expect(log.claims.map((claim) => claim.jobId)).toEqual(ids)
    expect(log.maxLiveWriters).toBe(2)
    expect(await users.count()).toBe(12 * 10)
    for (const id of ids) expect((await users.commitsOf(id)).map((c) => c.chunk)).toEqual([0, 1])
    // Settled jobs hold no lease.
    expect(a.engine.listJobs(20).filter((job) => job.lease !== undefined)).toEqual([])
  }, 60_000)

  it('takes over a job from a replica that died holding it, once its lease lapsed, and resumes it', async () => {
    await shared()
    const a = await replica('replica-a', {}, { pauseAfterChunk: 1 })
    const job = await request(a.engine, 0, 20)
    a.engine.start()
    await until(async () => (await users.commitsOf(job.id)).length === 1)
    const b = await replica('replica-b')
    b.engine.start()
    // B sees A's live lease and leaves the job alone; A dies: it renews nothing more, gives nothing back.
    await a.catalog.close()
    await a.pool.end()
    expect(log.claims).toEqual([{ jobId: job.id, holder: 'replica-a' }])
    clock.offsetMs += 60_000

    const done = await b.engine.waitFor(job.id)
    expect(done).toMatchObject({ status: 'completed', summary: { inserted: 20, failed: 0 } })
    expect(done.lease).toBeUndefined()
    expect(log.claims).toEqual([
      { jobId: job.id, holder: 'replica-a' },
      { jobId: job.id, holder: 'replica-b' },
    ])
    // waitFor may settle on the catalog change (the committed finish) a moment before B's engine emits its event.
    await until(() => b.finished.length > 0)
    expect(b.finished).toEqual([job.id])
    expect(a.finished).toEqual([])
    // Resumed after A's committed chunk: each chunk applied once.
    expect((await users.commitsOf(job.id)).map((c) => c.chunk)).toEqual([0, 1, 2, 3])
    expect(await users.count()).toBe(20)
  }, 60_000)

  it('hands a job over at once when its replica stops: the lease is given back, the other is notified', async () => {
    await shared()
    const a = await replica('replica-a', {}, { pauseAfterChunk: 1 })
    const job = await request(a.engine, 0, 20)
    a.engine.start()
    await until(async () => (await users.commitsOf(job.id)).length === 1)
    // B's timer never fires in this test: only the notification of A's release can wake it.
    const b = await replica('replica-b', { leaseRenewMs: 600_000 })
    b.engine.start()
    await a.engine.stop()

    const done = await b.engine.waitFor(job.id)
    expect(done).toMatchObject({ status: 'completed', summary: { inserted: 20 } })
    expect(log.claims.map((claim) => claim.holder)).toEqual(['replica-a', 'replica-b'])
    // A stopped cleanly: its run is not held against the job.
    expect((await users.commitsOf(job.id)).map((c) => c.chunk)).toEqual([0, 1, 2, 3])
  }, 60_000)

  it('stops a run whose lease another replica took, leaving the job as that one holds it', async () => {
    await shared()
    const a = await replica('replica-a', {}, { pauseAfterChunk: 1 })
    const job = await request(a.engine, 0, 20)
    a.engine.start()
    await until(async () => (await users.commitsOf(job.id)).length === 1)
    expect(a.engine.getJob(job.id)?.progress).toBeDefined()
    // As if A had been cut off long enough for C to take the job over: A's next renewal finds it gone.
    const taken = { holder: 'replica-c', until: new Date(clock.now().getTime() + 60_000).toISOString() }
    await a.engine.ctx.catalog.update((draft) => {
      const found = editJob(draft, job.id) as Job
      found.lease = taken
    })

    await until(() => a.engine.getJob(job.id)?.progress === undefined)
    expect(a.engine.getJob(job.id)?.job).toMatchObject({ status: 'processing', lease: taken })
    expect(a.finished).toEqual([])
    expect(await users.commitsOf(job.id)).toHaveLength(1)
  }, 60_000)

  it('never settles a job another replica holds: the run that lost it changes nothing', async () => {
    await shared()
    const a = await replica('replica-a')
    const job = await request(a.engine, 0)
    await a.engine.ctx.catalog.update((draft) => {
      const found = editJob(draft, job.id) as Job
      found.status = 'processing'
      found.lease = { holder: 'replica-b', until: new Date(clock.now().getTime() + 60_000).toISOString() }
    })
    const settling = finishJob(a.engine.ctx, job.id, (draft) => {
      draft.status = 'completed'
    })
    await expect(settling).rejects.toMatchObject({ code: 'lease_lost' })
    expect(a.engine.getJob(job.id)?.job).toMatchObject({
      status: 'processing',
      lease: { holder: 'replica-b' },
    })
    expect(a.finished).toEqual([])
  })

  it('runs a schedule tick once whichever replicas fire it', async () => {
    await shared()
    const a = await replica('replica-a')
    const b = await replica('replica-b')
    const ran: string[] = []
    const schedules = [a, b].map(({ engine }, n) =>
      schedule(
        'retention',
        '0 0 1 1 *',
        async () => {
          ran.push(n === 0 ? 'a' : 'b')
        },
        silentLogger,
        (name, tick) => engine.claimScheduleTick(name, tick),
      ),
    )
    const tick1 = new Date('2026-12-05T03:00:00.000Z')
    const tick2 = new Date('2026-12-05T04:00:00.000Z')
    await Promise.all(schedules.map((s) => s.run(tick1)))
    await Promise.all(schedules.map((s) => s.run(tick1)))
    expect(ran).toHaveLength(1)
    await Promise.all(schedules.map((s) => s.run(tick2)))
    expect(ran).toHaveLength(2)
    expect(a.engine.ctx.catalog.read().schedules?.retention?.tick).toBe(tick2.toISOString())
    for (const s of schedules) s.stop()
  })
})
