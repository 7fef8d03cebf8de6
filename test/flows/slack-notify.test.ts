import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { randomIds } from '../../src/adapters/system.ts'
import { loadConfig } from '../../src/config.ts'
import type { ImportJob, Job } from '../../src/domain/jobs/job.ts'
import type { Ids } from '../../src/engine/ports.ts'
import { silentLogger } from '../../src/logger.ts'
import { openRoster } from '../../src/roster.ts'
import { startServer } from '../../src/server.ts'
import { importUsers } from '../support/roster-harness.ts'
import { poll } from '../support/roster-process.ts'
import { createSlackDriver } from '../support/slack/driver.ts'
import { type SlackEmulator, startSlackEmulator } from '../support/slack/emulator.ts'
import type { ConversationMessage } from '../support/slack/render.ts'
import type { Args, EmulatorCall, Fault } from '../support/slack/types.ts'
import { openSlackHarness, type SlackHarness, slackAdmin, slackEnv } from '../support/slack-harness.ts'
import { tempDir } from '../support/temp-dir.ts'

const editor = 'UEDITOR1'
const channel = 'C0GENERAL'
const upa = 'Username-Password-Authentication'
const people = [
  { id: slackAdmin, name: 'ada' },
  { id: editor, name: 'eddie' },
]

const ok = (emulator: SlackEmulator, method: string) => emulator.callsOf(method).filter((c) => c.ok === true)
const textOf = (call: EmulatorCall) => String(call.args.text ?? '')
const replyKinds = (parent: ConversationMessage) =>
  parent.replies.map((r) =>
    r.files?.length ? `file:${r.files.map((f) => f.name).join(',')}` : r.text.split(' ')[0],
  )

async function threadsOf(
  storeDir: string,
): Promise<Record<string, { channel: string; ts: string; user: string }>> {
  try {
    return JSON.parse(await readFile(join(storeDir, 'slack-threads.json'), 'utf8')).threads
  } catch {
    return {}
  }
}

async function parentOf(
  emulator: SlackEmulator,
  storeDir: string,
  jobId: string,
): Promise<ConversationMessage> {
  const thread = (await threadsOf(storeDir))[jobId]
  const parent = thread && emulator.conversation(thread.channel).find((m) => m.ts === thread.ts)
  if (!parent) throw new Error(`no parent message for ${jobId}\n${emulator.transcript()}`)
  return parent
}

describe('an import from the /import flow', () => {
  let h: SlackHarness
  beforeEach(async () => {
    h = await openSlackHarness({ emulator: { users: people } })
    await h.setRoles({ [editor]: 'editor-users' })
  })
  afterEach(async () => {
    await h.close()
  })

  /** /import → dialog → dry run → Import pressed by the admin: the import's id. */
  async function importThroughSlack(file: string): Promise<string> {
    await h.driver.command('/import', { user: editor, channel })
    await h.emulator.waitFor('views.open', (_args, call) => call.ok === true)
    const view = h.driver.latestView(editor)
    const picked = h.emulator.addFile({ name: 'users.json', content: file, user: editor })
    const connection = h.roster.engine.listConnections().find((c) => c.name === upa)?.id
    await h.driver.submitView(
      view.id,
      { import_file: [picked.id], import_connection: connection, import_options: [] },
      editor,
    )
    await h.emulator.waitFor('chat.postMessage', (args) => String(args.text).startsWith('Dry run job_'))
    const response = await h.driver.click({ actionId: 'import_confirm', user: slackAdmin, channel })
    expect(response.status).toBe(200)
    const job = await poll('the import job', () =>
      h.roster.engine.listJobs(10).find((j) => j.type === 'users_import' && !j.options.dryRun),
    )
    return job.id
  }

  it('updates the parent, replies with the result mentioning both people, and attaches the two error files', async () => {
    const file = JSON.stringify([
      { email: 'new@example.com' },
      { email: 'broken' },
      { email: 'other@example.com' },
    ])
    const jobId = await importThroughSlack(file)
    const job = (await h.roster.engine.waitFor(jobId)) as ImportJob
    expect(job.summary).toMatchObject({ inserted: 2, failed: 1 })
    const upload = await h.emulator.waitFor(
      'files.completeUploadExternal',
      (_a, call) => call.ok === true,
      15_000,
    )

    const parent = await parentOf(h.emulator, h.storeDir, jobId)
    expect(parent.text).toBe(`Import ${jobId} done: 2 inserted, 0 updated, 0 unchanged, 1 failed`)
    // The dry run's preview (the import flow's), then the import's result and its error report, in one thread.
    expect(replyKinds(parent).slice(1)).toEqual([
      `<@${slackAdmin}>`,
      `file:${jobId}-errors.json,${jobId}-failed-users.json`,
    ])
    expect(parent.replies[0]?.text).toContain('confirmed')
    const result = parent.replies[1]
    expect(result?.text).toMatch(
      new RegExp(`^<@${slackAdmin}> <@${editor}> Import ${jobId} is done: 2 inserted`),
    )
    expect(result?.text).toContain('1 user failed')
    expect(upload.args).toMatchObject({ channel_id: channel, thread_ts: parent.ts })
    const [errorsFile, failedFile] = (upload.args.files as Args[]).map((f) =>
      h.emulator.fileContent(String(f.id)),
    )
    expect(JSON.parse(String(errorsFile))).toMatchObject([{ user: { email: 'broken' }, index: 1 }])
    expect(JSON.parse(String(failedFile))).toEqual([{ email: 'broken' }])
  })
})

