import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startSlack } from '../../src/adapters/slack/start-slack.ts'
import { loadConfig } from '../../src/config.ts'
import type { ExportJob, ImportJob } from '../../src/domain/jobs/job.ts'
import { silentLogger } from '../../src/logger.ts'
import { openRoster } from '../../src/roster.ts'
import { repoRoot } from '../support/roster-process.ts'
import { startSlackEmulator } from '../support/slack/emulator.ts'
import type { Args, Block, EmulatorCall } from '../support/slack/types.ts'
import { openSlackHarness, type SlackHarness, slackAdmin } from '../support/slack-harness.ts'

/**
 * Roster's own app in Socket Mode (`SLACK_APP_TOKEN` set): the emulator answers `apps.connections.open` with a
 * local WebSocket and delivers every command, button press and dialog submission as an envelope, which the app
 * must ack with its `envelope_id` — as Slack does when the app has no public URL.
 */

const editor = 'UEDITOR1'
const viewer = 'UVIEWER1'
const stranger = 'USTRANGER1'
const channel = 'C0GENERAL'
const upa = 'Username-Password-Authentication'
/** Bolt's Socket Mode client waits `clientPingTimeout` (5 s) before it reconnects: the ceiling leaves room. */
const reconnectCeilingMs = 20_000

const usersFile = JSON.stringify([
  { email: 'keep@example.com', given_name: 'Keep' },
  { email: 'new@example.com' },
  { email: 'broken' },
])

const openSocketHarness = () =>
  openSlackHarness({
    socketMode: true,
    emulator: {
      users: [
        { id: slackAdmin, name: 'ada' },
        { id: editor, name: 'eddie' },
        { id: viewer, name: 'vera' },
        { id: stranger, name: 'sam' },
      ],
    },
  })

let h: SlackHarness
const opened = () => {
  beforeEach(async () => {
    h = await openSocketHarness()
    await h.setRoles({ [editor]: 'editor-users', [viewer]: 'viewer-users' })
    const seed = await h.roster.engine.requestImport({
      connection: upa,
      fileName: 'seed.json',
      bytes: Buffer.from(JSON.stringify([{ email: 'keep@example.com', given_name: 'Keep' }])),
      options: { upsert: false, merge: false, dryRun: false, sendCompletionEmail: false },
      requestedBy: { via: 'cli', id: 'seed' },
    })
    await h.roster.engine.waitFor(seed.id)
  })
  afterEach(async () => {
    await h.close()
  })
}

const textOf = (call: EmulatorCall) => String(call.args.text ?? '')
const ackText = (json: unknown) => String((json as { text?: unknown } | undefined)?.text ?? '')
const buttonsOf = (call: EmulatorCall) =>
  ((call.args.blocks ?? []) as Block[])
    .filter((b) => b.type === 'actions')
    .flatMap((b) => b.elements as Args[])
const connectionId = () => h.roster.engine.listConnections().find((c) => c.name === upa)?.id ?? ''
const opens = () => h.emulator.callsOf('apps.connections.open').filter((call) => call.ok === true)

/** Resolves once the app opened a connection after the `before`-th one and is connected again. */
async function reconnected(before: number): Promise<void> {
  await h.emulator.waitFor(
    'apps.connections.open',
    (_args, call) => call.ok === true && opens().indexOf(call) >= before,
    reconnectCeilingMs,
  )
  await h.emulator.socketMode.waitForConnection(reconnectCeilingMs)
}

describe('connecting', () => {
  opened()
  it('opens one connection with the app-level token, and serves no HTTP request URL', async () => {
    expect(opens()).toHaveLength(1)
    expect(h.emulator.socketMode.connectionCount).toBe(1)
    const overHttp = await h.driver.command('/jobs', { user: slackAdmin, channel })
    expect(overHttp.status).toBe(404)
    expect(await h.roster.audit.recent(10)).toEqual([])
  })
})

