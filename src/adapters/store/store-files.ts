import { open, readdir, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { type StoredUser, storedUserSchema } from '../../domain/users/user.ts'
import { AppError } from '../../errors.ts'
import { syncDirectory } from './durable-fs.ts'

/**
 * The files of a store directory and their formats:
 * - `snapshot.jsonl`: a header line, then one StoredUser per line. Written to `snapshot.jsonl.tmp`, synced, then
 *   renamed over, so it is always whole.
 * - `journal-<G>.jsonl`: one commit record per line, appended and synced. Replay reads the generations from the
 *   header's `journal` upwards; older ones are leftovers of a compaction that crashed before deleting them.
 */

export const snapshotFileName = 'snapshot.jsonl'
export const snapshotTmpFileName = 'snapshot.jsonl.tmp'
export const snapshotFormat = 'roster-users'

export const snapshotHeaderSchema = z.object({
  format: z.literal(snapshotFormat),
  version: z.literal(1),
  /** Every commit up to this seq is in the snapshot. */
  seq: z.number().int().nonnegative(),
  /** The first journal generation to replay on top. */
  journal: z.number().int().positive(),
  /** How many user lines follow: a snapshot cut short at a line boundary would otherwise look whole. */
  users: z.number().int().nonnegative(),
})
export type SnapshotHeader = z.infer<typeof snapshotHeaderSchema>

export const commitRecordSchema = z.object({
  seq: z.number().int().positive(),
  jobId: z.string(),
  chunk: z.number().int().nonnegative(),
  puts: z.array(storedUserSchema),
  deletes: z.array(z.string()),
  meta: z.unknown(),
})

export function journalFileName(generation: number): string {
  return `journal-${generation}.jsonl`
}

/** A commit as the journal holds it: `CommitRecord` with its puts typed as the stored users they are (rev set). */
export type JournalRecord = z.infer<typeof commitRecordSchema>

const journalNamePattern = /^journal-([1-9]\d*)\.jsonl$/

/** Journal generations present in `dir`, ascending. */
export async function listJournalGenerations(dir: string): Promise<number[]> {
  const generations: number[] = []
  for (const name of await readdir(dir)) {
    const match = journalNamePattern.exec(name)
    if (match?.[1] !== undefined) generations.push(Number(match[1]))
  }
  return generations.sort((a, b) => a - b)
}

/** Deletes journals a durable snapshot has folded in. */
export async function removeJournalsBefore(dir: string, generation: number): Promise<void> {
  for (const old of await listJournalGenerations(dir)) {
    if (old < generation) await rm(join(dir, journalFileName(old)), { force: true })
  }
}

export interface WriteSnapshotOptions {
  /** Users per write: each batch is one stretch of JSON.stringify on the event loop, so this bounds the stall. */
  batchSize: number
}

/**
 * Writes `users` as the new snapshot, crash-safely: a crash before the rename leaves the old snapshot in charge
 * (and a `.tmp` that the next open deletes), a crash after leaves the new one. Yields between batches so that
 * compaction of a million users never holds the event loop for long.
 */
export async function writeSnapshot(
  dir: string,
  header: Omit<SnapshotHeader, 'format' | 'version' | 'users'>,
  users: readonly StoredUser[],
  options: WriteSnapshotOptions,
): Promise<void> {
  const tmpPath = join(dir, snapshotTmpFileName)
  try {
    const handle = await open(tmpPath, 'w')
    try {
      const fullHeader: SnapshotHeader = {
        format: snapshotFormat,
        version: 1,
        ...header,
        users: users.length,
      }
      await handle.writeFile(`${JSON.stringify(fullHeader)}\n`)
      for (let start = 0; start < users.length; start += options.batchSize) {
        const end = Math.min(start + options.batchSize, users.length)
        let text = ''
        for (let i = start; i < end; i++) text += `${JSON.stringify(users[i])}\n`
        // writeFile on a handle writes from the current position and loops until every byte is written.
        await handle.writeFile(text)
      }
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(tmpPath, join(dir, snapshotFileName))
    await syncDirectory(dir)
  } catch (error) {
    await rm(tmpPath, { force: true }).catch(() => undefined)
    const reason = error instanceof Error ? error.message : String(error)
    throw new AppError(
      'store_unavailable',
      `Could not write a new snapshot of the user store in ${dir}: ${reason}. The previous snapshot and the ` +
        'journals still hold every user; free disk space and compact again.',
      undefined,
      { cause: error },
    )
  }
}
