import { open, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { validateImportRow } from '../../src/domain/import/validate-row.ts'

/**
 * The floor of an import: what any importer must do with the file at least — read it, JSON.parse it, validate each
 * user with the same zod schema, and append its bytes durably (one fsync'd append). Returns milliseconds.
 */
export async function importFloorMs(dir: string, text: string): Promise<number> {
  const input = join(dir, 'floor-input.json')
  await writeFile(input, text)
  const start = performance.now()
  const rows = JSON.parse(await readFile(input, 'utf8')) as unknown[]
  for (const row of rows) {
    const result = validateImportRow(row, { usernameLimits: { min: 1, max: 15 } })
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
