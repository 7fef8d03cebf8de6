import { join } from 'node:path'
import type { StoredUser } from '../../domain/users/user.ts'
import type { CommitBatch, CommitRecord, UserJson, UserQuery } from '../../engine/ports.ts'
import { type ChunkCommit, committedRecord } from '../../engine/user-directory.ts'
import { AppError } from '../../errors.ts'
import { ByteSource } from './byte-source.ts'
import { applyCommit, moveCommitToFile } from './commit-index.ts'
import { type ViewKeys, viewKeys, writeCompactedIndex } from './compacted-index.ts'
import { adoptSnapshot } from './index-moves.ts'
import { JournalWriter, type OpenAppendHandle, openForAppend } from './journal-writer.ts'
import { snapshotLines } from './snapshot-lines.ts'
import {
  type CommitToEncode,
  type EncodedCommit,
  encodeCommit,
  journalFileName,
  removeJournalsBefore,
  snapshotFileName,
  writeSnapshot,
} from './store-files.ts'
import { loadStore } from './store-loader.ts'
import type { UserStore } from './sync-user-store.ts'
import type { UserIndex } from './user-index.ts'
import { jsonOfView, type UserView } from './user-view.ts'

/**
 * A UserStore on plain files whose cost per commit scales with the batch, not the tenant: an index of every user
 * lives in memory (answering reads), each commit is one appended journal line (group-committed with fdatasync),
 * and `compact` folds the journal into a snapshot in the background. The file formats are in `store-files.ts`.
 *
 * The users themselves stay in the files (see `UserIndex`): a user is read by position from its snapshot line or
 * its journal put when it is read (a pread of the page cache and a parse, a few microseconds), a scan reads the
 * files in blocks, and opening reads the snapshot once to hash its keys. A commit's users are held in memory only
 * until its journal line is durable. Compaction writes the users by copying their bytes.
 *
 * Limits: the index takes 70–140 bytes per user (1M users: ~70 MB), and one process owns a directory at a time:
 * nothing here stops a second process from appending to the same journal. Reads of users are reads of files: on a
 * cold page cache the first scan of a large store waits on the disk.
 */

export interface FileUserStoreOptions {
  /**
   * Users per snapshot write during compaction. Each batch is one synchronous copy of their lines into a new
   * Buffer, so this bounds how long compaction holds the event loop. Default 1,000 (about 0.5 MB).
   */
  snapshotBatchSize?: number
  /** Opens a journal file for appending. Default `fs.promises.open(path, 'a')`; tests inject handles that fail. */
  openJournal?: OpenAppendHandle
  /** See `SnapshotLoadOptions`: the snapshot size from which opening saves an index file. Default 10,000 users. */
  indexFileMinUsers?: number
}

const defaultSnapshotBatchSize = 1_000
const defaultIndexFileMinUsers = 10_000

/** Loads `dir` (created if missing) and returns a store ready for reads and commits. */
export async function openFileUserStore(
  dir: string,
  options: FileUserStoreOptions = {},
): Promise<FileUserStore> {
  const loaded = await loadStore(
    dir,
    options.indexFileMinUsers === undefined ? {} : { indexFileMinUsers: options.indexFileMinUsers },
  )
  const writer = new JournalWriter(
    dir,
    loaded.generation,
    loaded.generationBytes,
    options.openJournal ?? openForAppend,
  )
  try {
    await writer.ready()
  } catch (error) {
    loaded.index.close()
    throw error
  }
  return new FileUserStore(
    dir,
    loaded.index,
    loaded.lastSeq,
    loaded.commitsByJob,
    writer,
    options.snapshotBatchSize ?? defaultSnapshotBatchSize,
    loaded.journalBytes - loaded.generationBytes,
    options.indexFileMinUsers ?? defaultIndexFileMinUsers,
  )
}

export class FileUserStore implements UserStore {
  private compaction: Promise<void> | undefined
  /** The journals users are read from, by generation, opened for reading when a commit's users move there. */
  private readonly journals = new Map<number, ByteSource>()
  private closed = false

