import { z } from 'zod'

/**
 * API tokens: what a script presents as `Authorization: Bearer …` to `/api/v2`. The secret is shown once, when the
 * token is created; the store keeps only its SHA-256, so a copy of the store does not hand out API access.
 */

/** Auth0's Management API scopes, those Roster's endpoints check. */
export const apiScopes = [
  'create:users',
  'read:users',
  'update:users',
  'delete:users',
  'read:connections',
] as const
export type ApiScope = (typeof apiScopes)[number]

/**
 * Who calls `/api/v2`: an API token, or an API client through a token from `POST /oauth/token`. `id` keys rate
 * limits (`tok_…`, or the client id); `name` is what the audit log records.
 */
export interface ApiCaller {
  id: string
  name: string
  scopes: readonly ApiScope[]
}

export const apiTokenSchema = z.object({
  /** `tok_` + 16 characters: how `tokens list` and `tokens revoke` name a token without showing it. */
  id: z.string().regex(/^tok_[A-Za-z0-9]{16}$/),
  /** Who uses it (`ci`, `migration-script`): the audit log records this name, never the secret. */
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/),
  scopes: z.array(z.enum(apiScopes)).min(1),
  /** Hex SHA-256 of the secret. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: z.string(),
  revokedAt: z.string().optional(),
})
export type ApiToken = z.infer<typeof apiTokenSchema>

/** Secrets start with this, so a leaked one is recognizable (secret scanners, log greps). */
export const tokenSecretPrefix = 'rst_'

/** `create:users,read:users` → the scopes, or the first word that is not one. */
export function parseScopes(text: string): { ok: true; scopes: ApiScope[] } | { ok: false; unknown: string } {
  const words = text
    .split(/[\s,]+/)
    .map((word) => word.trim())
    .filter(Boolean)
  const scopes: ApiScope[] = []
  for (const word of words) {
    const scope = apiScopes.find((known) => known === word)
    if (!scope) return { ok: false, unknown: word }
    if (!scopes.includes(scope)) scopes.push(scope)
  }
  return { ok: true, scopes }
}

export function hasAnyScope(granted: readonly ApiScope[], wanted: readonly ApiScope[]): boolean {
  return wanted.some((scope) => granted.includes(scope))
}

/** What `tokens list` shows: everything but the hash. */
export function describeToken(token: ApiToken): Record<string, unknown> {
  return {
    id: token.id,
    name: token.name,
    scopes: token.scopes,
    created_at: token.createdAt,
    ...(token.revokedAt === undefined ? {} : { revoked_at: token.revokedAt }),
  }
}
