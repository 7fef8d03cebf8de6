import { readdir, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import {
  EncodedUser,
  type NewUserFrame,
  type PutKeys,
  type UserPut,
} from '../../domain/users/encoded-user.ts'
import { type StoredUser, storedUserSchema } from '../../domain/users/user.ts'
import { AppError } from '../../errors.ts'
import { openPrivate, syncDirectory } from './durable-fs.ts'

/**
 * The files of a store directory and their formats:
 * - `snapshot.jsonl`: a header line, then one user per line. Written to `snapshot.jsonl.tmp`, synced, then
 *   renamed over, so it is always whole. In version 2 (written since lazy loading) a user line is its lookup keys
 *   and then its JSON, separated by tabs (see `snapshotLine`); in version 1 (still read) it is the user's JSON.
 * - `journal-<G>.jsonl`: one commit record per line, appended and synced. Replay reads the generations from the
 *   header's `journal` upwards; older ones are leftovers of a compaction that crashed before deleting them.
 */

export const snapshotFileName = 'snapshot.jsonl'
export const snapshotTmpFileName = 'snapshot.jsonl.tmp'
export const snapshotFormat = 'roster-users'
/** The version `writeSnapshot` writes. */
export const snapshotVersion = 2

export const snapshotHeaderSchema = z.object({
  format: z.literal(snapshotFormat),
  version: z.union([z.literal(1), z.literal(snapshotVersion)]),
  /** Every commit up to this seq is in the snapshot. */
  seq: z.number().int().nonnegative(),
  /** The first journal generation to replay on top. */
  journal: z.number().int().positive(),
  /** How many user lines follow: a snapshot cut short at a line boundary would otherwise look whole. */
  users: z.number().int().nonnegative(),
})
export type SnapshotHeader = z.infer<typeof snapshotHeaderSchema>

export const commitRecordSchema = z.object({
  seq: z.number().int().positive(),
  jobId: z.string(),
  chunk: z.number().int().nonnegative(),
  puts: z.array(storedUserSchema),
  deletes: z.array(z.string()),
  meta: z.unknown(),
})

export function journalFileName(generation: number): string {
  return `journal-${generation}.jsonl`
}

/** A commit as the journal holds it: `CommitRecord` with its puts typed as the stored users they are (rev set). */
export type JournalRecord = z.infer<typeof commitRecordSchema>

const journalNamePattern = /^journal-([1-9]\d*)\.jsonl$/

/** Journal generations present in `dir`, ascending. */
export async function listJournalGenerations(dir: string): Promise<number[]> {
  const generations: number[] = []
  for (const name of await readdir(dir)) {
    const match = journalNamePattern.exec(name)
    if (match?.[1] !== undefined) generations.push(Number(match[1]))
  }
  return generations.sort((a, b) => a - b)
}

/** Deletes journals a durable snapshot has folded in. */
export async function removeJournalsBefore(dir: string, generation: number): Promise<void> {
  for (const old of await listJournalGenerations(dir)) {
    if (old < generation) await rm(join(dir, journalFileName(old)), { force: true })
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Version 2 user lines.

/**
 * A version 2 snapshot line: `"<user_id>"\t"<connection_id>"\t"<email>"\t"<username>"\t<the user's JSON>\n`, each
 * key JSON-encoded by JSON.stringify, the username field empty (not `""`) when the user has none. JSON text never
 * holds a raw tab or newline, so the first four tabs end the keys and the line ends at the first newline; the index
 * hashes and compares the keys as these bytes, so opening a store parses no JSON and decodes no strings, and a user
 * is parsed only when it is read. Compaction writes a snapshot user by copying its line; a user whose bytes are a
 * journal put (a commit's, see `encodeCommit`) gets its keys written in front of its JSON.
 */
export function snapshotLine(user: StoredUser, json: string = JSON.stringify(user)): string {
  return `${snapshotKeys(user)}${json}\n`
}

/** The start of a user's snapshot line: its keys, each followed by a tab. */
export function snapshotKeys(user: PutKeys): string {
  const username = user.username === undefined ? '' : JSON.stringify(user.username)
  return `${JSON.stringify(user.user_id)}\t${JSON.stringify(user.connection_id)}\t${JSON.stringify(user.email)}\t${username}\t`
}

/**
 * The journal line of a commit (the bytes of `JSON.stringify` of the record with each put as `{...put, rev: seq}`,
 * its fields in the schema's order; newline included), where each put's JSON is in it, and the puts' keys
 * (`snapshotKeys`, one line each): the index points at the users in the line itself until it is durable, then at
 * the same bytes in the journal file (see commit-index.ts). Each put is stringified on its own and encoded straight
 * into a scratch Buffer reused by every commit, so where it starts and how many bytes it took are known as it is
 * written: nothing scans the line for them (`findPuts` is for lines read back from a file). Throws when the record
 * is not JSON or a key of a put is not a string.
 */
export function encodeCommit(record: CommitToEncode): EncodedCommit {
  const { puts } = record
  const count = puts.length
  const putStarts: number[] = new Array(count)
  const putLengths: number[] = new Array(count)
  let keyScratch = sharedKeyScratch
  let keyLength = 0
  const revJson = `,"rev":${JSON.stringify(record.seq)}}`
  const revBytes = Buffer.from(revJson)
  const metaJson = JSON.stringify(record.meta)
  const head = `{"seq":${JSON.stringify(record.seq)},"jobId":${JSON.stringify(record.jobId)},"chunk":${JSON.stringify(record.chunk)},"puts":[`
  const tail = `],"deletes":${JSON.stringify(record.deletes)}${metaJson === undefined ? '' : `,"meta":${metaJson}`}}\n`
  // UTF-16 units → UTF-8 bytes is at most 3×: each piece goes where there is room for that, and the line is then
  // copied out exactly (one memcpy is cheaper than measuring every string first).
  let scratch = scratchOf(3 * (head.length + tail.length) + 4096)
  let length = scratch.write(head, 0)
  for (let i = 0; i < count; i++) {
    const user = puts[i] as UserPut
    const problem = keyProblem(user)
    if (problem !== undefined) throw new Error(`user ${String(user.user_id)}: ${problem}`)
    // Its keys as `snapshotKeys` writes them, and a newline, written in place (no string made per user).
    if (keyScratch.length - keyLength < keysRoom(user)) {
      const grown = Buffer.allocUnsafeSlow(2 * (keyScratch.length + keysRoom(user)))
      keyScratch.copy(grown, 0, 0, keyLength)
      keyScratch = grown
    }
    keyLength += writeKeys(keyScratch, keyLength, user)
    // A new user has no rev of its own: its JSON gets one in place of its closing brace, where `{...put, rev}` puts
    // it, with no copy of the user. One that has (an update of a stored user) is copied with the new rev. A new user
    // that comes as its JSON (an import's, its bytes written on the import worker thread) is copied as it is.
    const own = !(user instanceof EncodedUser) && Object.hasOwn(user, 'rev')
    const json =
      user instanceof EncodedUser ? undefined : JSON.stringify(own ? { ...user, rev: record.seq } : user)
    const room = json === undefined ? encodedRoom(user as EncodedUser) : 3 * json.length
    scratch = roomFor(scratch, length, room + 3 * (revJson.length + tail.length) + 1)
    if (i > 0) scratch[length++] = comma
    let written =
      json === undefined ? writeEncoded(scratch, length, user as EncodedUser) : scratch.write(json, length)
    if (!own) {
      if (scratch[length + written - 1] !== closeBrace)
        throw new Error(`user ${user.user_id}: not a JSON object`)
      // `,"rev":N}` over the closing brace, byte by byte (a few bytes: cheaper than a buffer write).
      const at = length + written - 1
      for (let b = 0; b < revBytes.length; b++) scratch[at + b] = revBytes[b] as number
      written += revBytes.length - 1
    }
    putStarts[i] = length
    putLengths[i] = written
    length += written
  }
  length += scratch.write(tail, length)
  const line = Buffer.allocUnsafe(length)
  scratch.copy(line, 0, 0, length)
  if (keyScratch.length <= maxScratch) sharedKeyScratch = keyScratch
  const keyLines = Buffer.allocUnsafe(keyLength)
  keyScratch.copy(keyLines, 0, 0, keyLength)
  return { line, keys: keyLines, putStarts, putLengths }
}

/** The puts' key lines of a commit are written here first (as its line is in `sharedScratch`). */
let sharedKeyScratch = Buffer.allocUnsafeSlow(64 * 1024)

/** At most how many bytes `writeKeys` writes: a UTF-16 unit takes at most 6 as JSON (`\u001f`), a string 2 more. */
function keysRoom(user: PutKeys): number {
  const chars =
    user.user_id.length + user.connection_id.length + user.email.length + (user.username?.length ?? 0)
  return 6 * chars + 16
}

/**
 * Writes `text` at `at` as the bytes JSON puts between its quotes when it needs no escape (printable ASCII, no quote,
 * no backslash): its length; or -1 when it does need one, and what it wrote is to be written over. A loop over a
 * few dozen characters costs less than a Buffer write call (ids and emails, nearly always).
 */
function writePlain(target: Buffer, at: number, text: string): number {
  const length = text.length
  for (let i = 0; i < length; i++) {
    const unit = text.charCodeAt(i)
    if (unit < 0x20 || unit > 0x7e || unit === quote || unit === backslash) return -1
    target[at + i] = unit
  }
  return length
}

/** `"text"` at `at` when `text` is plain (see writePlain): the bytes written, or -1. */
function writeQuoted(target: Buffer, at: number, text: string): number {
  target[at] = quote
  const length = writePlain(target, at + 1, text)
  if (length === -1) return -1
  target[at + 1 + length] = quote
  return length + 2
}

/**
 * `snapshotKeys(user)` and a newline, into `target` at `start`; the bytes written. Keys that need no escaping (ids and
 * emails, nearly always) are written byte by byte; any other goes through snapshotKeys.
 */
function writeKeys(target: Buffer, start: number, user: PutKeys): number {
  const { user_id, connection_id, email, username } = user
  let at = start
  let written = writeQuoted(target, at, user_id)
  if (written !== -1) {
    at += written
    target[at++] = tab
    written = writeQuoted(target, at, connection_id)
  }
  if (written !== -1) {
    at += written
    target[at++] = tab
    written = writeQuoted(target, at, email)
  }
  if (written !== -1) {
    at += written
    target[at++] = tab
    written = username === undefined ? 0 : writeQuoted(target, at, username)
  }
  if (written === -1) return target.write(`${snapshotKeys(user)}\n`, start)
  at += written
  target[at++] = tab
  target[at++] = newline
  return at - start
}

/** At most how many bytes `writeEncoded` writes. */
function encodedRoom(user: EncodedUser): number {
  const { frame } = user
  const frameChars = frame.connection.length + frame.identity.length + frame.times.length
  return (
    6 * (user.user_id.length + user.bareId.length) + 3 * frameChars + (user.restEnd - user.profileStart) + 32
  )
}

/** A frame's pieces as UTF-8, made once per frame (one per planned slice of a chunk) and copied for each user. */
const frameBytes = new WeakMap<NewUserFrame, { connection: Buffer; identity: Buffer; times: Buffer }>()

function bytesOfFrame(frame: NewUserFrame): { connection: Buffer; identity: Buffer; times: Buffer } {
  let bytes = frameBytes.get(frame)
  if (bytes === undefined) {
    bytes = {
      connection: Buffer.from(frame.connection),
      identity: Buffer.from(frame.identity),
      times: Buffer.from(frame.times),
    }
    frameBytes.set(frame, bytes)
  }
  return bytes
}

const userIdKey = Buffer.from('{"user_id":')

/** Writes `text` as a JSON string at `at`: byte by byte when plain, else JSON.stringify's bytes. */
function writeJsonString(target: Buffer, at: number, text: string): number {
  const written = writeQuoted(target, at, text)
  return written === -1 ? target.write(JSON.stringify(text), at) : written
}

/** An EncodedUser's JSON into `target` at `start` (see EncodedUser): its frame's bytes, its worker's bytes copied. */
function writeEncoded(target: Buffer, start: number, user: EncodedUser): number {
  const { bytes, profileStart, restStart, restEnd } = user
  const frame = bytesOfFrame(user.frame)
  // `set` of views: a builtin copy, without Buffer.copy's checks (a few hundred bytes each, per user).
  target.set(userIdKey, start)
  let at = start + userIdKey.length
  at += writeJsonString(target, at, user.user_id)
  target.set(frame.connection, at)
  at += frame.connection.length
  target.set(bytes.subarray(profileStart + 1, restStart - 1), at)
  at += restStart - 1 - (profileStart + 1)
  target.set(frame.identity, at)
  at += frame.identity.length
  at += writeJsonString(target, at, user.bareId)
  target.set(frame.times, at)
  at += frame.times.length
  if (restEnd - restStart > 2) {
    target[at++] = comma
    target.set(bytes.subarray(restStart + 1, restEnd), at)
    at += restEnd - (restStart + 1)
  } else target[at++] = closeBrace
  return at - start
}

/** `scratch`, or a larger copy of its first `used` bytes, with at least `more` bytes free after them. */
function roomFor(scratch: Buffer, used: number, more: number): Buffer {
  if (used + more <= scratch.length) return scratch
  const grown = scratchOf(Math.max(2 * scratch.length, used + more))
  if (grown !== scratch) scratch.copy(grown, 0, 0, used)
  return grown
}

/** A commit as `encodeCommit` takes it: each put gets the commit's `seq` as its `rev` in the line. */
export interface CommitToEncode {
  seq: number
  jobId: string
  chunk: number
  puts: readonly UserPut[]
  deletes: readonly string[]
  meta: unknown
}

export interface EncodedCommit {
  /** The journal line. */
  line: Buffer
  /** Each put's keys (`snapshotKeys`, ending in a tab), a line each, in the order of the puts. */
  keys: Buffer
  /** Where each put's JSON is in `line`, and its length: the index reads the user there, then in the file. */
  putStarts: number[]
  putLengths: number[]
}

/** Commits up to this size (UTF-8 upper bound) are encoded in the shared scratch; a larger one gets its own. */
const maxScratch = 16 * 1024 * 1024
let sharedScratch = Buffer.allocUnsafeSlow(0)

/** A Buffer of at least `size` bytes to encode into: encoding is synchronous, so commits take turns with it. */
function scratchOf(size: number): Buffer {
  if (size > maxScratch) return Buffer.allocUnsafeSlow(size)
  if (sharedScratch.length < size) sharedScratch = Buffer.allocUnsafeSlow(Math.min(maxScratch, size * 2))
  return sharedScratch
}

/** The snapshot lines of users, for replaying a journal record into the index. */
export function encodeUserLines(users: readonly StoredUser[]): Buffer {
  return encodeUsers(users)
}

/**
 * The users' snapshot lines in one Buffer of exactly their size (the index keeps it). Each string is encoded
 * straight into the Buffer: no long string is built.
 */
function encodeUsers(users: readonly StoredUser[]): Buffer {
  const lines: string[] = new Array(users.length)
  let maxLength = 0
  for (let i = 0; i < users.length; i++) {
    const user = users[i] as StoredUser
    const problem = keyProblem(user)
    if (problem !== undefined) throw new Error(`user ${String(user.user_id)}: ${problem}`)
    const line = snapshotLine(user)
    lines[i] = line
    maxLength += 3 * line.length
  }
  const scratch = scratchOf(maxLength)
  let offset = 0
  for (const line of lines) offset += scratch.write(line, offset)
  // Its own exact copy: the index keeps these bytes as long as one of the users is current.
  const bytes = Buffer.allocUnsafe(offset)
  scratch.copy(bytes, 0, 0, offset)
  return bytes
}

function keyProblem(user: PutKeys): string | undefined {
  for (const field of ['user_id', 'connection_id', 'email'] as const) {
    if (typeof user[field] !== 'string') return `${field}: expected a string`
  }
  if (user.username !== undefined && typeof user.username !== 'string') return 'username: expected a string'
  return undefined
}

const tab = 0x09
const newline = 0x0a
const comma = 0x2c
const quote = 0x22
const backslash = 0x5c
const openBrace = 0x7b
const closeBrace = 0x7d

/**
 * Where the keys of one line are (each field's end is the position of the tab after it) and their hashes (see
 * `hashKey`; the index mixes the connection into the email and username hashes). Filled by `readLineFields`,
 * which reuses one instance per caller so that reading a million lines allocates nothing per line.
 */
export class LineFields {
  idEnd = 0
  connectionEnd = 0
  emailEnd = 0
  usernameEnd = 0
  idHash = 0
  connectionHash = 0
  emailHash = 0
  usernameHash = 0

  get hasUsername(): boolean {
    return this.usernameEnd > this.emailEnd + 1
  }
}

const fnvOffset = 0x811c9dc5 | 0
const fnvPrime = 0x01000193

/** FNV-1a over the bytes of a JSON-encoded key, before `finishHash`. */
export function hashKey(bytes: Uint8Array, start: number, end: number): number {
  let hash = fnvOffset
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ (bytes[i] as number), fnvPrime)
  return hash
}

/** Spreads a key hash (optionally mixed with a small number) over all 32 bits: murmur3's finalizer. */
export function finishHash(hash: number, mix = 0): number {
  let h = hash ^ Math.imul(mix, 0x9e3779b1)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return h ^ (h >>> 16)
}

let scannedHash = 0

/**
 * Scans a key field from `from`: the position of the tab that ends it, with its `hashKey` in `scannedHash`, or -1
 * when the field is not a JSON string ending in a tab before `end`. An empty field is allowed when `optional`.
 */
function scanKey(bytes: Uint8Array, from: number, end: number, optional: boolean): number {
  let hash = fnvOffset
  let i = from
  for (; i < end; i++) {
    const byte = bytes[i] as number
    if (byte === tab) break
    hash = Math.imul(hash ^ byte, fnvPrime)
  }
  if (i >= end) return -1
  scannedHash = hash
  if (i === from) return optional ? i : -1
  return i - from >= 2 && bytes[from] === quote && bytes[i - 1] === quote ? i : -1
}

/**
 * Reads the keys of the line `bytes[start, end)` (`end` is its newline) into `into`. Answers what is wrong with
 * the line, or undefined. Checks the shape only: the JSON after the keys is parsed when the user is read. With
 * `keysOnly`, `bytes[start, end)` is just the keys (`snapshotKeys`), the user's JSON being elsewhere.
 */
export function readLineFields(
  bytes: Uint8Array,
  start: number,
  end: number,
  into: LineFields,
  keysOnly = false,
): string | undefined {
  const idEnd = scanKey(bytes, start, end, false)
  if (idEnd === -1) return 'user_id: expected a JSON string and a tab'
  into.idEnd = idEnd
  into.idHash = scannedHash
  const connectionEnd = scanKey(bytes, idEnd + 1, end, false)
  if (connectionEnd === -1) return 'connection_id: expected a JSON string and a tab'
  into.connectionEnd = connectionEnd
  into.connectionHash = scannedHash
  const emailEnd = scanKey(bytes, connectionEnd + 1, end, false)
  if (emailEnd === -1) return 'email: expected a JSON string and a tab'
  into.emailEnd = emailEnd
  into.emailHash = scannedHash
  const usernameEnd = scanKey(bytes, emailEnd + 1, end, true)
  if (usernameEnd === -1) return 'username: expected a JSON string or nothing, and a tab'
  into.usernameEnd = usernameEnd
  into.usernameHash = scannedHash
  if (keysOnly) return undefined
  if (bytes[usernameEnd + 1] !== openBrace || bytes[end - 1] !== closeBrace) {
    return 'expected a JSON object after the keys'
  }
  return undefined
}

/** The string a key field `bytes[start, end)` encodes; throws when it is not a JSON string. */
export function decodeKey(bytes: Buffer, start: number, end: number): string {
  let escaped = false
  for (let i = start + 1; i < end - 1; i++) {
    const byte = bytes[i]
    if (byte === backslash || byte === quote) {
      escaped = true
      break
    }
  }
  if (!escaped && end - start >= 2 && bytes[start] === quote && bytes[end - 1] === quote) {
    return bytes.toString('utf8', start + 1, end - 1)
  }
  const value: unknown = JSON.parse(bytes.toString('utf8', start, end))
  if (typeof value !== 'string') throw new Error('not a JSON string')
  return value
}

/** Position of the tab ending the `field`-th key (0-based) of the line starting at `start`. */
export function keyEnd(bytes: Uint8Array, start: number, field: number): number {
  let i = start
  for (let seen = 0; ; i++) {
    if (bytes[i] === tab) {
      if (seen === field) return i
      seen += 1
    }
  }
}

/**
 * The user of the line `bytes[start, end)`. Opening checked only the keys, so this is where a damaged user
 * surfaces: as `store_invalid`, like a damaged line found while opening.
 */
export function parseLineUser(bytes: Buffer, start: number, end: number): StoredUser {
  return parseUserJson(bytes, keyEnd(bytes, start, 3) + 1, end, start)
}

/**
 * The user whose JSON is `bytes[start, end)`: a snapshot line's after its keys (`lineStart` is then where the line
 * starts, to name the user in an error), or a journal put's.
 */
export function parseUserJson(bytes: Buffer, start: number, end: number, lineStart = -1): StoredUser {
  let value: unknown
  const text = bytes.toString('utf8', start, end)
  try {
    value = JSON.parse(text)
  } catch {
    throw damagedUser(bytes, lineStart, 'not valid JSON', lineStart < 0 ? leadingUserId(text) : undefined)
  }
  const problem = snapshotUserProblem(value)
  if (problem !== undefined) {
    const userId = (value as { user_id?: unknown } | null)?.user_id
    throw damagedUser(bytes, lineStart, problem, typeof userId === 'string' ? userId : undefined)
  }
  return value as StoredUser
}

/** The user_id a put that does not parse starts with (Roster writes it first), to name the user; or undefined. */
function leadingUserId(text: string): string | undefined {
  const quoted = /^\{"user_id":("(?:[^"\\]|\\.)*")/.exec(text)?.[1]
  try {
    return quoted === undefined ? undefined : (JSON.parse(quoted) as string)
  } catch {
    return undefined
  }
}

function damagedUser(bytes: Buffer, lineStart: number, problem: string, known?: string): AppError {
  let userId = known ?? '(unreadable)'
  if (known === undefined && lineStart >= 0) {
    try {
      userId = decodeKey(bytes, lineStart, keyEnd(bytes, lineStart, 0))
    } catch {}
  }
  return new AppError(
    'store_invalid',
    `User store: the line of user ${userId} is not a valid user (${problem}). The user store is damaged; ` +
      'restore it from a backup.',
    { userId },
  )
}

/**
 * A structural check of what the index and the formats rely on, not the full zod schema that journal records get:
 * at a million users the schema pass costs seconds and a second copy of every user as garbage. What it skips was
 * checked before it got here: the snapshot and the journal are written only by this adapter, from users that came
 * through this check or through commits of the engine (which parses its input); a snapshot is synced and renamed
 * into place whole, and a journal line not shaped as this adapter writes them is checked with the schema on replay.
 */
export function snapshotUserProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an object'
  const user = value as Record<string, unknown>
  for (const field of ['user_id', 'connection_id', 'email', 'created_at', 'updated_at'] as const) {
    if (typeof user[field] !== 'string') return `${field}: expected a string`
  }
  if (user.username !== undefined && typeof user.username !== 'string') return 'username: expected a string'
  if (typeof user.email_verified !== 'boolean') return 'email_verified: expected a boolean'
  if (!Array.isArray(user.identities)) return 'identities: expected an array'
  if (!Number.isInteger(user.rev) || (user.rev as number) < 0) return 'rev: expected a commit seq'
  return undefined
}

// ---------------------------------------------------------------------------------------------------------------

/**
 * Writes the new snapshot crash-safely: a crash before the rename leaves the old snapshot in charge (and a `.tmp`
 * that the next open deletes), a crash after leaves the new one. `lines` yields the user lines (exactly `users` of
 * them) in batches; each batch is produced on the event loop, then written before the next is asked for, so that
 * compaction of a million users never holds the event loop for long. Answers where the first user line starts.
 */
export async function writeSnapshot(
  dir: string,
  header: Omit<SnapshotHeader, 'format' | 'version' | 'users'>,
  users: number,
  lines: Iterable<Uint8Array>,
): Promise<number> {
  const tmpPath = join(dir, snapshotTmpFileName)
  let bodyStart = 0
  try {
    // Holds every user's secrets, like the snapshot it becomes: private from its first byte.
    const handle = await openPrivate(tmpPath, 'w')
    try {
      const fullHeader: SnapshotHeader = {
        format: snapshotFormat,
        version: snapshotVersion,
        ...header,
        users,
      }
      const headerLine = `${JSON.stringify(fullHeader)}\n`
      bodyStart = Buffer.byteLength(headerLine)
      await handle.writeFile(headerLine)
      // writeFile on a handle writes from the current position and loops until every byte is written.
      for (const batch of lines) await handle.writeFile(batch)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(tmpPath, join(dir, snapshotFileName))
    await syncDirectory(dir)
    return bodyStart
  } catch (error) {
    await rm(tmpPath, { force: true }).catch(() => undefined)
    const reason = error instanceof Error ? error.message : String(error)
    throw new AppError(
      'store_unavailable',
      `Could not write a new snapshot of the user store in ${dir}: ${reason}. The previous snapshot and the ` +
        'journals still hold every user; free disk space and compact again.',
      undefined,
      { cause: error },
    )
  }
}
