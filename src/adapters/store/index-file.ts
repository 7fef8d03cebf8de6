import { createHash } from 'node:crypto'
import { closeSync, fstatSync, openSync, readSync, type Stats } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { openPrivate } from './durable-fs.ts'
import type { SnapshotHeader } from './store-files.ts'
import type { UserIndex } from './user-index.ts'

/**
 * `snapshot.index`: the index of the snapshot's users as it stands right after loading them, so the next start
 * reads ~70 bytes per user of typed arrays instead of hashing every line again (1M users: ~60 ms instead of
 * ~1.3 s). A cache, never the truth: it names the snapshot it was built from (its inode, size, modification time
 * and header) and carries a SHA-256 of its arrays; when anything differs, or it is missing or unreadable, the
 * store loads the snapshot the slow way and writes a new one. It is written to a tmp file, synced and renamed;
 * should a crash leave it torn or stale anyway, that is recognised and it is ignored. A compaction writes the
 * index of its new snapshot as soon as the snapshot is in place (`compacted-index.ts`).
 */

export const indexFileName = 'snapshot.index'
const tmpName = 'snapshot.index.tmp'
const magic = 'roster-index-1' as const

/** The state `UserIndex` saves and restores: every used slot is a user of the snapshot. */
export interface SnapshotIndexState {
  users: number
  /** Connection keys (JSON-encoded, as in the lines) in number order, and their users. */
  connections: string[]
  connectionCounts: number[]
  position: Float64Array<ArrayBuffer>
  length: Int32Array<ArrayBuffer>
  connection: Int32Array<ArrayBuffer>
  idHash: Int32Array<ArrayBuffer>
  emailHash: Int32Array<ArrayBuffer>
  usernameHash: Int32Array<ArrayBuffer>
  hasUsername: Uint8Array<ArrayBuffer>
  /** The cells of the id, email and username tables, and how many each holds. */
  tables: { cells: Int32Array<ArrayBuffer>; size: number }[]
}

const headerSchema = z.object({
  format: z.literal(magic),
  snapshot: z.object({
    ino: z.number(),
    size: z.number(),
    mtimeMs: z.number(),
    seq: z.number(),
    journal: z.number(),
  }),
  users: z.number().int().nonnegative(),
  connections: z.array(z.string()),
  connectionCounts: z.array(z.number().int().nonnegative()),
  tableCells: z.array(z.number().int().nonnegative()).length(3),
  tableSizes: z.array(z.number().int().nonnegative()).length(3),
  sha256: z.string(),
})

function identity(stats: Stats, header: SnapshotHeader) {
  return {
    ino: stats.ino,
    size: stats.size,
    mtimeMs: stats.mtimeMs,
    seq: header.seq,
    journal: header.journal,
  }
}

/** The header's fields in a fixed order: hashed with the arrays, so that no field can change how they are cut. */
function shapeText(shape: Omit<z.infer<typeof headerSchema>, 'sha256'>): string {
  const { snapshot, users, connections, connectionCounts, tableCells, tableSizes } = shape
  return JSON.stringify([snapshot, users, connections, connectionCounts, tableCells, tableSizes])
}

function parts(state: SnapshotIndexState): Uint8Array[] {
  const n = state.users
  const bytes = (array: Float64Array | Int32Array | Uint8Array, count: number) =>
    new Uint8Array(array.buffer, array.byteOffset, count * array.BYTES_PER_ELEMENT)
  return [
    bytes(state.position, n),
    bytes(state.length, n),
    bytes(state.connection, n),
    bytes(state.idHash, n),
    bytes(state.emailHash, n),
    bytes(state.usernameHash, n),
    bytes(state.hasUsername, n),
    ...state.tables.map((table) => bytes(table.cells, table.cells.length)),
  ]
}

/**
 * Writes the index file for the snapshot `stats` describes (`snapshot.jsonl`: just loaded, or just written by a
 * compaction): to a tmp file, synced, then renamed, so the name only ever holds a whole file. Hashes and writes in
 * pieces, yielding between them: a compaction writes it while the server serves (5M users: ~330 MB).
 */
