/**
 * `POST /oauth/token`, the client-credentials grant, read and refused as Auth0 does (reference
 * auth0-management-api.md §1.2): OAuth's `{error, error_description}`, never the Management API's envelope.
 * Texts quoted there are Auth0's; the `invalid_request` and `invalid_client` texts follow RFC 6749 §5.2 (Auth0's
 * exact wording for those is unconfirmed).
 */

export const oauthErrorCodes = [
  'invalid_request',
  'invalid_client',
  'unauthorized_client',
  'access_denied',
] as const
export type OAuthErrorCode = (typeof oauthErrorCodes)[number]

export interface OAuthError {
  status: 400 | 401 | 403
  error: OAuthErrorCode
  error_description: string
  error_uri?: string
}

export interface TokenRequest {
  clientId: string
  clientSecret: string
  /** Space-separated scopes the caller asks for; absent: all of the client's. */
  scope?: string
}

const oauthError = (
  status: OAuthError['status'],
  error: OAuthErrorCode,
  description: string,
): OAuthError => ({ status, error, error_description: description })

/**
 * Reads a token request (a JSON or form body, already parsed into an object). `audiences` are the identifiers
 * this Roster answers to as an API (`https://<domain>/api/v2/`): the audience must be one of them exactly, trailing
 * slash included, as Auth0 matches API identifiers.
 */
export function parseTokenRequest(
  body: unknown,
  audiences: readonly string[],
): { ok: true; request: TokenRequest } | { ok: false; error: OAuthError } {
  const fields = typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {}
  const text = (name: string): string | undefined => {
    const value = (fields as Record<string, unknown>)[name]
    return typeof value === 'string' && value !== '' ? value : undefined
  }
  const grantType = text('grant_type')
  if (grantType === undefined) return fail(400, 'invalid_request', 'Missing required parameter: grant_type')
  if (grantType !== 'client_credentials') {
    return {
      ok: false,
      error: {
        ...oauthError(403, 'unauthorized_client', `Grant type '${grantType}' not allowed for the client.`),
        error_uri: 'https://auth0.com/docs/clients/client-grant-types',
      },
    }
  }
  const clientId = text('client_id')
  if (clientId === undefined) return fail(400, 'invalid_request', 'Missing required parameter: client_id')
  const clientSecret = text('client_secret')
  if (clientSecret === undefined) return fail(401, 'invalid_client', 'Client authentication is required')
  const audience = text('audience')
  if (audience === undefined) {
    return fail(
      403,
      'access_denied',
      'No audience parameter was provided, and no default audience has been configured',
    )
  }
  if (!audiences.includes(audience)) {
    return fail(403, 'access_denied', `Service not enabled within domain: ${audience}`)
  }
  const scope = text('scope')
  return { ok: true, request: { clientId, clientSecret, ...(scope === undefined ? {} : { scope }) } }
}

function fail(
  status: OAuthError['status'],
  error: OAuthErrorCode,
  description: string,
): { ok: false; error: OAuthError } {
  return { ok: false, error: oauthError(status, error, description) }
}

/** Unknown client, revoked client, wrong secret: one answer, so the endpoint tells no one which it was. */
export const badCredentials: OAuthError = oauthError(401, 'access_denied', 'Unauthorized')

/** The request asked for scopes the client was not granted. */
export function scopesNotGranted(scopes: readonly string[]): OAuthError {
  return oauthError(403, 'access_denied', `Client has not been granted scopes: ${scopes.join(', ')}`)
}
