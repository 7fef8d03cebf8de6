import type { StoredUser } from '../../domain/users/user.ts'
import {
  decodeKey,
  finishHash,
  hashKey,
  keyEnd,
  LineFields,
  parseLineUser,
  readLineFields,
} from './store-files.ts'

/**
 * The users in memory and the lookups the engine needs, built for a million users: start-up must not parse them
 * all, and the heap must not hold a million objects and strings.
 *
 * Every user is held as its snapshot line (`snapshotLine` in store-files.ts: JSON-encoded keys, then the user's
 * JSON) inside a large Buffer: the snapshot file's own bytes after a load, one Buffer per commit for its puts, one
 * per batch after a compaction. A user is parsed when it is read. Per user the index keeps a slot: a few numbers in
 * typed arrays (which Buffer, where its line is, its connection, the hashes of its keys). Three open-addressing
 * tables of slot numbers answer the lookups, comparing keys as their JSON-encoded bytes: the JSON.stringify of a
 * query string is byte for byte what the snapshot line holds, because that is how lines are written. So opening a
 * store hashes bytes and fills typed arrays, and allocates nothing per user.
 *
 * Users are immutable: a put points the user's slot at new bytes (keeping its place in the order), a delete frees
 * the slot. Buffers are never written after they are filled, so a `view` (a copy of the slots' positions) shows
 * the users as they were when it was taken. A Buffer is released once no slot points into it.
 */

const tab = 0x09
const newline = 0x0a
const quote = 0x22
const backslash = 0x5c
/** No user has this buffer: the slot is free (its user was deleted). */
const freeSlot = -1
/** Free slots are reused only by renumbering every slot (which keeps the order): once they outnumber the users. */
const minHolesToRenumber = 4_096
const minCacheSweep = 4_096
/** Size of the Buffers compaction packs users into, when it moves them out of mostly dead ones. */
const packBytes = 8 * 1024 * 1024

/**
 * A set of slot numbers keyed by hash: open addressing with linear probing, at most half full, removal by
 * backward shift (no tombstones). A cell is two int32s, the key's hash and slot + 1 (0: empty), so probing reads
 * neighbouring memory instead of each slot's hash elsewhere: at a million users each miss costs ~100 ns.
 */
class SlotTable {
  private cells: Int32Array
  private mask: number
  private size = 0

  constructor(expected: number) {
    this.cells = new Int32Array(2 * tableCapacity(expected))
    this.mask = this.cells.length / 2 - 1
  }

  /**
   * The cell holding a slot whose key has hash `hash` and satisfies `same`, or, when there is none, -1 minus the
   * empty cell where it would go (for `insert`).
   */
  locate(hash: number, same: (slot: number) => boolean): number {
    const cells = this.cells
    const mask = this.mask
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const slot = (cells[2 * i + 1] as number) - 1
      if (slot === -1) return -1 - i
      if (cells[2 * i] === hash && same(slot)) return i
    }
  }

  slotAt(cell: number): number {
    return (this.cells[2 * cell + 1] as number) - 1
  }

  /** Points a located cell at another slot with the same key. */
  replace(cell: number, slot: number): void {
    this.cells[2 * cell + 1] = slot + 1
  }

  /** Fills the empty cell `locate` answered (-1 - cell). Nothing may change the table in between. */
  insert(located: number, hash: number, slot: number): void {
    const cell = -1 - located
    this.cells[2 * cell] = hash
    this.cells[2 * cell + 1] = slot + 1
    this.size += 1
  }

  /** Makes room for `more` slots, rehashing when needed: call before `locate` for an insert. */
  reserve(more = 1): void {
    if ((this.size + more) * 2 > this.cells.length / 2) this.rebuild(undefined, this.size + more)
  }

  /** Removes `slot` (whose key's hash is `hash`) if the table holds it. */
  remove(hash: number, slot: number): void {
    const cells = this.cells
    const mask = this.mask
    let hole = hash & mask
    for (; ; hole = (hole + 1) & mask) {
      const held = cells[2 * hole + 1] as number
      if (held === 0) return
      if (held === slot + 1) break
    }
    this.size -= 1
    // Close the gap: a later cell of the run moves into the hole when the hole lies between its home and it.
    for (let i = (hole + 1) & mask; cells[2 * i + 1] !== 0; i = (i + 1) & mask) {
      const home = (cells[2 * i] as number) & mask
      if (((i - home) & mask) >= ((i - hole) & mask)) {
        cells[2 * hole] = cells[2 * i] as number
        cells[2 * hole + 1] = cells[2 * i + 1] as number
        hole = i
      }
    }
    cells[2 * hole] = 0
    cells[2 * hole + 1] = 0
  }

  /** Rehashes every cell into a table sized for `expected`, renumbering slots through `renumber` when given. */
  rebuild(renumber: Int32Array | undefined, expected = this.size): void {
    const old = this.cells
    const cells = new Int32Array(2 * tableCapacity(expected))
    const mask = cells.length / 2 - 1
    for (let c = 0; c < old.length; c += 2) {
      const held = old[c + 1] as number
      if (held === 0) continue
      const hash = old[c] as number
      let i = hash & mask
      while (cells[2 * i + 1] !== 0) i = (i + 1) & mask
      cells[2 * i] = hash
      cells[2 * i + 1] = renumber === undefined ? held : (renumber[held - 1] as number) + 1
    }
    this.cells = cells
    this.mask = mask
  }
}

