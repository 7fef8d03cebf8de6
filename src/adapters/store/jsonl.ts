import { createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { basename } from 'node:path'
import { AppError } from '../../errors.ts'

/**
 * Line reading for the store's JSON Lines files. Files are read as Buffers and split on `\n` so that a snapshot of
 * several hundred MB never becomes one string (V8 caps strings near 512 MB) and each line is handled on its own.
 */

export interface ReadJsonlOptions {
  /**
   * A journal may end in a torn write (a crash mid-append): its final line is then ignored and reported in
   * `tornBytes`. A snapshot is written whole before it is renamed into place, so for it any bad line is an error.
   */
  allowTornTail: boolean
}

export interface ReadJsonlResult {
  /** Byte length of the complete lines that were read: where the next append must start. */
  goodBytes: number
  /** Bytes after `goodBytes` that belong to a torn final line; 0 when the file ends cleanly. */
  tornBytes: number
  /** Complete lines handed to `onValue`. */
  lines: number
}

/** Chunk size for reading: big enough that a 500 MB snapshot is a few hundred reads, small enough to stay cheap. */
const readChunkBytes = 4 * 1024 * 1024
/**
 * Chunk size for `readLineChunks`, whose chunks are kept: each is one Buffer of its own, outside V8's heap. Every
 * such allocation counts towards V8's external-memory GC trigger: 8 MB chunks cost ~60 (cheap but not free) GCs
 * while opening a 500 MB snapshot and ~30% more CPU than 32 MB ones. Holding one user's line keeps the whole chunk,
 * but compaction moves every user out of the snapshot's chunks anyway.
 */
const lineChunkBytes = 32 * 1024 * 1024
const newline = 0x0a

/**
 * Calls `onValue` with every line's parsed JSON and its 1-based line number, in file order. A line that is not
 * JSON throws `store_invalid` naming the file and line, except a torn final line when `allowTornTail` is set: a
 * final line without its newline, or one that does not parse. `onValue` may throw to reject a value.
 */
export async function readJsonl(
  path: string,
  onValue: (value: unknown, lineNumber: number) => void,
  options: ReadJsonlOptions,
): Promise<ReadJsonlResult> {
  // A line is only handed over once the next one starts, because whether a bad line is forgivable depends on
  // whether it is the last one.
  let pending: { text: string; lineNumber: number; end: number } | undefined
  let goodBytes = 0
  let lineNumber = 0
  let fileOffset = 0
  let partial: Buffer[] = []

  const settle = (line: { text: string; lineNumber: number; end: number }) => {
    onValue(parseLine(path, line.text, line.lineNumber), line.lineNumber)
    goodBytes = line.end
  }

  for await (const chunk of createReadStream(path, {
    highWaterMark: readChunkBytes,
  }) as AsyncIterable<Buffer>) {
    let start = 0
    let nl = chunk.indexOf(newline)
    while (nl !== -1) {
      if (pending !== undefined) settle(pending)
      // Only a line longer than a chunk is glued from pieces; the common case decodes straight from the chunk.
      const text =
        partial.length === 0
          ? chunk.toString('utf8', start, nl)
          : Buffer.concat([...partial, chunk.subarray(start, nl)]).toString('utf8')
      partial = []
      lineNumber += 1
      pending = { text, lineNumber, end: fileOffset + nl + 1 }
      start = nl + 1
      nl = chunk.indexOf(newline, start)
    }
    if (start < chunk.length) partial.push(chunk.subarray(start))
    fileOffset += chunk.length
  }

  const fileBytes = fileOffset
  if (partial.length > 0) {
    // The file ends without a newline: every line before is complete, the rest was never fully written.
    if (pending !== undefined) settle(pending)
    if (!options.allowTornTail) {
      throw invalidLine(path, lineNumber + 1, 'the last line is incomplete (no newline)')
    }
    return { goodBytes, tornBytes: fileBytes - goodBytes, lines: lineNumber }
  }
  if (pending === undefined) return { goodBytes: 0, tornBytes: 0, lines: 0 }
  if (options.allowTornTail && !isJson(pending.text)) {
    return { goodBytes, tornBytes: fileBytes - goodBytes, lines: lineNumber - 1 }
  }
  settle(pending)
  return { goodBytes, tornBytes: 0, lines: lineNumber }
}

export function invalidLine(path: string, lineNumber: number, problem: string): AppError {
  return new AppError(
    'store_invalid',
    `${basename(path)} line ${lineNumber}: ${problem}. The user store in ${path} is damaged; restore it from a backup.`,
    { file: path, line: lineNumber },
  )
}

function parseLine(path: string, text: string, lineNumber: number): unknown {
  try {
    return JSON.parse(text)
  } catch {
    throw invalidLine(path, lineNumber, 'not valid JSON')
  }
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

/**
 * Reads `path` in chunks of whole lines, for files whose bytes are kept: `onChunk` gets a fresh Buffer of its own
 * and `end`, the offset after its last newline (what follows `end` is the start of a line that continues in the
 * next chunk; a line longer than a chunk makes a bigger one). Answers the bytes after the last newline of the file:
 * an incomplete last line, or 0.
 */
export async function readLineChunks(
  path: string,
  onChunk: (chunk: Buffer, end: number) => void,
  chunkBytes = lineChunkBytes,
): Promise<{ incompleteBytes: number }> {
  const handle = await open(path, 'r')
  try {
    const size = (await handle.stat()).size
    let position = 0
    /** Reads the next chunk after `carry` (the incomplete line the last chunk ended with). */
    const readChunk = async (carry: Buffer): Promise<Buffer> => {
      const chunk = Buffer.allocUnsafeSlow(carry.length + Math.min(chunkBytes, size - position))
      carry.copy(chunk, 0)
      let filled = carry.length
      const from = position
      position += chunk.length - filled
      while (filled < chunk.length) {
        const { bytesRead } = await handle.read(
          chunk,
          filled,
          chunk.length - filled,
          from + filled - carry.length,
        )
        if (bytesRead === 0) throw new Error(`${path} got shorter while it was read`)
        filled += bytesRead
      }
      return chunk
    }
    let carry: Buffer = Buffer.alloc(0)
    let next = size > 0 ? readChunk(carry) : undefined
    while (next !== undefined) {
      const chunk = await next
      const end = chunk.lastIndexOf(newline) + 1
      carry = chunk.subarray(end)
      // The next read runs while this chunk is handled.
      next = position < size ? readChunk(carry) : undefined
      // Handled only after the next read has started, so a failure here leaves it running: settle it first.
      try {
        if (end > 0) onChunk(chunk, end)
      } catch (error) {
        await next?.catch(() => undefined)
        throw error
      }
    }
    return { incompleteBytes: carry.length }
  } finally {
    await handle.close()
  }
}
