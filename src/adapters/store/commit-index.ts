import { ByteSource } from './byte-source.ts'
import { type EncodedCommit, finishHash, hashKey } from './store-files.ts'
import type { UserIndex } from './user-index.ts'

/**
 * A commit's puts in the index, read from its journal line (`encodeCommit`) while that line is in memory, and from
 * the same bytes in the journal file once it is durable: the users are never copied into snapshot lines of their
 * own. Replay does the same from the file (store-loader.ts): keys on the side, each user where it is in the line.
 */

const newline = 0x0a
const tab = 0x09
const putOptions = { keysOnly: true, mustBeNew: false }

/**
 * Applies the commit's puts, then its deletes, as `UserIndex.apply` does. Answers the line's memory source if any
 * of its users is current (for `moveCommitToFile`).
 */
export function applyCommit(
  index: UserIndex,
  encoded: EncodedCommit,
  deletes: readonly string[],
): ByteSource | undefined {
  const { keys, putStarts, putLengths } = encoded
  let memory: ByteSource | undefined
  if (putStarts.length > 0) {
    memory = ByteSource.memory(encoded.line, 'json')
    const at = { source: index.hold(memory), position: 0, length: 0 }
    let start = 0
    for (let i = 0; i < putStarts.length; i++) {
      const end = keys.indexOf(newline, start)
      at.position = putStarts[i] as number
      at.length = putLengths[i] as number
      const problem = index.add(keys, start, end, at, putOptions)
      if (problem !== undefined) throw new Error(`A put is not a user: ${problem}`)
      start = end + 1
    }
  }
  for (const userId of deletes) index.delete(userId)
  if (memory === undefined) return undefined
  index.drop(memory.number)
  return index.table.holds(memory) ? memory : undefined
}

/**
 * Once the commit's line is durable at `lineStart` of `file`, points its users still in `memory` (not replaced or
 * deleted since) at their bytes there, and lets the line go once none is left in it. Each is found by its id's hash
 * among the slots still at its place in the line.
 */
export function moveCommitToFile(
  index: UserIndex,
  memory: ByteSource,
  encoded: EncodedCommit,
  file: ByteSource,
  lineStart: number,
): void {
  const { slots, table, ids } = index
  if (!table.holds(memory)) return
  const from = memory.number
  const target = table.hold(file)
  const { keys, putStarts, putLengths } = encoded
  let position = 0
  const atPut = (slot: number) => slots.source[slot] === from && slots.position[slot] === position
  let start = 0
  for (let i = 0; i < putStarts.length; i++) {
    position = putStarts[i] as number
    const cell = ids.locate(finishHash(hashKey(keys, start, keys.indexOf(tab, start))), atPut)
    start = keys.indexOf(newline, start) + 1
    if (cell < 0) continue
    const slot = ids.slotAt(cell)
    slots.source[slot] = target
    slots.position[slot] = lineStart + position
    slots.length[slot] = putLengths[i] as number
    table.addUser(target)
    table.removeUser(from)
    if (!table.holds(memory)) break
  }
  table.drop(target)
}
