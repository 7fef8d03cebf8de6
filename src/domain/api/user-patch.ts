import { z } from 'zod'
import { E164, USERNAME } from '../import/import-row.ts'
import { limitIssues, renderLimitPath } from '../import/input-limits.ts'
import { isPlainObject } from '../import/merge-patch.ts'
import { appMetadataSchema, userMetadataSchema } from '../import/metadata-rules.ts'
import type { StoredUser } from '../users/user.ts'
import { firstValidationMessage } from './validation-error.ts'

/**
 * `PATCH /api/v2/users/{id}` for a database user, with Auth0's rules (reference: management API §3.4): the root
 * attributes Auth0 lets a client change, their lengths and formats, `null` to unset a profile string, the pairs that
 * may not change together, and metadata merged one level deep (`{"plan": "pro"}` changes `plan` and keeps the other
 * keys, `null` removes a key, `{}` clears the object). `email` is the one attribute Roster keeps to imports: its
 * imports find users by it.
 */
const nullable = <T extends z.ZodType>(schema: T) => schema.nullable().optional()
const profileString = (max: number) => nullable(z.string().min(1).max(max))
const metadataPatch = z.record(z.string(), z.unknown())

export const userPatchSchema = z
  .object({
    blocked: z.boolean().optional(),
    email_verified: z.boolean().optional(),
    phone_verified: z.boolean().optional(),
    given_name: profileString(150),
    family_name: profileString(150),
    name: profileString(300),
    nickname: profileString(300),
    picture: nullable(z.url({ protocol: /^https?$/ })),
    phone_number: nullable(z.string().regex(E164)),
    username: nullable(z.string().min(1).max(128).regex(USERNAME)),
    /** In clear only on its way to the hasher: the engine stores its bcrypt hash, never this. */
    password: z.string().min(1).optional(),
    app_metadata: metadataPatch.optional(),
    user_metadata: metadataPatch.optional(),
    /** Control fields: the connection is checked against the user's; Roster sends no verification messages. */
    connection: z.string().min(1).optional(),
    client_id: z.string().optional(),
    verify_email: z.literal(false).optional(),
    verify_phone_number: z.literal(false).optional(),
  })
  .strict()
export type UserPatch = z.infer<typeof userPatchSchema>

/** Profile strings a PATCH may set or, with `null`, remove. */
const profileFields = [
  'given_name',
  'family_name',
  'name',
  'nickname',
  'picture',
  'phone_number',
  'username',
] as const
const flagFields = ['blocked', 'email_verified', 'phone_verified'] as const
const controlFields = ['connection', 'client_id', 'verify_email', 'verify_phone_number'] as const

/** Auth0's parameter descriptions, which its validation messages end with (OAS `UpdateUserRequestContent`). */
const descriptions: Record<string, string> = {
  blocked: 'Whether this user was blocked by an administrator (true) or not (false)',
  email_verified: 'Whether this email address is verified (true) or unverified (false)',
  phone_verified: 'Whether this phone number has been verified (true) or not (false)',
  given_name: 'Given name/first name/forename of this user',
  family_name: 'Family name/last name/surname of this user',
  name: 'Name of this user',
  nickname: 'Preferred nickname or alias of this user',
  picture: 'URL to picture, photo, or avatar of this user',
  phone_number: "The user's phone number (following the E.164 recommendation)",
  username: "The user's username",
  password: 'New password for this user. Only valid for database connections',
  connection: 'Name of the connection to target for this user update',
}

/** Pairs Auth0 refuses in one request: "Cannot update password and email_verified simultaneously." */
const exclusivePairs = [
  ['password', 'email_verified'],
  ['username', 'email_verified'],
  ['username', 'password'],
] as const

/** bcrypt ignores what follows: a longer password would match any password sharing its first 72 bytes. */
const bcryptMaxBytes = 72

/** Auth0's refusal of read-only or unknown root fields, hint included. */
const additionalHint =
  ' (consider storing them in app_metadata or user_metadata. See "Users Metadata" in https://auth0.com/docs/api/v2/changes for more details)'

export type ParsedPatch = { ok: true; patch: UserPatch } | { ok: false; message: string }

