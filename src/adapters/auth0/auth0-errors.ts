import { AuthApiError, ManagementError, ManagementTimeoutError } from 'auth0'
import { ZodError } from 'zod'
import { AppError, type ErrorCode, errorCodes } from '../../errors.ts'
import { type Auth0Settings, credentialSettings, secretsOf, whereSettings } from './settings.ts'

/**
 * SDK errors → Roster's AppError: a stable code, a message that says what Roster was doing, what Auth0 answered and
 * which setting or scope to fix. Auth0's own `errorCode` is kept where Roster already has the same code
 * (`invalid_body`, `connection_is_disabled`…). No SDK error is kept as `cause`: they carry response bodies and
 * headers that end up in logs, and every message is scrubbed of the secret and the token, whatever echoed them.
 */
export interface ErrorContext {
  settings: Auth0Settings
  /** What Roster was doing, for the message: "listing the tenant's connections". */
  doing: string
}

/** Auth0's Management API error envelope `{statusCode, error, message, errorCode}`, when the body is one. */
export interface Auth0ErrorBody {
  message: string
  errorCode?: string
}

export function auth0ErrorBody(body: unknown): Auth0ErrorBody | undefined {
  if (typeof body !== 'object' || body === null) return undefined
  const { message, errorCode } = body as { message?: unknown; errorCode?: unknown }
  if (typeof message !== 'string') return undefined
  return typeof errorCode === 'string' ? { message, errorCode } : { message }
}

/** The scopes an "Insufficient scope, expected any of: a,b" message names, or undefined for any other error. */
export function insufficientScopes(error: unknown): string[] | undefined {
  if (!(error instanceof ManagementError) || error.statusCode !== 403) return undefined
  const body = auth0ErrorBody(error.body)
  if (!body || (body.errorCode !== 'insufficient_scope' && !/insufficient scope/i.test(body.message))) {
    return undefined
  }
  const listed = /expected any of:\s*([^.]*)/i.exec(body.message)?.[1] ?? ''
  return listed
    .split(',')
    .map((scope) => scope.trim())
    .filter((scope) => scope !== '')
}

export function toAppError(error: unknown, context: ErrorContext): AppError {
  if (error instanceof AppError) return error
  const mapped = map(error, context)
  return new AppError(mapped.code, scrub(mapped.message, context.settings), mapped.details)
}

interface Mapped {
  code: ErrorCode
  message: string
  details?: unknown
}

function map(error: unknown, { settings, doing }: ErrorContext): Mapped {
  const where = settings.baseUrl
  if (error instanceof ManagementTimeoutError) {
    return {
      code: 'auth0_unavailable',
      message: `The Auth0 tenant at ${where} did not answer in time ${doing}.`,
    }
  }
  if (error instanceof AuthApiError) return fromTokenEndpoint(error, settings, doing)
  if (error instanceof ManagementError) {
    const status = error.statusCode
    if (status === undefined) return unreachable(settings, doing, causeText(error))
    const body = auth0ErrorBody(error.body)
    const said = body?.message ?? `HTTP ${status}`
    const details = { status, ...(body?.errorCode === undefined ? {} : { auth0ErrorCode: body.errorCode }) }
    if (!body && (status === 404 || status === 405)) {
      return unreachable(settings, doing, `HTTP ${status} without an Auth0 answer`)
    }
    if (status === 401) {
      return {
        code: 'auth0_credentials_refused',
        message: `Auth0 refused Roster's token ${doing} (${said}): check ${credentialSettings(settings)}.`,
        details,
      }
    }
    const scopes = insufficientScopes(error)
    if (scopes) return scopeMissing(scopes, settings)
    if (status === 429) {
      // The import-slot refusal is its own case: waiting for a job to finish helps, not a rate-limit reset.
      const code: ErrorCode = /active import/i.test(said) ? 'too_many_jobs' : 'auth0_rate_limited'
      return { code, message: `Auth0 answered 429 ${doing}: ${said}`, details }
    }
    if (status >= 500 || status === 408) {
      return { code: 'auth0_unavailable', message: `Auth0 failed ${doing} (${status}): ${said}`, details }
    }
    const known = errorCodes.find((code) => code === body?.errorCode)
    const code: ErrorCode = known ?? (status === 404 ? 'not_found' : 'auth0_rejected')
    return { code, message: `Auth0 refused ${doing}: ${said}`, details }
  }
  if (isNetworkError(error)) return unreachable(settings, doing, causeText(error))
  if (error instanceof ZodError) return invalidAnswer(error, settings, doing)
  return { code: 'unexpected', message: `Unexpected error ${doing}: ${causeText(error)}` }
}

