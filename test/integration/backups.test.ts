import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { afterEach, describe, expect, it } from 'vitest'
import { executeCommand } from '../../src/adapters/cli/commands.ts'
import { type Schedules, startSchedules } from '../../src/adapters/cron/schedules.ts'
import { loadConfig } from '../../src/config.ts'
import type { BackupSetListing } from '../../src/domain/backups/backup-set.ts'
import { fullProfileFields } from '../../src/domain/export/export-fields.ts'
import type { ImportJob } from '../../src/domain/jobs/job.ts'
import { toAuth0User } from '../../src/domain/users/auth0-user-view.ts'
import { createLogger } from '../../src/logger.ts'
import { allOf } from '../support/async-users.ts'
import { seedRow, seedRows } from '../support/generate-users.ts'
import { defaultConnection, type Harness, openHarness } from '../support/roster-harness.ts'

const hourMs = 3_600_000
const open: Harness[] = []
let schedules: Schedules | undefined
let logged: string[] = []

afterEach(async () => {
  schedules?.stop()
  schedules = undefined
  logged = []
  await Promise.all(open.splice(0).map((h) => h.close()))
})

async function harness(env: Record<string, string> = {}): Promise<Harness> {
  const h = await openHarness(env)
  open.push(h)
  return h
}

/** The server's schedules over the harness's engine (and so its FixedClock), logging into `logged`. */
function schedulesOf(h: Harness, env: Record<string, string> = {}): Schedules {
  const config = loadConfig({ STORE_DIR: h.storeDir, ...env })
  schedules = startSchedules(
    h.engine,
    config,
    createLogger('warn', (line) => logged.push(line)),
  )
  return schedules
}

/** One backup tick, as the cron timer runs it; fails the test with the logged error if the backup failed. */
async function tick(h: Harness, s: Schedules): Promise<BackupSetListing> {
  await s.backup?.run()
  expect(logged).toEqual([])
  const [newest] = await h.engine.listBackups()
  if (!newest) throw new Error('no backup set written')
  return newest
}

/** A tenant: 20 users in the default connection, 3 in a second database one, and a social connection. */
async function tenant(h: Harness): Promise<void> {
  await h.engine.addConnection({ name: 'staff', strategy: 'auth0' })
  await h.engine.addConnection({ name: 'google-oauth2', strategy: 'google-oauth2' })
  expect((await h.importUsers(seedRows(20))).summary?.inserted).toBe(20)
  const staff = ['ada', 'bob', 'cy'].map((name) => ({ email: `${name}@staff.example.com`, given_name: name }))
  expect((await h.importUsers(staff, { connection: 'staff' })).summary?.inserted).toBe(3)
}

/** A user's profile without the two dates an import sets itself. */
function profile(user: Parameters<typeof toAuth0User>[0]): Record<string, unknown> {
  const { created_at: _created, updated_at: _updated, ...rest } = toAuth0User(user)
  return rest
}

async function profiles(h: Harness, connection: string): Promise<Record<string, unknown>[]> {
  const id = h.engine.listConnections().find((c) => c.name === connection)?.id
  return (await allOf(h.engine.ctx.users.scan({ connectionId: id as string })))
    .map(profile)
    .sort((a, b) => String(a.email).localeCompare(String(b.email)))
}

async function restore(h: Harness, file: string, connection: string): Promise<ImportJob> {
  const job = await h.engine.requestImport({
    connection,
    fileName: file.split('/').pop() as string,
    bytes: await readFile(file),
    options: { upsert: true, merge: false, dryRun: false, sendCompletionEmail: false },
    requestedBy: { via: 'cli', id: 'tester' },
  })
  return (await h.engine.waitFor(job.id)) as ImportJob
}

const fileOf = (set: BackupSetListing, connection: string) => {
  const entry = set.manifest?.connections.find((c) => c.connectionName === connection)
  if (!entry) throw new Error(`no file for ${connection} in ${set.name}`)
  return join(set.path, entry.file)
}

