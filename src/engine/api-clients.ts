import {
  type AccessToken,
  type ApiClient,
  accessTokenPrefix,
  apiClientSchema,
  clientSecretPrefix,
  pruneAccessTokens,
} from '../domain/api/api-client.ts'
import { type ApiCaller, type ApiScope, apiScopes } from '../domain/api/api-token.ts'
import { AppError } from '../errors.ts'
import { hashTokenSecret } from './api-tokens.ts'
import type { EngineContext } from './context.ts'

/**
 * API clients and the access tokens `/oauth/token` issues to them.
 *
 * Access tokens are opaque and stored (hashed, with their expiry) rather than signed JWTs: a signed token needs a
 * signing key kept in the store, and a copy of the store would then mint tokens — the property API tokens keep
 * (only hashes stored) would be lost. Stored tokens also die at once with their client (`clients revoke`) and
 * survive a restart, which the SDK needs: it caches a token until expiry and never retries a 401 with a new one.
 * The price is one catalog write per token issued; clients cache tokens for their lifetime (24 h by default).
 */

export interface NewApiClient {
  name: string
  scopes: ApiScope[]
  /** Made by the caller (random), like an API token's secret. */
  clientId: string
  secret: string
  tokenLifetimeSeconds: number
}

/** What to tell the person whose `clients create` names a bad value, by field. */
const refusals: Record<string, (input: NewApiClient) => string> = {
  name: (input) =>
    `"${input.name}" cannot name a client: use letters, digits, ".", "_" and "-" (up to 64), like migration.`,
  scopes: () => 'Give the client at least one scope.',
  tokenLifetimeSeconds: () =>
    "The token lifetime is a whole number of seconds from 1 to 2592000 (30 days, Auth0's maximum).",
}

export async function createApiClient(ctx: EngineContext, input: NewApiClient): Promise<ApiClient> {
  if (!input.secret.startsWith(clientSecretPrefix) || input.secret.length < 40) {
    throw new AppError(
      'invalid_request',
      'A client secret must be random: rst_cs_ and at least 33 characters.',
    )
  }
  const client: ApiClient = {
    clientId: input.clientId,
    name: input.name,
    scopes: [...input.scopes],
    secretSha256: hashTokenSecret(input.secret),
    tokenLifetimeSeconds: input.tokenLifetimeSeconds,
    createdAt: ctx.clock.now().toISOString(),
  }
  const parsed = apiClientSchema.safeParse(client)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const field = String(issue?.path[0] ?? '')
    throw new AppError('invalid_request', refusals[field]?.(input) ?? `Invalid client: ${issue?.message}.`)
  }
  await ctx.catalog.update((draft) => {
    const clients = draft.apiClients ?? []
    if (clients.some((c) => c.name === client.name && c.revokedAt === undefined)) {
      throw new AppError(
        'invalid_request',
        `A client named ${client.name} already exists: revoke it first, or pick another name.`,
      )
    }
    draft.apiClients = [...clients, client]
  })
  ctx.logger.info('api client created', {
    clientId: client.clientId,
    name: client.name,
    scopes: client.scopes,
  })
  return client
}

export function listApiClients(ctx: EngineContext): ApiClient[] {
  return [...(ctx.catalog.read().apiClients ?? [])]
}

/** Revokes by client id or by name (the active client of that name); its access tokens stop working at once. */
export async function revokeApiClient(ctx: EngineContext, key: string): Promise<ApiClient> {
  const revokedAt = ctx.clock.now().toISOString()
  const client = await ctx.catalog.update((draft) => {
    const found =
      draft.apiClients?.find((c) => c.clientId === key) ??
      draft.apiClients?.find((c) => c.name === key && c.revokedAt === undefined)
    if (!found) throw new AppError('not_found', `No client ${key}. See: roster clients list`)
    if (found.revokedAt === undefined) found.revokedAt = revokedAt
    draft.accessTokens = (draft.accessTokens ?? []).filter((t) => t.clientId !== found.clientId)
    return structuredClone(found)
  })
  ctx.logger.info('api client revoked', { clientId: client.clientId, name: client.name })
  return client
}

