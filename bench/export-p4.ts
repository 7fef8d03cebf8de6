/**
 * P4 of the benchmark issue, early form: export a tenant of N users (default 100k and 1M) to each format through
 * the engine, reporting users/s and extra peak RSS, next to a floor measured in the same run: a bare streaming
 * writer of the same rows (JSON.stringify per user, written through the same fs stream, no engine).
 * `node --import tsx bench/export-p4.ts [sizes…]` — figures vary with the machine; this is not a test.
 */
import { createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { loadConfig } from '../src/config.ts'
import type { ExportFormat } from '../src/domain/export/format.ts'
import { silentLogger } from '../src/logger.ts'
import { openRoster } from '../src/roster.ts'
import { writeTenant } from './support/tenant.ts'

const sizes = process.argv.slice(2).map(Number)
const tenantSizes = sizes.length > 0 ? sizes : [100_000, 1_000_000]
const cases: { format: ExportFormat; gzip: boolean }[] = [
  { format: 'csv', gzip: false },
  { format: 'csv', gzip: true },
  { format: 'json', gzip: false },
  { format: 'ndjson', gzip: false },
]

/** Peak RSS above the level when sampling started. */
function rssSampler(): () => number {
  const base = process.memoryUsage().rss
  let peak = base
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss)
  }, 20)
  return () => {
    clearInterval(timer)
    peak = Math.max(peak, process.memoryUsage().rss)
    return peak - base
  }
}

const mb = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MB`

for (const size of tenantSizes) {
  const dir = await mkdtemp(join(tmpdir(), 'roster-p4-'))
  const config = loadConfig({ STORE_DIR: dir })
  let roster = await openRoster(config, { logger: silentLogger })
  const connection = roster.engine.listConnections()[0]?.id as string
  await roster.close()
  await writeTenant(join(dir, 'users'), connection, size)
  roster = await openRoster(config, { logger: silentLogger })
  roster.engine.start()

  // Floor: the same users, stringified and streamed to a file with nothing else in between.
  global.gc?.()
  let stop = rssSampler()
  let start = performance.now()
  const users = roster.engine.ctx.users.scan()
  async function* lines() {
    let piece = ''
    let n = 0
    for (const user of users) {
      piece += `${JSON.stringify(user)}\n`
      if (++n % 1000 === 0) {
        yield piece
        piece = ''
      }
    }
    yield piece
  }
  await pipeline(Readable.from(lines()), createWriteStream(join(dir, 'floor.ndjson')))
  const floorRate = size / ((performance.now() - start) / 1000)
  console.log(
    `tenant ${size.toLocaleString('en-US')}: floor ${Math.round(floorRate).toLocaleString('en-US')} users/s, +${mb(stop())}`,
  )

  for (const { format, gzip } of cases) {
    global.gc?.()
    stop = rssSampler()
    start = performance.now()
    const job = await roster.engine.requestExport({ format, gzip, requestedBy: { via: 'cli', id: 'bench' } })
    const done = await roster.engine.waitFor(job.id)
    const seconds = (performance.now() - start) / 1000
    const extra = stop()
    if (done.type !== 'users_export' || done.status !== 'completed')
      throw new Error(`export failed: ${done.statusDetails}`)
    const rate = (done.result?.users ?? 0) / seconds
    console.log(
      `  ${`${format}${gzip ? '+gzip' : ''}`.padEnd(9)} ${Math.round(rate).toLocaleString('en-US').padStart(9)} users/s ` +
        `(${(rate / floorRate).toFixed(2)}× floor), +${mb(extra)} RSS, file ${mb(done.result?.bytes ?? 0)}`,
    )
  }
  await roster.close()
  await rm(dir, { recursive: true, force: true })
}
