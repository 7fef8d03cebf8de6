import { z } from 'zod'
import type { Job } from './job.ts'

/**
 * Pages of the job list and the filters people ask for (`/jobs failed mine`). Pure: the caller passes the jobs,
 * newest first, and who is asking. Pages are anchored on a job id rather than an offset, so a job created
 * between two presses of "Older" does not push the same job onto two pages.
 */

/** Words that filter the list. Within a group any may match (`failed running`); groups combine (`failed mine`). */
export const jobFilters = ['failed', 'running', 'mine', 'import', 'export'] as const
export type JobFilter = (typeof jobFilters)[number]

export const jobPageSize = 10

const statusFilter: Partial<Record<JobFilter, (job: Job) => boolean>> = {
  failed: (job) => job.status === 'failed',
  running: (job) => job.status === 'pending' || job.status === 'processing',
}
const typeFilter: Partial<Record<JobFilter, (job: Job) => boolean>> = {
  import: (job) => job.type === 'users_import',
  export: (job) => job.type === 'users_export',
}

export function isJobFilter(word: string): word is JobFilter {
  return (jobFilters as readonly string[]).includes(word)
}

/** The filters in these words (lower-cased, deduplicated, in the vocabulary's order), or the first unknown word. */
export function parseJobFilters(words: readonly string[]): { filters: JobFilter[] } | { unknown: string } {
  const seen = new Set<JobFilter>()
  for (const word of words) {
    const lower = word.toLowerCase()
    if (!isJobFilter(lower)) return { unknown: word }
    seen.add(lower)
  }
  return { filters: jobFilters.filter((f) => seen.has(f)) }
}

/** Whether `job` is in the list `filters` asks for, for Slack user `user` (`mine`: jobs they requested). */
export function matchesFilters(job: Job, filters: readonly JobFilter[], user: string): boolean {
  const group = (table: Partial<Record<JobFilter, (job: Job) => boolean>>) => {
    const tests = filters.flatMap((f) => table[f] ?? [])
    return tests.length === 0 || tests.some((test) => test(job))
  }
  const mine = !filters.includes('mine') || (job.requestedBy.via === 'slack' && job.requestedBy.id === user)
  return mine && group(statusFilter) && group(typeFilter)
}

/** What a Newer / Older button carries: the filters, and the job the page starts after (older) or ends before (newer). */
export const jobPageQuerySchema = z.object({
  f: z.array(z.enum(jobFilters)).default([]),
  /** Older: the jobs after this one. */
  b: z.string().optional(),
  /** Newer: the jobs before this one. */
  a: z.string().optional(),
})
export type JobPageQuery = z.infer<typeof jobPageQuerySchema>

export interface JobPage {
  jobs: Job[]
  /** 0-based position of the first job on the page among the matching jobs. */
  start: number
  /** How many jobs match the filters. */
  total: number
  hasNewer: boolean
  hasOlder: boolean
}

/**
 * One page of the jobs (newest first) that match the query's filters. A cursor job that no longer exists (it
 * expired and was removed) starts again from the newest.
 */
export function pageJobs(
  newestFirst: readonly Job[],
  query: JobPageQuery,
  user: string,
  size = jobPageSize,
): JobPage {
  const matching = newestFirst.filter((job) => matchesFilters(job, query.f, user))
  const at = (id: string | undefined) => (id === undefined ? -1 : matching.findIndex((job) => job.id === id))
  let start = 0
  if (query.b !== undefined && at(query.b) >= 0) start = at(query.b) + 1
  else if (query.a !== undefined && at(query.a) >= 0) start = Math.max(0, at(query.a) - size)
  const end = query.a !== undefined && at(query.a) >= 0 ? at(query.a) : start + size
  const jobs = matching.slice(start, Math.min(end, start + size))
  return {
    jobs,
    start,
    total: matching.length,
    hasNewer: start > 0,
    hasOlder: start + jobs.length < matching.length,
  }
}
