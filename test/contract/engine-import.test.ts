import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { pgUserStore } from '../../src/adapters/postgres/user-store.ts'
import { loadConfig } from '../../src/config.ts'
import type { ImportOptions, Job } from '../../src/domain/jobs/job.ts'
import type { StoredUser } from '../../src/domain/users/user.ts'
import { Engine } from '../../src/engine/engine.ts'
import type { Ids } from '../../src/engine/ports.ts'
import type { AsyncUserStore } from '../../src/engine/user-directory.ts'
import { silentLogger } from '../../src/logger.ts'
import { openRoster } from '../../src/roster.ts'
import { allOf } from '../support/async-users.ts'
import { FixedClock } from '../support/clock-and-ids.ts'
import { hasPostgres } from '../support/postgres.ts'
import { usePgContractDatabase } from '../support/postgres-contract.ts'
import { tempDir } from '../support/temp-dir.ts'

/**
 * The engine's import, re-import with upsert, undo and export through an Engine whose users are in the embedded
 * store and through one whose users are in PostgreSQL (catalog and job files embedded in both): the same requests
 * give the same summaries, reports, files and users. Each backend gets its own clock and ids, started alike.
 */

const connection = 'Username-Password-Authentication'
const requestedBy = { via: 'cli' as const, id: 'tester' }

interface Backend {
  engine: Engine
  clock: FixedClock
  close(): Promise<void>
}

type Wrap = (users: AsyncUserStore) => AsyncUserStore

/** Ids from 1 for each backend, so both name the same jobs and users alike. */
function freshIds(): Ids {
  let n = 0
  const next = (width: number) => String(++n).padStart(width, '0')
  return { jobId: () => `job_${next(16)}`, connectionId: () => `con_${next(16)}`, userId: () => next(24) }
}

/** A Roster's catalog and files with an Engine of its own whose users are `users` (the file store if absent). */
async function openBackend(
  users?: AsyncUserStore,
  wrap: Wrap = (u) => u,
  importWorker: 'busy' | 'always' = 'busy',
): Promise<Backend> {
  const clock = new FixedClock()
  const roster = await openRoster(loadConfig({ STORE_DIR: await tempDir() }), {
    logger: silentLogger,
    clock,
    ids: freshIds(),
    importWorker,
  })
  // The Roster's own engine is never started: this one runs the jobs.
  const { maintenance, ...ctx } = roster.engine.ctx
  const engine = new Engine(
    users === undefined
      ? { ...ctx, ...(maintenance ? { maintenance } : {}), users: wrap(ctx.users) }
      : { ...ctx, users: wrap(users) },
  )
  engine.start()
  return {
    engine,
    clock,
    close: async () => {
      await engine.stop()
      await roster.close()
    },
  }
}

async function importInto(b: Backend, users: unknown[], options: Partial<ImportOptions> = {}): Promise<Job> {
  const job = await b.engine.requestImport({
    connection,
    fileName: 'users.json',
    bytes: Buffer.from(JSON.stringify(users)),
    options: { upsert: false, merge: false, dryRun: false, sendCompletionEmail: false, ...options },
    requestedBy,
  })
  return b.engine.waitFor(job.id)
}

/** The users without their revs (commit sequence numbers, which a database may skip), in store order. */
async function endState(b: Backend): Promise<Omit<StoredUser, 'rev'>[]> {
  return (await allOf(b.engine.ctx.users.scan())).map(({ rev: _rev, ...user }) => user)
}

const first = [
  { email: 'ada@example.com', given_name: 'Ada', username: 'ada' },
  { email: 'grace@example.com', given_name: 'Grace', user_metadata: { plan: 'basic' } },
  { email: 'edsger@example.com', user_id: 'ed1', given_name: 'Edsger' },
  { email: 'not-an-email', given_name: 'Broken' },
  { email: 'linus@example.com', username: 'linus' },
]
const second = [
  { email: 'ADA@example.com', given_name: 'Augusta' },
  { email: 'grace@example.com', user_metadata: { seats: 3 } },
  { email: 'edsger@example.com', given_name: 'Edsger' },
  { email: 'new@example.com', given_name: 'New' },
  { email: 'other@example.com', username: 'linus' },
]

