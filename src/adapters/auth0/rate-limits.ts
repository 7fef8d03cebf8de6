import { AuthApiError, FetchError, ManagementError, ManagementTimeoutError, TimeoutError } from 'auth0'

/**
 * Living within Auth0's rate limits, and through its bad moments. The SDK already retries a 429 and a 5xx
 * (`maxRetries`, default 2), waiting as `Retry-After` or `x-ratelimit-reset` (epoch seconds) say; but with many
 * calls in flight against a small bucket (the Free plan's 2 a second) three attempts are not always enough, and the
 * SDK never retries a timeout, a dropped connection or a token request. So a call that still fails is tried again:
 * - a 429 (not accepted, whatever the call) after the wait its headers give, until `giveUpAfterMs` has passed;
 * - a failure of the token request (429, 5xx, timeout, no connection): the call itself was never sent;
 * - a 5xx, 408, timeout or dropped connection of the call itself only when it is `idempotent` (reads, deletes,
 *   PATCHes of fixed values): an import submission may have been accepted before the answer was lost, and sending
 *   it again blindly could import it twice (the import engine decides instead). These wait 0.5 s, 1 s, 2 s… (at
 *   most 8 s), `transientRetries` times.
 */
export interface RateLimitOptions {
  /** How long, in all, to keep waiting on 429s and failures before the call fails. Default 120 s. */
  giveUpAfterMs?: number
  /** Retries after a 5xx, timeout or dropped connection (beyond the SDK's own). Default 4. */
  transientRetries?: number
  nowMs?: () => number
  sleep?: (ms: number) => Promise<void>
}

export interface CallRetryOptions extends RateLimitOptions {
  /** Safe to send again after a 5xx or a timeout whose outcome is unknown. Default true. */
  idempotent?: boolean
}

const maxWaitMs = 60_000
const fallbackWaitMs = 1_000
const transientFirstWaitMs = 500
const transientMaxWaitMs = 8_000

export async function withRateLimitRetry<T>(
  call: () => Promise<T>,
  {
    giveUpAfterMs = 120_000,
    transientRetries = 4,
    idempotent = true,
    nowMs = Date.now,
    sleep = defaultSleep,
  }: CallRetryOptions = {},
): Promise<T> {
  const deadline = nowMs() + giveUpAfterMs
  let failures = 0
  for (;;) {
    try {
      return await call()
    } catch (error) {
      const kind = failureKind(error)
      let waitMs: number
      if (kind === 'rate_limited') {
        waitMs = rateLimitWaitMs(headersOf(error), nowMs())
      } else if (kind === 'token' || (kind === 'transient' && idempotent)) {
        if (failures >= transientRetries) throw error
        waitMs = Math.min(transientFirstWaitMs * 2 ** failures, transientMaxWaitMs)
        failures++
      } else {
        throw error
      }
      if (nowMs() + waitMs > deadline) throw error
      await sleep(waitMs)
    }
  }
}

/**
 * What a failure says about trying again: `rate_limited` (a 429: not carried out), `token` (the token request
 * failed for a reason that may pass: the call was never sent), `transient` (a 5xx, 408, timeout or lost connection
 * of the call: it may or may not have been carried out), `final` (anything else: a refusal to fix, not to retry).
 * A timeout comes as a ManagementError without a status as often as a ManagementTimeoutError.
 */
export function failureKind(error: unknown): 'rate_limited' | 'token' | 'transient' | 'final' {
  if (error instanceof AuthApiError) {
    const status = error.statusCode
    return status === 429 || status === 408 || status >= 500 ? 'token' : 'final'
  }
  if (error instanceof FetchError || error instanceof TimeoutError) return 'token'
  if (error instanceof ManagementTimeoutError) return 'transient'
  if (error instanceof ManagementError) {
    const status = error.statusCode
    if (status === 429) return 'rate_limited'
    if (status === undefined || status === 408 || status >= 500) return 'transient'
  }
  return 'final'
}

function headersOf(error: unknown): Headers | undefined {
  return error instanceof ManagementError ? error.rawResponse?.headers : undefined
}

/**
 * How long a 429's headers say to wait: `Retry-After` (seconds or an HTTP date), else `x-ratelimit-reset` (epoch
 * seconds), else 1 s; plus up to 20 % jitter so parallel callers do not all come back in the same millisecond.
 */
export function rateLimitWaitMs(headers: Headers | undefined, nowMs: number, random = Math.random): number {
  const base = headerWaitMs(headers, nowMs) ?? fallbackWaitMs
  const clamped = Math.min(Math.max(base, 50), maxWaitMs)
  return Math.round(clamped * (1 + 0.2 * random()))
}

function headerWaitMs(headers: Headers | undefined, nowMs: number): number | undefined {
  const retryAfter = headers?.get('retry-after')
  if (retryAfter) {
    const seconds = Number(retryAfter)
    if (Number.isFinite(seconds)) return seconds * 1000
    const at = Date.parse(retryAfter)
    if (!Number.isNaN(at)) return at - nowMs
  }
  const reset = Number(headers?.get('x-ratelimit-reset') ?? Number.NaN)
  if (Number.isFinite(reset) && reset > 0) return reset * 1000 - nowMs
  return undefined
}

/**
 * `fn` over `items` with at most `concurrency` calls in flight; results in the order of `items`. The first
 * failure stops new calls from starting and is thrown once those in flight have settled.
 */
export async function mapBounded<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  let failure: { error: unknown } | undefined
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const index = next++
      try {
        results[index] = await fn(items[index] as T, index)
      } catch (error) {
        failure ??= { error }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker))
  if (failure) throw failure.error
  return results
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
