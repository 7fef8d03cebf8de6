import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { z } from 'zod'
import type { ChunkCommit } from '../../engine/user-directory.ts'
import { AppError } from '../../errors.ts'
import { parseJsonAs } from '../parse-json-as.ts'
import { ByteSource } from './byte-source.ts'
import { privateDirMode, truncateFile } from './durable-fs.ts'
import {
  type CommitLine,
  findPuts,
  keysLength,
  type PutRanges,
  readCommitLine,
  writeKeys,
} from './journal-puts.ts'
import { invalidLine, type JsonlLine, readJsonl } from './jsonl.ts'
import { loadSnapshot, type SnapshotLoadOptions } from './snapshot-loader.ts'
import {
  commitRecordSchema,
  encodeUserLines,
  type JournalRecord,
  journalFileName,
  listJournalGenerations,
  removeJournalsBefore,
  snapshotFileName,
  snapshotKeys,
  snapshotTmpFileName,
} from './store-files.ts'
import type { UserIndex } from './user-index.ts'

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
 * not get to delete) and refuses with `store_invalid` anything a crash cannot explain. A journal line as Roster
 * writes it is read without parsing its users (`readCommitLine`: ~3 µs a user, against ~10 to parse the line and
 * check every user with the schema): as with a snapshot line, a user is parsed and checked when it is read.
 */
export async function loadStore(dir: string, options: SnapshotLoadOptions = {}): Promise<LoadedStore> {
  await mkdir(dir, { recursive: true, mode: privateDirMode })
  await rm(join(dir, snapshotTmpFileName), { force: true })

  const { index, header } = await loadSnapshot(dir, options)
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
    /** A commit read (its users by their keys, in `apply`): checked against the ones before it, then applied. */
    const commit = (record: JournalRecord, line: number, apply: () => void) => {
      const earlierTear = torn[0]
      if (earlierTear !== undefined) {
        // Appends are serialized across files, so a torn append can only be the very last one.
        throw invalidLine(
          earlierTear.path,
          earlierTear.line,
          `incomplete record, yet ${path} has commits after it`,
        )
      }
      if (record.seq <= (header?.seq ?? 0)) return
      if (record.seq !== lastSeq + 1) {
        throw invalidLine(
          path,
          line,
          `commit ${record.seq} follows commit ${lastSeq}; the commits between are missing`,
        )
      }
      apply()
      lastSeq = record.seq
      const commit: ChunkCommit = {
        seq: record.seq,
        jobId: record.jobId,
        chunk: record.chunk,
        meta: record.meta,
      }
      const jobCommits = commitsByJob.get(record.jobId)
      if (jobCommits === undefined) commitsByJob.set(record.jobId, [commit])
      else jobCommits.push(commit)
    }
    const result = await readJsonl(
      path,
      (value, line, raw) => {
        const record = parseRecord(value, path, line)
        commit(record, line, () => replay.apply(record, raw))
      },
      {
        allowTornTail: true,
        // A line as Roster writes it: only its envelope is parsed, its users are found by their keys' bytes.
        take: (raw, line) => {
          const read = readCommitLine(raw.bytes, raw.bytesStart, raw.bytesEnd)
          const record = read === undefined ? undefined : envelopeOf(read.envelope)
          if (read === undefined || record === undefined) return false
          commit(record, line, () => replay.applyRead(record, read, raw))
          return true
        },
      },
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
 * the record's line (`readCommitLine`, or `findPuts` for a line parsed whole). A line not shaped as Roster writes
 * them keeps its users in memory instead.
 */
const replayOptions = { keysOnly: true, mustBeNew: false }

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
    const ranges =
      puts.length === 0 ? undefined : findPuts(raw.bytes, raw.bytesStart, raw.bytesEnd, puts.length)
    if (ranges === undefined) {
      this.index.apply(encodeUserLines(puts), deletes)
      return
    }
    this.addPuts(raw, ranges, (i) => {
      const keys = snapshotKeys(puts[i] as JournalRecord['puts'][number])
      if (this.keys.length < keys.length * 3) this.keys = Buffer.alloc(keys.length * 3)
      return this.keys.write(keys, 0)
    })
    for (const userId of deletes) this.index.delete(userId)
  }

  /** `apply` of a line `readCommitLine` read: each put's keys are copied from the line's bytes. */
  applyRead(record: JournalRecord, read: CommitLine, raw: JsonlLine): void {
    if (read.ranges.starts.length > 0) {
      this.addPuts(raw, read.ranges, (i) => {
        const room = keysLength(read.keys, 8 * i)
        if (this.keys.length < room) this.keys = Buffer.alloc(2 * room)
        return writeKeys(raw.bytes, read.keys, 8 * i, this.keys)
      })
    }
    for (const userId of record.deletes) this.index.delete(userId)
  }

  /** Indexes each put of the line at its place in the journal, by the keys `keysOf(i)` wrote into `this.keys`. */
  private addPuts(raw: JsonlLine, ranges: PutRanges, keysOf: (i: number) => number): void {
    this.file ??= ByteSource.file(this.path, 'json')
    const source = this.index.hold(this.file)
    const at = { source, position: 0, length: 0 }
    for (let i = 0; i < ranges.starts.length; i++) {
      const end = keysOf(i)
      at.position = raw.fileOffset + (ranges.starts[i] as number)
      at.length = ranges.lengths[i] as number
      const problem = this.index.add(this.keys, 0, end, at, replayOptions)
      if (problem !== undefined) throw new Error(`A put is not a user: ${problem}`)
    }
    this.index.drop(source)
  }
}

/** The record of a line read without its users (`puts` empty), or undefined: the line is then parsed whole. */
function envelopeOf(text: string): JournalRecord | undefined {
  return parseJsonAs(commitRecordSchema, text)
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
