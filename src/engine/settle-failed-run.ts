import { asAppError } from '../errors.ts'
import type { EngineContext } from './context.ts'
import { finishJob } from './finish-job.ts'
import { settleFailedImport } from './settle-import.ts'

/**
 * What a run that threw leaves behind. Another replica's job now (its lease lost): nothing, that replica settles
 * it. A store that cannot write: nothing either, and 'store-unavailable' tells the scheduler to start no more jobs
 * (memory may be ahead of disk; the job resumes from the journal at the next start). Else the job is failed, with
 * its report and undo data for an import.
 */
export async function settleFailedRun(
  ctx: EngineContext,
  id: string,
  error: unknown,
): Promise<'store-unavailable' | undefined> {
  const appError = asAppError(error)
  const holder = ctx.catalog.read().jobs.find((j) => j.id === id)?.lease?.holder
  if (appError.code === 'lease_lost' || (holder !== undefined && holder !== ctx.replica.id)) {
    // Another replica runs the job now (this run's failure may be its doing: a chunk it committed first), and
    // settles it: this one writes neither a report nor a status.
    ctx.logger.warn('another replica took this job over: this run stops', { jobId: id, code: appError.code })
    return undefined
  }
  if (appError.code === 'store_unavailable') {
    ctx.logger.error('store write failed; restart Roster to resume the job', { jobId: id, error: appError })
    return 'store-unavailable'
  }
  ctx.logger.error('job failed', { jobId: id, code: appError.code, error: appError })
  const details = appError.code === 'unexpected' ? `Internal error: ${appError.message}` : appError.message
  try {
    const job = ctx.catalog.read().jobs.find((j) => j.id === id)
    if (job?.type === 'users_import') {
      await settleFailedImport(ctx, job, details)
    } else {
      await finishJob(ctx, id, (draft) => {
        draft.status = 'failed'
        draft.statusDetails = details
      })
    }
  } catch (settleError) {
    // Writing the report or undo data failed too: the record still says failed (and why), or every start would
    // run the job again. Only a store that cannot write at all leaves it processing.
    ctx.logger.error('could not record job failure', { jobId: id, error: settleError })
    try {
      await finishJob(ctx, id, (draft) => {
        if (draft.status !== 'processing' && draft.status !== 'pending') return
        draft.status = 'failed'
        draft.statusDetails = details
      })
    } catch (finishError) {
      ctx.logger.error('could not record job failure', { jobId: id, error: finishError })
    }
  }
  return undefined
}
