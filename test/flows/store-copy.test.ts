import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createPool } from '../../src/adapters/postgres/pool.ts'
import { createFileAuditLog } from '../../src/adapters/store/audit-file.ts'
import { seedRows, toJsonArray } from '../support/generate-users.ts'
import { createTestDatabase, hasPostgres } from '../support/postgres.ts'
import { defaultConnection, RosterProcesses } from '../support/roster-process.ts'
import { storeContents as contents, writeNotificationFiles } from '../support/store-contents.ts'

/**
 * `roster store copy` as a person runs it, a child process each: a store made by real commands (imports, an edit
 * since, tokens, clients, a connection, an export, a backup, Slack access, audit entries, and the notification
 * stores as a Slack-connected Roster leaves them) copied embedded → PostgreSQL → embedded comes back equal, part by
 * part, and an undo of an import made before the copies reports and does on the copy what it does on the original.
 * PostgreSQL → PostgreSQL too. (store-copy-slack.test.ts: the copied threads and outboxes in use.)
 */

const processes = new RosterProcesses()
afterEach(() => processes.killAll())
afterAll(() => rm(dir, { recursive: true, force: true }))

const seedCount = 2_500
/** Each test runs several CLI processes, a copy of 2,500 users each way: generous for a loaded CI host. */
const slow = 240_000
let dir: string
let source: string
let importJob: string
let updateJob: string

async function json<T = Record<string, unknown>>(storeDir: string, args: string[], code = 0): Promise<T> {
  const run = await processes.runCli(storeDir, [...args, '--json'])
  if (run.code !== code) throw new Error(`roster ${args.join(' ')} exited ${run.code}: ${run.stderr}`)
  return JSON.parse(run.stdout) as T
}

/** Copies with the CLI; the parsed summary. */
async function copy(from: string, to: string): Promise<Record<string, unknown>> {
  const run = await processes.runCli(dir, ['store', 'copy', '--from', from, '--to', to, '--json'], {
    timeoutMs: 120_000,
  })
  if (run.code !== 0) throw new Error(`store copy exited ${run.code}: ${run.stderr}`)
  return JSON.parse(run.stdout) as Record<string, unknown>
}

beforeAll(async () => {
  // Not tempDir: it is removed after each test, and the source serves every test of the file.
  dir = await mkdtemp(join(tmpdir(), 'roster-store-copy-'))
  source = join(dir, 'source')
  const seedFile = join(dir, 'seed.json')
  await writeFile(seedFile, toJsonArray(seedRows(seedCount)))
  importJob = (await json(source, ['import', seedFile, '--connection', defaultConnection, '--wait']))
    .id as string
  // An upsert of the first 100 (an undo restores them), then one of them changed since (an undo leaves it).
  const updates = seedRows(100).map((row) => ({ ...row, family_name: 'Updated' }))
  const updateFile = join(dir, 'update.json')
  await writeFile(updateFile, toJsonArray(updates))
  updateJob = (
    await json(source, ['import', updateFile, '--connection', defaultConnection, '--upsert', '--wait'])
  ).id as string
  await json(source, ['users', 'block', 'seed.user5@example.com'])
  await json(source, ['tokens', 'create', '--name', 'ci', '--scopes', 'read:users'])
  await json(source, ['clients', 'create', '--name', 'app', '--scopes', 'read:users'])
  await json(source, ['connections', 'add', 'Partners'])
  await json(source, ['export', '--connection', defaultConnection, '--wait'])
  await json(source, ['backup', 'now'])
  await writeFile(
    join(source, 'access.json'),
    JSON.stringify({ users: { U0ADMIN1: 'admin', U0VIEW22: 'viewer-users' } }),
  )
  await writeNotificationFiles(source, { importJob, updateJob })
  const audit = createFileAuditLog(join(source, 'audit.jsonl'))
  for (const [id, allowed] of [
    ['U0VIEW22', false],
    ['U0ADMIN1', true],
  ] as const) {
    await audit.record({
      at: new Date().toISOString(),
      actor: { via: 'slack', id },
      action: 'import',
      where: 'C1',
      allowed,
    })
  }
}, 300_000)

const notificationCounts = {
  slackThreads: 1,
  slackPending: 2,
  slackSettled: 2,
  mailQueued: 1,
  mailSent: 1,
  mailFailed: 1,
  replayKeys: 0,
}

