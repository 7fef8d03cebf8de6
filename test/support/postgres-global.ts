import { execFile } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { chown, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import { delimiter, dirname, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import type { TestProject } from 'vitest/node'

/**
 * vitest globalSetup: ONE throwaway PostgreSQL cluster per `vitest run` (initdb into a temp folder, its socket in
 * that folder, a free port on 127.0.0.1), its base URL `provide`d as `postgresUrl`. Each test file makes its own
 * database in it (test/support/postgres.ts). Without PostgreSQL binaries nothing is provided, the PostgreSQL tests
 * skip, and this says so once. Binaries that exist but cannot start a cluster fail the run: CI must never skip
 * them silently.
 */

declare module 'vitest' {
  export interface ProvidedContext {
    /** `postgres://postgres@127.0.0.1:<port>` (no database), or undefined when PostgreSQL is not installed. */
    postgresUrl: string | undefined
    /**
     * Why there is a cluster or not: `started`; `missing`, no PostgreSQL installed (the tests skip); `unneeded`,
     * no test file of the run imports test/support/postgres.ts (one that reaches it through another module fails).
     */
    postgresStatus: 'started' | 'missing' | 'unneeded'
  }
}

const run = promisify(execFile)
const skipMessage =
  'PostgreSQL tests skipped: no PostgreSQL server found (Debian package postgresql: apt-get install postgresql)'
/** Clusters of this run are in folders with this prefix; one left by a killed run is stopped by the next. */
const dirPrefix = 'roster-pg-'
/** Written in the folder: the vitest process that owns the cluster. */
const ownerFile = 'owner.pid'

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (!(await someFileImportsPostgresSupport(project))) {
    project.provide('postgresUrl', undefined)
    project.provide('postgresStatus', 'unneeded')
    return undefined
  }
  const bin = findBinaries()
  if (bin === undefined) {
    process.stdout.write(`\n${skipMessage}\n\n`)
    project.provide('postgresUrl', undefined)
    project.provide('postgresStatus', 'missing')
    return undefined
  }
  await stopAbandonedClusters(bin)
  const cluster = await startCluster(bin)
  project.provide('postgresUrl', cluster.url)
  project.provide('postgresStatus', 'started')
  return cluster.stop
}

/**
 * Whether any test file of this run imports test/support/postgres.ts (its text holds `support/postgres`): runs of
 * other files (`vitest run test/unit`) start no cluster and say nothing about one. The files are the ones vitest
 * selected (its filters, else every file); if that cannot be told, the cluster starts.
 */
async function someFileImportsPostgresSupport(project: TestProject): Promise<boolean> {
  try {
    const vitest = project.vitest as TestProject['vitest'] & { filenamePattern?: string[] }
    const specifications = await vitest.getRelevantTestSpecifications(vitest.filenamePattern)
    for (const specification of specifications) {
      if ((await readFile(specification.moduleId, 'utf8')).includes('support/postgres')) return true
    }
    return false
  } catch {
    return true
  }
}

/** The newest /usr/lib/postgresql/<version>/bin (Debian), else the folder of an `initdb` on PATH. */
export function findBinaries(): string | undefined {
  const debian = '/usr/lib/postgresql'
  if (existsSync(debian)) {
    const versions = readdirNumbers(debian)
      .map((version) => join(debian, String(version), 'bin'))
      .filter((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')))
    if (versions.length > 0) return versions[0]
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir
  }
  return undefined
}

function readdirNumbers(dir: string): number[] {
  try {
    return readdirSync(dir)
      .filter((name) => /^\d+(\.\d+)?$/.test(name))
      .map(Number)
      .sort((a, b) => b - a)
  } catch {
    return []
  }
}

interface Cluster {
  url: string
  stop(): Promise<void>
}

/**
 * initdb refuses to run as root, so as root the cluster belongs to the `postgres` user (the Debian package makes
 * it) and every command runs through `runuser -u postgres --`. Locale C and trust auth: a fresh Debian has no
 * other locale generated, and the cluster listens only on 127.0.0.1 and a socket in its private folder.
 */
async function startCluster(bin: string): Promise<Cluster> {
  const asRoot = userInfo().uid === 0
  const owner = asRoot ? await postgresUser() : undefined
  const dir = await mkdtemp(join(clusterParent(asRoot), dirPrefix))
  await writeFile(join(dir, ownerFile), String(process.pid))
  if (owner) await chown(dir, owner.uid, owner.gid)
  const as = (command: string, args: string[]) =>
    asRoot
      ? run('runuser', ['-u', 'postgres', '--', join(bin, command), ...args], { cwd: dir })
      : run(join(bin, command), args, { cwd: dir })
  const data = join(dir, 'data')
  const log = join(dir, 'postgres.log')
  try {
    await as('initdb', [
      '-D',
      data,
      '-U',
      'postgres',
      '--auth=trust',
      '--locale=C',
      '-E',
      'UTF8',
      '--no-sync',
      '--no-instructions',
    ])
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw new Error(`initdb (${bin}) failed: ${output(error)}`)
  }
  // A free port can be taken by another process between finding and binding it: try a few.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    const options = [
      `-p ${port}`,
      '-h 127.0.0.1',
      `-k ${dir}`,
      // Throwaway data: durability costs time and buys nothing here.
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
      '-c max_connections=200',
    ].join(' ')
    const stop = async () => {
      await as('pg_ctl', ['stop', '-m', 'immediate', '-D', data]).catch(() => undefined)
      await rm(dir, { recursive: true, force: true })
    }
    await rm(log, { force: true })
    try {
      await as('pg_ctl', ['start', '-w', '-t', '30', '-D', data, '-l', log, '-o', options])
      return { url: `postgres://postgres@127.0.0.1:${port}`, stop }
    } catch (error) {
      const text = await readFile(log, 'utf8').catch(() => '')
      if (attempt < 4 && /could not bind|address already in use/i.test(text)) continue
      // pg_ctl may have given up waiting on a server that still starts: stop it before removing its folder.
      await stop()
      throw new Error(`PostgreSQL (${bin}) did not start: ${output(error)}\n${text.slice(-2000)}`)
    }
  }
}

/**
 * Where cluster folders go: the OS temp dir, unless the `postgres` user could not reach it (root's TMPDIR under
 * /root, mode 0700): then /tmp.
 */
function clusterParent(asRoot: boolean): string {
  const base = tmpdir()
  if (!asRoot) return base
  let dir = resolve(base)
  for (;;) {
    try {
      // Others need search (x) permission on every folder on the way for postgres to reach its own.
      if ((statSync(dir).mode & 0o001) === 0) return '/tmp'
    } catch {
      return '/tmp'
    }
    const parent = dirname(dir)
    if (parent === dir) return base
    dir = parent
  }
}

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  try {
    const [{ stdout: uid }, { stdout: gid }] = await Promise.all([
      run('id', ['-u', 'postgres']),
      run('id', ['-g', 'postgres']),
    ])
    return { uid: Number(uid.trim()), gid: Number(gid.trim()) }
  } catch {
    throw new Error(
      'PostgreSQL tests run as root need the user "postgres" (initdb refuses root): the Debian package postgresql makes it.',
    )
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()))
    })
  })
}