function tableCapacity(expected: number): number {
  let capacity = 16
  while (capacity < expected * 2) capacity *= 2
  return capacity
}

/**
 * The users of the index at one moment, in order: positions of their lines, copied, so later commits do not
 * change what it yields. Iterating parses each user once.
 */
export class UserView implements Iterable<StoredUser> {
  constructor(
    readonly length: number,
    /** The index's buffers by number, as of the view. Compaction lets go of the ones it has copied. */
    readonly buffers: (Buffer | undefined)[],
    readonly bufferNumbers: Int32Array,
    readonly starts: Int32Array,
    readonly ends: Int32Array,
    /** The slot of each user, valid while the index's `epoch` is the view's; undefined: its position. */
    readonly slots: Int32Array | undefined,
    readonly epoch: number,
  ) {}

  *[Symbol.iterator](): Iterator<StoredUser> {
    for (let i = 0; i < this.length; i++) {
      const bytes = this.buffers[this.bufferNumbers[i] as number] as Buffer
      yield parseLineUser(bytes, this.starts[i] as number, this.ends[i] as number)
    }
  }
}

export class UserIndex {
  private buffers: (Buffer | undefined)[] = []
  /** Users whose line is in each buffer: at 0 the buffer is released and its number reused. */
  private bufferUsers: number[] = []
  /** Bytes of those users' lines (newlines included): the rest of the buffer is dead, freed only with it. */
  private bufferBytes: number[] = []
  private freeBuffers: number[] = []

  private capacity = 0
  /** Slots in use, free ones included: slots are handed out in insertion order and that is the scan order. */
  private slots = 0
  private live = 0
  private slotBuffer = new Int32Array(0)
  /** Where the slot's line starts, and where its newline is. */
  private slotStart = new Int32Array(0)
  private slotEnd = new Int32Array(0)
  private slotConnection = new Int32Array(0)
  private idHashes = new Int32Array(0)
  private emailHashes = new Int32Array(0)
  private usernameHashes = new Int32Array(0)
  private hasUsername = new Uint8Array(0)

  private readonly ids = new SlotTable(0)
  /** By connection and email: the connection's number is mixed into the hash and compared first. */
  private readonly emails = new SlotTable(0)
  private readonly usernames = new SlotTable(0)

  /** Connections get small numbers in order of appearance; few exist, and a number is never reused. */
  private readonly connectionNumbers = new Map<string, number>()
  private readonly connectionKeys: Buffer[] = []
  private readonly connectionCounts: number[] = []
  /** Connection numbers by the hash of their key's bytes (the first connection with a hash wins it). */
  private readonly connectionByHash = new Map<number, number>()

  /**
   * Users parsed by point reads, held weakly: while a caller holds a user, reading it again gives the same object
   * (the import planner compares users it found by id, email and username by identity).
   */
  private readonly parsed = new Map<number, WeakRef<StoredUser>>()
  private sweepParsedAt = minCacheSweep
  /** Changes when slots are renumbered: the slots of an older view mean nothing any more. */
  private epoch = 0

