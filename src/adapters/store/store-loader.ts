import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { z } from 'zod'
import type { StoredUser } from '../../domain/users/user.ts'
import type { ChunkCommit } from '../../engine/user-directory.ts'
import { AppError } from '../../errors.ts'
import { ByteSource } from './byte-source.ts'
import { isErrno, privateDirMode, truncateFile } from './durable-fs.ts'
import { findPuts } from './journal-puts.ts'
import { type JsonlLine, invalidLine, readJsonl, readLineChunks } from './jsonl.ts'
import {
  commitRecordSchema,
  encodeUserLines,
  type JournalRecord,
  journalFileName,
  listJournalGenerations,
  removeJournalsBefore,
  type SnapshotHeader,
  snapshotFileName,
  snapshotHeaderSchema,
  snapshotKeys,
  snapshotTmpFileName,
  snapshotUserProblem,
} from './store-files.ts'
import { UserIndex } from './user-index.ts'

const newline = 0x0a

export interface LoadedStore {
  index: UserIndex
  lastSeq: number
  /** Replayed commits by job, in seq order: `commitsOf` after a restart. */
  commitsByJob: Map<string, ChunkCommit[]>
  /** The journal generation to append to. */
  generation: number
  /** Bytes of the replayed journals: what a compaction would fold in. */
  journalBytes: number
  /** Bytes of the last journal (the one appended to), where its next line will start. */
  generationBytes: number
}

/**
 * Rebuilds the store from `dir`: the snapshot, then the journals from the snapshot's generation upwards. Repairs
 * what a crash can leave (a torn last append, a half-written `.tmp` snapshot, journals a finished compaction did
 * not get to delete) and refuses with `store_invalid` anything a crash cannot explain.
 */
export async function loadStore(dir: string): Promise<LoadedStore> {
  await mkdir(dir, { recursive: true, mode: privateDirMode })
  await rm(join(dir, snapshotTmpFileName), { force: true })

  const index = new UserIndex()
  const header = await loadSnapshot(dir, index)
  const firstGeneration = header?.journal ?? 1
  const present = await listJournalGenerations(dir)
  if (header === undefined && present[0] !== undefined && present[0] !== 1) {
    throw new AppError(
      'store_invalid',
      `${snapshotFileName} is missing from ${dir} but ${journalFileName(present[0])} is not the first journal, ` +
        'so the users of the missing snapshot would be lost. Restore the snapshot from a backup.',
    )
  }
  const generations = present.filter((generation) => generation >= firstGeneration)
  generations.forEach((generation, position) => {
    if (generation !== firstGeneration + position) {
      throw new AppError(
        'store_invalid',
        `${journalFileName(firstGeneration + position)} is missing from ${dir}: its commits would be lost. ` +
          'Restore it from a backup.',
      )
    }
  })

  let lastSeq = header?.seq ?? 0
  const commitsByJob = new Map<string, ChunkCommit[]>()
  let journalBytes = 0
  let generationBytes = 0
  const torn: { path: string; goodBytes: number; line: number }[] = []
  const replay = new Replay(index)
  for (const generation of generations) {
    const path = join(dir, journalFileName(generation))
    replay.startFile(path)
    const result = await readJsonl(
      path,
      (value, line, raw) => {
        const earlierTear = torn[0]
        if (earlierTear !== undefined) {
          // Appends are serialized across files, so a torn append can only be the very last one.
          throw invalidLine(
            earlierTear.path,
            earlierTear.line,
            `incomplete record, yet ${path} has commits after it`,
          )
        }
        const record = parseRecord(value, path, line)
        if (record.seq <= (header?.seq ?? 0)) return
        if (record.seq !== lastSeq + 1) {
          throw invalidLine(
            path,
            line,
            `commit ${record.seq} follows commit ${lastSeq}; the commits between are missing`,
          )
        }
        replay.apply(record, raw)
        lastSeq = record.seq
        const commit: ChunkCommit = { seq: record.seq, jobId: record.jobId, chunk: record.chunk, meta: record.meta }
        const jobCommits = commitsByJob.get(record.jobId)
        if (jobCommits === undefined) commitsByJob.set(record.jobId, [commit])
        else jobCommits.push(commit)
      },
      { allowTornTail: true },
    )
    if (result.tornBytes > 0) torn.push({ path, goodBytes: result.goodBytes, line: result.lines + 1 })
    journalBytes += result.goodBytes
    generationBytes = result.goodBytes
  }

  // Only now that every file has been read: cutting a tail off must not happen on the way to a refusal.
  for (const tear of torn) await truncateFile(tear.path, tear.goodBytes)
  if (header !== undefined) await removeJournalsBefore(dir, firstGeneration)

  return {
    index,
    lastSeq,
    commitsByJob,
    generation: generations.at(-1) ?? firstGeneration,
    journalBytes,
    generationBytes: generations.length === 0 ? 0 : generationBytes,
  }
}

