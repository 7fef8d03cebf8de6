import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { join } from 'node:path'
import { type SnapshotIndexState, writeIndexFile } from './index-file.ts'
import { SlotTable } from './slot-table.ts'
import {
  decodeKey,
  LineFields,
  readLineFields,
  type SnapshotHeader,
  snapshotFileName,
  snapshotFormat,
  snapshotVersion,
} from './store-files.ts'
import type { UserIndex } from './user-index.ts'
import type { UserView } from './user-view.ts'

/**
 * `snapshot.index` for the snapshot a compaction writes, so that the first start after a compaction reads the
 * index file as every other start does, instead of hashing every line again (1M users: ~1.7–2 s of CPU; 5M:
 * ~10 s). No line is read for it: the index already holds the hashes of every user's keys, so they are taken with
 * the compaction's view (`viewKeys`, 17 bytes a user) and the index the next start would build from the new
 * snapshot is built from them (`writeCompactedIndex`): the slots in the snapshot's order, the tables filled in
 * that order exactly as loading fills them. Only where two users of one connection have equal email or username
 * hashes are their two lines read, to compare the keys themselves (as loading does; ~100 pairs at 1M users).
 */

/** The keys' hashes of a view's users, in its order, and the connections they are numbered by. */
export interface ViewKeys {
  connections: string[]
  connection: Int32Array<ArrayBuffer>
  idHash: Int32Array<ArrayBuffer>
  emailHash: Int32Array<ArrayBuffer>
  usernameHash: Int32Array<ArrayBuffer>
  hasUsername: Uint8Array<ArrayBuffer>
}

/** Taken synchronously with the view (before any commit changes the slots). */
export function viewKeys(index: UserIndex, view: UserView): ViewKeys {
  const n = view.length
  const { slots } = index
  const keys: ViewKeys = {
    connections: index.connections.saved().keys,
    connection: new Int32Array(n),
    idHash: new Int32Array(n),
    emailHash: new Int32Array(n),
    usernameHash: new Int32Array(n),
    hasUsername: new Uint8Array(n),
  }
  for (let k = 0; k < n; k++) {
    const slot = view.slots === undefined ? k : (view.slots[k] as number)
    keys.connection[k] = slots.connection[slot] as number
    keys.idHash[k] = slots.idHash[slot] as number
    keys.emailHash[k] = slots.emailHash[slot] as number
    const hasUsername = slots.hasUsername[slot] as number
    keys.hasUsername[k] = hasUsername
    // A user who lost their username keeps the old hash in its slot: loading leaves it 0.
    keys.usernameHash[k] = hasUsername === 1 ? (slots.usernameHash[slot] as number) : 0
  }
  return keys
}

/** Users between two turns of the event loop while the tables are filled: ~10 ms of work. */
const usersPerTurn = 50_000
const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

/**
 * Writes the index file of the snapshot just written in `dir` from `keys` (its users in order, line k `lengths[k]`
 * bytes, the first at `bodyStart`). Never throws: the index file is a cache, and the next start builds it anyway.
 */