  private readonly fields = new LineFields()
  /** The key being looked for: `probeBytes[probeStart, probeEnd)`, JSON-encoded, and its connection. */
  private probeBytes: Uint8Array = new Uint8Array(0)
  private probeStart = 0
  private probeEnd = 0
  private probeConnection = 0
  private scratch = Buffer.alloc(256)
  private readonly sameId = (slot: number) => this.keyEquals(slot, 0)
  private readonly sameEmail = (slot: number) =>
    this.slotConnection[slot] === this.probeConnection && this.keyEquals(slot, 2)
  private readonly sameUsername = (slot: number) =>
    this.slotConnection[slot] === this.probeConnection && this.keyEquals(slot, 3)

  get(userId: string): StoredUser | undefined {
    this.probeKey(userId, 0)
    const cell = this.ids.locate(finishHash(this.probeHash()), this.sameId)
    return cell < 0 ? undefined : this.user(this.ids.slotAt(cell))
  }

  /** Exact match: emails are stored lower-cased, so callers pass the normalized email. */
  findByEmail(connectionId: string, email: string): StoredUser | undefined {
    const connection = this.connectionNumbers.get(connectionId)
    if (connection === undefined) return undefined
    this.probeKey(email, connection)
    const hash = finishHash(this.probeHash(), connection + 1)
    const cell = this.emails.locate(hash, this.sameEmail)
    return cell < 0 ? undefined : this.user(this.emails.slotAt(cell))
  }

  findByUsername(connectionId: string, username: string): StoredUser | undefined {
    const connection = this.connectionNumbers.get(connectionId)
    if (connection === undefined) return undefined
    this.probeKey(username, connection)
    const hash = finishHash(this.probeHash(), connection + 1)
    const cell = this.usernames.locate(hash, this.sameUsername)
    return cell < 0 ? undefined : this.user(this.usernames.slotAt(cell))
  }

  count(connectionId?: string): number {
    if (connectionId === undefined) return this.live
    const connection = this.connectionNumbers.get(connectionId)
    return connection === undefined ? 0 : (this.connectionCounts[connection] ?? 0)
  }

  /** The users as they are now, in insertion order (a replaced user keeps its place). O(slots), ~5 ms a million. */
  view(connectionId?: string): UserView {
    const connection = connectionId === undefined ? -1 : (this.connectionNumbers.get(connectionId) ?? -2)
    const length = connection === -1 ? this.live : connection === -2 ? 0 : this.count(connectionId)
    const buffers = this.buffers.slice()
    if (connection === -1 && length === this.slots) {
      // No free slots: the positions are the arrays as they are, and each user's slot is its position.
      const copy = (array: Int32Array) => array.slice(0, length)
      const { slotBuffer, slotStart, slotEnd } = this
      return new UserView(
        length,
        buffers,
        copy(slotBuffer),
        copy(slotStart),
        copy(slotEnd),
        undefined,
        this.epoch,
      )
    }
    const bufferNumbers = new Int32Array(length)
    const starts = new Int32Array(length)
    const ends = new Int32Array(length)
    const slots = new Int32Array(length)
    const { slotBuffer, slotStart, slotEnd, slotConnection } = this
    let n = 0
    for (let slot = 0; slot < this.slots && n < length; slot++) {
      const buffer = slotBuffer[slot] as number
      if (buffer === freeSlot || (connection !== -1 && slotConnection[slot] !== connection)) continue
      bufferNumbers[n] = buffer
      starts[n] = slotStart[slot] as number
      ends[n] = slotEnd[slot] as number
      slots[n] = slot
      n += 1
    }
    return new UserView(length, buffers, bufferNumbers, starts, ends, slots, this.epoch)
  }

  /**
   * Room for `users` more users and some to spare, for loading a snapshot whose header says how many: the first
   * commits after opening must not have to copy every slot to grow.
   */
  reserve(users: number): void {
    const wanted = this.slots + users + Math.ceil(users / 8) + 1_024
    if (wanted > this.capacity) this.growSlots(wanted)
    this.ids.reserve(users)
    this.emails.reserve(users)
  }

