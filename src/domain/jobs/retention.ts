import type { Job } from './job.ts'

export interface RetentionPlan {
  /** Finished jobs past retention: their files are purged and they show as `expired`, as in Auth0. */
  expire: string[]
  /** Expired jobs past a second retention period: the record itself goes, so the catalog stays small. */
  drop: string[]
}

/** Which jobs expire now. Jobs still pending or processing never expire: their data is in use. */
export function planRetention(jobs: readonly Job[], now: Date, retentionHours: number): RetentionPlan {
  const retentionMs = retentionHours * 3_600_000
  const nowMs = now.getTime()
  const plan: RetentionPlan = { expire: [], drop: [] }
  for (const job of jobs) {
    if (job.status === 'completed' || job.status === 'failed') {
      if (nowMs - Date.parse(job.createdAt) >= retentionMs) plan.expire.push(job.id)
    } else if (
      job.status === 'expired' &&
      job.expiredAt &&
      nowMs - Date.parse(job.expiredAt) >= retentionMs
    ) {
      plan.drop.push(job.id)
    }
  }
  return plan
}
