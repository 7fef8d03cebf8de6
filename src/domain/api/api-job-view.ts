import { type JobProgress, toAuth0Job } from '../jobs/auth0-view.ts'
import type { Job } from '../jobs/job.ts'
import { apiExportFormat } from './export-format.ts'

/**
 * A job as `/api/v2` shows it: `toAuth0Job`, with an export's format in the API's words (`json` for NDJSON) and its
 * compression the way Auth0 leaves it unsaid (always gzip; `gzip: false` only when Roster was asked not to), and
 * the download `location` when there is one.
 */
export function apiJobView(job: Job, progress?: JobProgress, location?: string): Record<string, unknown> {
  const view = toAuth0Job(job, progress)
  if (job.type === 'users_export') {
    view.format = apiExportFormat(job.format)
    delete view.gzip
    if (!job.gzip) view.gzip = false
    if (location !== undefined) view.location = location
  }
  return view
}
