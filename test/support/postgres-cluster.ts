import { execFile } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { chown, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import { delimiter, dirname, join, resolve } from 'node:path'
import { promisify } from 'node:util'

/**
 * A throwaway PostgreSQL cluster (initdb into a temp folder, its socket in that folder, a free port on 127.0.0.1),
 * shared by the tests' vitest globalSetup (test/support/postgres-global.ts) and the benchmark's `--store postgres`
 * (bench/support/postgres.ts). Nothing here knows about vitest.
 */

const run = promisify(execFile)
/** Clusters are in folders with this prefix; one left by a killed process is stopped by the next. */
const dirPrefix = 'roster-pg-'
/** Written in the folder: the process that owns the cluster. */
const ownerFile = 'owner.pid'

export const missingPostgresMessage =
  'no PostgreSQL server found (Debian package postgresql: apt-get install postgresql)'

export interface ClusterOptions {
  /**
   * true: PostgreSQL's default durability (fsync, synchronous commit, full page writes), for figures that mean
   * something (the benchmark). Default false: throwaway data, where durability costs time and buys nothing (tests).
   */
  durable?: boolean
  /** More server settings, `name=value` each (e.g. the bench's `shared_preload_libraries=pg_stat_statements`). */
  settings?: string[]
}

/** The PostgreSQL server binaries: the newest /usr/lib/postgresql/<version>/bin (Debian), else the folder of an `initdb` on PATH. */
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

export interface Cluster {
  url: string
  stop(): Promise<void>
}

/**
 * initdb refuses to run as root, so as root the cluster belongs to the `postgres` user (the Debian package makes
 * it) and every command runs through `runuser -u postgres --`. Locale C and trust auth: a fresh Debian has no
 * other locale generated, and the cluster listens only on 127.0.0.1 and a socket in its private folder.
 */
export async function startCluster(bin: string, settings: ClusterOptions = {}): Promise<Cluster> {
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
      ...(settings.durable ? [] : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off']),
      '-c max_connections=200',
      ...(settings.settings ?? []).map((setting) => `-c ${setting}`),
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
      'A PostgreSQL cluster made as root needs the user "postgres" (initdb refuses root): the Debian package postgresql makes it.',
    )
  }
}

export function freePort(): Promise<number> {
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
 * A run killed before its teardown leaves its cluster running. Its folder names the process that owned it:
 * when that process is gone, the cluster is stopped and the folder removed. Clusters of runs still alive (another
 * `vitest run` or bench on the same machine) are left alone.
 */
export async function stopAbandonedClusters(bin: string): Promise<void> {
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
