import type { Connection } from '../../domain/connections/connection.ts'
import { fullProfileFields } from '../../domain/export/export-fields.ts'
import { MapLookup } from '../../domain/import/prefetched-lookup.ts'
import { exportedUsers } from '../../domain/tenant/export-lines.ts'
import { AppError } from '../../errors.ts'
import type { EngineContext } from '../context.ts'
import type { TenantDirectory } from './tenant-directory.ts'
import { pollTenantJob } from './tenant-slots.ts'

/**
 * From how many rows on an import (or dry run) into a tenant reads the connection with ONE export job instead of
 * one users-by-email call per row (issue 13 §2). Why 1,000: lookups cost one request each against the Management
 * API's Read Users bucket — 2/s on a Free tenant (a 1,000-row file is 500 s of lookups), 500/min on Essentials
 * (2 minutes) — and share it with every other client of the tenant; an export job costs a request to start it, a
 * few polls (backoff to 5 s) and one download, whatever the file's size. Below ~1,000 rows the lookups finish in
 * seconds on paid plans, while an export's cost grows with the connection (a large tenant's export takes minutes),
 * so small files stay on lookups. 1,000 is also where Auth0 itself says to stop searching and export instead
 * (user search reaches at most 1,000 users). `EngineLimits.tenantSnapshotRows` overrides it (tests lower it).
 */
export const defaultSnapshotRows = 1000

/** Fields the snapshot asks for: Roster's whole profile (as an export that re-imports) and the identities. */
const snapshotFields = [...fullProfileFields.map(({ name }) => ({ name })), { name: 'identities' }]

/**
 * Every user of the connection as of now, indexed by id, email and username, from one Auth0 export job.
 *
 * Planning against a snapshot is safe although the tenant keeps changing while the job runs: the plan only decides
 * what to send and what the dry run shows. Auth0's import job checks every row again against the tenant as it is
 * then — a user created since by someone else comes back as DUPLICATED_USER (or a CONFLICT on the username), which
 * the part's error mapping puts into the report at the row's index, as for the per-email path (whose own read is
 * also older than the import by the time the part runs). What this job itself wrote is answered by the run's own
 * planned layer, never by the snapshot. A resumed run (after a restart) takes a new snapshot; nothing is cached
 * across runs.
 *
 * Resolves undefined when the run is stopping before the export is done.
 */
export async function connectionSnapshot(
  ctx: EngineContext,
  tenant: TenantDirectory,
  connection: Connection,
  stopped: () => boolean,
): Promise<MapLookup | undefined> {
  const id = await tenant.submitExport({
    connectionId: connection.id,
    format: 'json',
    fields: snapshotFields,
  })
  const state = await pollTenantJob(ctx, () => tenant.exportJob(id), stopped)
  if (state === undefined) return undefined
  if (state.status !== 'completed') {
    throw new AppError(
      'auth0_rejected',
      `Auth0's export of connection ${connection.name} (job ${id}), which the import reads the tenant's users from, ended ${state.status}${state.details ? `: ${state.details}` : ''}.`,
    )
  }
  const bytes = await download(tenant, id, state.location)
  const lookup = new MapLookup()
  // Parsed as the tenant export parses Auth0's NDJSON (nulls dropped, a line that is not JSON named).
  const connectionIdOf = (name: string) => (name === connection.name ? connection.id : undefined)
  for (const user of exportedUsers(bytes.toString('utf8'), connectionIdOf, connection)) {
    // A user of no database connection of this tenant cannot be met by the plan; the import re-checks anyway.
    if (user.connection_id === connection.id) lookup.add({ ...user, rev: 0 })
  }
  return lookup
}

/** The location lives 60 s; if it expired before the download, a new read of the job mints another. */
async function download(tenant: TenantDirectory, id: string, location: string | undefined): Promise<Buffer> {
  if (location !== undefined) {
    try {
      return await tenant.downloadExport(location)
    } catch {
      // Read the job again below for a fresh link.
    }
  }
  const fresh = (await tenant.exportJob(id)).location
  if (fresh === undefined) {
    throw new AppError('auth0_rejected', `Auth0's export job ${id} completed without a file location.`)
  }
  return tenant.downloadExport(fresh)
}
