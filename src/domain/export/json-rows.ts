import type { Column } from './export-fields.ts'
import { csvCell, type ExportFormat } from './format.ts'
import { Kind, UserJsonReader, type ValueRange } from './user-json.ts'

/**
 * Export rows written from a stored user's JSON bytes (see `UserJsonReader`), byte for byte what `exportWriter`
 * writes for the parsed user: each value is the JSON.stringify of itself, which for canonical text is its own
 * bytes. A user the reader does not accept is left to the caller, who parses it and uses `exportWriter`.
 */
export interface JsonRows {
  /** Writes the row of the user whose JSON is `bytes[start, end)` into `out`; false (nothing written) if not read. */
  write(bytes: Uint8Array, start: number, end: number, out: ByteSink, index: number): boolean
}

/**
 * Bytes gathered in chunks and handed on with `take` as views of them: a chunk is written forward only, so a view
 * taken stays as it was, and the next piece goes on in the same chunk until it is full (one allocation for several
 * pieces, none zero-filled when `allocate` does not fill).
 */
export class ByteSink {
  bytes: Uint8Array
  length = 0
  private view: DataView<ArrayBufferLike>
  /** Where the bytes not yet taken start. */
  private from = 0
  private readonly encoder = new TextEncoder()

  constructor(
    private readonly capacity: number,
    private readonly allocate: (size: number) => Uint8Array = (size) => new Uint8Array(size),
  ) {
    this.bytes = allocate(capacity)
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength)
  }

  reserve(more: number): void {
    if (this.length + more <= this.bytes.length) return
    const pending = this.length - this.from
    const chunk = this.allocate(Math.max(this.capacity, 2 * (pending + more)))
    chunk.set(this.bytes.subarray(this.from, this.length))
    this.bytes = chunk
    this.view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    this.from = 0
    this.length = pending
  }

  byte(value: number): void {
    this.reserve(1)
    this.bytes[this.length++] = value
  }

  copy(from: Uint8Array, start: number, end: number): void {
    const length = end - start
    this.reserve(length)
    const bytes = this.bytes
    const at = this.length
    // Short values (most of them) copy faster in a loop than through a subarray.
    if (length <= 48) for (let i = 0; i < length; i++) bytes[at + i] = from[start + i] as number
    else bytes.set(from.subarray(start, end), at)
    this.length = at + length
  }

  /** `from[start, end)`, whose DataView is `view`, a word at a time. The room must be reserved. */
  copyWords(view: DataView<ArrayBufferLike>, from: Uint8Array, start: number, end: number): void {
    const out = this.view
    let at = this.length
    let i = start
    for (; i + 4 <= end; i += 4, at += 4) out.setInt32(at, view.getInt32(i, true), true)
    const bytes = this.bytes
    for (; i < end; i++) bytes[at++] = from[i] as number
    this.length = at
  }

  /** As `copyWords`, each `"` written twice (CSV's escaping); words without one are copied whole. */
  copyDoublingQuotes(view: DataView<ArrayBufferLike>, from: Uint8Array, start: number, end: number): void {
    const out = this.view
    const bytes = this.bytes
    let at = this.length
    let i = start
    for (; i + 4 <= end; i += 4) {
      const word = view.getInt32(i, true)
      const quotes = word ^ 0x22222222
      if ((((quotes - 0x01010101) | 0) & ~quotes & 0x80808080) === 0) {
        out.setInt32(at, word, true)
        at += 4
        continue
      }
      for (let k = i; k < i + 4; k++) {
        const byte = from[k] as number
        bytes[at++] = byte
        if (byte === quote) bytes[at++] = quote
      }
    }
    for (; i < end; i++) {
      const byte = from[i] as number
      bytes[at++] = byte
      if (byte === quote) bytes[at++] = quote
    }
    this.length = at
  }

  text(text: string): void {
    this.reserve(text.length * 3)
    this.length += this.encoder.encodeInto(text, this.bytes.subarray(this.length)).written
  }

  /** The bytes since the last `take`: the caller's to keep (the sink never writes them again). */
  take(): Uint8Array {
    const taken = this.bytes.subarray(this.from, this.length)
    this.from = this.length
    return taken
  }
}

