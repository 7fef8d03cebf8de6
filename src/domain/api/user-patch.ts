import { z } from 'zod'
import { limitIssues, renderLimitPath } from '../import/input-limits.ts'
import { isPlainObject } from '../import/merge-patch.ts'
import { appMetadataSchema, userMetadataSchema } from '../import/metadata-rules.ts'
import type { StoredUser } from '../users/user.ts'
import { firstValidationMessage } from './validation-error.ts'

/**
 * `PATCH /api/v2/users/{id}` for what a bulk import may not change. Auth0's guide says blocking must be done user
 * by user, so `blocked` is here; metadata follows Auth0's PATCH rule, which differs from an import's: a top-level
 * merge (`{"plan": "pro"}` changes `plan` and keeps the other keys), `null` removes a key, and `{}` clears the
 * object. Every other profile field changes through an import with `upsert`.
 */
const metadataPatch = z.record(z.string(), z.unknown())

export const userPatchSchema = z
  .object({
    blocked: z.boolean().optional(),
    app_metadata: metadataPatch.optional(),
    user_metadata: metadataPatch.optional(),
  })
  .strict()
  .refine((patch) => Object.keys(patch).length > 0, {
    error: 'at least one property',
    path: [],
  })
export type UserPatch = z.infer<typeof userPatchSchema>

/** Auth0's updatable fields that Roster leaves to imports: named in the refusal, so the fix is obvious. */
const importOnlyFields = [
  'email',
  'email_verified',
  'phone_number',
  'phone_verified',
  'given_name',
  'family_name',
  'name',
  'nickname',
  'picture',
  'username',
  'password',
  'connection',
  'verify_email',
] as const

export type ParsedPatch = { ok: true; patch: UserPatch } | { ok: false; message: string }

export function parseUserPatch(body: unknown): ParsedPatch {
  if (isPlainObject(body)) {
    const importOnly = importOnlyFields.filter((field) => Object.hasOwn(body, field))
    if (importOnly.length > 0) {
      return {
        ok: false,
        message: `Roster's PATCH /users changes blocked, app_metadata and user_metadata; change ${importOnly.join(', ')} with an import (upsert: true).`,
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
  }
  const parsed = userPatchSchema.safeParse(body)
  if (!parsed.success) return { ok: false, message: firstValidationMessage('Payload', parsed.error, body) }
  const patch = parsed.data
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

/** The user after the patch (no `rev`: the store stamps it), or null when the patch changes nothing. */
export function applyUserPatch(
  user: StoredUser,
  patch: UserPatch,
  now: string,
): Omit<StoredUser, 'rev'> | null {
  const { rev: _rev, ...next } = structuredClone(user)
  let changed = false
  if (patch.blocked !== undefined && patch.blocked !== (user.blocked ?? false)) {
    next.blocked = patch.blocked
    changed = true
  }
  for (const field of ['app_metadata', 'user_metadata'] as const) {
    const change = patch[field]
    if (change === undefined) continue
    const merged = mergeTopLevel(user[field], change)
    if (JSON.stringify(merged) !== JSON.stringify(user[field] ?? {})) {
      next[field] = merged
      changed = true
    }
  }
  if (!changed) return null
  next.updated_at = now
  return next
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
