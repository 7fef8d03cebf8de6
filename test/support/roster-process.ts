import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Roster as real child processes — the server (`npm start`) and the CLI — for tests that kill them with SIGKILL.
 * A `RosterProcesses` group tracks the children it started: `killAll()` (in afterEach, or onTestFinished for
 * concurrent tests) leaves none of them running, and every wait has a timeout, so a test that goes wrong fails with
 * the child's output instead of hanging.
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

export interface Health {
  ok: boolean
  store: { dir: string; users: number }
  queue: { pending: number; processing: number }
  /** The directory in use (issue 13): the embedded store, or the Auth0 tenant and whether it answers. */
  directory?:
    | { kind: 'embedded' }
    | { kind: 'auth0'; domain: string; reachable: boolean; [key: string]: unknown }
}

export interface ServerProcess {
  pid: number
  port: number
  exited: Promise<Exit>
  stderr(): string
  /** GET /healthz on 127.0.0.1. */
  health(): Promise<Health>
  /** kill -9, and wait until the process is gone. */
  kill9(): Promise<Exit>
  /** SIGTERM (a clean shutdown: jobs reach a checkpoint, the lock is released), with a timeout. */
  stop(timeoutMs?: number): Promise<Exit>
}

export interface Spawned {
  child: ChildProcess
  pid: number
  exited: Promise<Exit>
  stdout(): string
  stderr(): string
}

/**
 * Calls `probe` until it returns something other than undefined, at most `timeoutMs` (generous: a busy CI host
 * only makes a failure slower to report, never a pass slower). For waiting on the world
 * (a file, a port, a job state) without sleeping a fixed amount.
 */
export async function poll<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  { timeoutMs = 60_000, intervalMs = 10 }: { timeoutMs?: number; intervalMs?: number } = {},
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
  startedAt: string
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

