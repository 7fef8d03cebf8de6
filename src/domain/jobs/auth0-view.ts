import type { Job } from './job.ts'

/** Live progress of a processing job, known only to the engine that runs it. */
export interface JobProgress {
  processed: number
  total: number
  startedAtMs: number
  nowMs: number
}

/**
 * The job as Auth0's Management API shows it (`GET /jobs/{id}`): snake_case, `summary` and `percentage_done`
 * in Auth0's places, Roster's extras (`dry_run`, `merge`, `undo_of`, `undone_by`) riding along — Auth0's job
 * schema allows additional properties, so Auth0 clients ignore them.
 */
export function toAuth0Job(job: Job, progress?: JobProgress): Record<string, unknown> {
  const view: Record<string, unknown> = { type: job.type, status: job.status }
  if (job.connectionId !== undefined) view.connection_id = job.connectionId
  if (job.type === 'users_export') {
    view.format = job.format
    if (job.limit !== undefined) view.limit = job.limit
    view.fields = job.fields
  }
  if (job.connectionName !== undefined) view.connection = job.connectionName
  view.created_at = job.createdAt
  view.id = job.id
  if (job.type === 'users_import') {
    if (job.options.externalId !== undefined) view.external_id = job.options.externalId
    view.upsert = job.options.upsert
    view.send_completion_email = job.options.sendCompletionEmail
    if (job.options.merge) view.merge = true
    if (job.options.dryRun) view.dry_run = true
    if (job.undoneBy) view.undone_by = job.undoneBy
  } else if (job.type === 'users_undo') {
    view.undo_of = job.undoOf
  } else if (job.gzip) {
    view.gzip = true
  }
  if (job.status === 'processing' && progress) Object.assign(view, progressFields(progress))
  if (job.status === 'processing' && !progress)
    Object.assign(view, { percentage_done: 0, time_left_seconds: 0 })
  if (job.type !== 'users_export' && job.summary && (job.status === 'completed' || job.status === 'failed')) {
    view.summary = job.summary
  }
  if (job.statusDetails) view.status_details = job.statusDetails
  return view
}

function progressFields(progress: JobProgress): { percentage_done: number; time_left_seconds: number } {
  const fraction = progress.total === 0 ? 0 : progress.processed / progress.total
  const elapsedS = Math.max(0, progress.nowMs - progress.startedAtMs) / 1000
  const left = fraction === 0 ? 0 : (elapsedS / fraction) * (1 - fraction)
  return { percentage_done: Math.floor(fraction * 100), time_left_seconds: Math.ceil(left) }
}
