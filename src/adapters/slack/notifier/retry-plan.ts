/**
 * What to do when a Slack call fails: pure, over the error codes @slack/web-api documents (stable strings, so no
 * runtime import of its classes). By the time an error gets here the WebClient has already retried it on its own
 * (and honoured Retry-After); the notifier's outbox retries on a longer scale, until Slack answers.
 */

export type Failure =
  /** Retrying cannot help (the channel or message is gone, the content is refused): log, and drop the notification. */
  | { kind: 'permanent'; reason: string }
  /**
   * Slack is down, slow, rate limiting or erroring: try again later, however long it takes. `unreachable`: Slack
   * did not answer at all (network, HTTP 5xx), so the notification goes as soon as Slack answers anything again.
   */
  | { kind: 'transient'; reason: string; retryAfterMs?: number; unreachable?: true }
  /** Not a Slack error (a bug, a file we could not read): retried a few times, then dropped. */
  | { kind: 'unknown'; reason: string }

/**
 * `ok:false` errors about this one message or place. Errors about the whole app (`invalid_auth`, `token_revoked`,
 * `missing_scope`, `account_inactive`) are not here: an admin fixes the token or the scopes, and the notifications
 * kept meanwhile go out then.
 */
const permanentErrors = new Set([
  // Not here: `file_not_found` from files.completeUploadExternal means the bytes did not land; the whole upload
  // is retried, with new file ids.
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'channel_is_archived',
  'message_not_found',
  'cant_update_message',
  'edit_window_closed',
  'thread_not_found',
  'cannot_reply_to_message',
  'msg_too_long',
  'no_text',
  'invalid_blocks',
  'invalid_blocks_format',
  'invalid_attachments',
  'too_many_attachments',
  'invalid_arguments',
  'user_not_found',
  'user_not_in_channel',
  'restricted_action',
  'restricted_action_read_only_channel',
  'restricted_action_thread_only_channel',
  'restricted_action_non_threadable_channel',
  'posting_to_general_channel_denied',
  'file_uploads_disabled',
  'file_upload_size_restricted',
  'file_type_not_allowed',
  'missing_argument',
])

interface CodedError {
  code?: unknown
  data?: { error?: unknown }
  retryAfter?: unknown
  statusCode?: unknown
  message?: unknown
}

export function classifySlackError(error: unknown): Failure {
  const e = (typeof error === 'object' && error !== null ? error : {}) as CodedError
  const message = typeof e.message === 'string' ? e.message : String(error)
  switch (e.code) {
    case 'slack_webapi_platform_error': {
      const code = typeof e.data?.error === 'string' ? e.data.error : 'unknown_error'
      return permanentErrors.has(code)
        ? { kind: 'permanent', reason: code }
        : { kind: 'transient', reason: code }
    }
    case 'slack_webapi_rate_limited_error':
      return {
        kind: 'transient',
        reason: 'ratelimited',
        ...(typeof e.retryAfter === 'number' ? { retryAfterMs: e.retryAfter * 1000 } : {}),
      }
    case 'slack_webapi_http_error':
      return {
        kind: 'transient',
        reason: `http_${typeof e.statusCode === 'number' ? e.statusCode : 'error'}`,
        unreachable: true,
      }
    case 'slack_webapi_request_error':
      return { kind: 'transient', reason: 'network', unreachable: true }
  }
  // The WebClient's last attempt after a 429 fails with a plain Error naming the Retry-After it honoured.
  const rateLimit = /rate limit was exceeded.*retry-after: (\d+)/i.exec(message)
  if (rateLimit)
    return { kind: 'transient', reason: 'ratelimited', retryAfterMs: Number(rateLimit[1]) * 1000 }
  // A failed POST of a file's bytes to its upload URL (step 2 of files upload v2).
  if (/^Failed to upload file|^No upload url found/.test(message)) {
    return { kind: 'transient', reason: 'upload_failed', unreachable: true }
  }
  return { kind: 'unknown', reason: message }
}

export interface RetryTiming {
  /** Wait after the first failure; doubled at each further one. Default 1000 ms. */
  baseMs: number
  /** Longest wait between two tries. Default 300000 ms (5 min). */
  capMs: number
  /** Tries of a notification that failed for a reason that is not Slack's, before it is dropped. Default 5. */
  maxUnknownAttempts: number
  /**
   * While notifications wait because Slack did not answer, how often a cheap call (`auth.test`) asks whether it
   * answers again; when it does, they go at once instead of at the end of their backoff. Default 2000 ms.
   */
  probeIntervalMs: number
}

export const defaultRetryTiming: RetryTiming = {
  baseMs: 1000,
  capMs: 300_000,
  maxUnknownAttempts: 5,
  probeIntervalMs: 2000,
}

/** Exponential backoff, capped; never sooner than Slack's Retry-After. `attempt` counts failures so far (≥ 1). */
export function retryDelayMs(attempt: number, timing: RetryTiming, retryAfterMs = 0): number {
  const backoff = Math.min(timing.capMs, timing.baseMs * 2 ** Math.min(30, Math.max(0, attempt - 1)))
  return Math.max(backoff, retryAfterMs)
}