/** `/oauth/token` answers OAuth's `{error, error_description}` (reference: management API §1.2). */
function fromTokenEndpoint(error: AuthApiError, settings: Auth0Settings, doing: string): Mapped {
  const said = `${error.statusCode} ${error.error}: ${error.error_description}`
  const details = { status: error.statusCode, oauthError: error.error }
  if (error.statusCode === 401) {
    return {
      code: 'auth0_credentials_refused',
      message: `Auth0 refused the client credentials ${doing} (${said}): check AUTH0_CLIENT_SECRET and AUTH0_CLIENT_ID.`,
      details,
    }
  }
  if (error.statusCode === 403) {
    return {
      code: 'auth0_credentials_refused',
      message:
        `Auth0 will not give the application AUTH0_CLIENT_ID a Management API token ${doing} (${said}): ` +
        'authorize it for the Auth0 Management API (a client grant) with the client-credentials grant enabled.',
      details,
    }
  }
  if (error.statusCode === 429) {
    return { code: 'auth0_rate_limited', message: `Auth0 answered 429 ${doing} (${said}).`, details }
  }
  if (error.statusCode >= 500) {
    return { code: 'auth0_unavailable', message: `Auth0 failed ${doing} (${said}).`, details }
  }
  return unreachable(settings, doing, `/oauth/token answered ${said}`)
}

function unreachable(settings: Auth0Settings, doing: string, why: string): Mapped {
  return {
    code: 'auth0_unreachable',
    message: `No Auth0 tenant answers at ${settings.baseUrl} ${doing} (${why}): check ${whereSettings(settings)}.`,
  }
}

/**
 * An answer Roster's schemas (schemas.ts) refuse: the call and the first fields are named, never their values
 * (a user's answer holds personal data, and this message reaches logs and Slack).
 */
function invalidAnswer(error: ZodError, settings: Auth0Settings, doing: string): Mapped {
  const fields = [...new Set(error.issues.map((issue) => issue.path.join('.') || '(the answer itself)'))]
  const named = fields.slice(0, 3).join(', ') + (fields.length > 3 ? ` and ${fields.length - 3} more` : '')
  return {
    code: 'auth0_answer_invalid',
    message:
      `The tenant at ${settings.baseUrl} answered ${doing} in a shape Auth0's Management API does not use ` +
      `(${named}): check ${whereSettings(settings)}, which must reach an Auth0 tenant, not a proxy or another service.`,
    details: { fields: fields.slice(0, 10) },
  }
}

export function scopeMissing(scopes: readonly string[], settings: Auth0Settings): Mapped {
  const list = `the Management API scope${scopes.length === 1 ? '' : 's'} ${scopes.join(', ')}`
  const message =
    settings.credentials.kind === 'token'
      ? `AUTH0_TOKEN lacks ${list}, which Roster needs: use a token that carries it.`
      : `The application AUTH0_CLIENT_ID lacks ${list}, which Roster needs: grant it in the Auth0 Dashboard ` +
        '(Applications → APIs → Auth0 Management API → Machine to Machine Applications).'
  return { code: 'auth0_scope_missing', message, details: { scopes } }
}

function isNetworkError(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  // The auth client's FetchError/TimeoutError (lib/errors), or fetch's own TypeError.
  if (error.name === 'FetchError' || error.name === 'TimeoutError') return true
  return error instanceof TypeError && /fetch failed/i.test(error.message)
}

/** The deepest cause's message: `connect ECONNREFUSED 127.0.0.1:1234`, not `fetch failed`. */
function causeText(error: unknown): string {
  let text = error instanceof Error ? error.message : String(error)
  let current: unknown = error instanceof Error ? error.cause : undefined
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current.message) text = current.message
    current = current.cause
  }
  return text
}

function scrub(text: string, settings: Auth0Settings): string {
  let out = text
  for (const secret of secretsOf(settings)) if (secret.length >= 4) out = out.split(secret).join('[redacted]')
  return out.replace(/Bearer\s+[A-Za-z0-9._~+/=-]+/g, 'Bearer [redacted]')
}