export async function getHealth(port: number): Promise<Health> {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`)
  if (!response.ok) throw new Error(`/healthz answered ${response.status}`)
  return (await response.json()) as Health
}

/**
 * The environment of a child: only what Roster's configuration needs, so a developer's own SLACK_… or SMTP_URL
 * never leaks into a test. PORT=0: the server takes any free port and records it in the lock file.
 */
/**
 * Settings whose empty value means "unset". Roster reads `.env` from its working directory, and children started in
 * the repository would read a developer's own `.env` there (a real SLACK_BOT_TOKEN, an SMTP server): these are set
 * empty for them, and the environment wins over the file.
 */
const blankedInRepo = [
  'SLACK_BOT_TOKEN',
  'SLACK_SIGNING_SECRET',
  'SLACK_APP_TOKEN',
  'SLACK_ADMINS',
  'SMTP_URL',
  'DATABASE_URL',
  'PUBLIC_URL',
  'TENANT_NAME',
  'TENANT_OWNERS',
  'API_RATE_LIMIT',
  'API_TENANT_RATE_LIMIT',
  'API_FAULTS',
  'FAULT_PAUSE_AFTER_CHUNK',
  'FAULT_PAUSE_AFTER_TENANT_PART',
  // A developer's .env may point at a real tenant: a test child reaches one only when the test passes AUTH0_*.
  'AUTH0_DOMAIN',
  'AUTH0_BASE_URL',
  'AUTH0_CLIENT_ID',
  'AUTH0_CLIENT_SECRET',
  'AUTH0_TOKEN',
] as const

function childEnv(storeDir: string, extra: Record<string, string>, cwd: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...(cwd === repoRoot ? Object.fromEntries(blankedInRepo.map((key) => [key, ''])) : {}),
    // '' leaves STORE_DIR unset: Roster's default, ./store in the child's working directory.
    ...(storeDir === '' ? {} : { STORE_DIR: storeDir }),
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

/** Resolves with `promise` unless it takes longer than `timeoutMs`; then SIGKILLs the child and rejects. */
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

/** The child's exit, or a rejection (and SIGKILL) if it is still running after `timeoutMs`. */
export function exitWithin(spawned: Spawned, timeoutMs: number): Promise<Exit> {
  return within('the process', spawned, spawned.exited, timeoutMs)
}

export class RosterProcesses {
  /** Running children, with the promise of their exit. */
  readonly #live = new Map<ChildProcess, Promise<Exit>>()
  #outputDir: string | undefined
  #outputs = 0

  /** SIGKILLs every child of this group still running, waits until each has exited, removes their output files. */
  async killAll(): Promise<void> {
    const running = [...this.#live]
    this.#live.clear()
    await Promise.all(
      running.map(async ([child, exited]) => {
        child.kill('SIGKILL')
        await exited
      }),
    )
    if (this.#outputDir !== undefined) rmSync(this.#outputDir, { recursive: true, force: true })
    this.#outputDir = undefined
  }

  /** Starts a server without waiting for it: for a server that is expected to refuse to start. */
  spawnServer(storeDir: string, env: Record<string, string> = {}): Spawned {
    return this.#spawn('src/main.ts', [], storeDir, env)
  }

  /**
   * Starts `npm start` on `storeDir` and resolves once it is fully up: its own pid and port are in the lock file,
   * /healthz answers, and it has logged "Roster is running" — only after that line does main.ts install its
   * SIGTERM handler, so a stop() sent earlier would kill it like a crash. Logs at info level, for that line.
   * Rejects with its stderr if it exits first or is not up within `timeoutMs`.
   */
  async startServer(
    storeDir: string,
    { env = {}, timeoutMs = 30_000 }: { env?: Record<string, string>; timeoutMs?: number } = {},
  ): Promise<ServerProcess> {
    const spawned = this.spawnServer(storeDir, { ...env, LOG_LEVEL: 'info' })
    let gone: Exit | undefined
    void spawned.exited.then((exit) => {
      gone = exit
    })
    const port = await poll(
      `the server on ${storeDir} to serve`,
      async () => {
        if (gone !== undefined) {
          throw new Error(`the server exited (${JSON.stringify(gone)}) before serving:\n${spawned.stderr()}`)
        }
        if (!spawned.stderr().includes('"msg":"Roster is running"')) return undefined
        const lock = await readLockFile(storeDir)
        if (lock?.pid !== spawned.pid || lock.port === undefined) return undefined
        const port = lock.port
        return getHealth(port).then(
          () => port,
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
      exited: spawned.exited,
      stderr: spawned.stderr,
      health: () => getHealth(port),
      kill9() {
        spawned.child.kill('SIGKILL')
        return within('the killed server', spawned, spawned.exited, 10_000)
      },
      stop(stopTimeoutMs = 20_000) {
        spawned.child.kill('SIGTERM')
        return within('the server shutdown', spawned, spawned.exited, stopTimeoutMs)
      },
    }
  }

  /** Starts `roster <args>` on `storeDir`; `result` resolves when it exits, with what it printed. */
  startCli(
    storeDir: string,
    args: readonly string[],
    { timeoutMs = 45_000, env = {} }: { timeoutMs?: number; env?: Record<string, string> } = {},
  ): { pid: number; result: Promise<CliResult> } {
    const spawned = this.#spawn('src/adapters/cli/main.ts', args, storeDir, env)
    const result = within(
      `roster ${args.join(' ')}`,
      spawned,
      spawned.exited.then((exit) => ({ ...exit, stdout: spawned.stdout(), stderr: spawned.stderr() })),
      timeoutMs,
    )
    // A test that fails before awaiting the result must not also leave an unhandled rejection behind.
    result.catch(() => undefined)
    return { pid: spawned.pid, result }
  }

  runCli(
    storeDir: string,
    args: readonly string[],
    options: { timeoutMs?: number; env?: Record<string, string> } = {},
  ): Promise<CliResult> {
    return this.startCli(storeDir, args, options).result
  }

  /** Runs `roster <args> --json`, expects one of `exitCodes`, and returns the parsed output. */
  async cliJson<T = Record<string, unknown>>(
    storeDir: string,
    args: readonly string[],
    exitCodes: readonly number[] = [0],
  ): Promise<T> {
    const result = await this.runCli(storeDir, [...args, '--json'])
    if (result.code === null || !exitCodes.includes(result.code)) {
      throw new Error(
        `roster ${args.join(' ')} exited ${result.code ?? result.signal} (expected ${exitCodes.join(' or ')})\n` +
          `stdout: ${result.stdout}\nstderr: ${result.stderr}`,
      )
    }
    return JSON.parse(result.stdout) as T
  }

  /**
   * A file for a child's stdout. Not a pipe: the CLI calls process.exit() right after writing, and Node drops what
   * a pipe had not yet taken (a big `--json` report comes out cut at 64 KB); a file takes it all.
   */
  #outputFile(): string {
    this.#outputDir ??= mkdtempSync(join(tmpdir(), 'roster-out-'))
    this.#outputs += 1
    return join(this.#outputDir, `stdout-${this.#outputs}.txt`)
  }

  /**
   * `npm <args>` (`npm start`, `npm run cli -- …`) as a person runs it: npm itself is the child, so a signal sent
   * to `pid` is what `kill <pid of npm start>` sends.
   */
  spawnNpm(storeDir: string, args: readonly string[], env: Record<string, string> = {}): Spawned {
    return this.#spawnCommand('npm', args, storeDir, env, repoRoot)
  }

  /** `roster <args>` (the CLI) started in `cwd`, as a linked `roster` run from another folder. */
  spawnCliIn(cwd: string, args: readonly string[], env: Record<string, string>): Spawned {
    return this.#spawnCommand(
      process.execPath,
      [join(repoRoot, 'bin/roster.js'), ...args],
      env.STORE_DIR ?? '',
      env,
      cwd,
    )
  }

  #spawn(entry: string, args: readonly string[], storeDir: string, env: Record<string, string>): Spawned {
    return this.#spawnCommand(process.execPath, ['--import', 'tsx', entry, ...args], storeDir, env, repoRoot)
  }

  #spawnCommand(
    command: string,
    args: readonly string[],
    storeDir: string,
    env: Record<string, string>,
    cwd: string,
  ): Spawned {
    const stdoutFile = this.#outputFile()
    const stdoutFd = openSync(stdoutFile, 'w')
    let child: ChildProcess
    try {
      child = spawn(command, [...args], {
        cwd,
        env: childEnv(storeDir, env, cwd),
        stdio: ['ignore', stdoutFd, 'pipe'],
      })
    } finally {
      closeSync(stdoutFd)
    }
    const pid = child.pid
    if (pid === undefined) throw new Error(`could not spawn ${command} ${args.join(' ')}`)
    let stdout = ''
    let stderr = ''
    child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      stderr += text
    })
    const exited = new Promise<Exit>((done) => {
      // 'close' rather than 'exit': by then stderr is fully read.
      child.once('close', (code, signal) => {
        this.#live.delete(child)
        stdout = readFileSync(stdoutFile, 'utf8')
        rmSync(stdoutFile, { force: true })
        done({ code, signal })
      })
    })
    this.#live.set(child, exited)
    return { child, pid, exited, stdout: () => stdout, stderr: () => stderr }
  }
}
