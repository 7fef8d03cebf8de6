import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import type { Job } from '../../src/domain/jobs/job.ts'
import { createTestDatabase } from './postgres.ts'
import { type CliResult, RosterProcesses, type ServerProcess } from './roster-process.ts'

/**
 * Several Roster server processes on one throwaway PostgreSQL database (issue 14): each replica has its own
 * STORE_DIR (its lock file is how a CLI started on that STORE_DIR finds that replica), the same DATABASE_URL and
 * whatever else the test shares between them (the Slack emulator, the SMTP sink). The database's end state is read
 * with plain SQL on the tables, as an operator would, independently of any replica.
 */

export interface StoredUserRow {
  user_id: string
  connection_id: string
  email: string
  doc: Record<string, unknown>
}

export interface EndState {
  users: StoredUserRow[]
  jobs: Job[]
  /** user-store commits: one row per (job, chunk), in commit order. */
  commits: { job_id: string; chunk: number }[]
  slackOutbox: { id: string; job_key: string; settled: boolean }[]
  mailOutbox: { job_id: string; sent: boolean; attempts: number }[]
}

export interface ReplicaSet {
  url: string
  dir: string
  processes: RosterProcesses
  /** The replicas started so far, by name (a restarted one replaces its entry). */
  readonly servers: Map<string, ServerProcess>
  storeDir(name: string): string
  /** Starts (or restarts) replica `name` on its own STORE_DIR with the set's environment plus `env`. */
  start(name: string, env?: Record<string, string>): Promise<ServerProcess>
  /** kill -9 of replica `name`, waiting until it is gone. */
  kill9(name: string): Promise<void>
  /** `roster <args>` on replica `name`'s STORE_DIR (so it goes through that replica while it runs). */
  cli(name: string, args: readonly string[], env?: Record<string, string>): Promise<CliResult>
  /** `roster <args> --json`, expecting one of `codes`, parsed. */
  cliJson<T = Record<string, unknown>>(name: string, args: readonly string[], codes?: number[]): Promise<T>
  query<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, values?: unknown[]): Promise<R[]>
  /** Users, jobs, commits and outbox rows as the database holds them. */
  endState(): Promise<EndState>
  /** Every line a replica (any run of it) logged with this message, parsed. */
  logged(msg: string): Record<string, unknown>[]
  /** Kills every replica and CLI, drops the database, removes the STORE_DIRs. */
  close(): Promise<void>
}

export async function startReplicaSet(env: Record<string, string> = {}): Promise<ReplicaSet> {
  const database = await createTestDatabase()
  const dir = await mkdtemp(join(tmpdir(), 'roster-replicas-'))
  const pool = new pg.Pool({ connectionString: database.url, max: 2 })
  // The database is dropped WITH (FORCE) at close: a connection the pool is still ending then receives "terminating
  // connection due to administrator command", which must not surface as an uncaught error of the test run.
  pool.on('error', () => undefined)
  pool.on('connect', (client) => client.on('error', () => undefined))
  const processes = new RosterProcesses()
  const servers = new Map<string, ServerProcess>()
  /** stderr of replicas that were stopped or killed: their log lines still count. */
  const pastLogs: string[] = []
  const shared = { DATABASE_URL: database.url, BACKUP_CRON: 'off', ...env }
  const storeDir = (name: string) => join(dir, name)

  const cli = (name: string, args: readonly string[], extra: Record<string, string> = {}) =>
    processes.runCli(storeDir(name), args, { env: { ...shared, ...extra }, timeoutMs: 120_000 })

  const query = async <R extends pg.QueryResultRow>(sql: string, values: unknown[] = []) =>
    (await pool.query<R>(sql, values)).rows

  return {
    url: database.url,
    dir,
    processes,
    servers,
    storeDir,
    async start(name, extra = {}) {
      const previous = servers.get(name)
      if (previous) pastLogs.push(previous.stderr())
      const server = await processes.startServer(storeDir(name), { env: { ...shared, ...extra } })
      servers.set(name, server)
      return server
    },
    async kill9(name) {
      const server = servers.get(name)
      if (!server) throw new Error(`no replica ${name}`)
      await server.kill9()
    },
    cli,
    async cliJson<T>(name: string, args: readonly string[], codes: number[] = [0]) {
      const run = await cli(name, [...args, '--json'])
      if (run.code === null || !codes.includes(run.code)) {
        throw new Error(
          `roster ${args.join(' ')} exited ${run.code ?? run.signal}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`,
        )
      }
      return JSON.parse(run.stdout) as T
    },
    query,
    async endState() {
      const users = await query<StoredUserRow>(
        'SELECT user_id, connection_id, email, doc FROM users ORDER BY connection_id, email',
      )
      const [catalog] = await query<{ doc: { jobs: Job[] } }>('SELECT doc FROM catalog')
      const commits = await query<{ job_id: string; chunk: number }>(
        'SELECT job_id, chunk FROM commits ORDER BY seq',
      )
      const slackOutbox = await query<{ id: string; job_key: string; settled: boolean }>(
        'SELECT id, job_key, settled_at IS NOT NULL AS settled FROM slack_outbox ORDER BY seq',
      )
      const mailOutbox = await query<{ job_id: string; sent: boolean; attempts: number }>(
        'SELECT job_id, sent_at IS NOT NULL AS sent, attempts FROM mail_outbox ORDER BY job_id',
      )
      return { users, jobs: catalog?.doc.jobs ?? [], commits, slackOutbox, mailOutbox }
    },
    logged(msg) {
      const text = [...pastLogs, ...[...servers.values()].map((server) => server.stderr())].join('\n')
      return text
        .split('\n')
        .filter((line) => line.includes(`"msg":${JSON.stringify(msg)}`))
        .map((line) => JSON.parse(line) as Record<string, unknown>)
    },
    async close() {
      await processes.killAll()
      await pool.end()
      await database.drop()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** The values of `values` that occur more than once. */
export function duplicates(values: readonly string[]): string[] {
  const seen = new Set<string>()
  return values.filter((value) => {
    const again = seen.has(value)
    seen.add(value)
    return again
  })
}
