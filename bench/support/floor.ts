import { open, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { validateWithSchema } from '../../src/domain/import/validate-row.ts'

/**
 * The floor of an import: what any importer must do with the file at least — read it, JSON.parse it, validate each
 * user against the import schema (the zod schema itself, as the floor says; Roster's own validation answers
 * plain valid rows with a faster hand-written check, which must not lower the bar it is measured against), and
 * append its bytes durably (one fsync'd append). Returns milliseconds.
 */
export async function importFloorMs(dir: string, text: string): Promise<number> {
  const input = join(dir, 'floor-input.json')
  await writeFile(input, text)
  const start = performance.now()
  const rows = JSON.parse(await readFile(input, 'utf8')) as unknown[]
  for (const row of rows) {
    const result = validateWithSchema(row, { usernameLimits: { min: 1, max: 15 } })
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
