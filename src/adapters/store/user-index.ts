import type { StoredUser } from '../../domain/users/user.ts'
import { ByteSource } from './byte-source.ts'
import { ConnectionNumbers } from './connection-numbers.ts'
import { KeyProbe } from './key-probe.ts'
import { SlotTable } from './slot-table.ts'
import { finishHash, LineFields, readLineFields } from './store-files.ts'
import { UserReader } from './user-reader.ts'
import { freeSlot, SourceTable, UserSlots } from './user-slots.ts'
import { takeView, type UserView } from './user-view.ts'

/**
 * The users and the lookups the engine needs, built for millions of users: the index holds no user, only where
 * its bytes are. Per user it keeps a slot (37 bytes of typed arrays: see `UserSlots`) and a cell in two or three
 * open-addressing tables (by user_id; by connection and email; by connection and username) that hold 32-bit hashes
 * of the keys' JSON-encoded bytes. A user's bytes stay in the file they were written to — its snapshot line or its
 * journal put (`ByteSource`) — and are read by position when the user is read. A lookup hashes the key, probes the
 * table, and on a hash match reads and parses that user and compares the key itself: a miss reads nothing (a false
 * match of 32-bit hashes is ~1 in 10⁹ probes), and a hit reads the user it answers with anyway.
 *
 * Users are immutable: a put points the user's slot at new bytes (keeping its place in the order), a delete frees
 * the slot. Files are only appended to or replaced whole, and a source keeps its file open while anything points
 * into it, so a `view` (a copy of the slots' positions) shows the users as they were when it was taken.
 */

/** Free slots are reused only by renumbering every slot (which keeps the order): once they outnumber the users. */
const minHolesToRenumber = 4_096
const newline = 0x0a
const putOptions = { keysOnly: false, mustBeNew: false }

export class UserIndex {
  // Public for the index's own modules (user-view.ts, index-moves.ts, index-file.ts), which work on its arrays.
  readonly table = new SourceTable()
  readonly slots = new UserSlots()
  readonly ids = new SlotTable(0)
  /** By connection and email: the connection's number is mixed into the hash and compared first. */
  readonly emails = new SlotTable(0)
  readonly usernames = new SlotTable(0)
  readonly connections = new ConnectionNumbers()
  /** Users: the slots in use but the free ones. */
  live = 0
  /** Changes when slots are renumbered: the slots of an older view mean nothing any more. */
  epoch = 0
  private readonly reader = new UserReader(this.slots, this.table)
  private readonly fields = new LineFields()
  private readonly probe = new KeyProbe()

  private readonly sameId = (slot: number) => this.reader.read(slot).user_id === this.probe.text()
  private readonly sameEmail = (slot: number) =>
    this.slots.connection[slot] === this.probe.connection &&
    this.reader.read(slot).email === this.probe.text()
  private readonly sameUsername = (slot: number) =>
    this.slots.connection[slot] === this.probe.connection &&
    this.reader.read(slot).username === this.probe.text()

  get(userId: string): StoredUser | undefined {
    this.probe.setText(userId, 0)
    const cell = this.ids.locate(finishHash(this.probe.hash()), this.sameId)
    return cell < 0 ? undefined : this.reader.read(this.ids.slotAt(cell))
  }

  /** Exact match: emails are stored lower-cased, so callers pass the normalized email. */
  findByEmail(connectionId: string, email: string): StoredUser | undefined {
    const connection = this.connections.numberOf(connectionId)
    if (connection === undefined) return undefined
    this.probe.setText(email, connection)
    const cell = this.emails.locate(finishHash(this.probe.hash(), connection + 1), this.sameEmail)
    return cell < 0 ? undefined : this.reader.read(this.emails.slotAt(cell))
  }

  findByUsername(connectionId: string, username: string): StoredUser | undefined {
    const connection = this.connections.numberOf(connectionId)
    if (connection === undefined) return undefined
    this.probe.setText(username, connection)
    const cell = this.usernames.locate(finishHash(this.probe.hash(), connection + 1), this.sameUsername)
    return cell < 0 ? undefined : this.reader.read(this.usernames.slotAt(cell))
  }

  count(connectionId?: string): number {
    return connectionId === undefined ? this.live : this.connections.count(connectionId)
  }

  /** The users as they are now, in insertion order (a replaced user keeps its place). O(slots), ~5 ms a million. */
  view(connectionId?: string): UserView {
    return takeView(this, connectionId === undefined ? -1 : (this.connections.numberOf(connectionId) ?? -2))
  }

  /**
   * Room for `users` more users and some to spare, for loading a snapshot whose header says how many: the first
   * commits after opening must not have to copy every slot to grow.
   */
  reserve(users: number): void {
    const wanted = this.slots.used + UserIndex.capacityFor(users)
    if (wanted > this.slots.capacity) this.slots.grow(wanted)
    this.ids.reserve(users)
    this.emails.reserve(users)
  }

  /** Takes a source for `add`; answers its number. Call `drop` once its users are added. */
  hold(source: ByteSource): number {
    return this.table.hold(source)
  }

  /** Lets a held source go if no user is in it. */
  drop(source: number): void {
    this.table.drop(source)
  }

