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
 * Gathers one page of COPY's binary output as its chunks arrive, and finds where each row's fields are as it goes:
 * each chunk's rows are walked in the 'data' event that brings them, so no single event-loop turn walks a whole
 * page (5,000 users, ~3 MB: 10–80 ms in one stretch on a busy machine when it was walked at the end).
 */
export class JsonPageReader {
  private bytes: Buffer
  private length = 0
  /** Where the next row (or the header) starts; -1 until the header is read. */
  private at = -1
  private ended = false
  private count = 0
  private lastOrdAt = -1
  private docAt: Int32Array
  private docLength: Int32Array
  private revDigits: Uint8Array
  private revLength: Uint8Array

  /** `rows`: the page's size, room for that many rows at first; `into`: a buffer to reuse (the page before's). */
  constructor(rows: number, into?: Buffer) {
    this.bytes = into ?? Buffer.allocUnsafeSlow(64 * 1024)
    const capacity = Math.max(1, rows)
    this.docAt = new Int32Array(capacity)
    this.docLength = new Int32Array(capacity)
    this.revDigits = new Uint8Array(capacity * maxRevDigits)
    this.revLength = new Uint8Array(capacity)
  }

  push(chunk: Buffer): void {
    // Room after the last row for its `,"rev":…}` (JsonPage.make) is kept at all times.
    this.reserve(this.length + chunk.length + maxRevDigits + 8)
    this.length += chunk.copy(this.bytes, this.length)
    this.walk()
  }

  /** The page, once the COPY has ended. */
  finish(): JsonPage {
    if (this.at < 0) throw damaged('not a binary COPY')
    if (!this.ended) throw damaged('cut short')
    const n = this.count
    return new JsonPage(
      this.bytes,
      n,
      this.lastOrdAt < 0 ? '0' : this.bytes.readBigInt64BE(this.lastOrdAt).toString(),
      this.docAt.subarray(0, n),
      this.docLength.subarray(0, n),
      this.revDigits,
      this.revLength,
    )
  }

  private reserve(size: number): void {
    if (size <= this.bytes.length) return
    const grown = Buffer.allocUnsafeSlow(Math.max(size + (size >> 3), this.bytes.length * 2))
    this.bytes.copy(grown, 0, 0, this.length)
    this.bytes = grown
  }

  /** Every whole row from `at` on; a row cut by the chunk's end waits for the next chunk. */
  private walk(): void {
    const bytes = this.bytes
    const length = this.length
    let at = this.at
    if (at < 0) {
      if (length < 19) return
      if (!bytes.subarray(0, 11).equals(signature)) throw damaged('not a binary COPY')
      at = 19 + bytes.readUInt32BE(15)
    }
    while (!this.ended && at + 2 <= length) {
      const fields = bytes.readInt16BE(at)
      if (fields === -1) {
        this.ended = true
        break
      }
      if (at + 18 > length) break
      if (fields !== 3 || bytes.readInt32BE(at + 2) !== 8) throw damaged('unexpected row')
      const revLength = bytes.readInt32BE(at + 14)
      if (revLength < 1 || revLength > maxRevDigits) throw damaged('unexpected rev')
      if (at + 22 + revLength > length) break
      const docLength = bytes.readInt32BE(at + 18 + revLength)
      if (docLength < 0) throw damaged('unexpected doc')
      if (at + 22 + revLength + docLength > length) break
      this.row(at, revLength, docLength)
      at += 22 + revLength + docLength
    }
    this.at = at
  }

  private row(at: number, revLength: number, docLength: number): void {
    const i = this.count
    if (i === this.docAt.length) this.growRows()
    const digits = i * maxRevDigits
    for (let d = 0; d < revLength; d++) this.revDigits[digits + d] = this.bytes[at + 18 + d] as number
    this.revLength[i] = revLength
    this.docAt[i] = at + 22 + revLength
    this.docLength[i] = docLength
    this.lastOrdAt = at + 6
    this.count = i + 1
  }

  /** More rows than the page's size were sent (a caller's size is a hint): room for twice as many. */
  private growRows(): void {
    const grow = <T extends Int32Array | Uint8Array>(from: T, make: (n: number) => T): T => {
      const to = make(from.length * 2)
      to.set(from)
      return to
    }
    this.docAt = grow(this.docAt, (n) => new Int32Array(n))
    this.docLength = grow(this.docLength, (n) => new Int32Array(n))
    this.revDigits = grow(this.revDigits, (n) => new Uint8Array(n))
    this.revLength = grow(this.revLength, (n) => new Uint8Array(n))
  }
}

/**
 * One page of COPY's binary output, its rows located by JsonPageReader; each user's JSON is made in place the
 * first time it is iterated, so that work falls between the caller's event-loop turns, not in one stretch per page.
 */
export class JsonPage implements Iterable<UserJson> {
  /** Per row: the made JSON ends here (it starts at `docAt`). */
  private readonly ends: Int32Array
  private made = 0

  constructor(
    /** The COPY output, with at least `maxRevDigits + 8` bytes of room after it. */
    readonly bytes: Buffer,
    readonly count: number,
    /** The last row's `ord`, where the next page starts. */
    readonly lastOrd: string,
    /** Per row: doc's text `[docAt, docAt + docLength)`, then the made JSON `[docAt, ends)`. */
    private readonly docAt: Int32Array,
    private readonly docLength: Int32Array,
    /** Per row: its rev's digits at `maxRevDigits * row`, how many in `revLength`. */
    private readonly revDigits: Uint8Array,
    private readonly revLength: Uint8Array,
  ) {
    this.ends = new Int32Array(count)
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
   * before the next doc is at least 23), which JsonPageReader read before; after the last row there is room.
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
