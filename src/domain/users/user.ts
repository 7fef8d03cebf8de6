import { z } from 'zod'

/**
 * A stored user: Auth0's normalized profile fields that a bulk import writes, in Auth0's own snake_case names
 * (this record *is* the Auth0 profile, so it keeps Auth0's spelling), plus the secrets an import may carry
 * (never exported, never logged) and Roster's bookkeeping (`connection_id`, `rev`).
 */
export const identitySchema = z.object({
  connection: z.string(),
  provider: z.string(),
  user_id: z.string(),
  isSocial: z.boolean(),
})

export const storedUserSchema = z.object({
  /** With the strategy prefix, e.g. `auth0|62d1a1853bdcf11ff5dca672`. Unique in the tenant. */
  user_id: z.string(),
  connection_id: z.string(),
  /** Lower-cased, as Auth0 database connections store it. */
  email: z.string(),
  email_verified: z.boolean(),
  username: z.string().optional(),
  phone_number: z.string().optional(),
  phone_verified: z.boolean().optional(),
  given_name: z.string().optional(),
  family_name: z.string().optional(),
  name: z.string().optional(),
  nickname: z.string().optional(),
  picture: z.string().optional(),
  blocked: z.boolean().optional(),
  app_metadata: z.record(z.string(), z.unknown()).optional(),
  user_metadata: z.record(z.string(), z.unknown()).optional(),
  identities: z.array(identitySchema),
  created_at: z.string(),
  updated_at: z.string(),
  /** Secrets: stored so a later login could verify them; never exported, never logged, redacted in reports. */
  password_hash: z.string().optional(),
  custom_password_hash: z.record(z.string(), z.unknown()).optional(),
  mfa_factors: z.array(z.record(z.string(), z.unknown())).optional(),
  /** Sequence number of the store commit that last wrote this user: how undo knows a user changed since. */
  rev: z.number().int().nonnegative(),
})
export type StoredUser = z.infer<typeof storedUserSchema>

/** Fields that hold secrets. Kept out of exports, logs and error reports. */
export const secretUserFields = ['password_hash', 'custom_password_hash', 'mfa_factors'] as const

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase()
}
