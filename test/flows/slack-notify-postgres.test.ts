import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { migrate } from '../../src/adapters/postgres/migrate.ts'
import { createPool, type Pool } from '../../src/adapters/postgres/pool.ts'
import { loadConfig } from '../../src/config.ts'
import type { Job } from '../../src/domain/jobs/job.ts'
import { silentLogger } from '../../src/logger.ts'
import { openRoster, type Roster } from '../../src/roster.ts'
import { type RunningServer, startServer } from '../../src/server.ts'
import { hasPostgres, useTestDatabase } from '../support/postgres.ts'
import { poll } from '../support/roster-process.ts'
import { createSlackDriver, type SlackDriver } from '../support/slack/driver.ts'
import { type SlackEmulator, startSlackEmulator } from '../support/slack/emulator.ts'
import { commandRequest } from '../support/slack/interactions.ts'
import { slackAdmin, slackDownAfterPost, slackEnv } from '../support/slack-harness.ts'

/**
 * The Slack side with its notification stores in PostgreSQL (thread links, outbox, replay keys): the real path
 * (signed request → Bolt → engine → outbox rows → claims → Slack Web API calls against the emulator), on one
 * database shared by two Roster processes' worth of servers in this process.
 */

const channel = 'C0GENERAL'
const upa = 'Username-Password-Authentication'
const form = 'application/x-www-form-urlencoded'

