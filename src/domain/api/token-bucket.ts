/**
 * Auth0's rate limiting is a token bucket (reference auth0-management-api.md §2.2): the bucket holds `limit`
 * requests (the burst), refills at `limit` a second, and each request takes one. Pure: time comes in as epoch ms.
 */
export interface Bucket {
  /** Requests available, fractional while refilling. */
  tokens: number
  /** When `tokens` was last brought up to date (epoch ms). */
  atMs: number
}

export interface BucketDecision {
  allowed: boolean
  /** The headers Auth0 sends on every answer, throttled or not. */
  limit: number
  remaining: number
  /** Epoch seconds (rounded up) when at least one more request is available: what `x-ratelimit-reset` says. */
  resetEpochSeconds: number
  bucket: Bucket
}

export function fullBucket(limit: number, nowMs: number): Bucket {
  return { tokens: limit, atMs: nowMs }
}

/** Refills the bucket for the time since it was last used, then takes one request from it if one is there. */
export function takeFromBucket(bucket: Bucket, limit: number, nowMs: number): BucketDecision {
  const elapsedMs = Math.max(0, nowMs - bucket.atMs)
  const refilled = Math.min(limit, bucket.tokens + (elapsedMs * limit) / 1000)
  const allowed = refilled >= 1
  const tokens = allowed ? refilled - 1 : refilled
  // Time until the count of whole requests grows by one; a full bucket has nothing to wait for.
  const waitMs = tokens >= limit ? 0 : ((Math.floor(tokens) + 1 - tokens) * 1000) / limit
  return {
    allowed,
    limit,
    remaining: Math.floor(tokens),
    resetEpochSeconds: Math.ceil((nowMs + waitMs) / 1000),
    bucket: { tokens, atMs: nowMs },
  }
}

/** Whether the bucket would be full by `nowMs`: such a bucket can be forgotten and made again. */
export function isRefilled(bucket: Bucket, limit: number, nowMs: number): boolean {
  return bucket.tokens + ((nowMs - bucket.atMs) * limit) / 1000 >= limit
}
