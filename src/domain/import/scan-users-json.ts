/**
 * One pass over the bytes of a JSON array or NDJSON users file that says what JSON.parse would say of it (accept or
 * refuse) without building a value, and where each user's JSON is. `roster import --split` cuts a file into parts
 * with it: the file is parsed once, part by part, by the engine that imports the parts, and is still refused whole
 * (before any part is imported) when any of it is not JSON or nests too deep.
 *
 * A fast path only: undefined means "not this way", never a verdict. The caller then reads the file whole, which
 * either refuses it with the line, column and fix, or reads what this pass does not take (CSV, one line of NDJSON).
 * The bytes must be valid UTF-8 (checked apart, in C++): bytes of 0x80 and above are then parts of characters, which
 * JSON allows only inside strings.
 */

export interface ScannedUsers {
  format: 'json' | 'ndjson'
  /** `[start, end)` byte offsets of each user's JSON, in file order, without the spaces around it. */
  spans: Int32Array
  /** 1 where a user's JSON has a line break between its tokens (a pretty-printed file): a line must not. */
  multiline: Uint8Array
}

// What the scanner expects next.
const value = 0
const valueOrClose = 1 // after `[`
const keyOrClose = 2 // after `{`
const key = 3 // after `,` in an object
const colon = 4
const commaOrClose = 5
const lineEnd = 6 // NDJSON, after a line's value

/** JSON's whitespace: space, line feed, carriage return, tab (a byte, or a UTF-16 unit: the same codes). */
export const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09
const isDigit = (b: number) => b >= 0x30 && b <= 0x39
const isHex = (b: number) => isDigit(b) || (b >= 0x61 && b <= 0x66) || (b >= 0x41 && b <= 0x46)

/** Where a string that opens at `i` (its quote) ends (after its closing quote), or -1 if JSON refuses it. */
function stringEnd(bytes: Uint8Array, i: number): number {
  const n = bytes.length
  let at = i + 1
  for (;;) {
    if (at >= n) return -1
    const b = bytes[at] as number
    if (b === 0x22) return at + 1
    if (b === 0x5c) {
      const e = bytes[at + 1]
      if (e === 0x75) {
        for (let k = 2; k < 6; k++) if (!isHex(bytes[at + k] ?? 0)) return -1
        at += 6
      } else if (
        e === 0x22 ||
        e === 0x5c ||
        e === 0x2f ||
        e === 0x62 ||
        e === 0x66 ||
        e === 0x6e ||
        e === 0x72 ||
        e === 0x74
      )
        at += 2
      else return -1
    } else if (b < 0x20) return -1
    else at++
  }
}

/** Where a number that starts at `i` ends, or -1 (JSON's grammar: `-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?`). */
function numberEnd(bytes: Uint8Array, i: number): number {
  let at = i
  if (bytes[at] === 0x2d) at++
  if (bytes[at] === 0x30) at++
  else if (isDigit(bytes[at] ?? 0)) while (isDigit(bytes[at] ?? 0)) at++
  else return -1
  if (bytes[at] === 0x2e) {
    at++
    if (!isDigit(bytes[at] ?? 0)) return -1
    while (isDigit(bytes[at] ?? 0)) at++
  }
  if (bytes[at] === 0x65 || bytes[at] === 0x45) {
    at++
    if (bytes[at] === 0x2b || bytes[at] === 0x2d) at++
    if (!isDigit(bytes[at] ?? 0)) return -1
    while (isDigit(bytes[at] ?? 0)) at++
  }
  return at
}

const literals = [
  [0x74, Buffer.from('true')],
  [0x66, Buffer.from('false')],
  [0x6e, Buffer.from('null')],
] as const

function literalEnd(bytes: Uint8Array, i: number): number {
  for (const [first, word] of literals) {
    if (bytes[i] !== first) continue
    for (let k = 1; k < word.length; k++) if (bytes[i + k] !== word[k]) return -1
    return i + word.length
  }
  return -1
}

