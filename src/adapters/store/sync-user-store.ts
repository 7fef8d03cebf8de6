import type { StoredUser } from '../../domain/users/user.ts'
import type { CommitBatch, CommitRecord, UserJson, UserQuery } from '../../engine/ports.ts'
import type { ChunkCommit } from '../../engine/user-directory.ts'

/**
 * The embedded file store's own, synchronous interface: every read answers from memory. The engine does not use it
 * directly: it sees this store through `asyncUserStore` (async-user-store.ts), the same port PostgreSQL implements,
 * and its journal upkeep through `fileStoreMaintenance`.
 */
export interface UserStore {
  /** Reads answer from memory and see every commit already applied, durable or about to be. */
  getById(userId: string): StoredUser | undefined
  findByEmail(connectionId: string, email: string): StoredUser | undefined
  findByUsername(connectionId: string, username: string): StoredUser | undefined
  count(query?: UserQuery): number
  /** In a stable order (insertion order). Safe to iterate while commits happen: it yields a consistent view. */
  scan(query?: UserQuery): Iterable<StoredUser>
  /**
   * The users of `scan`, each as its JSON text, unparsed: exports copy what they can from it. Optional: exports of
   * a store without it parse every user.
   */
  scanJson?(query?: UserQuery): Iterable<UserJson>
  /**
   * Applies the batch to memory at once (so the next read sees it) and resolves when it is durable on disk.
   * Commits are durable in the order they were applied. A failed write leaves the store refusing commits until
   * restart: memory may then be ahead of disk, and only a reload tells the truth.
   */
  commit(batch: CommitBatch): Promise<CommitRecord>
  /**
   * Commits of a job since the last compaction, in order, without their users: what a restart needs to resume the
   * job.
   */
  commitsOf(jobId: string): ChunkCommit[]
  /**
   * Changes with every commit applied, and only then: work that reads the users across event-loop turns (an
   * import planning a chunk in slices) checks it to know they did not change meanwhile. Optional: without it,
   * such work reads the users in one go.
   */
  revision?(): number
  /** Bytes in the journal since the last compaction: the engine compacts when it is large and it is quiet. */
  journalBytes(): number
  /**
   * Folds the journal into a new snapshot. The caller guarantees no job has commits that it still needs from
   * `commitsOf` (every job with commits is finalized). Writes happen in the background; commits may continue.
   */
  compact(): Promise<void>
  close(): Promise<void>
}
