import { z } from 'zod'

/**
 * The Management API scopes Roster needs on a tenant: connections to pick from, users to look up and export,
 * import jobs (create:users), profile restores on undo (update:users) and deletes of inserted users on undo.
 */
export const auth0Scopes = [
  'read:connections',
  'read:users',
  'create:users',
  'update:users',
  'delete:users',
] as const
export type Auth0Scope = (typeof auth0Scopes)[number]

/** The environment variables the settings come from: messages name them, so a person knows what to change. */
export const auth0SettingNames = {
  domain: 'AUTH0_DOMAIN',
  baseUrl: 'AUTH0_BASE_URL',
  clientId: 'AUTH0_CLIENT_ID',
  clientSecret: 'AUTH0_CLIENT_SECRET',
  token: 'AUTH0_TOKEN',
} as const

/** A host name with an optional port: `acme.eu.auth0.com`, `127.0.0.1:8443`. The SDK puts it into URLs as is. */
const domainPattern = /^[A-Za-z0-9.-]+(:\d{1,5})?$/

const nonEmpty = z.string().trim().min(1)

/**
 * The tenant settings as given (config.ts will read them from AUTH0_*). Either `clientId` + `clientSecret` (a
 * machine-to-machine application: tokens by the client-credentials grant) or `token` (a Management API token used
 * as is), never both.
 */
export const auth0SettingsSchema = z
  .object({
    domain: nonEmpty.regex(
      domainPattern,
      'AUTH0_DOMAIN must be the tenant host, like acme.eu.auth0.com (no https://, no path)',
    ),
    /** Where the Management API and /oauth/token are reached. Default `https://<domain>`. */
    baseUrl: z
      .url({
        protocol: /^https?$/,
        error: 'AUTH0_BASE_URL must be an http(s) URL, like https://acme.eu.auth0.com',
      })
      .optional(),
    clientId: nonEmpty.optional(),
    clientSecret: nonEmpty.optional(),
    token: nonEmpty.optional(),
  })
  .superRefine((settings, ctx) => {
    const client = settings.clientId !== undefined || settings.clientSecret !== undefined
    if (settings.token !== undefined && client) {
      ctx.addIssue({
        code: 'custom',
        path: ['token'],
        message: 'Set either AUTH0_TOKEN or AUTH0_CLIENT_ID + AUTH0_CLIENT_SECRET, not both',
      })
    } else if (settings.token === undefined && settings.clientId === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['clientId'],
        message:
          'Set AUTH0_CLIENT_ID + AUTH0_CLIENT_SECRET (a machine-to-machine application) or AUTH0_TOKEN',
      })
    } else if (settings.token === undefined && settings.clientSecret === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['clientSecret'],
        message: 'AUTH0_CLIENT_ID is set without AUTH0_CLIENT_SECRET',
      })
    }
  })
  .transform((settings): Auth0Settings => {
    const baseUrl = (settings.baseUrl ?? `https://${settings.domain}`).replace(/\/+$/, '')
    const credentials: Auth0Credentials =
      settings.token !== undefined
        ? { kind: 'token', token: settings.token }
        : { kind: 'client', clientId: settings.clientId ?? '', clientSecret: settings.clientSecret ?? '' }
    return { domain: settings.domain, baseUrl, baseUrlIsDefault: settings.baseUrl === undefined, credentials }
  })

export type Auth0SettingsInput = z.input<typeof auth0SettingsSchema>

export type Auth0Credentials =
  | { kind: 'client'; clientId: string; clientSecret: string }
  | { kind: 'token'; token: string }

export interface Auth0Settings {
  domain: string
  /** No trailing slash. */
  baseUrl: string
  /** True when AUTH0_BASE_URL was not set: messages then name only AUTH0_DOMAIN. */
  baseUrlIsDefault: boolean
  credentials: Auth0Credentials
}

/** The settings a person changes when the tenant cannot be reached. */
export function whereSettings(settings: Auth0Settings): string {
  return settings.baseUrlIsDefault ? 'AUTH0_DOMAIN' : 'AUTH0_DOMAIN and AUTH0_BASE_URL'
}

/** The settings a person changes when the credential is refused. */
export function credentialSettings(settings: Auth0Settings): string {
  return settings.credentials.kind === 'token' ? 'AUTH0_TOKEN' : 'AUTH0_CLIENT_SECRET (and AUTH0_CLIENT_ID)'
}

/** The secrets in the settings, for scrubbing any text that might reach a message or a log line. */
export function secretsOf(settings: Auth0Settings): string[] {
  return settings.credentials.kind === 'token'
    ? [settings.credentials.token]
    : [settings.credentials.clientSecret]
}
