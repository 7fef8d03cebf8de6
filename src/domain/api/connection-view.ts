import type { Connection } from '../connections/connection.ts'

/**
 * A connection as Auth0's `GET /api/v2/connections` shows it, for the fields Roster has: import mode and the
 * username length rule live in `options` where Auth0 keeps them; `enabled` is Roster's stand-in for Auth0's
 * `enabled_clients` (Auth0 refuses imports into a connection no application uses), riding along as an extra.
 */
export function toAuth0Connection(connection: Connection): Record<string, unknown> {
  const options: Record<string, unknown> = {}
  if (connection.import_mode !== undefined) options.import_mode = connection.import_mode
  if (connection.username_limits) options.validation = { username: connection.username_limits }
  return {
    id: connection.id,
    name: connection.name,
    strategy: connection.strategy,
    options,
    realms: [connection.name],
    is_domain_connection: false,
    enabled: connection.enabled,
  }
}
