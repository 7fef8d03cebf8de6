import { z } from 'zod'
import { optionalProfileRoots } from '../export/export-fields.ts'
import type { StoredUser } from './user.ts'

/**
 * An Auth0 user as the Management API (`GET /users/{id}`, `/users-by-email`) or an export job's NDJSON shows it →
 * the record Roster plans and exports with (`StoredUser` without `rev`, which is the embedded store's bookkeeping).
 * The inverse of `toAuth0User`: Roster's profile *is* Auth0's normalized profile, so the fields keep their names;
 * what Roster adds is `connection_id`, which Auth0 only names by the identity's connection *name*.
 *
 * Pure and shared: the tenant directory adapter maps API answers with it, and the tenant export parses NDJSON with
 * it. Fields outside Roster's profile (`last_login`, `logins_count`, `multifactor`…) are dropped: Roster never
 * writes them and its export formats do not carry them.
 */

const text = z.string()
const flag = z.boolean()
const record = z.record(z.string(), z.unknown())

/** What Roster reads; everything optional, because an export names only the fields it was asked for. */
const auth0UserShape = z.looseObject({
  user_id: text.optional(),
  email: text.optional(),
  email_verified: flag.optional(),
  username: text.optional(),
  phone_number: text.optional(),
  phone_verified: flag.optional(),
  given_name: text.optional(),
  family_name: text.optional(),
  name: text.optional(),
  nickname: text.optional(),
  picture: text.optional(),
  blocked: flag.optional(),
  app_metadata: record.optional(),
  user_metadata: record.optional(),
  identities: z
    .array(
      z.looseObject({
        connection: text.optional(),
        provider: text.optional(),
        user_id: z.union([text, z.number()]).optional(),
        isSocial: flag.optional(),
      }),
    )
    .optional(),
  created_at: text.optional(),
  updated_at: text.optional(),
})

export interface Auth0UserContext {
  /** The tenant's connection id for a connection name (the identity's `connection`); undefined when unknown. */
  connectionIdOf(name: string): string | undefined
  /**
   * When the user names no connection Roster knows (an export without `identities`, or a connection listed since):
   * the connection the answer came from, if the caller knows it (an export of one connection does).
   */
  fallbackConnection?: { id: string; name: string }
}

export type FromAuth0Outcome = { ok: true; user: Omit<StoredUser, 'rev'> } | { ok: false; reason: string }

/**
 * One Auth0 user → Roster's record. `user_id` keeps (or, for an export that stripped it, gets) its provider prefix
 * `auth0|`; the email is lower-cased as Auth0 database connections store it; identities keep Auth0's four fields.
 * Not ok when the JSON is no user (no user_id) or its connection is unknown and no fallback was given.
 */
export function fromAuth0User(json: unknown, context: Auth0UserContext): FromAuth0Outcome {
  const parsed = auth0UserShape.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    return { ok: false, reason: `${issue?.path.join('.') || 'user'}: ${issue?.message}` }
  }
  const answer = parsed.data
  if (answer.user_id === undefined || answer.user_id === '')
    return { ok: false, reason: 'user_id is missing' }
  const primary = answer.identities?.[0]
  const connectionName = primary?.connection ?? context.fallbackConnection?.name
  const connectionId =
    (connectionName === undefined ? undefined : context.connectionIdOf(connectionName)) ??
    context.fallbackConnection?.id
  if (connectionId === undefined || connectionName === undefined) {
    return {
      ok: false,
      reason: `user ${answer.user_id} is in connection ${connectionName ?? '(none named)'}, which the tenant does not list as a database connection`,
    }
  }
  const userId = withPrefix(answer.user_id, primary?.provider ?? 'auth0')
  const identities = (answer.identities ?? []).map((identity, index) => ({
    connection: identity.connection ?? connectionName,
    provider: identity.provider ?? 'auth0',
    user_id:
      identity.user_id === undefined ? (index === 0 ? withoutPrefix(userId) : '') : String(identity.user_id),
    isSocial: identity.isSocial ?? false,
  }))
  if (identities.length === 0) {
    identities.push({
      connection: connectionName,
      provider: 'auth0',
      user_id: withoutPrefix(userId),
      isSocial: false,
    })
  }
  const createdAt = answer.created_at ?? answer.updated_at ?? ''
  const user: Omit<StoredUser, 'rev'> = {
    user_id: userId,
    connection_id: connectionId,
    email: (answer.email ?? '').trim().toLowerCase(),
    email_verified: answer.email_verified ?? false,
    identities,
    created_at: createdAt,
    updated_at: answer.updated_at ?? createdAt,
  }
  for (const field of optionalProfileRoots) {
    const value = answer[field]
    if (value !== undefined) Object.assign(user, { [field]: value })
  }
  return { ok: true, user }
}

/** `auth0|abc` stays; a bare `abc` (an export's `user_id` without its provider) becomes `<provider>|abc`. */
function withPrefix(userId: string, provider: string): string {
  return userId.includes('|') ? userId : `${provider}|${userId}`
}

function withoutPrefix(userId: string): string {
  const bar = userId.indexOf('|')
  return bar === -1 ? userId : userId.slice(bar + 1)
}
