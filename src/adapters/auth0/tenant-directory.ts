import type { Connection } from '../../domain/connections/connection.ts'
import { fromAuth0User } from '../../domain/users/from-auth0-user.ts'
import type {
  TenantDirectory,
  TenantJobState,
  TenantUser,
  TenantUserError,
} from '../../engine/tenant/tenant-directory.ts'
import { AppError } from '../../errors.ts'
import type { Auth0Client } from './auth0-client.ts'
import { type Auth0Connection, type Auth0Job, type Auth0User, jobStatuses } from './schemas.ts'

export interface TenantDirectoryOptions {
  /** When a connection first appears in a listing (Auth0 keeps no creation date for connections). Default: now. */
  now?: () => Date
}

/**
 * The engine's `TenantDirectory` port over Roster's Auth0 client: Auth0's wire shapes in, Roster's shapes out.
 *
 * Users name their connection by *name* (`identities[0].connection`) while Roster plans by connection *id*, so the
 * adapter keeps the last connections listing and lists again when it meets a name or id it does not know (a
 * connection made in the Dashboard since). A user of a connection that is not a database connection of the tenant
 * (a social primary account the email also matches) is left out of `usersByEmail`: imports only touch database users.
 */
export function createTenantDirectory(
  client: Auth0Client,
  { now = () => new Date() }: TenantDirectoryOptions = {},
): TenantDirectory {
  let known: Auth0Connection[] | undefined
  /** First-seen times, so a connection's `created_at` does not change at every listing. */
  const firstSeen = new Map<string, string>()

  async function listing(): Promise<Auth0Connection[]> {
    known = await client.listDatabaseConnections()
    return known
  }

  /** The cached listing, refreshed once when `wanted` finds nothing in it. */
  async function lookup(wanted: (c: Auth0Connection) => boolean): Promise<Auth0Connection | undefined> {
    const found = known?.find(wanted)
    return found ?? (await listing()).find(wanted)
  }

  async function toUsers(answers: readonly Auth0User[]): Promise<TenantUser[]> {
    const names = answers.map((user) => primaryConnection(user)).filter((name) => name !== undefined)
    if (known === undefined || names.some((name) => !known?.some((c) => c.name === name))) await listing()
    const byName = new Map((known ?? []).map((c) => [c.name, c.id]))
    const users: TenantUser[] = []
    for (const answer of answers) {
      const outcome = fromAuth0User(answer, { connectionIdOf: (name) => byName.get(name) })
      if (outcome.ok) users.push(outcome.user)
    }
    return users
  }

  return {
    domain: client.settings.domain,

    async verify() {
      const outcome = await client.verify()
      if (!outcome.ok) throw outcome.problem
    },

    async listConnections() {
      const at = now().toISOString()
      return (await listing()).map((connection) => {
        const createdAt = firstSeen.get(connection.id) ?? at
        firstSeen.set(connection.id, createdAt)
        return toRosterConnection(connection, createdAt)
      })
    },

    async usersByEmail(connectionId, emails) {
      const connection = await lookup((c) => c.id === connectionId)
      if (!connection) {
        throw new AppError(
          'connection_not_found',
          `The Auth0 tenant ${client.settings.domain} has no database connection ${connectionId}.`,
        )
      }
      const found = await client.usersByEmail(emails)
      const users = await toUsers([...found.values()].flat())
      return users.filter((user) => user.connection_id === connectionId)
    },

    async usersByUsername(connectionId, usernames) {
      if (usernames.length === 0) return []
      const users = await toUsers(await client.usersByUsername(usernames))
      return users.filter((user) => user.connection_id === connectionId)
    },

    async getUser(userId) {
      const answer = await client.getUser(userId)
      if (answer === null) return undefined
      return (await toUsers([answer]))[0]
    },

    deleteUser: (userId) => client.deleteUser(userId),

    async submitImport(part) {
      const job = await client.createImportJob({
        connectionId: part.connectionId,
        users: part.users,
        fileName: `${part.externalId.replace(/[^A-Za-z0-9_-]/g, '-')}.json`,
        upsert: part.upsert,
        sendCompletionEmail: part.sendCompletionEmail,
        externalId: part.externalId,
      })
      return job.id
    },

    async importJob(auth0JobId) {
      return toJobState(await client.getJob(auth0JobId))
    },

    async importErrors(auth0JobId) {
      const { users } = await client.getJobErrors(auth0JobId)
      return users.map(
        (entry): TenantUserError => ({
          user: isRecord(entry.user) ? entry.user : {},
          errors: entry.errors.map((error) => ({
            code: error.code,
            message: error.message,
            ...(error.path === undefined ? {} : { path: error.path }),
          })),
        }),
      )
    },

    async submitExport(request) {
      const job = await client.createExportJob({
        format: request.format,
        ...(request.fields === undefined ? {} : { fields: request.fields }),
        ...(request.limit === undefined ? {} : { limit: request.limit }),
        ...(request.connectionId === undefined ? {} : { connectionId: request.connectionId }),
      })
      return job.id
    },

    async exportJob(auth0JobId) {
      const job = await client.getJob(auth0JobId)
      return { ...toJobState(job), ...(job.location === undefined ? {} : { location: job.location }) }
    },

    downloadExport: (location) => client.downloadExport(location),
  }
}

/**
 * A tenant's database connection as a Roster `Connection`: a custom database becomes Roster's `custom-db` (the
 * strategy the import checks know), with its import mode. An answer that does not say whether any application
 * uses the connection counts as enabled: Auth0 refuses an import into a disabled one itself, with its own message.
 */
export function toRosterConnection(connection: Auth0Connection, createdAt: string): Connection {
  return {
    id: connection.id,
    name: connection.name,
    strategy: connection.customDatabase ? 'custom-db' : 'auth0',
    enabled: connection.enabled ?? true,
    ...(connection.customDatabase || connection.importMode ? { import_mode: connection.importMode } : {}),
    ...(connection.usernameLimits === undefined ? {} : { username_limits: connection.usernameLimits }),
    created_at: createdAt,
  }
}

function toJobState(job: Auth0Job): TenantJobState {
  const known = (jobStatuses as readonly string[]).includes(job.status)
  const status = known ? (job.status as TenantJobState['status']) : 'failed'
  const summary = job.summary
  return {
    status,
    ...(summary === undefined
      ? {}
      : {
          summary: {
            inserted: summary.inserted,
            updated: summary.updated,
            failed: summary.failed,
            total: summary.total,
          },
        }),
    ...(job.status_details !== undefined
      ? { details: job.status_details }
      : known
        ? {}
        : { details: `Auth0 reports the job as "${job.status}", a status Roster does not know.` }),
  }
}

function primaryConnection(user: Auth0User): string | undefined {
  const identities = (user as { identities?: unknown }).identities
  if (!Array.isArray(identities)) return undefined
  const first: unknown = identities[0]
  return isRecord(first) && typeof first.connection === 'string' ? first.connection : undefined
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