describe('a backup tick', () => {
  it('writes a set named after the clock, with one file per database connection', async () => {
    const h = await harness()
    await tenant(h)
    h.clock.advance(17 * hourMs) // the FixedClock starts at 2026-11-27T10:00Z: now it is 03:00 the next night
    const set = await tick(h, schedulesOf(h))
    expect(set.name).toBe('2026-11-28T03-00-00Z')
    expect(set.path).toBe(join(h.storeDir, 'backups', '2026-11-28T03-00-00Z'))
    expect(set.manifest).toMatchObject({
      version: 1,
      name: '2026-11-28T03-00-00Z',
      createdAt: '2026-11-28T03:00:00.000Z',
      tenant: 'roster',
      connections: [
        { connectionName: defaultConnection, users: 20, file: `${defaultConnection}.json.gz` },
        { connectionName: 'staff', users: 3, file: 'staff.json.gz' },
      ],
    })
    const manifestOnDisk = JSON.parse(await readFile(join(set.path, 'backup.json'), 'utf8'))
    expect(manifestOnDisk).toEqual(set.manifest)
  })

  it('writes gzipped JSON holding full profiles and no secrets', async () => {
    const h = await harness()
    await tenant(h)
    const set = await tick(h, schedulesOf(h))
    const users = JSON.parse(gunzipSync(await readFile(fileOf(set, defaultConnection))).toString('utf8'))
    const names = fullProfileFields.map((field) => field.name)
    const expected = (await allOf(h.engine.ctx.users.scan()))
      .filter((user) => user.email.startsWith('seed.'))
      .map((user) => Object.fromEntries(Object.entries(user).filter(([key]) => names.includes(key))))
    expect(users).toEqual(expected)
    const raw = gunzipSync(await readFile(fileOf(set, defaultConnection))).toString('utf8')
    expect(raw).not.toMatch(/password_hash|custom_password_hash|mfa_factors|\$2b\$/)
  })

  it('runs normal users_export jobs, marked backup and requested by cron', async () => {
    const h = await harness()
    await tenant(h)
    const set = await tick(h, schedulesOf(h))
    const exports = h.engine.listJobs().filter((job) => job.type === 'users_export')
    expect(exports.map((job) => job.id).sort()).toEqual(set.manifest?.connections.map((c) => c.jobId).sort())
    for (const job of exports) {
      expect(job).toMatchObject({
        type: 'users_export',
        status: 'completed',
        format: 'json',
        gzip: true,
        backup: true,
        requestedBy: { via: 'cron', id: 'backup' },
        fields: fullProfileFields,
      })
    }
  })

  it('keeps its files when job retention expires the jobs that wrote them', async () => {
    const h = await harness({ JOB_RETENTION_HOURS: '1' })
    await tenant(h)
    const set = await tick(h, schedulesOf(h))
    h.clock.advance(2 * hourMs)
    expect(await h.engine.sweepRetention()).toBeGreaterThanOrEqual(2)
    expect(h.engine.getJob(set.manifest?.connections[0]?.jobId as string)?.job.status).toBe('expired')
    expect((await readFile(fileOf(set, 'staff'))).byteLength).toBeGreaterThan(0)
  })

  it('keeps only the newest BACKUP_KEEP sets', async () => {
    const h = await harness({ BACKUP_KEEP: '2' })
    await tenant(h)
    const s = schedulesOf(h, { BACKUP_KEEP: '2' })
    for (let night = 0; night < 4; night++) {
      await tick(h, s)
      h.clock.advance(24 * hourMs)
    }
    const sets = await h.engine.listBackups()
    expect(sets.map((set) => set.name)).toEqual(['2026-11-30T10-00-00Z', '2026-11-29T10-00-00Z'])
    expect((await readdir(join(h.storeDir, 'backups'))).sort()).toEqual([
      '2026-11-29T10-00-00Z',
      '2026-11-30T10-00-00Z',
    ])
    // The jobs of removed sets are ordinary jobs: still listed, left to retention.
    expect(h.engine.listJobs(100).filter((job) => job.type === 'users_export')).toHaveLength(8)
  })

  it('names a second backup in the same second apart from the first', async () => {
    const h = await harness()
    await tenant(h)
    await tick(h, schedulesOf(h))
    const again = await h.engine.runBackup()
    expect(again.name).toBe('2026-11-27T10-00-00Z-2')
    expect((await h.engine.listBackups()).map((set) => set.name)).toEqual([
      '2026-11-27T10-00-00Z-2',
      '2026-11-27T10-00-00Z',
    ])
  })

  it('joins a backup already being taken instead of starting a second', async () => {
    const h = await harness()
    await tenant(h)
    const s = schedulesOf(h)
    const [fromCli] = await Promise.all([h.engine.runBackup({ via: 'cli', id: 'ada' }), s.backup?.run()])
    expect((await h.engine.listBackups()).map((set) => set.name)).toEqual([fromCli.name])
    expect(h.engine.listJobs(100).filter((job) => job.type === 'users_export')).toHaveLength(2)
  })

  it('logs a failed backup instead of throwing into the timer', async () => {
    const h = await harness()
    await writeFile(join(h.storeDir, 'backups'), 'not a folder')
    await schedulesOf(h).backup?.run()
    expect(logged).toHaveLength(1)
    expect(JSON.parse(logged[0] as string)).toMatchObject({ msg: 'scheduled task failed', task: 'backup' })
  })
})

