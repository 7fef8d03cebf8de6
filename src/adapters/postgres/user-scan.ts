import { to as copyTo } from 'pg-copy-streams'
import type { StoredUser } from '../../domain/users/user.ts'
import type { UserJson, UserQuery } from '../../engine/ports.ts'
import type { ScanOptions } from '../../engine/user-directory.ts'
import { AppError } from '../../errors.ts'
import { databaseUnavailable, type Pool, type PoolClient } from './pool.ts'

/**
 * `scanJson` on PostgreSQL: the users' JSON as bytes, a page at a time, for exports and GET /users pages, so they copy
 * values from the bytes instead of parsing every user (see src/domain/export/json-rows.ts).
 *
 * - Each page is one `COPY (SELECT ord, rev::text, doc::text … ORDER BY ord LIMIT n) TO STDOUT (FORMAT binary)`:
 *   the rows arrive as length-prefixed bytes, with no per-row string or object made by pg's row parser (which was
 *   most of an export's time), and each page is a short statement: a scan of millions holds no transaction open.
 * - From the second page on, the next page is read while this one is consumed: a scan that asks for a second page
 *   is a long one (an export); one that stops within the first (a GET /users page) reads nothing more.
 * - `doc` is jsonb, whose text is not what JSON.stringify writes: its separators carry a space and its keys are in
 *   jsonb's order (shorter keys first). Each user's text is compacted in place (whitespace outside strings dropped,
 *   nothing else) and `,"rev":<rev>}` appended, which is the JSON of `{ ...doc, rev }`, the user `scan` yields.
 *   Key order inside is jsonb's, as the parsed user's is today, so a file written from the bytes equals one written
 *   from parsed users; text the byte reader does not accept as canonical (numbers jsonb prints otherwise than
 *   JavaScript, `\u` escapes) goes the parsing way, through `user()`.
 */

/** Users per page: ~2–3 MB of JSON, a few ms of work between event-loop turns is the caller's to slice. */
export const jsonPageSize = 5_000

