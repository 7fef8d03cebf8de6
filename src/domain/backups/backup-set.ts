import { z } from 'zod'
import { type Connection, isDatabaseConnection } from '../connections/connection.ts'

/**
 * Backup sets: one folder per backup under STORE_DIR/backups, named after the moment it was taken, holding one
 * gzipped JSON export per database connection and a manifest. Pure: the time and the existing sets are passed in.
 */

export const backupFileSchema = z.object({
  connectionId: z.string(),
  connectionName: z.string(),
  /** The export job that wrote the file: a normal `users_export` job with `backup: true`. */
  jobId: z.string(),
  users: z.number().int(),
  bytes: z.number().int(),
  /** The file's name inside the set's folder. */
  file: z.string(),
})
export type BackupFile = z.infer<typeof backupFileSchema>

/** `backup.json` in each set. Written with the files, inside the folder that becomes the set as a whole. */
export const backupManifestSchema = z.object({
  version: z.literal(1),
  name: z.string(),
  createdAt: z.string(),
  tenant: z.string(),
  connections: z.array(backupFileSchema),
})
export type BackupManifest = z.infer<typeof backupManifestSchema>

export const backupManifestFile = 'backup.json'

/** A set as found on disk. `manifest` is undefined when `backup.json` is missing or unreadable (`problem` says which). */
export interface BackupSetListing {
  name: string
  /** Where the set's files are (a folder, for the file store). */
  path: string
  manifest?: BackupManifest
  problem?: string
}

// UTC, with dashes for colons (a file name on every OS); a suffix only when two sets fall in the same second.
const setNamePattern = /^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})Z(?:-([1-9]\d*))?$/

/**
 * `2026-11-27T03-00-00Z`. Always UTC, whatever the server's time zone (BACKUP_CRON runs in local time): names sort
 * in the order the sets were taken, even across a daylight-saving change, and mean the same on every machine.
 * Two backups in one second get `-2`, `-3` … so a set is never overwritten.
 */
export function backupSetName(at: Date, existing: readonly string[] = []): string {
  const base = `${at.toISOString().slice(0, 19).replaceAll(':', '-')}Z`
  const taken = new Set(existing)
  if (!taken.has(base)) return base
  let n = 2
  while (taken.has(`${base}-${n}`)) n++
  return `${base}-${n}`
}

/** The moment (to the second) and the same-second sequence of a set name; null for anything else in the folder. */
export function parseBackupSetName(name: string): { at: Date; seq: number } | null {
  const match = setNamePattern.exec(name)
  if (!match) return null
  const [, day, hh, mm, ss, seq] = match
  const at = new Date(`${day}T${hh}:${mm}:${ss}Z`)
  if (Number.isNaN(at.getTime()) || at.toISOString().slice(0, 10) !== day) return null
  return { at, seq: seq === undefined ? 1 : Number(seq) }
}

/** Newest first. Names that are not set names are left out: Roster never lists or removes what it did not write. */
export function sortBackupSets<T extends { name: string }>(sets: readonly T[]): T[] {
  const keyed = sets.flatMap((set) => {
    const parsed = parseBackupSetName(set.name)
    return parsed ? [{ set, time: parsed.at.getTime(), seq: parsed.seq }] : []
  })
  keyed.sort((a, b) => b.time - a.time || b.seq - a.seq)
  return keyed.map((entry) => entry.set)
}

/**
 * Which sets to delete so that the newest `keep` whole sets remain. A set whose manifest cannot be read is never
 * deleted and does not count towards `keep`: it may be a newer Roster's format, or a person's work in progress.
 */
export function planBackupPrune(sets: readonly BackupSetListing[], keep: number): string[] {
  if (!Number.isInteger(keep) || keep < 1) throw new RangeError('keep must be a whole number, at least 1')
  return sortBackupSets(sets.filter((set) => set.manifest !== undefined))
    .slice(keep)
    .map((set) => set.name)
}

/**
 * The connections a backup exports (database connections: the only ones whose users live in Roster), each with
 * its file name in the set. Names are made safe for a file system; two that would collide get their id appended.
 */
export function planBackupFiles(
  connections: readonly Connection[],
): { connection: Connection; file: string }[] {
  const databases = connections.filter(isDatabaseConnection)
  const safe = (name: string) => name.replace(/[^A-Za-z0-9_-]/g, '_')
  // Compared case-insensitively: on macOS and Windows `Users` and `users` name one file.
  const key = (connection: Connection) => safe(connection.name).toLowerCase()
  const counts = new Map<string, number>()
  for (const connection of databases) counts.set(key(connection), (counts.get(key(connection)) ?? 0) + 1)
  return databases.map((connection) => {
    const base = safe(connection.name)
    const file = counts.get(key(connection)) === 1 ? base : `${base}-${connection.id}`
    return { connection, file: `${file}.json.gz` }
  })
}
