import { setImmediate as nextTurn } from 'node:timers/promises'
import { EncodedUser, type UserPut } from '../../domain/users/encoded-user.ts'
import type { StoredUser } from '../../domain/users/user.ts'
import { normalizeEmail } from '../../domain/users/user.ts'
import type { CommitBatch, CommitRecord, UserQuery } from '../../engine/ports.ts'
import {
  type AsyncUserStore,
  type ChunkCommit,
  chunkCommitted,
  committedRecord,
  defaultScanPageSize,
  type ExpectedRevs,
  lastPutPerUser,
  PrefetchedUsers,
  type ScanOptions,
  storeConflict,
} from '../../engine/user-directory.ts'
import { AppError } from '../../errors.ts'
import { databaseUnavailable, type Pool, type PoolClient, transaction } from './pool.ts'
import { scanJsonPages } from './user-scan.ts'
import { insertByCopy, upsertByCopy } from './user-store-bulk.ts'
import { commitFailure } from './user-store-errors.ts'

/**
 * The users on PostgreSQL (table `users`, migration 001), read on demand: a replica holds none of them in memory,
 * so its memory does not grow with the tenant. Every replica may commit; they agree through the database alone:
 *
 * - a commit is one transaction: the chunk's row in `commits` (its `seq` is the users' `rev`), the puts COPYed into
 *   a temp table and moved by one INSERT … SELECT … ON CONFLICT (user_id) DO UPDATE (faster than a multi-row INSERT
 *   from unnest: see user-store-bulk.ts), the deletes as one DELETE. A chunk of new users only (every put expected
 *   absent, nothing expected present) is COPYed straight into `users` instead: the unique indexes refuse a user
 *   another writer inserted meanwhile, which ends in `store_conflict` like any stale plan.
 * - `expected` revs are checked under SELECT … FOR UPDATE of those users, so two replicas committing the same users
 *   take turns and the second sees the first's revs. A user expected absent is not locked: a concurrent insert of
 *   it meets the primary key instead. Both end in `store_conflict`, as do the unique indexes on email and username
 *   and a deadlock between two commits.
 * - `seq` comes from a sequence: unique and increasing in the order commits *start*, not necessarily in the order
 *   they become visible. Nothing relies on more than that: revs are compared for equality.
 */
export function pgUserStore(pool: Pool, databaseUrl: string): AsyncUserStore {
  const read = async <T>(action: string, work: () => Promise<T>): Promise<T> => {
    try {
      return await work()
    } catch (error) {
      throw databaseUnavailable(databaseUrl, action, error)
    }
  }
  const usersOf = async (sql: string, params: unknown[]): Promise<StoredUser[]> =>
    (await pool.query<UserRow>(sql, params)).rows.map(toUser)

  return {
    lookup: (connectionId, keys) =>
      read('look users up', async () => {
        const emails = (keys.emails ?? []).map(normalizeEmail)
        // One statement (one snapshot), one index scan per kind of key. Without parallel workers: for a chunk's
        // few thousand keys PostgreSQL plans a Parallel Append of the three scans, and starting its workers took
        // 80–180 ms of a 120–220 ms lookup (EXPLAIN ANALYZE, 1,741 keys, tenants of 100k and 1M); alone the scans
        // take 25–45 ms. SET LOCAL ends with the (read-only) transaction.
        const { rows } = await transaction(pool, async (client) => {
          await client.query('SET LOCAL max_parallel_workers_per_gather = 0')
          return client.query<UserRow>(
            `${selectUser} WHERE user_id = ANY($1::text[])
             UNION ALL ${selectUser} WHERE connection_id = $2 AND email = ANY($3::text[])
             UNION ALL ${selectUser} WHERE connection_id = $2 AND username = ANY($4::text[])`,
            [keys.userIds ?? [], connectionId, emails, keys.usernames ?? []],
          )
        })
        return new PrefetchedUsers(connectionId, keys, rows.map(toUser))
      }),
    getById: (userId) =>
      read('read a user', async () => (await usersOf(`${selectUser} WHERE user_id = $1`, [userId]))[0]),
    findByEmail: (connectionId, email) =>
      read('read a user', async () => {
        const sql = `${selectUser} WHERE connection_id = $1 AND email = $2`
        return (await usersOf(sql, [connectionId, normalizeEmail(email)]))[0]
      }),
    findByUsername: (connectionId, username) =>
      read('read a user', async () => {
        const sql = `${selectUser} WHERE connection_id = $1 AND username = $2`
        return (await usersOf(sql, [connectionId, username]))[0]
      }),
    count: (query: UserQuery = {}) =>
      read('count users', async () => {
        const { rows } =
          query.connectionId === undefined
            ? await pool.query<{ n: string }>('SELECT count(*) AS n FROM users')
            : await pool.query<{ n: string }>('SELECT count(*) AS n FROM users WHERE connection_id = $1', [
                query.connectionId,
              ])
        return Number(rows[0]?.n ?? 0)
      }),
    scan: (query, options) => scanPages(pool, databaseUrl, query, options),
    scanJson: (query, options) => scanJsonPages(pool, databaseUrl, query, options),
    commit: (batch, expected) => commitBatch(pool, databaseUrl, batch, expected),
    commitsOf: (jobId) =>
      read('read the commits of a job', async () => {
        const { rows } = await pool.query<{ seq: string; chunk: number; meta: unknown }>(
          'SELECT seq, chunk, meta FROM commits WHERE job_id = $1 ORDER BY seq',
          [jobId],
        )
        return rows.map(
          (row): ChunkCommit => ({ seq: Number(row.seq), jobId, chunk: row.chunk, meta: row.meta }),
        )
      }),
    // The pool is the caller's: other adapters share it.
    close: async () => undefined,
  }
}

