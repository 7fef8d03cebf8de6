import { readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { editJob } from '../../src/domain/catalog.ts'
import { toAuth0Job } from '../../src/domain/jobs/auth0-view.ts'
import type { JobEvent } from '../../src/engine/events.ts'
import { defaultConnection, type Harness, openHarness } from '../support/roster-harness.ts'

let h: Harness
afterEach(async () => {
  await h.close()
})

const request = (users: unknown[], dryRun = false) =>
  h.engine.requestImport({
    connection: defaultConnection,
    fileName: 'users.json',
    bytes: Buffer.from(JSON.stringify(users)),
    options: { upsert: false, merge: false, dryRun, sendCompletionEmail: false },
    requestedBy: { via: 'cli', id: 'tester' },
  })

describe('scheduling', () => {
  it('runs at most MAX_ACTIVE_IMPORTS writing jobs at once, in the order they were created', async () => {
    h = await openHarness({ MAX_ACTIVE_IMPORTS: '1' }, undefined, { start: false })
    const log: string[] = []
    h.engine.subscribe((event: JobEvent) => {
      if (event.type === 'job:progress' && event.progress.processed === 0) log.push(`start ${event.job.id}`)
      if (event.type === 'job:finished') log.push(`end ${event.job.id}`)
    })
    const jobs = []
    for (const n of [1, 2, 3]) jobs.push(await request([{ email: `u${n}@example.com` }]))
    h.engine.start()
    // The later ones wait, visibly pending.
    expect(jobs.map((job) => h.engine.getJob(job.id)?.job.status)).toEqual(['pending', 'pending', 'pending'])
    await Promise.all(jobs.map((job) => h.engine.waitFor(job.id)))
    const [a, b, c] = jobs.map((job) => job.id)
    expect(log).toEqual([`start ${a}`, `end ${a}`, `start ${b}`, `end ${b}`, `start ${c}`, `end ${c}`])
  })

  it('lets a dry run start while the writing slots are taken', async () => {
    h = await openHarness({ MAX_ACTIVE_IMPORTS: '1' }, undefined, { start: false })
    const starts: string[] = []
    h.engine.subscribe((event) => {
      if (event.type === 'job:progress' && event.progress.processed === 0) starts.push(event.job.id)
    })
    const writer1 = await request([{ email: 'a@example.com' }])
    const writer2 = await request([{ email: 'b@example.com' }])
    const dry = await request([{ email: 'c@example.com' }], true)
    h.engine.start()
    await Promise.all([writer1, writer2, dry].map((job) => h.engine.waitFor(job.id)))
    expect(starts.indexOf(dry.id)).toBeLessThan(starts.indexOf(writer2.id))
  })
})

describe('leases (embedded: one process)', () => {
  it('takes over at once a job leased to a process that is gone, and settles it without a lease', async () => {
    h = await openHarness({}, undefined, { start: false })
    const job = await request([{ email: 'ghost@example.com' }])
    await h.engine.ctx.catalog.update((draft) => {
      const found = editJob(draft, job.id)
      if (!found) throw new Error('job missing')
      found.status = 'processing'
      found.lease = { holder: 'gone-1234-abcdef', until: '2999-01-01T00:00:00.000Z' }
    })
    h.engine.start()
    const done = await h.engine.waitFor(job.id)
    expect(done.status).toBe('completed')
    expect(done.lease).toBeUndefined()
    expect(done.attempt).toBeUndefined()
  })
})

describe('job records', () => {
  it('goes pending → processing → completed and announces each step', async () => {
    h = await openHarness()
    const events: string[] = []
    h.engine.subscribe((event) => {
      events.push(`${event.type}:${event.job.status}`)
    })
    const job = await request([{ email: 'a@example.com' }])
    expect(job.status).toBe('pending')
    await h.engine.waitFor(job.id)
    expect(events).toEqual([
      'job:created:pending',
      'job:progress:processing',
      'job:progress:processing',
      'job:finished:completed',
    ])
  })

  it("renders Auth0's job shape, echoing external_id", async () => {
    h = await openHarness()
    const created = await h.engine.requestImport({
      connection: defaultConnection,
      fileName: 'users.json',
      bytes: Buffer.from('[{"email":"a@example.com"}]'),
      options: {
        upsert: true,
        merge: false,
        dryRun: false,
        sendCompletionEmail: true,
        externalId: 'batch-7',
      },
      requestedBy: { via: 'api', id: 'ci' },
    })
    const done = await h.engine.waitFor(created.id)
    expect(toAuth0Job(done)).toEqual({
      type: 'users_import',
      status: 'completed',
      connection_id: done.connectionId,
      connection: defaultConnection,
      created_at: '2026-11-27T10:00:00.000Z',
      id: created.id,
      external_id: 'batch-7',
      upsert: true,
      send_completion_email: true,
      summary: { inserted: 1, updated: 0, failed: 0, total: 1, unchanged: 0 },
    })
  })

  it('shows percentage_done and time_left_seconds while processing', () => {
    const job = {
      id: 'job_AAAAAAAAAAAAAAAA',
      type: 'users_import' as const,
      status: 'processing' as const,
      connectionId: 'con_AAAAAAAAAAAAAAAA',
      connectionName: 'c',
      createdAt: '2026-11-27T10:00:00.000Z',
      requestedBy: { via: 'cli' as const, id: 't' },
      options: { upsert: false, merge: false, dryRun: false, sendCompletionEmail: false },
      upload: { fileName: 'f', format: 'json' as const, bytes: 1, rows: 4000, chunkRows: 2000 },
    }
    const view = toAuth0Job(job, { processed: 1000, total: 4000, startedAtMs: 0, nowMs: 10_000 })
    expect(view).toMatchObject({ percentage_done: 25, time_left_seconds: 30 })
  })
})

describe('whole-job failure', () => {
  it('fails a job whose upload vanished, saying so, and carries on with the next', async () => {
    h = await openHarness({}, undefined, { start: false })
    const doomed = await request([{ email: 'a@example.com' }])
    const next = await request([{ email: 'b@example.com' }])
    // Restarted, so the rows parsed at request time are gone and the run reads the upload from the store.
    await h.close()
    await rm(join(h.storeDir, 'jobs', doomed.id, 'upload'))
    h = await openHarness({}, h.storeDir)
    const failed = await h.engine.waitFor(doomed.id)
    expect(failed).toMatchObject({
      status: 'failed',
      statusDetails: `The uploaded file of ${doomed.id} is missing from the store.`,
      summary: { inserted: 0, updated: 0, failed: 0, total: 1, unchanged: 0 },
    })
    expect(await h.engine.waitFor(next.id)).toMatchObject({ status: 'completed' })
  })
})

describe('retention', () => {
  it('expires finished jobs after JOB_RETENTION_HOURS and purges their files', async () => {
    h = await openHarness({ JOB_RETENTION_HOURS: '24' })
    const job = await h.importUsers([{ email: 'a@example.com' }, { email: 'bad' }])
    const jobsDir = join(h.storeDir, 'jobs')
    expect(await readdir(jobsDir)).toEqual([job.id])
    h.clock.advance(23 * 3_600_000)
    expect(await h.engine.sweepRetention()).toBe(0)
    h.clock.advance(3_600_000)
    expect(await h.engine.sweepRetention()).toBe(1)
    expect(h.engine.getJob(job.id)?.job.status).toBe('expired')
    expect(await readdir(jobsDir)).toEqual([])
    await expect(h.engine.requestUndo(job.id, { via: 'cli', id: 't' })).rejects.toMatchObject({
      message: expect.stringContaining('expired'),
    })
  })

  it('keeps the users an expired job wrote', async () => {
    h = await openHarness({ JOB_RETENTION_HOURS: '1' })
    await h.importUsers([{ email: 'a@example.com' }])
    h.clock.advance(3_600_000)
    await h.engine.sweepRetention()
    expect(await h.engine.countUsers()).toBe(1)
  })

  it('drops expired records after a second retention period', async () => {
    h = await openHarness({ JOB_RETENTION_HOURS: '1' })
    const job = await h.importUsers([{ email: 'a@example.com' }])
    h.clock.advance(3_600_000)
    await h.engine.sweepRetention()
    h.clock.advance(3_600_000)
    await h.engine.sweepRetention()
    expect(h.engine.getJob(job.id)).toBeNull()
  })
})
