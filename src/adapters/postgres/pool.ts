import pg from 'pg'
import { AppError } from '../../errors.ts'

/**
 * The connection pool every PostgreSQL adapter shares, and the two things each of them needs around it: a
 * transaction helper and errors that say which database could not be reached without quoting its password.
 */

export type Pool = pg.Pool
export type PoolClient = pg.PoolClient

export interface PoolOptions {
  /** Connections at most. Default 10 (pg's default). */
  max?: number
  /** An idle connection that breaks (the server restarted, a network cut) is dropped by the pool and told here. */
  onIdleError?: (error: Error) => void
  /** Shown in pg_stat_activity. Default `roster`. */
  name?: string
  /**
   * Commits return without waiting for the disk flush (`synchronous_commit = off`): for small records a request
   * waits on, where a flush would queue behind the WAL of a running import. What such a commit wrote is visible to
   * every other connection at once; only a crash of the database server may lose the last fraction of a second of
   * them (PostgreSQL flushes within 3 × wal_writer_delay, 600 ms by default), never leave them half-written. A later
   * ordinary commit flushes them along.
   */
  asyncCommit?: boolean
}

export function createPool(databaseUrl: string, options: PoolOptions = {}): Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.max ?? 10,
    application_name: options.name ?? 'roster',
    // A database that does not answer is a start-up error to report, not a hang.
    connectionTimeoutMillis: 10_000,
    // Sent when connecting (an `options=` in DATABASE_URL replaces it: the commits then merely wait for the flush).
    ...(options.asyncCommit ? { options: '-c synchronous_commit=off' } : {}),
  })
  // Without a listener, a broken idle connection would be an uncaught 'error' event and end the process.
  pool.on('error', (error) => options.onIdleError?.(error))
  return pool
}

/** `postgres://roster:secret@db/roster` → `postgres://roster:***@db/roster`: for messages and logs. */
export function redactUrl(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl)
    // `user:secret@host` without a scheme parses as scheme `user:`, the secret in its path: show none of it.
    if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') return 'DATABASE_URL (not a URL)'
    if (url.password !== '') url.password = '***'
    for (const key of [...url.searchParams.keys()]) {
      if (/pass|secret|key/i.test(key)) url.searchParams.set(key, '***')
    }
    return url.toString()
  } catch {
    return 'DATABASE_URL (not a URL)'
  }
}

/**
 * Runs `work` in one transaction on one connection: COMMIT when it resolves, ROLLBACK when it throws (and the
 * error is passed on). A connection whose ROLLBACK failed is destroyed rather than returned to the pool.
 */
export async function transaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect()
  let broken: Error | undefined
  try {
    await client.query('BEGIN')
    const result = await work(client)
    await client.query('COMMIT')
    return result
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: Error) => {
      broken = rollbackError
    })
    throw error
  } finally {
    client.release(broken)
  }
}

/**
 * The AppError for a database Roster cannot use: `store_unavailable`, naming the database (password hidden), what
 * Roster was doing (`action`: "write the audit log") and PostgreSQL's own reason. An AppError passes through.
 */
export function databaseUnavailable(databaseUrl: string, action: string, error: unknown): AppError {
  if (error instanceof AppError) return error
  const reason =
    error instanceof Error ? error.message || String((error as { code?: unknown }).code) : String(error)
  return new AppError(
    'store_unavailable',
    `PostgreSQL (DATABASE_URL=${redactUrl(databaseUrl)}): cannot ${action}: ${reason}.`,
    undefined,
    { cause: error },
  )
}