  /** Use `openFileUserStore`, which loads the directory first. */
  constructor(
    readonly dir: string,
    private readonly index: UserIndex,
    private lastSeq: number,
    private commitsByJob: Map<string, ChunkCommit[]>,
    private readonly writer: JournalWriter,
    private readonly snapshotBatchSize: number,
    /** Journal bytes of older generations that no snapshot has folded in yet (a compaction failed or is running). */
    private unfoldedBytes = 0,
    /** See `FileUserStoreOptions.indexFileMinUsers`: a compaction's snapshot this large gets its index file. */
    private readonly indexFileMinUsers = defaultIndexFileMinUsers,
  ) {}

  getById(userId: string): StoredUser | undefined {
    return this.index.get(userId)
  }

  findByEmail(connectionId: string, email: string): StoredUser | undefined {
    return this.index.findByEmail(connectionId, email)
  }

  findByUsername(connectionId: string, username: string): StoredUser | undefined {
    return this.index.findByUsername(connectionId, username)
  }

  count(query: UserQuery = {}): number {
    return this.index.count(query.connectionId)
  }

  /**
   * The users as of this call: a copy of where their lines are (O(users), a few ms per million); iterating parses
   * each user as it is yielded, so iterate once and keep only what is needed.
   */
  scan(query: UserQuery = {}): Iterable<StoredUser> {
    return this.index.view(query.connectionId)
  }

  /**
   * The users of `scan`, as the JSON after the keys of their lines, unparsed: an export copies what it can from the
   * bytes instead of parsing a million users. One item, reused: read it before asking for the next.
   */
  scanJson(query: UserQuery = {}): Iterable<UserJson> {
    return jsonOfView(this.index.view(query.connectionId))
  }

