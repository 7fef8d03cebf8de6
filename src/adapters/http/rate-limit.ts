import type { RequestHandler } from 'express'
import {
  type Bucket,
  type BucketDecision,
  fullBucket,
  isRefilled,
  takeFromBucket,
} from '../../domain/api/token-bucket.ts'
import type { Engine } from '../../engine/engine.ts'
import { actAs, bearerSecret } from './api-auth.ts'
import { ApiError } from './api-errors.ts'

/** Buckets kept before full ones are forgotten (a full bucket is the same as none). */
const sweepAtBuckets = 10_000

export interface RateLimits {
  /** API_RATE_LIMIT: requests a second per caller (token, client, or address without a valid token). */
  perCaller?: number | undefined
  /** API_TENANT_RATE_LIMIT: requests a second all callers together. */
  perTenant?: number | undefined
}

/** Where the 429 goes: `/api/v2` answers Auth0's envelope, `/oauth/token` OAuth's `{error, error_description}`. */
type Surface = 'management' | 'token'

/**
 * Auth0's rate limiting: each caller — each API token, each API client (all its access tokens together), and each
 * address for calls without a valid token — has a bucket of `perCaller` requests refilled at `perCaller` a second,
 * and with `perTenant` set the whole API has one more bucket that every call also takes from (Auth0's limits are
 * tenant-wide). Every answer carries `x-ratelimit-limit`, `-remaining` and `-reset` (epoch seconds) of the tighter
 * bucket; over either limit, 429 with Auth0's body. No `Retry-After`: whether Auth0's Management API sends one is
 * unconfirmed, and clients (the SDK v5.1+) read `x-ratelimit-reset`. Buckets live in memory: a restart starts them
 * full, as a new second would. The token endpoint gets its own instance (Auth0 limits it apart from the Management
 * API); there callers are told apart by address, the body not being read yet.
 */
export function rateLimit(
  engine: Engine,
  limits: RateLimits,
  surface: Surface = 'management',
): RequestHandler {
  const buckets = new Map<string, Bucket>()
  let tenant: Bucket | undefined
  const { clock } = engine.ctx
  return (req, res, next) => {
    const nowMs = clock.now().getTime()
    const secret = surface === 'management' ? bearerSecret(req) : undefined
    const check = secret === undefined ? undefined : engine.authenticate(secret)
    // The audit names the caller even when the answer is a 429 (requireScopes, which names it otherwise, never runs).
    if (check?.ok) actAs(res, check.caller)
    // Every bucket that applies: [where it is kept, its decision].
    const taken: { save: (bucket: Bucket) => void; decision: BucketDecision }[] = []
    if (limits.perCaller !== undefined) {
      const perSecond = limits.perCaller
      const key = check?.ok ? `caller:${check.caller.id}` : `address:${req.socket.remoteAddress ?? ''}`
      if (buckets.size >= sweepAtBuckets) {
        for (const [name, bucket] of buckets) if (isRefilled(bucket, perSecond, nowMs)) buckets.delete(name)
      }
      const decision = takeFromBucket(buckets.get(key) ?? fullBucket(perSecond, nowMs), perSecond, nowMs)
      taken.push({ save: (bucket) => buckets.set(key, bucket), decision })
    }
    if (limits.perTenant !== undefined) {
      const perSecond = limits.perTenant
      const decision = takeFromBucket(tenant ?? fullBucket(perSecond, nowMs), perSecond, nowMs)
      taken.push({ save: (bucket) => (tenant = bucket), decision })
    }
    const refused = taken.find((entry) => !entry.decision.allowed)?.decision
    // A refused call costs no quota anywhere: the buckets that would have let it through get their request back.
    for (const { save, decision } of taken) {
      save(
        refused && decision.allowed
          ? { ...decision.bucket, tokens: decision.bucket.tokens + 1 }
          : decision.bucket,
      )
    }
    const decisions = taken.map((entry) => entry.decision)
    const shown = refused ?? tightest(decisions)
    if (shown) {
      res.setHeader('x-ratelimit-limit', String(shown.limit))
      res.setHeader('x-ratelimit-remaining', String(shown.remaining))
      res.setHeader('x-ratelimit-reset', String(shown.resetEpochSeconds))
    }
    if (!refused) return next()
    if (surface === 'token') {
      res.status(429).json({ error: 'too_many_requests', error_description: 'Global limit has been reached' })
      return
    }
    next(new ApiError(429, 'Global limit has been reached', 'too_many_requests'))
  }
}

function tightest(decisions: readonly BucketDecision[]): BucketDecision | undefined {
  return decisions.reduce<BucketDecision | undefined>(
    (best, decision) => (best === undefined || decision.remaining < best.remaining ? decision : best),
    undefined,
  )
}
