import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type CliResult, RosterProcesses, type ServerProcess } from './roster-process.ts'

/**
 * Two Roster processes as issue 13's flow tests need them: a tenant (Roster's own API standing in for Auth0, with
 * API_RATE_LIMIT, an API client made by `roster clients create`) and a front Roster with AUTH0_* pointing at it —
 * reached only over HTTP, through the official SDK, as a real tenant would be. The front runs as a server
 * (`startFront`), or not at all: its CLI then opens the front store itself.
 */

/** The machine is shared and slow at times: a Roster process may take this long to come up. */
const startTimeoutMs = 120_000

export const frontScopes = 'read:connections,read:users,create:users,update:users,delete:users'

export interface TenantPairOptions {
  /** The tenant's environment: API_FAULTS, API_TENANT_RATE_LIMIT… API_RATE_LIMIT defaults to 5 a second. */
  tenantEnv?: Record<string, string>
  /** The front's environment beside AUTH0_* (Slack settings, FAULT_PAUSE_AFTER_CHUNK…), for server and CLI. */
  frontEnv?: Record<string, string>
}

export interface TenantSide {
  storeDir: string
  server: ServerProcess
  /** `127.0.0.1:<port>`: the front's AUTH0_DOMAIN. */
  host: string
  /** The front's API client on the tenant. */
  client: { client_id: string; client_secret: string }
}

export interface TenantPair {
  processes: RosterProcesses
  tenant: TenantSide
  frontStoreDir: string
  /** A scratch folder for the test's files, removed with the pair. */
  workDir: string
  /** AUTH0_DOMAIN, AUTH0_BASE_URL, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET, and `frontEnv`. */
  frontEnv: Record<string, string>
  /** Starts (or, after a kill, restarts) the front server; `env` adds to `frontEnv`. */
  startFront(env?: Record<string, string>): Promise<ServerProcess>
  /** `roster <args>` on the front store (through the front server when one runs). */
  frontCli(args: readonly string[], options?: { timeoutMs?: number }): Promise<CliResult>
  /** `roster <args> --json` on the front store; expects one of `exitCodes`. */
  frontJson<T = Record<string, unknown>>(args: readonly string[], exitCodes?: readonly number[]): Promise<T>
  /** `roster <args> --json` on the tenant store (through the tenant server). */
  tenantJson<T = Record<string, unknown>>(args: readonly string[]): Promise<T>
  /** Every user of the tenant as its API shows them (`GET /api/v2/users`, every page), read with the front's client. */
  tenantUsers(): Promise<Record<string, unknown>[]>
  /** Kills every process of the pair and removes both stores. */
  close(): Promise<void>
}

export async function startTenantPair(options: TenantPairOptions = {}): Promise<TenantPair> {
  const processes = new RosterProcesses()
  const dirs: string[] = []
  const close = async () => {
    await processes.killAll()
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })))
  }
  try {
    const tenantStore = await mkdtemp(join(tmpdir(), 'roster-tenant-'))
    const frontStoreDir = await mkdtemp(join(tmpdir(), 'roster-front-'))
    const workDir = await mkdtemp(join(tmpdir(), 'roster-pair-files-'))
    dirs.push(tenantStore, frontStoreDir, workDir)
    const server = await processes.startServer(tenantStore, {
      env: { API_RATE_LIMIT: '5', TENANT_NAME: 'acme', BACKUP_CRON: 'off', ...options.tenantEnv },
      timeoutMs: startTimeoutMs,
    })
    const host = `127.0.0.1:${server.port}`
    const client = await processes.cliJson<{ client_id: string; client_secret: string }>(tenantStore, [
      'clients',
      'create',
      '--name',
      'roster-front',
      '--scopes',
      frontScopes,
    ])
    const frontEnv = {
      BACKUP_CRON: 'off',
      ...options.frontEnv,
      AUTH0_DOMAIN: host,
      AUTH0_BASE_URL: `http://${host}`,
      AUTH0_CLIENT_ID: client.client_id,
      AUTH0_CLIENT_SECRET: client.client_secret,
    }
    const tenant: TenantSide = { storeDir: tenantStore, server, host, client }
    return {
      processes,
      tenant,
      frontStoreDir,
      workDir,
      frontEnv,
      startFront: (env = {}) =>
        processes.startServer(frontStoreDir, { env: { ...frontEnv, ...env }, timeoutMs: startTimeoutMs }),
      frontCli: (args, { timeoutMs = 90_000 } = {}) =>
        processes.runCli(frontStoreDir, args, { env: frontEnv, timeoutMs }),
      async frontJson<T>(args: readonly string[], exitCodes: readonly number[] = [0]): Promise<T> {
        const result = await processes.runCli(frontStoreDir, [...args, '--json'], {
          env: frontEnv,
          timeoutMs: 90_000,
        })
        if (result.code === null || !exitCodes.includes(result.code)) {
          throw new Error(
            `front: roster ${args.join(' ')} exited ${result.code ?? result.signal}\n` +
              `stdout: ${result.stdout}\nstderr: ${result.stderr}`,
          )
        }
        return JSON.parse(result.stdout) as T
      },
      tenantJson: <T>(args: readonly string[]) => processes.cliJson<T>(tenantStore, args),
      tenantUsers: async () => readTenantUsers(`http://${host}`, await clientToken(host, client)),
      close,
    }
  } catch (error) {
    await close()
    throw error
  }
}

