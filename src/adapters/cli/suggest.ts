/**
 * "Did you mean …?" for the CLI: the candidate closest to what was typed, when it is close enough to be a typo
 * (a case-only difference always is). Pure; used for commands, options and connection names.
 */
export function closest(typed: string, candidates: readonly string[]): string | undefined {
  const lower = typed.toLowerCase()
  let best: { candidate: string; distance: number } | undefined
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase())
    if (best === undefined || distance < best.distance) best = { candidate, distance }
  }
  if (best === undefined) return undefined
  // Two edits for a short word, a third of its length for a long one: `conection`, `--dryrun`, `Username-Pasword-…`.
  const allowed = Math.max(2, Math.floor(typed.length / 3))
  return best.distance <= allowed ? best.candidate : undefined
}

/** ` (did you mean X?)`, or nothing. */
export function didYouMean(typed: string, candidates: readonly string[], prefix = ''): string {
  const match = closest(typed, candidates)
  return match === undefined ? '' : ` (did you mean ${prefix}${match}?)`
}

/** Levenshtein distance, with a swap of two neighbours counted as one edit (`improt`). */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1
  const cols = b.length + 1
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  )
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      const row = d[i] as number[]
      const above = d[i - 1] as number[]
      let best = Math.min(
        (above[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (above[j - 1] as number) + cost,
      )
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, ((d[i - 2] as number[])[j - 2] as number) + 1)
      }
      row[j] = best
    }
  }
  return (d[a.length] as number[])[b.length] as number
}
