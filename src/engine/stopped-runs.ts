import { type Job, writesUsers } from '../domain/jobs/job.ts'
import { AppError } from '../errors.ts'
import type { EngineContext } from './context.ts'

/**
 * Runs in a row that may end with the process gone (a crash, a kill, an out-of-memory) without the job committing
 * anything in between, before recovery sets the job aside as `failed` instead of starting it again: two, so one
 * unrelated crash (a deploy's kill -9) never costs a job.
 */
export const maxStoppedRuns = 2

/**
 * Commits the job made so far: a run that adds one made progress, so a crash after it is not held against the
 * job. Into a tenant, so does a part's Auth0 job recorded or completed (a run may only poll), an undo's too.
 */
export async function progressSoFar(ctx: EngineContext, job: Job): Promise<number> {
  if (!writesUsers(job)) return 0
  const parts = job.type !== 'users_export' ? (job.tenantParts ?? []) : []
  const commits = await ctx.users.commitsOf(job.id)
  return commits.length + parts.length + parts.filter((p) => p.status === 'completed').length
}

/** The failure of a job that stopped Roster `maxStoppedRuns` times in a row without progress. */
export function quarantined(): AppError {
  return new AppError(
    'job_quarantined',
    `Roster stopped ${maxStoppedRuns} times in a row while running this job, without it committing anything ` +
      'in between, so it was set aside instead of being run again. The server log of those runs says why; ' +
      'fix the cause (or the file) and start a new job.',
  )
}
