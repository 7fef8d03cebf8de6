/**
 * Reads a stored user's JSON text as bytes, without building the user: where each top-level value is, and what
 * kind it is. Exports copy those bytes instead of parsing the user and stringifying it again (JSON.parse is most of
 * an export's time). That is exact only for text that JSON.stringify writes back unchanged after JSON.parse reads
 * it, so the reader accepts nothing else: no whitespace, only the escapes JSON.stringify writes (`\"` `\\` `\b` `\f`
 * `\n` `\r` `\t`, not `\u`), numbers as JavaScript prints them, valid UTF-8, no key twice in an object, no key that
 * starts with a digit (JavaScript puts index-like keys first). The store writes users with JSON.stringify, so every
 * user it wrote passes; anything else answers false and the caller parses that user as before.
 */

/** What a value is. `absent`: the key is not there. */
export const Kind = {
  absent: 0,
  string: 1,
  number: 2,
  true: 3,
  false: 4,
  null: 5,
  object: 6,
  array: 7,
} as const
export type Kind = (typeof Kind)[keyof typeof Kind]

const quote = 0x22
const backslash = 0x5c
const comma = 0x2c
const colon = 0x3a
const minus = 0x2d
const dot = 0x2e
const zero = 0x30
const nine = 0x39
const openBrace = 0x7b
const closeBrace = 0x7d
const openBracket = 0x5b
const closeBracket = 0x5d
/** Deeper than this is left to JSON.parse. */
const maxDepth = 64
/** Keys of all objects being read, innermost last: checked for duplicates by hash and length. */
const maxOpenKeys = 4096

/** A value's bytes: `[start, end)`, quotes included for a string; `escaped` when a string holds a `\` escape. */
export interface ValueRange {
  kind: Kind
  start: number
  end: number
  escaped: boolean
}

/**
 * One reader per export: `read` one user at a time, then ask where the named top-level keys' values are. Nothing is
 * allocated per user.
 */
export class UserJsonReader {
  /** Per name given to the constructor, for the last user read: its value's kind (absent if none) and bytes. */
  readonly kinds: Uint8Array
  readonly starts: Int32Array
  readonly ends: Int32Array
  readonly escapes: Uint8Array

  private readonly nameBytes: Uint8Array[]
  private readonly nameHashes: Int32Array
  /** Open addressing by key hash: name index + 1, 0 empty. */
  private readonly nameTable: Uint8Array
  private readonly keyHashes = new Int32Array(maxOpenKeys)
  private readonly keyLengths = new Int32Array(maxOpenKeys)
  private openKeys = 0
  private bytes: Uint8Array = new Uint8Array(0)
  private pos = 0
  private end = 0
  private escaped = false
  private depth = 0

  constructor(names: readonly string[]) {
    const encoder = new TextEncoder()
    this.nameBytes = names.map((name) => encoder.encode(JSON.stringify(name).slice(1, -1)))
    this.nameHashes = Int32Array.from(this.nameBytes, (bytes) => keyHash(bytes, 0, bytes.length))
    if (names.length > 250) throw new Error('UserJsonReader: at most 250 names')
    let size = 16
    while (size < names.length * 4) size *= 2
    this.nameTable = new Uint8Array(size)
    this.nameHashes.forEach((hash, n) => {
      let cell = hash & (size - 1)
      while (this.nameTable[cell] !== 0) cell = (cell + 1) & (size - 1)
      this.nameTable[cell] = n + 1
    })
    this.kinds = new Uint8Array(names.length)
    this.starts = new Int32Array(names.length)
    this.ends = new Int32Array(names.length)
    this.escapes = new Uint8Array(names.length)
  }

  /** Reads the object `bytes[start, end)`. False: not canonical JSON (or not JSON at all); nothing else is valid. */
  read(bytes: Uint8Array, start: number, end: number): boolean {
    this.bytes = bytes
    this.pos = start
    this.end = end
    this.openKeys = 0
    this.depth = 0
    this.kinds.fill(Kind.absent)
    if (bytes[start] !== openBrace) return false
    return this.object(true) === Kind.object && this.pos === end
  }

