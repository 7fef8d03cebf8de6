import { isActive, type Job, writesUsers } from './job.ts'

/**
 * Which replica runs which job (issue 14). Every replica's scheduler claims jobs in one catalog update, and
 * catalog updates take turns across replicas (the row lock in PostgreSQL, one process for the embedded file), so
 * running this rule inside that update on the document as it is then gives each job to exactly one replica, and
 * keeps MAX_ACTIVE_IMPORTS tenant-wide.
 */

/** Who is asking, and what it knows that the catalog does not. */
export interface ClaimView {
  nowMs: number
  replica: { id: string; shared: boolean }
  /** Jobs this replica runs right now (its runs have not returned). */
  running: ReadonlySet<string>
  /** Writing jobs (imports, undos) that may run at once across all replicas. */
  maxActiveImports: number
  /** Jobs that write nothing (dry runs, exports) this replica may run at once: they only cost its own CPU. */
  maxReaders: number
}

/**
 * Whether some replica runs the job now. Shared (PostgreSQL): a lease counts until it lapses, whoever holds it,
 * this replica included (one it no longer runs is waited out like any other). Embedded (one process, the store
 * locked): only this process's runs are real; a lease held by another id is a dead process's, so it counts for
 * nothing.
 */
export function isRunning(job: Job, view: ClaimView): boolean {
  if (view.running.has(job.id)) return true
  if (!view.replica.shared || job.lease === undefined) return false
  return Date.parse(job.lease.until) > view.nowMs
}

/**
 * The jobs this replica should claim now, in the order to start them: jobs a stopped run left `processing` first,
 * then `pending` ones, each in the order they were created. Writers are counted across every replica, and start
 * strictly in order: once one must wait for a slot, every later one waits too (none overtakes it).
 */
export function jobsToClaim(jobs: readonly Job[], view: ClaimView): Job[] {
  const active = jobs.filter(isActive)
  let writers = active.filter((job) => writesUsers(job) && isRunning(job, view)).length
  let readers = active.filter((job) => !writesUsers(job) && view.running.has(job.id)).length
  const queue = [
    ...active.filter((job) => job.status === 'processing'),
    ...active.filter((job) => job.status === 'pending'),
  ]
  const claims: Job[] = []
  for (const job of queue) {
    if (isRunning(job, view)) continue
    if (writesUsers(job)) {
      if (writers >= view.maxActiveImports) continue
      writers++
    } else {
      if (readers >= view.maxReaders) continue
      readers++
    }
    claims.push(job)
  }
  return claims
}

export interface ClaimTerms {
  holder: string
  now: Date
  leaseMs: number
  /** Commits the job has made so far (its chunks, its Auth0 parts): progress since the last run forgives it. */
  chunks: number
  /** Runs in a row, without progress, after which the job is set aside instead of run again. */
  maxStoppedRuns: number
}

/**
 * Claims `draft` (a job `jobsToClaim` chose) for `terms.holder`: the lease, `processing`, and the run counted in
 * `attempt`. Returns the run's number in a row without progress; above `maxStoppedRuns` the caller sets the job
 * aside (the count is not written past it, so the record shows the runs that did happen).
 */
export function claimJob(draft: Job, terms: ClaimTerms): number {
  draft.lease = { holder: terms.holder, until: new Date(terms.now.getTime() + terms.leaseMs).toISOString() }
  if (draft.status === 'pending') {
    draft.status = 'processing'
    draft.startedAt = terms.now.toISOString()
  }
  const previous = draft.attempt
  const count = previous !== undefined && previous.chunks === terms.chunks ? previous.count + 1 : 1
  if (count <= terms.maxStoppedRuns) draft.attempt = { count, chunks: terms.chunks }
  return count
}

/** Whether `holder` still holds the job: a run that lost it must neither renew nor settle it. */
export function holdsLease(job: Job, holder: string): boolean {
  return job.lease?.holder === holder
}
