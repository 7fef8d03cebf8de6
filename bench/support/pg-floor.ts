/**
 * The floors on PostgreSQL, measured on the scenario's own database.
 *
 * Import: the least work that leaves the same users valid and durable in the same table — read the file, check its
 * nesting depth, JSON.parse, validate each user as Roster does (validateImportRow), make each stored row (id,
 * connection, lower-cased email, identities, timestamps) and `COPY` them into `users`, with its indexes, in one
 * committed transaction. The rows are deleted afterwards (not timed) so Roster then imports the same users.
 *
 * Export: the same users read as Roster's scanJson reads them (binary COPY pages, keyset on `ord`, the next page read
 * while one is written), each doc's bytes copied as they come, one line each, to the same kind of fs stream (gzip
 * level 1 for the gzip case), no engine.
 */
import { createWriteStream } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGzip } from 'node:zlib'
import pg from 'pg'
import { copyChunks, jsonPageSize } from '../../src/adapters/postgres/user-scan.ts'
import type { StoredUser } from '../../src/domain/users/user.ts'
import { parseChecked, storedUsersOf } from './floor.ts'
import { copyLine, copyRows } from './postgres.ts'
import { collectGarbage, rssSampler } from './rss.ts'

export const pgImportFloorWork =
  'read the file, check its nesting depth, JSON.parse, validate every user as Roster’s import does, make each stored row and COPY them into `users` (same table, same indexes, same tenant) in one committed transaction'

export const pgExportFloorWork = `the same users read the way Roster reads them: pages of ${jsonPageSize.toLocaleString('en-US')} by \`COPY (SELECT ord, doc::text FROM users WHERE ord > $last ORDER BY ord LIMIT n) TO STDOUT (FORMAT binary)\`, the next page read while this one is written; each user's doc bytes copied as they come (jsonb's text, not parsed, not compacted), one line per user, to the same kind of fs stream (gzip level 1 for the gzip case)`

/** One import floor on `databaseUrl`; milliseconds. */
export async function pgImportFloorMs(
  dir: string,
  databaseUrl: string,
  connection: string,
  text: string,
): Promise<number> {
  const input = join(dir, 'floor-input.json')
  await writeFile(input, text)
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  const ids: string[] = []
  try {
    const start = performance.now()
    const users = storedUsersOf(
      parseChecked(await readFile(input, 'utf8')),
      connection,
      new Date().toISOString(),
    )
    await client.query('BEGIN')
    await copyRows(client, users.length, (i) => copyLine(users[i] as Omit<StoredUser, 'rev'>))
    await client.query('COMMIT')
    const ms = performance.now() - start
    for (const user of users) ids.push(user.user_id)
    return ms
  } finally {
    if (ids.length > 0) await client.query('DELETE FROM users WHERE user_id = ANY($1::text[])', [ids])
    await client.end()
  }
}

export interface FloorSample {
  rate: number
  extraMb: number
}

/** One export floor on `databaseUrl`: users/s and the peak RSS above the level before. */
export async function pgExportFloor(databaseUrl: string, path: string, gzip: boolean): Promise<FloorSample> {
  const client = new pg.Client({ connectionString: databaseUrl })
  const ahead = new pg.Client({ connectionString: databaseUrl })
  await Promise.all([client.connect(), ahead.connect()])
  try {
    collectGarbage()
    const rss = rssSampler()
    const start = performance.now()
    let users = 0
    async function* pieces() {
      // Two connections taking turns, as Roster's pool gives it one per page: the next page is read while this
      // one is written.
      const clients = [client, ahead]
      let page = await floorPage(client, '0')
      for (let n = 1; ; n++) {
        const next =
          page.count === floorPageSize ? floorPage(clients[n % 2] as pg.Client, page.lastOrd) : undefined
        next?.catch(() => undefined)
        users += page.count
        yield page.lines
        if (next === undefined) return
        page = await next
      }
    }
    if (gzip) await pipeline(Readable.from(pieces()), createGzip({ level: 1 }), createWriteStream(path))
    else await pipeline(Readable.from(pieces()), createWriteStream(path))
    const seconds = (performance.now() - start) / 1000
    return { rate: users / seconds, extraMb: rss.stop() / 1048576 }
  } finally {
    await Promise.all([client.end(), ahead.end()])
  }
}

const floorPageSize = jsonPageSize

/** One page as Roster's scan reads it (`COPY … (FORMAT binary)`, keyset on `ord`), its docs' bytes one a line. */
async function floorPage(
  client: pg.Client,
  after: string,
): Promise<{ count: number; lastOrd: string; lines: Buffer }> {
  const sql = `COPY (SELECT ord, doc::text FROM users WHERE ord > ${after} ORDER BY ord LIMIT ${floorPageSize}) TO STDOUT (FORMAT binary)`
  const bytes = Buffer.concat(await copyChunks(client, sql))
  // Header: 11-byte signature, flags, extension length. Rows: field count, then (length, bytes) per field.
  let at = 19 + bytes.readUInt32BE(15)
  const lines = Buffer.allocUnsafe(bytes.length)
  let length = 0
  let count = 0
  let lastOrd = after
  while (bytes.readInt16BE(at) !== -1) {
    lastOrd = bytes.readBigInt64BE(at + 6).toString()
    const docLength = bytes.readInt32BE(at + 14)
    length += bytes.copy(lines, length, at + 18, at + 18 + docLength)
    lines[length++] = 0x0a
    at += 18 + docLength
    count++
  }
  return { count, lastOrd, lines: lines.subarray(0, length) }
}
