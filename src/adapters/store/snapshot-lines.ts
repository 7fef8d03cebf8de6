import { putKeys } from './journal-puts.ts'
import { snapshotKeys } from './store-files.ts'
import { type UserView, ViewReader } from './user-view.ts'

const newline = 0x0a

/**
 * The users of `view` as a new snapshot's body, in batches of `batchSize` users: one Buffer, reused, so each batch
 * is valid until the next is asked for. A user held as a snapshot line is copied as it is; a user held as a
 * journal put (its JSON only) gets its keys from its bytes (`putKeys`; parsed for them only when that declines), and
 * its JSON copied behind them. Each line's length (without
 * its newline) goes into `lengths`, for `UserIndex.adoptSnapshot` once the snapshot is in place.
 */
export function* snapshotLines(view: UserView, batchSize: number, lengths: Int32Array): Generator<Buffer> {
  const reader = new ViewReader(view)
  let batch = Buffer.allocUnsafeSlow(1024 * 1024)
  for (let from = 0; from < view.length; from += batchSize) {
    const to = Math.min(from + batchSize, view.length)
    let used = 0
    for (let i = from; i < to; i++) {
      reader.load(i)
      const keys = reader.kind === 'json' ? keysOf(reader) : undefined
      const keyBytes = keys === undefined ? 0 : keys.length
      const length = keyBytes + reader.end - reader.start
      if (used + length + 1 > batch.length) {
        const grown = Buffer.allocUnsafeSlow(Math.max(2 * batch.length, used + length + 1))
        batch.copy(grown, 0, 0, used)
        batch = grown
      }
      if (keys !== undefined) used += keys.copy(batch, used)
      used += reader.bytes.copy(batch, used, reader.start, reader.end)
      batch[used++] = newline
      lengths[i] = length
    }
    yield batch.subarray(0, used)
  }
}

/** A journal put's keys as `snapshotKeys` writes them: from its bytes, or from the parsed user. */
function keysOf(reader: ViewReader): Buffer {
  return putKeys(reader.bytes, reader.start, reader.end) ?? Buffer.from(snapshotKeys(reader.user()))
}