  /**
   * Puts are applied before deletes, on load as here. `meta` is stored as JSON: after a restart `commitsOf`
   * returns it parsed back, so it should be plain JSON data.
   */
  commit(batch: CommitBatch): Promise<CommitRecord> {
    const refusal = this.writer.refusal
    if (refusal !== undefined) return Promise.reject(refusal)
    const seq = this.lastSeq + 1
    // The puts as given: encodeCommit writes each with `rev: seq` without copying it first.
    const given = batch.puts
    const deletes = [...batch.deletes]
    const encoding: CommitToEncode = {
      seq,
      jobId: batch.jobId,
      chunk: batch.chunk,
      puts: given,
      deletes,
      meta: batch.meta,
    }
    const record = committedRecord(seq, batch, given, deletes)
    let encoded: EncodedCommit
    try {
      // Serialized before anything changes, so a batch that cannot be written (a cycle or a BigInt in meta, a
      // user whose keys are not strings) leaves the store as it was. Also freezes meta as committed, whatever the
      // caller does with it later.
      encoded = encodeCommit(encoding)
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error)
      return Promise.reject(
        new AppError('unexpected', `Commit ${batch.jobId}#${batch.chunk} is not JSON: ${reason}`, undefined, {
          cause: error,
        }),
      )
    }
    this.lastSeq = seq
    const memory = applyCommit(this.index, encoded, record.deletes)
    // Only what recovery needs: the users are in the index (and the journal), not kept twice.
    const commit: ChunkCommit = { seq, jobId: record.jobId, chunk: record.chunk, meta: record.meta }
    const jobCommits = this.commitsByJob.get(record.jobId)
    if (jobCommits === undefined) this.commitsByJob.set(record.jobId, [commit])
    else jobCommits.push(commit)
    const generation = this.writer.generation
    const lineStart = this.writer.bytes
    return this.writer.append(encoded.line).then(() => {
      if (memory !== undefined) {
        // The commit is durable whatever happens here: at worst its users stay in memory.
        try {
          this.moveToJournal(memory, generation, lineStart, encoded)
        } catch {}
      }
      return record
    })
  }

  /** The last commit's sequence number: every commit, applied at once, takes the next. */
  revision(): number {
    return this.lastSeq
  }

  commitsOf(jobId: string): ChunkCommit[] {
    return [...(this.commitsByJob.get(jobId) ?? [])]
  }

  journalBytes(): number {
    return this.unfoldedBytes + this.writer.bytes
  }

  /**
   * Switches commits to a new journal at once, then writes the snapshot in the background. A second call while one
   * runs joins it. On failure the previous snapshot and every journal stay, so nothing is lost; compact again.
   */
  compact(): Promise<void> {
    if (this.compaction !== undefined) return this.compaction
    const refusal = this.writer.refusal
    if (refusal !== undefined) return Promise.reject(refusal)
    // Everything up to here, taken synchronously so that no commit falls between the users and the rotation.
    const seq = this.lastSeq
    const users = this.index.view()
    // Issue 15 (start-up): the keys' hashes of the view's users, for the new snapshot's index file.
    const keys = users.length >= this.indexFileMinUsers ? viewKeys(this.index, users) : undefined
    const folding = this.journalBytes()
    const { generation, retired } = this.writer.rotate()
    this.unfoldedBytes = folding
    this.commitsByJob = new Map()
    this.compaction = this.writeCompaction(seq, generation, users, retired, keys).finally(() => {
      this.compaction = undefined
    })
    return this.compaction
  }

  async close(): Promise<void> {
    const closing = this.writer.close()
    await this.compaction?.catch(() => undefined)
    await closing
    this.closed = true
    this.index.close()
    for (const journal of this.journals.values()) journal.close()
  }

  /**
   * Once a commit's line is durable, its users are read from there: the index lets go of their copy in memory.
   * Should the journal not open for reading, they stay in memory (correct, only larger).
   */
  private moveToJournal(
    memory: ByteSource,
    generation: number,
    lineStart: number,
    encoded: EncodedCommit,
  ): void {
    if (this.closed) return
    let journal = this.journals.get(generation)
    if (journal === undefined) {
      try {
        journal = ByteSource.file(join(this.dir, journalFileName(generation)), 'json')
      } catch {
        return
      }
      this.journals.set(generation, journal)
    }
    moveCommitToFile(this.index, memory, encoded, journal, lineStart)
  }

  private async writeCompaction(
    seq: number,
    generation: number,
    users: UserView,
    retired: Promise<void>,
    keys: ViewKeys | undefined,
  ): Promise<void> {
    // The snapshot must not get ahead of the old journal (a commit still in flight there could yet fail and be
    // reported as failed) and must name a journal that exists on disk.
    await retired
    const lengths = new Int32Array(users.length)
    const bodyStart = await writeSnapshot(
      this.dir,
      { seq, journal: generation },
      users.length,
      snapshotLines(users, this.snapshotBatchSize, lengths),
    )
    this.unfoldedBytes = 0
    // The users the snapshot holds are read from it from now on; the old snapshot and journals are let go once no
    // user (and no scan) reads them.
    if (!this.closed) {
      const snapshot = ByteSource.file(join(this.dir, snapshotFileName), 'line')
      adoptSnapshot(this.index, users, snapshot, bodyStart, lengths)
      for (const old of [...this.journals.keys()]) if (old < generation) this.journals.delete(old)
    }
    // The next start reads the new snapshot's index instead of hashing its lines (never throws: a cache).
    if (keys !== undefined)
      await writeCompactedIndex(this.dir, { seq, journal: generation }, keys, bodyStart, lengths)
    try {
      await removeJournalsBefore(this.dir, generation)
    } catch (error) {
      // Only tidying: loading ignores journals older than the snapshot's and deletes them itself.
      const reason = error instanceof Error ? error.message : String(error)
      throw new AppError(
        'store_unavailable',
        `Compacted, but could not delete old journals in ${this.dir}: ${reason}`,
      )
    }
  }
}
