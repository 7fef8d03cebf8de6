import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { z } from 'zod'
import type { StoredUser } from '../../domain/users/user.ts'
import { AppError } from '../../errors.ts'
import { isErrno, truncateFile } from './durable-fs.ts'
import { invalidLine, readJsonl } from './jsonl.ts'
import {
  commitRecordSchema,
  type JournalRecord,
  journalFileName,
  listJournalGenerations,
  removeJournalsBefore,
  type SnapshotHeader,
  snapshotFileName,
  snapshotHeaderSchema,
  snapshotTmpFileName,
} from './store-files.ts'
import { UserIndex } from './user-index.ts'

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
  await mkdir(dir, { recursive: true })
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
        index.apply(record.puts, record.deletes)
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

async function loadSnapshot(dir: string, index: UserIndex): Promise<SnapshotHeader | undefined> {
  const path = join(dir, snapshotFileName)
  let header: SnapshotHeader | undefined
  let users = 0
  try {
    await readJsonl(
      path,
      (value, line) => {
        if (header === undefined) {
          const parsed = snapshotHeaderSchema.safeParse(value)
          if (!parsed.success) throw invalidLine(path, line, 'not a roster-users version 1 snapshot header')
          header = parsed.data
          return
        }
        const user = checkSnapshotUser(value, path, line)
        if (!index.add(user)) throw invalidLine(path, line, `user ${user.user_id} appears twice`)
        users += 1
      },
      { allowTornTail: false },
    )
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined
    throw error
  }
  if (header === undefined) {
    throw invalidLine(path, 1, 'the file is empty, but a snapshot starts with a header')
  }
  if (users !== header.users) {
    throw invalidLine(
      path,
      users + 2,
      `the header promises ${header.users} users but the file ends after ${users}`,
    )
  }
  return header
}

/**
 * Snapshot users get a structural check of what the index and the formats rely on, not the full zod schema that
 * journal records get: at a million users the schema pass costs seconds of start-up and a second copy of every
 * user as garbage. What it skips was checked before it got here: the snapshot is written only by this adapter,
 * from users that came through this check, through the schema on replay, or through commits of the engine
 * (which parses its input), and it is synced and renamed into place whole.
 */
function checkSnapshotUser(value: unknown, path: string, line: number): StoredUser {
  const problem = snapshotUserProblem(value)
  if (problem !== undefined) throw invalidLine(path, line, `not a valid user (${problem})`)
  return value as StoredUser
}

function snapshotUserProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an object'
  const user = value as Record<string, unknown>
  for (const field of ['user_id', 'connection_id', 'email', 'created_at', 'updated_at'] as const) {
    if (typeof user[field] !== 'string') return `${field}: expected a string`
  }
  if (user.username !== undefined && typeof user.username !== 'string') return 'username: expected a string'
  if (typeof user.email_verified !== 'boolean') return 'email_verified: expected a boolean'
  if (!Array.isArray(user.identities)) return 'identities: expected an array'
  if (!Number.isInteger(user.rev) || (user.rev as number) < 0) return 'rev: expected a commit seq'
  return undefined
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
