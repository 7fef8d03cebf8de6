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
