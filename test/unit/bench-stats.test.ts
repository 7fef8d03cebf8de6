import { describe, expect, it } from 'vitest'
import { median, quantile, summarize } from '../../bench/support/stats.ts'

/** The benchmark's statistics (bench/support/stats.ts): the report's medians and percentiles rest on them. */
describe('bench stats', () => {
  it('interpolates quantiles between the closest ranks, whatever the input order', () => {
    const samples = [40, 10, 30, 20]
    expect(quantile(samples, 0)).toBe(10)
    expect(quantile(samples, 1)).toBe(40)
    expect(quantile(samples, 0.5)).toBe(25)
    expect(quantile(samples, 0.99)).toBeCloseTo(39.7)
    expect(samples).toEqual([40, 10, 30, 20])
  })

  it('takes the middle sample as the median of an odd count', () => {
    expect(median([5, 1, 3])).toBe(3)
    expect(median([7])).toBe(7)
  })

  it('gives p99 of 100 samples near the top, not the maximum', () => {
    const samples = Array.from({ length: 100 }, (_, i) => i + 1)
    expect(quantile(samples, 0.99)).toBeCloseTo(99.01)
    expect(quantile(samples, 0.5)).toBeCloseTo(50.5)
  })

  it('summarizes median, range and run count; NaN for no samples', () => {
    expect(summarize([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3, runs: 3 })
    const empty = summarize([])
    expect(empty.runs).toBe(0)
    expect(Number.isNaN(empty.median)).toBe(true)
    expect(Number.isNaN(quantile([], 0.5))).toBe(true)
  })
})
