import { describe, expect, it } from 'vitest'
import { fullBucket, isRefilled, takeFromBucket } from '../../src/domain/api/token-bucket.ts'

/** Auth0's token bucket: burst = limit, refilled at limit per second; what the x-ratelimit-* headers say. */

const t0 = Date.parse('2026-11-27T10:00:00.000Z')

function takeMany(limit: number, count: number, nowMs: number, bucket = fullBucket(limit, nowMs)) {
  const decisions = []
  for (let i = 0; i < count; i++) {
    const decision = takeFromBucket(bucket, limit, nowMs)
    decisions.push(decision)
    bucket = decision.bucket
  }
  return decisions
}

describe('takeFromBucket', () => {
  it('allows a burst of `limit` requests, counting down remaining, then refuses', () => {
    const decisions = takeMany(3, 4, t0)
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false])
    expect(decisions.map((d) => d.remaining)).toEqual([2, 1, 0, 0])
    expect(decisions.every((d) => d.limit === 3)).toBe(true)
  })

  it('refills at `limit` per second: one more request after 1/limit second', () => {
    const drained = takeMany(4, 4, t0).at(-1)?.bucket
    if (!drained) throw new Error('no bucket')
    expect(takeFromBucket(drained, 4, t0 + 200).allowed).toBe(false)
    expect(takeFromBucket(drained, 4, t0 + 250).allowed).toBe(true)
  })

  it('says in x-ratelimit-reset (epoch seconds, rounded up) when the next request is available', () => {
    const drained = takeMany(2, 3, t0 + 100)
    const refused = drained[2]
    // Empty at t0+100ms, one request back 500 ms later: t0+600ms, rounded up to the next whole second.
    expect(refused?.resetEpochSeconds).toBe(t0 / 1000 + 1)
    if (!refused) throw new Error('no decision')
    expect(takeFromBucket(refused.bucket, 2, refused.resetEpochSeconds * 1000).allowed).toBe(true)
  })

  it('never holds more than the burst, however long it was idle', () => {
    const drained = takeMany(2, 2, t0).at(-1)?.bucket
    if (!drained) throw new Error('no bucket')
    const later = takeMany(2, 3, t0 + 3_600_000, drained)
    expect(later.map((d) => d.allowed)).toEqual([true, true, false])
    expect(isRefilled(drained, 2, t0 + 999)).toBe(false)
    expect(isRefilled(drained, 2, t0 + 1000)).toBe(true)
  })
})
