import { spawn } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadConfig } from '../../src/config.ts'
import { silentLogger } from '../../src/logger.ts'
import { openRoster } from '../../src/roster.ts'
import { count, type Scenario } from '../support/context.ts'
import type { TenantStore } from '../support/generate.ts'
import type { Row } from '../support/report.ts'
import { processRss } from '../support/rss.ts'
import { summarize } from '../support/stats.ts'

/**
 * P6: start-up with a 1M-user store: `node --import tsx src/main.ts` (what `npm start` runs) spawned on the store,
 * timed from spawn until GET /healthz answers 200; the child's RSS from /proc. Floor: reading the store's bytes
 * (every file under users/, the snapshot and its journal) in this process.
 */

const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
const targetS = 5

interface Start {
  seconds: number
  peakMb: number
  rssMb: number
}

async function lockPort(storeDir: string, pid: number): Promise<number | undefined> {
  try {
    const lock = JSON.parse(await readFile(join(storeDir, 'roster.lock'), 'utf8')) as {
      pid?: number
      port?: number
    }
    return lock.pid === pid ? lock.port : undefined
  } catch {
    return undefined
  }
}

async function healthy(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200
  } catch {
    return false
  }
}

async function startOnce(store: TenantStore): Promise<Start> {
  const start = performance.now()
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: repoRoot,
    env: {
      STORE_DIR: store.storeDir,
      PORT: '0',
      LOG_LEVEL: 'silent',
      BACKUP_CRON: 'off',
      PATH: process.env.PATH ?? '',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    stderr += text
  })
  let exited = false
  const gone = new Promise<void>((resolve) =>
    child.once('close', () => {
      exited = true
      resolve()
    }),
  )
  const pid = child.pid as number
  try {
    const deadline = Date.now() + 120_000
    for (;;) {
      if (exited) throw new Error(`the server exited before serving: ${stderr.slice(0, 500)}`)
      if (Date.now() > deadline) throw new Error('the server did not serve within 120 s')
      const port = await lockPort(store.storeDir, pid)
      if (port !== undefined && (await healthy(port))) break
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    const seconds = (performance.now() - start) / 1000
    const rss = await processRss(pid)
    return {
      seconds,
      peakMb: (rss?.peak ?? Number.NaN) / 1048576,
      rssMb: (rss?.current ?? Number.NaN) / 1048576,
    }
  } finally {
    if (!exited) child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    await gone
    clearTimeout(timer)
  }
}

async function readStoreMs(store: TenantStore): Promise<number> {
  const dir = join(store.storeDir, 'users')
  const start = performance.now()
  for (const name of await readdir(dir)) await readFile(join(dir, name))
  return performance.now() - start
}

/** Opening the store in this process (no spawn, no HTTP): the store's own share of start-up. */
async function openStoreMs(store: TenantStore): Promise<number> {
  const start = performance.now()
  const roster = await openRoster(loadConfig({ STORE_DIR: store.storeDir, LOG_LEVEL: 'silent' }), {
    logger: silentLogger,
  })
  const ms = performance.now() - start
  await roster.close()
  return ms
}

export const p6: Scenario = {
  id: 'P6',
  title: 'start-up with a 1M-user store',
  async run(ctx) {
    const users = ctx.quick ? 50_000 : 1_000_000
    const runs = ctx.quick ? 2 : 3
    const empty = await ctx.tenant(0)
    const store = await ctx.tenant(users)
    const emptyStart = await startOnce(empty)
    const starts: Start[] = []
    const floors: number[] = []
    for (let run = 0; run < runs; run++) {
      floors.push((await readStoreMs(store)) / 1000)
      starts.push(await startOnce(store))
    }
    const openMs = await openStoreMs(store)
    const seconds = summarize(starts.map((s) => s.seconds))
    const floor = summarize(floors)
    ctx.log(
      `  P6 ${count(users)} users: serving after ${seconds.median.toFixed(2)} s, floor ${floor.median.toFixed(2)} s`,
    )
    const rows: Row[] = [
      {
        label: `${count(users)} users: spawn → /healthz 200`,
        unit: 's',
        value: seconds,
        floor,
        ratio: seconds.median / floor.median,
        target: `≤ ${targetS} s`,
        met: seconds.median <= targetS,
      },
      {
        label: `${count(users)} users: peak RSS of the server`,
        unit: 'MB',
        value: summarize(starts.map((s) => s.peakMb)),
      },
      { label: 'empty store: spawn → /healthz 200', unit: 's', value: summarize([emptyStart.seconds]) },
    ]
    const notes = [
      `Floor: readFile of every file under users/ (snapshot and journal, page cache warm, as it is for the server). Where start-up goes: Node, tsx and loading the modules (an empty store) ${emptyStart.seconds.toFixed(2)} s; opening the ${count(users)}-user store in-process (openRoster, one run) ${(openMs / 1000).toFixed(2)} s. Peak RSS with an empty store: ${emptyStart.peakMb.toFixed(0)} MB.`,
    ]
    return { rows, notes }
  },
}
