/**
 * Reads a stored user's JSON text as bytes, without building the user: where each top-level value is, and what
 * kind it is. Exports copy those bytes instead of parsing the user and stringifying it again (JSON.parse is most of
 * an export's time). That is exact only for text that JSON.stringify writes back unchanged after JSON.parse reads
 * it, so the reader accepts nothing else: no whitespace, only the escapes JSON.stringify writes (`\"` `\\` `\b` `\f`
 * `\n` `\r` `\t`, not `\u`), numbers as JavaScript prints them, valid UTF-8, no key twice in a nested object nor a
 * named key twice at the top, no key that starts with a digit (JavaScript puts index-like keys first). The store
 * writes users with JSON.stringify, so every user it wrote passes; anything else answers false and the caller
 * parses that user as before.
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
 * allocated per user. The reader is written for speed (an export reads every byte of every user once): one loop
 * over the top-level members, one loop with an explicit stack for nested values, locals instead of fields.
 */
export class UserJsonReader {
  /** Per name given to the constructor, for the last user read: its value's kind (absent if none) and bytes. */
  readonly kinds: Uint8Array
  readonly starts: Int32Array
  readonly ends: Int32Array
  readonly escapes: Uint8Array
  /** Where the name's key starts (its opening quote): `bytes[keyStarts[n], ends[n])` is `"name":value`. */
  readonly keyStarts: Int32Array

