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
  const connections = index.connections.saved().keys
  let keys: ViewKeys
  if (view.slots === undefined) {
    // No free slots: user k is slot k, and copying the arrays is a memcpy (5M users: 85 MB, a few ms).
    keys = {
      connections,
      connection: slots.connection.slice(0, n),
      idHash: slots.idHash.slice(0, n),
      emailHash: slots.emailHash.slice(0, n),
      usernameHash: slots.usernameHash.slice(0, n),
      hasUsername: slots.hasUsername.slice(0, n),
    }
  } else {
    keys = {
      connections,
      connection: new Int32Array(n),
      idHash: new Int32Array(n),
      emailHash: new Int32Array(n),
      usernameHash: new Int32Array(n),
      hasUsername: new Uint8Array(n),
    }
    gather(keys, slots, view.slots)
  }
  // A user who lost their username keeps the old hash in its slot: loading leaves it 0.
  for (let k = 0; k < n; k++) if (keys.hasUsername[k] !== 1) keys.usernameHash[k] = 0
  return keys
}

function gather(keys: ViewKeys, slots: UserIndex['slots'], viewSlots: Int32Array): void {
  for (let k = 0; k < viewSlots.length; k++) {
    const slot = viewSlots[k] as number
    keys.connection[k] = slots.connection[slot] as number
    keys.idHash[k] = slots.idHash[slot] as number
    keys.emailHash[k] = slots.emailHash[slot] as number
    keys.usernameHash[k] = slots.usernameHash[slot] as number
    keys.hasUsername[k] = slots.hasUsername[slot] as number
  }
}

/** Users between two turns of the event loop while the index is built: a few ms of work. */
const usersPerTurn = 20_000
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
  const filler = new IndexFiller(keys, lengths, bodyStart, readKeys)
  await turn()
  // Synchronous runs of users in a function of their own (an async function's loop stays unoptimized).
  for (let from = 0; from < n; from += usersPerTurn) {
    filler.fill(from, Math.min(n, from + usersPerTurn))
    await turn()
  }
  return {
    users: n,
    connections: keys.connections,
    connectionCounts: filler.counts,
    position: filler.position,
    // The arrays of `keys` and `lengths` are the state's own: nothing else uses them once the snapshot is written.
    length: lengths,
    connection: keys.connection,
    idHash: keys.idHash,
    emailHash: keys.emailHash,
    usernameHash: keys.usernameHash,
    hasUsername: keys.hasUsername,
    tables: [filler.ids.saved(), filler.emails.saved(), filler.usernames.saved()],
  }
}

/**
 * Places line after line (each starts after the one before and its newline), counts the connections' users, and
 * fills the id, email and username tables with the same calls in the same order as loading the snapshot makes
 * (`UserIndex.reserve`, then `add` line by line): the same cells. Two users of one connection with equal email or
 * username hashes have their keys read from their lines and compared, as loading compares them.
 */
class IndexFiller {
  /** The file holds `n` entries of each slot array (the next start allocates room for more as it reads them). */
  readonly position: Float64Array<ArrayBuffer>
  readonly counts: number[]
  readonly ids = new SlotTable(0)
  readonly emails = new SlotTable(0)
  readonly usernames = new SlotTable(0)
  private at: number
  private k = 0
  private readonly never = () => false
  private readonly sameEmail = (slot: number) => this.same(slot, 0)
  private readonly sameUsername = (slot: number) => this.same(slot, 1)

  constructor(
    private readonly keys: ViewKeys,
    private readonly lengths: Int32Array,
    bodyStart: number,
    private readonly readKeys: LineKeys,
  ) {
    this.position = new Float64Array(lengths.length)
    this.counts = new Array<number>(keys.connections.length).fill(0)
    this.at = bodyStart
    this.ids.reserve(lengths.length)
    this.emails.reserve(lengths.length)
  }

  fill(from: number, to: number): void {
    const { keys, ids, emails, usernames, position, lengths, counts } = this
    for (let k = from; k < to; k++) {
      this.k = k
      position[k] = this.at
      this.at += (lengths[k] as number) + 1
      const connection = keys.connection[k] as number
      counts[connection] = (counts[connection] as number) + 1
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
    const { connection } = this.keys
    return connection[slot] === connection[this.k] && this.keyOf(slot, i) === this.keyOf(this.k, i)
  }

  /** Line k's email (i 0) or username (1), decoded from the snapshot. */
  private keyOf(k: number, i: 0 | 1): string {
    const { bytes, fields } = this.readKeys(this.position[k] as number, this.lengths[k] as number)
    return i === 0
      ? decodeKey(bytes, fields.connectionEnd + 1, fields.emailEnd)
      : decodeKey(bytes, fields.emailEnd + 1, fields.usernameEnd)
  }
}