interface UserRow {
  doc: Omit<StoredUser, 'rev'>
  rev: string
}

const selectUser = 'SELECT doc, rev FROM users'

function toUser(row: UserRow): StoredUser {
  return { ...row.doc, rev: Number(row.rev) }
}

/** Keyset pages in `ord` order: each page is one short query, so a scan of millions holds no transaction open. */
async function* scanPages(
  pool: Pool,
  databaseUrl: string,
  query: UserQuery = {},
  options: ScanOptions = {},
): AsyncGenerator<StoredUser> {
  const pageSize = options.pageSize ?? defaultScanPageSize
  const byConnection = query.connectionId !== undefined
  const sql = byConnection
    ? 'SELECT doc, rev, ord FROM users WHERE connection_id = $1 AND ord > $2 ORDER BY connection_id, ord LIMIT $3'
    : 'SELECT doc, rev, ord FROM users WHERE ord > $1 ORDER BY ord LIMIT $2'
  let after = '0'
  const skip = options.skip ?? 0
  if (skip > 0) {
    // The page's start by OFFSET once (the index walks past the skipped users); keyset pages from there on.
    const start = byConnection
      ? 'SELECT ord FROM users WHERE connection_id = $1 ORDER BY connection_id, ord OFFSET $2 LIMIT 1'
      : 'SELECT ord FROM users ORDER BY ord OFFSET $1 LIMIT 1'
    let rows: { ord: string }[]
    try {
      rows = (
        await pool.query<{ ord: string }>(start, byConnection ? [query.connectionId, skip - 1] : [skip - 1])
      ).rows
    } catch (error) {
      throw databaseUnavailable(databaseUrl, 'read the users', error)
    }
    if (rows[0] === undefined) return
    after = rows[0].ord
  }
  for (;;) {
    let rows: (UserRow & { ord: string })[]
    try {
      const params = byConnection ? [query.connectionId, after, pageSize] : [after, pageSize]
      rows = (await pool.query<UserRow & { ord: string }>(sql, params)).rows
    } catch (error) {
      throw databaseUnavailable(databaseUrl, 'read the users', error)
    }
    for (const row of rows) yield toUser(row)
    if (rows.length < pageSize) return
    after = (rows[rows.length - 1] as { ord: string }).ord
  }
}

