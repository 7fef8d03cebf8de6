import { type Connection, providerOf } from '../../domain/connections/connection.ts'
import type { PlannedRow } from '../../domain/import/plan-chunk.ts'
import { MapLookup } from '../../domain/import/prefetched-lookup.ts'
import type { TenantDirectory, TenantUser } from './tenant-directory.ts'

/** Single-user reads in flight at once (the adapter bounds its own lookups by email the same way). */
const readsInFlight = 8

/**
 * Every tenant user a chunk's rows can meet in the planner, fetched before planning: the users of the connection
 * with the rows' emails, and — for rows that give a user_id no such user has — the user with that id, so a row
 * whose id belongs to someone else is a conflict in the dry run too, as in embedded mode. (Usernames are not looked
 * up: the tenant has no lookup by username; such a clash is refused by Auth0 and reported with the row's index.)
 */
export async function prefetchTenantUsers(
  tenant: TenantDirectory,
  connection: Connection,
  rows: readonly PlannedRow[],
): Promise<MapLookup> {
  const byEmail = await tenant.usersByEmail(
    connection.id,
    rows.map((planned) => planned.row.email.toLowerCase()),
  )
  const lookup = new MapLookup(byEmail.map((user) => ({ ...user, connection_id: connection.id, rev: 0 })))
  const provider = providerOf(connection)
  const ids = [
    ...new Set(
      rows
        .map((planned) => planned.row.user_id)
        .filter((id) => id !== undefined)
        .map((id) => `${provider}|${id}`)
        .filter((id) => lookup.getById(id) === undefined),
    ),
  ]
  for (const user of await readAll(ids, (id) => tenant.getUser(id))) {
    if (user) lookup.add({ ...user, rev: 0 })
  }
  return lookup
}

async function readAll(
  ids: readonly string[],
  read: (id: string) => Promise<TenantUser | undefined>,
): Promise<(TenantUser | undefined)[]> {
  const results: (TenantUser | undefined)[] = new Array(ids.length)
  let next = 0
  const worker = async () => {
    while (next < ids.length) {
      const at = next++
      results[at] = await read(ids[at] as string)
    }
  }
  await Promise.all(Array.from({ length: Math.min(readsInFlight, ids.length) }, worker))
  return results
}
