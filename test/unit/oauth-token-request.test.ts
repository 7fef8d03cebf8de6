import { describe, expect, it } from 'vitest'
import {
  type AccessToken,
  expiredTokenGraceMs,
  maxLiveTokensPerClient,
  pruneAccessTokens,
} from '../../src/domain/api/api-client.ts'
import { parseTokenRequest } from '../../src/domain/api/oauth-token.ts'

/** The client-credentials request as Auth0 reads it, and which issued tokens the store keeps. */

const audience = 'https://acme.example/api/v2/'
const good = {
  grant_type: 'client_credentials',
  client_id: 'A'.repeat(32),
  client_secret: 'rst_cs_secret',
  audience,
}

function refusal(body: unknown) {
  const parsed = parseTokenRequest(body, [audience])
  if (parsed.ok) throw new Error('expected a refusal')
  return parsed.error
}

describe('parseTokenRequest', () => {
  it('reads the four parameters and an optional scope', () => {
    expect(parseTokenRequest({ ...good, scope: 'read:users' }, [audience])).toEqual({
      ok: true,
      request: { clientId: good.client_id, clientSecret: good.client_secret, scope: 'read:users' },
    })
  })

  it('refuses another grant type as Auth0 does: 403 unauthorized_client', () => {
    expect(refusal({ ...good, grant_type: 'password' })).toEqual({
      status: 403,
      error: 'unauthorized_client',
      error_description: "Grant type 'password' not allowed for the client.",
      error_uri: 'https://auth0.com/docs/clients/client-grant-types',
    })
  })

  it('names the missing parameter: 400 invalid_request, 401 invalid_client without a secret', () => {
    expect(refusal({ ...good, grant_type: undefined })).toMatchObject({
      status: 400,
      error: 'invalid_request',
      error_description: 'Missing required parameter: grant_type',
    })
    expect(refusal({ ...good, client_id: '' })).toMatchObject({ status: 400, error: 'invalid_request' })
    expect(refusal({ ...good, client_secret: 42 })).toMatchObject({ status: 401, error: 'invalid_client' })
    expect(refusal('not an object')).toMatchObject({ status: 400, error: 'invalid_request' })
  })

  it('refuses a missing or foreign audience with 403 access_denied and Auth0 texts', () => {
    expect(refusal({ ...good, audience: undefined })).toEqual({
      status: 403,
      error: 'access_denied',
      error_description: 'No audience parameter was provided, and no default audience has been configured',
    })
    // Identifiers match exactly: without the trailing slash it is another API.
    expect(refusal({ ...good, audience: 'https://acme.example/api/v2' })).toEqual({
      status: 403,
      error: 'access_denied',
      error_description: 'Service not enabled within domain: https://acme.example/api/v2',
    })
  })
})

describe('pruneAccessTokens', () => {
  const now = Date.parse('2026-11-27T10:00:00.000Z')
  const token = (clientId: string, n: number, expiresAtMs: number): AccessToken => ({
    sha256: n.toString(16).padStart(64, '0'),
    clientId,
    scopes: ['read:users'],
    issuedAt: new Date(now).toISOString(),
    expiresAt: new Date(expiresAtMs).toISOString(),
  })

  it('keeps expired tokens for a grace period (to answer "Expired token"), then drops them', () => {
    const kept = pruneAccessTokens(
      [token('a', 1, now - expiredTokenGraceMs - 1), token('a', 2, now - 1), token('a', 3, now + 1000)],
      now,
    )
    expect(kept.map((t) => t.sha256.slice(-1))).toEqual(['2', '3'])
  })

  it('keeps at most the newest maxLiveTokensPerClient of each client', () => {
    const many = Array.from({ length: maxLiveTokensPerClient + 2 }, (_, i) => token('a', i + 1, now + 1000))
    const kept = pruneAccessTokens([...many, token('b', 999, now + 1000)], now)
    expect(kept).toHaveLength(maxLiveTokensPerClient + 1)
    expect(kept[0]?.sha256).toBe(many[2]?.sha256)
    expect(kept.at(-1)?.clientId).toBe('b')
  })
})
