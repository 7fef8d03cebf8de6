import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { type Config, loadConfig } from '../../src/config.ts'
import { silentLogger } from '../../src/logger.ts'
import { openRoster, type Roster } from '../../src/roster.ts'
import { importUsers } from '../support/roster-harness.ts'
import { tempDir } from '../support/temp-dir.ts'

/**
 * The journal's compaction through a real Roster on the embedded store, with its mark set to a few kilobytes (the
 * server's is 64 MiB): queued imports go first, the compaction comes once the queue is empty, and whoever closes
 * Roster is told before it waits for one (the CLI says so on stderr).
 */

let roster: Roster | undefined
afterEach(async () => {
  await roster?.close()
  roster = undefined
})

async function open(existing?: string, mark = 1): Promise<{ roster: Roster; storeDir: string }> {
  const storeDir = existing ?? (await tempDir())
  // One import at a time: the next file waits in the queue while the one before ends.
  const config = loadConfig({ STORE_DIR: storeDir, BACKUP_CRON: 'off', MAX_ACTIVE_IMPORTS: '1' })
  const tiny = { ...config, limits: { ...config.limits, compactAtJournalBytes: mark } } as Config
  roster = await openRoster(tiny, { logger: silentLogger })
  roster.engine.start()
  return { roster, storeDir }
}

const users = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({ email: `user${from + i}@example.com` }))

async function journalBytes(storeDir: string): Promise<number> {
  const dir = join(storeDir, 'users')
  const journals = (await readdir(dir)).filter((name) => name.startsWith('journal-'))
  const sizes = await Promise.all(journals.map(async (name) => (await stat(join(dir, name))).size))
  return sizes.reduce((sum, size) => sum + size, 0)
}

describe('compaction of the embedded store', () => {
  it('comes after the queued imports, and closing says so before it waits for it', async () => {
    // Each file's commit is ~4.9 KB of journal: past this mark after the second file, and never 4× past it.
    const { roster: r, storeDir } = await open(undefined, 7_000)
    // What the jobs were when each compaction began.
    const maintenance = r.engine.ctx.maintenance as NonNullable<typeof r.engine.ctx.maintenance>
    const compact = maintenance.compact.bind(maintenance)
    const seen: string[][] = []
    maintenance.compact = () => {
      seen.push(r.engine.ctx.catalog.read().jobs.map((job) => job.status))
      return compact()
    }
    // Three files at once: no compaction while any of them waits or runs.
    const jobs = await Promise.all([0, 1, 2].map((n) => importUsers(r.engine, users(n * 10, 10))))
    const done = await Promise.all(jobs.map((job) => r.engine.waitFor(job.id)))
    expect(done.map((job) => job.status)).toEqual(['completed', 'completed', 'completed'])
    let told = 0
    await r.close({
      beforeUpkeep: () => {
        told += 1
      },
    })
    roster = undefined
    expect(seen).toEqual([['completed', 'completed', 'completed']])
    expect(told).toBe(1)
    // Compacted: the users are in the snapshot, the journal is empty, and all thirty are there after a reopen.
    expect(await journalBytes(storeDir)).toBe(0)
    const reopened = await open(storeDir)
    expect(await reopened.roster.engine.ctx.users.count()).toBe(30)
  })

  it('closing with nothing to compact says nothing', async () => {
    const { roster: r } = await open()
    let told = 0
    await r.close({
      beforeUpkeep: () => {
        told += 1
      },
    })
    roster = undefined
    expect(told).toBe(0)
  })
})