export async function writeIndexFile(
  dir: string,
  stats: Stats,
  header: SnapshotHeader,
  state: SnapshotIndexState,
): Promise<void> {
  const body = parts(state).flatMap(pieces)
  const shape = {
    format: magic,
    snapshot: identity(stats, header),
    users: state.users,
    connections: state.connections,
    connectionCounts: state.connectionCounts,
    tableCells: state.tables.map((table) => table.cells.length),
    tableSizes: state.tables.map((table) => table.size),
  }
  const hash = createHash('sha256').update(shapeText(shape))
  for (const piece of body) {
    hash.update(piece)
    await new Promise<void>((resolve) => setImmediate(resolve))
  }
  const head = { ...shape, sha256: hash.digest('hex') }
  const tmpPath = join(dir, tmpName)
  try {
    const handle = await openPrivate(tmpPath, 'w')
    try {
      await handle.writeFile(`${JSON.stringify(head)}\n`)
      for (const piece of body) await handle.writeFile(piece)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(tmpPath, join(dir, indexFileName))
  } catch {
    // Only a cache: the next start loads the snapshot the slow way again.
    await rm(tmpPath, { force: true }).catch(() => undefined)
  }
}

/** Bytes hashed between two turns of the event loop: ~10 ms of SHA-256. */
const pieceBytes = 4 * 1024 * 1024

function pieces(part: Uint8Array): Uint8Array[] {
  const list: Uint8Array[] = []
  for (let at = 0; at < part.length; at += pieceBytes) list.push(part.subarray(at, at + pieceBytes))
  return list
}

/**
 * The saved index of the snapshot whose descriptor is `fd`, with arrays of `capacity` slots; undefined when there
 * is none that belongs to exactly this snapshot, whole.
 */
export function readIndexFile(
  dir: string,
  fd: number,
  header: SnapshotHeader,
  capacity: (users: number) => number,
): SnapshotIndexState | undefined {
  let indexFd: number
  try {
    indexFd = openSync(join(dir, indexFileName), 'r')
  } catch {
    return undefined
  }
  try {
    const first = Buffer.alloc(64 * 1024)
    const read = readSync(indexFd, first, 0, first.length, 0)
    const newline = first.subarray(0, read).indexOf(0x0a)
    if (newline === -1) return undefined
    let head: z.infer<typeof headerSchema>
    try {
      head = headerSchema.parse(JSON.parse(first.toString('utf8', 0, newline)))
    } catch {
      return undefined
    }
    const expected = identity(fstatSync(fd), header)
    const saved = head.snapshot
    if (
      saved.ino !== expected.ino ||
      saved.size !== expected.size ||
      saved.mtimeMs !== expected.mtimeMs ||
      saved.seq !== expected.seq ||
      saved.journal !== expected.journal ||
      head.users !== header.users ||
      head.connections.length !== head.connectionCounts.length
    ) {
      return undefined
    }
    const slots = capacity(head.users)
    const state: SnapshotIndexState = {
      users: head.users,
      connections: head.connections,
      connectionCounts: head.connectionCounts,
      position: new Float64Array(slots),
      length: new Int32Array(slots),
      connection: new Int32Array(slots),
      idHash: new Int32Array(slots),
      emailHash: new Int32Array(slots),
      usernameHash: new Int32Array(slots),
      hasUsername: new Uint8Array(slots),
      tables: head.tableCells.map((cells, i) => ({
        cells: new Int32Array(cells),
        size: head.tableSizes[i] as number,
      })),
    }
    if (!head.tableCells.every((cells) => cells >= 32 && (cells & (cells - 1)) === 0)) return undefined
    const { sha256, ...shape } = head
    const hash = createHash('sha256').update(shapeText(shape))
    let position = newline + 1
    for (const part of parts(state)) {
      let done = 0
      while (done < part.length) {
        const got = readSync(indexFd, part, done, part.length - done, position + done)
        if (got === 0) return undefined
        done += got
      }
      position += part.length
      hash.update(part)
    }
    if (hash.digest('hex') !== sha256) return undefined
    return state
  } finally {
    closeSync(indexFd)
  }
}

/**
 * The index as the index file saves it, right after a snapshot was loaded into an empty index (every slot a user
 * of that one source); its arrays are the index's own, so save it before anything changes.
 */
export function savedIndex(index: UserIndex): SnapshotIndexState {
  const { keys, counts } = index.connections.saved()
  const { position, length, connection, idHash, emailHash, usernameHash, hasUsername } = index.slots
  return {
    users: index.slots.used,
    connections: keys,
    connectionCounts: counts,
    position,
    length,
    connection,
    idHash,
    emailHash,
    usernameHash,
    hasUsername,
    tables: [index.ids.saved(), index.emails.saved(), index.usernames.saved()],
  }
}

/**
 * Takes a saved index (arrays of `UserIndex.capacityFor(users)` slots) into an empty index, its users in the held
 * source `source`. Answers false when the saved connections do not decode (the index is then unusable).
 */
export function restoreIndex(index: UserIndex, state: SnapshotIndexState, source: number): boolean {
  const [ids, emails, usernames] = state.tables
  if (ids === undefined || emails === undefined || usernames === undefined) return false
  if (!index.connections.restore(state.connections, state.connectionCounts)) return false
  const slots = index.slots
  slots.capacity = state.position.length
  slots.used = state.users
  slots.source = new Int32Array(slots.capacity).fill(source, 0, state.users)
  slots.position = state.position
  slots.length = state.length
  slots.connection = state.connection
  slots.idHash = state.idHash
  slots.emailHash = state.emailHash
  slots.usernameHash = state.usernameHash
  slots.hasUsername = state.hasUsername
  index.ids.restore(ids.cells, ids.size)
  index.emails.restore(emails.cells, emails.size)
  index.usernames.restore(usernames.cells, usernames.size)
  index.live = state.users
  index.table.addUsers(source, state.users)
  return true
}
