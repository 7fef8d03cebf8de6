import { AuthenticationClient, ManagementClient } from 'auth0'

/**
 * The official `auth0` SDK (v5) pointed at a Roster on loopback over plain HTTP, changing nothing but where its
 * requests go. The SDK builds `https://<domain>` URLs itself, so the domain is `127.0.0.1:<port>` (the token's
 * audience, `https://127.0.0.1:<port>/api/v2/`, is then one Roster accepts: the host the client reached) and:
 * - the token call goes through a `fetch` that swaps `https://` for `http://`: `AuthenticationClient` takes `fetch`
 *   as a documented option, and `ManagementClient` hands its options (fetch included) to the token provider's
 *   `AuthenticationClient` before it deletes `fetch` for the Management calls;
 * - the Management calls take their base URL from the generated client's `_options.baseUrl`, which the wrapper
 *   always sets to `https://<domain>/api/v2` and its sub-clients read on first use (as api-sdk.test.ts does).
 */
export function loopbackDomain(port: number): string {
  return `127.0.0.1:${port}`
}

export function loopbackFetch(port: number): typeof fetch {
  const https = `https://${loopbackDomain(port)}`
  return (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    return fetch(
      url.startsWith(https) ? `http://${loopbackDomain(port)}${url.slice(https.length)}` : url,
      init,
    )
  }
}

export function loopbackAuthClient(
  port: number,
  clientId: string,
  clientSecret: string,
): AuthenticationClient {
  return new AuthenticationClient({
    domain: loopbackDomain(port),
    clientId,
    clientSecret,
    fetch: loopbackFetch(port),
  })
}

export function loopbackManagementClient(
  port: number,
  credentials: { clientId: string; clientSecret: string },
  options: { maxRetries?: number } = {},
): ManagementClient {
  const client = new ManagementClient({
    domain: loopbackDomain(port),
    ...credentials,
    ...options,
    // Not in the option type (the Management calls drop it), but the token provider is built with it.
    ...({ fetch: loopbackFetch(port) } as object),
  })
  ;(client as unknown as { _options: { baseUrl: string } })._options.baseUrl =
    `http://${loopbackDomain(port)}/api/v2`
  return client
}