describe.skipIf(!hasPostgres)('Slack notifications in PostgreSQL', () => {
  const databaseUrl = useTestDatabase()
  let pool: Pool
  let emulator: SlackEmulator
  const running: { server: RunningServer; storeDir: string }[] = []

  beforeAll(async () => {
    pool = createPool(databaseUrl())
    await migrate(pool, databaseUrl())
  })
  afterAll(async () => {
    await pool.end()
  })
  beforeEach(async () => {
    await pool.query('TRUNCATE slack_outbox, slack_threads, slack_requests, mail_outbox, notification_marks')
    emulator = await startSlackEmulator({ users: [{ id: slackAdmin, name: 'ada' }] })
  })
  afterEach(async () => {
    for (const each of running.splice(0)) {
      await each.server.close().catch(() => undefined)
      await rm(each.storeDir, { recursive: true, force: true })
    }
    await emulator.close()
  })

  /** A Roster server whose notification stores are the test database's tables; `storeDir` new unless given. */
  async function replica(
    storeDir?: string,
  ): Promise<{ roster: Roster; server: RunningServer; driver: SlackDriver; storeDir: string }> {
    const dir = storeDir ?? (await mkdtemp(join(tmpdir(), 'roster-slack-pg-')))
    const config = loadConfig(slackEnv(emulator, dir))
    const roster = await openRoster(config, { logger: silentLogger })
    const server = await startServer(roster, config, silentLogger, {
      slack: {
        retries: 1,
        minTimeoutMs: 10,
        notifier: { retry: { baseMs: 50, capMs: 200, probeIntervalMs: 50 } },
      },
      notificationStore: { pool, databaseUrl: databaseUrl() },
    })
    running.push({ server, storeDir: dir })
    const driver = createSlackDriver({ emulator, appUrl: `http://127.0.0.1:${server.port}/slack/events` })
    return { roster, server, driver, storeDir: dir }
  }

  async function seed(roster: Roster): Promise<void> {
    const job = await roster.engine.requestImport({
      connection: upa,
      fileName: 'seed.json',
      bytes: Buffer.from(
        JSON.stringify(Array.from({ length: 12 }, (_, i) => ({ email: `u${i}@example.com` }))),
      ),
      options: { upsert: false, merge: false, dryRun: false, sendCompletionEmail: false },
      requestedBy: { via: 'cli', id: 'seed' },
    })
    await roster.engine.waitFor(job.id)
  }

  const ok = (method: string) => emulator.callsOf(method).filter((call) => call.ok === true)

  /** The export's thread holds each notification once, and the outbox holds nothing unsettled. */
  async function expectDeliveredOnce(job: Job): Promise<void> {
    await emulator.waitFor('files.completeUploadExternal', (_a, call) => call.ok === true, 25_000)
    const { rows } = await pool.query<{ channel: string; ts: string; user_id: string }>(
      'SELECT channel, ts, user_id FROM slack_threads WHERE job_id = $1',
      [job.id],
    )
    const thread = rows[0]
    expect(thread).toMatchObject({ channel, user_id: slackAdmin })
    const parent = emulator.conversation(channel).find((message) => message.ts === thread?.ts)
    expect(parent?.text).toBe(`Export ${job.id} done: 10 users → roster.csv`)
    expect(parent?.replies.map((reply) => (reply.files?.length ? 'file' : reply.text.split(' ')[0]))).toEqual(
      [`<@${slackAdmin}>`, 'Sample', 'file'],
    )
    expect(ok('chat.postMessage').filter((call) => call.args.thread_ts === thread?.ts)).toHaveLength(2)
    expect(ok('files.completeUploadExternal')).toHaveLength(1)
    await poll('every outbox row settled', async () => {
      const { rows: open } = await pool.query('SELECT id FROM slack_outbox WHERE settled_at IS NULL')
      return open.length === 0 ? true : undefined
    })
    const { rows: settled } = await pool.query<{ id: string }>('SELECT id FROM slack_outbox ORDER BY seq')
    expect(settled.map((row) => row.id)).toEqual([
      `${job.id}:final`,
      `${job.id}:result`,
      `${job.id}:sample`,
      `${job.id}:export-file`,
    ])
  }

  it('sends an export’s thread once, from the outbox table, with the thread linked in the database', async () => {
    const a = await replica()
    await seed(a.roster)
    const response = await a.driver.command('/export', {
      user: slackAdmin,
      channel,
      text: `${upa} csv sample`,
    })
    expect(response.status).toBe(200)
    const job = await poll('the export job', () =>
      a.roster.engine.listJobs(10).find((j) => j.type === 'users_export'),
    )
    await expectDeliveredOnce(job)
  })

  it('sends, once, what a stopped replica held while Slack was down, after the next one starts', async () => {
    const a = await replica()
    await seed(a.roster)
    const parentPosted = slackDownAfterPost(emulator, 'Export requested')
    await a.driver.command('/export', { user: slackAdmin, channel, text: `${upa} csv sample` })
    await parentPosted
    const job = await poll('the export job', () =>
      a.roster.engine.listJobs(10).find((j) => j.type === 'users_export'),
    )
    await a.roster.engine.waitFor(job.id)
    await poll('notifications refused while Slack is down', () =>
      emulator.calls.filter((call) => call.fault === 'down').length >= 3 ? true : undefined,
    )
    const { rows: claimed } = await pool.query('SELECT id FROM slack_outbox WHERE claimed_by IS NOT NULL')
    expect(claimed.length).toBeGreaterThan(0)
    // A stops; its claims go back to the table. The next Roster on the store (its files are where the export is)
    // takes them when Slack answers again.
    const stopped = running.splice(0, 1)[0]
    await stopped?.server.close()
    const { rows: released } = await pool.query('SELECT id FROM slack_outbox WHERE claimed_by IS NOT NULL')
    expect(released).toEqual([])
    emulator.setDown(false)
    await replica(a.storeDir)
    await expectDeliveredOnce(job)
  })

  it('runs a signed command once, whichever replica a replay of it reaches', async () => {
    const a = await replica()
    const b = await replica()
    const { fields } = commandRequest(emulator, '/jobs', { user: slackAdmin, channel })
    const body = new URLSearchParams(fields).toString()
    const first = await a.driver.send(body, form)
    expect(first.json).toMatchObject({ response_type: 'ephemeral' })
    const replay = await b.driver.send(body, form)
    expect(replay.status).toBe(200)
    expect(replay.body).toBe('')
    const reads = async (roster: Roster) =>
      (await roster.audit.recent(100)).filter((entry) => entry.action === 'jobs.read').length
    expect([await reads(a.roster), await reads(b.roster)]).toEqual([1, 0])
  })
})
