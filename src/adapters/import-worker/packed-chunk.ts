import type { ImportRow } from '../../domain/import/import-row.ts'
import { type NewUserParts, newUserJson } from '../../domain/import/new-user-json.ts'
import type { MetadataField } from '../../domain/import/normalize-row.ts'
import type { PlannedRow, RowKeys } from '../../domain/import/plan-chunk.ts'
import type { CheckedChunk } from '../../engine/check-rows.ts'

/**
 * A checked chunk as the import worker thread sends it. Structured clone rebuilds every object it carries, and the
 * main thread would then stringify each new user again, so the common valid row goes as pieces instead: its keys (and,
 * when the planner reads rows, its JSON) in one string, its new user's JSON parts (new-user-json.ts) as UTF-8 in one
 * transferred buffer. The planner looks the row up by its keys and puts a new user as those bytes, which the store
 * copies into its journal line; only a row it reads (an update, a dry run's preview) is parsed on the main thread.
 * Measured on a 500 KB file of 1,739 users (bench/support/transfer-cost.ts): see BENCHMARKS.md, P3.
 */
export interface PackedChunk {
  errors: CheckedChunk['errors']
  ignored: string[]
  /** Valid rows sent as objects: those with label disagreements (planning reads them), or an unusual key. */
  plain: PlannedRow[]
  /** The other valid rows' positions in the file, in order. */
  indexes: Int32Array
  /** Per packed row, where each of its pieces ends in `text`: email, user_id, username, JSON (maybe empty). */
  ends: Int32Array
  /** Per packed row: 1 when it has a user_id, 2 when it has a username (either may be empty). */
  flags: Uint8Array
  /** Packed rows with metadata given key by key, by their number among the packed rows. */
  partialMetadata: [number, readonly MetadataField[]][]
  text: string
  /** Per packed row, its new user's profile then rest JSON (UTF-8); `byteEnds` says where each ends. */
  bytes: Uint8Array
  byteEnds: Int32Array
}

const textPieces = 4

/** `withRows`: each row's JSON too (ImportFileToRead.planReadsRows); else an empty piece in its place. */
export function packChunk(checked: CheckedChunk, withRows: boolean): PackedChunk {
  const plain: PlannedRow[] = []
  const indexes: number[] = []
  const flags: number[] = []
  const partialMetadata: [number, readonly MetadataField[]][] = []
  const texts: string[] = []
  const jsons: string[] = []
  let chars = 0
  for (const planned of checked.valid) {
    const { row } = planned
    const json = planned.disagreements === undefined ? newUserJson(row) : undefined
    if (json === undefined) {
      plain.push(planned)
      continue
    }
    if (planned.partialMetadata !== undefined && planned.partialMetadata.length > 0)
      partialMetadata.push([indexes.length, planned.partialMetadata])
    indexes.push(planned.index)
    flags.push((row.user_id === undefined ? 0 : 1) | (row.username === undefined ? 0 : 2))
    texts.push(row.email, row.user_id ?? '', row.username ?? '', withRows ? JSON.stringify(row) : '')
    jsons.push(json.profile, json.rest)
    chars += json.profile.length + json.rest.length
  }
  const ends = new Int32Array(texts.length)
  let end = 0
  for (let i = 0; i < texts.length; i++) {
    end += (texts[i] as string).length
    ends[i] = end
  }
  // UTF-8 takes at most 3 bytes a UTF-16 unit; written in place, the buffer is then cut to what was used.
  const buffer = Buffer.allocUnsafeSlow(3 * chars)
  const byteEnds = new Int32Array(jsons.length)
  let used = 0
  for (let i = 0; i < jsons.length; i++) {
    used += buffer.write(jsons[i] as string, used)
    byteEnds[i] = used
  }
  return {
    errors: checked.errors,
    ignored: checked.ignored,
    plain,
    indexes: Int32Array.from(indexes),
    ends,
    flags: Uint8Array.from(flags),
    partialMetadata,
    text: texts.join(''),
    bytes: new Uint8Array(buffer.buffer, buffer.byteOffset, used),
    byteEnds,
  }
}

/** What `postMessage` transfers rather than copies. */
export function transferOf(packed: PackedChunk): ArrayBuffer[] {
  return [packed.bytes.buffer as ArrayBuffer]
}

/**
 * The chunk as the checks made it: its valid rows in file order, the packed ones parsed only when read (from their
 * JSON, or, packed without it, by `recheck` of the row's position in the file). The rows are made when `valid` is
 * first read: a chunk that waits for its turn (files queued behind the one being committed) holds only the packed
 * arrays, and its rows live no longer than its planning.
 */
export function unpackChunk(packed: PackedChunk, recheck: (index: number) => ImportRow): CheckedChunk {
  let valid: PlannedRow[] | undefined
  return {
    get valid() {
      valid ??= unpackRows(packed, recheck)
      return valid
    },
    errors: packed.errors,
    ignored: packed.ignored,
  }
}

function unpackRows(packed: PackedChunk, recheck: (index: number) => ImportRow): PlannedRow[] {
  const { indexes, plain } = packed
  const partial = new Map(packed.partialMetadata)
  // A Buffer over the transferred bytes, once: the store copies each user's from it.
  const bytes = Buffer.from(packed.bytes.buffer, packed.bytes.byteOffset, packed.bytes.byteLength)
  const valid: PlannedRow[] = []
  let nextPlain = 0
  for (let i = 0; i < indexes.length; i++) {
    const index = indexes[i] as number
    while (nextPlain < plain.length && (plain[nextPlain] as PlannedRow).index < index)
      valid.push(plain[nextPlain++] as PlannedRow)
    valid.push(new PackedRow(packed, bytes, i, partial.get(i), recheck))
  }
  while (nextPlain < plain.length) valid.push(plain[nextPlain++] as PlannedRow)
  return valid
}

/** A valid row as packed: its keys and new user's parts at hand, the row itself made only when first read. */
class PackedRow implements PlannedRow, RowKeys, NewUserParts {
  readonly index: number
  readonly email: string
  readonly user_id: string | undefined
  readonly username: string | undefined
  readonly bytes: Uint8Array
  readonly profileStart: number
  readonly restStart: number
  readonly restEnd: number
  readonly partialMetadata?: readonly MetadataField[]
  readonly #json: string
  #row: ImportRow | undefined

  constructor(
    packed: PackedChunk,
    bytes: Buffer,
    n: number,
    partialMetadata: readonly MetadataField[] | undefined,
    private readonly recheck: (index: number) => ImportRow,
  ) {
    const { text, ends, flags, byteEnds } = packed
    const at = n * textPieces
    const piece = (k: number) => text.slice(at + k === 0 ? 0 : (ends[at + k - 1] as number), ends[at + k])
    this.index = packed.indexes[n] as number
    this.email = piece(0)
    this.user_id = (flags[n] as number) & 1 ? piece(1) : undefined
    this.username = (flags[n] as number) & 2 ? piece(2) : undefined
    this.#json = piece(3)
    this.bytes = bytes
    this.profileStart = n === 0 ? 0 : (byteEnds[2 * n - 1] as number)
    this.restStart = byteEnds[2 * n] as number
    this.restEnd = byteEnds[2 * n + 1] as number
    if (partialMetadata !== undefined) this.partialMetadata = partialMetadata
  }

  get row(): ImportRow {
    this.#row ??= this.#json === '' ? this.recheck(this.index) : (JSON.parse(this.#json) as ImportRow)
    return this.#row
  }

  get keys(): RowKeys {
    return this
  }

  get newUser(): NewUserParts {
    return this
  }
}