/**
 * Rows from JSON bytes for these columns, or undefined when a path could read something the JSON does not hold:
 * a name that objects or arrays inherit (`user_metadata.constructor`, `identities.length`) — the parsed user
 * answers those, so that export parses every user.
 */
export function jsonRows(format: ExportFormat, columns: readonly Column[]): JsonRows | undefined {
  const inherited = (segment: string | number) =>
    typeof segment === 'string' && (segment in Object.prototype || segment in Array.prototype)
  if (columns.some((column) => column.segments.slice(1).some(inherited))) return undefined
  const roots = [...new Set(columns.map((column) => column.segments[0] as string))]
  const names = [...shapeNames, ...roots.filter((root) => !shapeNames.includes(root))]
  const reader = new UserJsonReader(names)
  const shape = shapeNames.map((name) => names.indexOf(name))
  const plan = columns.map((column) => ({
    name: names.indexOf(column.segments[0] as string),
    path: column.segments.slice(1),
  }))
  const range: ValueRange = { kind: Kind.absent, start: 0, end: 0, escaped: false }
  const readRow = (bytes: Uint8Array, start: number, end: number) =>
    reader.read(bytes, start, end) && isStoredUser(reader, shape, bytes)
  /** The value of column `column` into `range`: a top-level value straight from the reader's arrays. */
  const find = (column: number) => {
    const { name, path } = plan[column] as (typeof plan)[number]
    if (path.length > 0) {
      reader.find(name, path, range)
      return
    }
    range.kind = reader.kinds[name] as Kind
    range.start = reader.starts[name] as number
    range.end = reader.ends[name] as number
    range.escaped = reader.escapes[name] === 1
  }
  if (format === 'csv') {
    return {
      write(bytes, start, end, out) {
        if (!readRow(bytes, start, end)) return false
        for (let column = 0; column < plan.length; column++) {
          find(column)
          // The cell's most: its bytes with every one doubled, the quotes and the separator.
          out.reserve(2 * (range.end - range.start) + 4)
          if (column > 0) out.bytes[out.length++] = comma
          csvValue(reader.view, bytes, range, out)
        }
        out.reserve(2)
        out.bytes[out.length++] = carriageReturn
        out.bytes[out.length++] = lineFeed
        return true
      },
    }
  }
  // JSON.stringify writes index-like keys first, in ascending order, then the others as they were added.
  const labels = columns.map((column) => column.label)
  const order = Object.keys(Object.fromEntries(labels.map((label) => [label, 0]))).map((label) =>
    labels.indexOf(label),
  )
  const encoder = new TextEncoder()
  const keys = labels.map((label) => encoder.encode(`${JSON.stringify(label)}:`))
  // A top-level column under its own name: the stored `"name":value` is the member, copied as one run.
  const asStored = columns.map(
    (column) => column.segments.length === 1 && column.label === column.segments[0],
  )
  const lead = format === 'json' ? 3 : 1
  return {
    write(bytes, start, end, out, index) {
      if (!readRow(bytes, start, end)) return false
      out.reserve(lead)
      if (format === 'json' && index > 0) {
        out.bytes[out.length++] = comma
        out.bytes[out.length++] = lineFeed
      }
      out.bytes[out.length++] = openBrace
      let first = true
      for (let o = 0; o < order.length; o++) {
        const column = order[o] as number
        find(column)
        if (range.kind === Kind.absent) continue
        const key = keys[column] as Uint8Array
        out.reserve(key.length + (range.end - range.start) + 3)
        if (!first) out.bytes[out.length++] = comma
        first = false
        if (asStored[column] === true) {
          out.copyWords(
            reader.view,
            bytes,
            reader.keyStarts[plan[column]?.name as number] as number,
            range.end,
          )
        } else {
          out.copy(key, 0, key.length)
          out.copyWords(reader.view, bytes, range.start, range.end)
        }
      }
      out.bytes[out.length++] = closeBrace
      if (format === 'ndjson') out.bytes[out.length++] = lineFeed
      return true
    },
  }
}

