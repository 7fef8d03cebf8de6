/**
 * Retries of Slack calls that do not go through the WebClient (which retries on its own): the `response_url`
 * behind Bolt's `respond()` — Bolt posts it once and throws `RespondError` on any non-2xx — and file downloads.
 * Same policy as the WebClient's `retryConfig`: exponential backoff from `minTimeoutMs`, 429 waits Retry-After.
 */

export interface SlackRetry {
  /** Retries after the first try. Production 3; tests use 0 or a few with tiny timeouts. */
  retries: number
  /** Wait before the first retry; doubled at each further one. Default 500 ms. */
  minTimeoutMs: number
  /** Longest wait between two tries. Default 10000 ms. */
  maxTimeoutMs: number
}

export const defaultSlackRetry: SlackRetry = { retries: 3, minTimeoutMs: 500, maxTimeoutMs: 10_000 }

/** The wait before retry number `attempt` (≥ 1). */
export function backoffMs(attempt: number, retry: SlackRetry): number {
  return Math.min(retry.maxTimeoutMs, retry.minTimeoutMs * 2 ** Math.min(30, Math.max(0, attempt - 1)))
}

/** `Retry-After` in seconds (Slack never sends the HTTP-date form), as milliseconds; undefined when absent. */
export function retryAfterMs(header: string | null): number | undefined {
  if (header === null || !/^\d+$/.test(header.trim())) return undefined
  return Number(header.trim()) * 1000
}

/** Worth trying again: rate limited, or Slack erred or did not answer. A 4xx other than 429 will not change. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500
}

/**
 * `fetch` with retries on network errors, 429 (after its Retry-After) and 5xx. Resolves with the last response
 * (which the caller judges), or rejects with the last network error. `init` is called per try: a body stream
 * cannot be sent twice.
 */
export async function fetchWithRetry(
  url: string | URL,
  init: () => RequestInit,
  retry: SlackRetry,
): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    let waitMs: number
    try {
      const response = await fetch(url, init())
      if (!isRetryableStatus(response.status) || attempt >= retry.retries) return response
      await response.body?.cancel().catch(() => undefined)
      waitMs =
        (response.status === 429 ? retryAfterMs(response.headers.get('retry-after')) : undefined) ??
        backoffMs(attempt + 1, retry)
    } catch (error) {
      if (attempt >= retry.retries) throw error
      waitMs = backoffMs(attempt + 1, retry)
    }
    await new Promise((resolve) => setTimeout(resolve, waitMs))
  }
}
