/** Small statistics for benchmark samples. Pure: no I/O, so test/unit can check it. */

export interface Summary {
  median: number
  min: number
  max: number
  runs: number
}

/** The q-quantile (0 ≤ q ≤ 1) by linear interpolation between the closest ranks; NaN for no samples. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN
  const sorted = [...samples].sort((a, b) => a - b)
  const position = Math.min(Math.max(q, 0), 1) * (sorted.length - 1)
  const below = Math.floor(position)
  const above = Math.ceil(position)
  const low = sorted[below] as number
  const high = sorted[above] as number
  return low + (high - low) * (position - below)
}

export const median = (samples: readonly number[]): number => quantile(samples, 0.5)

export function summarize(samples: readonly number[]): Summary {
  return {
    median: median(samples),
    min: samples.length === 0 ? Number.NaN : Math.min(...samples),
    max: samples.length === 0 ? Number.NaN : Math.max(...samples),
    runs: samples.length,
  }
}
