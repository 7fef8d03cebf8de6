import type { StoredUser } from '../users/user.ts'
import { isPlainObject, jsonEqual } from './merge-patch.ts'
import type { ImportErrorCode, RowError } from './validate-row.ts'

/**
 * Planned users as rows of an Auth0 import file (issue 13): what Roster sends a tenant is the user its planner
 * already worked out (merge and label rules applied), so the tenant ends up exactly as the embedded store would.
 * Pure: the engine cuts, sends and maps back.
 */

/** One user of an Auth0 import file, as Roster sends it. */
export type TenantImportRow = Record<string, unknown> & { email: string; user_id: string }

/**
 * Auth0's largest import request, in bytes (413 "Payload content length greater than maximum allowed: 512000"). The
 * limit is on the multipart payload, so a part's JSON keeps a margin for the envelope (boundaries, connection id,
 * flags, external id: a few hundred bytes).
 */
export const tenantPayloadMaxBytes = 512_000
export const tenantPartMaxBytes = tenantPayloadMaxBytes - 4096

/**
 * Fields of a stored user an import file may carry. Not: `connection_id` (the job's), `identities`, `created_at`,
 * `updated_at` (Auth0 sets them; the schema refuses them), nor Roster's `rev`.
 */
const importFields = [
  'email',
  'email_verified',
  'username',
  'given_name',
  'family_name',
  'name',
  'nickname',
  'picture',
  'phone_number',
  'phone_verified',
  'blocked',
  'app_metadata',
  'user_metadata',
  'password_hash',
  'custom_password_hash',
  'mfa_factors',
] as const

/** Fields a tenant never gives back (secrets), so "identical" cannot look at them. */
const secretFields: ReadonlySet<string> = new Set(['password_hash', 'custom_password_hash', 'mfa_factors'])

/**
 * A planned user as an import row: `user_id` without its `auth0|` prefix (an insert keeps the id Roster planned, so
 * undo knows it and a part sent twice is recognised), secrets passed on.
 */
export function toTenantImportRow(user: Omit<StoredUser, 'rev'>): TenantImportRow {
  const bar = user.user_id.indexOf('|')
  const row: Record<string, unknown> = { user_id: user.user_id.slice(bar + 1), email: user.email }
  for (const field of importFields) {
    const value: unknown = user[field]
    if (value !== undefined) row[field] = value
  }
  return row as TenantImportRow
}

/** The stored-user view of a row this job sent (for planning later chunks before the tenant has it). */
export function fromTenantImportRow(
  row: TenantImportRow,
  connection: { id: string; name: string },
  provider: string,
  now: string,
): StoredUser {
  const { user_id, ...rest } = row
  return {
    ...(rest as Omit<StoredUser, 'user_id' | 'connection_id' | 'identities'>),
    email_verified: row.email_verified === true,
    user_id: `${provider}|${user_id}`,
    connection_id: connection.id,
    identities: [{ connection: connection.name, provider, user_id, isSocial: false }],
    created_at: now,
    updated_at: now,
    rev: 0,
  }
}

/** A part of an import into a tenant: which rows of the file it holds (their 0-based indexes), and what is sent. */
export interface TenantPartPlan {
  rows: number[]
  users: TenantImportRow[]
}

/**
 * Cuts rows into parts whose JSON array stays under `maxBytes` (UTF-8), in order. A row that alone exceeds the limit
 * is a part of its own (Auth0 then refuses it; Roster's row limits keep this from happening with its defaults).
 */
export function cutTenantParts(
  rows: readonly { index: number; user: TenantImportRow }[],
  maxBytes = tenantPartMaxBytes,
): TenantPartPlan[] {
  const parts: TenantPartPlan[] = []
  let current: TenantPartPlan = { rows: [], users: [] }
  let bytes = 2 // "[" and "]"
  for (const { index, user } of rows) {
    const size = Buffer.byteLength(JSON.stringify(user))
    // A comma before every row but a part's first.
    if (current.users.length > 0 && bytes + 1 + size > maxBytes) {
      parts.push(current)
      current = { rows: [], users: [] }
      bytes = 2
    }
    bytes += (current.users.length > 0 ? 1 : 0) + size
    current.rows.push(index)
    current.users.push(user)
  }
  if (current.users.length > 0) parts.push(current)
  return parts
}