export async function* scanJsonPages(
  pool: Pool,
  databaseUrl: string,
  query: UserQuery = {},
  options: ScanOptions = {},
): AsyncGenerator<Iterable<UserJson>> {
  const pageSize = Math.max(1, Math.floor(options.pageSize ?? jsonPageSize))
  const read = (after: string) =>
    readPage(pool, databaseUrl, (client) => pageSql(client, query.connectionId, after, pageSize))
  const start = await startAfter(pool, databaseUrl, query.connectionId, options.skip ?? 0)
  if (start === undefined) return
  let next: Promise<JsonPage> | undefined
  try {
    let page = await read(start)
    for (let pages = 1; ; pages++) {
      const full = page.count === pageSize
      if (full && pages > 1) {
        next = read(page.lastOrd)
        // Handled now, awaited later: a failure while the caller works on this page is not "unhandled".
        next.catch(() => undefined)
      }
      yield page
      if (!full) return
      page = await (next ?? read(page.lastOrd))
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
): Promise<JsonPage> {
  let client: PoolClient
  try {
    client = await pool.connect()
  } catch (error) {
    throw databaseUnavailable(databaseUrl, 'read the users', error)
  }
  let broken: Error | undefined
  try {
    const chunks: Buffer[] = []
    for await (const chunk of client.query(copyTo(sql(client)))) chunks.push(chunk as Buffer)
    return new JsonPage(Buffer.concat(chunks))
  } catch (error) {
    // A COPY cut short may leave the connection mid-protocol: it is closed rather than reused.
    broken = error instanceof Error ? error : new Error(String(error))
    throw databaseUnavailable(databaseUrl, 'read the users', error)
  } finally {
    client.release(broken)
  }
}

const signature = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1')
const quote = 0x22
const backslash = 0x5c
const comma = 0x2c
const openBrace = 0x7b
const closeBrace = 0x7d
const revKey = Buffer.from('"rev":')
const decoder = new TextDecoder()

/**
 * One page of COPY's binary output. Where each row's fields are is found when the page arrives (a walk over the
 * length prefixes); each user's text is made in place the first time it is iterated, so that work falls between
 * the caller's event-loop turns, not in one stretch per page.
 */
class JsonPage implements Iterable<UserJson> {
  readonly count: number
  /** The last row's `ord`, where the next page starts. */
  readonly lastOrd: string
  /** Per row: rev's text `[revAt, revAt + revLength)`, doc's text `[docAt, docAt + docLength)`; then the made JSON. */
  private readonly revAt: Int32Array
  private readonly revLength: Int32Array
  private readonly docAt: Int32Array
  private readonly docLength: Int32Array
  private readonly starts: Int32Array
  private readonly ends: Int32Array
  private made = 0
  private readonly scratch = new Uint8Array(24)

  constructor(private readonly bytes: Buffer) {
    if (bytes.length < 21 || !bytes.subarray(0, 11).equals(signature)) throw damaged('not a binary COPY')
    let at = 19 + bytes.readUInt32BE(15)
    const rows: number[] = []
    let lastOrd = '0'
    for (;;) {
      const fields = bytes.readInt16BE(at)
      if (fields === -1) break
      if (fields !== 3 || bytes.readInt32BE(at + 2) !== 8) throw damaged('unexpected row')
      lastOrd = bytes.readBigInt64BE(at + 6).toString()
      const revLength = bytes.readInt32BE(at + 14)
      const docLength = bytes.readInt32BE(at + 18 + revLength)
      rows.push(at + 18, revLength, at + 22 + revLength, docLength)
      at += 22 + revLength + docLength
    }
    this.count = rows.length / 4
    this.lastOrd = lastOrd
    this.revAt = new Int32Array(this.count)
    this.revLength = new Int32Array(this.count)
    this.docAt = new Int32Array(this.count)
    this.docLength = new Int32Array(this.count)
    for (let i = 0; i < this.count; i++) {
      this.revAt[i] = rows[4 * i] as number
      this.revLength[i] = rows[4 * i + 1] as number
      this.docAt[i] = rows[4 * i + 2] as number
      this.docLength[i] = rows[4 * i + 3] as number
    }
    this.starts = new Int32Array(this.count)
    this.ends = new Int32Array(this.count)
  }

  *[Symbol.iterator](): Iterator<UserJson> {
    let row = 0
    // One item, reused (as the port allows): the caller reads it before asking for the next.
    const item = { bytes: this.bytes, start: 0, end: 0, user: () => this.user(row) }
    for (; row < this.count; row++) {
      if (row === this.made) this.make(row)
      item.start = this.starts[row] as number
      item.end = this.ends[row] as number
      yield item
    }
  }

  /**
   * Row `row`'s JSON, written over its own COPY framing: it starts where the row's header starts (the rev's digits
   * are set aside first), so the write never overtakes the read, and it ends before the next row's header.
   */
  private make(row: number): void {
    const bytes = this.bytes
    const revAt = this.revAt[row] as number
    const revLength = this.revLength[row] as number
    const from = this.docAt[row] as number
    const to = from + (this.docLength[row] as number)
    if (revLength > this.scratch.length) throw damaged('rev too long')
    this.scratch.set(bytes.subarray(revAt, revAt + revLength))
    const start = revAt - 18
    let at = start
    let inString = false
    for (let i = from; i < to; i++) {
      const byte = bytes[i] as number
      if (inString) {
        bytes[at++] = byte
        if (byte === backslash) bytes[at++] = bytes[++i] as number
        else if (byte === quote) inString = false
      } else if (byte > 0x20) {
        bytes[at++] = byte
        if (byte === quote) inString = true
      }
    }
    if (at - start < 2 || bytes[start] !== openBrace || bytes[at - 1] !== closeBrace)
      throw damaged('not an object')
    at -= 1
    if (bytes[at - 1] !== openBrace) bytes[at++] = comma
    revKey.copy(bytes, at)
    at += revKey.length
    bytes.set(this.scratch.subarray(0, revLength), at)
    at += revLength
    bytes[at++] = closeBrace
    this.starts[row] = start
    this.ends[row] = at
    this.made = row + 1
  }

  /** The user as `scan` yields it: `{ ...doc, rev }`. */
  private user(row: number): StoredUser {
    const text = decoder.decode(this.bytes.subarray(this.starts[row], this.ends[row]))
    return JSON.parse(text) as StoredUser
  }
}

function damaged(what: string): AppError {
  return new AppError('store_invalid', `PostgreSQL sent a page of users Roster cannot read (${what}).`)
}
