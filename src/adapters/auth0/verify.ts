import type { ManagementClient } from 'auth0'
import { AppError } from '../../errors.ts'
import { insufficientScopes, scopeMissing, toAppError } from './auth0-errors.ts'
import { type Auth0Scope, type Auth0Settings, auth0Scopes } from './settings.ts'
import type { TokenSource } from './token-source.ts'

export type VerifyOutcome =
  | { ok: true; scopes: readonly Auth0Scope[] }
  | {
      ok: false
      /** Its code says which kind (`auth0_unreachable`, `auth0_credentials_refused`, `auth0_scope_missing`…); its
       * message names the setting (AUTH0_DOMAIN, AUTH0_CLIENT_SECRET, AUTH0_TOKEN…) and the missing scopes. */
      problem: AppError
    }

/**
 * Checks, in order, that the domain answers, the credential is accepted and the scopes are there — without decoding
 * the token. With client credentials the token response lists the granted scopes (`scope`), which is read as is.
 * A static AUTH0_TOKEN (or a token response without `scope`) is checked by trying one harmless call per scope: Auth0
 * checks scopes before anything else, so only a missing scope answers 403 `insufficient_scope`, and a 400 or 404 for
 * the made-up arguments below means the scope is there.
 */
export async function verifyTenant(
  settings: Auth0Settings,
  sdk: ManagementClient,
  tokens: TokenSource,
): Promise<VerifyOutcome> {
  const fail = (error: unknown, doing: string): VerifyOutcome => ({
    ok: false,
    problem: toAppError(error, { settings, doing }),
  })
  let granted: readonly string[] | undefined
  try {
    granted = await tokens.grantedScopes()
  } catch (error) {
    return fail(error, 'getting a Management API token')
  }
  if (granted !== undefined) {
    const missing = auth0Scopes.filter((scope) => !granted.includes(scope))
    if (missing.length > 0) return { ok: false, problem: appError(scopeMissing(missing, settings)) }
  }
  // The first Management call: proves the API answers, at this address, to this token.
  const missing: Auth0Scope[] = []
  for (const [scope, probe] of probes(sdk)) {
    if (granted !== undefined && scope !== 'read:connections') continue
    try {
      await probe()
    } catch (error) {
      if (insufficientScopes(error)) {
        missing.push(scope)
        continue
      }
      const refusal = toAppError(error, { settings, doing: `checking the scope ${scope}` })
      if (!['auth0_rejected', 'not_found', 'invalid_body', 'users_file_empty'].includes(refusal.code)) {
        return { ok: false, problem: refusal }
      }
    }
  }
  if (missing.length > 0) return { ok: false, problem: appError(scopeMissing(missing, settings)) }
  return { ok: true, scopes: auth0Scopes }
}

/** A user id no tenant holds (Roster never imports one like it): deleting or patching it changes nothing. */
const absentUserId = 'auth0|roster-scope-check-000000000000'

function probes(sdk: ManagementClient): [Auth0Scope, () => Promise<unknown>][] {
  return [
    ['read:connections', () => sdk.connections.list({ take: 1 })],
    ['read:users', () => sdk.users.listUsersByEmail({ email: 'roster-scope-check@example.invalid' })],
    ['update:users', () => sdk.users.update(absentUserId, {})],
    ['delete:users', () => sdk.users.delete(absentUserId)],
    // An empty file is refused (400 "Users file must not be empty.") before any job exists.
    [
      'create:users',
      () =>
        sdk.jobs.usersImports.create(
          { users: { data: Buffer.alloc(0), filename: 'users.json' }, connection_id: 'con_0000000000000000' },
          { maxRetries: 0 },
        ),
    ],
  ]
}

function appError(mapped: { code: AppError['code']; message: string; details?: unknown }): AppError {
  return new AppError(mapped.code, mapped.message, mapped.details)
}
