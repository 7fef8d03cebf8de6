import type { RequestHandler } from 'express'
import { type Bucket, fullBucket, isRefilled, takeFromBucket } from '../../domain/api/token-bucket.ts'
import type { Engine } from '../../engine/engine.ts'
import { actAs, bearerSecret } from './api-auth.ts'
import { ApiError } from './api-errors.ts'

/** Buckets kept before full ones are forgotten (a full bucket is the same as none). */
const sweepAtBuckets = 10_000

/**
 * Auth0's rate limiting, per caller: each API token, each API client (all its access tokens together), and each
 * address for calls without a valid token, has a bucket of `perSecond` requests refilled at `perSecond` a second.
 * Every answer carries `x-ratelimit-limit`, `-remaining` and `-reset` (epoch seconds); over the limit, 429 with
 * Auth0's body. No `Retry-After`: whether Auth0's Management API sends one is unconfirmed, and clients (the SDK
 * v5.1+) read `x-ratelimit-reset`. Buckets live in memory: a restart starts them full, as a new second would.
 */
export function rateLimit(engine: Engine, perSecond: number): RequestHandler {
  const buckets = new Map<string, Bucket>()
  const { clock } = engine.ctx
  return (req, res, next) => {
    const nowMs = clock.now().getTime()
    const secret = bearerSecret(req)
    const check = secret === undefined ? undefined : engine.authenticate(secret)
    // The audit names the caller even when the answer is a 429 (requireScopes, which names it otherwise, never runs).
    if (check?.ok) actAs(res, check.caller)
    const key = check?.ok ? `caller:${check.caller.id}` : `address:${req.socket.remoteAddress ?? ''}`
    if (buckets.size >= sweepAtBuckets) {
      for (const [name, bucket] of buckets) if (isRefilled(bucket, perSecond, nowMs)) buckets.delete(name)
    }
    const decision = takeFromBucket(buckets.get(key) ?? fullBucket(perSecond, nowMs), perSecond, nowMs)
    buckets.set(key, decision.bucket)
    res.setHeader('x-ratelimit-limit', String(decision.limit))
    res.setHeader('x-ratelimit-remaining', String(decision.remaining))
    res.setHeader('x-ratelimit-reset', String(decision.resetEpochSeconds))
    if (!decision.allowed) {
      next(new ApiError(429, 'Global limit has been reached', 'too_many_requests'))
      return
    }
    next()
  }
}
