import { AuthenticationClient, ManagementClient } from 'auth0'
import type { Auth0Settings } from './settings.ts'
import {
  cachedTokenSource,
  parseScopeString,
  staticTokenSource,
  type TokenGrant,
  type TokenSource,
} from './token-source.ts'

/**
 * The official SDK, reaching the tenant at `settings.baseUrl` (https in production, http on loopback in tests).
 *
 * Choice: the generated (Fern) client under `ManagementClient`, given `baseUrl` and a token supplier — not the
 * wrapper, and not a TLS stand-in. The wrapper always builds `https://<domain>/api/v2` and deletes `fetch`/`fetcher`
 * (reference: management API §1.3); serving the stand-in over TLS would need a test CA in NODE_EXTRA_CA_CERTS for
 * every child process and still could not express AUTH0_BASE_URL. The generated client is the wrapper's parent class
 * (`class ManagementClient extends FernClient`), so `Object.getPrototypeOf` reaches it through the public export
 * without private fields; its documented options (`baseUrl`, `token`, `maxRetries`, `timeoutInSeconds`) are the
 * same ones every generated resource client reads, so every call, its retries (408/429/5xx, `Retry-After` then
 * `x-ratelimit-reset`) and its paging are the SDK's own.
 *
 * The token call goes through `AuthenticationClient` (the SDK's grant, as the wrapper's token provider makes it).
 * It too builds `https://<domain>/oauth/token`; its documented `fetch` option sends that URL to `baseUrl` instead.
 */

type GeneratedClientOptions = {
  baseUrl: string
  token: () => Promise<string>
  maxRetries?: number
  timeoutInSeconds?: number
  headers?: Record<string, string>
}

const GeneratedClient = Object.getPrototypeOf(ManagementClient) as new (
  options: GeneratedClientOptions,
) => ManagementClient

export interface SdkOptions {
  /** Retries of 408/429/5xx per call (the SDK's default is 2). */
  maxRetries?: number
  /** Per-request timeout, seconds (the SDK's default is 60). */
  timeoutInSeconds?: number
}

export interface SdkClients {
  management: ManagementClient
  tokens: TokenSource
}

export function createSdkClients(settings: Auth0Settings, options: SdkOptions = {}): SdkClients {
  const tokens = tokenSourceFor(settings)
  const management = new GeneratedClient({
    baseUrl: `${settings.baseUrl}/api/v2`,
    token: () => tokens.accessToken(),
    ...(options.maxRetries === undefined ? {} : { maxRetries: options.maxRetries }),
    ...(options.timeoutInSeconds === undefined ? {} : { timeoutInSeconds: options.timeoutInSeconds }),
  })
  return { management, tokens }
}

function tokenSourceFor(settings: Auth0Settings): TokenSource {
  const credentials = settings.credentials
  if (credentials.kind === 'token') return staticTokenSource(credentials.token)
  const auth = new AuthenticationClient({
    domain: settings.domain,
    clientId: credentials.clientId,
    clientSecret: credentials.clientSecret,
    fetch: redirectingFetch(`https://${settings.domain}`, settings.baseUrl),
  })
  // Auth0 only issues Management API tokens for this audience, whatever address the API is reached at.
  const audience = `https://${settings.domain}/api/v2/`
  return cachedTokenSource(async (): Promise<TokenGrant> => {
    const { data } = await auth.oauth.clientCredentialsGrant({ audience })
    return {
      accessToken: data.access_token,
      expiresInSeconds: data.expires_in,
      scopes: parseScopeString((data as { scope?: unknown }).scope),
    }
  })
}

/** A fetch that sends requests for `from…` to `to…`; identity when they are the same (the production default). */
function redirectingFetch(from: string, to: string): typeof fetch {
  if (from === to) return fetch
  return (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    return fetch(url.startsWith(from) ? `${to}${url.slice(from.length)}` : input, init)
  }
}