describe('commands over the socket', () => {
  opened()
  it('/jobs is acked with its envelope id, and the list is the ack', async () => {
    const ack = await h.socket.command('/jobs', { user: slackAdmin, channel })
    expect(ack.json).toMatchObject({ response_type: 'ephemeral', text: 'Jobs 1–1 of 1' })
    const frame = await h.emulator.waitFor('socket_ack', (args) => args.envelope_id === ack.envelope_id)
    expect(frame.args.payload).toEqual(ack.payload)
    const [job] = h.roster.engine.listJobs(10)
    expect(JSON.stringify(ack.json)).toContain(job?.id)
    expect(h.emulator.conversation().at(-1)).toMatchObject({ ephemeralTo: slackAdmin })
  })

  it('refuses a command from someone with no role, in the ack, opens nothing and audits it', async () => {
    const ack = await h.socket.command('/import', { user: stranger, channel })
    expect(ack.json).toMatchObject({ response_type: 'ephemeral' })
    expect(ackText(ack.json)).toContain('needs the editor-users or admin role')
    expect(h.emulator.callsOf('views.open')).toEqual([])
    const audit = await h.roster.audit.recent(10)
    expect(audit.at(-1)).toMatchObject({ actor: { id: stranger }, allowed: false })
  })

  it('/import opens the dialog; its submission runs the dry run, whose preview lands in a thread', async () => {
    await h.socket.command('/import', { user: editor, channel })
    await h.emulator.waitFor('views.open', (_args, call) => call.ok === true)
    const view = h.socket.latestView(editor)
    const file = h.emulator.addFile({ name: 'users.json', content: usersFile, user: editor })
    const submitted = await h.socket.submitView(
      view.id,
      { import_file: [file.id], import_connection: connectionId(), import_options: ['upsert'] },
      editor,
    )
    // No response_action: the dialog closes, and the work goes on after the ack.
    expect(submitted.json ?? {}).not.toHaveProperty('response_action')
    expect(h.emulator.latestView(editor)).toBeUndefined()
    const preview = await h.emulator.waitFor(
      'chat.postMessage',
      (args) => typeof args.thread_ts === 'string' && String(args.text).startsWith('Dry run job_'),
    )
    const [parent] = h.emulator.conversation().filter((m) => m.ephemeralTo === undefined)
    expect(parent?.text).toBe(`:mag: Dry run of users.json into ${upa} by <@${editor}>`)
    expect(preview.args.thread_ts).toBe(parent?.ts)
    expect(textOf(preview)).toMatch(/: 1 to insert, 0 to update, 1 unchanged, 1 failed$/)
    expect(buttonsOf(preview).map((b) => b.action_id)).toEqual(['import_confirm', 'import_cancel'])
    expect(await h.roster.engine.findUsers('new@example.com')).toEqual([])
  })

  it('Import runs the real job, and its result arrives in the same thread', async () => {
    await h.socket.command('/import', { user: editor, channel })
    await h.emulator.waitFor('views.open', (_args, call) => call.ok === true)
    const file = h.emulator.addFile({ name: 'users.json', content: usersFile, user: editor })
    await h.socket.submitView(
      h.socket.latestView(editor).id,
      { import_file: [file.id], import_connection: connectionId(), import_options: ['upsert'] },
      editor,
    )
    const preview = await h.emulator.waitFor('chat.postMessage', (args) =>
      String(args.text).startsWith('Dry run job_'),
    )

    await h.socket.click({ actionId: 'import_confirm', user: slackAdmin, channel })
    const confirmed = await h.emulator.waitFor('chat.update', (args) =>
      String(args.text).includes('confirmed'),
    )
    const jobId = /job_\w+/.exec(textOf(confirmed))?.[0] ?? ''
    const job = (await h.roster.engine.waitFor(jobId)) as ImportJob
    expect(job).toMatchObject({
      status: 'completed',
      requestedBy: { via: 'slack', id: slackAdmin },
      options: { upsert: true, dryRun: false },
      summary: { inserted: 1, unchanged: 1, failed: 1, total: 3 },
    })
    expect(await h.roster.engine.findUsers('new@example.com')).toHaveLength(1)
    const result = await h.emulator.waitFor(
      'chat.postMessage',
      (args) => args.thread_ts === preview.args.thread_ts && String(args.text).includes(`${jobId} is done`),
      15_000,
    )
    expect(textOf(result)).toContain('1 inserted')
  })

  it('/export <connection> csv uploads the file into the export’s thread', async () => {
    const ack = await h.socket.command('/export', { user: viewer, channel, text: `${upa} csv` })
    expect(ack.envelope_id).toBeTruthy()
    const upload = await h.emulator.waitFor(
      'files.completeUploadExternal',
      (_args, call) => call.ok === true,
      20_000,
    )
    const job = h.roster.engine.listJobs(10).find((j): j is ExportJob => j.type === 'users_export')
    expect(job).toMatchObject({
      status: 'completed',
      format: 'csv',
      requestedBy: { via: 'slack', id: viewer },
    })
    const thread = await h.thread(job?.id ?? '')
    expect(upload.args).toMatchObject({ channel_id: channel, thread_ts: thread?.ts })
    const fileId = String((upload.args.files as Args[])[0]?.id)
    const csv = h.emulator.fileContent(fileId)?.toString('utf8') ?? ''
    expect(csv.split('\r\n')[0]).toMatch(/^user_id,email,email_verified,/)
    expect(csv).toContain('keep@example.com')
  })
})

