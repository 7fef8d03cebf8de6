import { ManagementError } from 'auth0'

/**
 * Living within Auth0's rate limits. The SDK already retries a 429 (`maxRetries`, default 2), waiting as
 * `Retry-After` or `x-ratelimit-reset` (epoch seconds) say; but with many calls in flight against a small bucket
 * (the Free plan's 2 a second) three attempts are not always enough. A call still refused after the SDK's retries
 * is tried again here, after the wait the headers of that last 429 give, until `giveUpAfterMs` has passed.
 */
export interface RateLimitOptions {
  /** How long, in all, to keep waiting on 429s before the call fails. Default 120 s. */
  giveUpAfterMs?: number
  nowMs?: () => number
  sleep?: (ms: number) => Promise<void>
}

const maxWaitMs = 60_000
const fallbackWaitMs = 1_000

export async function withRateLimitRetry<T>(
  call: () => Promise<T>,
  { giveUpAfterMs = 120_000, nowMs = Date.now, sleep = defaultSleep }: RateLimitOptions = {},
): Promise<T> {
  const deadline = nowMs() + giveUpAfterMs
  for (;;) {
    try {
      return await call()
    } catch (error) {
      if (!(error instanceof ManagementError) || error.statusCode !== 429) throw error
      const waitMs = rateLimitWaitMs(error.rawResponse?.headers, nowMs())
      if (nowMs() + waitMs > deadline) throw error
      await sleep(waitMs)
    }
  }
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
