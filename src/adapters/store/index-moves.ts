import type { ByteSource } from './byte-source.ts'
import { finishHash, hashKey } from './store-files.ts'
import type { UserIndex } from './user-index.ts'
import { freeSlot } from './user-slots.ts'
import type { UserView } from './user-view.ts'

const newline = 0x0a
const tab = 0x09

/**
 * Points the users of a commit's memory source (see `UserIndex.apply`) at their copies in a file, once the commit
 * is durable: line i's user is then `lengths[i]` bytes at `positions[i]` of `file`. Users replaced or deleted
 * since are left as they are. Each user is found by its id's hash, among the slots still at its line.
 */
export function moveToFile(
  index: UserIndex,
  memory: ByteSource,
  file: ByteSource,
  positions: ArrayLike<number>,
  lengths: ArrayLike<number>,
): void {
  const { slots, table, ids } = index
  const from = memory.number
  const bytes = memory.bytes
  if (bytes === undefined || !table.holds(memory)) return
  const target = table.hold(file)
  let start = 0
  const atLine = (slot: number) => slots.source[slot] === from && slots.position[slot] === start
  for (let i = 0, end = bytes.indexOf(newline); end !== -1; i++, end = bytes.indexOf(newline, start)) {
    const cell = ids.locate(finishHash(hashKey(bytes, start, bytes.indexOf(tab, start))), atLine)
    if (cell >= 0) {
      const slot = ids.slotAt(cell)
      slots.source[slot] = target
      slots.position[slot] = positions[i] as number
      slots.length[slot] = lengths[i] as number
      table.addUser(target)
      table.removeUser(from)
      if (!table.holds(memory)) break
    }
    start = end + 1
  }
  table.drop(target)
}

/**
 * Points the users of `view` that are still where it saw them at their lines in a new snapshot `file`, written
 * from the view: line k is `lengths[k]` bytes, the first starts at `bodyStart`. After slots were renumbered the
 * view's slots mean nothing: its users then stay where they are until the next compaction moves them; so do users
 * whose commit became durable between the view and now (they moved from memory to the old journal).
 */
export function adoptSnapshot(
  index: UserIndex,
  view: UserView,
  file: ByteSource,
  bodyStart: number,
  lengths: Int32Array,
): void {
  if (view.epoch !== index.epoch) return
  const { slots, table } = index
  const target = table.hold(file)
  let position = bodyStart
  for (let k = 0; k < view.length; k++) {
    const slot = view.slots === undefined ? k : (view.slots[k] as number)
    const current = slots.source[slot] as number
    const length = lengths[k] as number
    if (
      current !== freeSlot &&
      table.sources[current] === view.sources[view.sourceNumbers[k] as number] &&
      slots.position[slot] === view.positions[k]
    ) {
      slots.source[slot] = target
      slots.position[slot] = position
      slots.length[slot] = length
      table.addUser(target)
      table.removeUser(current)
    }
    position += length + 1
  }
  table.drop(target)
}