/**
 * A token of the front's own client, by the client-credentials grant (one CLI process fewer than a token of its
 * own: starting processes is what these tests spend their time on).
 */
async function clientToken(
  host: string,
  client: { client_id: string; client_secret: string },
): Promise<string> {
  for (;;) {
    const response = await fetch(`http://${host}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'client_credentials',
        client_id: client.client_id,
        client_secret: client.client_secret,
        audience: `https://${host}/api/v2/`,
      }),
    })
    if (response.status === 429) {
      await new Promise((resolve) => setTimeout(resolve, 500))
      continue
    }
    if (!response.ok)
      throw new Error(`POST /oauth/token answered ${response.status}: ${await response.text()}`)
    return ((await response.json()) as { access_token: string }).access_token
  }
}

/** Pages through `GET /api/v2/users` (100 a page), waiting out the tenant's 429s as its headers say. */
async function readTenantUsers(base: string, token: string): Promise<Record<string, unknown>[]> {
  const users: Record<string, unknown>[] = []
  for (let page = 0; ; ) {
    const response = await fetch(`${base}/api/v2/users?per_page=100&page=${page}`, {
      headers: { authorization: `Bearer ${token}` },
    })
    if (response.status === 429) {
      const reset = Number(response.headers.get('x-ratelimit-reset') ?? 0) * 1000
      await new Promise((resolve) => setTimeout(resolve, Math.max(50, Math.min(reset - Date.now(), 2_000))))
      continue
    }
    if (!response.ok)
      throw new Error(`GET /api/v2/users answered ${response.status}: ${await response.text()}`)
    const batch = (await response.json()) as Record<string, unknown>[]
    users.push(...batch)
    if (batch.length < 100) return users
    page++
  }
}

/**
 * A user as a comparison between two directories sees it: without what each directory makes up on its own (ids,
 * timestamps, login counters), identities by connection name only. Sorted keys, so `toEqual` diffs read well.
 */
export function comparable(user: Record<string, unknown>): Record<string, unknown> {
  const skipped = new Set([
    'user_id',
    'created_at',
    'updated_at',
    'last_login',
    'last_ip',
    'logins_count',
    'identities',
    'connection_id',
    'rev',
  ])
  const identities = Array.isArray(user.identities)
    ? (user.identities as { connection?: unknown }[]).map((identity) => identity.connection)
    : undefined
  return Object.fromEntries(
    [
      ...Object.entries(user).filter(([key]) => !skipped.has(key)),
      ...(identities === undefined ? [] : [['connections', identities] as const]),
    ].sort(([a], [b]) => String(a).localeCompare(String(b))),
  )
}

/** Users made comparable and sorted by email. */
export function comparableSet(users: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  return users.map(comparable).sort((a, b) => String(a.email).localeCompare(String(b.email)))
}
