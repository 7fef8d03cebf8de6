import { canMove, type Job } from '../domain/jobs/job.ts'
import { AppError } from '../errors.ts'
import type { EngineContext } from './context.ts'

/**
 * Settles a job in the catalog (the change sets its final status and summary) and announces it. The status
 * move is checked against the transition table, so a job can never complete twice or come back from expired.
 */
export async function finishJob(
  ctx: EngineContext,
  jobId: string,
  change: (draft: Job) => void,
): Promise<Job> {
  const finishedAt = ctx.clock.now().toISOString()
  const job = await ctx.catalog.update((draft) => {
    const found = draft.jobs.find((j) => j.id === jobId)
    if (!found) throw new AppError('not_found', `Job ${jobId} is not in the store.`)
    const from = found.status
    change(found)
    if (from !== found.status && !canMove(from, found.status)) {
      throw new AppError('invalid_transition', `Job ${jobId} cannot move from ${from} to ${found.status}.`)
    }
    found.finishedAt = finishedAt
    return structuredClone(found)
  })
  const outcome = job.type === 'users_export' ? job.result : job.summary
  ctx.logger.info('job finished', { jobId, type: job.type, status: job.status, outcome })
  ctx.events.emit({ type: 'job:finished', job })
  return job
}