describe('faults on every call the notifier makes', () => {
  let h: SlackHarness
  beforeEach(async () => {
    h = await openSlackHarness({ emulator: { users: people } })
    await importUsers(
      h.roster.engine,
      Array.from({ length: 12 }, (_, i) => ({ email: `u${i}@example.com` })),
      { connection: upa },
    )
  })
  afterEach(async () => {
    await h.close()
  })

  /**
   * `/export … csv sample`, with `inject` run the moment Slack took the parent message (synchronously, in the
   * emulator's call log): every Slack call after it is the notifier's. Resolves with the export job.
   */
  async function exportWith(inject: () => void): Promise<Job> {
    let injected = false
    const parentPosted = h.emulator.waitFor('chat.postMessage', (args, call) => {
      if (injected || call.ok !== true || !String(args.text).startsWith('Export requested')) return false
      injected = true
      inject()
      return true
    })
    const response = await h.driver.command('/export', {
      user: slackAdmin,
      channel,
      text: `${upa} csv sample`,
    })
    expect(response.status).toBe(200)
    await parentPosted
    return poll('the export job', () => h.roster.engine.listJobs(10).find((j) => j.type === 'users_export'))
  }

  /** The thread holds each notification exactly once, and Slack accepted each exactly once. */
  async function expectDeliveredOnce(jobId: string): Promise<void> {
    await h.emulator.waitFor('files.completeUploadExternal', (_a, call) => call.ok === true, 25_000)
    const parent = await parentOf(h.emulator, h.storeDir, jobId)
    expect(parent.text).toBe(`Export ${jobId} done: 10 users → roster.csv`)
    expect(replyKinds(parent)).toEqual([`<@${slackAdmin}>`, 'Sample', 'file:roster.csv'])
    expect(ok(h.emulator, 'chat.postMessage').filter((c) => c.args.thread_ts === parent.ts)).toHaveLength(2)
    expect(ok(h.emulator, 'chat.update').filter((c) => textOf(c).includes(' done: '))).toHaveLength(1)
    expect(ok(h.emulator, 'files.completeUploadExternal')).toHaveLength(1)
  }

  const notifierMethods = [
    'chat.update',
    'chat.postMessage',
    'files.getUploadURLExternal',
    'upload',
    'files.completeUploadExternal',
  ]
  const faults: { name: string; fault: Fault; methods: string[] }[] = [
    {
      name: '429 with Retry-After',
      fault: { kind: 'ratelimited', retryAfterS: 1 },
      methods: notifierMethods,
    },
    // An ok:false body means nothing on the upload URL (Slack answers it with a status only).
    {
      name: 'ok:false internal_error',
      fault: { kind: 'error', error: 'internal_error' },
      methods: notifierMethods.filter((m) => m !== 'upload'),
    },
    { name: 'HTTP 500', fault: { kind: 'http', status: 500 }, methods: notifierMethods },
  ]

  for (const { name, fault, methods } of faults) {
    it(`delivers each notification exactly once after a ${name} on every call`, async () => {
      const job = await exportWith(() => {
        for (const method of methods) h.emulator.failNext(method, fault)
      })
      await expectDeliveredOnce(job.id)
      for (const method of methods) {
        expect(
          h.emulator.callsOf(method).filter((c) => c.fault === fault.kind),
          method,
        ).toHaveLength(1)
      }
    })
  }

  it('keeps a notification through 500s beyond the client’s own retries, and sends it once', async () => {
    const job = await exportWith(() =>
      h.emulator.failNext('chat.postMessage', { kind: 'http', status: 500 }, 5),
    )
    await expectDeliveredOnce(job.id)
    expect(h.emulator.callsOf('chat.postMessage').filter((c) => c.fault === 'http')).toHaveLength(5)
  })

  it('keeps everything while Slack is down for a while, and sends each once it answers again', async () => {
    const job = await exportWith(() => h.emulator.setDown(true))
    await h.roster.engine.waitFor(job.id)
    // Down long enough for the notifier to give up on its client's retries and keep the notifications.
    await poll(
      'calls refused while down',
      () => (h.emulator.calls.filter((c) => c.fault === 'down').length >= 6 ? true : undefined),
      {
        timeoutMs: 20_000,
      },
    )
    expect(ok(h.emulator, 'chat.postMessage').filter((c) => c.args.thread_ts !== undefined)).toEqual([])
    h.emulator.setDown(false)
    await expectDeliveredOnce(job.id)
  })
})

