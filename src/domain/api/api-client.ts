import { z } from 'zod'
import { apiScopes } from './api-token.ts'

/**
 * API clients: Auth0's machine-to-machine applications. A script (or the official SDK, or another Roster) trades
 * the client's id and secret for an access token at `POST /oauth/token` (the client-credentials grant) and calls
 * `/api/v2` with it. As with API tokens, the store keeps SHA-256 hashes only — of the client secret and of every
 * access token issued — so a copy of the store hands out no access.
 */

/** Auth0's default Management API token lifetime (24 h); its maximum is 30 days. */
export const defaultTokenLifetimeSeconds = 86_400
export const maxTokenLifetimeSeconds = 2_592_000

/**
 * Issued tokens kept per client: enough for every process of a fleet to hold its own, small enough that a script
 * calling `/oauth/token` in a loop cannot grow the catalog without bound (the oldest is dropped first).
 */
export const maxLiveTokensPerClient = 50

/**
 * An expired token's record is kept this long after it expires, so a caller still presenting it is told "Expired
 * token" (and renews) rather than "Invalid token"; then it is pruned.
 */
export const expiredTokenGraceMs = 24 * 3600 * 1000

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/)

export const apiClientSchema = z.object({
  /** 32 letters and digits, as Auth0's client ids: public, shown by `clients list`. */
  clientId: z.string().regex(/^[A-Za-z0-9]{32}$/),
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/),
  /** The client grant: every scope a token of this client carries (unless the request asks for fewer). */
  scopes: z.array(z.enum(apiScopes)).min(1),
  /** Hex SHA-256 of the client secret. */
  secretSha256: sha256Hex,
  tokenLifetimeSeconds: z.number().int().min(1).max(maxTokenLifetimeSeconds),
  createdAt: z.string(),
  revokedAt: z.string().optional(),
})
export type ApiClient = z.infer<typeof apiClientSchema>

/** An access token issued at `/oauth/token`: opaque to the caller, checked here by hash and `expiresAt`. */
export const accessTokenSchema = z.object({
  sha256: sha256Hex,
  clientId: z.string(),
  scopes: z.array(z.enum(apiScopes)).min(1),
  issuedAt: z.string(),
  expiresAt: z.string(),
})
export type AccessToken = z.infer<typeof accessTokenSchema>

/** Prefixes that make a leaked secret recognizable (secret scanners, log greps), like API tokens' `rst_`. */
export const clientSecretPrefix = 'rst_cs_'
export const accessTokenPrefix = 'rst_at_'

/** What `clients list` shows: everything but the hash. */
export function describeClient(client: ApiClient): Record<string, unknown> {
  return {
    client_id: client.clientId,
    name: client.name,
    scopes: client.scopes,
    token_lifetime_seconds: client.tokenLifetimeSeconds,
    created_at: client.createdAt,
    ...(client.revokedAt === undefined ? {} : { revoked_at: client.revokedAt }),
  }
}

/**
 * The tokens to keep once `issued` is added: expired ones past their grace go, and a client keeps its newest
 * `maxLiveTokensPerClient`. Order is issue order (oldest first).
 */
export function pruneAccessTokens(tokens: readonly AccessToken[], nowMs: number): AccessToken[] {
  const kept = tokens.filter((t) => Date.parse(t.expiresAt) + expiredTokenGraceMs > nowMs)
  const perClient = new Map<string, number>()
  for (const token of kept) perClient.set(token.clientId, (perClient.get(token.clientId) ?? 0) + 1)
  return kept.filter((token) => {
    const count = perClient.get(token.clientId) ?? 0
    if (count <= maxLiveTokensPerClient) return true
    perClient.set(token.clientId, count - 1)
    return false
  })
}
