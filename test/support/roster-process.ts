import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Roster as real child processes — the server (`npm start`) and the CLI — for tests that kill them with SIGKILL.
 * Every child is tracked: `killChildren()` (call it in afterEach) leaves nothing running, and every wait has a
 * timeout, so a test that goes wrong fails with the child's output instead of hanging.
 */

export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)))
export const defaultConnection = 'Username-Password-Authentication'

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface CliResult extends Exit {
  stdout: string
  stderr: string
}

/** Running children, with the promise of their exit. */
const live = new Map<ChildProcess, Promise<Exit>>()

/** SIGKILLs every child still running, waits until each has exited, and removes their output files. */
export async function killChildren(): Promise<void> {
  const running = [...live]
  live.clear()
  await Promise.all(
    running.map(async ([child, exited]) => {
      child.kill('SIGKILL')
      await exited
    }),
  )
  if (outputDir !== undefined) rmSync(outputDir, { recursive: true, force: true })
  outputDir = undefined
}

/**
 * The environment of a child: only what Roster's configuration needs, so a developer's own SLACK_… or SMTP_URL
 * never leaks into a test. PORT=0: the server takes any free port and records it in the lock file.
 */
function childEnv(storeDir: string, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    STORE_DIR: storeDir,
    PORT: '0',
    LOG_LEVEL: 'silent',
    IMPORT_MAX_BYTES: '50000000',
    ...extra,
  }
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'USER']) {
    const value = process.env[key]
    if (value !== undefined) env[key] = value
  }
  return env
}

interface Spawned {
  child: ChildProcess
  pid: number
  exited: Promise<Exit>
  stdout(): string
  stderr(): string
}

let outputDir: string | undefined
let outputs = 0

/**
 * A file for a child's stdout. Not a pipe: the CLI calls process.exit() right after writing, and Node drops
 * whatever a pipe had not yet taken (a big `--json` report comes out cut at 64 KB); a file takes it all.
 */
function outputFile(): string {
  outputDir ??= mkdtempSync(join(tmpdir(), 'roster-out-'))
  outputs += 1
  return join(outputDir, `stdout-${outputs}.txt`)
}

function spawnTs(
  entry: string,
  args: readonly string[],
  storeDir: string,
  env: Record<string, string>,
): Spawned {
  const stdoutFile = outputFile()
  const stdoutFd = openSync(stdoutFile, 'w')
  let child: ChildProcess
  try {
    child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
      cwd: repoRoot,
      env: childEnv(storeDir, env),
      stdio: ['ignore', stdoutFd, 'pipe'],
    })
  } finally {
    closeSync(stdoutFd)
  }
  if (child.pid === undefined) throw new Error(`could not spawn ${entry}`)
  let stdout = ''
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    stderr += text
  })
  const exited = new Promise<Exit>((done) => {
    // 'close' rather than 'exit': by then stderr is fully read.
    child.once('close', (code, signal) => {
      live.delete(child)
      stdout = readFileSync(stdoutFile, 'utf8')
      rmSync(stdoutFile, { force: true })
      done({ code, signal })
    })
  })
  live.set(child, exited)
  return { child, pid: child.pid, exited, stdout: () => stdout, stderr: () => stderr }
}

/** Resolves with `exited` unless it takes longer than `timeoutMs`; then SIGKILLs the child and rejects. */
async function within<T>(what: string, spawned: Spawned, promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      spawned.child.kill('SIGKILL')
      reject(
        new Error(
          `${what} did not finish within ${timeoutMs} ms.\nstdout: ${spawned.stdout()}\nstderr: ${spawned.stderr()}`,
        ),
      )
    }, timeoutMs)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Calls `probe` until it returns something other than undefined, at most `timeoutMs`. For waiting on the world
 * (a file, a port, a job state) without sleeping a fixed amount.
 */
export async function poll<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  { timeoutMs = 15_000, intervalMs = 10 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((done) => setTimeout(done, intervalMs))
  }
}

export interface LockFile {
  pid: number
  port?: number
  controlToken?: string
}

/** The store's lock file, or undefined if there is none (or it is being replaced right now). */
export async function readLockFile(storeDir: string): Promise<LockFile | undefined> {
  try {
    return JSON.parse(await readFile(join(storeDir, 'roster.lock'), 'utf8')) as LockFile
  } catch {
    return undefined
  }
}

