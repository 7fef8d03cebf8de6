import type { StoredUser } from '../../domain/users/user.ts'
import type { ByteSource } from './byte-source.ts'
import { parseLineUser, parseUserJson } from './store-files.ts'
import type { SourceTable, UserSlots } from './user-slots.ts'

const minCacheSweep = 4_096

/**
 * Reads the user of a slot from its source (a pread into one reused Buffer, or a memory source's bytes) and parses
 * it. Users are held weakly once parsed: while a caller holds a user, reading it again gives the same object (the
 * import planner compares users it found by id, email and username by identity).
 */
export class UserReader {
  private readonly parsed = new Map<number, WeakRef<StoredUser>>()
  private sweepAt = minCacheSweep
  private buffer = Buffer.alloc(4096)

  constructor(
    private readonly slots: UserSlots,
    private readonly table: SourceTable,
  ) {}

  read(slot: number): StoredUser {
    const held = this.parsed.get(slot)?.deref()
    if (held !== undefined) return held
    const source = this.table.sources[this.slots.source[slot] as number] as ByteSource
    const position = this.slots.position[slot] as number
    const length = this.slots.length[slot] as number
    let bytes = source.bytes
    let start = position
    if (bytes === undefined) {
      if (this.buffer.length < length) this.buffer = Buffer.allocUnsafeSlow(2 * length)
      source.read(this.buffer, 0, length, position)
      bytes = this.buffer
      start = 0
    }
    const user =
      source.kind === 'json'
        ? parseUserJson(bytes, start, start + length)
        : parseLineUser(bytes, start, start + length)
    this.parsed.set(slot, new WeakRef(user))
    if (this.parsed.size >= this.sweepAt) {
      for (const [parsedSlot, ref] of this.parsed) {
        if (ref.deref() === undefined) this.parsed.delete(parsedSlot)
      }
      this.sweepAt = Math.max(minCacheSweep, this.parsed.size * 2)
    }
    return user
  }

  /** The slot's user changed or is gone. */
  forget(slot: number): void {
    this.parsed.delete(slot)
  }

  /** Slots were renumbered (`UserSlots.pack`). */
  renumber(renumbered: Int32Array): void {
    const parsed = [...this.parsed]
    this.parsed.clear()
    for (const [slot, ref] of parsed) {
      const moved = renumbered[slot] as number
      if (moved !== -1) this.parsed.set(moved, ref)
    }
  }
}
