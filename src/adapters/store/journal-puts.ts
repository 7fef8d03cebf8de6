import { isUtf8 } from 'node:buffer'

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
const tab = 0x09
const putsKey = Buffer.from('"puts"')

export interface PutRanges {
  /** Each put's start, relative to the line's start, and its length. */
  starts: number[]
  lengths: number[]
}

/** The ranges of the `count` puts of the record line `bytes[start, end)`. */
export function findPuts(bytes: Buffer, start: number, end: number, count: number): PutRanges | undefined {
  const open = putsOpen(bytes, start, end)
  return open === -1 ? undefined : elements(bytes, start, open, end, count)
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

/**
 * A record line read without parsing its users (`readCommitLine`): the store opens a journal as it opens a
 * snapshot, with each user's keys taken from its bytes and the user parsed (and checked) only when it is read.
 */
export interface CommitLine {
  /** The record's text with its puts left out (`"puts":[]`): the envelope to parse and check. */
  envelope: string
  ranges: PutRanges
  /**
   * Per put, where its `user_id`, `connection_id`, `email` and `username` strings are in the line's bytes (quotes
   * included), as start and end pairs: 8 numbers a put, -1 and -1 for a user without a username.
   */
  keys: number[]
}

const keyNames = ['"user_id"', '"connection_id"', '"email"', '"username"'].map((name) => Buffer.from(name))
/** How deep a user's values may nest for this path; a deeper one is read the slow way. */
const maxDepth = 64

/**
 * The line `bytes[start, end)` as `encodeCommit` writes it (JSON.stringify's layout: no spaces; each put an object
 * whose keys are plain strings), or undefined for any other line: it is then parsed whole, which refuses it or reads
 * it. A key taken here is the bytes JSON.stringify writes for it (valid UTF-8, no escape), so the index finds the user
 * by it exactly as it would after parsing. Only the bracket structure of the users is checked here, not their JSON.
 */
export function readCommitLine(bytes: Buffer, start: number, end: number): CommitLine | undefined {
  if (!isUtf8(bytes.subarray(start, end))) return undefined
  const open = putsOpen(bytes, start, end)
  if (open === -1) return undefined
  const ranges: PutRanges = { starts: [], lengths: [] }
  const keys: number[] = []
  let i = open
  if (bytes[i] !== closeBracket) {
    for (;;) {
      const after = putEnd(bytes, i, end, keys)
      if (after === -1) return undefined
      ranges.starts.push(i - start)
      ranges.lengths.push(after - i)
      i = after
      if (bytes[i] === closeBracket) break
      if (bytes[i] !== comma) return undefined
      i += 1
    }
  }
  return { envelope: bytes.toString('utf8', start, open) + bytes.toString('utf8', i, end), ranges, keys }
}

/**
 * The keys of one put, `bytes[start, end)`, as `snapshotKeys` writes them (a tab after each, the username empty
 * when there is none), taken from its bytes as `readCommitLine` takes them; or undefined when it would decline the
 * put (the caller then parses it).
 */
export function putKeys(bytes: Buffer, start: number, end: number): Buffer | undefined {
  const spans: number[] = []
  if (putEnd(bytes, start, end, spans) !== end || !isUtf8(bytes.subarray(start, end))) return undefined
  const keys = Buffer.allocUnsafe(keysLength(spans, 0))
  writeKeys(bytes, spans, 0, keys)
  return keys
}

/** How many bytes `writeKeys` writes for the put whose key places start at `spans[first]`. */
export function keysLength(spans: readonly number[], first: number): number {
  let length = 4
  for (let k = first; k < first + 8; k += 2) length += (spans[k + 1] as number) - (spans[k] as number)
  return length
}

/**
 * The keys of a put as `snapshotKeys` writes them (each followed by a tab, the username empty when there is none),
 * copied from `bytes` at the places `spans[first…first + 8)` into `target` from its start; answers their length.
 */
export function writeKeys(bytes: Buffer, spans: readonly number[], first: number, target: Buffer): number {
  let at = 0
  for (let k = first; k < first + 8; k += 2) {
    const keyStart = spans[k] as number
    if (keyStart !== -1) at += bytes.copy(target, at, keyStart, spans[k + 1] as number)
    target[at++] = tab
  }
  return at
}

/** Where the elements of the record's top-level `"puts":[` start, or -1. */
function putsOpen(bytes: Buffer, start: number, end: number): number {
  let depth = 0
  for (let i = start; i < end; i++) {
    const byte = bytes[i]
    if (byte === quote) {
      const close = stringEnd(bytes, i, end)
      if (close === -1) return -1
      if (
        depth === 1 &&
        close - i + 1 === putsKey.length &&
        putsKey.compare(bytes, i, close + 1) === 0 &&
        bytes[close + 1] === colon &&
        bytes[close + 2] === openBracket
      )
        return close + 3
      i = close
    } else if (byte === openBrace || byte === openBracket) depth += 1
    else if (byte === closeBrace || byte === closeBracket) depth -= 1
  }
  return -1
}

/** Whether the string `bytes[open, close]` (its quotes) holds neither a backslash nor a control character. */
function plainString(bytes: Buffer, open: number, close: number): boolean {
  for (let j = open + 1; j < close; j++) {
    const byte = bytes[j] as number
    if (byte === backslash || byte < 0x20) return false
  }
  return true
}

const opened = new Uint8Array(maxDepth + 1)

/** Which of `keyNames` the key `bytes[at, after)` is (quotes included), or -1. */
function keyIndex(bytes: Buffer, at: number, after: number): number {
  const second = bytes[at + 1]
  for (let k = 0; k < keyNames.length; k++) {
    const name = keyNames[k] as Buffer
    if (name.length === after - at && name[1] === second && name.compare(bytes, at, after) === 0) return k
  }
  return -1
}

/**
 * After the put (an object) that starts at `i`, or -1 when it is not one as `encodeCommit` writes it; pushes the
 * places of its key strings onto `keys`. Brackets must pair; keys at its top level must be plain strings, and each
 * of the four a plain string value once, `user_id`, `connection_id` and `email` present.
 */
function putEnd(bytes: Buffer, i: number, end: number, keys: number[]): number {
  if (bytes[i] !== openBrace) return -1
  const first = keys.length
  keys.push(-1, -1, -1, -1, -1, -1, -1, -1)
  let depth = 1
  opened[1] = openBrace
  let atKey = true
  for (let at = i + 1; at < end; ) {
    const byte = bytes[at] as number
    if (byte === quote) {
      const close = stringEnd(bytes, at, end)
      if (close === -1) return -1
      const after = close + 1
      if (depth > 1 || !atKey) {
        at = after
        continue
      }
      // A key of the user's own.
      if (!plainString(bytes, at, close) || bytes[after] !== colon) return -1
      atKey = false
      const which = keyIndex(bytes, at, after)
      if (which === -1) {
        at = after
        continue
      }
      const slot = first + 2 * which
      const valueClose = bytes[after + 1] === quote ? stringEnd(bytes, after + 1, end) : -1
      if (keys[slot] !== -1 || valueClose === -1 || !plainString(bytes, after + 1, valueClose)) return -1
      keys[slot] = after + 1
      keys[slot + 1] = valueClose + 1
      at = valueClose + 1
      continue
    }
    if (byte === openBrace || byte === openBracket) {
      if (depth === maxDepth) return -1
      depth += 1
      opened[depth] = byte
    } else if (byte === closeBrace || byte === closeBracket) {
      if (opened[depth] !== (byte === closeBrace ? openBrace : openBracket)) return -1
      depth -= 1
      if (depth === 0) {
        if (atKey || keys[first] === -1 || keys[first + 2] === -1 || keys[first + 4] === -1) return -1
        return at + 1
      }
    } else if (byte === comma && depth === 1) {
      if (atKey) return -1
      atKey = true
    }
    at += 1
  }
  return -1
}