export interface ServerProcess {
  pid: number
  port: number
  storeDir: string
  exited: Promise<Exit>
  stderr(): string
  /** GET /healthz. */
  health(): Promise<{ ok: boolean; store: { users: number }; queue: { pending: number; processing: number } }>
  /** kill -9, and wait until the process is gone. */
  kill9(): Promise<Exit>
  /** SIGTERM (a clean shutdown: jobs reach a checkpoint, the lock is released); SIGKILL if it takes too long. */
  stop(timeoutMs?: number): Promise<Exit>
}

/** Starts a server process without waiting for it: for tests where it is expected to refuse to start. */
export function spawnServer(storeDir: string, env: Record<string, string> = {}): Spawned {
  return spawnTs('src/main.ts', [], storeDir, env)
}

/**
 * Starts `npm start` on `storeDir` and resolves once it serves: its own pid and port are in the lock file and
 * /healthz answers. Rejects with its stderr if it exits first or is not serving within `timeoutMs`.
 */
export async function startServer(
  storeDir: string,
  { env = {}, timeoutMs = 20_000 }: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<ServerProcess> {
  const spawned = spawnServer(storeDir, env)
  let gone: Exit | undefined
  void spawned.exited.then((exit) => {
    gone = exit
  })
  const health = async (port: number) => {
    const response = await fetch(`http://127.0.0.1:${port}/healthz`)
    if (!response.ok) throw new Error(`/healthz answered ${response.status}`)
    return (await response.json()) as Awaited<ReturnType<ServerProcess['health']>>
  }
  const port = await poll(
    `the server on ${storeDir} to serve`,
    async () => {
      if (gone !== undefined) {
        throw new Error(`the server exited (${JSON.stringify(gone)}) before serving:\n${spawned.stderr()}`)
      }
      const lock = await readLockFile(storeDir)
      if (lock?.pid !== spawned.pid || lock.port === undefined) return undefined
      return health(lock.port).then(
        () => lock.port,
        () => undefined,
      )
    },
    { timeoutMs, intervalMs: 25 },
  ).catch(async (error: unknown) => {
    spawned.child.kill('SIGKILL')
    await spawned.exited
    throw error
  })
  return {
    pid: spawned.pid,
    port,
    storeDir,
    exited: spawned.exited,
    stderr: spawned.stderr,
    health: () => health(port),
    async kill9() {
      spawned.child.kill('SIGKILL')
      return within('the killed server', spawned, spawned.exited, 10_000)
    },
    async stop(stopTimeoutMs = 15_000) {
      spawned.child.kill('SIGTERM')
      return within('the server shutdown', spawned, spawned.exited, stopTimeoutMs)
    },
  }
}

export interface CliProcess {
  pid: number
  /** Resolves when the CLI exits, with what it printed. */
  result: Promise<CliResult>
}

/** Starts `roster <args>` on `storeDir` without waiting for it. */
export function startCli(
  storeDir: string,
  args: readonly string[],
  { timeoutMs = 30_000 }: { timeoutMs?: number } = {},
): CliProcess {
  const spawned = spawnTs('src/adapters/cli/main.ts', args, storeDir, {})
  const result = within(
    `roster ${args.join(' ')}`,
    spawned,
    spawned.exited.then((exit) => ({ ...exit, stdout: spawned.stdout(), stderr: spawned.stderr() })),
    timeoutMs,
  )
  // A caller that only kills the CLI's server may never await the result: not an unhandled rejection.
  result.catch(() => undefined)
  return { pid: spawned.pid, result }
}

/** Runs `roster <args>` on `storeDir` to the end. */
export function runCli(
  storeDir: string,
  args: readonly string[],
  options: { timeoutMs?: number } = {},
): Promise<CliResult> {
  return startCli(storeDir, args, options).result
}

/** Runs `roster <args> --json`, expects one of `exitCodes`, and returns the parsed output. */
export async function cliJson<T = Record<string, unknown>>(
  storeDir: string,
  args: readonly string[],
  exitCodes: readonly number[] = [0],
): Promise<T> {
  const result = await runCli(storeDir, [...args, '--json'])
  if (result.code === null || !exitCodes.includes(result.code)) {
    throw new Error(
      `roster ${args.join(' ')} exited ${result.code ?? result.signal} (expected ${exitCodes.join(' or ')})\n` +
        `stdout: ${result.stdout}\nstderr: ${result.stderr}`,
    )
  }
  return JSON.parse(result.stdout) as T
}
