import type pg from 'pg'
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
 * - The next page is read while this one is consumed: from the first page on for a whole scan (an export), from
 *   the second for a caller that sizes its pages (a GET /users page, which stops within the first: it reads no
 *   page more).
 * - `doc` is `json` (migration 004): the text the commit wrote, JSON.stringify's, sent as stored. Rows written
 *   before that migration hold jsonb's text instead: a space after each separator, nested keys in jsonb's order
 *   (shorter first). Each user's text is compacted in place (whitespace outside strings dropped, nothing else:
 *   stored text is unchanged by it) and `,"rev":<rev>}` appended, which is the JSON of `{ ...doc, rev }`, the user
 *   `scan` yields. Nested keys stay in the stored order, as the parsed user has them, so a file written from the
 *   bytes equals one written from parsed users; text the byte reader does not take as JSON.stringify's (numbers
 *   jsonb printed otherwise than JavaScript, `\u` escapes) goes the parsing way, through `user()`.
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
  // A caller that sizes its pages (a GET /users page) may want no more than the first; a whole scan (an export)
  // reads ahead from the start.
  const readAhead = options.pageSize === undefined
  // The bytes of the page before the caller's current one, whose time is over (a page lives until the next is
  // asked for): the page being read goes into them, so a long scan does not allocate megabytes a page.
  let spare: Buffer | undefined
  const read = (after: string) => {
    const into = spare
    spare = undefined
    return readPage(pool, databaseUrl, (client) => pageSql(client, query.connectionId, after, pageSize), into)
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
    const chunks = await copyChunks(client, sql(client))
    const length = chunks.reduce((sum, chunk) => sum + chunk.length, 0)
    // Room after the last row for its `,"rev":…}` (JsonPage.make).
    const room = length + maxRevDigits + 8
    const bytes =
      into !== undefined && into.length >= room ? into : Buffer.allocUnsafeSlow(room + (room >> 3))
    let at = 0
    for (const chunk of chunks) at += chunk.copy(bytes, at)
    return new JsonPage(bytes, length)
  } catch (error) {
    // A COPY cut short may leave the connection mid-protocol: it is closed rather than reused.
    broken = error instanceof Error ? error : new Error(String(error))
    throw databaseUnavailable(databaseUrl, 'read the users', error)
  } finally {
    client.release(broken)
  }
}

/**
 * The COPY's output as it came (one chunk per row, about): gathered from 'data' events, not `for await`, which
 * costs a promise per chunk.
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

const signature = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1')
const quote = 0x22
const backslash = 0x5c
const comma = 0x2c
const openBrace = 0x7b
const closeBrace = 0x7d
const colon = 0x3a
const space = 0x20
const revKey = Buffer.from('"rev":')
const decoder = new TextDecoder()

/** Digits of a rev at most: revs are commit seqs, below 2^53. */
const maxRevDigits = 16

/**
 * One page of COPY's binary output. Where each row's fields are is found when the page arrives (a walk over the
 * length prefixes, the revs' digits set aside); each user's JSON is made in place the first time it is iterated,
 * so that work falls between the caller's event-loop turns, not in one stretch per page.
 */
class JsonPage implements Iterable<UserJson> {
  readonly count: number
  /** The last row's `ord`, where the next page starts. */
  readonly lastOrd: string
  /** Per row: doc's text `[docAt, docAt + docLength)`, then the made JSON `[docAt, ends)`. */
  private readonly docAt: Int32Array
  private readonly docLength: Int32Array
  private readonly ends: Int32Array
  /** Per row: its rev's digits at `maxRevDigits * row`, how many in `revLength`. */
  private readonly revDigits: Uint8Array
  private readonly revLength: Uint8Array
  private made = 0

