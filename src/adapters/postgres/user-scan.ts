import type pg from 'pg'
import { to as copyTo } from 'pg-copy-streams'
import type { UserJson, UserQuery } from '../../engine/ports.ts'
import type { ScanOptions } from '../../engine/user-directory.ts'
import { databaseUnavailable, type Pool, type PoolClient } from './pool.ts'
import { type JsonPage, JsonPageReader } from './user-scan-page.ts'

/**
 * `scanJson` on PostgreSQL: the users' JSON as bytes, a page at a time, for exports and GET /users pages, so they copy
 * values from the bytes instead of parsing every user (see src/domain/export/json-rows.ts).
 *
 * - Each page is one `COPY (SELECT ord, rev::text, doc::text … ORDER BY ord LIMIT n) TO STDOUT (FORMAT binary)`:
 *   the rows arrive as length-prefixed bytes, with no per-row string or object made by pg's row parser (which was
 *   most of an export's time), and each page is a short statement: a scan of millions holds no transaction open.
 * - The next page is read while this one is consumed: from the first page on for a whole scan (an export), from
 *   the second for a caller that sizes its pages (a GET /users page, which stops within the first: it reads no
 *   page more).
 * - `doc` is `json` (migration 005): the text the commit wrote, JSON.stringify's, sent as stored. Rows written
 *   before that migration hold jsonb's text instead: a space after each separator, nested keys in jsonb's order
 *   (shorter first). Each user's text is compacted in place (whitespace outside strings dropped, nothing else:
 *   stored text is unchanged by it) and `,"rev":<rev>}` appended, which is the JSON of `{ ...doc, rev }`, the user
 *   `scan` yields. Nested keys stay in the stored order, as the parsed user has them, so a file written from the
 *   bytes equals one written from parsed users; text the byte reader does not take as JSON.stringify's (numbers
 *   jsonb printed otherwise than JavaScript, `\u` escapes) goes the parsing way, through `user()`.
 */

/** Users per page of a whole scan: ~3 MB of JSON, one short statement each. */
export const jsonPageSize = 5_000

export async function* scanJsonPages(
  pool: Pool,
  databaseUrl: string,
  query: UserQuery = {},
  options: ScanOptions = {},
): AsyncGenerator<Iterable<UserJson>> {
  const pageSize = Math.max(1, Math.floor(options.pageSize ?? jsonPageSize))
  // A caller that sizes its pages (a GET /users page) may want no more than the first; a whole scan (an export)
  // reads ahead from the start.
  const readAhead = options.pageSize === undefined
  // The bytes of the page before the caller's current one, whose time is over (a page lives until the next is
  // asked for): the page being read goes into them, so a long scan does not allocate megabytes a page.
  let spare: Buffer | undefined
  const read = (after: string) => {
    const into = spare
    spare = undefined
    return readPage(
      pool,
      databaseUrl,
      (client) => pageSql(client, query.connectionId, after, pageSize),
      pageSize,
      into,
    )
  }
  const start = await startAfter(pool, databaseUrl, query.connectionId, options.skip ?? 0)
  if (start === undefined) return
  let next: Promise<JsonPage> | undefined
  try {
    let page = await read(start)
    for (let pages = 1; ; pages++) {
      const full = page.count === pageSize
      if (full && (readAhead || pages > 1)) {
        next = read(page.lastOrd)
        // Handled now, awaited later: a failure while the caller works on this page is not "unhandled".
        next.catch(() => undefined)
      }
      yield page
      if (!full) return
      const done = page
      page = await (next ?? read(page.lastOrd))
      spare = done.bytes
      next = undefined
    }
  } finally {
    // Left early (the caller had enough): the page asked for still ends before its connection goes back.
    if (next !== undefined) await next.catch(() => undefined)
  }
}

function pageSql(
  client: PoolClient,
  connectionId: string | undefined,
  after: string,
  pageSize: number,
): string {
  const select = 'SELECT ord, rev::text, doc::text FROM users'
  // COPY takes no parameters: the connection id is quoted by pg's escapeLiteral, `after` is an integer we read.
  const sql =
    connectionId === undefined
      ? `${select} WHERE ord > ${after} ORDER BY ord LIMIT ${pageSize}`
      : `${select} WHERE connection_id = ${client.escapeLiteral(connectionId)} AND ord > ${after}
         ORDER BY connection_id, ord LIMIT ${pageSize}`
  return `COPY (${sql}) TO STDOUT (FORMAT binary)`
}

/** The `ord` after which the scan starts: 0, or the skipped users' last (OFFSET once, on the index). */
async function startAfter(
  pool: Pool,
  databaseUrl: string,
  connectionId: string | undefined,
  skip: number,
): Promise<string | undefined> {
  if (skip <= 0) return '0'
  try {
    const { rows } =
      connectionId === undefined
        ? await pool.query<{ ord: string }>('SELECT ord FROM users ORDER BY ord OFFSET $1 LIMIT 1', [
            skip - 1,
          ])
        : await pool.query<{ ord: string }>(
            'SELECT ord FROM users WHERE connection_id = $1 ORDER BY connection_id, ord OFFSET $2 LIMIT 1',
            [connectionId, skip - 1],
          )
    return rows[0]?.ord
  } catch (error) {
    throw databaseUnavailable(databaseUrl, 'read the users', error)
  }
}

async function readPage(
  pool: Pool,
  databaseUrl: string,
  sql: (client: PoolClient) => string,
  rows: number,
  into: Buffer | undefined,
): Promise<JsonPage> {
  let client: PoolClient
  try {
    client = await pool.connect()
  } catch (error) {
    throw databaseUnavailable(databaseUrl, 'read the users', error)
  }
  let broken: Error | undefined
  try {
    const reader = new JsonPageReader(rows, into)
    await new Promise<void>((resolve, reject) => {
      const stream = client.query(copyTo(sql(client)))
      stream.on('data', (chunk: Buffer) => {
        try {
          reader.push(chunk)
        } catch (error) {
          stream.destroy(error as Error)
        }
      })
      stream.on('error', reject)
      stream.on('end', resolve)
    })
    return reader.finish()
  } catch (error) {
    // A COPY cut short may leave the connection mid-protocol: it is closed rather than reused.
    broken = error instanceof Error ? error : new Error(String(error))
    throw databaseUnavailable(databaseUrl, 'read the users', error)
  } finally {
    client.release(broken)
  }
}

/**
 * The COPY's output as it came, a chunk per read from the connection: gathered from 'data' events, not
 * `for await`, which costs a promise per chunk.
 */
export function copyChunks(client: PoolClient | pg.Client, sql: string): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const stream = client.query(copyTo(sql))
    stream.on('data', (chunk: Buffer) => chunks.push(chunk))
    stream.on('error', reject)
    stream.on('end', () => resolve(chunks))
  })
}
