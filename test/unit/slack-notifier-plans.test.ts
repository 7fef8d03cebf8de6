import { describe, expect, it } from 'vitest'
import { milestoneOf, nextProgressAt, reserveSend } from '../../src/adapters/slack/notifier/rate-plan.ts'
import {
  classifySlackError,
  defaultRetryTiming,
  retryDelayMs,
} from '../../src/adapters/slack/notifier/retry-plan.ts'

const rule = { intervalMs: 1000, burst: 3 }

/** Send times of `count` messages all asked for at `nowMs`, one after the other. */
function sendTimes(count: number, nowMs = 0): number[] {
  let slot: ReturnType<typeof reserveSend>['slot'] | undefined
  const times: number[] = []
  for (let i = 0; i < count; i++) {
    const reserved = reserveSend(slot, nowMs, rule)
    slot = reserved.slot
    times.push(reserved.atMs)
  }
  return times
}

describe('channel budget', () => {
  it('lets a short burst through at once, then one message per second', () => {
    expect(sendTimes(6)).toEqual([0, 0, 0, 1000, 2000, 3000])
  })

  it('refills after a quiet spell', () => {
    const first = reserveSend(undefined, 0, rule)
    expect(reserveSend(first.slot, 10_000, rule).atMs).toBe(10_000)
  })

  it('keeps the sustained rate at one per second under steady demand', () => {
    let slot = reserveSend(undefined, 0, rule).slot
    const times: number[] = []
    for (let t = 100; t < 5000; t += 100) {
      const reserved = reserveSend(slot, t, rule)
      slot = reserved.slot
      times.push(reserved.atMs)
    }
    expect(times.filter((at) => at < 10_000).length).toBeLessThanOrEqual(12)
    for (let i = 3; i < times.length; i++)
      expect((times[i] ?? 0) - (times[i - 1] ?? 0)).toBeGreaterThanOrEqual(1000)
  })
})

describe('progress throttle', () => {
  it('updates a job at once the first time, then no more than every 1.5 s', () => {
    expect(nextProgressAt(undefined, 5000)).toBe(5000)
    expect(nextProgressAt(5000, 5200)).toBe(6500)
    expect(nextProgressAt(5000, 9000)).toBe(9000)
  })
})

describe('milestones', () => {
  it('marks half-way for big jobs only, and not once they are done', () => {
    expect(milestoneOf({ processed: 50_000, total: 100_000 })).toBe('halfway')
    expect(milestoneOf({ processed: 49_999, total: 100_000 })).toBeUndefined()
    expect(milestoneOf({ processed: 100_000, total: 100_000 })).toBeUndefined()
    expect(milestoneOf({ processed: 600, total: 1000 })).toBeUndefined()
  })
})

const platformError = (error: string) =>
  Object.assign(new Error(`An API error occurred: ${error}`), {
    code: 'slack_webapi_platform_error',
    data: { ok: false, error },
  })

describe('classifySlackError', () => {
  it('drops notifications Slack refuses for good', () => {
    for (const code of [
      'channel_not_found',
      'not_in_channel',
      'is_archived',
      'message_not_found',
      'invalid_blocks',
    ]) {
      expect(classifySlackError(platformError(code))).toEqual({ kind: 'permanent', reason: code })
    }
  })

  it('keeps those Slack may take later, auth problems included (an admin can fix them)', () => {
    for (const code of [
      'internal_error',
      'fatal_error',
      'service_unavailable',
      'ratelimited',
      'invalid_auth',
      'missing_scope',
    ]) {
      expect(classifySlackError(platformError(code))).toEqual({ kind: 'transient', reason: code })
    }
  })

  it('keeps HTTP errors, network errors (Slack did not answer) and rate limits, with their Retry-After', () => {
    expect(classifySlackError({ code: 'slack_webapi_http_error', statusCode: 503 })).toEqual({
      kind: 'transient',
      reason: 'http_503',
      unreachable: true,
    })
    expect(classifySlackError({ code: 'slack_webapi_request_error' })).toEqual({
      kind: 'transient',
      reason: 'network',
      unreachable: true,
    })
    expect(classifySlackError({ code: 'slack_webapi_rate_limited_error', retryAfter: 7 })).toEqual({
      kind: 'transient',
      reason: 'ratelimited',
      retryAfterMs: 7000,
    })
    const lastTry = new Error('A rate limit was exceeded (url: http://x/api/chat.update, retry-after: 3)')
    expect(classifySlackError(lastTry)).toEqual({
      kind: 'transient',
      reason: 'ratelimited',
      retryAfterMs: 3000,
    })
    expect(classifySlackError(new Error('Failed to upload file (id:F1, filename: a.csv)')).kind).toBe(
      'transient',
    )
  })

  it('treats anything else as unknown', () => {
    expect(classifySlackError(new Error('ENOENT: no such file'))).toEqual({
      kind: 'unknown',
      reason: 'ENOENT: no such file',
    })
  })
})

describe('retryDelayMs', () => {
  it('doubles from the base up to the cap', () => {
    const timing = { ...defaultRetryTiming, baseMs: 1000, capMs: 10_000 }
    expect([1, 2, 3, 4, 5, 40].map((attempt) => retryDelayMs(attempt, timing))).toEqual([
      1000, 2000, 4000, 8000, 10_000, 10_000,
    ])
  })

  it('never retries sooner than Retry-After', () => {
    expect(retryDelayMs(1, { ...defaultRetryTiming, baseMs: 100 }, 5000)).toBe(5000)
  })
})