  /** Takes a buffer of whole lines for `add`; answers its number. Call `drop` once its lines are added. */
  hold(bytes: Buffer): number {
    const number = this.freeBuffers.pop() ?? this.buffers.length
    this.buffers[number] = bytes
    this.bufferUsers[number] = 0
    this.bufferBytes[number] = 0
    return number
  }

  /** Releases a held buffer if none of its lines became a user. */
  drop(buffer: number): void {
    if (this.bufferUsers[buffer] === 0) this.releaseBuffer(buffer)
  }

  /**
   * Adds the line `[start, end)` of a held buffer (`end` is its newline) as a user that must be new, for loading a
   * snapshot. Answers what is wrong with the line, or undefined; after a problem the index is unusable.
   */
  add(buffer: number, start: number, end: number): string | undefined {
    return this.put(buffer, start, end, true)
  }

  /** One commit's changes, in the order replay repeats them: puts (snapshot lines), then deletes. */
  apply(lines: Buffer, deletes: readonly string[]): void {
    if (lines.length > 0) {
      const buffer = this.hold(lines)
      let start = 0
      for (let end = lines.indexOf(newline); end !== -1; end = lines.indexOf(newline, start)) {
        const problem = this.put(buffer, start, end, false)
        if (problem !== undefined) throw new Error(`A put is not a snapshot line: ${problem}`)
        start = end + 1
      }
      this.drop(buffer)
    }
    for (const userId of deletes) this.delete(userId)
  }

  /** Removing an unknown id does nothing. */
  delete(userId: string): void {
    this.probeKey(userId, 0)
    const cell = this.ids.locate(finishHash(this.probeHash()), this.sameId)
    if (cell < 0) return
    const slot = this.ids.slotAt(cell)
    this.unlinkLookups(slot)
    this.ids.remove(this.idHashes[slot] as number, slot)
    this.releaseUser(this.slotBuffer[slot] as number, this.lineBytes(slot))
    this.countUser(this.slotConnection[slot] as number, -1)
    this.slotBuffer[slot] = freeSlot
    this.live -= 1
    this.parsed.delete(slot)
    const holes = this.slots - this.live
    if (holes >= minHolesToRenumber && holes > this.live) this.renumber()
  }

  /**
   * The lines of `view` as a new snapshot's body, in batches of `batchSize` users: one Buffer, reused, so each
   * batch is valid until the next is asked for. Compaction also packs memory: the users still as the view saw them
   * whose Buffer is mostly dead (replaced and deleted users' lines) move into fresh Buffers, so that the old ones
   * can be released; the view lets go of each Buffer once it is copied. Right after a load, every Buffer is full of
   * users, and compaction allocates nothing but the batch.
   */
  *snapshotBatches(view: UserView, batchSize: number): Generator<Buffer> {
    const lastUse = new Int32Array(view.buffers.length).fill(-1)
    for (let i = 0; i < view.length; i++) lastUse[view.bufferNumbers[i] as number] = i
    const sparse = view.buffers.map((bytes, number) => {
      if (bytes === undefined || this.buffers[number] !== bytes) return false
      return (this.bufferBytes[number] as number) * 2 < bytes.length
    })
    let batch = Buffer.alloc(0)
    let packed: { bytes: Buffer; number: number; used: number } | undefined
    for (let from = 0; from < view.length; from += batchSize) {
      const to = Math.min(from + batchSize, view.length)
      let length = 0
      for (let i = from; i < to; i++) length += (view.ends[i] as number) - (view.starts[i] as number) + 1
      if (batch.length < length) batch = Buffer.allocUnsafeSlow(Math.max(length, batch.length * 2))
      let offset = 0
      for (let i = from; i < to; ) {
        // Copy runs of adjacent lines with one call: right after a load, a batch is one or two runs.
        const sourceNumber = view.bufferNumbers[i] as number
        const source = view.buffers[sourceNumber] as Buffer
        let j = i + 1
        while (
          j < to &&
          view.bufferNumbers[j] === sourceNumber &&
          view.starts[j] === (view.ends[j - 1] as number) + 1
        ) {
          j += 1
        }
        offset += source.copy(batch, offset, view.starts[i] as number, (view.ends[j - 1] as number) + 1)
        if (sparse[sourceNumber] === true) {
          for (let k = i; k < j; k++) {
            const start = view.starts[k] as number
            const lineLength = (view.ends[k] as number) - start + 1
            if (packed === undefined || packed.used + lineLength > packed.bytes.length) {
              if (packed !== undefined) this.releaseUser(packed.number, 0)
              const bytes = Buffer.allocUnsafeSlow(Math.max(packBytes, lineLength))
              packed = { bytes, number: this.hold(bytes), used: 0 }
              // Pinned while it is being filled: commits between batches may replace every user moved so far.
              this.holdUser(packed.number, 0)
            }
            source.copy(packed.bytes, packed.used, start, start + lineLength)
            this.move(view, k, source, packed.number, packed.used, packed.used + lineLength - 1)
            packed.used += lineLength
          }
        }
        i = j
      }
      for (let i = from; i < to; i++) {
        const sourceNumber = view.bufferNumbers[i] as number
        if (lastUse[sourceNumber] === i) view.buffers[sourceNumber] = undefined
      }
      yield batch.subarray(0, length)
    }
    if (packed !== undefined) this.releaseUser(packed.number, 0)
  }