/**
 * A run killed before its teardown leaves its cluster running. Its folder names the vitest process that owned it:
 * when that process is gone, the cluster is stopped and the folder removed. Clusters of runs still alive (another
 * `vitest run` on the same machine) are left alone.
 */
async function stopAbandonedClusters(bin: string): Promise<void> {
  const base = clusterParent(userInfo().uid === 0)
  const names = await readdir(base).catch(() => [] as string[])
  for (const name of names.filter((entry) => entry.startsWith(dirPrefix))) {
    const dir = join(base, name)
    const pid = Number(await readFile(join(dir, ownerFile), 'utf8').catch(() => ''))
    if (!Number.isInteger(pid) || pid <= 0 || isAlive(pid)) continue
    const data = join(dir, 'data')
    if (existsSync(join(data, 'postmaster.pid'))) {
      const args = ['stop', '-m', 'immediate', '-D', data]
      await (userInfo().uid === 0
        ? run('runuser', ['-u', 'postgres', '--', join(bin, 'pg_ctl'), ...args])
        : run(join(bin, 'pg_ctl'), args)
      ).catch(() => undefined)
    }
    await rm(dir, { recursive: true, force: true }).catch(() => undefined)
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function output(error: unknown): string {
  const e = error as { stderr?: string; message?: string }
  return (e.stderr?.trim() || e.message || String(error)).slice(-2000)
}