/** Roster on `storeDir` as main.ts runs it (same config as the harness), for tests that restart it or pick ids. */
async function startRoster(
  emulator: SlackEmulator,
  storeDir: string,
  env: Record<string, string> = {},
  ids?: Ids,
) {
  const config = loadConfig({
    ...slackEnv(emulator, storeDir),
    ...env,
  })
  const roster = await openRoster(config, { logger: silentLogger, ...(ids ? { ids } : {}) })
  const server = await startServer(roster, config, silentLogger)
  const driver = createSlackDriver({ emulator, appUrl: `http://127.0.0.1:${server.port}/slack/events` })
  return { roster, server, driver }
}

describe('a restart', () => {
  let emulator: SlackEmulator
  beforeEach(async () => {
    emulator = await startSlackEmulator({ users: people })
  })
  afterEach(async () => {
    await emulator.close()
  })

  it('sends what the outbox still held, and nothing that was already sent', async () => {
    const storeDir = await tempDir()
    const first = await startRoster(emulator, storeDir)
    await importUsers(first.roster.engine, [{ email: 'a@example.com' }, { email: 'b@example.com' }], {
      connection: upa,
    })
    // Slack goes down as the file upload starts: the parent's final state, the result and the table are sent;
    // the file is not.
    let down = false
    emulator
      .waitFor(
        'files.getUploadURLExternal',
        () => {
          if (!down) emulator.setDown(true)
          down = true
          return true
        },
        20_000,
      )
      .catch(() => undefined)
    await first.driver.command('/export', { user: slackAdmin, channel, text: 'csv sample' })
    const job = await poll('the export job', () =>
      first.roster.engine.listJobs(10).find((j) => j.type === 'users_export'),
    )
    await first.roster.engine.waitFor(job.id)
    const outboxFile = join(storeDir, 'slack-outbox.json')
    const outbox = await poll(
      'the file upload kept in the outbox, the rest settled',
      async () => {
        const saved = JSON.parse(await readFile(outboxFile, 'utf8'))
        return saved.settled.includes(`${job.id}:sample`) ? saved : undefined
      },
      { timeoutMs: 20_000 },
    )
    expect(outbox.pending.map((n: { id: string }) => n.id)).toEqual([`${job.id}:export-file`])
    // The upload was tried, and failed: Slack went down as it began. Waiting for the client's last retry (1 + 3
    // tries, Roster's default) means no call of this server is still under way when the next one starts.
    await poll('the upload tried and given up', () =>
      emulator.callsOf('upload').filter((c) => c.fault === 'down').length >= 4 ? true : undefined,
    )
    await first.server.close()

    emulator.setDown(false)
    const second = await startRoster(emulator, storeDir)
    try {
      await emulator.waitFor('files.completeUploadExternal', (_a, call) => call.ok === true, 20_000)
      const parent = await parentOf(emulator, storeDir, job.id)
      expect(replyKinds(parent)).toEqual([`<@${slackAdmin}>`, 'Sample', 'file:roster.csv'])
      expect(ok(emulator, 'chat.postMessage').filter((c) => c.args.thread_ts === parent.ts)).toHaveLength(2)
      // Slack has answered; the outbox records it as settled right after.
      await poll('the outbox emptied', async () =>
        JSON.parse(await readFile(outboxFile, 'utf8')).pending.length === 0 ? true : undefined,
      )
    } finally {
      await second.server.close()
    }
  })
})

