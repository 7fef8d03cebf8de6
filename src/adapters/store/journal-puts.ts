/**
 * Where the users of a journal record are in its line: the index points at them there instead of keeping a copy.
 * A record is `JSON.stringify` of `{seq, jobId, chunk, puts: [users], deletes, meta}` (see `encodeCommit`); this
 * finds the top-level `"puts":[` and the bytes of each element, skipping strings as JSON does. Answers undefined
 * when the line is not shaped so (a hand-written record), and the caller keeps the users in memory instead.
 */

const quote = 0x22
const backslash = 0x5c
const colon = 0x3a
const comma = 0x2c
const openBrace = 0x7b
const closeBrace = 0x7d
const openBracket = 0x5b
const closeBracket = 0x5d
const putsKey = Buffer.from('"puts"')

export interface PutRanges {
  /** Each put's start, relative to the line's start, and its length. */
  starts: number[]
  lengths: number[]
}

/** The ranges of the `count` puts of the record line `bytes[start, end)`. */
export function findPuts(bytes: Buffer, start: number, end: number, count: number): PutRanges | undefined {
  let depth = 0
  for (let i = start; i < end; i++) {
    const byte = bytes[i]
    if (byte === quote) {
      const close = stringEnd(bytes, i, end)
      if (close === -1) return undefined
      if (
        depth === 1 &&
        close - i + 1 === putsKey.length &&
        putsKey.compare(bytes, i, close + 1) === 0 &&
        bytes[close + 1] === colon &&
        bytes[close + 2] === openBracket
      ) {
        return elements(bytes, start, close + 3, end, count)
      }
      i = close
    } else if (byte === openBrace || byte === openBracket) depth += 1
    else if (byte === closeBrace || byte === closeBracket) depth -= 1
  }
  return undefined
}

/** The position of the quote that closes the string opening at `i`, or -1. */
function stringEnd(bytes: Buffer, i: number, end: number): number {
  for (let j = i + 1; j < end; j++) {
    const byte = bytes[j]
    if (byte === backslash) j += 1
    else if (byte === quote) return j
  }
  return -1
}

function elements(
  bytes: Buffer,
  lineStart: number,
  from: number,
  end: number,
  count: number,
): PutRanges | undefined {
  const ranges: PutRanges = { starts: [], lengths: [] }
  if (bytes[from] === closeBracket) return count === 0 ? ranges : undefined
  let i = from
  for (;;) {
    const elementStart = i
    let depth = 0
    for (; i < end; i++) {
      const byte = bytes[i]
      if (byte === quote) {
        i = stringEnd(bytes, i, end)
        if (i === -1) return undefined
      } else if (byte === openBrace || byte === openBracket) depth += 1
      else if (byte === closeBrace || byte === closeBracket) {
        if (depth === 0) break
        depth -= 1
      } else if (byte === comma && depth === 0) break
    }
    if (i >= end || i === elementStart) return undefined
    ranges.starts.push(elementStart - lineStart)
    ranges.lengths.push(i - elementStart)
    if (bytes[i] === closeBracket) break
    i += 1
  }
  return ranges.starts.length === count ? ranges : undefined
}