/** Everything a person can see of the run: summaries, reports, the undo's outcome, the export's file, the users. */
async function scenario(b: Backend) {
  const imported = await importInto(b, first)
  const afterFirst = await endState(b)
  b.clock.advance(60_000)
  const upserted = await importInto(b, second, { upsert: true, merge: true })
  const afterSecond = await endState(b)
  b.clock.advance(60_000)
  const undo = await b.engine.waitFor((await b.engine.requestUndo(upserted.id, requestedBy)).id)
  const afterUndo = await endState(b)
  const exported = await b.engine.waitFor(
    (await b.engine.requestExport({ format: 'json', gzip: false, requestedBy })).id,
  )
  const file = await b.engine.exportFile(exported.id)
  return {
    jobs: [imported, upserted, undo, exported].map((job) => ({
      id: job.id,
      status: job.status,
      summary: 'summary' in job ? job.summary : undefined,
    })),
    reports: await Promise.all([imported, upserted, undo].map((job) => b.engine.getJobErrors(job.id))),
    afterFirst,
    afterSecond,
    afterUndo,
    exported: file && JSON.parse(await readFile(file.path, 'utf8')),
    counts: [await b.engine.countUsers(), (await b.engine.findUsers('grace@example.com')).length],
  }
}

/** What another job or replica does meanwhile: sets the user's family_name, expecting it as read. */
async function changeAsAnotherWriter(users: AsyncUserStore, user: StoredUser): Promise<void> {
  const { rev: _rev, ...rest } = user
  await users.commit(
    {
      jobId: 'patch_concurrent',
      chunk: 0,
      puts: [{ ...rest, family_name: 'Concurrent' }],
      deletes: [],
      meta: {},
    },
    new Map([[user.user_id, user.rev]]),
  )
}

/**
 * A writer that changes a user of the chunk between its lookup and its commit, once: after the first lookup that
 * finds `email`, it sets the user's family_name through the store, as another job or replica would.
 */
function changeAfterLookup(email: string, lookups: { count: number }): Wrap {
  let done = false
  return (users) => ({
    ...users,
    lookup: async (connectionId, keys) => {
      const answer = await users.lookup(connectionId, keys)
      lookups.count++
      const user = answer.findByEmail(connectionId, email)
      if (!done && user !== undefined && keys.emails?.includes(email)) {
        done = true
        await changeAsAnotherWriter(users, user)
      }
      return answer
    },
  })
}

/** An upsert whose chunk meets that writer: planned again, it keeps the writer's change and adds its own. */
async function concurrentScenario(open: (wrap: Wrap) => Promise<Backend>) {
  const lookups = { count: 0 }
  const b = await open(changeAfterLookup('grace@example.com', lookups))
  try {
    await importInto(b, first)
    const before = lookups.count
    const upserted = await importInto(b, second, { upsert: true })
    const planned = lookups.count - before
    const grace = (await b.engine.findUsers('grace@example.com'))[0]
    const undo = await b.engine.waitFor((await b.engine.requestUndo(upserted.id, requestedBy)).id)
    return {
      upserted: 'summary' in upserted ? upserted.summary : undefined,
      lookups: planned,
      grace: { family_name: grace?.family_name, user_metadata: grace?.user_metadata },
      undone: 'summary' in undo ? undo.summary : undefined,
      graceAfterUndo: (await b.engine.findUsers('grace@example.com'))[0]?.family_name,
    }
  } finally {
    await b.close()
  }
}

/** A PATCH whose user another writer changes between its read and its commit: applied to the changed user. */
async function concurrentPatch(open: (wrap: Wrap) => Promise<Backend>) {
  let armed = false
  const b = await open((users) => ({
    ...users,
    getById: async (userId) => {
      const user = await users.getById(userId)
      if (armed && user !== undefined) {
        armed = false
        await changeAsAnotherWriter(users, user)
      }
      return user
    },
  }))
  try {
    await importInto(b, first)
    const [grace] = await b.engine.findUsers('grace@example.com')
    armed = true
    const patched = await b.engine.updateUser(
      grace?.user_id as string,
      { given_name: 'Amazing' },
      requestedBy,
    )
    const stored = await b.engine.getUser(grace?.user_id as string)
    return {
      patched: [patched.given_name, patched.family_name],
      stored: [stored?.given_name, stored?.family_name],
    }
  } finally {
    await b.close()
  }
}