export type IssueOutcome =
  | { ok: true; client: ApiClient; scopes: ApiScope[]; expiresInSeconds: number }
  | { ok: false; reason: 'bad_credentials' }
  | { ok: false; reason: 'scopes_not_granted'; scopes: string[] }

export interface IssueRequest {
  clientId: string
  clientSecret: string
  /** Space-separated; absent: every scope of the client. */
  scope?: string
  /** The access token to hand out (random, `rst_at_…`, made by the caller); only its hash is kept. */
  accessToken: string
}

/** The client-credentials grant: checks the client and its secret, then records the new token durably. */
export async function issueAccessToken(ctx: EngineContext, request: IssueRequest): Promise<IssueOutcome> {
  if (!request.accessToken.startsWith(accessTokenPrefix) || request.accessToken.length < 40) {
    throw new AppError('unexpected', 'An access token must be random: rst_at_ and at least 33 characters.')
  }
  const client = ctx.catalog
    .read()
    .apiClients?.find((c) => c.clientId === request.clientId && c.revokedAt === undefined)
  if (!client || hashTokenSecret(request.clientSecret) !== client.secretSha256) {
    return { ok: false, reason: 'bad_credentials' }
  }
  const asked = request.scope?.split(' ').filter(Boolean)
  const notGranted = (asked ?? []).filter((s) => !client.scopes.includes(s as ApiScope))
  if (notGranted.length > 0) return { ok: false, reason: 'scopes_not_granted', scopes: notGranted }
  // Asking for no scope (or an empty one) gets every scope granted, as Auth0 does.
  const chosen: readonly string[] = asked?.length ? asked : client.scopes
  // In one order (the catalog's), whatever order they were asked or granted in.
  const scopes = apiScopes.filter((s) => chosen.includes(s))
  const now = ctx.clock.now()
  const token: AccessToken = {
    sha256: hashTokenSecret(request.accessToken),
    clientId: client.clientId,
    scopes,
    issuedAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + client.tokenLifetimeSeconds * 1000).toISOString(),
  }
  const recorded = await ctx.catalog.update((draft) => {
    const live = draft.apiClients?.find((c) => c.clientId === client.clientId && c.revokedAt === undefined)
    // Revoked between the check and this write: no token.
    if (!live) return false
    draft.accessTokens = pruneAccessTokens([...(draft.accessTokens ?? []), token], now.getTime())
    return true
  })
  if (!recorded) return { ok: false, reason: 'bad_credentials' }
  ctx.logger.info('access token issued', { clientId: client.clientId, name: client.name, scopes })
  return { ok: true, client, scopes, expiresInSeconds: client.tokenLifetimeSeconds }
}

export type AccessCheck = { ok: true; caller: ApiCaller } | { ok: false; reason: 'invalid' | 'expired' }

/**
 * The caller an access token stands for: its client, with the token's scopes. Expiry is checked against the
 * engine's clock on every call; a revoked client's tokens are gone from the store.
 */
export function authenticateAccessToken(ctx: EngineContext, secret: string): AccessCheck {
  const catalog = ctx.catalog.read()
  const sha256 = hashTokenSecret(secret)
  const token = catalog.accessTokens?.find((t) => t.sha256 === sha256)
  const client =
    token && catalog.apiClients?.find((c) => c.clientId === token.clientId && c.revokedAt === undefined)
  if (!token || !client) return { ok: false, reason: 'invalid' }
  if (ctx.clock.now().getTime() >= Date.parse(token.expiresAt)) return { ok: false, reason: 'expired' }
  return { ok: true, caller: { id: client.clientId, name: client.name, scopes: token.scopes } }
}
