import type { Connection } from '../connections/connection.ts'

/**
 * A connection as Auth0's `GET /api/v2/connections` shows it, for the fields Roster has. Roster keeps a custom
 * database as its own strategy `custom-db` (the store and the CLI say so; old stores hold it), while Auth0 shows
 * one as a database connection, `strategy: "auth0"`, marked in `options` by `enabledDatabaseCustomization` and
 * `import_mode` (reference: management API §7). Mapping here, at the API's edge, leaves every store as it is;
 * `strategy=auth0` then finds custom databases too, which is how auth0-cli and the Import/Export extension list
 * import targets. `enabled` is Roster's stand-in for Auth0's `enabled_clients`, riding along as an extra.
 */
export function toAuth0Connection(connection: Connection): Record<string, unknown> {
  const options: Record<string, unknown> = {}
  if (connection.strategy === 'custom-db') {
    options.enabledDatabaseCustomization = true
    options.import_mode = connection.import_mode ?? false
  } else if (connection.strategy === 'auth0') {
    options.enabledDatabaseCustomization = false
    if (connection.import_mode !== undefined) options.import_mode = connection.import_mode
  }
  if (connection.username_limits) options.validation = { username: connection.username_limits }
  return {
    id: connection.id,
    name: connection.name,
    strategy: auth0Strategy(connection),
    options,
    realms: [connection.name],
    is_domain_connection: false,
    enabled: connection.enabled,
  }
}

/** The strategy Auth0 would report: a custom database is an `auth0` (database) connection. */
export function auth0Strategy(connection: Connection): string {
  return connection.strategy === 'custom-db' ? 'auth0' : connection.strategy
}
