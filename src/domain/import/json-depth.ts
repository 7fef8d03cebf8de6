/**
 * Where JSON text first nests deeper than `maxDepth` brackets (`[` and `{` outside strings), or -1. Read before
 * JSON.parse, in one pass over the text: a file of 50 MB of `[` would otherwise be built into 50 million arrays
 * before anything could refuse it. Syntax is JSON.parse's business; this only counts.
 */
export function deepNestingOffset(text: string, maxDepth: number, from = 0, to = text.length): number {
  let depth = 0
  let inString = false
  for (let i = from; i < to; i++) {
    const unit = text.charCodeAt(i)
    if (inString) {
      if (unit === 0x5c)
        i++ // a backslash escapes the next unit
      else if (unit === 0x22) inString = false
    } else if (unit === 0x22) inString = true
    else if (unit === 0x5b || unit === 0x7b) {
      depth++
      if (depth > maxDepth) return i
    } else if (unit === 0x5d || unit === 0x7d) depth--
  }
  return -1
}

/** `line L, column C` of an offset (both 1-based). */
export function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset)
  const line = before.split('\n').length
  const column = offset - before.lastIndexOf('\n')
  return `line ${line}, column ${column}`
}
