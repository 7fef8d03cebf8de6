import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { join } from 'node:path'
import type { StoredUser } from '../../domain/users/user.ts'
import { ByteSource } from './byte-source.ts'
import { isErrno } from './durable-fs.ts'
import { readIndexFile, restoreIndex, savedIndex, writeIndexFile } from './index-file.ts'
import { invalidLine, readLineChunks } from './jsonl.ts'
import {
  type SnapshotHeader,
  snapshotFileName,
  snapshotHeaderSchema,
  snapshotKeys,
  snapshotUserProblem,
} from './store-files.ts'
import { UserIndex } from './user-index.ts'

const newline = 0x0a
/** Bytes read for the header line: a header is ~100 bytes. */
const headerBytes = 64 * 1024

export interface SnapshotLoadOptions {
  /**
   * A snapshot of at least this many users gets an index file (`index-file.ts`) when it is loaded the slow way, so
   * the next start reads that instead. Default 10,000 (below, hashing the lines takes a few ms).
   */
  indexFileMinUsers?: number
}

/**
 * Loads the snapshot into a new index: each user is a position in the snapshot file, which stays open. When the
 * snapshot's index file is there and belongs to it, that is the index. Otherwise a version 2 snapshot is read as
 * it is: only the keys of each line are read and hashed. A version 1 snapshot (plain user JSON per line) is parsed
 * whole and checked as it always was; the index reads its users' JSON where it is, and the next compaction writes
 * version 2. Answers no header when there is no snapshot.
 */
export async function loadSnapshot(
  dir: string,
  options: SnapshotLoadOptions = {},
): Promise<{ index: UserIndex; header: SnapshotHeader | undefined }> {
  const path = join(dir, snapshotFileName)
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return { index: new UserIndex(), header: undefined }
    throw error
  }
  let source: ByteSource | undefined
  try {
    const { header, headerEnd } = readHeader(fd, path)
    source = ByteSource.adopt(fd, path, header.version === 1 ? 'json' : 'line')
    if (header.version !== 1) {
      const saved = readIndexFile(dir, fd, header, UserIndex.capacityFor)
      const index = new UserIndex()
      if (saved !== undefined && restoreIndex(index, saved, index.hold(source))) return { index, header }
    }
    const index = await readLines(path, header, headerEnd, new UserIndex(), source)
    if (header.version !== 1 && header.users >= (options.indexFileMinUsers ?? 10_000)) {
      // Before anything changes the index: the file saves the index's own arrays.
      await writeIndexFile(dir, fstatSync(fd), header, savedIndex(index))
    }
    return { index, header }
  } catch (error) {
    if (source === undefined) closeQuietly(fd)
    else source.close()
    throw error
  }
}

/** The header line, read from the start of the file. */
function readHeader(fd: number, path: string): { header: SnapshotHeader; headerEnd: number } {
  const first = Buffer.alloc(headerBytes)
  const read = readSync(fd, first, 0, first.length, 0)
  const headerEnd = first.subarray(0, read).indexOf(newline)
  if (headerEnd === -1) {
    throw invalidLine(
      path,
      1,
      read > 0
        ? 'the header line is incomplete (no newline)'
        : 'the file is empty, but a snapshot starts with a header',
    )
  }
  let value: unknown
  try {
    value = JSON.parse(first.toString('utf8', 0, headerEnd))
  } catch {
    throw invalidLine(path, 1, 'not valid JSON')
  }
  const parsed = snapshotHeaderSchema.safeParse(value)
  if (!parsed.success) throw invalidLine(path, 1, 'not a roster-users snapshot header (version 1 or 2)')
  return { header: parsed.data, headerEnd }
}

/** Adds every line after the header to `index`, checking the snapshot is whole. */
async function readLines(
  path: string,
  header: SnapshotHeader,
  headerEnd: number,
  index: UserIndex,
  source: ByteSource,
): Promise<UserIndex> {
  index.reserve(header.users)
  const at = { source: index.hold(source), position: 0, length: 0 }
  const keys = { bytes: Buffer.alloc(1024) }
  let lineNumber = 1
  let users = 0
  const { incompleteBytes } = await readLineChunks(path, (chunk, end, position) => {
    let start = position === 0 ? headerEnd + 1 : 0
    for (let nl = chunk.indexOf(newline, start); nl !== -1 && nl < end; nl = chunk.indexOf(newline, start)) {
      lineNumber += 1
      at.position = position + start
      at.length = nl - start
      const problem =
        header.version === 1
          ? addVersion1Line(index, chunk, start, nl, position, at, keys)
          : index.add(chunk, start, nl, at, lineOptions)
      if (problem !== undefined) throw invalidLine(path, lineNumber, problem)
      users += 1
      start = nl + 1
    }
  })
  index.drop(at.source)
  if (incompleteBytes > 0) throw invalidLine(path, lineNumber + 1, 'the last line is incomplete (no newline)')
  if (users !== header.users) {
    throw invalidLine(
      path,
      users + 2,
      `the header promises ${header.users} users but the file ends after ${users}`,
    )
  }
  return index
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd)
  } catch {}
}

const lineOptions = { keysOnly: false, mustBeNew: true }
const keysOptions = { keysOnly: true, mustBeNew: true }

/**
 * Adds the version 1 line `chunk[start, nl)` (of a chunk at `position` in the file): parsed and checked, its keys
 * are hashed and its JSON (as written, without the whitespace JSON.parse allows around it) is where the user stays.
 */
function addVersion1Line(
  index: UserIndex,
  chunk: Buffer,
  start: number,
  nl: number,
  position: number,
  at: { source: number; position: number; length: number },
  keys: { bytes: Buffer },
): string | undefined {
  let first = start
  let last = nl
  while (first < last && isJsonSpace(chunk[first] as number)) first += 1
  while (last > first && isJsonSpace(chunk[last - 1] as number)) last -= 1
  let value: unknown
  try {
    value = JSON.parse(chunk.toString('utf8', first, last))
  } catch {
    return 'not valid JSON'
  }
  const problem = snapshotUserProblem(value)
  if (problem !== undefined) return `not a valid user (${problem})`
  const userKeys = snapshotKeys(value as StoredUser)
  if (keys.bytes.length < userKeys.length * 3) keys.bytes = Buffer.alloc(userKeys.length * 3)
  const end = keys.bytes.write(userKeys, 0)
  at.position = position + first
  at.length = last - first
  return index.add(keys.bytes, 0, end, at, keysOptions)
}

function isJsonSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0d
}
