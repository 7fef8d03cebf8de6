import type { ByteSource } from './byte-source.ts'

/** No source has this slot's user: the slot is free (its user was deleted). */
export const freeSlot = -1

/**
 * What the index keeps per user, in typed arrays (37 bytes a user, no object, no string): where its bytes are
 * (source number, position, length), its connection, and the hashes of its keys (to find its cells again when it
 * is replaced or deleted). Slots are handed out in insertion order, which is the scan order.
 */
export class UserSlots {
  capacity = 0
  /** Slots in use, free ones included. */
  used = 0
  source = new Int32Array(0)
  /** Byte position in the source: a Float64Array, since snapshots of a few million users pass 4 GB. */
  position = new Float64Array(0)
  length = new Int32Array(0)
  connection = new Int32Array(0)
  idHash = new Int32Array(0)
  emailHash = new Int32Array(0)
  usernameHash = new Int32Array(0)
  hasUsername = new Uint8Array(0)

  grow(capacity: number): void {
    const used = this.used
    const copy = <T extends Int32Array | Float64Array | Uint8Array>(old: T, grown: T): T => {
      grown.set(old.subarray(0, used) as never)
      return grown
    }
    this.source = copy(this.source, new Int32Array(capacity))
    this.position = copy(this.position, new Float64Array(capacity))
    this.length = copy(this.length, new Int32Array(capacity))
    this.connection = copy(this.connection, new Int32Array(capacity))
    this.idHash = copy(this.idHash, new Int32Array(capacity))
    this.emailHash = copy(this.emailHash, new Int32Array(capacity))
    this.usernameHash = copy(this.usernameHash, new Int32Array(capacity))
    this.hasUsername = copy(this.hasUsername, new Uint8Array(capacity))
    this.capacity = capacity
  }

  /** Moves the slots in use together, in order; answers each old slot's new number (-1: it was free). */
  pack(): Int32Array {
    const renumbered = new Int32Array(this.used).fill(-1)
    const arrays = [
      this.source,
      this.position,
      this.length,
      this.connection,
      this.idHash,
      this.emailHash,
      this.usernameHash,
      this.hasUsername,
    ]
    let next = 0
    for (let slot = 0; slot < this.used; slot++) {
      if (this.source[slot] === freeSlot) continue
      renumbered[slot] = next
      if (next !== slot) for (const array of arrays) array[next] = array[slot] as number
      next += 1
    }
    this.used = next
    return renumbered
  }
}

/**
 * The sources users are in, by number, and how many users each holds: a source no user is in any more is let go
 * (its number reused). A file let go stays open for views that still read it, until garbage collection.
 */
export class SourceTable {
  readonly sources: (ByteSource | undefined)[] = []
  private readonly users: number[] = []
  private readonly free: number[] = []

  /** The source's number, giving it one if it has none. */
  hold(source: ByteSource): number {
    if (source.number !== -1 && this.sources[source.number] === source) return source.number
    const number = this.free.pop() ?? this.sources.length
    this.sources[number] = source
    this.users[number] = 0
    source.number = number
    return number
  }

  /** Whether the source is held (some user is in it, or it was just held). */
  holds(source: ByteSource): boolean {
    return source.number !== -1 && this.sources[source.number] === source
  }

  /** Lets a held source go if no user is in it. */
  drop(number: number): void {
    if (this.users[number] === 0) this.release(number)
  }

  addUser(number: number): void {
    this.users[number] = (this.users[number] as number) + 1
  }

  addUsers(number: number, users: number): void {
    this.users[number] = (this.users[number] as number) + users
  }

  removeUser(number: number): void {
    const users = (this.users[number] as number) - 1
    this.users[number] = users
    if (users === 0) this.release(number)
  }

  /** Closes every file (the store is closing). */
  closeAll(): void {
    for (const source of this.sources) source?.close()
  }

  private release(number: number): void {
    const source = this.sources[number]
    if (source !== undefined) source.number = -1
    this.sources[number] = undefined
    this.free.push(number)
  }
}