  /**
   * Adds a user: its keys are read from `keys[start, end)` (a snapshot line, `end` its newline; or with `keysOnly`
   * just `snapshotKeys`), its bytes are `length` bytes at `position` of the held source `source`. With `mustBeNew`
   * (loading a snapshot) a user that exists is a problem; otherwise it replaces that user. Answers what is wrong
   * with the keys, or undefined; after a problem the index is unusable.
   */
  add(
    keys: Buffer,
    start: number,
    end: number,
    at: { source: number; position: number; length: number },
    options: { keysOnly: boolean; mustBeNew: boolean },
  ): string | undefined {
    const fields = this.fields
    const problem = readLineFields(keys, start, end, fields, options.keysOnly)
    if (problem !== undefined) return `not a valid user (${problem})`
    const connection = this.connections.numberOfKey(
      keys,
      fields.idEnd + 1,
      fields.connectionEnd,
      fields.connectionHash,
    )
    if (connection === -1) return 'not a valid user (connection_id: not a JSON string)'
    const idHash = finishHash(fields.idHash)
    this.probe.setBytes(keys, start, fields.idEnd, 0)
    this.ids.reserve()
    const cell = this.ids.locate(idHash, this.sameId)
    const slots = this.slots
    let slot: number
    let previous = freeSlot
    if (cell >= 0) {
      slot = this.ids.slotAt(cell)
      if (options.mustBeNew) return `user ${this.probe.text() ?? '(unreadable)'} appears twice`
      this.unlinkLookups(slot)
      previous = slots.source[slot] as number
      this.connections.countUser(slots.connection[slot] as number, -1)
      this.reader.forget(slot)
    } else {
      if (slots.used === slots.capacity) slots.grow(Math.max(1_024, Math.ceil(slots.capacity * 1.5)))
      slot = slots.used
      slots.used += 1
      this.live += 1
      slots.idHash[slot] = idHash
      this.ids.insert(cell, idHash, slot)
    }
    slots.source[slot] = at.source
    slots.position[slot] = at.position
    slots.length[slot] = at.length
    slots.connection[slot] = connection
    // Counted before the old bytes are let go: both may be in one source (a commit that puts a user twice).
    this.table.addUser(at.source)
    if (previous !== freeSlot) this.table.removeUser(previous)
    this.connections.countUser(connection, 1)
    this.linkLookups(slot, keys, connection)
    return undefined
  }

  /**
   * One commit's changes, in the order replay repeats them: puts (snapshot lines, kept in memory until `moveToFile`
   * points them at their journal copy), then deletes. Answers the puts' memory source, if any of them is current.
   */
  apply(lines: Buffer, deletes: readonly string[]): ByteSource | undefined {
    let memory: ByteSource | undefined
    if (lines.length > 0) {
      memory = ByteSource.memory(lines)
      const source = this.table.hold(memory)
      let start = 0
      const at = { source, position: 0, length: 0 }
      for (let end = lines.indexOf(newline); end !== -1; end = lines.indexOf(newline, start)) {
        at.position = start
        at.length = end - start
        const problem = this.add(lines, start, end, at, putOptions)
        if (problem !== undefined) throw new Error(`A put is not a snapshot line: ${problem}`)
        start = end + 1
      }
    }
    for (const userId of deletes) this.delete(userId)
    if (memory !== undefined) this.table.drop(memory.number)
    return memory !== undefined && this.table.holds(memory) ? memory : undefined
  }

  /** Removing an unknown id does nothing. */
  delete(userId: string): void {
    this.probe.setText(userId, 0)
    const cell = this.ids.locate(finishHash(this.probe.hash()), this.sameId)
    if (cell < 0) return
    const slot = this.ids.slotAt(cell)
    const slots = this.slots
    this.unlinkLookups(slot)
    this.ids.remove(slots.idHash[slot] as number, slot)
    this.table.removeUser(slots.source[slot] as number)
    this.connections.countUser(slots.connection[slot] as number, -1)
    slots.source[slot] = freeSlot
    this.live -= 1
    this.reader.forget(slot)
    const holes = slots.used - this.live
    if (holes >= minHolesToRenumber && holes > this.live) this.renumber()
  }

  /** Slots to allocate for a snapshot of `users` users: room for the first commits after opening. */
  static capacityFor(users: number): number {
    return users + Math.ceil(users / 8) + 1_024
  }

  /** Closes the files users are read from; the index answers nothing afterwards. */
  close(): void {
    this.table.closeAll()
  }

  private linkLookups(slot: number, keys: Buffer, connection: number): void {
    const fields = this.fields
    const slots = this.slots
    this.probe.setBytes(keys, fields.connectionEnd + 1, fields.emailEnd, connection)
    const emailHash = finishHash(fields.emailHash, connection + 1)
    slots.emailHash[slot] = emailHash
    this.emails.reserve()
    // An equal key of another user is taken over: the lookup answers the user written last, as a Map would.
    const emailCell = this.emails.locate(emailHash, this.sameEmail)
    if (emailCell >= 0) this.emails.replace(emailCell, slot)
    else this.emails.insert(emailCell, emailHash, slot)

    slots.hasUsername[slot] = fields.hasUsername ? 1 : 0
    if (!fields.hasUsername) return
    this.probe.setBytes(keys, fields.emailEnd + 1, fields.usernameEnd, connection)
    const usernameHash = finishHash(fields.usernameHash, connection + 1)
    slots.usernameHash[slot] = usernameHash
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
    this.emails.remove(this.slots.emailHash[slot] as number, slot)
    if (this.slots.hasUsername[slot] === 1)
      this.usernames.remove(this.slots.usernameHash[slot] as number, slot)
  }

  /** Packs the slots of the users that exist, in order, so that deleted users stop costing slots. */
  private renumber(): void {
    const renumbered = this.slots.pack()
    this.ids.rebuild(renumbered)
    this.emails.rebuild(renumbered)
    this.usernames.rebuild(renumbered)
    this.reader.renumber(renumbered)
    this.epoch += 1
  }
}