  private readonly nameBytes: Uint8Array[]
  private readonly nameHashes: Int32Array
  /** Open addressing by key hash: name index + 1, 0 empty. */
  private readonly nameTable: Uint8Array
  /**
   * The name of the top-level key that last came first (cell 0), after name n (cell n + 1), after a key that is
   * not a name (the last cell); -1: not a name.
   */
  private readonly successors: Int16Array
  /** Keys of the nested objects being read, innermost last: checked for duplicates by hash and length. */
  private readonly keyHashes = new Int32Array(maxOpenKeys)
  private readonly keyLengths = new Int32Array(maxOpenKeys)
  /** Per open container: its first key in `keyHashes` (an object), or -1 (an array). */
  private readonly stack = new Int32Array(maxDepth)
  private openKeys = 0
  private bytes: Uint8Array = new Uint8Array(0)
  /** The bytes last read, four at a time (made again only for other bytes: a scan reuses one block). */
  view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0))
  /** Each name's bytes, zero-padded to a multiple of four, as words. */
  private readonly nameWords: Int32Array[]
  /** Set by `stringEnd`: whether the string it read holds a `\` escape. */
  private escaped = false

  constructor(names: readonly string[]) {
    const encoder = new TextEncoder()
    this.nameBytes = names.map((name) => encoder.encode(JSON.stringify(name).slice(1, -1)))
    this.nameWords = this.nameBytes.map((bytes) => {
      const padded = new Uint8Array(Math.ceil(bytes.length / 4) * 4)
      padded.set(bytes)
      const view = new DataView(padded.buffer)
      return Int32Array.from({ length: padded.length / 4 }, (_, i) => view.getInt32(4 * i, true))
    })
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
    this.keyStarts = new Int32Array(names.length)
    this.successors = new Int16Array(names.length + 2).fill(-1)
  }

  /**
   * Reads the object `bytes[start, end)`. False: not canonical JSON (or not JSON at all); nothing else is valid.
   * A top-level key that is not named may come twice: JSON.parse keeps the last, and no row holds it either way.
   */
  read(bytes: Uint8Array, start: number, end: number): boolean {
    if (bytes !== this.bytes) {
      this.bytes = bytes
      this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    }
    const kinds = this.kinds
    kinds.fill(Kind.absent)
    if (bytes[start] !== openBrace) return false
    let pos = start + 1
    if (bytes[pos] === closeBrace) return pos + 1 === end
    const successors = this.successors
    let after = 0
    for (;;) {
      const keyQuote = pos
      if (bytes[pos] !== quote) return false
      const keyStart = pos + 1
      const first = bytes[keyStart] as number
      if (first >= zero && first <= nine) return false
      // Users of one store mostly list their keys in one order: the name that came next last time is compared
      // first, which both ends the key and names it (its bytes are a whole string's, escapes included).
      let n = successors[after] as number
      const length = n >= 0 ? (this.nameBytes[n] as Uint8Array).length : -1
      if (n >= 0 && bytes[keyStart + length] === quote && this.isName(n, keyStart, length)) {
        pos = keyStart + length + 1
      } else {
        pos = this.stringEnd(bytes, keyStart, end)
        if (pos < 0) return false
        n = this.nameOf(bytes, keyStart, pos - 1)
        successors[after] = n
      }
      if (bytes[pos] !== colon) return false
      after = n >= 0 ? n + 1 : successors.length - 1
      pos += 1
      const valueStart = pos
      const kind = valueKinds[bytes[pos] as number] as Kind
      this.escaped = false
      if (kind === Kind.string) pos = this.stringEnd(bytes, pos + 1, end)
      else if (kind === Kind.object || kind === Kind.array) pos = this.nestedEnd(bytes, pos, end)
      else pos = scalarEnd(bytes, pos, end, kind)
      if (pos < 0) return false
      if (n >= 0) {
        if (kinds[n] !== Kind.absent) return false
        kinds[n] = kind
        this.starts[n] = valueStart
        this.ends[n] = pos
        this.escapes[n] = this.escaped ? 1 : 0
        this.keyStarts[n] = keyQuote
      }
      const next = bytes[pos]
      pos += 1
      if (next === closeBrace) return pos === end
      if (next !== comma) return false
    }
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

  /** Whether the `length` bytes at `start` are name n's (`length` is its length), compared four at a time. */
  private isName(n: number, start: number, length: number): boolean {
    const words = this.nameWords[n] as Int32Array
    const view = this.view
    const whole = length >> 2
    for (let i = 0; i < whole; i++) if (view.getInt32(start + 4 * i, true) !== words[i]) return false
    const bytes = this.bytes
    const last = words[whole] as number
    for (let i = whole * 4; i < length; i++) {
      if (bytes[start + i] !== ((last >>> (8 * (i & 3))) & 0xff)) return false
    }
    return true
  }

  /** The name index of key `bytes[start, end)`, or -1. */
  private nameOf(bytes: Uint8Array, start: number, end: number): number {
    const hash = keyHash(bytes, start, end)
    const table = this.nameTable
    const mask = table.length - 1
    for (let cell = hash & mask; table[cell] !== 0; cell = (cell + 1) & mask) {
      const n = (table[cell] as number) - 1
      if (this.nameHashes[n] === hash && sameBytes(bytes, start, end, this.nameBytes[n] as Uint8Array))
        return n
    }
    return -1
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
    let pos = into.start + 1
    const end = into.end
    into.kind = Kind.absent
    if (isObject ? typeof segment === 'number' : index === undefined) return
    if (bytes[pos] === (isObject ? closeBrace : closeBracket)) return
    for (let i = 0; ; i++) {
      let matches = !isObject && i === index
      if (isObject) {
        const keyStart = pos + 1
        pos = this.stringEnd(bytes, keyStart, end)
        matches = key !== undefined && sameBytes(bytes, keyStart, pos - 1, key)
        pos += 1 // the colon
      }
      const start = pos
      const kind = valueKinds[bytes[pos] as number] as Kind
      this.escaped = false
      if (kind === Kind.string) pos = this.stringEnd(bytes, pos + 1, end)
      else if (kind === Kind.object || kind === Kind.array) pos = this.nestedEnd(bytes, pos, end)
      else pos = scalarEnd(bytes, pos, end, kind)
      if (matches) {
        into.kind = kind
        into.start = start
        into.end = pos
        into.escaped = this.escaped
        return
      }
      if (bytes[pos] !== comma) return
      pos += 1
    }
  }

  /**
   * The end of the object or array at `pos` (canonical throughout, no key twice in an object), or -1. One loop
   * with a stack of the open containers: nested values are most of a user's bytes.
   */
  private nestedEnd(bytes: Uint8Array, pos: number, end: number): number {
    const stack = this.stack
    let depth = 0
    this.openKeys = 0
    for (;;) {
      // A value starts at pos.
      const kind = valueKinds[bytes[pos] as number] as Kind
      if (kind === Kind.object || kind === Kind.array) {
        if (depth === maxDepth) return -1
        pos += 1
        if (kind === Kind.object) {
          stack[depth++] = this.openKeys
          if (bytes[pos] === closeBrace) {
            pos += 1
            depth -= 1
          } else {
            pos = this.objectKey(bytes, pos, end, stack[depth - 1] as number)
            if (pos < 0) return -1
            continue
          }
        } else {
          stack[depth++] = -1
          if (bytes[pos] === closeBracket) {
            pos += 1
            depth -= 1
          } else continue
        }
      } else {
        pos = kind === Kind.string ? this.stringEnd(bytes, pos + 1, end) : scalarEnd(bytes, pos, end, kind)
        if (pos < 0) return -1
      }
      // After a value: the next member, or the end of its container (and of those it ends).
      for (;;) {
        if (depth === 0) return pos
        const firstKey = stack[depth - 1] as number
        const next = bytes[pos]
        pos += 1
        if (next === comma) {
          if (firstKey >= 0) {
            pos = this.objectKey(bytes, pos, end, firstKey)
            if (pos < 0) return -1
          }
          break
        }
        if (next !== (firstKey >= 0 ? closeBrace : closeBracket)) return -1
        if (firstKey >= 0) this.openKeys = firstKey
        depth -= 1
      }
    }
  }

  /** A nested object's key at `pos` and its colon: where its value starts, or -1 (not canonical, or a duplicate). */
  private objectKey(bytes: Uint8Array, pos: number, end: number, firstKey: number): number {
    if (bytes[pos] !== quote) return -1
    const keyStart = pos + 1
    const first = bytes[keyStart] as number
    if (first >= zero && first <= nine) return -1
    pos = this.stringEnd(bytes, keyStart, end)
    if (pos < 0 || bytes[pos] !== colon) return -1
    const hash = keyHash(bytes, keyStart, pos - 1)
    const length = pos - 1 - keyStart
    const keys = this.openKeys
    for (let k = firstKey; k < keys; k++) {
      if (this.keyHashes[k] === hash && this.keyLengths[k] === length) return -1
    }
    if (keys === maxOpenKeys) return -1
    this.keyHashes[keys] = hash
    this.keyLengths[keys] = length
    this.openKeys = keys + 1
    return pos + 1
  }

  /** After a string's opening quote: the position after its closing quote, or -1. Sets `escaped`. */
  private stringEnd(bytes: Uint8Array, pos: number, end: number): number {
    const view = this.view
    for (;;) {
      // Four bytes at a time while none of them can end the run: no byte ≥ 0x80, none below 0x20, no quote, no
      // backslash (each test finds every such byte, and sometimes flags one that is not: the byte loop then decides).
      while (pos + 4 <= end) {
        const word = view.getInt32(pos, true)
        const quotes = word ^ 0x22222222
        const backslashes = word ^ 0x5c5c5c5c
        const special =
          word |
          (((word - 0x20202020) | 0) & ~word) |
          (((quotes - 0x01010101) | 0) & ~quotes) |
          (((backslashes - 0x01010101) | 0) & ~backslashes)
        if ((special & 0x80808080) !== 0) break
        pos += 4
      }
      // Then byte by byte: the loop stops at the latest at the line's newline (a control byte) or past the
      // array's end (undefined), and the bounds are checked after.
      let byte = bytes[pos] as number
      while ((byte > quote && byte < 0x80 && byte !== backslash) || byte === 0x20 || byte === 0x21)
        byte = bytes[++pos] as number
      if (pos >= end) return -1
      pos += 1
      if (byte === quote) return pos
      if (byte < 0x20) return -1
      if (byte === backslash) {
        // The escapes JSON.stringify writes for these characters; `\u` (and `\/`) it would write otherwise.
        if (canonicalEscapes[bytes[pos] as number] !== 1) return -1
        pos += 1
        this.escaped = true
      } else {
        pos = utf8End(bytes, pos - 1, end)
        if (pos === -1) return -1
      }
    }
  }
}