  /** The value at `path` below the value of name `name` (its index), in `into`; kind absent when not there. */
  find(name: number, path: readonly (string | number)[], into: ValueRange): void {
    into.kind = this.kinds[name] as Kind
    into.start = this.starts[name] as number
    into.end = this.ends[name] as number
    into.escaped = this.escapes[name] === 1
    for (const segment of path) {
      if (into.kind !== Kind.object && into.kind !== Kind.array) {
        into.kind = Kind.absent
        return
      }
      this.descend(into, segment)
      if ((into.kind as Kind) === Kind.absent) return
    }
  }

  /**
   * Moves `into` (an object or array this reader has read) to its member `segment`. Canonical text has no
   * duplicates and no index-like keys, so the first key that matches is the one, and an index names no key.
   */
  private descend(into: ValueRange, segment: string | number): void {
    const bytes = this.bytes
    const isObject = into.kind === Kind.object
    // `identities.0` reads an element like `identities[0]`: a property key is a string either way.
    const index = typeof segment === 'number' ? segment : isIndex(segment) ? Number(segment) : undefined
    const key = typeof segment === 'string' ? encodeKey(segment) : undefined
    this.pos = into.start + 1
    this.end = into.end
    this.depth = 0
    into.kind = Kind.absent
    if (isObject ? typeof segment === 'number' : index === undefined) return
    if (bytes[this.pos] === (isObject ? closeBrace : closeBracket)) return
    for (let i = 0; ; i++) {
      let matches = !isObject && i === index
      if (isObject) {
        const keyStart = this.pos + 1
        this.pos = keyStart
        this.string()
        matches = key !== undefined && sameBytes(bytes, keyStart, this.pos - 1, key)
        this.pos += 1 // the colon
      }
      const start = this.pos
      const kind = this.value()
      if (matches) {
        into.kind = kind
        into.start = start
        into.end = this.pos
        into.escaped = this.escaped
        return
      }
      if (bytes[this.pos] !== comma) return
      this.pos += 1
    }
  }

  /** At `{`: reads the object, recording named keys when `top`. Kind.absent when it is not canonical. */
  private object(top: boolean): Kind {
    const bytes = this.bytes
    if (++this.depth > maxDepth) return Kind.absent
    const firstKey = this.openKeys
    this.pos += 1
    if (bytes[this.pos] === closeBrace) {
      this.pos += 1
      this.depth -= 1
      return Kind.object
    }
    for (;;) {
      if (bytes[this.pos] !== quote) return Kind.absent
      const keyStart = this.pos + 1
      const first = bytes[keyStart] as number
      if (first >= zero && first <= nine) return Kind.absent
      this.pos = keyStart
      if (!this.string()) return Kind.absent
      const keyEnd = this.pos - 1
      const hash = keyHash(bytes, keyStart, keyEnd)
      const length = keyEnd - keyStart
      for (let k = firstKey; k < this.openKeys; k++) {
        if (this.keyHashes[k] === hash && this.keyLengths[k] === length) return Kind.absent
      }
      if (this.openKeys === maxOpenKeys) return Kind.absent
      this.keyHashes[this.openKeys] = hash
      this.keyLengths[this.openKeys] = length
      this.openKeys += 1
      if (bytes[this.pos] !== colon) return Kind.absent
      this.pos += 1
      const start = this.pos
      const kind = this.value()
      if (kind === Kind.absent) return Kind.absent
      if (top) this.record(hash, keyStart, keyEnd, kind, start)
      const next = bytes[this.pos]
      this.pos += 1
      if (next === closeBrace) break
      if (next !== comma) return Kind.absent
    }
    this.openKeys = firstKey
    this.depth -= 1
    return Kind.object
  }

