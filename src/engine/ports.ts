import type { AuditEntry } from '../domain/audit/audit-entry.ts'
import type { BackupManifest, BackupSetListing } from '../domain/backups/backup-set.ts'
import type { Catalog } from '../domain/catalog.ts'
import type { Connection } from '../domain/connections/connection.ts'
import type { uploadFormats } from '../domain/jobs/job.ts'
import type { UserPut } from '../domain/users/encoded-user.ts'
import type { StoredUser } from '../domain/users/user.ts'
import type { RowChecks, RowSource } from './check-rows.ts'

/**
 * The engine's view of the world. Adapters implement these; the engine never imports lowdb, express, Bolt or
 * nodemailer. The users are behind `AsyncUserStore` (user-directory.ts), embedded or on PostgreSQL.
 */

/** One atomic change to the user store: every put and delete in it is durable together, or none is. */
export interface CommitBatch {
  /** The job that wrote it; recovery reads a job's commits back with `commitsOf`. */
  jobId: string
  /** 0-based position of this batch within its job, so a restarted job knows where to resume. */
  chunk: number
  /**
   * Users to write whole (insert or replace), without `rev`: the store stamps it. A new user from an import may come
   * as its JSON (EncodedUser): a store writes that JSON as it is.
   */
  puts: UserPut[]
  /** user_ids to remove. */
  deletes: string[]
  /** Opaque to the store: what the engine needs to resume or undo this chunk (tally, errors, pre-images). */
  meta: unknown
}

export interface CommitRecord extends Omit<CommitBatch, 'puts'> {
  /** The users written, as objects, each with its `rev`. */
  puts: StoredUser[]
  /** Store-wide, strictly increasing. Written into each put user as `rev`. */
  seq: number
}

export interface UserQuery {
  connectionId?: string
}

/**
 * One user of `scanJson`: `bytes[start, end)` is its JSON text as stored (JSON.stringify of the user when the store
 * wrote it, but not checked), valid until the next user is asked for (the embedded store reads its files into one
 * reused Buffer). The object may be reused for the next user.
 */
export interface UserJson {
  readonly bytes: Uint8Array
  readonly start: number
  readonly end: number
  /** The user, parsed and checked as `scan` yields it. */
  user(): StoredUser
}

/**
 * The embedded store's own upkeep, which only that backend has (the engine's user port, `AsyncUserStore`, knows
 * nothing of files): its journal grows with every commit and is folded into a snapshot when large and quiet.
 */
export interface StoreMaintenance {
  /** Bytes in the journal since the last compaction. */
  journalBytes(): number
  /**
   * Whether the journal still holds commits of the job (compaction would drop them). Synchronous on purpose: the
   * scheduler decides and starts a compaction in one stretch, so no job starts in between.
   */
  hasCommits(jobId: string): boolean
  /**
   * Folds the journal into a new snapshot. The caller guarantees no job has commits that it still needs from
   * `commitsOf` (every job with commits is finalized). Writes happen in the background; commits may continue.
   */
  compact(): Promise<void>
}

/** The small, rarely-written part of the store: tenant, connections, jobs, settings. */
export interface CatalogStore {
  read(): Catalog
  /**
   * Applies `change` to a draft and persists it atomically; concurrent updates are serialized. With `renameAfter`,
   * the new document is staged and synced at once but takes the file's place only once that resolves (a job's
   * upload is durable before its record is); the update rejects, changing nothing, if it rejects.
   */
  update<T>(change: (draft: Catalog) => T, options?: { renameAfter?: Promise<unknown> }): Promise<T>
  /**
   * Like `update`, but the change is visible in `read()` once applied, before it is durable; `durable` resolves once
   * it (or a later change) is on disk. Only for changes a crash may take back because recovery reaches the same state
   * again: a job marked running (it resumes either way), an import settled from what its journal commits hold.
   */
  updateEarly<T>(change: (draft: Catalog) => T): Promise<{ result: T; durable: Promise<void> }>
  /**
   * Calls `listener` after `read()` changed by another process's update (PostgreSQL: its NOTIFY), never for this
   * one's own: the scheduler then looks for jobs to claim. Returns the unsubscribe. Optional: a store no other
   * process writes has nothing to tell.
   */
  subscribe?(listener: () => void): () => void
}

