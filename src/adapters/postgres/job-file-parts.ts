import { Readable } from 'node:stream'
import { createGzip } from 'node:zlib'

/** From the pieces a caller writes to the parts a job file is kept in (artifacts.ts). */

/** Pieces regrouped into parts of `size` bytes (the last one shorter); none for an empty stream. */
export async function* cutIntoParts(
  pieces: AsyncIterable<Buffer> | Iterable<Buffer>,
  size: number,
): AsyncIterable<Buffer> {
  let held: Buffer[] = []
  let heldBytes = 0
  for await (const piece of pieces) {
    let rest = piece
    while (heldBytes + rest.length >= size) {
      const take = size - heldBytes
      held.push(rest.subarray(0, take))
      yield Buffer.concat(held)
      rest = rest.subarray(take)
      held = []
      heldBytes = 0
    }
    if (rest.length > 0) {
      held.push(rest)
      heldBytes += rest.length
    }
  }
  if (heldBytes > 0) yield Buffer.concat(held)
}

/** Marks a failure of the pieces being written, apart from the database's. */
export class PiecesFailed extends Error {}

/** The pieces as bytes; their own failure as PiecesFailed, so it is told apart from the database's. */
export async function* fromPieces(pieces: AsyncIterable<string | Uint8Array>): AsyncIterable<Buffer> {
  try {
    for await (const piece of pieces) {
      yield typeof piece === 'string'
        ? Buffer.from(piece, 'utf8')
        : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength)
    }
  } catch (error) {
    throw new PiecesFailed('the pieces failed', { cause: error })
  }
}

/**
 * The pieces gzipped (level 1, as the file store: exports are judged in users per second). Started by the first
 * read, so the streams exist only while someone reads them and their errors reach that reader.
 */
export async function* gzipped(pieces: AsyncIterable<string | Uint8Array>): AsyncIterable<Buffer> {
  const raw = Readable.from(pieces)
  const gzip = createGzip({ level: 1 })
  // pipe() does not pass errors on: the pieces' failure must end the gzip stream, or reading it would never end.
  raw.on('error', (error) => gzip.destroy(error))
  raw.pipe(gzip)
  try {
    yield* gzip
  } finally {
    raw.destroy()
  }
}

const copySignature = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1')

/**
 * The bytes of the one column of a `COPY … TO STDOUT (FORMAT binary)`, every row's value one after another, as the
 * stream's chunks bring them (a value is passed on in slices, never gathered whole). The binary format: a header
 * (signature, flags, extension), then per row a field count and per field its length and bytes; a count of -1
 * ends it. PostgreSQL sends bytea this way as it is, where a query's text results send it as hex, twice the size
 * and decoded again here (about 7× slower).
 */
export async function* bytesOfBinaryCopy(chunks: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  let pending: Buffer = Buffer.alloc(0)
  /** Bytes of the current value still to pass on; -1 while reading a row's framing. */
  let valueLeft = -1
  let headerDone = false
  let ended = false
  for await (const chunk of chunks) {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
    for (;;) {
      if (ended) break
      if (!headerDone) {
        if (pending.length < 19) break
        if (!pending.subarray(0, 11).equals(copySignature)) throw new Error('not a binary COPY stream')
        const extension = pending.readUInt32BE(15)
        if (pending.length < 19 + extension) break
        pending = pending.subarray(19 + extension)
        headerDone = true
      } else if (valueLeft > 0) {
        if (pending.length === 0) break
        const slice = pending.subarray(0, valueLeft)
        pending = pending.subarray(slice.length)
        valueLeft -= slice.length
        yield slice
      } else {
        if (pending.length < 2) break
        const fields = pending.readInt16BE(0)
        if (fields === -1) {
          ended = true
          break
        }
        if (fields !== 1) throw new Error(`a binary COPY row of ${fields} fields, not 1`)
        if (pending.length < 6) break
        const length = pending.readInt32BE(2)
        if (length < 0) throw new Error('a NULL value in a binary COPY of file parts')
        pending = pending.subarray(6)
        valueLeft = length
      }
    }
  }
  if (!ended) throw new Error('the binary COPY stream ended early')
}
