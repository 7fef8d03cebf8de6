import { setImmediate as nextTurn } from 'node:timers/promises'
import { normalizeEmail, type StoredUser } from '../../domain/users/user.ts'
import type { CommitBatch, CommitRecord, StoreMaintenance, UserJson, UserQuery } from '../../engine/ports.ts'
import {
  type AsyncUserStore,
  chunkCommitted,
  defaultScanPageSize,
  type ExpectedRevs,
  lastPutPerUser,
  PrefetchedUsers,
  type ScanOptions,
  storeConflict,
  type UserKeys,
} from '../../engine/user-directory.ts'
import type { UserStore } from './sync-user-store.ts'

/**
 * The embedded store (a synchronous UserStore, the file store) behind the AsyncUserStore port, so the engine can
 * use one port whichever backend holds the users. Reads answer from the store's memory; `commit` checks the batch
 * synchronously against that memory before the store applies it, so the checks and the write cannot interleave
 * with another commit of this process (the file store has one writer: STORE_DIR is locked to one process). A commit
 * that passes them is in memory (reads and `commitsOf` show it) when `commit` returns, and durable when its promise
 * resolves: the engine writes an import's report and undo data while its last chunk's fsync runs.
 *
 * Limit: a chunk committed twice is recognised from the store's `commitsOf`, which forgets a job's commits at
 * compaction; the engine compacts only when every job with commits is finished, so no job resumes after it.
 */
export function asyncUserStore(store: UserStore): AsyncUserStore {
  const scanJson = store.scanJson?.bind(store)
  return {
    lookup: async (connectionId, keys) => lookupIn(store, connectionId, keys),
    getById: async (userId) => store.getById(userId),
    findByEmail: async (connectionId, email) => store.findByEmail(connectionId, normalizeEmail(email)),
    findByUsername: async (connectionId, username) => store.findByUsername(connectionId, username),
    count: async (query) => store.count(query),
    // Both take the store's view when called, not when first iterated: a count and a scan asked for in one stretch
    // (an export's total and its users) agree.
    scan: (query, options) => scanInTurns(store.scan(query), options),
    ...(scanJson === undefined
      ? {}
      : {
          scanJson: (query?: UserQuery, options?: ScanOptions) =>
            onePage(scanJson(query), options?.skip ?? 0),
        }),
    commit: async (batch, expected) => commitChecked(store, batch, expected),
    commitsOf: async (jobId) =>
      store.commitsOf(jobId).map(({ seq, jobId: job, chunk, meta }) => ({ seq, jobId: job, chunk, meta })),
    close: () => store.close(),
  }
}

function lookupIn(store: UserStore, connectionId: string, keys: UserKeys): PrefetchedUsers {
  const found: StoredUser[] = []
  const keep = (user: StoredUser | undefined) => {
    if (user !== undefined) found.push(user)
  }
  for (const userId of keys.userIds ?? []) keep(store.getById(userId))
  for (const email of keys.emails ?? []) keep(store.findByEmail(connectionId, normalizeEmail(email)))
  for (const username of keys.usernames ?? []) keep(store.findByUsername(connectionId, username))
  return new PrefetchedUsers(connectionId, keys, found)
}

/** The store's consistent view, a page per event-loop turn so a long scan does not hold up requests. */
async function* scanInTurns(
  users: Iterable<StoredUser>,
  options: ScanOptions = {},
): AsyncGenerator<StoredUser> {
  const pageSize = options.pageSize ?? defaultScanPageSize
  let skip = options.skip ?? 0
  let inPage = 0
  for (const user of users) {
    if (skip > 0) {
      skip -= 1
      continue
    }
    yield user
    if (++inPage === pageSize) {
      inPage = 0
      await nextTurn()
    }
  }
}

/** The whole scan as one page: the caller reads it synchronously, between its own event-loop turns. */
async function* onePage(json: Iterable<UserJson>, skip: number): AsyncGenerator<Iterable<UserJson>> {
  yield skip > 0 ? skipped(json, skip) : json
}

function* skipped(json: Iterable<UserJson>, skip: number): Generator<UserJson> {
  let left = skip
  for (const each of json) {
    if (left > 0) left -= 1
    else yield each
  }
}

/** The file store's journal upkeep, for the scheduler (`EngineContext.maintenance`): only this backend has one. */
export function fileStoreMaintenance(store: UserStore): StoreMaintenance {
  return {
    journalBytes: () => store.journalBytes(),
    hasCommits: (jobId) => store.commitsOf(jobId).length > 0,
    compact: () => store.compact(),
  }
}

/** Checks, then commits, in one synchronous stretch: nothing else can commit in between. */
function commitChecked(store: UserStore, batch: CommitBatch, expected?: ExpectedRevs): Promise<CommitRecord> {
  if (store.commitsOf(batch.jobId).some((each) => each.chunk === batch.chunk)) {
    throw chunkCommitted(batch.jobId, batch.chunk)
  }
  for (const [userId, rev] of expected ?? []) {
    if ((store.getById(userId)?.rev ?? null) !== rev)
      throw storeConflict(batch.jobId, batch.chunk, userId, 'changed')
  }
  // One Set of the batch's ids serves the checks (the last put per user keeps the same ids). Most batches put each
  // user once: then the batch goes on as it is.
  const putIds = new Set<string>()
  for (const put of batch.puts) putIds.add(put.user_id)
  const puts = putIds.size === batch.puts.length ? batch.puts : lastPutPerUser(batch.puts)
  checkUnique(store, batch, puts, putIds)
  return store.commit(puts === batch.puts ? batch : { ...batch, puts })
}

/**
 * What PostgreSQL's unique indexes refuse, checked here: after the puts, no two users of a connection share an email
 * or a username. A user the batch puts again is judged by its new value, not the one it had.
 */
function checkUnique(
  store: UserStore,
  batch: CommitBatch,
  puts: CommitBatch['puts'],
  putIds: ReadonlySet<string>,
): void {
  // Keys the batch gives, by connection (nested maps: no key string built per user on this hot path).
  const given = new Map<string, { emails: Map<string, string>; usernames: Map<string, string> }>()
  for (const put of puts) {
    let seen = given.get(put.connection_id)
    if (seen === undefined) {
      seen = { emails: new Map(), usernames: new Map() }
      given.set(put.connection_id, seen)
    }
    const holder =
      seen.emails.get(put.email) ?? heldBy(store.findByEmail(put.connection_id, put.email), putIds)
    if (holder !== undefined && holder !== put.user_id) {
      throw storeConflict(batch.jobId, batch.chunk, put.user_id, 'email')
    }
    seen.emails.set(put.email, put.user_id)
    if (put.username === undefined) continue
    const named =
      seen.usernames.get(put.username) ??
      heldBy(store.findByUsername(put.connection_id, put.username), putIds)
    if (named !== undefined && named !== put.user_id) {
      throw storeConflict(batch.jobId, batch.chunk, put.user_id, 'username')
    }
    seen.usernames.set(put.username, put.user_id)
  }
}

/** The user_id holding a key now, unless the batch puts that user again (its new value is checked instead). */
function heldBy(user: StoredUser | undefined, putIds: ReadonlySet<string>): string | undefined {
  if (user === undefined || putIds.has(user.user_id)) return undefined
  return user.user_id
}