async function commitBatch(
  pool: Pool,
  databaseUrl: string,
  batch: CommitBatch,
  expected: ExpectedRevs = new Map(),
): Promise<CommitRecord> {
  const puts = lastPutPerUser(batch.puts)
  let meta: string | null
  let docs: string[]
  try {
    // Serialized before the transaction, as the embedded store does: a batch that is not JSON changes nothing.
    meta = batch.meta === undefined ? null : JSON.stringify(batch.meta)
    docs = await docsOf(puts)
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    throw new AppError('unexpected', `Commit ${batch.jobId}#${batch.chunk} is not JSON: ${reason}`)
  }
  try {
    const insertOnly = newUsersOnly(puts, expected)
    const seq = await transaction(pool, async (client) => {
      await checkExpected(client, batch, insertOnly ? withoutPuts(expected, puts) : expected)
      const inserted = await client.query<{ seq: string }>(
        `INSERT INTO commits (job_id, chunk, meta) VALUES ($1, $2, $3::jsonb)
         ON CONFLICT (job_id, chunk) DO NOTHING RETURNING seq`,
        [batch.jobId, batch.chunk, meta],
      )
      const row = inserted.rows[0]
      if (row === undefined) throw chunkCommitted(batch.jobId, batch.chunk)
      if (insertOnly) await insertByCopy(client, puts, docs, row.seq)
      else if (puts.length > 0) await upsertByCopy(client, puts, docs, row.seq)
      if (batch.deletes.length > 0) {
        await client.query('DELETE FROM users WHERE user_id = ANY($1::text[])', [batch.deletes])
      }
      return Number(row.seq)
    })
    return committedRecord(seq, batch, puts, [...batch.deletes])
  } catch (error) {
    throw commitFailure(error, batch, puts, databaseUrl)
  }
}

/**
 * Each put's JSON without `rev`, a slice of users per event-loop turn: a chunk of a few thousand users took
 * 10–50 ms in one stretch on a busy machine.
 */
async function docsOf(puts: readonly UserPut[]): Promise<string[]> {
  const docs: string[] = []
  let sliceStart = performance.now()
  for (const put of puts) {
    if (put instanceof EncodedUser) docs.push(put.json)
    else {
      const { rev: _rev, ...doc } = put as Omit<StoredUser, 'rev'> & { rev?: number }
      docs.push(JSON.stringify(doc))
    }
    if (docs.length % 100 === 0 && performance.now() - sliceStart >= sliceMs) {
      await nextTurn()
      sliceStart = performance.now()
    }
  }
  return docs
}

/** The longest stretch of a commit's own work between event-loop turns. */
const sliceMs = 5

/** Locks the users the plan read (in user_id order, so two commits lock in the same order) and compares revs. */
async function checkExpected(client: PoolClient, batch: CommitBatch, expected: ExpectedRevs): Promise<void> {
  if (expected.size === 0) return
  const { rows } = await client.query<{ user_id: string; rev: string }>(
    'SELECT user_id, rev FROM users WHERE user_id = ANY($1::text[]) ORDER BY user_id FOR UPDATE',
    [[...expected.keys()]],
  )
  const now = new Map(rows.map((row) => [row.user_id, Number(row.rev)]))
  for (const [userId, rev] of expected) {
    if ((now.get(userId) ?? null) !== rev) throw storeConflict(batch.jobId, batch.chunk, userId, 'changed')
  }
}

/**
 * Whether every put is of a user the plan read as absent and the plan read no user as present: an import chunk of
 * new users. Such puts go straight into `users` (insertByCopy), where the unique indexes refuse a user that exists
 * by now, so neither the lock-and-compare of their revs nor ON CONFLICT is needed.
 */
function newUsersOnly(puts: readonly { user_id: string }[], expected: ExpectedRevs): boolean {
  if (puts.length === 0) return false
  for (const rev of expected.values()) if (rev !== null) return false
  for (const put of puts) if (!expected.has(put.user_id)) return false
  return true
}

/** The expected revs of users the batch does not put (users read as absent and left so). */
function withoutPuts(expected: ExpectedRevs, puts: readonly { user_id: string }[]): ExpectedRevs {
  const rest = new Map(expected)
  for (const put of puts) rest.delete(put.user_id)
  return rest
}
