import type { UserLookup } from '../domain/import/plan-chunk.ts'
import { type UserPut, userOfPut } from '../domain/users/encoded-user.ts'
import { normalizeEmail, type StoredUser } from '../domain/users/user.ts'
import { AppError } from '../errors.ts'
import type { CommitBatch, CommitRecord, UserJson, UserQuery } from './ports.ts'

/**
 * The user store as a replica that does not hold the users in memory sees it (issue 14): every read is a promise.
 * The engine plans a chunk the way the import planner already works, "prefetch then plan synchronously": it gathers
 * the chunk's keys, asks `lookup` once, plans against the answer, and commits with the revs the plan read as
 * `expected`. If another writer changed one of those users meanwhile, the commit fails with `store_conflict` and the
 * caller prefetches and plans again.
 *
 * Implemented over the embedded file store (src/adapters/store/async-user-store.ts) and over PostgreSQL
 * (src/adapters/postgres/user-store.ts); test/contract/user-store.contract.ts holds both to the same behaviour.
 */
export interface AsyncUserStore {
  /** The users that hold any of the keys, in `connectionId` for emails and usernames, as one answer. */
  lookup(connectionId: string, keys: UserKeys): Promise<PrefetchedUsers>
  getById(userId: string): Promise<StoredUser | undefined>
  /** Case-insensitive: the email is lower-cased as the store keeps it. */
  findByEmail(connectionId: string, email: string): Promise<StoredUser | undefined>
  findByUsername(connectionId: string, username: string): Promise<StoredUser | undefined>
  count(query?: UserQuery): Promise<number>
  /**
   * Every user (of a connection), in a stable order (insertion order; a replaced user keeps its place), read a page
   * at a time. Users committed while the scan runs may or may not be yielded; none is yielded twice or skipped
   * unless a commit deleted it.
   */
  scan(query?: UserQuery, options?: ScanOptions): AsyncIterable<StoredUser>
  /**
   * The users of `scan`, each as its JSON text, unparsed, a page at a time: exports and GET /users copy what they can
   * from the bytes instead of parsing every user. A page (and each UserJson in it, which may be reused) is valid
   * until the next page is asked for; a store may hand the whole scan over as one page (`pageSize` is then a hint),
   * but honours `skip`. The text parses to the user `scan` yields; its keys may be in another order. Optional:
   * without it, those callers parse every user from `scan`. The embedded store takes its scan when this is called;
   * PostgreSQL reads pages as it goes (src/adapters/postgres/user-scan.ts).
   */
  scanJson?(query?: UserQuery, options?: ScanOptions): AsyncIterable<Iterable<UserJson>>
  /**
   * Users, the chunk's meta and its seq in one transaction; each put is stamped with `rev = seq`. Puts are applied
   * before deletes. Refuses, changing nothing:
   * - `chunk_committed` when the job already has a commit for this chunk (a resumed job must not apply it twice);
   * - `store_conflict` when a user in `expected` no longer has the rev the plan read (`null`: did not exist), or a
   *   put would give a user the email or username another user of the connection has.
   * Error messages name users by user_id and never quote their fields, secrets least of all.
   */
  commit(batch: CommitBatch, expected?: ExpectedRevs): Promise<CommitRecord>
  /**
   * The job's commits, in seq order, without their users: what a restart needs to resume the job (which chunks are
   * in) and to settle it or undo it (each chunk's meta and seq). The users are in the store, not kept twice.
   */
  commitsOf(jobId: string): Promise<ChunkCommit[]>
  close(): Promise<void>
}

/** A commit as `commitsOf` gives it back. */
export type ChunkCommit = Omit<CommitRecord, 'puts' | 'deletes'>

export interface UserKeys {
  userIds?: readonly string[]
  emails?: readonly string[]
  usernames?: readonly string[]
}

export interface ScanOptions {
  /** Users per page read from the store. Default 1,000. */
  pageSize?: number
  /** Users to pass over first, in scan order: where a page of GET /users starts. Default 0. */
  skip?: number
}

/** user_id → the rev the plan read, or `null` when the plan read that the user did not exist. */
export type ExpectedRevs = ReadonlyMap<string, number | null>

export const defaultScanPageSize = 1_000

/**
 * The answer to one `lookup`: a UserLookup the planner can query synchronously. It answers for every key it was
 * asked and for every user it holds; any other key is a planner bug (an answer of "absent" could insert a
 * duplicate), so it throws instead of guessing.
 */
export class PrefetchedUsers implements UserLookup {
  private readonly byId = new Map<string, StoredUser>()
  private readonly byEmail = new Map<string, StoredUser>()
  private readonly byUsername = new Map<string, StoredUser>()
  private readonly askedIds: ReadonlySet<string>
  private readonly askedEmails: ReadonlySet<string>
  private readonly askedUsernames: ReadonlySet<string>