/**
 * The users of `bytes` (a JSON array of values, or NDJSON: one value per non-blank line), or undefined when
 * JSON.parse would refuse the file (or a line), it nests deeper than `maxDepth` brackets below a user (the
 * array around the users and the user's own brackets come on top), it holds no user, or it is neither form.
 */
export function scanUsersJson(bytes: Uint8Array, maxDepth: number): ScannedUsers | undefined {
  let i = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0
  while (i < bytes.length && isSpace(bytes[i] as number)) i++
  if (bytes[i] === 0x5b) return scan(bytes, i + 1, 'json', maxDepth + 2)
  if (bytes[i] === 0x7b) return scan(bytes, i, 'ndjson', maxDepth + 1)
  return undefined
}

function scan(
  bytes: Uint8Array,
  from: number,
  format: 'json' | 'ndjson',
  maxDepth: number,
): ScannedUsers | undefined {
  const n = bytes.length
  const lines = format === 'ndjson'
  // The brackets open around the current position: 1 for `{`, 0 for `[`. A JSON array file's own `[` is depth 1.
  const opened = new Uint8Array(maxDepth + 1)
  const userDepth = lines ? 0 : 1
  let depth = userDepth
  let expect = lines ? value : valueOrClose
  const spans: number[] = []
  const multiline: number[] = []
  let userStart = -1
  let brokenLine = 0
  let closed = false
  let i = from
  while (i < n) {
    const b = bytes[i] as number
    if (isSpace(b)) {
      if (b === 0x0a || b === 0x0d) {
        if (lines && b === 0x0a) {
          // NDJSON: a line break ends the line's value; inside one it is an error (JSON.parse reads one line).
          if (userStart >= 0) return undefined
          if (expect === lineEnd) expect = value
        }
        if (userStart >= 0) brokenLine = 1
      }
      i++
      continue
    }
    if (closed) return undefined // anything after a JSON array file's closing `]`
    if (expect === lineEnd) return undefined // a second value on one line
    if (expect === commaOrClose) {
      if (b === 0x2c) {
        expect = opened[depth] === 1 ? key : value
        i++
        continue
      }
      if (b !== (opened[depth] === 1 ? 0x7d : 0x5d)) return undefined
      i++
      depth--
      ended()
      continue
    }
    if (expect === colon) {
      if (b !== 0x3a) return undefined
      expect = value
      i++
      continue
    }
    if (expect === keyOrClose || expect === key) {
      if (b === 0x7d && expect === keyOrClose) {
        i++
        depth--
        ended()
        continue
      }
      if (b !== 0x22) return undefined
      i = stringEnd(bytes, i)
      if (i < 0) return undefined
      expect = colon
      continue
    }
    // A value (or, after `[`, the `]` of an empty array).
    if (b === 0x5d && expect === valueOrClose) {
      i++
      depth--
      ended()
      continue
    }
    if (depth === userDepth) {
      userStart = i
      brokenLine = 0
    }
    if (b === 0x7b || b === 0x5b) {
      if (depth + 1 > maxDepth) return undefined
      depth++
      opened[depth] = b === 0x7b ? 1 : 0
      expect = b === 0x7b ? keyOrClose : valueOrClose
      i++
      continue
    }
    if (b === 0x22) i = stringEnd(bytes, i)
    else if (b === 0x2d || isDigit(b)) i = numberEnd(bytes, i)
    else i = literalEnd(bytes, i)
    if (i < 0) return undefined
    ended()
  }
  // NDJSON ends between lines (not inside a value cut short), with two users or more.
  if (lines ? depth !== 0 || userStart >= 0 || spans.length < 4 : !closed || spans.length === 0)
    return undefined
  return { format, spans: Int32Array.from(spans), multiline: Uint8Array.from(multiline) }

  /** A value ended at `i` (its last byte at i - 1): notes a user's span, and what may come next. */
  function ended(): void {
    if (depth === userDepth && userStart >= 0) {
      spans.push(userStart, i)
      multiline.push(brokenLine)
      userStart = -1
    }
    if (!lines && depth === 0) closed = true
    expect = lines && depth === 0 ? lineEnd : commaOrClose
  }
}