async function run(open: () => Promise<Backend>) {
  const b = await open()
  try {
    return await scenario(b)
  } finally {
    await b.close()
  }
}

describe('the engine on the embedded store', () => {
  it('imports, upserts, undoes and exports', async () => {
    const outcome = await run(() => openBackend())
    expect(outcome.jobs.map((job) => job.status)).toEqual([
      'completed',
      'completed',
      'completed',
      'completed',
    ])
    expect(outcome.jobs[0]?.summary).toEqual({ inserted: 4, updated: 0, unchanged: 0, failed: 1, total: 5 })
    // Ada and Grace updated, Edsger unchanged, New inserted, the username of Linus refused.
    expect(outcome.jobs[1]?.summary).toEqual({ inserted: 1, updated: 3, unchanged: 1, failed: 1, total: 5 })
    expect(outcome.jobs[2]?.summary).toEqual({ deleted: 1, restored: 2, conflicts: 0, total: 3 })
    expect(outcome.afterUndo).toEqual(outcome.afterFirst)
    expect(outcome.exported).toHaveLength(4)
    expect(outcome.counts).toEqual([4, 1])
  })

  it('gives the same summaries, reports, export and users with every file read on the worker thread', async () => {
    const onMainThread = await run(() => openBackend())
    const onWorker = await run(() => openBackend(undefined, undefined, 'always'))
    expect(onWorker).toEqual(onMainThread)
  })

  it('plans a chunk again when another writer changes one of its users between lookup and commit', async () => {
    const outcome = await concurrentScenario((wrap) => openBackend(undefined, wrap))
    expect(outcome).toMatchObject({
      upserted: { inserted: 1, updated: 3, unchanged: 1, failed: 1, total: 5 },
      // The chunk's lookup, refused at commit, then its lookup again.
      lookups: 2,
      grace: { family_name: 'Concurrent', user_metadata: { seats: 3 } },
      undone: { deleted: 1, restored: 2, conflicts: 0, total: 3 },
      // The undo restores what the import replaced: the writer's version.
      graceAfterUndo: 'Concurrent',
    })
  })

  it('applies a patch to the user as another writer left it, never over that writer', async () => {
    const outcome = await concurrentPatch((wrap) => openBackend(undefined, wrap))
    expect(outcome).toEqual({ patched: ['Amazing', 'Concurrent'], stored: ['Amazing', 'Concurrent'] })
  })
})

describe.skipIf(!hasPostgres)('the engine on PostgreSQL (pgUserStore), against the embedded store', () => {
  const db = usePgContractDatabase()

  const onPostgres = async (wrap?: Wrap, importWorker: 'busy' | 'always' = 'busy') => {
    await db.truncate('users', 'commits')
    return openBackend(pgUserStore(db.pool(), db.url()), wrap, importWorker)
  }

  it('gives the same summaries, reports, export and users as the embedded store', async () => {
    const embedded = await run(() => openBackend())
    const postgres = await run(() => onPostgres())
    expect(postgres.jobs[1]?.summary).toEqual({ inserted: 1, updated: 3, unchanged: 1, failed: 1, total: 5 })
    expect(postgres).toEqual(embedded)
  })

  it('stores the new users the worker thread wrote out as the embedded store does', async () => {
    const embedded = await run(() => openBackend())
    expect(await run(() => onPostgres(undefined, 'always'))).toEqual(embedded)
  })

  it('plans a chunk again when another writer changes one of its users between lookup and commit', async () => {
    const embedded = await concurrentScenario((wrap) => openBackend(undefined, wrap))
    const postgres = await concurrentScenario((wrap) => onPostgres(wrap))
    expect(postgres.lookups).toBe(2)
    expect(postgres).toEqual(embedded)
  })

  it('applies a patch to the user as another writer left it, never over that writer', async () => {
    const postgres = await concurrentPatch((wrap) => onPostgres(wrap))
    expect(postgres).toEqual({ patched: ['Amazing', 'Concurrent'], stored: ['Amazing', 'Concurrent'] })
  })
})