  /** Points slot `view.slots[k]` at the copy of its line, if it still holds what the view saw. */
  private move(view: UserView, k: number, source: Buffer, buffer: number, start: number, end: number): void {
    if (view.epoch !== this.epoch) return
    const slot = view.slots === undefined ? k : (view.slots[k] as number)
    const current = this.slotBuffer[slot] as number
    if (current === freeSlot || this.buffers[current] !== source || this.slotStart[slot] !== view.starts[k])
      return
    this.slotBuffer[slot] = buffer
    this.slotStart[slot] = start
    this.slotEnd[slot] = end
    this.holdUser(buffer, end - start + 1)
    this.releaseUser(current, end - start + 1)
  }

  /** Inserts or replaces the user of a line; a replaced user keeps its slot, so its place in the order. */
  private put(buffer: number, start: number, end: number, mustBeNew: boolean): string | undefined {
    const bytes = this.buffers[buffer] as Buffer
    const fields = this.fields
    const problem = readLineFields(bytes, start, end, fields)
    if (problem !== undefined) return `not a valid user (${problem})`
    const connection = this.connectionOf(bytes, fields.idEnd + 1, fields.connectionEnd, fields.connectionHash)
    if (connection === -1) return 'not a valid user (connection_id: not a JSON string)'
    const idHash = finishHash(fields.idHash)
    this.probeBytes = bytes
    this.probeStart = start
    this.probeEnd = fields.idEnd
    this.ids.reserve()
    const cell = this.ids.locate(idHash, this.sameId)
    let slot: number
    let previous = freeSlot
    let previousBytes = 0
    if (cell >= 0) {
      if (mustBeNew) return `user ${this.describeKey(bytes, start, fields.idEnd)} appears twice`
      slot = this.ids.slotAt(cell)
      this.unlinkLookups(slot)
      previous = this.slotBuffer[slot] as number
      previousBytes = this.lineBytes(slot)
      this.countUser(this.slotConnection[slot] as number, -1)
      this.parsed.delete(slot)
    } else {
      if (this.slots === this.capacity) this.growSlots(Math.max(1_024, Math.ceil(this.capacity * 1.5)))
      slot = this.slots
      this.slots += 1
      this.live += 1
      this.idHashes[slot] = idHash
      this.ids.insert(cell, idHash, slot)
    }
    this.slotBuffer[slot] = buffer
    this.slotStart[slot] = start
    this.slotEnd[slot] = end
    this.slotConnection[slot] = connection
    // Counted before the old line is let go: both may be in one buffer (a commit that puts a user twice).
    this.holdUser(buffer, end - start + 1)
    if (previous !== freeSlot) this.releaseUser(previous, previousBytes)
    this.countUser(connection, 1)
    this.linkLookups(slot, bytes, connection, fields)
    return undefined
  }

