import type { StoredUser } from '../../domain/users/user.ts'
import type { UserJson } from '../../engine/ports.ts'
import { AppError } from '../../errors.ts'

/**
 * A page of users as COPY's binary format sends them (`ord`, `rev::text`, `doc::text` per row), turned into the
 * JSON `scanJson` hands out: see src/adapters/postgres/user-scan.ts.
 */

const signature = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1')
const quote = 0x22
const backslash = 0x5c
const comma = 0x2c
const openBrace = 0x7b
const closeBrace = 0x7d
const colon = 0x3a
const space = 0x20
const revKey = Buffer.from('"rev":')
const decoder = new TextDecoder()

/** Digits of a rev at most: revs are commit seqs, below 2^53. */
export const maxRevDigits = 16

/**
 * One page of COPY's binary output. Where each row's fields are is found when the page arrives (a walk over the
 * length prefixes, the revs' digits set aside); each user's JSON is made in place the first time it is iterated,
 * so that work falls between the caller's event-loop turns, not in one stretch per page.
 */
export class JsonPage implements Iterable<UserJson> {
  readonly count: number
  /** The last row's `ord`, where the next page starts. */
  readonly lastOrd: string
  /** Per row: doc's text `[docAt, docAt + docLength)`, then the made JSON `[docAt, ends)`. */
  private readonly docAt: Int32Array
  private readonly docLength: Int32Array
  private readonly ends: Int32Array
  /** Per row: its rev's digits at `maxRevDigits * row`, how many in `revLength`. */
  private readonly revDigits: Uint8Array
  private readonly revLength: Uint8Array
  private made = 0

  /** `bytes[0, length)`: the COPY output, with at least `maxRevDigits + 8` bytes of room after it. */
  constructor(
    readonly bytes: Buffer,
    length: number,
  ) {
    if (length < 21 || !bytes.subarray(0, 11).equals(signature)) throw damaged('not a binary COPY')
    let at = 19 + bytes.readUInt32BE(15)
    const rows: number[] = []
    // Where the last row's `ord` is: read once, after the walk (a BigInt and its text per row cost ~3% of an export).
    let lastOrdAt = -1
    for (;;) {
      // Bounded by `length`: a reused buffer holds an older page's bytes after it.
      if (at + 2 > length) throw damaged('cut short')
      const fields = bytes.readInt16BE(at)
      if (fields === -1) break
      if (fields !== 3 || bytes.readInt32BE(at + 2) !== 8) throw damaged('unexpected row')
      lastOrdAt = at + 6
      const revLength = bytes.readInt32BE(at + 14)
      if (revLength < 1 || revLength > maxRevDigits) throw damaged('unexpected rev')
      const docLength = bytes.readInt32BE(at + 18 + revLength)
      rows.push(at + 18, revLength, at + 22 + revLength, docLength)
      at += 22 + revLength + docLength
      if (docLength < 0 || at > length) throw damaged('cut short')
    }
    const count = rows.length / 4
    this.count = count
    this.lastOrd = lastOrdAt < 0 ? '0' : bytes.readBigInt64BE(lastOrdAt).toString()
    this.docAt = new Int32Array(count)
    this.docLength = new Int32Array(count)
    this.ends = new Int32Array(count)
    this.revDigits = new Uint8Array(count * maxRevDigits)
    this.revLength = new Uint8Array(count)
    for (let i = 0; i < count; i++) {
      const revAt = rows[4 * i] as number
      const revLength = rows[4 * i + 1] as number
      for (let d = 0; d < revLength; d++) this.revDigits[i * maxRevDigits + d] = bytes[revAt + d] as number
      this.revLength[i] = revLength
      this.docAt[i] = rows[4 * i + 2] as number
      this.docLength[i] = rows[4 * i + 3] as number
    }
  }

  *[Symbol.iterator](): Iterator<UserJson> {
    let row = 0
    // One item, reused (as the port allows): the caller reads it before asking for the next.
    const item = { bytes: this.bytes as Uint8Array, start: 0, end: 0, user: () => this.user(row) }
    for (; row < this.count; row++) {
      if (row === this.made) this.make(row)
      item.start = this.docAt[row] as number
      item.end = this.ends[row] as number
      yield item
    }
  }

  /**
   * Row `row`'s JSON, in place: jsonb's text compacted (it only shrinks), then `,"rev":<digits>}` over its closing
   * brace. That tail may run past the doc into the next row's framing (at most 7 + 16 bytes, where the framing
   * before the next doc is at least 23), which was read in the constructor; after the last row there is room.
   */
  private make(row: number): void {
    const bytes = this.bytes
    const from = this.docAt[row] as number
    const to = from + (this.docLength[row] as number)
    let at = spacedAfterFirstKey(bytes, from, to) ? compact(bytes, from, to) : to
    if (at - from < 2 || bytes[from] !== openBrace || bytes[at - 1] !== closeBrace)
      throw damaged('not an object')
    at -= 1
    if (bytes[at - 1] !== openBrace) bytes[at++] = comma
    revKey.copy(bytes, at)
    at += revKey.length
    const digits = row * maxRevDigits
    const revLength = this.revLength[row] as number
    for (let d = 0; d < revLength; d++) bytes[at++] = this.revDigits[digits + d] as number
    bytes[at++] = closeBrace
    this.ends[row] = at
    this.made = row + 1
  }

  /** The user as `scan` yields it: `{ ...doc, rev }`. */
  private user(row: number): StoredUser {
    const text = decoder.decode(this.bytes.subarray(this.docAt[row], this.ends[row]))
    return JSON.parse(text) as StoredUser
  }
}

/**
 * Whether the text is jsonb's (`{"key": …`, a space after every separator) rather than JSON.stringify's
 * (`{"key":…`), told by its first key alone: both write every separator alike.
 */
function spacedAfterFirstKey(bytes: Uint8Array, from: number, to: number): boolean {
  if (bytes[from] !== openBrace || bytes[from + 1] !== quote) return false
  for (let i = from + 2; i < to; i++) {
    const byte = bytes[i]
    if (byte === backslash) i++
    else if (byte === quote) return bytes[i + 1] === colon && bytes[i + 2] === space
  }
  return false
}

/** Drops the whitespace outside strings from `bytes[from, to)`, in place; where the text now ends. */
function compact(bytes: Uint8Array, from: number, to: number): number {
  let at = from
  let inString = false
  for (let i = from; i < to; i++) {
    const byte = bytes[i] as number
    if (inString) {
      bytes[at++] = byte
      if (byte === backslash) bytes[at++] = bytes[++i] as number
      else if (byte === quote) inString = false
    } else if (byte > space) {
      bytes[at++] = byte
      if (byte === quote) inString = true
    }
  }
  return at
}

function damaged(what: string): AppError {
  return new AppError('store_invalid', `PostgreSQL sent a page of users Roster cannot read (${what}).`)
}