  private record(hash: number, keyStart: number, keyEnd: number, kind: Kind, start: number): void {
    const table = this.nameTable
    const mask = table.length - 1
    for (let cell = hash & mask; table[cell] !== 0; cell = (cell + 1) & mask) {
      const n = (table[cell] as number) - 1
      if (this.nameHashes[n] !== hash) continue
      if (!sameBytes(this.bytes, keyStart, keyEnd, this.nameBytes[n] as Uint8Array)) continue
      this.kinds[n] = kind
      this.starts[n] = start
      this.ends[n] = this.pos
      this.escapes[n] = this.escaped ? 1 : 0
      return
    }
  }

  private array(): Kind {
    const bytes = this.bytes
    if (++this.depth > maxDepth) return Kind.absent
    this.pos += 1
    if (bytes[this.pos] === closeBracket) {
      this.pos += 1
      this.depth -= 1
      return Kind.array
    }
    for (;;) {
      if (this.value() === Kind.absent) return Kind.absent
      const next = bytes[this.pos]
      this.pos += 1
      if (next === closeBracket) break
      if (next !== comma) return Kind.absent
    }
    this.depth -= 1
    return Kind.array
  }

  /** Reads one value from `pos`; Kind.absent when it is not canonical. */
  private value(): Kind {
    const bytes = this.bytes
    const first = bytes[this.pos]
    this.escaped = false
    if (first === quote) {
      this.pos += 1
      return this.string() ? Kind.string : Kind.absent
    }
    if (first === openBrace) return this.object(false)
    if (first === openBracket) return this.array()
    if (first === 0x74) return this.literal(literalTrue, Kind.true)
    if (first === 0x66) return this.literal(literalFalse, Kind.false)
    if (first === 0x6e) return this.literal(literalNull, Kind.null)
    return this.number()
  }

  /** After the opening quote: through the closing quote. */
  private string(): boolean {
    const bytes = this.bytes
    const end = this.end
    let escaped = false
    let pos = this.pos
    for (;;) {
      // Runs of plain bytes in a tight loop: it stops at the latest at the line's newline (a control byte) or
      // past the array's end (undefined), and the bounds are checked after.
      let type = byteTypes[bytes[pos] as number]
      while (type === plainByte) type = byteTypes[bytes[++pos] as number]
      if (pos >= end) return false
      pos += 1
      if (type === quoteByte) break
      if (type === controlByte) return false
      if (type === backslashByte) {
        // The escapes JSON.stringify writes for these characters; `\u` (and `\/`) it would write otherwise.
        if (!canonicalEscapes.has(bytes[pos] as number)) return false
        pos += 1
        escaped = true
      } else {
        pos = utf8End(bytes, pos - 1, end)
        if (pos === -1) return false
      }
    }
    this.pos = pos
    this.escaped = escaped
    return true
  }

  private literal(expected: readonly number[], kind: Kind): Kind {
    for (let i = 0; i < expected.length; i++) {
      if (this.bytes[this.pos + i] !== expected[i]) return Kind.absent
    }
    this.pos += expected.length
    return kind
  }

  /** A number as JavaScript prints it (what JSON.stringify writes): `1.50`, `1e3` and `-0` are not. */
  private number(): Kind {
    const bytes = this.bytes
    const start = this.pos
    let pos = start
    if (bytes[pos] === minus) pos += 1
    const digits = pos
    while (pos < this.end && (bytes[pos] as number) >= zero && (bytes[pos] as number) <= nine) pos += 1
    if (pos === digits) return Kind.absent
    const plainEnd = pos
    while (pos < this.end && isNumberByte(bytes[pos] as number)) pos += 1
    this.pos = pos
    const integerDigits = plainEnd - digits
    if (pos === plainEnd && integerDigits <= 15) {
      // An integer of at most 15 digits is printed as written, but for a leading zero and -0.
      if (bytes[digits] === zero && (integerDigits > 1 || digits > start)) return Kind.absent
      return Kind.number
    }
    let text = ''
    for (let i = start; i < pos; i++) text += String.fromCharCode(bytes[i] as number)
    const value = Number(text)
    return Number.isFinite(value) && String(value) === text ? Kind.number : Kind.absent
  }
}