  private linkLookups(slot: number, bytes: Buffer, connection: number, fields: LineFields): void {
    this.probeBytes = bytes
    this.probeConnection = connection
    this.probeStart = fields.connectionEnd + 1
    this.probeEnd = fields.emailEnd
    const emailHash = finishHash(fields.emailHash, connection + 1)
    this.emailHashes[slot] = emailHash
    this.emails.reserve()
    // An equal key of another user is taken over: the lookup answers the user written last, as a Map would.
    const emailCell = this.emails.locate(emailHash, this.sameEmail)
    if (emailCell >= 0) this.emails.replace(emailCell, slot)
    else this.emails.insert(emailCell, emailHash, slot)

    this.hasUsername[slot] = fields.hasUsername ? 1 : 0
    if (!fields.hasUsername) return
    this.probeStart = fields.emailEnd + 1
    this.probeEnd = fields.usernameEnd
    const usernameHash = finishHash(fields.usernameHash, connection + 1)
    this.usernameHashes[slot] = usernameHash
    this.usernames.reserve()
    const usernameCell = this.usernames.locate(usernameHash, this.sameUsername)
    if (usernameCell >= 0) this.usernames.replace(usernameCell, slot)
    else this.usernames.insert(usernameCell, usernameHash, slot)
  }

  /**
   * Drops the slot's email and username lookups, but only where they still answer this slot: should two users ever
   * share an email, removing the one the lookup does not answer must not drop the other's lookup.
   */
  private unlinkLookups(slot: number): void {
    this.emails.remove(this.emailHashes[slot] as number, slot)
    if (this.hasUsername[slot] === 1) {
      this.usernames.remove(this.usernameHashes[slot] as number, slot)
    }
  }

  private countUser(connection: number, change: number): void {
    this.connectionCounts[connection] = (this.connectionCounts[connection] as number) + change
  }

  private lineBytes(slot: number): number {
    return (this.slotEnd[slot] as number) - (this.slotStart[slot] as number) + 1
  }

  /** One user more has its line (of `bytes` bytes) in `buffer`. */
  private holdUser(buffer: number, bytes: number): void {
    this.bufferUsers[buffer] = (this.bufferUsers[buffer] as number) + 1
    this.bufferBytes[buffer] = (this.bufferBytes[buffer] as number) + bytes
  }

  /** One user fewer has its line (of `bytes` bytes) in `buffer`. */
  private releaseUser(buffer: number, bytes: number): void {
    const users = (this.bufferUsers[buffer] as number) - 1
    this.bufferUsers[buffer] = users
    this.bufferBytes[buffer] = (this.bufferBytes[buffer] as number) - bytes
    if (users === 0) this.releaseBuffer(buffer)
  }

  private releaseBuffer(buffer: number): void {
    this.buffers[buffer] = undefined
    this.freeBuffers.push(buffer)
  }

  /**
   * The number of the connection whose key is `bytes[start, end)` (hashed `hash`), or -1 when the key does not
   * decode. Found by the key's bytes, so a million lines of a few connections decode no strings.
   */
  private connectionOf(bytes: Buffer, start: number, end: number, hash: number): number {
    const known = this.connectionByHash.get(hash)
    if (known !== undefined) {
      const key = this.connectionKeys[known] as Buffer
      if (key.length === end - start && sameBytes(key, bytes, start)) return known
    }
    let id: string
    try {
      id = decodeKey(bytes, start, end)
    } catch {
      return -1
    }
    let connection = this.connectionNumbers.get(id)
    if (connection === undefined) {
      connection = this.connectionKeys.length
      this.connectionNumbers.set(id, connection)
      this.connectionKeys.push(Buffer.from(bytes.subarray(start, end)))
      this.connectionCounts.push(0)
      if (known === undefined) this.connectionByHash.set(hash, connection)
    }
    return connection
  }

  /** Whether key `field` (0 user_id, 2 email, 3 username) of the slot's line is the probe's bytes. */
  private keyEquals(slot: number, field: number): boolean {
    const bytes = this.buffers[this.slotBuffer[slot] as number] as Buffer
    const lineStart = this.slotStart[slot] as number
    const start = field === 0 ? lineStart : keyEnd(bytes, lineStart, field - 1) + 1
    const length = this.probeEnd - this.probeStart
    if (bytes[start + length] !== tab) return false
    const probe = this.probeBytes
    for (let i = 0; i < length; i++) {
      if (bytes[start + i] !== probe[this.probeStart + i]) return false
    }
    return true
  }