const comma = 0x2c
const carriageReturn = 0x0d
const lineFeed = 0x0a
const quote = 0x22
const apostrophe = 0x27
const openBrace = 0x7b
const closeBrace = 0x7d
const decoder = new TextDecoder()

/** `csvCell` of the value, from its bytes. `out` has room for it: twice its bytes and 3 (the caller reserved it). */
function csvValue(
  view: DataView<ArrayBufferLike>,
  bytes: Uint8Array,
  range: ValueRange,
  out: ByteSink,
): void {
  switch (range.kind) {
    case Kind.absent:
    case Kind.null:
      return
    case Kind.true:
    case Kind.false:
    case Kind.number:
      out.copyWords(view, bytes, range.start, range.end)
      return
    case Kind.string:
      if (range.escaped) {
        out.text(csvCell(JSON.parse(decoder.decode(bytes.subarray(range.start, range.end)))))
      } else if (isIsoDate(bytes, range.start + 1, range.end - 1)) {
        out.copyWords(view, bytes, range.start + 1, range.end - 1)
      } else {
        // No escape, so no double quote to double.
        out.bytes[out.length++] = quote
        out.bytes[out.length++] = apostrophe
        out.copyWords(view, bytes, range.start + 1, range.end - 1)
        out.bytes[out.length++] = quote
      }
      return
    default:
      // An object or an array: its JSON text, as a string cell.
      out.bytes[out.length++] = quote
      out.bytes[out.length++] = apostrophe
      out.copyDoublingQuotes(view, bytes, range.start, range.end)
      out.bytes[out.length++] = quote
  }
}

/** `isoDate` of format.ts on bytes: `^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$`. */
function isIsoDate(bytes: Uint8Array, start: number, end: number): boolean {
  const length = end - start
  if (length < 20 || length > 30 || bytes[end - 1] !== 0x5a) return false
  for (let i = 0; i < 19; i++) {
    const byte = bytes[start + i] as number
    const expected = isoPattern[i] as number
    if (expected === 0 ? byte < 0x30 || byte > 0x39 : byte !== expected) return false
  }
  if (length === 20) return true
  if (bytes[start + 19] !== 0x2e || length === 21) return false
  for (let i = start + 20; i < end - 1; i++) {
    const byte = bytes[i] as number
    if (byte < 0x30 || byte > 0x39) return false
  }
  return true
}

/** 0: a digit. */
const isoPattern = [0, 0, 0, 0, 0x2d, 0, 0, 0x2d, 0, 0, 0x54, 0, 0, 0x3a, 0, 0, 0x3a, 0, 0]

/**
 * The keys whose shape the store checks when it parses a user (`snapshotUserProblem` in the store adapter), in
 * this order. A user that fails it is left to the caller's parse, which reports the store as damaged, as before.
 */
const shapeNames = [
  'user_id',
  'connection_id',
  'email',
  'created_at',
  'updated_at',
  'username',
  'email_verified',
  'identities',
  'rev',
]

function isStoredUser(reader: UserJsonReader, shape: readonly number[], bytes: Uint8Array): boolean {
  const kinds = reader.kinds
  for (let i = 0; i < 5; i++) if (kinds[shape[i] as number] !== Kind.string) return false
  const username = kinds[shape[5] as number]
  if (username !== Kind.absent && username !== Kind.string) return false
  const verified = kinds[shape[6] as number]
  if (verified !== Kind.true && verified !== Kind.false) return false
  if (kinds[shape[7] as number] !== Kind.array) return false
  // A whole number of at most 15 digits (larger ones, and exponents, go the parsing way).
  const rev = shape[8] as number
  if (kinds[rev] !== Kind.number) return false
  const revStart = reader.starts[rev] as number
  const revEnd = reader.ends[rev] as number
  if (revEnd - revStart > 15) return false
  for (let i = revStart; i < revEnd; i++) {
    const byte = bytes[i] as number
    if (byte < 0x30 || byte > 0x39) return false
  }
  return true
}
