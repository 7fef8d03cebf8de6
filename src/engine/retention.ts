import { editJob } from '../domain/catalog.ts'
import type { Job } from '../domain/jobs/job.ts'
import { planRetention } from '../domain/jobs/retention.ts'
import type { EngineContext } from './context.ts'

/**
 * Expires finished jobs past `JOB_RETENTION_HOURS`: status `expired`, upload, report and undo data purged.
 * The catalog is updated before files are removed, so a crash in between leaves only orphan files, which the
 * next sweep removes (`protectedIds` are jobs being created right now, whose record is not written yet).
 */
export async function sweepRetention(ctx: EngineContext, protectedIds: ReadonlySet<string>): Promise<number> {
  const now = ctx.clock.now()
  const plan = planRetention(ctx.catalog.read().jobs, now, ctx.limits.retentionHours)
  const expired = await ctx.catalog.update((draft) => {
    const expiredJobs = draft.jobs
      .filter((job) => plan.expire.includes(job.id))
      .map((job) => editJob(draft, job.id) as Job)
    for (const job of expiredJobs) {
      job.status = 'expired'
      job.expiredAt = now.toISOString()
    }
    draft.jobs = draft.jobs.filter((job) => !plan.drop.includes(job.id))
    return expiredJobs.map((job) => structuredClone(job))
  })
  const live = new Set(
    ctx.catalog
      .read()
      .jobs.filter((j) => j.status !== 'expired')
      .map((j) => j.id),
  )
  for (const id of await ctx.artifacts.jobIds()) {
    if (!live.has(id) && !protectedIds.has(id)) await ctx.artifacts.remove(id)
  }
  for (const job of expired) ctx.events.emit({ type: 'job:expired', job })
  if (expired.length > 0) ctx.logger.info('jobs expired', { count: expired.length })
  return expired.length
}
