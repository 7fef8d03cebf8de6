import { snapshotKeys } from './store-files.ts'
import { type UserView, ViewReader } from './user-view.ts'

const newline = 0x0a

/**
 * The users of `view` as a new snapshot's body, in batches of `batchSize` users: one Buffer, reused, so each batch
 * is valid until the next is asked for. A user held as a snapshot line is copied as it is; a user held as a
 * journal put (its JSON only) is parsed for its keys, and its JSON copied behind them. Each line's length (without
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
      const keys = reader.kind === 'json' ? snapshotKeys(reader.user()) : ''
      const keyBytes = keys === '' ? 0 : Buffer.byteLength(keys)
      const length = keyBytes + reader.end - reader.start
      if (used + length + 1 > batch.length) {
        const grown = Buffer.allocUnsafeSlow(Math.max(2 * batch.length, used + length + 1))
        batch.copy(grown, 0, 0, used)
        batch = grown
      }
      if (keyBytes > 0) used += batch.write(keys, used)
      used += reader.bytes.copy(batch, used, reader.start, reader.end)
      batch[used++] = newline
      lengths[i] = length
    }
    yield batch.subarray(0, used)
  }
}
