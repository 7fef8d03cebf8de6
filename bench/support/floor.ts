import { open, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { defaultUsernameLimits } from '../../src/domain/connections/connection.ts'
import { fastImportRow } from '../../src/domain/import/fast-import-row.ts'
import { inputLimits } from '../../src/domain/import/input-limits.ts'
import { deepNestingOffset } from '../../src/domain/import/json-depth.ts'
import { validateImportRow } from '../../src/domain/import/validate-row.ts'

/**
 * The floor of an import: the least work that leaves the same users valid and durable, done the fastest way Roster
 * itself knows — read the file, check its nesting depth as Roster does before parsing (the file-wide input limit that
 * refuses a bracket bomb), JSON.parse it, validate each user exactly as Roster's import does
 * (`validateImportRow`: the hand-written `fastImportRow`, input limits included, and the zod schema only for the rows
 * it does not answer), and append the file's bytes with one fsync. When Roster finds a faster way to do part of this
 * work, the floor gets it too (it calls the same function). What it leaves out is Roster's own overhead, measured
 * against it: the job record, normalizing, in-file duplicates, planning against the store, the store's encoding.
 * Secret redaction applies to error report entries only, and the bench's users are all valid: neither side does any.
 * Returns milliseconds.
 */
export async function importFloorMs(dir: string, text: string): Promise<number> {
  const input = join(dir, 'floor-input.json')
  await writeFile(input, text)
  const start = performance.now()
  const read = await readFile(input, 'utf8')
  // The array and the user object come on top of the limit, as in parseUsersFile.
  if (deepNestingOffset(read, inputLimits.fileMaxDepth + 2) >= 0)
    throw new Error('the generated file nests too deep')
  const rows = JSON.parse(read) as unknown[]
  for (const row of rows) {
    const result = validateImportRow(row, { usernameLimits: defaultUsernameLimits })
    if (!result.ok) throw new Error(`the generated user is invalid: ${JSON.stringify(result.errors)}`)
  }
  const handle = await open(join(dir, 'floor.jsonl'), 'a')
  try {
    await handle.writeFile(text)
    await handle.datasync()
  } finally {
    await handle.close()
  }
  return performance.now() - start
}

/** The floor's work in one line, for the notes of every scenario that uses it. */
export const importFloorWork =
  'read the file, check its nesting depth (Roster’s file-wide input limit), JSON.parse, validate every user as Roster’s import does (its hand-written fast path, input limits included; the zod schema only for the users that path does not answer), one fsync’d append of the file’s bytes'

/** Share of a file's users that the fast path leaves to the zod schema (in Roster and in the floor alike). */
export function schemaShare(text: string): number {
  const rows = JSON.parse(text) as unknown[]
  const slow = rows.filter((row) => fastImportRow(row, defaultUsernameLimits) === undefined).length
  return rows.length === 0 ? 0 : slow / rows.length
}