  constructor(
    readonly connectionId: string,
    keys: UserKeys,
    found: Iterable<StoredUser>,
  ) {
    this.askedIds = new Set(keys.userIds ?? [])
    this.askedEmails = new Set((keys.emails ?? []).map(normalizeEmail))
    this.askedUsernames = new Set(keys.usernames ?? [])
    for (const user of found) {
      this.byId.set(user.user_id, user)
      if (user.connection_id !== connectionId) continue
      this.byEmail.set(user.email, user)
      if (user.username !== undefined) this.byUsername.set(user.username, user)
    }
  }

  getById(userId: string): StoredUser | undefined {
    const user = this.byId.get(userId)
    if (user === undefined && !this.askedIds.has(userId)) throw notPrefetched('user_id', userId)
    return user
  }

  findByEmail(connectionId: string, email: string): StoredUser | undefined {
    const key = normalizeEmail(email)
    const user = connectionId === this.connectionId ? this.byEmail.get(key) : undefined
    if (user === undefined && (connectionId !== this.connectionId || !this.askedEmails.has(key))) {
      throw notPrefetched('email', `in connection ${connectionId}`)
    }
    return user
  }

  findByUsername(connectionId: string, username: string): StoredUser | undefined {
    const user = connectionId === this.connectionId ? this.byUsername.get(username) : undefined
    if (user === undefined && (connectionId !== this.connectionId || !this.askedUsernames.has(username))) {
      throw notPrefetched('username', `in connection ${connectionId}`)
    }
    return user
  }

  /** Every user found, once each. */
  users(): StoredUser[] {
    return [...this.byId.values()]
  }

  /**
   * What a commit of these user_ids should expect: the rev each had in this answer, `null` for those it did not
   * find (asked or newly made). Pass the puts' and deletes' user_ids.
   */
  expected(userIds: Iterable<string>): Map<string, number | null> {
    const revs = new Map<string, number | null>()
    for (const userId of userIds) revs.set(userId, this.byId.get(userId)?.rev ?? null)
    return revs
  }
}

function notPrefetched(kind: string, what: string): AppError {
  // The key's value is left out: an email is personal data and this message may reach a log.
  return new AppError(
    'unexpected',
    `A plan asked for a user by ${kind} ${what} that its lookup did not prefetch: pass every key the chunk needs to lookup().`,
  )
}

/** The stable message of a refused chunk, the same from every backend. */
export function chunkCommitted(jobId: string, chunk: number): AppError {
  return new AppError(
    'chunk_committed',
    `Chunk ${chunk} of job ${jobId} is already committed: it is not applied twice (resume after the job's last commit).`,
    { jobId, chunk },
  )
}

/** Why a commit's plan is stale. */
export type ConflictReason = 'changed' | 'email' | 'username'

const conflictWords: Record<ConflictReason, string> = {
  changed: 'changed (another writer committed it) since the chunk was planned',
  email: 'would get the email another user of its connection has',
  username: 'would get the username another user of its connection has',
}

/** The stable message of a stale plan, the same from every backend; it names the user, never the value. */
export function storeConflict(
  jobId: string,
  chunk: number,
  userId: string,
  reason: ConflictReason,
): AppError {
  return new AppError(
    'store_conflict',
    `Chunk ${chunk} of job ${jobId} was not committed: user ${userId} ${conflictWords[reason]}. Plan the chunk again.`,
    { jobId, chunk, userId, reason },
  )
}

/**
 * What a store's commit resolves with: the batch as committed at `seq`, its puts as objects stamped with their rev,
 * made only if read (the engine does not read them; a 2,000-user chunk's copies cost about a millisecond, and an
 * EncodedUser would be parsed).
 */
export function committedRecord(
  seq: number,
  batch: Pick<CommitBatch, 'jobId' | 'chunk' | 'meta'>,
  puts: readonly UserPut[],
  deletes: string[],
): CommitRecord {
  let stamped: StoredUser[] | undefined
  return {
    seq,
    jobId: batch.jobId,
    chunk: batch.chunk,
    get puts() {
      stamped ??= puts.map((user) => ({ ...userOfPut(user), rev: seq }))
      return stamped
    },
    deletes,
    meta: batch.meta,
  }
}

/** Puts with one entry per user_id, the last one winning, as the embedded store applies them. */
export function lastPutPerUser<T extends { user_id: string }>(puts: readonly T[]): T[] {
  const byId = new Map<string, T>()
  // A Map keeps the first insertion's place: a user put twice sits where it was first put, with its last value.
  for (const put of puts) byId.set(put.user_id, put)
  return [...byId.values()]
}
