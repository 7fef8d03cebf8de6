import type { StoredUser } from '../../domain/users/user.ts'
import type { CommitBatch, CommitRecord, UserJson, UserQuery } from '../../engine/ports.ts'
import { AppError } from '../../errors.ts'
import { JournalWriter, type OpenAppendHandle, openForAppend } from './journal-writer.ts'
import {
  encodeCommit,
  type JournalRecord,
  keyEnd,
  parseLineUser,
  removeJournalsBefore,
  writeSnapshot,
} from './store-files.ts'
import { loadStore } from './store-loader.ts'
import type { UserStore } from './sync-user-store.ts'
import type { UserIndex, UserView } from './user-index.ts'

/**
 * A UserStore on plain files whose cost per commit scales with the batch, not the tenant: every user lives in
 * memory (answering reads), each commit is one appended journal line (group-committed with fdatasync), and
 * `compact` folds the journal into a snapshot in the background. The file formats are in `store-files.ts`.
 *
 * Users are held as the bytes of their snapshot lines and parsed when read (see `UserIndex`), so opening costs
 * reading the snapshot and hashing its keys, not parsing every user: each read parses the users it returns (a few
 * microseconds each), and a scan parses every user it yields. Compaction writes the users by copying their bytes.
 *
 * Limits: the whole tenant must fit in memory (its snapshot's size, ~500 bytes per user, plus 60–120 bytes of index
 * per user), and one process owns a directory at a time: nothing here stops a second process from appending to
 * the same journal.
 */

export interface FileUserStoreOptions {
  /**
   * Users per snapshot write during compaction. Each batch is one synchronous copy of their lines into a new
   * Buffer, so this bounds how long compaction holds the event loop. Default 1,000 (about 0.5 MB).
   */
  snapshotBatchSize?: number
  /** Opens a journal file for appending. Default `fs.promises.open(path, 'a')`; tests inject handles that fail. */
  openJournal?: OpenAppendHandle
}

const defaultSnapshotBatchSize = 1_000

/** Loads `dir` (created if missing) and returns a store ready for reads and commits. */
export async function openFileUserStore(
  dir: string,
  options: FileUserStoreOptions = {},
): Promise<FileUserStore> {
  const loaded = await loadStore(dir)
  const writer = new JournalWriter(
    dir,
    loaded.generation,
    loaded.journalBytes,
    options.openJournal ?? openForAppend,
  )
  await writer.ready()
  return new FileUserStore(
    dir,
    loaded.index,
    loaded.lastSeq,
    loaded.commitsByJob,
    writer,
    options.snapshotBatchSize ?? defaultSnapshotBatchSize,
  )
}

export class FileUserStore implements UserStore {
  private compaction: Promise<void> | undefined
  /** Journal bytes of older generations that no snapshot has folded in yet (a compaction failed or is running). */
  private unfoldedBytes = 0

  /** Use `openFileUserStore`, which loads the directory first. */
  constructor(
    readonly dir: string,
    private readonly index: UserIndex,
    private lastSeq: number,
    private commitsByJob: Map<string, JournalRecord[]>,
    private readonly writer: JournalWriter,
    private readonly snapshotBatchSize: number,
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
    return jsonOf(this.index.view(query.connectionId))
  }

  /**
   * Puts are applied before deletes, on load as here. `meta` is stored as JSON: after a restart `commitsOf`
   * returns it parsed back, so it should be plain JSON data.
   */
  commit(batch: CommitBatch): Promise<CommitRecord> {
    const refusal = this.writer.refusal
    if (refusal !== undefined) return Promise.reject(refusal)
    const seq = this.lastSeq + 1
    const record: JournalRecord = {
      seq,
      jobId: batch.jobId,
      chunk: batch.chunk,
      puts: batch.puts.map((user) => ({ ...user, rev: seq })),
      deletes: [...batch.deletes],
      meta: batch.meta,
    }
    let encoded: { line: Buffer; puts: Buffer }
    try {
      // Serialized before anything changes, so a batch that cannot be written (a cycle or a BigInt in meta, a
      // user whose keys are not strings) leaves the store as it was. Also freezes meta as committed, whatever the
      // caller does with it later.
      encoded = encodeCommit(record)
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error)
      return Promise.reject(
        new AppError('unexpected', `Commit ${batch.jobId}#${batch.chunk} is not JSON: ${reason}`, undefined, {
          cause: error,
        }),
      )
    }
    this.lastSeq = seq
    this.index.apply(encoded.puts, record.deletes)
    const jobCommits = this.commitsByJob.get(record.jobId)
    if (jobCommits === undefined) this.commitsByJob.set(record.jobId, [record])
    else jobCommits.push(record)
    return this.writer.append(encoded.line).then(() => record)
  }

  /** The last commit's sequence number: every commit, applied at once, takes the next. */
  revision(): number {
    return this.lastSeq
  }

  commitsOf(jobId: string): CommitRecord[] {
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
    const folding = this.journalBytes()
    const { generation, retired } = this.writer.rotate()
    this.unfoldedBytes = folding
    this.commitsByJob = new Map()
    this.compaction = this.writeCompaction(seq, generation, users, retired).finally(() => {
      this.compaction = undefined
    })
    return this.compaction
  }

  async close(): Promise<void> {
    const closing = this.writer.close()
    await this.compaction?.catch(() => undefined)
    await closing
  }

  private async writeCompaction(
    seq: number,
    generation: number,
    users: UserView,
    retired: Promise<void>,
  ): Promise<void> {
    // The snapshot must not get ahead of the old journal (a commit still in flight there could yet fail and be
    // reported as failed) and must name a journal that exists on disk.
    await retired
    await writeSnapshot(
      this.dir,
      { seq, journal: generation },
      users.length,
      this.index.snapshotBatches(users, this.snapshotBatchSize),
    )
    this.unfoldedBytes = 0
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

/** Where one user's JSON is in its snapshot line (after the four keys). */
class LineJson implements UserJson {
  bytes: Buffer = Buffer.alloc(0)
  lineStart = 0
  end = 0

  /** Found when asked: a page of the users API skips users without reading them. */
  get start(): number {
    return keyEnd(this.bytes, this.lineStart, 3) + 1
  }

  user(): StoredUser {
    return parseLineUser(this.bytes, this.lineStart, this.end)
  }
}

function* jsonOf(view: UserView): Generator<UserJson> {
  const item = new LineJson()
  for (let i = 0; i < view.length; i++) {
    item.bytes = view.buffers[view.bufferNumbers[i] as number] as Buffer
    item.lineStart = view.starts[i] as number
    item.end = view.ends[i] as number
    yield item
  }
}
