import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { z } from 'zod'
import type { StoredUser } from '../../domain/users/user.ts'
import { AppError } from '../../errors.ts'
import { isErrno, privateDirMode, truncateFile } from './durable-fs.ts'
import { invalidLine, readJsonl, readLineChunks } from './jsonl.ts'
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
  commitsByJob: Map<string, JournalRecord[]>
  /** The journal generation to append to. */
  generation: number
  /** Bytes of the replayed journals: what a compaction would fold in. */
  journalBytes: number
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
  const commitsByJob = new Map<string, JournalRecord[]>()
  let journalBytes = 0
  const torn: { path: string; goodBytes: number; line: number }[] = []
  for (const generation of generations) {
    const path = join(dir, journalFileName(generation))
    const result = await readJsonl(
      path,
      (value, line) => {
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
        index.apply(encodeUserLines(record.puts), record.deletes)
        lastSeq = record.seq
        const jobCommits = commitsByJob.get(record.jobId)
        if (jobCommits === undefined) commitsByJob.set(record.jobId, [record])
        else jobCommits.push(record)
      },
      { allowTornTail: true },
    )
    if (result.tornBytes > 0) torn.push({ path, goodBytes: result.goodBytes, line: result.lines + 1 })
    journalBytes += result.goodBytes
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
  }
}

/**
 * Loads the snapshot's users into `index`. A version 2 snapshot is read as it is: its chunks become the index's
 * buffers, and only the keys of each line are read. A version 1 snapshot (plain user JSON per line) is parsed whole,
 * checked as it always was, and turned into version 2 lines; the next compaction writes it as version 2.
 */
async function loadSnapshot(dir: string, index: UserIndex): Promise<SnapshotHeader | undefined> {
  const path = join(dir, snapshotFileName)
  let header: SnapshotHeader | undefined
  let lineNumber = 0
  let users = 0
  let incompleteBytes: number
  try {
    ;({ incompleteBytes } = await readLineChunks(path, (chunk, end) => {
      let start = 0
      if (header === undefined) {
        const headerEnd = chunk.indexOf(newline)
        lineNumber = 1
        header = parseHeader(chunk.toString('utf8', 0, headerEnd), path)
        index.reserve(header.users)
        start = headerEnd + 1
      }
      if (header.version === 1) {
        const added = addVersion1Lines(index, chunk, start, end, lineNumber, path)
        users += added
        lineNumber += added
        return
      }
      const buffer = index.hold(chunk)
      for (let nl = chunk.indexOf(newline, start); nl !== -1; nl = chunk.indexOf(newline, start)) {
        lineNumber += 1
        const problem = index.add(buffer, start, nl)
        if (problem !== undefined) throw invalidLine(path, lineNumber, problem)
        users += 1
        start = nl + 1
      }
      index.drop(buffer)
    }))
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined
    throw error
  }
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

/**
 * Adds the version 1 lines of `chunk[start, end)`, the first being line `lineNumber + 1`: each is parsed and
 * checked, then becomes a version 2 line: its keys, then its JSON as written (copied, not re-encoded). Answers how
 * many users it added.
 */
function addVersion1Lines(
  index: UserIndex,
  chunk: Buffer,
  start: number,
  end: number,
  lineNumber: number,
  path: string,
): number {
  const keys: string[] = []
  const starts: number[] = []
  const ends: number[] = []
  let bytes = 0
  for (
    let from = start, nl = chunk.indexOf(newline, from);
    nl !== -1 && nl < end;
    nl = chunk.indexOf(newline, from)
  ) {
    // JSON.parse allows whitespace around the value; the JSON of a version 2 line starts and ends with its braces.
    let first = from
    let last = nl
    while (first < last && isJsonSpace(chunk[first] as number)) first += 1
    while (last > first && isJsonSpace(chunk[last - 1] as number)) last -= 1
    let value: unknown
    try {
      value = JSON.parse(chunk.toString('utf8', first, last))
    } catch {
      throw invalidLine(path, lineNumber + keys.length + 1, 'not valid JSON')
    }
    const problem = snapshotUserProblem(value)
    if (problem !== undefined) {
      throw invalidLine(path, lineNumber + keys.length + 1, `not a valid user (${problem})`)
    }
    const userKeys = snapshotKeys(value as StoredUser)
    keys.push(userKeys)
    starts.push(first)
    ends.push(last)
    bytes += Buffer.byteLength(userKeys) + (last - first) + 1
    from = nl + 1
  }
  const lines = Buffer.allocUnsafeSlow(bytes)
  const buffer = index.hold(lines)
  let offset = 0
  keys.forEach((userKeys, i) => {
    const lineStart = offset
    offset += lines.write(userKeys, offset)
    offset += chunk.copy(lines, offset, starts[i], ends[i])
    lines[offset] = newline
    const problem = index.add(buffer, lineStart, offset)
    if (problem !== undefined) throw invalidLine(path, lineNumber + i + 1, problem)
    offset += 1
  })
  index.drop(buffer)
  return keys.length
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
