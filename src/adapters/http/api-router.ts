import { Router } from 'express'
import type { FaultRule } from '../../domain/api/fault-rules.ts'
import type { Engine } from '../../engine/engine.ts'
import type { AuditLog } from '../../engine/ports.ts'
import type { Logger } from '../../logger.ts'
import { auditCalls } from './api-auth.ts'
import { ApiError, apiErrorHandler } from './api-errors.ts'
import { connectionsRoutes } from './connections-routes.ts'
import { downloadRoutes } from './downloads.ts'
import { faultInjection } from './fault-injection.ts'
import { jobsRoutes } from './jobs-routes.ts'
import { oauthTokenRoutes } from './oauth-token-route.ts'
import { rateLimit } from './rate-limit.ts'
import type { LinkSigner } from './signed-links.ts'
import { userDeleteRoutes } from './user-delete-route.ts'
import { usersRoutes } from './users-routes.ts'

export interface ApiDeps {
  engine: Engine
  audit: AuditLog
  logger: Logger
  limits: { importMaxBytes: number; maxActiveImports: number }
  signer: LinkSigner
  /** PUBLIC_URL, or http://localhost:<port> once the server listens. */
  publicUrl: () => string
  /**
   * Whether PUBLIC_URL is set. Unset, export `location`s are built from the Host the caller used, so a caller that
   * reached this Roster at some address (another machine, a forwarded port) can download from the same address.
   */
  publicUrlSet?: boolean
  /** Largest JSON or form body, in bytes. Default 64 KiB: an export request with 30 fields is under 10 KiB. */
  jsonMaxBytes?: number
  /** API_RATE_LIMIT: requests a second per caller on `/api/v2`. Undefined: no limit and no rate-limit headers. */
  rateLimitPerSecond?: number
  /** API_TENANT_RATE_LIMIT: requests a second across every caller, on `/api/v2` (and apart, on `/oauth/token`). */
  tenantRateLimitPerSecond?: number
  /** API_FAULTS, tests only: requests answered 5xx or left hanging. */
  faults?: readonly FaultRule[]
}

/**
 * Roster's Auth0-compatible Management API under `/api/v2`, its token endpoint `/oauth/token`, and the signed export
 * downloads. Routes translate and delegate to the engine; every answer, refusals included, is audit-logged and, when
 * it is an error, is Auth0's `{statusCode, error, message, errorCode}` (OAuth's `{error, error_description}` for
 * the token endpoint).
 */
export function createApiRouter(deps: ApiDeps): Router {
  const jsonMaxBytes = deps.jsonMaxBytes ?? 64 * 1024
  const audit = auditCalls({ audit: deps.audit, clock: deps.engine.ctx.clock, logger: deps.logger })
  const errors = apiErrorHandler(deps.logger)

  const faults = deps.faults?.length ? faultInjection(deps.faults, deps.logger) : undefined
  const limits = { perCaller: deps.rateLimitPerSecond, perTenant: deps.tenantRateLimitPerSecond }
  const limited = limits.perCaller !== undefined || limits.perTenant !== undefined

  const api = Router()
  api.use(audit)
  if (faults) api.use(faults)
  if (limited) api.use(rateLimit(deps.engine, limits))
  api.use(jobsRoutes({ ...deps, jsonMaxBytes }))
  api.use(connectionsRoutes(deps.engine))
  api.use(usersRoutes(deps.engine, jsonMaxBytes))
  api.use(userDeleteRoutes(deps.engine))
  api.use((_req, _res, next) => next(new ApiError(404, 'Not Found')))
  api.use(errors)

  const downloads = Router()
  downloads.use(audit)
  downloads.use(downloadRoutes(deps.engine, deps.signer))
  downloads.use(errors)

  const oauth = Router()
  oauth.use(audit)
  if (faults) oauth.use(faults)
  // Auth0 limits its token endpoint too (Free plan: 30 a second), apart from the Management API's buckets.
  if (limited) oauth.use(rateLimit(deps.engine, limits, 'token'))
  oauth.use(oauthTokenRoutes(deps.engine, { publicUrl: deps.publicUrl, logger: deps.logger }))

  const router = Router()
  router.use('/oauth', oauth)
  router.use('/api/v2', api)
  router.use('/downloads', downloads)
  return router
}