const plainByte = 0
const quoteByte = 1
const backslashByte = 2
const controlByte = 3
const multiByte = 4
/** What each byte is inside a string: one table lookup per byte decides the common case. */
const byteTypes = new Uint8Array(256).map((_, byte) =>
  byte === quote
    ? quoteByte
    : byte === backslash
      ? backslashByte
      : byte < 0x20
        ? controlByte
        : byte >= 0x80
          ? multiByte
          : plainByte,
)
/** `\"` `\\` `\b` `\f` `\n` `\r` `\t`. */
const canonicalEscapes = new Set([quote, backslash, 0x62, 0x66, 0x6e, 0x72, 0x74])

const literalTrue = [0x74, 0x72, 0x75, 0x65]
const literalFalse = [0x66, 0x61, 0x6c, 0x73, 0x65]
const literalNull = [0x6e, 0x75, 0x6c, 0x6c]

function isNumberByte(byte: number): boolean {
  return (
    (byte >= zero && byte <= nine) ||
    byte === dot ||
    byte === 0x65 ||
    byte === 0x45 ||
    byte === 0x2b ||
    byte === minus
  )
}

/** The end of the UTF-8 sequence starting at `pos` (a byte ≥ 0x80), or -1 when it is not valid UTF-8. */
function utf8End(bytes: Uint8Array, pos: number, end: number): number {
  const lead = bytes[pos] as number
  let length: number
  let min = 0x80
  let max = 0xbf
  if (lead >= 0xc2 && lead <= 0xdf) length = 2
  else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3
    if (lead === 0xe0) min = 0xa0
    else if (lead === 0xed) max = 0x9f // surrogates are not UTF-8
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4
    if (lead === 0xf0) min = 0x90
    else if (lead === 0xf4) max = 0x8f
  } else return -1
  if (pos + length > end) return -1
  const second = bytes[pos + 1] as number
  if (second < min || second > max) return -1
  for (let i = 2; i < length; i++) {
    const next = bytes[pos + i] as number
    if (next < 0x80 || next > 0xbf) return -1
  }
  return pos + length
}

/**
 * A cheap hash of a key: its length and five of its bytes. Keys that collide are only compared (names) or taken
 * for duplicates (the user is then parsed instead), so a collision costs time, never a wrong file.
 */
function keyHash(bytes: Uint8Array, start: number, end: number): number {
  const length = end - start
  if (length < 2) return length === 0 ? 0 : (bytes[start] as number)
  const ends = ((bytes[start] as number) << 24) | ((bytes[end - 1] as number) << 16)
  const inner =
    ((bytes[start + (length >> 1)] as number) << 8) |
    ((bytes[start + 1] as number) ^ (bytes[end - 2] as number))
  return Math.imul(length, 0x9e3779b1) ^ ends ^ inner
}

function sameBytes(bytes: Uint8Array, start: number, end: number, expected: Uint8Array): boolean {
  if (end - start !== expected.length) return false
  for (let i = 0; i < expected.length; i++) {
    if (bytes[start + i] !== expected[i]) return false
  }
  return true
}

/** A canonical array index, as a property key. */
function isIndex(key: string): boolean {
  return /^(0|[1-9]\d{0,8})$/.test(key)
}

const keyEncoder = new TextEncoder()
const encodedKeys = new Map<string, Uint8Array>()

/** A key as canonical text holds it between its quotes. */
function encodeKey(key: string): Uint8Array {
  let bytes = encodedKeys.get(key)
  if (bytes === undefined) {
    bytes = keyEncoder.encode(JSON.stringify(key).slice(1, -1))
    if (encodedKeys.size < 1024) encodedKeys.set(key, bytes)
  }
  return bytes
}
