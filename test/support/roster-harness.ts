import { loadConfig } from '../../src/config.ts'
import type { ImportJob, ImportOptions } from '../../src/domain/jobs/job.ts'
import type { Engine } from '../../src/engine/engine.ts'
import { silentLogger } from '../../src/logger.ts'
import { openRoster, type Roster } from '../../src/roster.ts'
import { FixedClock, sequentialIds } from './clock-and-ids.ts'
import { tempDir } from './temp-dir.ts'

export interface Harness {
  roster: Roster
  engine: Engine
  clock: FixedClock
  storeDir: string
  /** Imports `users` (serialized as a JSON array unless a string is given) and waits for the job to finish. */
  importUsers(
    users: unknown[] | string,
    options?: Partial<ImportOptions> & { connection?: string },
  ): Promise<ImportJob>
  reopen(): Promise<Harness>
  close(): Promise<void>
}

export const defaultConnection = 'Username-Password-Authentication'

/** Imports `users` (a JSON array unless a string is given) through the engine and waits for the job to finish. */
export async function importUsers(
  engine: Engine,
  users: unknown[] | string,
  options: Partial<ImportOptions> & { connection?: string } = {},
): Promise<ImportJob> {
  const { connection = defaultConnection, ...rest } = options
  const text = typeof users === 'string' ? users : JSON.stringify(users)
  const job = await engine.requestImport({
    connection,
    fileName: 'users.json',
    bytes: Buffer.from(text),
    options: { upsert: false, merge: false, dryRun: false, sendCompletionEmail: false, ...rest },
    requestedBy: { via: 'cli', id: 'tester' },
  })
  return (await engine.waitFor(job.id)) as ImportJob
}

/** A real Roster (file stores on a temp dir, engine, scheduler) with a fixed clock and predictable ids. */
export async function openHarness(
  env: Record<string, string> = {},
  storeDir?: string,
  options: { start?: boolean } = {},
): Promise<Harness> {
  const dir = storeDir ?? (await tempDir())
  const config = loadConfig({ STORE_DIR: dir, ...env })
  const clock = new FixedClock()
  const roster = await openRoster(config, { logger: silentLogger, clock, ids: sequentialIds() })
  // Without start, jobs stay pending: tests create several, then start the engine to see the scheduler's choices.
  if (options.start ?? true) roster.engine.start()
  const harness: Harness = {
    roster,
    engine: roster.engine,
    clock,
    storeDir: dir,
    importUsers: (users, options) => importUsers(roster.engine, users, options),
    async reopen() {
      await roster.close()
      return openHarness(env, dir)
    },
    close: () => roster.close(),
  }
  return harness
}