export async function writeCompactedIndex(
  dir: string,
  head: { seq: number; journal: number },
  keys: ViewKeys,
  bodyStart: number,
  lengths: Int32Array<ArrayBuffer>,
): Promise<void> {
  let fd: number | undefined
  try {
    fd = openSync(join(dir, snapshotFileName), 'r')
    const stats = fstatSync(fd)
    const state = await buildState(keys, bodyStart, lengths, lineKeys(fd))
    const header: SnapshotHeader = {
      format: snapshotFormat,
      version: snapshotVersion,
      ...head,
      users: lengths.length,
    }
    await writeIndexFile(dir, stats, header, state)
  } catch {
    // Only a cache: the next start loads the snapshot the slow way and saves the index then.
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/** Reads the key fields of the snapshot's line at `position` (`length` bytes). */
type LineKeys = (position: number, length: number) => { bytes: Buffer; fields: LineFields }

function lineKeys(fd: number): LineKeys {
  let bytes = Buffer.alloc(4096)
  return (position, length) => {
    if (bytes.length < length) bytes = Buffer.alloc(length)
    let done = 0
    while (done < length) {
      const got = readSync(fd, bytes, done, length - done, position + done)
      if (got === 0) throw new Error('the snapshot is shorter than written')
      done += got
    }
    const fields = new LineFields()
    const problem = readLineFields(bytes, 0, length, fields, true)
    if (problem !== undefined) throw new Error(problem)
    return { bytes: Buffer.from(bytes.subarray(0, length)), fields }
  }
}

async function buildState(
  keys: ViewKeys,
  bodyStart: number,
  lengths: Int32Array<ArrayBuffer>,
  readKeys: LineKeys,
): Promise<SnapshotIndexState> {
  const n = lengths.length
  // After the compaction's own synchronous work (adopting the snapshot), and between each stretch of this one.
  await turn()
  // The file holds `n` entries of each slot array (the next start allocates room for more as it reads them).
  const position = new Float64Array(n)
  placeLines(bodyStart, lengths, position)
  // The arrays of `keys` and `lengths` are the state's own: nothing else uses them once the snapshot is written.
  const length = lengths
  const connection = keys.connection
  const connectionCounts = countUsers(connection, keys.connections.length)
  await turn()
  const tables = new TableFiller(keys, connection, (k, i) => {
    const { bytes, fields } = readKeys(position[k] as number, length[k] as number)
    return i === 0
      ? decodeKey(bytes, fields.connectionEnd + 1, fields.emailEnd)
      : decodeKey(bytes, fields.emailEnd + 1, fields.usernameEnd)
  })
  // Synchronous runs of users in a function of their own (an async function's loop stays unoptimized).
  for (let from = 0; from < n; from += usersPerTurn) {
    tables.fill(from, Math.min(n, from + usersPerTurn))
    await turn()
  }
  return {
    users: n,
    connections: keys.connections,
    connectionCounts,
    position,
    length,
    connection,
    idHash: keys.idHash,
    emailHash: keys.emailHash,
    usernameHash: keys.usernameHash,
    hasUsername: keys.hasUsername,
    tables: [tables.ids.saved(), tables.emails.saved(), tables.usernames.saved()],
  }
}

/** Line k starts after line k-1 and its newline. */
function placeLines(bodyStart: number, lengths: Int32Array, position: Float64Array): void {
  let at = bodyStart
  for (let k = 0; k < lengths.length; k++) {
    position[k] = at
    at += (lengths[k] as number) + 1
  }
}

function countUsers(connection: Int32Array, connections: number): number[] {
  const counts = new Array<number>(connections).fill(0)
  for (let k = 0; k < connection.length; k++) {
    const number = connection[k] as number
    counts[number] = (counts[number] as number) + 1
  }
  return counts
}

/**
 * The id, email and username tables, filled with the same calls in the same order as loading the snapshot makes
 * (`UserIndex.reserve`, then `add` line by line): the same cells. `keyOf(k, i)` is line k's email (i 0) or
 * username (1), decoded: read only when two users of one connection have equal hashes.
 */
class TableFiller {
  readonly ids = new SlotTable(0)
  readonly emails = new SlotTable(0)
  readonly usernames = new SlotTable(0)
  private k = 0
  private readonly never = () => false
  private readonly sameEmail = (slot: number) => this.same(slot, 0)
  private readonly sameUsername = (slot: number) => this.same(slot, 1)

  constructor(
    private readonly keys: ViewKeys,
    private readonly connection: Int32Array,
    private readonly keyOf: (k: number, i: 0 | 1) => string,
  ) {
    this.ids.reserve(connection.length)
    this.emails.reserve(connection.length)
  }

  fill(from: number, to: number): void {
    const { keys, ids, emails, usernames } = this
    for (let k = from; k < to; k++) {
      this.k = k
      // Ids are unique in the index the view was taken from: an equal hash is another user's.
      const idHash = keys.idHash[k] as number
      ids.reserve()
      ids.insert(ids.locate(idHash, this.never), idHash, k)
      const emailHash = keys.emailHash[k] as number
      emails.reserve()
      const emailCell = emails.locate(emailHash, this.sameEmail)
      if (emailCell >= 0) emails.replace(emailCell, k)
      else emails.insert(emailCell, emailHash, k)
      if (keys.hasUsername[k] !== 1) continue
      const usernameHash = keys.usernameHash[k] as number
      usernames.reserve()
      const usernameCell = usernames.locate(usernameHash, this.sameUsername)
      if (usernameCell >= 0) usernames.replace(usernameCell, k)
      else usernames.insert(usernameCell, usernameHash, k)
    }
  }

  private same(slot: number, i: 0 | 1): boolean {
    return this.connection[slot] === this.connection[this.k] && this.keyOf(slot, i) === this.keyOf(this.k, i)
  }
}
