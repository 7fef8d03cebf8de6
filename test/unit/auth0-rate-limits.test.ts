import { AuthApiError, ManagementError } from 'auth0'
import { describe, expect, it } from 'vitest'
import { mapBounded, rateLimitWaitMs, withRateLimitRetry } from '../../src/adapters/auth0/rate-limits.ts'

function tooMany(headers: Record<string, string>): ManagementError {
  return new ManagementError({
    statusCode: 429,
    body: { statusCode: 429, error: 'Too Many Requests', message: 'Global limit has been reached' },
    rawResponse: {
      headers: new Headers(headers),
      status: 429,
      statusText: '',
      url: '',
      redirected: false,
      type: 'basic',
    },
  })
}

describe('rateLimitWaitMs', () => {
  const now = 1_700_000_000_000
  it('waits until x-ratelimit-reset (epoch seconds), plus jitter', () => {
    const headers = new Headers({ 'x-ratelimit-reset': String(now / 1000 + 2) })
    expect(rateLimitWaitMs(headers, now, () => 0)).toBe(2000)
    expect(rateLimitWaitMs(headers, now, () => 1)).toBe(2400)
  })
  it('prefers Retry-After, and caps the wait at 60 s', () => {
    expect(rateLimitWaitMs(new Headers({ 'retry-after': '3', 'x-ratelimit-reset': '1' }), now, () => 0)).toBe(
      3000,
    )
    expect(rateLimitWaitMs(new Headers({ 'retry-after': '600' }), now, () => 0)).toBe(60_000)
  })
  it('waits 1 s when the 429 says nothing', () => {
    expect(rateLimitWaitMs(undefined, now, () => 0)).toBe(1000)
  })
})

describe('withRateLimitRetry', () => {
  it('waits out 429s the SDK gave up on, as their headers say', async () => {
    let now = 0
    const waits: number[] = []
    let attempts = 0
    const result = await withRateLimitRetry(
      async () => {
        attempts++
        if (attempts < 3) throw tooMany({ 'x-ratelimit-reset': String(now / 1000 + 1) })
        return 'ok'
      },
      {
        nowMs: () => now,
        sleep: async (ms) => {
          waits.push(ms)
          now += ms
        },
      },
    )
    expect(result).toBe('ok')
    expect(waits).toHaveLength(2)
  })
  it('gives up once waiting would pass giveUpAfterMs, with the last 429', async () => {
    let now = 0
    const call = withRateLimitRetry(async () => Promise.reject(tooMany({ 'retry-after': '1' })), {
      giveUpAfterMs: 5_000,
      nowMs: () => now,
      sleep: async (ms) => {
        now += ms
      },
    })
    await expect(call).rejects.toMatchObject({ statusCode: 429 })
  })
  it('retries a 5xx of a call safe to repeat with a growing wait, but never one that is not', async () => {
    const unavailable = () => new ManagementError({ statusCode: 503, body: { message: 'down' } })
    const waits: number[] = []
    let attempts = 0
    const sleep = async (ms: number) => {
      waits.push(ms)
    }
    const result = await withRateLimitRetry(
      async () => {
        attempts++
        if (attempts < 4) throw unavailable()
        return 'ok'
      },
      { sleep },
    )
    expect(result).toBe('ok')
    expect(waits).toEqual([500, 1000, 2000])
    attempts = 0
    const submission = withRateLimitRetry(
      async () => {
        attempts++
        throw unavailable()
      },
      { sleep, idempotent: false },
    )
    await expect(submission).rejects.toMatchObject({ statusCode: 503 })
    expect(attempts).toBe(1)
  })
  it('retries a failed token request even for a call that is not safe to repeat: the call was never sent', async () => {
    let attempts = 0
    const result = await withRateLimitRetry(
      async () => {
        attempts++
        if (attempts === 1)
          throw new AuthApiError('temporarily_unavailable', 'down', 503, '{}', new Headers())
        return 'sent'
      },
      { sleep: async () => undefined, idempotent: false },
    )
    expect(result).toBe('sent')
  })
  it('gives up a repeatable call after transientRetries', async () => {
    let attempts = 0
    const call = withRateLimitRetry(
      async () => {
        attempts++
        throw new ManagementError({ message: 'socket hang up' })
      },
      { sleep: async () => undefined, transientRetries: 2 },
    )
    await expect(call).rejects.toThrow('socket hang up')
    expect(attempts).toBe(3)
  })
  it('lets any other error through at once', async () => {
    await expect(withRateLimitRetry(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
  })
})

describe('mapBounded', () => {
  it('keeps at most `concurrency` calls in flight and returns results in order', async () => {
    let inFlight = 0
    let most = 0
    const results = await mapBounded([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      inFlight++
      most = Math.max(most, inFlight)
      await Promise.resolve()
      await Promise.resolve()
      inFlight--
      return n * 10
    })
    expect(results).toEqual([10, 20, 30, 40, 50, 60, 70])
    expect(most).toBe(3)
  })
  it('throws the first failure', async () => {
    await expect(mapBounded([1, 2], 2, async (n) => Promise.reject(new Error(`no ${n}`)))).rejects.toThrow(
      'no 1',
    )
  })
})
