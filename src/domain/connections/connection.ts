import { z } from 'zod'
import { AppError } from '../../errors.ts'

/** Strategies whose users live in Roster's user store. Everything else (social, enterprise) cannot take imports. */
export const databaseStrategies = ['auth0', 'custom-db'] as const
export const connectionIdPattern = /^con_[A-Za-z0-9]{16}$/

export const connectionSchema = z.object({
  id: z.string().regex(connectionIdPattern),
  name: z.string().min(1).max(128),
  /**
   * `auth0` (database), `custom-db`, or a non-database strategy such as `google-oauth2`. The API shows `custom-db` as
   * Auth0 does, `auth0` with `options.enabledDatabaseCustomization` (see `toAuth0Connection`); stores keep this.
   */
  strategy: z.string().min(1),
  /** Auth0 requires at least one enabled application; Roster models that as a flag. */
  enabled: z.boolean(),
  /** Only meaningful for `custom-db`: Auth0 accepts imports into a custom database only in import mode. */
  import_mode: z.boolean().optional(),
  /** Per-connection username length rule, as Auth0's `options.validation.username`. Defaults to 1–15. */
  username_limits: z.object({ min: z.number().int().min(1), max: z.number().int().max(128) }).optional(),
  created_at: z.string(),
})
export type Connection = z.infer<typeof connectionSchema>

export const defaultUsernameLimits = { min: 1, max: 15 } as const

export function isDatabaseConnection(connection: Connection): boolean {
  return (databaseStrategies as readonly string[]).includes(connection.strategy)
}

/** Identity provider name written into `identities[0].provider` and the user_id prefix. */
export function providerOf(connection: Connection): string {
  return connection.strategy === 'custom-db' ? 'auth0' : connection.strategy
}

/** Whether a connection accepts bulk imports, with Auth0's exact refusal messages (Management API 400s). */
export function checkImportTarget(connection: Connection | undefined): AppError | null {
  if (!connection) return new AppError('connection_not_found', 'The connection does not exist.')
  if (!isDatabaseConnection(connection)) {
    return new AppError('operation_not_supported', 'Connection must be a database connection.')
  }
  if (connection.strategy === 'custom-db' && !connection.import_mode) {
    return new AppError(
      'operation_not_supported',
      'Custom Database Connections without import mode are not allowed.',
    )
  }
  if (!connection.enabled) return new AppError('connection_is_disabled', 'Connection must be enabled.')
  return null
}

/** Finds a connection by id or by name, the two ways people name one. */
export function findConnection(connections: readonly Connection[], idOrName: string): Connection | undefined {
  return connections.find((c) => c.id === idOrName) ?? connections.find((c) => c.name === idOrName)
}