describe('a large import', () => {
  let emulator: SlackEmulator
  beforeEach(async () => {
    emulator = await startSlackEmulator({ users: people })
  })
  afterEach(async () => {
    await emulator.close()
  })

  it('leaves /jobs answered within 3 s while 100,000 users import, and reports progress in its thread', async () => {
    const storeDir = await tempDir()
    // The job's thread exists before the job: its parent, posted as Roster would, linked to the id it will get.
    const jobId = 'job_BIGIMPORT0000001'
    const parent = emulator.workspace.post({
      channel,
      user: emulator.botUserId,
      text: 'Import of big.json',
      asBot: true,
    })
    await writeFile(
      join(storeDir, 'slack-threads.json'),
      JSON.stringify({ threads: { [jobId]: { channel, ts: parent.message.ts, user: editor } } }),
    )
    let next: string | undefined = jobId
    const ids: Ids = { ...randomIds, jobId: () => next ?? randomIds.jobId() }
    const { roster, driver, server } = await startRoster(
      emulator,
      storeDir,
      { IMPORT_MAX_BYTES: '20000000' },
      ids,
    )
    try {
      const users = Array.from({ length: 100_000 }, (_, i) => ({
        email: `user${i}@example.com`,
        given_name: `User${i}`,
      }))
      const job = await roster.engine.requestImport({
        connection: upa,
        fileName: 'big.json',
        bytes: Buffer.from(JSON.stringify(users)),
        options: { upsert: false, merge: false, dryRun: false, sendCompletionEmail: false },
        requestedBy: { via: 'slack', id: editor },
      })
      next = undefined
      expect(job.id).toBe(jobId)
      const acks: { status: number; ms: number }[] = []
      let finished = false
      const done = roster.engine.waitFor(jobId).then((j) => {
        finished = true
        return j
      })
      while (!finished || acks.length < 5) {
        const response = await driver.command('/jobs', { user: slackAdmin, channel })
        acks.push({ status: response.status, ms: response.ms })
        if (!finished) await new Promise((resolve) => setTimeout(resolve, 200))
      }
      expect((await done).status).toBe('completed')
      expect(
        acks.every((a) => a.status === 200 && a.ms < 3000),
        JSON.stringify(acks),
      ).toBe(true)

      await emulator.waitFor('chat.postMessage', (args) => String(args.text).includes('is done'), 15_000)
      const progress = ok(emulator, 'chat.update')
        .filter((c) => c.args.ts === parent.message.ts)
        .map(textOf)
      expect(
        progress.some((text) => /: \d+% \([\d,]+ of 100,000 users\)/.test(text) && !text.includes(': 100%')),
      ).toBe(true)
      expect(progress.at(-1)).toBe(`Import ${jobId} done: 100,000 inserted, 0 updated, 0 unchanged, 0 failed`)
      const replies = emulator
        .conversation()
        .find((m) => m.ts === parent.message.ts)
        ?.replies.map((r) => r.text)
      expect(replies).toHaveLength(2)
      expect(replies?.[0]).toMatch(
        new RegExp(`^<@${editor}> Import \`${jobId}\` is halfway: [\\d,]+ of 100,000 users done\\.$`),
      )
      expect(replies?.[1]).toBe(
        `<@${editor}> Import ${jobId} is done: 100,000 inserted, 0 updated, 0 unchanged, 0 failed.`,
      )
    } finally {
      await server.close()
    }
  }, 90_000)
})
