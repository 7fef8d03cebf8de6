import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from '../../test/support/postgres-cluster.ts'
import { processRss } from './rss.ts'

/**
 * A Roster replica for the bench: `node --import tsx src/main.ts` (what `npm start` runs) or, `built`,
 * `node dist/main.js` (what `npm run start:built` runs after `npm run build`) on a PostgreSQL database, with a
 * STORE_DIR of its own and a free port, as a second machine behind a load balancer would run it.
 */

const repoRoot = fileURLToPath(new URL('../..', import.meta.url))

/** How a replica is started: from the sources through tsx, or from the bundle `npm run build` made. */
export type ReplicaCommand = 'source' | 'built'

export const replicaArgs: Record<ReplicaCommand, string[]> = {
  source: ['--import', 'tsx', 'src/main.ts'],
  built: ['dist/main.js'],
}

/** `npm run build` (scripts/build.ts): dist/main.js from the current sources. */
export async function buildReplica(): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/build.ts'], {
    cwd: repoRoot,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    stderr += text
  })
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
  if (code !== 0) throw new Error(`npm run build failed (exit ${code}): ${stderr.slice(0, 500)}`)
}

export interface Replica {
  pid: number
  port: number
  /** Seconds from spawn to the first GET /healthz 200. */
  startSeconds: number
  /** Peak and current RSS (MB) when it first answered. */
  peakMb: number
  rssMb: number
  stop(): Promise<void>
}

async function healthy(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200
  } catch {
    return false
  }
}

function stopper(child: ChildProcess, gone: Promise<void>, exited: () => boolean) {
  return async () => {
    if (!exited()) child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    await gone
    clearTimeout(timer)
  }
}

export async function startReplica(
  dir: string,
  databaseUrl: string,
  env: Record<string, string> = {},
  command: ReplicaCommand = 'source',
): Promise<Replica> {
  const storeDir = await mkdtemp(join(dir, 'replica-'))
  const port = await freePort()
  const start = performance.now()
  const child = spawn(process.execPath, replicaArgs[command], {
    cwd: repoRoot,
    env: {
      DATABASE_URL: databaseUrl,
      STORE_DIR: storeDir,
      PORT: String(port),
      LOG_LEVEL: 'silent',
      BACKUP_CRON: 'off',
      PATH: process.env.PATH ?? '',
      ...env,
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
  const stop = stopper(child, gone, () => exited)
  const pid = child.pid as number
  try {
    const deadline = Date.now() + 120_000
    for (;;) {
      if (exited) throw new Error(`the replica exited before serving: ${stderr.slice(0, 500)}`)
      if (Date.now() > deadline) throw new Error('the replica did not serve within 120 s')
      if (await healthy(port)) break
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  } catch (error) {
    await stop()
    throw error
  }
  const startSeconds = (performance.now() - start) / 1000
  const rss = await processRss(pid)
  return {
    pid,
    port,
    startSeconds,
    peakMb: (rss?.peak ?? Number.NaN) / 1048576,
    rssMb: (rss?.current ?? Number.NaN) / 1048576,
    stop,
  }
}
