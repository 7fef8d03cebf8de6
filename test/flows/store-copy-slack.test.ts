import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { readNotificationRecords } from '../../src/adapters/notification-records.ts'
import { loadConfig } from '../../src/config.ts'
import type { Job } from '../../src/domain/jobs/job.ts'
import { silentLogger } from '../../src/logger.ts'
import { openRoster } from '../../src/roster.ts'
import { type RunningServer, startServer } from '../../src/server.ts'
import { createTestDatabase, hasPostgres } from '../support/postgres.ts'
import { importUsers } from '../support/roster-harness.ts'
import { poll, RosterProcesses } from '../support/roster-process.ts'
import { createSlackDriver } from '../support/slack/driver.ts'
import { type SlackEmulator, startSlackEmulator } from '../support/slack/emulator.ts'
import { slackAdmin, slackDownAfterPost, slackEnv } from '../support/slack-harness.ts'

/**
 * The copied notification stores in use: a Slack export whose thread was started, then whose result Slack did not
 * take (Slack down), is copied embedded → PostgreSQL → embedded with its outbox still holding the rest. A Roster on
 * either copy sends the rest once, in the job's own thread (the parent message posted before the copy).
 */

const channel = 'C0GENERAL'
const upa = 'Username-Password-Authentication'

describe.skipIf(!hasPostgres)('roster store copy of Slack threads and outboxes', () => {
  const processes = new RosterProcesses()
  let dir: string
  let emulator: SlackEmulator
  let database: { url: string; drop(): Promise<void> }
  let server: RunningServer | undefined

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'roster-store-copy-slack-'))
    emulator = await startSlackEmulator({ users: [{ id: slackAdmin, name: 'ada' }] })
    database = await createTestDatabase()
  })
  async function stop(): Promise<void> {
    await server?.close()
    server = undefined
  }
  afterEach(async () => {
    await stop()
    processes.killAll()
  })
  afterAll(async () => {
    await emulator?.close()
    await database?.drop()
    await rm(dir, { recursive: true, force: true })
  })

  /** Roster as main.ts runs it, with Slack, on `env`'s store (STORE_DIR, or DATABASE_URL too). */
  async function start(env: Record<string, string>) {
    const config = loadConfig(env)
    const roster = await openRoster(config, { logger: silentLogger })
    server = await startServer(roster, config, silentLogger, {
      slack: {
        retries: 1,
        minTimeoutMs: 10,
        notifier: { retry: { baseMs: 50, capMs: 200, probeIntervalMs: 50 } },
      },
    })
    return {
      roster,
      driver: createSlackDriver({ emulator, appUrl: `http://127.0.0.1:${server.port}/slack/events` }),
    }
  }

  async function copy(from: string, to: string): Promise<void> {
    const run = await processes.runCli(dir, ['store', 'copy', '--from', from, '--to', to], {
      timeoutMs: 120_000,
    })
    if (run.code !== 0) throw new Error(`store copy exited ${run.code}: ${run.stderr}`)
  }

  const okInThread = (method: string, ts: string) =>
    emulator.callsOf(method).filter((call) => call.ok === true && call.args.thread_ts === ts)

  /** The export's result, sample and file, each once more in the thread `ts` than `before`. */
  async function expectSentInThread(ts: string, before: { posts: number; files: number }): Promise<void> {
    await poll('the export file in the thread', () =>
      okInThread('files.completeUploadExternal', ts).length > before.files ? true : undefined,
    )
    expect(okInThread('chat.postMessage', ts)).toHaveLength(before.posts + 2)
    expect(okInThread('files.completeUploadExternal', ts)).toHaveLength(before.files + 1)
  }

  it('sends what the source had not sent, once, in the job’s thread, from either copy', async () => {
    const source = join(dir, 'source')
    const a = await start(slackEnv(emulator, source))
    await importUsers(
      a.roster.engine,
      Array.from({ length: 12 }, (_, i) => ({ email: `u${i}@example.com` })),
    )
    // Slack goes down once the thread's parent is posted: the rest stays in the outbox.
    const parentPosted = slackDownAfterPost(emulator, 'Export requested')
    await a.driver.command('/export', { user: slackAdmin, channel, text: `${upa} csv sample` })
    await parentPosted
    const job: Job = await poll('the export job', () =>
      a.roster.engine.listJobs(10).find((each) => each.type === 'users_export'),
    )
    await a.roster.engine.waitFor(job.id)
    await poll('notifications refused while Slack is down', () =>
      emulator.calls.filter((call) => call.fault === 'down').length >= 3 ? true : undefined,
    )
    await stop()
    const left = await readNotificationRecords({ storeDir: source })
    const ts = left.threads[job.id]?.ts
    const parent = emulator
      .conversation(channel)
      .find((message) => message.text.startsWith('Export requested'))
    expect(ts).toBe(parent?.ts)
    expect(left.slackOutbox?.pending.map((item) => item.id)).toContain(`${job.id}:result`)

    const back = join(dir, 'back')
    await copy(source, database.url)
    await copy(database.url, back)
    emulator.setDown(false)
    const none = { posts: 0, files: 0 }
    expect(okInThread('chat.postMessage', ts ?? '')).toHaveLength(0)

    await start(slackEnv(emulator, back))
    await expectSentInThread(ts ?? '', none)
    await stop()

    await start({ ...slackEnv(emulator, join(dir, 'pg-cache')), DATABASE_URL: database.url })
    await expectSentInThread(ts ?? '', { posts: 2, files: 1 })
  }, 240_000)
})
