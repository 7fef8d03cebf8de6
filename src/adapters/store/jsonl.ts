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
  /**
   * Handles a line from its bytes, without parsing it, when it can: answers true when it did, false to have the line
   * parsed and given to `onValue`. Not asked about the last line, which is parsed to tell a torn tail.
   */
  take?: (line: JsonlLine, lineNumber: number) => boolean
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
/** Chunk size for `readLineChunks`: two such Buffers are used in turn, whatever the file's size. */
const lineChunkBytes = 8 * 1024 * 1024
const newline = 0x0a

/**
 * Calls `onValue` with every line's parsed JSON and its 1-based line number, in file order. A line that is not
 * JSON throws `store_invalid` naming the file and line, except a torn final line when `allowTornTail` is set: a
 * final line without its newline, or one that does not parse. `onValue` may throw to reject a value.
 */
export async function readJsonl(
  path: string,
  onValue: (value: unknown, lineNumber: number, line: JsonlLine) => void,
  options: ReadJsonlOptions,
): Promise<ReadJsonlResult> {
  // A line is only handed over once the next one starts, because whether a bad line is forgivable depends on
  // whether it is the last one.
  let pending: PendingLine | undefined
  let goodBytes = 0
  let lineNumber = 0
  let fileOffset = 0
  let partial: Buffer[] = []

  const settle = (line: PendingLine, last = false) => {
    if (last || options.take?.(line, line.lineNumber) !== true)
      onValue(parseLine(path, textOf(line), line.lineNumber), line.lineNumber, line)
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
      const glued = partial.length === 0 ? undefined : Buffer.concat([...partial, chunk.subarray(start, nl)])
      const bytes = glued ?? chunk
      const bytesStart = glued === undefined ? start : 0
      const bytesEnd = glued === undefined ? nl : glued.length
      partial = []
      lineNumber += 1
      pending = {
        lineNumber,
        end: fileOffset + nl + 1,
        bytes,
        bytesStart,
        bytesEnd,
        fileOffset: fileOffset + nl - (bytesEnd - bytesStart),
      }
      start = nl + 1
      nl = chunk.indexOf(newline, start)
    }
    if (start < chunk.length) partial.push(chunk.subarray(start))
    fileOffset += chunk.length
  }

  const fileBytes = fileOffset
  if (partial.length > 0) {
    // The file ends without a newline: every line before is complete, the rest was never fully written.
    if (pending !== undefined) settle(pending, true)
    if (!options.allowTornTail) {
      throw invalidLine(path, lineNumber + 1, 'the last line is incomplete (no newline)')
    }
    return { goodBytes, tornBytes: fileBytes - goodBytes, lines: lineNumber }
  }
  if (pending === undefined) return { goodBytes: 0, tornBytes: 0, lines: 0 }
  if (options.allowTornTail && !isJson(textOf(pending))) {
    return { goodBytes, tornBytes: fileBytes - goodBytes, lines: lineNumber - 1 }
  }
  settle(pending, true)
  return { goodBytes, tornBytes: 0, lines: lineNumber }
}

/** A line as read: its bytes are `bytes[bytesStart, bytesEnd)` (no newline), found at `fileOffset` of the file. */
export interface JsonlLine {
  bytes: Buffer
  bytesStart: number
  bytesEnd: number
  fileOffset: number
}

const textOf = (line: JsonlLine) => line.bytes.toString('utf8', line.bytesStart, line.bytesEnd)

interface PendingLine extends JsonlLine {
  lineNumber: number
  /** The file offset after its newline. */
  end: number
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
 * Reads `path` in chunks of whole lines: `onChunk` gets the chunk, `end` (the offset after its last newline; what
 * follows is the start of a line that continues in the next chunk, and a line longer than a chunk makes a bigger
 * one) and `position`, where the chunk's first byte is in the file. Chunks are two Buffers used in turn (the next
 * is read while one is handled), so `onChunk` must not keep one. Answers the bytes after the last newline of the
 * file: an incomplete last line, or 0.
 */
export async function readLineChunks(
  path: string,
  onChunk: (chunk: Buffer, end: number, position: number) => void,
  chunkBytes = lineChunkBytes,
): Promise<{ incompleteBytes: number }> {
  const handle = await open(path, 'r')
  try {
    const size = (await handle.stat()).size
    let position = 0
    const spare: Buffer[] = []
    /** Reads the next chunk after `carry` (the incomplete line the last chunk ended with). */
    const readChunk = async (carry: Buffer): Promise<{ chunk: Buffer; buffer: Buffer; position: number }> => {
      const length = carry.length + Math.min(chunkBytes, size - position)
      let buffer = spare.pop()
      if (buffer === undefined || buffer.length < length)
        buffer = Buffer.allocUnsafeSlow(Math.max(length, chunkBytes))
      // Copied before the first await: the chunk `carry` is in is handled (and then reused) meanwhile.
      carry.copy(buffer, 0)
      const chunk = buffer.subarray(0, length)
      let filled = carry.length
      const from = position
      position += length - filled
      while (filled < length) {
        const { bytesRead } = await handle.read(chunk, filled, length - filled, from + filled - carry.length)
        if (bytesRead === 0) throw new Error(`${path} got shorter while it was read`)
        filled += bytesRead
      }
      return { chunk, buffer, position: from - carry.length }
    }
    let carry: Buffer = Buffer.alloc(0)
    let next = size > 0 ? readChunk(carry) : undefined
    while (next !== undefined) {
      const { chunk, buffer, position: chunkPosition } = await next
      const end = chunk.lastIndexOf(newline) + 1
      carry = chunk.subarray(end)
      // The next read runs while this chunk is handled.
      next = position < size ? readChunk(carry) : undefined
      // Handled only after the next read has started, so a failure here leaves it running: settle it first.
      try {
        if (end > 0) onChunk(chunk, end, chunkPosition)
      } catch (error) {
        await next?.catch(() => undefined)
        throw error
      }
      spare.push(buffer)
    }
    return { incompleteBytes: carry.length }
  } finally {
    await handle.close()
  }
}
