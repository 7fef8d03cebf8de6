import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { UndoJob } from '../../src/domain/jobs/job.ts'
import { cancelDryRun, requestImportFromDryRun } from '../../src/engine/import-from-dry-run.ts'
import { allOf } from '../support/async-users.ts'
import { type Harness, openHarness } from '../support/roster-harness.ts'

let h: Harness
beforeEach(async () => {
  h = await openHarness()
  await h.importUsers([
    { email: 'keep@example.com', given_name: 'Keep' },
    { email: 'change@example.com', given_name: 'Before', user_metadata: { plan: 'basic' } },
  ])
  h.clock.advance(60_000)
})
afterEach(async () => {
  await h.close()
})

const stored = async (email: string) => (await h.engine.findUsers(email))[0]

describe('dry run', () => {
  const file = [
    { email: 'keep@example.com', given_name: 'Keep' },
    { email: 'change@example.com', given_name: 'After', user_metadata: { plan: 'pro' } },
    { email: 'new@example.com' },
    { email: 'broken' },
  ]

  it('plans like a real run and writes nothing', async () => {
    const before = await allOf(h.roster.engine.ctx.users.scan())
    const job = await h.importUsers(file, { upsert: true, dryRun: true })
    expect(job.status).toBe('completed')
    expect(job.summary).toEqual({ inserted: 1, updated: 2, unchanged: 1, failed: 1, total: 4 })
    expect(await allOf(h.roster.engine.ctx.users.scan())).toEqual(before)
    expect(await h.engine.findUsers('new@example.com')).toEqual([])
  })

  it('keeps a field-level before → after sample', async () => {
    const job = await h.importUsers(file, { upsert: true, dryRun: true })
    const preview = await h.engine.getPreview(job.id)
    expect(preview[0]).toEqual({
      index: 1,
      email: 'change@example.com',
      user_id: (await stored('change@example.com'))?.user_id,
      action: 'update',
      changes: [
        { field: 'given_name', before: 'Before', after: 'After' },
        { field: 'user_metadata', before: { plan: 'basic' }, after: { plan: 'pro' } },
      ],
    })
    expect(preview[1]).toMatchObject({ index: 2, email: 'new@example.com', action: 'insert' })
  })

  it('reports the same per-user errors a real run would', async () => {
    const dry = await h.importUsers(file, { upsert: true, dryRun: true })
    const real = await h.importUsers(file, { upsert: true })
    expect(await h.engine.getJobErrors(dry.id)).toEqual(await h.engine.getJobErrors(real.id))
    expect(real.summary).toEqual(dry.summary)
  })

  it('cannot be undone: it changed nothing', async () => {
    const job = await h.importUsers(file, { upsert: true, dryRun: true })
    await expect(h.engine.requestUndo(job.id, { via: 'cli', id: 't' })).rejects.toMatchObject({
      code: 'job_not_undoable',
    })
  })
})

describe("a dry run's Import and Cancel", () => {
  const admin = (id: string) => ({ via: 'slack' as const, id })

  it('imports once for two presses at the same moment, and says who decided to the second', async () => {
    const dry = await h.importUsers([{ email: 'once@example.com' }], { dryRun: true })
    const imports = () =>
      h.engine.listJobs(100).filter((j) => j.type === 'users_import' && !j.options.dryRun).length
    const before = imports()
    const presses = await Promise.allSettled([
      requestImportFromDryRun(h.engine, dry.id, admin('U1')),
      requestImportFromDryRun(h.engine, dry.id, admin('U2')),
    ])
    const started = presses.flatMap((p) => (p.status === 'fulfilled' ? [p.value] : []))
    const refused = presses.flatMap((p) => (p.status === 'rejected' ? [p.reason] : []))
    expect(started).toHaveLength(1)
    expect(refused).toEqual([expect.objectContaining({ code: 'dry_run_decided' })])
    expect(imports()).toBe(before + 1)
    expect(h.engine.getJob(dry.id)?.job).toMatchObject({
      decision: { outcome: 'imported', importJobId: started[0]?.id },
    })
  })

  it('keeps the decision across a restart: a press after it is refused, and so is a cancel', async () => {
    const dry = await h.importUsers([{ email: 'later@example.com' }], { dryRun: true })
    await cancelDryRun(h.engine, dry.id, admin('U1'))
    const storeDir = h.roster.storeDir
    await h.close()
    h = await openHarness({}, storeDir)
    await expect(requestImportFromDryRun(h.engine, dry.id, admin('U2'))).rejects.toMatchObject({
      code: 'dry_run_decided',
      message: `The dry run ${dry.id} was already cancelled.`,
    })
    await expect(cancelDryRun(h.engine, dry.id, admin('U2'))).rejects.toMatchObject({
      code: 'dry_run_decided',
    })
    expect(await h.engine.findUsers('later@example.com')).toEqual([])
  })
})

