import { loadConfig } from '../../src/config.ts'
import type { Job } from '../../src/domain/jobs/job.ts'
import { silentLogger } from '../../src/logger.ts'
import { openRoster, type Roster } from '../../src/roster.ts'
import type { TenantStore } from './generate.ts'

export const benchRequester = { via: 'cli', id: 'bench' } as const

/** The settings that point Roster at a prepared store: STORE_DIR, and DATABASE_URL on PostgreSQL. */
export function storeEnv(store: TenantStore): Record<string, string> {
  return { STORE_DIR: store.storeDir, ...(store.databaseUrl ? { DATABASE_URL: store.databaseUrl } : {}) }
}

/** Roster on a prepared store, its engine running, with the defaults an admin gets (no extra settings). */
export async function openBenchRoster(store: TenantStore, env: Record<string, string> = {}): Promise<Roster> {
  const config = loadConfig({ ...storeEnv(store), LOG_LEVEL: 'silent', BACKUP_CRON: 'off', ...env })
  const roster = await openRoster(config, { logger: silentLogger })
  roster.engine.start()
  // A server that has had files queue up once keeps its import worker thread (started then, ~1 s under tsx): the
  // bench measures that server, not its first burst.
  await roster.engine.warmImports()
  return roster
}

/** Roster on a prepared store with its engine NOT started: it records jobs (and their files) but runs none. */
export async function openBenchRosterIdle(store: TenantStore): Promise<Roster> {
  const config = loadConfig({ ...storeEnv(store), LOG_LEVEL: 'silent', BACKUP_CRON: 'off' })
  return openRoster(config, { logger: silentLogger })
}

/**
 * Queues an import of a users file and returns its job id. Bytes are passed as they are (as an HTTP upload
 * delivers them); a string is encoded first.
 */
export async function queueImport(
  roster: Roster,
  connection: string,
  file: string | Uint8Array,
  fileName = 'users.json',
) {
  const job = await roster.engine.requestImport({
    connection,
    fileName,
    bytes: typeof file === 'string' ? Buffer.from(file) : file,
    options: { upsert: false, merge: false, dryRun: false, sendCompletionEmail: false },
    requestedBy: benchRequester,
  })
  return job.id
}

/** Waits for an import and checks that every user of the file was inserted: a benchmark of a failing job is void. */
export async function importDone(roster: Roster, jobId: string, users: number): Promise<Job> {
  const done = await roster.engine.waitFor(jobId)
  if (done.type !== 'users_import' || done.status !== 'completed')
    throw new Error(`import ${jobId} ended ${done.status}: ${done.statusDetails ?? ''}`)
  if (done.summary?.inserted !== users)
    throw new Error(`import ${jobId} inserted ${done.summary?.inserted} of ${users} users`)
  return done
}