describe('roster store copy between embedded stores', () => {
  it(
    'copies every part, and refuses a target that is not empty, naming what it holds',
    async () => {
      const target = join(dir, 'embedded-copy')
      const summary = await copy(source, target)
      expect(summary).toMatchObject({
        users: seedCount,
        connections: 2,
        apiTokens: 1,
        apiClients: 1,
        accessEntries: 2,
      })
      expect(summary.auditEntries).toBe(2)
      expect(summary.backupSets).toBe(1)
      expect(summary.notifications).toEqual(notificationCounts)
      expect(await contents({ storeDir: target })).toEqual(await contents({ storeDir: source }))

      const again = await processes.runCli(dir, ['store', 'copy', '--from', source, '--to', target])
      expect(again.code).toBe(1)
      expect(again.stderr).toContain(`The target ${target} is not empty: it holds 2,500 users, `)
      expect(again.stderr).toContain('jobs')
      expect(again.stderr).not.toMatch(/^\s+at /m)
    },
    slow,
  )

  it(
    'refuses a source that is not a store',
    async () => {
      const run = await processes.runCli(dir, [
        'store',
        'copy',
        '--from',
        join(dir, 'nothing'),
        '--to',
        join(dir, 'x'),
      ])
      expect(run.code).toBe(3)
      expect(run.stderr).toContain(`There is no Roster store in ${join(dir, 'nothing')}`)
    },
    slow,
  )
})

describe.skipIf(!hasPostgres)('roster store copy embedded → PostgreSQL → embedded', () => {
  let database: { url: string; drop(): Promise<void> }
  beforeAll(async () => {
    database = await createTestDatabase()
  })
  afterAll(() => database?.drop())

  it(
    'gives back an equal store; an undo made before the copies does the same on the copy',
    async () => {
      const toPg = await copy(source, database.url)
      expect(toPg).toMatchObject({ users: seedCount, to: expect.stringMatching(/^postgres:\/\//) })
      expect(toPg.notifications).toEqual(notificationCounts)
      const back = join(dir, 'round-trip')
      expect(await copy(database.url, back)).toMatchObject({ users: seedCount, backupSets: 1 })

      const original = await contents({ storeDir: source })
      expect(await contents({ storeDir: '', databaseUrl: database.url })).toEqual(original)
      expect(await contents({ storeDir: back })).toEqual(original)

      const refused = await processes.runCli(dir, ['store', 'copy', '--from', source, '--to', database.url])
      expect(refused.code).toBe(1)
      expect(refused.stderr).toMatch(/The target postgres:\/\/\S+ is not empty: it holds 2,500 users/)

      // The same undo on the original and on the round trip: 99 restored, the one changed since left alone.
      const undoHere = await json(source, ['undo', updateJob, '--wait'], 4)
      const undoThere = await json(back, ['undo', updateJob, '--wait'], 4)
      expect(undoThere.summary).toEqual(undoHere.summary)
      expect(undoHere.summary).toMatchObject({ restored: 99, conflicts: 1 })
      expect((await contents({ storeDir: back })).users).toEqual((await contents({ storeDir: source })).users)
      // And the first import's undo removes every user it inserted but the one blocked since.
      const first = await json(back, ['undo', importJob, '--wait'], 4)
      expect(first.summary).toMatchObject({ deleted: seedCount - 100, conflicts: 100 })
    },
    slow,
  )
})

describe.skipIf(!hasPostgres)('roster store copy PostgreSQL → PostgreSQL', () => {
  const databases: { url: string; drop(): Promise<void> }[] = []
  afterAll(() => Promise.all(databases.map((database) => database.drop())))

  it(
    'gives an equal database, with the replay keys still in their window; a send a live replica holds is refused',
    async () => {
      const [first, second] = [await createTestDatabase(), await createTestDatabase()]
      databases.push(first, second)
      await copy(source, first.url)
      const pool = createPool(first.url)
      try {
        // A key seen now is copied; one seen an hour ago is out of the window (a request that old is refused anyway).
        await pool.query(
          "INSERT INTO slack_requests (key, seen_at) VALUES ('event:Ev1', now()), ('event:Ev0', now() - interval '1 hour')",
        )
        await pool.query(
          "UPDATE mail_outbox SET claimed_by = 'replica-a', claimed_until = now() + interval '1 hour' WHERE job_id = $1",
          [updateJob],
        )
        const refused = await processes.runCli(dir, [
          'store',
          'copy',
          '--from',
          first.url,
          '--to',
          second.url,
        ])
        expect(refused.code).not.toBe(0)
        expect(refused.stderr).toContain(`has jobs that are half-way through (${updateJob})`)
        expect(refused.stderr).not.toMatch(/^\s+at /m)
        // The replica died: its claim lapses, and the copy takes the email as queued.
        await pool.query(
          "UPDATE mail_outbox SET claimed_until = now() - interval '1 second' WHERE job_id = $1",
          [updateJob],
        )
      } finally {
        await pool.end()
      }
      const summary = await copy(first.url, second.url)
      expect(summary.notifications).toEqual({ ...notificationCounts, replayKeys: 1 })
      const copied = await contents({ storeDir: '', databaseUrl: second.url })
      expect(copied.notifications.replayKeys.map((each) => each.key)).toEqual(['event:Ev1'])
      expect(copied).toEqual(await contents({ storeDir: '', databaseUrl: first.url }))
    },
    slow,
  )
})