describe('BACKUP_CRON', () => {
  it('schedules nothing when off', async () => {
    expect(loadConfig({ BACKUP_CRON: 'off' }).backup).toEqual({ cron: undefined, keep: 7 })
    const h = await harness()
    expect(schedulesOf(h, { BACKUP_CRON: 'off' }).backup).toBeUndefined()
  })

  it('is checked at start, like every setting', () => {
    expect(() => loadConfig({ BACKUP_CRON: 'nightly', BACKUP_KEEP: '0' })).toThrow(
      [
        'Invalid configuration:',
        '  BACKUP_CRON="nightly": expected a cron expression such as "0 3 * * *", or off',
        '  BACKUP_KEEP="0": expected a whole number of backups from 1 to 1000',
      ].join('\n'),
    )
  })
})

describe('the CLI commands', () => {
  it('backup now takes one at once, requested by the person; backups lists the sets', async () => {
    const h = await harness()
    await tenant(h)
    const set = (await executeCommand(h.engine, {
      name: 'backup-now',
      requestedBy: 'ada',
    })) as BackupSetListing
    expect(h.engine.listJobs(1)[0]?.requestedBy).toEqual({ via: 'cli', id: 'ada' })
    expect(await executeCommand(h.engine, { name: 'backups' })).toEqual([set])
  })
})

describe('restoring a backup with import --upsert', () => {
  it('puts changed and removed users back as they were in the same store', async () => {
    const h = await harness()
    await tenant(h)
    const extra = await h.importUsers([{ email: 'late.a@example.com' }, { email: 'late.b@example.com' }])
    const before = await profiles(h, defaultConnection)
    const set = await tick(h, schedulesOf(h))
    h.clock.advance(hourMs)

    // After the backup: two users edited, the later import undone (its users removed).
    const edits = [1, 2].map((n) => ({
      ...seedRow(n),
      given_name: 'Changed',
      user_metadata: { plan: 'gone' },
    }))
    expect((await h.importUsers(edits, { upsert: true })).summary?.updated).toBe(2)
    const undo = await h.engine.requestUndo(extra.id, { via: 'cli', id: 'tester' })
    expect((await h.engine.waitFor(undo.id)).status).toBe('completed')
    expect(await profiles(h, defaultConnection)).not.toEqual(before)

    const restored = await restore(h, fileOf(set, defaultConnection), defaultConnection)
    expect(restored.summary).toEqual({ inserted: 2, updated: 20, unchanged: 18, failed: 0, total: 22 })
    expect(await profiles(h, defaultConnection)).toEqual(before)
  })

  it('brings the same users into a fresh store, without their password hashes', async () => {
    const source = await harness()
    await tenant(source)
    const set = await tick(source, schedulesOf(source))

    const fresh = await harness()
    await fresh.engine.addConnection({ name: 'staff', strategy: 'auth0' })
    for (const connection of [defaultConnection, 'staff']) {
      const job = await restore(fresh, fileOf(set, connection), connection)
      expect(job.summary?.failed).toBe(0)
      expect(await profiles(fresh, connection)).toEqual(await profiles(source, connection))
    }
    expect((await source.engine.findUsers('seed.user7@example.com'))[0]?.password_hash).toBeDefined()
    expect((await fresh.engine.findUsers('seed.user7@example.com'))[0]?.password_hash).toBeUndefined()
  })
})
