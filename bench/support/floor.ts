import { open, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type Connection, defaultUsernameLimits } from '../../src/domain/connections/connection.ts'
import { fastImportRow } from '../../src/domain/import/fast-import-row.ts'
import type { ImportRow } from '../../src/domain/import/import-row.ts'
import { inputLimits } from '../../src/domain/import/input-limits.ts'
import { deepNestingOffset } from '../../src/domain/import/json-depth.ts'
import { newUser } from '../../src/domain/import/plan-chunk.ts'
import { validateImportRow } from '../../src/domain/import/validate-row.ts'
import type { StoredUser } from '../../src/domain/users/user.ts'

/**
 * The floor of an import: the least work that leaves the same users valid and durable in the store's form, done the
 * fastest way Roster itself knows — read the file, check its nesting depth as Roster does before parsing (the
 * file-wide input limit that refuses a bracket bomb), JSON.parse it, validate each user exactly as Roster's import
 * does (`validateImportRow`: the hand-written `fastImportRow`, input limits included, and the zod schema only for the
 * rows it does not answer), make each stored user as Roster's planner does (`storedUsersOf`, what PostgreSQL's floor
 * makes too) and append them, one JSON.stringify, with one fsync. When Roster
 * finds a faster way to do part of this work, the floor gets it too (it calls the same function). What it leaves out
 * is Roster's own overhead, measured against it: the job record, normalizing, in-file duplicates, planning against
 * the store, the store's keys and index. Secret redaction applies to error report entries only, and the bench's
 * users are all valid: neither side does any. Returns milliseconds.
 *
 * Until issue 15's last session the floor appended the file's own bytes instead of the stored users: less work than
 * any import can do (a store must keep users, with their ids and timestamps, not the file they came in), so P1's
 * note still gives the ratio to that floor too (`fileBytesFloorMs`).
 */
export async function importFloorMs(dir: string, text: string): Promise<number> {
  const input = join(dir, 'floor-input.json')
  await writeFile(input, text)
  const start = performance.now()
  const users = storedUsersOf(
    parseChecked(await readFile(input, 'utf8')),
    floorConnection,
    new Date().toISOString(),
  )
  await appendDurably(join(dir, 'floor.jsonl'), `${JSON.stringify(users)}\n`)
  return performance.now() - start
}

/** The floor before issue 15's last session: the same reading and checks, then the file's own bytes appended. */
export async function fileBytesFloorMs(dir: string, text: string): Promise<number> {
  const input = join(dir, 'floor-input.json')
  await writeFile(input, text)
  const start = performance.now()
  const read = await readFile(input, 'utf8')
  validateAll(parseChecked(read))
  await appendDurably(join(dir, 'floor-bytes.jsonl'), read)
  return performance.now() - start
}

/** The floor's work in one line, for the notes of every scenario that uses it. */
export const importFloorWork =
  'read the file, check its nesting depth (Roster’s file-wide input limit), JSON.parse, validate every user as Roster’s import does (its hand-written fast path, input limits included; the zod schema only for the users that path does not answer), make each stored user as Roster’s planner does (id, connection, lower-cased email, Auth0’s defaults for email_verified, name and nickname, identities, timestamps, the row’s other fields) and append them (one JSON.stringify) with one fsync'

const floorConnection = 'con_floor000000000000'

/** The file's rows after the nesting check Roster makes before parsing (both stores' floors). */
export function parseChecked(text: string): unknown[] {
  // The array and the user object come on top of the limit, as in parseUsersFile.
  if (deepNestingOffset(text, inputLimits.fileMaxDepth + 2) >= 0)
    throw new Error('the generated file nests too deep')
  return JSON.parse(text) as unknown[]
}

function validRow(raw: unknown): ImportRow {
  const result = validateImportRow(raw, { usernameLimits: defaultUsernameLimits })
  if (!result.ok) throw new Error(`the generated user is invalid: ${JSON.stringify(result.errors)}`)
  return result.row
}

function validateAll(rows: readonly unknown[]): void {
  for (const raw of rows) validRow(raw)
}

/**
 * Each row validated as Roster's import validates it and made into the user a store keeps by Roster's own
 * `newUser` (plan-chunk.ts: Auth0's defaults for email_verified, name and nickname, the row's other defined fields):
 * the floors of both stores (PostgreSQL's COPYs them into `users`). Ids are the row's own or a counter's.
 */
export function storedUsersOf(
  rows: readonly unknown[],
  connectionId: string,
  now: string,
): Omit<StoredUser, 'rev'>[] {
  const connection: Connection = {
    id: connectionId,
    name: 'Username-Password-Authentication',
    strategy: 'auth0',
    enabled: true,
    created_at: now,
  }
  let next = 0
  const options = {
    upsert: false,
    merge: false,
    now,
    newUserId: () => `floor${(next++).toString(16).padStart(19, '0')}`,
  }
  return rows.map((raw) => {
    const row = validRow(raw)
    const userId = row.user_id === undefined ? undefined : `auth0|${row.user_id}`
    return newUser(row, connection, 'auth0', userId, options)
  })
}

async function appendDurably(file: string, data: string): Promise<void> {
  const handle = await open(file, 'a')
  try {
    await handle.writeFile(data)
    await handle.datasync()
  } finally {
    await handle.close()
  }
}

/** Share of a file's users that the fast path leaves to the zod schema (in Roster and in the floor alike). */
export function schemaShare(text: string): number {
  const rows = JSON.parse(text) as unknown[]
  const slow = rows.filter((row) => fastImportRow(row, defaultUsernameLimits) === undefined).length
  return rows.length === 0 ? 0 : slow / rows.length
}