  /** Makes `key`, JSON-encoded, the probe. */
  private probeKey(key: string, connection: number): void {
    this.probeConnection = connection
    this.probeStart = 0
    // Most keys (ids, emails, usernames) are ASCII that JSON.stringify leaves as it is: their encoding is the key
    // between quotes, written here byte by byte instead of building a string and encoding it.
    const length = key.length
    if (length + 2 <= this.scratch.length) {
      const scratch = this.scratch
      let i = 0
      for (; i < length; i++) {
        const unit = key.charCodeAt(i)
        if (unit < 0x20 || unit > 0x7f || unit === quote || unit === backslash) break
        scratch[i + 1] = unit
      }
      if (i === length) {
        scratch[0] = quote
        scratch[length + 1] = quote
        this.probeBytes = scratch
        this.probeEnd = length + 2
        return
      }
    }
    const json = JSON.stringify(key)
    if (json.length * 3 > this.scratch.length) this.scratch = Buffer.alloc(json.length * 3)
    this.probeBytes = this.scratch
    this.probeStart = 0
    this.probeEnd = this.scratch.write(json)
    this.probeConnection = connection
  }

  private probeHash(): number {
    return hashKey(this.probeBytes, this.probeStart, this.probeEnd)
  }

  private describeKey(bytes: Buffer, start: number, end: number): string {
    try {
      return decodeKey(bytes, start, end)
    } catch {
      return bytes.toString('utf8', start, end)
    }
  }

  private user(slot: number): StoredUser {
    const held = this.parsed.get(slot)?.deref()
    if (held !== undefined) return held
    const bytes = this.buffers[this.slotBuffer[slot] as number] as Buffer
    const user = parseLineUser(bytes, this.slotStart[slot] as number, this.slotEnd[slot] as number)
    this.parsed.set(slot, new WeakRef(user))
    if (this.parsed.size >= this.sweepParsedAt) {
      for (const [parsedSlot, ref] of this.parsed) {
        if (ref.deref() === undefined) this.parsed.delete(parsedSlot)
      }
      this.sweepParsedAt = Math.max(minCacheSweep, this.parsed.size * 2)
    }
    return user
  }

  private growSlots(capacity: number): void {
    const grow = (old: Int32Array) => {
      const grown = new Int32Array(capacity)
      grown.set(old.subarray(0, this.slots))
      return grown
    }
    this.slotBuffer = grow(this.slotBuffer)
    this.slotStart = grow(this.slotStart)
    this.slotEnd = grow(this.slotEnd)
    this.slotConnection = grow(this.slotConnection)
    this.idHashes = grow(this.idHashes)
    this.emailHashes = grow(this.emailHashes)
    this.usernameHashes = grow(this.usernameHashes)
    const hasUsername = new Uint8Array(capacity)
    hasUsername.set(this.hasUsername.subarray(0, this.slots))
    this.hasUsername = hasUsername
    this.capacity = capacity
  }

  /** Packs the slots of the users that exist, in order, so that deleted users stop costing slots. */
  private renumber(): void {
    const renumbered = new Int32Array(this.slots).fill(-1)
    const arrays = [
      this.slotBuffer,
      this.slotStart,
      this.slotEnd,
      this.slotConnection,
      this.idHashes,
      this.emailHashes,
      this.usernameHashes,
      this.hasUsername,
    ]
    let next = 0
    for (let slot = 0; slot < this.slots; slot++) {
      if (this.slotBuffer[slot] === freeSlot) continue
      renumbered[slot] = next
      if (next !== slot) for (const array of arrays) array[next] = array[slot] as number
      next += 1
    }
    this.slots = next
    this.ids.rebuild(renumbered)
    this.emails.rebuild(renumbered)
    this.usernames.rebuild(renumbered)
    const parsed = [...this.parsed]
    this.parsed.clear()
    for (const [slot, ref] of parsed) {
      const moved = renumbered[slot] as number
      if (moved !== -1) this.parsed.set(moved, ref)
    }
    this.epoch += 1
  }
}

/** Whether `bytes` from `start` holds exactly the bytes of `key` (the caller checked there is room). */
function sameBytes(key: Buffer, bytes: Buffer, start: number): boolean {
  for (let i = 0; i < key.length; i++) {
    if (key[i] !== bytes[start + i]) return false
  }
  return true
}