/** The import file of a part: a JSON array (the bytes Auth0 receives; its size is what `cutTenantParts` counted). */
export function tenantPartFile(part: TenantPartPlan): Uint8Array {
  return Buffer.from(JSON.stringify(part.users))
}

/** A per-user error of an Auth0 import job, as the port gives it. */
export interface TenantRowFailure {
  user: Record<string, unknown>
  errors: readonly { code: string; message: string; path?: string }[]
}

/**
 * Auth0's per-user errors of a part, by the row's index in the person's file. Auth0 returns each user "as provided
 * in the import file" without its position: it is found by email (unique in a file, lower-cased by the planner),
 * else by user_id. Errors naming no user of the part are returned apart, so nothing is silently dropped.
 */
export function mapTenantErrors(
  part: TenantPartPlan,
  failures: readonly TenantRowFailure[],
): { byIndex: Map<number, RowError[]>; unplaced: TenantRowFailure[] } {
  const byEmail = new Map<string, number>()
  const byId = new Map<string, number>()
  part.users.forEach((user, i) => {
    const index = part.rows[i] as number
    byEmail.set(user.email.toLowerCase(), index)
    byId.set(user.user_id, index)
  })
  const byIndex = new Map<number, RowError[]>()
  const unplaced: TenantRowFailure[] = []
  for (const failure of failures) {
    const email = typeof failure.user.email === 'string' ? failure.user.email.toLowerCase() : undefined
    const rawId = typeof failure.user.user_id === 'string' ? failure.user.user_id : undefined
    const id = rawId?.includes('|') ? rawId.slice(rawId.indexOf('|') + 1) : rawId
    const index =
      (email !== undefined ? byEmail.get(email) : undefined) ?? (id !== undefined ? byId.get(id) : undefined)
    if (index === undefined) {
      unplaced.push(failure)
      continue
    }
    const errors = byIndex.get(index) ?? []
    for (const error of failure.errors) {
      errors.push({ code: tenantCode(error.code), message: error.message, path: error.path ?? '' })
    }
    byIndex.set(index, errors)
  }
  return { byIndex, unplaced }
}

/**
 * Auth0's code as it gave it: the report passes a tenant's codes on verbatim, even one outside Roster's vocabulary
 * (Auth0 documents some codes and raises others), rather than hiding it behind a code of Roster's.
 */
function tenantCode(code: string): ImportErrorCode {
  return code as ImportErrorCode
}

/**
 * Whether the tenant's user is the row Roster sent: same id and every non-secret field the row gives (the tenant
 * never returns secrets; timestamps and identities are Auth0's). A part sent again after a crash between Auth0
 * accepting it and Roster recording its job id meets its own users: their DUPLICATED_USER means "done".
 */
export function isSameUser(tenantUser: Omit<StoredUser, 'rev'>, row: TenantImportRow): boolean {
  const bar = tenantUser.user_id.indexOf('|')
  if (tenantUser.user_id.slice(bar + 1) !== row.user_id) return false
  const tenant = tenantUser as Record<string, unknown>
  for (const [field, value] of Object.entries(row)) {
    if (field === 'user_id' || secretFields.has(field)) continue
    if (!sameValue(tenant[field], value)) return false
  }
  return true
}

/** Equal, or a default on one side that the other leaves out (`blocked: false`, empty metadata). */
function sameValue(a: unknown, b: unknown): boolean {
  return jsonEqual(a, b) || (a === undefined && isDefault(b)) || (b === undefined && isDefault(a))
}

function isDefault(value: unknown): boolean {
  return value === false || (isPlainObject(value) && Object.keys(value).length === 0)
}