/** The end of a literal or number of `kind` (from its first byte) at `pos`, or -1 when it is not canonical. */
function scalarEnd(bytes: Uint8Array, pos: number, end: number, kind: Kind): number {
  switch (kind) {
    case Kind.true:
      return bytes[pos + 1] === 0x72 && bytes[pos + 2] === 0x75 && bytes[pos + 3] === 0x65 ? pos + 4 : -1
    case Kind.false:
      return bytes[pos + 1] === 0x61 &&
        bytes[pos + 2] === 0x6c &&
        bytes[pos + 3] === 0x73 &&
        bytes[pos + 4] === 0x65
        ? pos + 5
        : -1
    case Kind.null:
      return bytes[pos + 1] === 0x75 && bytes[pos + 2] === 0x6c && bytes[pos + 3] === 0x6c ? pos + 4 : -1
    case Kind.number:
      return numberEnd(bytes, pos, end)
    default:
      return -1
  }
}

/** A number as JavaScript prints it (what JSON.stringify writes): `1.50`, `1e3` and `-0` are not. */
function numberEnd(bytes: Uint8Array, start: number, end: number): number {
  let pos = start
  if (bytes[pos] === minus) pos += 1
  const digits = pos
  while (pos < end && (bytes[pos] as number) >= zero && (bytes[pos] as number) <= nine) pos += 1
  if (pos === digits) return -1
  const plainEnd = pos
  while (pos < end && isNumberByte(bytes[pos] as number)) pos += 1
  const integerDigits = plainEnd - digits
  if (pos === plainEnd && integerDigits <= 15) {
    // An integer of at most 15 digits is printed as written, but for a leading zero and -0.
    if (bytes[digits] === zero && (integerDigits > 1 || digits > start)) return -1
    return pos
  }
  let text = ''
  for (let i = start; i < pos; i++) text += String.fromCharCode(bytes[i] as number)
  const value = Number(text)
  return Number.isFinite(value) && String(value) === text ? pos : -1
}

/** A value's kind from its first byte; absent: no value starts so (a number starts with `-` or a digit). */
const valueKinds = new Uint8Array(256).map((_, byte) =>
  byte === quote
    ? Kind.string
    : byte === openBrace
      ? Kind.object
      : byte === openBracket
        ? Kind.array
        : byte === 0x74
          ? Kind.true
          : byte === 0x66
            ? Kind.false
            : byte === 0x6e
              ? Kind.null
              : byte === minus || (byte >= zero && byte <= nine)
                ? Kind.number
                : Kind.absent,
)

/** 1 for the bytes after a backslash that make an escape JSON.stringify writes: `\"` `\\` `\b` `\f` `\n` `\r` `\t`. */
const canonicalEscapes = new Uint8Array(256).map((_, byte) =>
  [quote, backslash, 0x62, 0x66, 0x6e, 0x72, 0x74].includes(byte) ? 1 : 0,
)

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
