import type { Request, RequestHandler, Response } from 'express'
import { type ApiCaller, type ApiScope, hasAnyScope } from '../../domain/api/api-token.ts'
import type { Engine } from '../../engine/engine.ts'
import type { AuditLog, Clock } from '../../engine/ports.ts'
import type { Logger } from '../../logger.ts'
import { ApiError } from './api-errors.ts'

/**
 * Bearer tokens and scopes, answered as Auth0 answers them: 401 `Missing authentication` without a token, 401
 * `Invalid token` for one Roster does not know (or revoked), 401 `Expired token received for JSON Web Token
 * validation` for an expired access token, 403 `Insufficient scope, expected any of: …` when the
 * token lacks every scope the endpoint accepts. Each call is audit-logged with the token's name, never its secret.
 */
interface CallState {
  action: string
  target?: string
  token?: ApiCaller
}

function state(res: Response): CallState {
  const locals = res.locals as { call?: CallState }
  locals.call ??= { action: 'api.request' }
  return locals.call
}

/** The token of an authenticated call (set by `requireScopes`). */
export function callerOf(res: Response): ApiCaller {
  const token = state(res).token
  if (!token) throw new ApiError(401, 'Missing authentication')
  return token
}

/** Who the audit entry names, for calls authenticated otherwise than by a bearer token (`/oauth/token`). */
export function actAs(res: Response, caller: ApiCaller): void {
  state(res).token = caller
}

/** Names the call for the audit log (`import`, `users.read`…): routes without a token check name themselves. */
export function nameCall(res: Response, action: string): void {
  state(res).action = action
}

/** What the audit entry says the call was about (a job id, a user id). */
export function auditTarget(res: Response, target: string): void {
  state(res).target = target
}

const bearer = /^Bearer ([A-Za-z0-9._~+/=-]+)$/

/** The secret of a well-formed `Authorization: Bearer …` header, or undefined. */
export function bearerSecret(req: Request): string | undefined {
  return bearer.exec(req.get('authorization')?.trim() ?? '')?.[1]
}

/** Names the call for the audit log, then checks the token and its scopes. */
export function requireScopes(engine: Engine, action: string, scopes: readonly ApiScope[]): RequestHandler {
  return (req, res, next) => {
    const call = state(res)
    nameCall(res, action)
    const header = req.get('authorization')
    if (header === undefined || header.trim() === '') {
      next(new ApiError(401, 'Missing authentication'))
      return
    }
    const match = bearer.exec(header.trim())
    if (!match?.[1]) {
      next(unauthorized('Bad HTTP authentication header format'))
      return
    }
    const check = engine.authenticate(match[1])
    if (!check.ok) {
      next(unauthorized(check.reason === 'expired' ? expiredMessage : 'Invalid token'))
      return
    }
    const token = check.caller
    call.token = token
    if (!hasAnyScope(token.scopes, scopes)) {
      next(
        new ApiError(403, `Insufficient scope, expected any of: ${scopes.join(',')}`, 'insufficient_scope'),
      )
      return
    }
    next()
  }
}

const expiredMessage = 'Expired token received for JSON Web Token validation'

function unauthorized(message: string): ApiError {
  return new ApiError(401, message, undefined, { attributes: { error: message } })
}

export interface AuditDeps {
  audit: AuditLog
  clock: Clock
  logger: Logger
}

/**
 * Records every call once it is answered: who (token name), what (action, target), where (method and path),
 * whether it was allowed (not a 401/403) and the status. A failed audit write is logged, never the caller's
 * problem: the answer is already sent.
 */
export function auditCalls({ audit, clock, logger }: AuditDeps): RequestHandler {
  return (req, res, next) => {
    const startedMs = Date.now()
    const where = `${req.method} ${req.originalUrl.split('?')[0]}`
    res.once('finish', () => {
      const call = state(res)
      const status = res.statusCode
      const actor = call.token?.name ?? 'anonymous'
      logger.info('api request', { where, status, actor, action: call.action, ms: Date.now() - startedMs })
      audit
        .record({
          at: clock.now().toISOString(),
          actor: { via: 'api', id: actor },
          action: call.action,
          ...(call.target === undefined ? {} : { target: call.target }),
          where,
          allowed: status !== 401 && status !== 403,
          detail: String(status),
        })
        .catch((error) => logger.error('audit write failed', { where, error }))
    })
    next()
  }
}