export function parseUserPatch(body: unknown): ParsedPatch {
  if (isPlainObject(body)) {
    if (Object.hasOwn(body, 'email')) {
      return {
        ok: false,
        message:
          "Roster's PATCH /users does not change email: Roster's imports find users by their email. Every other attribute Auth0's PATCH takes can change here.",
      }
    }
    if (Object.keys(body).length === 0) {
      return { ok: false, message: "Payload validation error: 'Too few properties defined (0), minimum 1'." }
    }
    // Before zod, which rebuilds records by assignment and would drop a `"__proto__"` key without a word: the
    // import's limits and reserved keys, with the import's message, on the body as JSON.parse made it.
    const limit = limitIssues(body, 1)[0]
    if (limit !== undefined) {
      return {
        ok: false,
        message: `Payload validation error: '${limit.message}' on property ${renderLimitPath(limit.path)}.`,
      }
    }
    for (const [a, b] of exclusivePairs) {
      if (body[a] !== undefined && body[b] !== undefined) {
        return { ok: false, message: `Cannot update ${a} and ${b} simultaneously.` }
      }
    }
  }
  const parsed = userPatchSchema.safeParse(body)
  if (!parsed.success) return { ok: false, message: patchMessage(parsed.error, body) }
  const patch = parsed.data
  const passwordBytes = patch.password === undefined ? 0 : new TextEncoder().encode(patch.password).length
  if (passwordBytes > bcryptMaxBytes) {
    return {
      ok: false,
      message: `Payload validation error: 'password is ${passwordBytes} bytes; bcrypt, which stores it, reads only the first ${bcryptMaxBytes}' on property password (${descriptions.password}).`,
    }
  }
  if (Object.keys(patch).every((key) => (controlFields as readonly string[]).includes(key))) {
    return { ok: false, message: "Payload validation error: 'Too few properties defined (0), minimum 1'." }
  }
  for (const [field, schema] of [
    ['app_metadata', appMetadataSchema],
    ['user_metadata', userMetadataSchema],
  ] as const) {
    const value = patch[field]
    if (value === undefined) continue
    const checked = schema.safeParse(value)
    const issue = checked.success ? undefined : checked.error.issues[0]
    if (issue) {
      const path = [field, ...issue.path.map(String)].join('.')
      return { ok: false, message: `Payload validation error: '${issue.message}' on property ${path}.` }
    }
  }
  return { ok: true, patch }
}

/** The first problem in Auth0's words: the validator's message, the property and Auth0's description of it. */
function patchMessage(error: z.ZodError, body: unknown): string {
  const issue = error.issues[0]
  if (issue?.code === 'unrecognized_keys') {
    return `Payload validation error: 'Additional properties not allowed: ${issue.keys.join(',')}${additionalHint}'.`
  }
  if (
    issue?.code === 'invalid_value' &&
    issue.path.length === 1 &&
    String(issue.path[0]).startsWith('verify_')
  ) {
    return `Roster sends no verification messages: leave ${String(issue.path[0])} out, or set it to false.`
  }
  // Auth0's schema names the picture's format `strict-uri`.
  const message = firstValidationMessage('Payload', error, body).replace(
    'for format url:',
    'for format strict-uri:',
  )
  const field = issue?.path.length === 1 ? String(issue.path[0]) : undefined
  const description = field === undefined ? undefined : descriptions[field]
  return description === undefined ? message : `${message.slice(0, -1)} (${description}).`
}

/**
 * What a patch changes once the engine has hashed its password: the password's bcrypt hash instead of the password.
 */
export type ResolvedPatch = Omit<UserPatch, 'password'> & { password_hash?: string }

/** The user after the patch (no `rev`: the store stamps it), or null when the patch changes nothing. */
export function applyUserPatch(
  user: StoredUser,
  patch: ResolvedPatch,
  now: string,
): Omit<StoredUser, 'rev'> | null {
  const { rev: _rev, ...next } = structuredClone(user)
  for (const field of flagFields) {
    const value = patch[field]
    if (value !== undefined) next[field] = value
  }
  if (patch.blocked === false && user.blocked === undefined) delete next.blocked
  for (const field of profileFields) {
    const value = patch[field]
    if (value === null) delete next[field]
    // Auth0 keeps database usernames in lower case; imports store them so, and find users by them so.
    else if (value !== undefined) next[field] = field === 'username' ? value.toLowerCase() : value
  }
  if (patch.password_hash !== undefined) {
    // The new password replaces whatever the user logged in with, an imported custom hash included.
    next.password_hash = patch.password_hash
    delete next.custom_password_hash
  }
  for (const field of ['app_metadata', 'user_metadata'] as const) {
    const change = patch[field]
    if (change === undefined) continue
    next[field] = mergeTopLevel(user[field], change)
    if (Object.keys(next[field] ?? {}).length === 0 && user[field] === undefined) delete next[field]
  }
  const { updated_at: _before, ...was } = user
  const { updated_at: _after, ...is } = { ...next, rev: user.rev }
  if (JSON.stringify(sortKeys(was)) === JSON.stringify(sortKeys(is))) return null
  next.updated_at = now
  return next
}

function sortKeys(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

function mergeTopLevel(current: Record<string, unknown> | undefined, change: Record<string, unknown>) {
  if (Object.keys(change).length === 0) return {}
  const merged: Record<string, unknown> = { ...current }
  for (const [key, value] of Object.entries(change)) {
    if (value === null) delete merged[key]
    else merged[key] = value
  }
  return merged
}
