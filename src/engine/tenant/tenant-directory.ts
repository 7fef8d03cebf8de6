import type { Connection } from '../../domain/connections/connection.ts'
import type { StoredUser } from '../../domain/users/user.ts'

/**
 * The engine's port onto a real Auth0 tenant (issue 13): present in `EngineContext.tenant` when AUTH0_DOMAIN is set,
 * and then the tenant — not the embedded user store — is the directory. The adapter (src/adapters/auth0) implements
 * it over the official SDK; the engine never sees Auth0's wire shapes, only Roster's own (`Connection`,
 * `StoredUser` without `rev`), so planning, reports and exports run the same code in both modes.
 *
 * Every method throws AppError with a stable code (`auth0_unreachable`, `auth0_credentials_refused`,
 * `auth0_scope_missing`, `auth0_rate_limited`, `auth0_unavailable`, `auth0_rejected`, or Roster's own code where
 * Auth0's matches one). 429s are waited out inside; 5xx and timeouts are retried inside except for `submitImport`
 * (a 5xx may follow an accepted part: the engine decides, from its durable record, whether to send it again).
 */
export interface TenantDirectory {
  /** `acme.eu.auth0.com`: what /healthz, logs and messages call the directory. */
  readonly domain: string
  /** Credentials and scopes work; throws naming the setting (AUTH0_DOMAIN, AUTH0_CLIENT_SECRET…) and scope. */
  verify(): Promise<void>
  /** The tenant's database connections (auth0 and custom-db, with import mode and enabled state). */
  listConnections(): Promise<Connection[]>
  /** Users of the connection whose (lower-cased) email is one of these; bounded parallel lookups. */
  usersByEmail(connectionId: string, emails: readonly string[]): Promise<TenantUser[]>
  /**
   * Users of the connection with one of these usernames (Auth0 user search, v3), so a dry run sees a username
   * another user holds. Optional (added for issue 13 §2): a directory without it leaves such clashes to Auth0's
   * import, which refuses them row by row.
   */
  usersByUsername?(connectionId: string, usernames: readonly string[]): Promise<TenantUser[]>
  getUser(userId: string): Promise<TenantUser | undefined>
  /** Resolves whether or not the user existed (Auth0 answers 204 either way). */
  deleteUser(userId: string): Promise<void>
  /** Sends one part (a JSON array under 500 KB) as an Auth0 import job; resolves with Auth0's job id. */
  submitImport(part: TenantImportPart): Promise<string>
  importJob(auth0JobId: string): Promise<TenantJobState>
  /** The per-user errors of a finished import job, in Auth0's shape. */
  importErrors(auth0JobId: string): Promise<TenantUserError[]>
  /** Starts an export job (Auth0 writes NDJSON); resolves with its id. */
  submitExport(request: TenantExportRequest): Promise<string>
  exportJob(auth0JobId: string): Promise<TenantJobState & { location?: string }>
  /** The export file at `location` (a pre-signed URL: fetched without Authorization), gunzipped. */
  downloadExport(location: string): Promise<Buffer>
}

/** A tenant user as Roster stores one; `rev` is Roster's own bookkeeping and the tenant has none. */
export type TenantUser = Omit<StoredUser, 'rev'>

export interface TenantImportPart {
  connectionId: string
  users: Uint8Array
  upsert: boolean
  sendCompletionEmail: boolean
  /** Roster's job id and part number (`job_…:3`), so the part can be found in Auth0's logs. */
  externalId: string
}

export interface TenantJobState {
  status: 'pending' | 'processing' | 'completed' | 'failed' | 'expired'
  /** Auth0's summary of a completed import. */
  summary?: { inserted: number; updated: number; failed: number; total: number }
  /** Why a failed job failed, in Auth0's words. */
  details?: string
}

export interface TenantUserError {
  user: Record<string, unknown>
  errors: { code: string; message: string; path?: string }[]
}

export interface TenantExportRequest {
  connectionId?: string
  format: 'json' | 'csv'
  fields?: { name: string; export_as?: string }[]
  limit?: number
}
