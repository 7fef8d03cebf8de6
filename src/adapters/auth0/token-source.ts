/**
 * Bearer tokens for the Management API: a static AUTH0_TOKEN, or client-credentials tokens fetched, cached and
 * renewed before they expire.
 *
 * Why not the SDK's own cache: `ManagementClient({clientId, clientSecret})` keeps its tokens in a `TokenProvider`
 * (one token per client, reused until 10 s before `expires_in` runs out, concurrent callers sharing one pending
 * request, a failed request not cached — node-auth0 v5 `management/wrapper/token-provider.ts`). That class is not
 * exported (the package's `exports` map hides it), it is only built by the wrapper that forces
 * `https://<domain>/api/v2`, and it drops the response's `scope`, which `verify()` reads to name a missing scope.
 * So this file keeps the same rules around the SDK's own `AuthenticationClient.oauth.clientCredentialsGrant` call,
 * and keeps `scope`.
 */

export interface TokenGrant {
  accessToken: string
  expiresInSeconds: number
  /** The granted scopes, if the token response listed them (Auth0 documents `scope`; a recording lacks it). */
  scopes: readonly string[] | undefined
}

export interface TokenSource {
  /** The token for the next call: cached, renewed `renewBeforeMs` before it expires. */
  accessToken(): Promise<string>
  /** The scopes the current token carries, or undefined when unknown (a static token: try the calls). */
  grantedScopes(): Promise<readonly string[] | undefined>
}

export function staticTokenSource(token: string): TokenSource {
  return {
    accessToken: async () => token,
    grantedScopes: async () => undefined,
  }
}

export interface CachedTokenOptions {
  /** Renew this long before expiry (the SDK uses 10 s). Default 60 s, or half the lifetime if that is shorter. */
  renewBeforeMs?: number
  /** Injectable clock, for tests of the renewal rule. */
  nowMs?: () => number
}

export function cachedTokenSource(
  grant: () => Promise<TokenGrant>,
  { renewBeforeMs = 60_000, nowMs = Date.now }: CachedTokenOptions = {},
): TokenSource {
  let current: { grant: TokenGrant; renewAtMs: number } | undefined
  let pending: Promise<TokenGrant> | undefined

  const fresh = async (): Promise<TokenGrant> => {
    if (current && nowMs() < current.renewAtMs) return current.grant
    // Concurrent callers share one request; a failed one is not kept, so the next call asks again.
    pending ??= grant().finally(() => {
      pending = undefined
    })
    const got = await pending
    const lifetimeMs = got.expiresInSeconds * 1000
    if (!current || current.grant !== got) {
      current = { grant: got, renewAtMs: nowMs() + lifetimeMs - Math.min(renewBeforeMs, lifetimeMs / 2) }
    }
    return got
  }

  return {
    accessToken: async () => (await fresh()).accessToken,
    grantedScopes: async () => (await fresh()).scopes,
  }
}

/** `"read:users create:users"` → the scopes; anything else (absent, not a string) → undefined. */
export function parseScopeString(scope: unknown): string[] | undefined {
  if (typeof scope !== 'string') return undefined
  return scope.split(/\s+/).filter((word) => word !== '')
}
