import type { Connection } from '../connections/connection.ts'
import { EncodedUser, type NewUserFrame } from '../users/encoded-user.ts'
import type { ImportRow } from './import-row.ts'

/**
 * A row's new user as JSON, written in two steps: what the row alone decides (on the import worker thread, where the
 * row is), then what the planner decides (its id, connection and timestamps, on the main thread). The result is
 * byte for byte `JSON.stringify(newUser(…))` (plan-chunk.ts; property-tested against it): the same keys in the same
 * order, so the stored user is the one the planner would have made.
 */

export type { NewUserFrame }

/** What the row alone decides of its new user's JSON: two JSON objects, as JSON.stringify writes them. */
export interface NewUserJson {
  /** `{"email":…,"email_verified":…,"name":…,"nickname":…}`: the defaults newUser gives, or the row's values. */
  profile: string
  /** The row's other fields in its order, then username and password_hash: `{"key":value,…}` (maybe `{}`). */
  rest: string
}

/** Row fields newUser writes in its own place (not in the row's order): normalized, or a default the row may set. */
const ownPlace: ReadonlySet<string> = new Set([
  'user_id',
  'connection_id',
  'email',
  'email_verified',
  'name',
  'nickname',
  'identities',
  'created_at',
  'updated_at',
  'username',
  'password_hash',
])

/**
 * NewUserJson as UTF-8, both objects in one buffer (the import worker sends them so, and the store copies the bytes
 * into its journal line): the profile object at `[profileStart, restStart)`, the rest at `[restStart, restEnd)`.
 */
export interface NewUserParts {
  bytes: Uint8Array
  profileStart: number
  restStart: number
  restEnd: number
}

/** A key JavaScript would order before the others (an array index), or one that sets an object's prototype. */
const unusualKey = (key: string) => {
  const first = key.charCodeAt(0)
  // The regex only for a key that starts with a digit: it costs more than the rest of a field's work.
  return key === '__proto__' || (first >= 0x30 && first <= 0x39 && /^(0|[1-9]\d*)$/.test(key))
}

/**
 * The row's new-user JSON, or undefined for a row whose user newUser would lay out otherwise (an array-index key goes
 * first in an object; `__proto__` is not copied as a key): such a row is planned as an object (none passes the
 * schema's strict keys, so this is a guard, not a path).
 */
export function newUserJson(row: ImportRow): NewUserJson | undefined {
  const email = row.email.toLowerCase()
  const at = email.indexOf('@')
  const emailJson = JSON.stringify(email)
  const name = row.name === undefined ? emailJson : JSON.stringify(row.name)
  const nickname = JSON.stringify(row.nickname ?? (at === -1 ? email : email.slice(0, at)))
  // What JSON.stringify writes for {email, email_verified, name, nickname}, without making that object for each row.
  const profile = `{"email":${emailJson},"email_verified":${row.email_verified === true},"name":${name},"nickname":${nickname}}`
  const rest: Record<string, unknown> = {}
  const source = row as Record<string, unknown>
  for (const key of Object.keys(source)) {
    const value = source[key]
    if (value === undefined || ownPlace.has(key)) continue
    if (unusualKey(key)) return undefined
    rest[key] = value
  }
  if (row.username !== undefined) rest.username = row.username.toLowerCase()
  if (row.password_hash !== undefined) rest.password_hash = row.password_hash
  return { profile, rest: JSON.stringify(rest) }
}

/** The frame of a chunk's new users: made once per planned slice, not per user. */
export function newUserFrame(connection: Connection, provider: string, now: string): NewUserFrame {
  return {
    connectionId: connection.id,
    provider,
    connection: `,"connection_id":${JSON.stringify(connection.id)},`,
    identity: `,"identities":[{"connection":${JSON.stringify(connection.name)},"provider":${JSON.stringify(provider)},"user_id":`,
    times: `,"isSocial":false}],"created_at":${JSON.stringify(now)},"updated_at":${JSON.stringify(now)}`,
  }
}

/** The new user of a row with `parts`, given its bare id (without the provider) and its keys as stored. */
export function encodedNewUser(
  frame: NewUserFrame,
  parts: NewUserParts,
  bareId: string,
  keys: { email: string; username: string | undefined },
): EncodedUser {
  const { bytes, profileStart, restStart, restEnd } = parts
  const userId = `${frame.provider}|${bareId}`
  return new EncodedUser(
    userId,
    frame.connectionId,
    keys.email,
    keys.username,
    frame,
    bareId,
    bytes,
    profileStart,
    restStart,
    restEnd,
  )
}
