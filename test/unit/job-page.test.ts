import { describe, expect, it } from 'vitest'
import type { Job } from '../../src/domain/jobs/job.ts'
import {
  type JobPageQuery,
  matchesFilters,
  pageJobs,
  parseJobFilters,
} from '../../src/domain/jobs/job-page.ts'

/** Just enough of a job for filtering and paging. */
function job(i: number, overrides: Partial<Record<'status' | 'type' | 'by', string>> = {}): Job {
  return {
    id: `job_${String(i).padStart(16, '0')}`,
    status: overrides.status ?? 'completed',
    type: overrides.type ?? 'users_import',
    requestedBy: { via: 'slack', id: overrides.by ?? 'U1' },
  } as Job
}

/** 25 jobs, newest first: job 24 … job 0. */
const jobs = Array.from({ length: 25 }, (_, i) => job(24 - i))
const ids = (list: readonly Job[]) => list.map((j) => Number(j.id.slice(4)))

describe('pageJobs', () => {
  it('pages through every job, ten at a time, Older then Newer, without gaps or repeats', () => {
    const first = pageJobs(jobs, { f: [] }, 'U1')
    expect(ids(first.jobs)).toEqual([24, 23, 22, 21, 20, 19, 18, 17, 16, 15])
    expect(first).toMatchObject({ start: 0, total: 25, hasNewer: false, hasOlder: true })
    const second = pageJobs(jobs, { f: [], b: first.jobs.at(-1)?.id }, 'U1')
    expect(ids(second.jobs)).toEqual([14, 13, 12, 11, 10, 9, 8, 7, 6, 5])
    const third = pageJobs(jobs, { f: [], b: second.jobs.at(-1)?.id }, 'U1')
    expect(ids(third.jobs)).toEqual([4, 3, 2, 1, 0])
    expect(third).toMatchObject({ start: 20, hasNewer: true, hasOlder: false })
    const back = pageJobs(jobs, { f: [], a: third.jobs[0]?.id }, 'U1')
    expect(ids(back.jobs)).toEqual(ids(second.jobs))
  })

  it('keeps a page anchored when a newer job arrives between presses', () => {
    const first = pageJobs(jobs, { f: [] }, 'U1')
    const grown = [job(25), ...jobs]
    const older = pageJobs(grown, { f: [], b: first.jobs.at(-1)?.id } satisfies JobPageQuery, 'U1')
    expect(ids(older.jobs)[0]).toBe(14)
  })

  it('starts from the newest when the cursor job is gone', () => {
    expect(ids(pageJobs(jobs, { f: [], b: 'job_gone' }, 'U1').jobs)[0]).toBe(24)
  })
})

describe('filters', () => {
  it('reads filter words, and names the first word that is not one', () => {
    expect(parseJobFilters(['Mine', 'failed'])).toEqual({ filters: ['failed', 'mine'] })
    expect(parseJobFilters(['failed', 'job_x'])).toEqual({ unknown: 'job_x' })
  })

  it('matches any of a group and all groups: failed or running, and mine, and import', () => {
    const failedMine = job(1, { status: 'failed' })
    const runningTheirs = job(2, { status: 'processing', by: 'U2' })
    const failedExport = job(3, { status: 'failed', type: 'users_export' })
    expect(matchesFilters(failedMine, ['failed', 'running'], 'U1')).toBe(true)
    expect(matchesFilters(runningTheirs, ['failed', 'running'], 'U1')).toBe(true)
    expect(matchesFilters(runningTheirs, ['running', 'mine'], 'U1')).toBe(false)
    expect(matchesFilters(failedExport, ['failed', 'import'], 'U1')).toBe(false)
    expect(matchesFilters(failedExport, ['failed', 'export', 'mine'], 'U1')).toBe(true)
  })
})