describe('reconnecting', () => {
  opened()
  it('reconnects when the connection drops, and serves the next command', async () => {
    const before = opens().length
    h.emulator.socketMode.dropAll()
    await h.emulator.waitFor('socket_close', (args) => args.by === 'dropped')
    await reconnected(before)
    const ack = await h.socket.command('/jobs', { user: viewer, channel })
    expect(ackText(ack.json)).toBe('Jobs 1–1 of 1')
  })

  it('reconnects when Slack asks it to (a `disconnect` message), closing the old socket cleanly', async () => {
    const before = opens().length
    h.emulator.socketMode.requestReconnect()
    const closed = await h.emulator.waitFor('socket_close', undefined, reconnectCeilingMs)
    expect(closed.args).toEqual({ by: 'client', code: 1000 })
    await reconnected(before)
    expect(h.emulator.socketMode.connectionCount).toBe(1)
    const ack = await h.socket.command('/jobs', { user: viewer, channel })
    expect(ackText(ack.json)).toBe('Jobs 1–1 of 1')
  })
})

describe('shutdown', () => {
  it('closes the socket with a close frame before the server is closed', async () => {
    const harness = await openSocketHarness()
    await harness.close()
    const closes = harness.emulator.callsOf('socket_close').map((call) => call.args)
    expect(closes).toEqual([{ by: 'client', code: 1000 }])
    expect(harness.emulator.socketMode.connectionCount).toBe(0)
  })

  it('leaves nothing running: a process that shuts Roster down exits by itself', async () => {
    const session = await runToExit(join(repoRoot, 'test/support/slack/socket-mode-session.ts'), 60_000)
    expect(session, session.output).toMatchObject({ code: 0, signal: null })
    expect(session.output).toContain('acked {"response_type":"ephemeral"')
    expect(session.output).toContain('closed [{"by":"client","code":1000}]')
  })

  it('removes the engine subscriptions the Slack side made', async () => {
    const emulator = await startSlackEmulator()
    const storeDir = await mkdtemp(join(tmpdir(), 'roster-slack-stop-'))
    const config = loadConfig({ STORE_DIR: storeDir, LOG_LEVEL: 'silent', BACKUP_CRON: 'off' })
    const roster = await openRoster(config, { logger: silentLogger })
    try {
      // Counts live subscriptions around the real engine's subscribe.
      const live = new Set<object>()
      const subscribe = roster.engine.subscribe.bind(roster.engine)
      roster.engine.subscribe = (listener) => {
        const unsubscribe = subscribe(listener)
        const token = {}
        live.add(token)
        return () => {
          live.delete(token)
          unsubscribe()
        }
      }
      const slack = await startSlack({
        settings: {
          botToken: emulator.botToken,
          signingSecret: emulator.signingSecret,
          appToken: emulator.appToken,
          apiUrl: emulator.apiUrl,
        },
        bootstrapAdmins: [slackAdmin],
        engine: roster.engine,
        audit: roster.audit,
        clock: roster.engine.ctx.clock,
        logger: silentLogger,
        storeDir,
        importMaxBytes: config.limits.importMaxBytes,
      })
      // The job notifier and the import flow (dry run previews).
      expect(live.size).toBe(2)
      await slack.stop()
      expect(live.size).toBe(0)
    } finally {
      await roster.close()
      await emulator.close()
      await rm(storeDir, { recursive: true, force: true })
    }
  })
})

/** Runs a tsx script; resolves with its exit and output, or SIGKILLs it after `ceilingMs` and says it hung. */
function runToExit(
  script: string,
  ceilingMs: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> {
  const env: NodeJS.ProcessEnv = {}
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'USER']) if (process.env[key]) env[key] = process.env[key]
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: repoRoot, env })
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    output += text
  })
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    output += text
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`the process did not exit within ${ceilingMs} ms after shutting down:\n${output}`))
    }, ceilingMs)
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, output })
    })
  })
}
