import { pipeline } from 'node:stream/promises'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { from as copyFrom } from 'pg-copy-streams'
import type { PutKeys } from '../../domain/users/encoded-user.ts'
import type { PoolClient } from './pool.ts'

/**
 * Two ways to write a chunk's users in one statement's worth of work; a replaced user keeps its `ord` (its place in
 * scans) and new users take theirs in the chunk's order. The store uses `upsertByCopy`: measured by
 * bench/pg-user-commit.ts on a 100k-user tenant (two runs on a shared 2-core machine, medians of 7), a 2,000-user
 * chunk took 340–350 ms by COPY against 530–940 ms by unnest to insert (a bare COPY into `users`, the floor:
 * 315–435 ms), and 420–530 ms against 730–770 ms to replace. `upsertByUnnest` stays for that comparison. A chunk
 * of new users only takes `insertByCopy`, that bare COPY itself (issue 15: the store's part of a P1 import, its
 * lookup and commit, went from 1.4–2.2× to 1.0–1.8× the floor's COPY, same runs on a loaded 2-core machine).
 */

const upsert = `ON CONFLICT (user_id) DO UPDATE SET connection_id = EXCLUDED.connection_id, email = EXCLUDED.email,
  username = EXCLUDED.username, doc = EXCLUDED.doc, rev = EXCLUDED.rev`

/**
 * COPY into a temp table of the connection (made once per connection, emptied at each commit), then one
 * INSERT … SELECT from it. `docs[i]` is the JSON text of `puts[i]` without `rev`.
 */
export async function upsertByCopy(
  client: PoolClient,
  puts: readonly PutKeys[],
  docs: readonly string[],
  seq: string,
): Promise<void> {
  await client.query(
    `CREATE TEMP TABLE IF NOT EXISTS roster_chunk_users
       (n integer, user_id text, connection_id text, email text, username text, doc json) ON COMMIT DELETE ROWS`,
  )
  await pipeline(
    copyPieces(puts.length, (i) => `${i}\t${userFields(puts[i] as PutKeys, docs[i] as string)}\n`),
    client.query(copyFrom('COPY roster_chunk_users FROM STDIN')),
  )
  await client.query(
    `INSERT INTO users (user_id, connection_id, email, username, doc, rev)
     SELECT user_id, connection_id, email, username, doc, $1 FROM roster_chunk_users ORDER BY n ${upsert}`,
    [seq],
  )
}

/**
 * New users only: COPY straight into `users`, as the floor does (no temp table, no second pass over the rows). A
 * user that exists meanwhile (another replica inserted the same user_id, email or username since the plan's
 * lookup, committed or not) makes the COPY fail on the unique index, after waiting for that writer's transaction:
 * the commit ends in `store_conflict` (user-store-errors.ts) and the chunk is planned again; it never overwrites
 * nor duplicates a user.
 */
export async function insertByCopy(
  client: PoolClient,
  puts: readonly PutKeys[],
  docs: readonly string[],
  seq: string,
): Promise<void> {
  await pipeline(
    copyPieces(puts.length, (i) => `${userFields(puts[i] as PutKeys, docs[i] as string)}\t${seq}\n`),
    client.query(copyFrom('COPY users (user_id, connection_id, email, username, doc, rev) FROM STDIN')),
  )
}

/** user_id, connection_id, email, username and doc, as COPY text fields. */
function userFields(put: PutKeys, doc: string): string {
  return `${copyField(put.user_id)}\t${copyField(put.connection_id)}\t${copyField(put.email)}\t${
    put.username === undefined ? '\\N' : copyField(put.username)
  }\t${copyField(doc)}`
}

/**
 * `count` COPY lines in pieces of ~256 KB, the event loop let go between them: a chunk's ~1 MB of lines is not made
 * in one stretch (Slack's acks wait no longer than a piece), and the chunk is never one string twice its size.
 */
async function* copyPieces(count: number, line: (i: number) => string): AsyncGenerator<string> {
  let piece = ''
  for (let i = 0; i < count; i++) {
    piece += line(i)
    if (piece.length >= 1 << 18) {
      yield piece
      piece = ''
      await nextTurn()
    }
  }
  if (piece !== '') yield piece
}

/** All the puts as arrays, one parameter per column, in one INSERT … SELECT FROM unnest(…). */
export async function upsertByUnnest(
  client: PoolClient,
  puts: readonly PutKeys[],
  docs: readonly string[],
  seq: string,
): Promise<void> {
  await client.query(
    `INSERT INTO users (user_id, connection_id, email, username, doc, rev)
     SELECT u.user_id, u.connection_id, u.email, u.username, u.doc, $6
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::json[])
       WITH ORDINALITY AS u(user_id, connection_id, email, username, doc, n)
     ORDER BY u.n ${upsert}`,
    [
      puts.map((user) => user.user_id),
      puts.map((user) => user.connection_id),
      puts.map((user) => user.email),
      puts.map((user) => user.username ?? null),
      docs,
      seq,
    ],
  )
}

/** COPY's text format: backslash, tab, newline and carriage return escaped (`\N` alone would be NULL). */
export function copyField(value: string): string {
  return value.replace(/[\\\t\n\r]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r',
  )
}
