/**
 * P1 of the benchmark issue, early form: one ~500 KB users file imported through the engine (request → durable
 * completion) into tenants of 0, 100k and 1M users, against the floor measured in the same run (read + JSON.parse +
 * row validation + one fsync'd append of the same bytes). Also times opening each store (start-up).
 * `node --import tsx bench/import-p1.ts [sizes…]` — figures vary with the machine; this is not a test.
 */
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../src/config.ts'
import { validateImportRow } from '../src/domain/import/validate-row.ts'
import { silentLogger } from '../src/logger.ts'
import { openRoster } from '../src/roster.ts'
import { row, writeTenant } from './support/tenant.ts'

const sizes = process.argv.slice(2).map(Number)
const tenantSizes = sizes.length > 0 ? sizes : [0, 100_000, 1_000_000]
const runs = Number(process.env.RUNS ?? 5)
/** A file of about 500 KB starting at user `from`. */
function importFile(from: number): string {
  const rows = []
  let bytes = 2
  for (let n = from; bytes < 500_000; n++) {
    const r = row(n)
    bytes += JSON.stringify(r).length + 1
    rows.push(r)
  }
  return JSON.stringify(rows)
}

async function floorMs(dir: string, text: string): Promise<number> {
  const path = join(dir, 'floor-input.json')
  await writeFile(path, text)
  const start = performance.now()
  const rows = JSON.parse(await readFile(path, 'utf8')) as unknown[]
  for (const r of rows) validateImportRow(r, { usernameLimits: { min: 1, max: 15 } })
  const handle = await open(join(dir, 'floor.jsonl'), 'a')
  await handle.writeFile(text)
  await handle.datasync()
  await handle.close()
  return performance.now() - start
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number

for (const size of tenantSizes) {
  const dir = await mkdtemp(join(tmpdir(), 'roster-p1-'))
  const config = loadConfig({ STORE_DIR: dir })
  let roster = await openRoster(config, { logger: silentLogger })
  const connection = roster.engine.listConnections()[0]?.id as string
  await roster.close()
  await writeTenant(join(dir, 'users'), connection, size)
  const openStart = performance.now()
  roster = await openRoster(config, { logger: silentLogger })
  const openMs = performance.now() - openStart
  roster.engine.start()
  const imports: number[] = []
  const floors: number[] = []
  for (let run = 0; run < runs; run++) {
    const text = importFile(run * 10_000)
    floors.push(await floorMs(dir, text))
    const start = performance.now()
    const job = await roster.engine.requestImport({
      connection,
      fileName: 'users.json',
      bytes: Buffer.from(text),
      options: { upsert: false, merge: false, dryRun: false, sendCompletionEmail: false },
      requestedBy: { via: 'cli', id: 'bench' },
    })
    const done = await roster.engine.waitFor(job.id)
    imports.push(performance.now() - start)
    if (done.type !== 'users_import' || done.summary?.inserted === 0) throw new Error('nothing imported')
  }
  const users = roster.engine.countUsers()
  await roster.close()
  await rm(dir, { recursive: true, force: true })
  const ratio = median(imports) / median(floors)
  console.log(
    `tenant ${size.toLocaleString('en-US').padStart(9)}: open ${openMs.toFixed(0)} ms, import median ${median(imports).toFixed(0)} ms ` +
      `(range ${Math.min(...imports).toFixed(0)}–${Math.max(...imports).toFixed(0)}), floor median ${median(floors).toFixed(0)} ms, ` +
      `ratio ${ratio.toFixed(2)}, users after ${users.toLocaleString('en-US')}`,
  )
}
