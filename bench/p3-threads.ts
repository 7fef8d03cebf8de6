import { readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../src/config.ts'
import { silentLogger } from '../src/logger.ts'
import { openRoster } from '../src/roster.ts'
import { importFloorMs } from './support/floor.ts'
import { importFile, makeTenantStore } from './support/generate.ts'
import { importDone, queueImport } from './support/roster.ts'

/**
 * P3's engine run with the import worker thread on ('busy', as shipped) and off, alternately, on a machine shared
 * with other work: wall time, and CPU time per file of the main thread, of the busiest other thread (the import
 * worker when on) and of all threads, beside the floor's own CPU time per file (Linux /proc: figures that hold
 * whatever the load, where wall time does not). With 2 cores, the engine can reach 1× its floor only if the main
 * thread's CPU per file and the worker's are each below the floor's, and all threads' below twice it.
 * `node --import tsx bench/p3-threads.ts [files] [rounds]`.
 */

const files = Number(process.argv[2] ?? 20)
const rounds = Number(process.argv[3] ?? 3)
const ticks = 100 // USER_HZ
function threadCpuMs(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticks
}
/** CPU ms of every thread of this process, by thread id. */
function threadsCpuMs(): Map<string, number> {
  const out = new Map<string, number>()
  for (const task of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${task}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      out.set(task, ((Number(fields[11]) + Number(fields[12])) * 1000) / ticks)
    } catch {}
  }
  return out
}
const processCpuMs = () => {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1000
}

const dir = await mkdtemp(join(tmpdir(), 'p3-threads-'))
const texts: { text: string; users: number }[] = []
let next = 0
for (let i = 0; i < files; i++) {
  const file = importFile(next)
  next = file.next
  texts.push(file)
}
const users = texts.reduce((sum, f) => sum + f.users, 0)
try {
  for (let round = 0; round < rounds; round++) {
    let floorMs = 0
    const floorCpu0 = processCpuMs()
    for (const f of texts) floorMs += await importFloorMs(dir, f.text)
    const floorCpu = (processCpuMs() - floorCpu0) / files
    const line = [
      `round ${round + 1}: floor ${(users / (floorMs / 1000)).toFixed(0)} users/s, CPU ${floorCpu.toFixed(1)} ms/file`,
    ]
    for (const mode of ['off', 'busy'] as const) {
      const store = await makeTenantStore(join(dir, `store-${round}-${mode}`), 0)
      const config = loadConfig({ STORE_DIR: store.storeDir, LOG_LEVEL: 'silent', BACKUP_CRON: 'off' })
      const roster = await openRoster(config, { logger: silentLogger, importWorker: mode })
      roster.engine.start()
      await roster.engine.warmImports()
      const start = performance.now()
      const main0 = threadCpuMs()
      const all0 = processCpuMs()
      const threads0 = threadsCpuMs()
      // Requested at once, as P3 does (files dropped together into Slack).
      const ids = await Promise.all(
        texts.map((f, i) => queueImport(roster, store.connection, Buffer.from(f.text), `u-${i}.json`)),
      )
      for (const [i, id] of ids.entries()) await importDone(roster, id, texts[i]?.users ?? 0)
      const wall = performance.now() - start
      const main = threadCpuMs() - main0
      const all = processCpuMs() - all0
      const others = [...threadsCpuMs()]
        .filter(([task]) => task !== String(process.pid))
        .map(([task, ms]) => ms - (threads0.get(task) ?? 0))
      const busiestOther = Math.max(0, ...others)
      await roster.close()
      line.push(
        `${mode}: ${(users / (wall / 1000)).toFixed(0)} users/s (${(wall / floorMs).toFixed(2)}× floor time), CPU per file: main thread ${(main / files).toFixed(1)} ms, busiest other thread ${(busiestOther / files).toFixed(1)} ms, all ${(all / files).toFixed(1)} ms`,
      )
    }
    console.log(
      `${line.join(' | ')} | floor ${floorMs.toFixed(0)} ms | load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
    )
  }
} finally {
  await rm(dir, { recursive: true, force: true })
}
