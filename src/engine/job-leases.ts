import { editJob } from '../domain/catalog.ts'
import type { Job } from '../domain/jobs/job.ts'
import { isActive, writesUsers } from '../domain/jobs/job.ts'
import { type ClaimView, claimJob, holdsLease, jobsToClaim } from '../domain/jobs/job-claims.ts'
import type { EngineContext } from './context.ts'

/**
 * The scheduler's catalog side of job leases (issue 14; the rule is domain/jobs/job-claims.ts). Each is ONE catalog
 * update, and catalog updates take turns across replicas, so what it reads and what it writes belong together.
 */

export interface JobClaim {
  job: Job
  /** The run's number in a row without progress (above `maxStoppedRuns`: the job is set aside). */
  count: number
}

/**
 * Claims for this replica what the rule gives it on the catalog as it is at the update (another replica may have
 * claimed since `chunks` was counted). `chunks` holds, per job the caller looked at, the commits it has made; a job
 * not in it became claimable meanwhile and waits for the next look, and so does every writer after it (none
 * overtakes it). `durable` resolves once the claims are on disk: a run must not start before.
 */
export async function claimJobs(
  ctx: EngineContext,
  view: (nowMs: number) => ClaimView,
  chunks: ReadonlyMap<string, number>,
  terms: { leaseMs: number; maxStoppedRuns: number },
): Promise<{ claims: JobClaim[]; durable: Promise<void> }> {
  const { result: claims, durable } = await ctx.catalog.updateEarly((draft) => {
    const now = ctx.clock.now()
    const claims: JobClaim[] = []
    for (const chosen of jobsToClaim(draft.jobs, view(now.getTime()))) {
      const known = chunks.get(chosen.id)
      if (known === undefined) {
        if (writesUsers(chosen)) break
        continue
      }
      const job = editJob(draft, chosen.id) as Job
      const count = claimJob(job, { ...terms, holder: ctx.replica.id, now, chunks: known })
      claims.push({ job: structuredClone(job), count })
    }
    return claims
  })
  return { claims, durable }
}

/**
 * Extends this replica's leases on `jobIds` until `untilMs`. Returns the jobs it no longer holds (another replica
 * took them over after they lapsed): their runs must stop. Settled jobs are neither renewed nor reported.
 */
export function renewLeases(
  ctx: EngineContext,
  jobIds: readonly string[],
  untilMs: number,
): Promise<string[]> {
  const until = new Date(untilMs).toISOString()
  return ctx.catalog.update((draft) => {
    const lost: string[] = []
    for (const id of jobIds) {
      const found = draft.jobs.find((j) => j.id === id)
      if (found === undefined || !isActive(found)) continue
      if (found.lease === undefined || !holdsLease(found, ctx.replica.id)) {
        lost.push(id)
        continue
      }
      const { lease } = editJob(draft, id) as Job
      if (lease !== undefined) lease.until = until
    }
    return lost
  })
}

/**
 * A run that stopped at a checkpoint (Roster stopping, or its lease lapsed) did not stop the process: its attempt
 * is void, and its lease is given back so another replica resumes the job at once. A job another replica took over
 * is left as that one wrote it.
 */
export function releaseLease(ctx: EngineContext, jobId: string): Promise<void> {
  return ctx.catalog.update((draft) => {
    const shared = draft.jobs.find((j) => j.id === jobId)
    if (shared === undefined || !isActive(shared)) return
    if (shared.lease !== undefined && !holdsLease(shared, ctx.replica.id)) return
    const found = editJob(draft, jobId) as Job
    delete found.attempt
    delete found.lease
  })
}