/**
 * Applies replayed commits to the index with their users left in the journal: each put points at its bytes in
 * the record's line (see `findPuts`). A line not shaped as Roster writes them keeps its users in memory instead.
 */
class Replay {
  private path = ''
  private file: ByteSource | undefined
  private keys = Buffer.alloc(1024)

  constructor(private readonly index: UserIndex) {}

  startFile(path: string): void {
    this.path = path
    this.file = undefined
  }

  apply(record: JournalRecord, raw: JsonlLine): void {
    const { puts, deletes } = record
    const ranges = puts.length === 0 ? undefined : findPuts(raw.bytes, raw.bytesStart, raw.bytesEnd, puts.length)
    if (ranges === undefined) {
      this.index.apply(encodeUserLines(puts), deletes)
      return
    }
    this.file ??= ByteSource.file(this.path, 'json')
    const source = this.index.hold(this.file)
    const at = { source, position: 0, length: 0 }
    puts.forEach((put, i) => {
      const keys = snapshotKeys(put)
      if (this.keys.length < keys.length * 3) this.keys = Buffer.alloc(keys.length * 3)
      const end = this.keys.write(keys, 0)
      at.position = raw.fileOffset + (ranges.starts[i] as number)
      at.length = ranges.lengths[i] as number
      const problem = this.index.add(this.keys, 0, end, at, { keysOnly: true, mustBeNew: false })
      if (problem !== undefined) throw new Error(`A put is not a user: ${problem}`)
    })
    this.index.drop(source)
    for (const userId of deletes) this.index.delete(userId)
  }
}

/**
 * Loads the snapshot's users into `index`: each user is a position in the snapshot file, which stays open. A
 * version 2 snapshot is read as it is: only the keys of each line are read and hashed. A version 1 snapshot (plain
 * user JSON per line) is parsed whole and checked as it always was; the index reads its users' JSON where it is,
 * and the next compaction writes version 2.
 */
async function loadSnapshot(dir: string, index: UserIndex): Promise<SnapshotHeader | undefined> {
  const path = join(dir, snapshotFileName)
  let header: SnapshotHeader | undefined
  let lineNumber = 0
  let users = 0
  let incompleteBytes: number
  const at = { source: -1, position: 0, length: 0 }
  const keys = { bytes: Buffer.alloc(1024) }
  try {
    ;({ incompleteBytes } = await readLineChunks(path, (chunk, end, position) => {
      let start = 0
      if (header === undefined) {
        const headerEnd = chunk.indexOf(newline)
        lineNumber = 1
        header = parseHeader(chunk.toString('utf8', 0, headerEnd), path)
        index.reserve(header.users)
        at.source = index.hold(ByteSource.file(path, header.version === 1 ? 'json' : 'line'))
        start = headerEnd + 1
      }
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
    }))
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined
    throw error
  }
  if (at.source !== -1) index.drop(at.source)
  if (header === undefined) {
    throw invalidLine(
      path,
      1,
      incompleteBytes > 0
        ? 'the header line is incomplete (no newline)'
        : 'the file is empty, but a snapshot starts with a header',
    )
  }
  if (incompleteBytes > 0) throw invalidLine(path, lineNumber + 1, 'the last line is incomplete (no newline)')
  if (users !== header.users) {
    throw invalidLine(
      path,
      users + 2,
      `the header promises ${header.users} users but the file ends after ${users}`,
    )
  }
  return header
}

function parseHeader(text: string, path: string): SnapshotHeader {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw invalidLine(path, 1, 'not valid JSON')
  }
  const parsed = snapshotHeaderSchema.safeParse(value)
  if (!parsed.success) throw invalidLine(path, 1, 'not a roster-users snapshot header (version 1 or 2)')
  return parsed.data
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

function parseRecord(value: unknown, path: string, line: number): JournalRecord {
  const parsed = commitRecordSchema.safeParse(value)
  if (parsed.success) return parsed.data
  throw invalidLine(path, line, `not a valid commit record (${describeIssue(parsed.error)})`)
}

/** The first issue's path and message: enough to find the spot, and never a value (users carry secrets). */
function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0]
  if (issue === undefined) return 'unknown problem'
  return issue.path.length === 0 ? issue.message : `${issue.path.join('.')}: ${issue.message}`
}
