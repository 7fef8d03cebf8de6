import { describe, expect, it } from 'vitest'
import type { Job } from '../../src/domain/jobs/job.ts'
import { type ClaimView, claimJob, isRunning, jobsToClaim } from '../../src/domain/jobs/job-claims.ts'
import { mayRunTick } from '../../src/domain/schedule-claims.ts'

const nowMs = Date.parse('2026-12-05T10:00:00.000Z')
const at = (offsetMs: number) => new Date(nowMs + offsetMs).toISOString()

/** A writer (an undo writes users) or a reader (an export); `lease` as [holder, ms from now until it lapses]. */
function job(
  id: string,
  kind: 'writer' | 'reader',
  status: Job['status'] = 'pending',
  lease?: [string, number],
): Job {
  const base = {
    id,
    status,
    connectionId: 'con_0000000000000000',
    connectionName: 'c',
    createdAt: '2026-12-05T09:00:00.000Z',
    requestedBy: { via: 'cli' as const, id: 't' },
    ...(lease ? { lease: { holder: lease[0], until: at(lease[1]) } } : {}),
  }
  return kind === 'writer'
    ? { ...base, type: 'users_undo', undoOf: 'job_0000000000000000' }
    : { ...base, type: 'users_export', format: 'json', fields: [], gzip: false }
}

function view(overrides: Partial<ClaimView> = {}): ClaimView {
  return {
    nowMs,
    replica: { id: 'me', shared: true },
    running: new Set(),
    maxActiveImports: 2,
    maxReaders: 2,
    ...overrides,
  }
}

const ids = (jobs: Job[]) => jobs.map((j) => j.id)

describe('jobsToClaim', () => {
  it('claims writers in creation order up to MAX_ACTIVE_IMPORTS, processing ones first', () => {
    const jobs = [job('w1', 'writer'), job('w2', 'writer'), job('w3', 'writer', 'processing')]
    expect(ids(jobsToClaim(jobs, view()))).toEqual(['w3', 'w1'])
  })

  it("counts other replicas' live leases against MAX_ACTIVE_IMPORTS", () => {
    const jobs = [
      job('w1', 'writer', 'processing', ['other', 5_000]),
      job('w2', 'writer'),
      job('w3', 'writer'),
    ]
    expect(ids(jobsToClaim(jobs, view()))).toEqual(['w2'])
    expect(ids(jobsToClaim(jobs, view({ maxActiveImports: 1 })))).toEqual([])
  })

  it('never lets a later writer overtake one that waits, whoever runs the others', () => {
    const jobs = [
      job('w1', 'writer', 'processing', ['other', 5_000]),
      job('w2', 'writer'),
      job('w3', 'writer', 'completed'),
      job('w4', 'writer'),
    ]
    expect(ids(jobsToClaim(jobs, view({ maxActiveImports: 1 })))).toEqual([])
    expect(ids(jobsToClaim(jobs, view({ maxActiveImports: 2 })))).toEqual(['w2'])
  })

  it('takes over a job whose lease lapsed, and counts it as running while the lease holds', () => {
    const lapsed = [job('w1', 'writer', 'processing', ['dead', 0]), job('w2', 'writer')]
    expect(ids(jobsToClaim(lapsed, view({ maxActiveImports: 1 })))).toEqual(['w1'])
    const live = [job('w1', 'writer', 'processing', ['other', 1]), job('w2', 'writer')]
    expect(ids(jobsToClaim(live, view({ maxActiveImports: 1 })))).toEqual([])
  })

  it('waits out a lease of its own that it no longer runs, like any other (shared store)', () => {
    const jobs = [job('w1', 'writer', 'processing', ['me', 5_000])]
    expect(ids(jobsToClaim(jobs, view()))).toEqual([])
    expect(isRunning(jobs[0] as Job, view())).toBe(true)
  })

  it('embedded: takes at once a job leased to another id (a dead process), counting only its own runs', () => {
    const embedded = view({ replica: { id: 'me', shared: false }, maxActiveImports: 1 })
    const jobs = [job('w1', 'writer', 'processing', ['ghost', 60_000]), job('w2', 'writer')]
    expect(ids(jobsToClaim(jobs, embedded))).toEqual(['w1'])
    // Running w1 itself: nothing more to claim.
    expect(ids(jobsToClaim(jobs, { ...embedded, running: new Set(['w1']) }))).toEqual([])
  })

  it('skips jobs this replica runs and finished ones', () => {
    const jobs = [
      job('w1', 'writer', 'processing', ['me', 5_000]),
      job('w2', 'writer', 'failed'),
      job('w3', 'writer'),
    ]
    expect(ids(jobsToClaim(jobs, view({ running: new Set(['w1']) })))).toEqual(['w3'])
  })

  it('runs readers beside the writers, at most maxReaders on this replica, whatever other replicas run', () => {
    const jobs = [
      job('w1', 'writer', 'processing', ['other', 5_000]),
      job('w2', 'writer', 'processing', ['other', 5_000]),
      job('r1', 'reader', 'processing', ['other', 5_000]),
      job('w3', 'writer'),
      job('r2', 'reader'),
      job('r3', 'reader'),
      job('r4', 'reader'),
    ]
    expect(ids(jobsToClaim(jobs, view()))).toEqual(['r2', 'r3'])
    expect(ids(jobsToClaim(jobs, view({ running: new Set(['r2']) })))).toEqual(['r3'])
  })
})

describe('claimJob', () => {
  const terms = { holder: 'me', now: new Date(nowMs), leaseMs: 30_000, chunks: 0, maxStoppedRuns: 2 }

  it('leases the job, starts it and counts the run', () => {
    const draft = job('w1', 'writer')
    expect(claimJob(draft, terms)).toBe(1)
    expect(draft).toMatchObject({
      status: 'processing',
      startedAt: at(0),
      lease: { holder: 'me', until: at(30_000) },
      attempt: { count: 1, chunks: 0 },
    })
  })

  it('counts runs in a row without progress, and forgives a run that committed since', () => {
    const draft = job('w1', 'writer', 'processing', ['dead', 0])
    draft.startedAt = at(-60_000)
    draft.attempt = { count: 1, chunks: 3 }
    expect(claimJob(draft, { ...terms, chunks: 3 })).toBe(2)
    expect(draft.startedAt).toBe(at(-60_000))
    expect(claimJob(draft, { ...terms, chunks: 3 })).toBe(3)
    // Past the limit the record keeps the runs that did happen.
    expect(draft.attempt).toEqual({ count: 2, chunks: 3 })
    expect(claimJob(draft, { ...terms, chunks: 4 })).toBe(1)
  })
})

describe('mayRunTick', () => {
  const tick = '2026-12-05T03:00:00.000Z'
  it('runs a tick not claimed yet, never one claimed or older than the last claimed', () => {
    expect(mayRunTick(undefined, tick)).toBe(true)
    expect(mayRunTick({ tick, holder: 'a' }, tick)).toBe(false)
    expect(mayRunTick({ tick, holder: 'a' }, '2026-12-05T02:00:00.000Z')).toBe(false)
    expect(mayRunTick({ tick, holder: 'a' }, '2026-12-05T04:00:00.000Z')).toBe(true)
  })
})
