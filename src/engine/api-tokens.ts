import { createHash } from 'node:crypto'
import { type ApiScope, type ApiToken, apiTokenSchema, tokenSecretPrefix } from '../domain/api/api-token.ts'
import { AppError } from '../errors.ts'
import type { EngineContext } from './context.ts'

/**
 * API tokens live in the catalog as SHA-256 hashes. The secret is random (32 bytes from the caller), so a plain
 * hash is enough: there is nothing to brute-force, and checking a token costs one hash and one lookup.
 */
export function hashTokenSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex')
}

export interface NewApiToken {
  name: string
  scopes: ApiScope[]
  /** The secret the caller will hand out once; only its hash is kept. */
  secret: string
}

export async function createApiToken(ctx: EngineContext, input: NewApiToken): Promise<ApiToken> {
  if (!input.secret.startsWith(tokenSecretPrefix) || input.secret.length < 40) {
    throw new AppError('invalid_request', 'A token secret must be random: rst_ and at least 36 characters.')
  }
  if (input.scopes.length === 0) throw new AppError('invalid_request', 'Give the token at least one scope.')
  const sha256 = hashTokenSecret(input.secret)
  const token: ApiToken = {
    id: `tok_${sha256.slice(0, 16)}`,
    name: input.name,
    scopes: [...input.scopes],
    sha256,
    createdAt: ctx.clock.now().toISOString(),
  }
  if (!apiTokenSchema.safeParse(token).success) {
    throw new AppError(
      'invalid_request',
      `"${input.name}" cannot name a token: use letters, digits, ".", "_" and "-" (up to 64), like ci or migration-2026.`,
    )
  }
  await ctx.catalog.update((draft) => {
    const tokens = draft.apiTokens ?? []
    if (tokens.some((t) => t.name === token.name && t.revokedAt === undefined)) {
      throw new AppError(
        'invalid_request',
        `A token named ${token.name} already exists: revoke it first, or pick another name.`,
      )
    }
    draft.apiTokens = [...tokens, token]
  })
  ctx.logger.info('api token created', { id: token.id, name: token.name, scopes: token.scopes })
  return token
}

export function listApiTokens(ctx: EngineContext): ApiToken[] {
  return [...(ctx.catalog.read().apiTokens ?? [])]
}

/** Revokes by id (`tok_…`) or by name (the active token of that name). */
export async function revokeApiToken(ctx: EngineContext, key: string): Promise<ApiToken> {
  const revokedAt = ctx.clock.now().toISOString()
  const token = await ctx.catalog.update((draft) => {
    const found =
      draft.apiTokens?.find((t) => t.id === key) ??
      draft.apiTokens?.find((t) => t.name === key && t.revokedAt === undefined)
    if (!found) throw new AppError('not_found', `No token ${key}. See: roster tokens list`)
    if (found.revokedAt === undefined) found.revokedAt = revokedAt
    return structuredClone(found)
  })
  ctx.logger.info('api token revoked', { id: token.id, name: token.name })
  return token
}

/** The active token whose secret this is, or null. */
export function authenticateApiToken(ctx: EngineContext, secret: string): ApiToken | null {
  const sha256 = hashTokenSecret(secret)
  return ctx.catalog.read().apiTokens?.find((t) => t.sha256 === sha256 && t.revokedAt === undefined) ?? null
}