  /** `bytes[0, length)`: the COPY output, with at least `maxRevDigits + 8` bytes of room after it. */
  constructor(
    readonly bytes: Buffer,
    length: number,
  ) {
    if (length < 21 || !bytes.subarray(0, 11).equals(signature)) throw damaged('not a binary COPY')
    let at = 19 + bytes.readUInt32BE(15)
    const rows: number[] = []
    let lastOrd = '0'
    for (;;) {
      // Bounded by `length`: a reused buffer holds an older page's bytes after it.
      if (at + 2 > length) throw damaged('cut short')
      const fields = bytes.readInt16BE(at)
      if (fields === -1) break
      if (fields !== 3 || bytes.readInt32BE(at + 2) !== 8) throw damaged('unexpected row')
      lastOrd = bytes.readBigInt64BE(at + 6).toString()
      const revLength = bytes.readInt32BE(at + 14)
      if (revLength < 1 || revLength > maxRevDigits) throw damaged('unexpected rev')
      const docLength = bytes.readInt32BE(at + 18 + revLength)
      rows.push(at + 18, revLength, at + 22 + revLength, docLength)
      at += 22 + revLength + docLength
      if (docLength < 0 || at > length) throw damaged('cut short')
    }
    const count = rows.length / 4
    this.count = count
    this.lastOrd = lastOrd
    this.docAt = new Int32Array(count)
    this.docLength = new Int32Array(count)
    this.ends = new Int32Array(count)
    this.revDigits = new Uint8Array(count * maxRevDigits)
    this.revLength = new Uint8Array(count)
    for (let i = 0; i < count; i++) {
      const revAt = rows[4 * i] as number
      const revLength = rows[4 * i + 1] as number
      for (let d = 0; d < revLength; d++) this.revDigits[i * maxRevDigits + d] = bytes[revAt + d] as number
      this.revLength[i] = revLength
      this.docAt[i] = rows[4 * i + 2] as number
      this.docLength[i] = rows[4 * i + 3] as number
    }
  }

  *[Symbol.iterator](): Iterator<UserJson> {
    let row = 0
    // One item, reused (as the port allows): the caller reads it before asking for the next.
    const item = { bytes: this.bytes as Uint8Array, start: 0, end: 0, user: () => this.user(row) }
    for (; row < this.count; row++) {
      if (row === this.made) this.make(row)
      item.start = this.docAt[row] as number
      item.end = this.ends[row] as number
      yield item
    }
  }

  /**
   * Row `row`'s JSON, in place: jsonb's text compacted (it only shrinks), then `,"rev":<digits>}` over its closing
   * brace. That tail may run past the doc into the next row's framing (at most 7 + 16 bytes, where the framing
   * before the next doc is at least 23), which was read in the constructor; after the last row there is room.
   */
  private make(row: number): void {
    const bytes = this.bytes
    const from = this.docAt[row] as number
    const to = from + (this.docLength[row] as number)
    let at = spacedAfterFirstKey(bytes, from, to) ? compact(bytes, from, to) : to
    if (at - from < 2 || bytes[from] !== openBrace || bytes[at - 1] !== closeBrace)
      throw damaged('not an object')
    at -= 1
    if (bytes[at - 1] !== openBrace) bytes[at++] = comma
    revKey.copy(bytes, at)
    at += revKey.length
    const digits = row * maxRevDigits
    const revLength = this.revLength[row] as number
    for (let d = 0; d < revLength; d++) bytes[at++] = this.revDigits[digits + d] as number
    bytes[at++] = closeBrace
    this.ends[row] = at
    this.made = row + 1
  }

  /** The user as `scan` yields it: `{ ...doc, rev }`. */
  private user(row: number): StoredUser {
    const text = decoder.decode(this.bytes.subarray(this.docAt[row], this.ends[row]))
    return JSON.parse(text) as StoredUser
  }
}

/**
 * Whether the text is jsonb's (`{"key": …`, a space after every separator) rather than JSON.stringify's
 * (`{"key":…`), told by its first key alone: both write every separator alike.
 */
function spacedAfterFirstKey(bytes: Uint8Array, from: number, to: number): boolean {
  if (bytes[from] !== openBrace || bytes[from + 1] !== quote) return false
  for (let i = from + 2; i < to; i++) {
    const byte = bytes[i]
    if (byte === backslash) i++
    else if (byte === quote) return bytes[i + 1] === colon && bytes[i + 2] === space
  }
  return false
}

/** Drops the whitespace outside strings from `bytes[from, to)`, in place; where the text now ends. */
function compact(bytes: Uint8Array, from: number, to: number): number {
  let at = from
  let inString = false
  for (let i = from; i < to; i++) {
    const byte = bytes[i] as number
    if (inString) {
      bytes[at++] = byte
      if (byte === backslash) bytes[at++] = bytes[++i] as number
      else if (byte === quote) inString = false
    } else if (byte > space) {
      bytes[at++] = byte
      if (byte === quote) inString = true
    }
  }
  return at
}

function damaged(what: string): AppError {
  return new AppError('store_invalid', `PostgreSQL sent a page of users Roster cannot read (${what}).`)
}
