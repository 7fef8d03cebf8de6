import { type Catalog, editJob } from '../domain/catalog.ts'
import { canMove, type Job } from '../domain/jobs/job.ts'
import { AppError } from '../errors.ts'
import type { EngineContext } from './context.ts'

export interface FinishOptions {
  /**
   * Announce the job as soon as its record changes in memory, and resolve once the record is durable. Only for a
   * job whose outcome a crash cannot take back: one that recovery settles again, the same, from what is already
   * durable (an import's journal commits). Default: durable first, announced second.
   */
  early?: boolean
}

/**
 * Settles a job in the catalog (the change sets its final status and summary) and announces it. The status
 * move is checked against the transition table, so a job can never complete twice or come back from expired.
 * Only the replica holding the job's lease settles it (a run whose lease another replica took over gets
 * `lease_lost`, changing nothing); the settled job holds no lease.
 */
export async function finishJob(
  ctx: EngineContext,
  jobId: string,
  change: (draft: Job) => void,
  options: FinishOptions = {},
): Promise<Job> {
  const finishedAt = ctx.clock.now().toISOString()
  const settle = (draft: Catalog) => {
    const found = editJob(draft, jobId)
    if (!found) throw new AppError('not_found', `Job ${jobId} is not in the store.`)
    if (found.lease !== undefined && found.lease.holder !== ctx.replica.id) {
      throw new AppError(
        'lease_lost',
        `Job ${jobId} is run by replica ${found.lease.holder} now: this replica's claim lapsed, so it does not settle it.`,
      )
    }
    const from = found.status
    change(found)
    if (from !== found.status && !canMove(from, found.status)) {
      throw new AppError('invalid_transition', `Job ${jobId} cannot move from ${from} to ${found.status}.`)
    }
    found.finishedAt = finishedAt
    delete found.attempt
    delete found.lease
    return structuredClone(found)
  }
  if (!options.early) {
    const job = await ctx.catalog.update(settle)
    announce(ctx, job)
    return job
  }
  const { result: job, durable } = await ctx.catalog.updateEarly(settle)
  announce(ctx, job)
  await durable
  return job
}

function announce(ctx: EngineContext, job: Job): void {
  const outcome = job.type === 'users_export' ? job.result : job.summary
  ctx.logger.info('job finished', { jobId: job.id, type: job.type, status: job.status, outcome })
  ctx.events.emit({ type: 'job:finished', job })
}