describe('undo', () => {
  const undo = async (jobId: string) => {
    const job = await h.engine.requestUndo(jobId, { via: 'cli', id: 'admin' })
    return (await h.engine.waitFor(job.id)) as UndoJob
  }

  it('removes the users a job inserted and restores the users it updated', async () => {
    const before = await stored('change@example.com')
    const job = await h.importUsers(
      [{ email: 'change@example.com', given_name: 'After' }, { email: 'new@example.com' }],
      { upsert: true },
    )
    expect((await stored('change@example.com'))?.given_name).toBe('After')
    const undone = await undo(job.id)
    expect(undone.status).toBe('completed')
    expect(undone.summary).toEqual({ deleted: 1, restored: 1, conflicts: 0, total: 2 })
    expect(await h.engine.findUsers('new@example.com')).toEqual([])
    const restored = await stored('change@example.com')
    expect({ ...restored, rev: 0 }).toEqual({ ...before, rev: 0 })
    expect(h.engine.getJob(job.id)?.job).toMatchObject({ undoneBy: undone.id })
  })

  it('leaves users changed since by a later job alone and reports them as conflicts', async () => {
    const job = await h.importUsers(
      [{ email: 'change@example.com', given_name: 'First' }, { email: 'new@example.com' }],
      {
        upsert: true,
      },
    )
    await h.importUsers([{ email: 'change@example.com', given_name: 'Later' }], { upsert: true })
    const undone = await undo(job.id)
    expect(undone.summary).toEqual({ deleted: 1, restored: 0, conflicts: 1, total: 2 })
    expect((await stored('change@example.com'))?.given_name).toBe('Later')
    const report = (await h.engine.getJobErrors(undone.id)) ?? []
    expect(report).toHaveLength(1)
    expect(report[0]?.user).toMatchObject({ email: 'change@example.com' })
    expect(report[0]?.errors[0]).toMatchObject({ code: 'CONFLICT' })
  })

  it('refuses a second undo of the same job', async () => {
    const job = await h.importUsers([{ email: 'new@example.com' }])
    await undo(job.id)
    await expect(h.engine.requestUndo(job.id, { via: 'cli', id: 't' })).rejects.toMatchObject({
      code: 'job_not_undoable',
      message: expect.stringContaining('already undone'),
    })
  })

  it('refuses an unknown job', async () => {
    await expect(h.engine.requestUndo('job_AAAAAAAAAAAAAAAA', { via: 'cli', id: 't' })).rejects.toMatchObject(
      {
        code: 'not_found',
      },
    )
  })

  it('survives a restart: undo data is on disk with the job', async () => {
    const job = await h.importUsers([{ email: 'new@example.com' }])
    h = await h.reopen()
    const undone = await undo(job.id)
    expect(undone.summary).toMatchObject({ deleted: 1 })
    expect(await h.engine.findUsers('new@example.com')).toEqual([])
  })
})
