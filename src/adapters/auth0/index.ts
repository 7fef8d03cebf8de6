/**
 * Roster's one client of a real Auth0 tenant (issue 13): the adapter the engine's directory port will sit on when
 * AUTH0_DOMAIN is set. Not wired into config.ts/main.ts yet.
 *
 * Choices, and why:
 * - **The official `auth0` SDK (v5) for every Management call** — its retries (408/429/5xx; `Retry-After`, then
 *   `x-ratelimit-reset` as epoch seconds), checkpoint paging and types are what Auth0's own users rely on. The one
 *   request outside it is the export download: a pre-signed URL the SDK has no call for, fetched without the bearer.
 * - **Reaching a non-https base URL** (AUTH0_BASE_URL; tests use a Roster on http loopback as the tenant): the
 *   generated client under the `ManagementClient` wrapper, given `baseUrl` and a token supplier (sdk-client.ts).
 *   The wrapper forces `https://<domain>/api/v2` and drops `fetch`; a TLS stand-in would need a test CA in every
 *   child's environment and still could not honour AUTH0_BASE_URL.
 * - **Tokens** (token-source.ts): AUTH0_TOKEN as is, or client credentials through the SDK's
 *   `AuthenticationClient` grant, cached and renewed before expiry with the SDK's own rules (one shared pending
 *   request, failures not cached). The SDK's cache itself is not exported and drops `scope`, which verify() reads.
 * - **verify()** decodes nothing: the token response's `scope` when there is one, else one harmless call per scope.
 *   Problems name the setting (AUTH0_DOMAIN, AUTH0_CLIENT_SECRET, AUTH0_TOKEN…) and the missing scope.
 * - **Rate limits**: lookups run `concurrency` (8) at a time; a 429 that outlives the SDK's retries is waited out
 *   again from its headers (rate-limits.ts). Import submissions get no blind SDK retry (a 5xx may follow an
 *   accepted part) but do wait out 429s, which mean "not accepted".
 * - **Errors** (auth0-errors.ts) become AppErrors with stable codes (`auth0_*`, or Roster's code where Auth0's
 *   `errorCode` matches one); messages are scrubbed of the secret and token, and SDK errors are not kept as causes.
 */
import { Auth0Client, type Auth0ClientOptions } from './auth0-client.ts'
import { createSdkClients, type SdkOptions } from './sdk-client.ts'
import { type Auth0Settings, type Auth0SettingsInput, auth0SettingsSchema } from './settings.ts'

export type { Auth0ClientOptions, ExportJobRequest, ImportJobRequest } from './auth0-client.ts'
export { Auth0Client } from './auth0-client.ts'
export type { Auth0Connection, Auth0Job, Auth0JobErrors, Auth0JobUserError, Auth0User } from './schemas.ts'
export {
  type Auth0Scope,
  type Auth0Settings,
  type Auth0SettingsInput,
  auth0Scopes,
  auth0SettingsSchema,
} from './settings.ts'
export type { VerifyOutcome } from './verify.ts'

/** Builds the client from parsed settings (`auth0SettingsSchema.parse(...)`) or raw ones. */
export function createAuth0Client(
  settings: Auth0Settings | Auth0SettingsInput,
  options: Auth0ClientOptions & SdkOptions = {},
): Auth0Client {
  const parsed = 'credentials' in settings ? settings : auth0SettingsSchema.parse(settings)
  const { maxRetries, timeoutInSeconds, ...clientOptions } = options
  const sdkOptions: SdkOptions = {
    ...(maxRetries === undefined ? {} : { maxRetries }),
    ...(timeoutInSeconds === undefined ? {} : { timeoutInSeconds }),
  }
  const { management, tokens } = createSdkClients(parsed, sdkOptions)
  return new Auth0Client(parsed, management, tokens, clientOptions)
}
export { createTenantDirectory, type TenantDirectoryOptions, toRosterConnection } from './tenant-directory.ts'