/** Per-job files: the uploaded users file, the error report, undo data, exports. */
export interface Artifacts {
  /** Durable (fsync'd) before it resolves: a job is acknowledged only once its upload survives a crash. */
  put(jobId: string, name: string, bytes: Uint8Array | string): Promise<void>
  get(jobId: string, name: string): Promise<Buffer | undefined>
  /**
   * Writes a file from a stream of pieces, text or bytes (gzipped when asked), without holding it in memory.
   * Atomic and durable like `put`: if the pieces throw, nothing is left; a file that exists is whole.
   */
  putStream(
    jobId: string,
    name: string,
    pieces: AsyncIterable<string | Uint8Array>,
    options: { gzip: boolean },
  ): Promise<{ bytes: number }>
  /** The file's path on disk, for adapters that stream it out (downloads, the CLI's --out); undefined if absent. */
  locate(jobId: string, name: string): Promise<string | undefined>
  /** Removes every file of the job. */
  remove(jobId: string): Promise<void>
  /** Job ids that have files: retention uses it to remove files of jobs that no longer exist. */
  jobIds(): Promise<string[]>
  /** The names of a job's files, sorted (`roster store copy` copies them one by one); [] for a job without any. */
  list(jobId: string): Promise<string[]>
}

/** Append-only record of every access decision (Slack roles, API scopes). Kept in the store. */
export interface AuditLog {
  record(entry: AuditEntry): Promise<void>
  /** Newest last. */
  recent(limit: number): Promise<AuditEntry[]>
}

/** Backup sets (STORE_DIR/backups): kept by BACKUP_KEEP, apart from job files and their retention. */
export interface BackupStore {
  /** Every set found, in no particular order; entries that are not sets are left out. */
  list(): Promise<BackupSetListing[]>
  /**
   * Copies the files into a new set and writes its manifest. All or nothing, and durable before it resolves: a
   * set that is listed is whole. `source` is where a file is now (an export's file, from `Artifacts.locate`).
   */
  save(
    name: string,
    files: readonly { name: string; source: string }[],
    manifest: BackupManifest,
  ): Promise<BackupSetListing>
  remove(name: string): Promise<void>
  /** A file of a set, part after part (`roster store copy`); undefined when the set or the file does not exist. */
  readFile(name: string, file: string): Promise<AsyncIterable<Buffer> | undefined>
}

export interface Clock {
  now(): Date
}

export interface Ids {
  /** `job_` + 16 alphanumerics. */
  jobId(): string
  /** `con_` + 16 alphanumerics. */
  connectionId(): string
  /** 24 hex characters, like Auth0's database user ids (the `auth0|` prefix is added by the caller). */
  userId(): string
}

/** An uploaded users file to read (decode, parse) and check (normalize, find duplicates, validate) in chunks. */
export interface ImportFileToRead {
  bytes: Uint8Array
  fileName: string
  /** IMPORT_MAX_BYTES: a gzipped upload may unpack to 20× this. */
  maxBytes: number
  exportLabels: Readonly<Record<string, string>>
  connection: Connection
  chunkRows: number
  /**
   * Whether the planner reads the valid rows themselves (an upsert may update users from them, a dry run shows them,
   * an Auth0 tenant is sent them), not only their keys and new users: then they come back as JSON, parsed when read.
   * Otherwise a row read after all (never, as planned) is checked again from the file's text.
   */
  planReadsRows: boolean
  /** A part `roster import --split` cut from a file it checked whole, nesting included: not checked again. */
  nestingChecked?: boolean
}

export interface ReadImportFile {
  format: (typeof uploadFormats)[number]
  rows: RowSource
  /** Every chunk's check, from chunk 0. */
  checks: RowChecks
}

/**
 * Reads import files off the main thread (a worker thread), so the next queued file is parsed and checked while the
 * main thread plans and commits the current one. Whole-file problems reject `read` with the same AppError (code and
 * message) as reading on the main thread; a chunk's check rejects as `checkRows` would.
 */
export interface ImportFileReader {
  /** Files are read in the order sent: the promises resolve in that order. */
  read(file: ImportFileToRead): Promise<ReadImportFile>
  /** Its thread has started and takes files at once (starting takes about a second: see `warm`). */
  readonly ready: boolean
  /** Starts the thread ahead of the first file; resolves once it is ready (or could not start: never rejects). */
  warm(): Promise<void>
  close(): Promise<void>
}
