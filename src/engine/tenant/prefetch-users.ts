import { type Connection, providerOf } from '../../domain/connections/connection.ts'
import type { PlannedRow } from '../../domain/import/plan-chunk.ts'
import { MapLookup } from '../../domain/import/prefetched-lookup.ts'
import type { TenantDirectory, TenantUser } from './tenant-directory.ts'

/** Single-user reads in flight at once (the adapter bounds its own lookups by email the same way). */
const readsInFlight = 8

/**
 * Every tenant user a chunk's rows can meet in the planner, fetched before planning: the users of the connection
 * with the rows' emails, and — for rows that give a user_id no such user has — the user with that id, so a row
 * whose id belongs to someone else is a conflict in the dry run too, as in embedded mode; and the users holding the
 * rows' usernames (user search, a few requests per chunk), so a username clash shows in the dry run too. A directory
 * without a username search leaves that clash to Auth0's import, which reports it with the row's index.
 */
export async function prefetchTenantUsers(
  tenant: TenantDirectory,
  connection: Connection,
  rows: readonly PlannedRow[],
): Promise<MapLookup> {
  const byEmail = await tenant.usersByEmail(
    connection.id,
    rows.map((planned) => (planned.keys ?? planned.row).email.toLowerCase()),
  )
  const lookup = new MapLookup(byEmail.map((user) => ({ ...user, connection_id: connection.id, rev: 0 })))
  const provider = providerOf(connection)
  const ids = [
    ...new Set(
      rows
        .map((planned) => (planned.keys ?? planned.row).user_id)
        .filter((id) => id !== undefined)
        .map((id) => `${provider}|${id}`)
        .filter((id) => lookup.getById(id) === undefined),
    ),
  ]
  for (const user of await readAll(ids, (id) => tenant.getUser(id))) {
    if (user) lookup.add({ ...user, rev: 0 })
  }
  const usernames = [
    ...new Set(
      rows
        .map((planned) => (planned.keys ?? planned.row).username)
        .filter((name) => name !== undefined && lookup.findByUsername(connection.id, name) === undefined)
        // Auth0 saves usernames lower-cased and its search on username is case-sensitive.
        .map((name) => (name as string).toLowerCase()),
    ),
  ]
  if (usernames.length > 0 && tenant.usersByUsername) {
    for (const user of await tenant.usersByUsername(connection.id, usernames)) {
      // Known already (by email or id): the copy in hand is as fresh.
      if (lookup.getById(user.user_id) === undefined) lookup.add({ ...user, rev: 0 })
    }
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
