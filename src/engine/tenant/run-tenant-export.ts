import { fullProfileFields, resolveColumns } from '../../domain/export/export-fields.ts'
import type { ExportJob } from '../../domain/jobs/job.ts'
import { countExportLines, exportedUsers } from '../../domain/tenant/export-lines.ts'
import { AppError } from '../../errors.ts'
import type { EngineContext } from '../context.ts'
import { userPieces, writeExportFile } from '../export.ts'
import type { RunControl } from '../run-control.ts'
import type { TenantDirectory } from './tenant-directory.ts'
import { pollTenantJob } from './tenant-slots.ts'

/**
 * What Roster asks Auth0 to export: the whole profile Roster holds of a user (`fromAuth0User` reads these), each by
 * its root name — in Auth0's `json` format a root brings the whole object (`user_metadata`, `identities`) — so the
 * job's own columns, labels and format are applied by Roster's writers, exactly as in embedded mode. Auth0's CSV
 * would differ (no whole metadata objects, its own headers), so Roster never asks for it. Login statistics
 * (`last_login`, `logins_count`, `last_ip`) are not Roster's profile: their columns stay empty, as in embedded mode.
 */
const tenantExportFields = [...fullProfileFields.map(({ name }) => ({ name })), { name: 'identities' }]

/**
 * Runs an export job against the Auth0 tenant (issue 13, decision 5): an Auth0 export job of the connection (or of
 * every connection), polled with backoff, its NDJSON file downloaded from the pre-signed `location` and turned
 * into Roster's file — JSON array that re-imports, NDJSON or CSV, same labels, gzip as asked — by the same writers
 * as embedded exports. A restart (the engine stopping mid-poll, or a crash) runs it again from a new Auth0 export:
 * an export writes no users, so nothing is lost but the tenant's time.
 */
export async function runTenantExport(
  ctx: EngineContext,
  tenant: TenantDirectory,
  job: ExportJob,
  control: RunControl,
): Promise<void> {
  const columns = resolveColumns(job.fields)
  control.progress(0, 0)
  const auth0JobId = await tenant.submitExport({
    format: 'json',
    fields: tenantExportFields,
    ...(job.connectionId === undefined ? {} : { connectionId: job.connectionId }),
    ...(job.limit === undefined ? {} : { limit: job.limit }),
  })
  ctx.logger.info('tenant export job submitted', { jobId: job.id, auth0JobId, domain: tenant.domain })
  const settled = await pollTenantJob(ctx, () => tenant.exportJob(auth0JobId), control.stopping)
  if (!settled) return
  if (settled.status !== 'completed' || settled.location === undefined) {
    const why = settled.details
      ? `: ${settled.details}`
      : settled.status === 'completed'
        ? ' without a file'
        : ''
    throw new AppError(
      'auth0_rejected',
      `The export job ${auth0JobId} of the tenant ${tenant.domain} ended ${settled.status}${why}.`,
    )
  }
  const text = (await download(tenant, auth0JobId, settled.location)).toString('utf8')
  const byName = new Map(ctx.catalog.read().connections.map((c) => [c.name, c.id]))
  const own =
    job.connectionId === undefined || job.connectionName === undefined
      ? undefined
      : { id: job.connectionId, name: job.connectionName }
  const connectionIdOf = (name: string) => byName.get(name)
  // Auth0 honours the limit; counting again keeps a tenant that did not from overrunning it.
  const total = Math.min(countExportLines(text), job.limit ?? Number.POSITIVE_INFINITY)
  await writeExportFile(ctx, job, control, total, (onProgress) =>
    userPieces(exportedUsers(text, connectionIdOf, own), columns, job, total, onProgress),
  )
}

/**
 * The file behind `location`. Its link lasts 60 s: one refused (the tenant answered slowly, or the download
 * waited for a rate limit) is renewed by reading the job again, which mints a fresh link, and tried once more.
 */
async function download(tenant: TenantDirectory, auth0JobId: string, location: string): Promise<Buffer> {
  try {
    return await tenant.downloadExport(location)
  } catch (error) {
    if (!(error instanceof AppError) || error.code !== 'auth0_rejected') throw error
    const fresh = await tenant.exportJob(auth0JobId)
    if (fresh.location === undefined || fresh.location === location) throw error
    return tenant.downloadExport(fresh.location)
  }
}
