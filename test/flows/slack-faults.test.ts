import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { SlackTuning } from '../../src/adapters/slack/start-slack.ts'
import { loadConfig } from '../../src/config.ts'
import { silentLogger } from '../../src/logger.ts'
import { openRoster } from '../../src/roster.ts'
import { startServer } from '../../src/server.ts'
import { poll } from '../support/roster-process.ts'
import { createSlackDriver } from '../support/slack/driver.ts'
import { startSlackEmulator } from '../support/slack/emulator.ts'
import type { ConversationMessage } from '../support/slack/render.ts'
import type { Args, EmulatorCall, Fault } from '../support/slack/types.ts'
import { openSlackHarness, type SlackHarness, slackAdmin, slackEnv } from '../support/slack-harness.ts'
import { tempDir } from '../support/temp-dir.ts'

/**
 * Every Slack call the listeners make, under 429 / ok:false / 5xx / an outage. The WebClient (and Roster, for
 * `response_url` and downloads) retries twice, milliseconds apart, so "exhausted" below is three failures in a row.
 * Messages that carry the outcome of work are delivered once after recovery; replies only the presser sees are
 * retried, then fall back (ephemeral → direct message); the person is always told something.
 */

const editor = 'UEDITOR1'
const channel = 'C0GENERAL'
const upa = 'Username-Password-Authentication'
const exhausted = 3

const fast: SlackTuning = {
  retries: exhausted - 1,
  minTimeoutMs: 5,
  reconnectMs: 50,
  notifier: {
    retry: { baseMs: 40, capMs: 200, probeIntervalMs: 50 },
    channel: { intervalMs: 10, burst: 5 },
    jobIntervalMs: 50,
    threadGraceMs: 300,
  },
}

const ratelimited: Fault = { kind: 'ratelimited', retryAfterS: 1 }
const internalError: Fault = { kind: 'error', error: 'internal_error' }
const http500: Fault = { kind: 'http', status: 500 }
const channelNotFound: Fault = { kind: 'error', error: 'channel_not_found' }

const usersFile = JSON.stringify([{ email: 'new@example.com' }, { email: 'other@example.com' }])

let h: SlackHarness
beforeEach(async () => {
  h = await openSlackHarness({
    slack: fast,
    emulator: {
      users: [
        { id: slackAdmin, name: 'ada' },
        { id: editor, name: 'eddie' },
      ],
    },
  })
  await h.setRoles({ [editor]: 'editor-users' })
})
afterEach(async () => {
  await h.close()
})

const text = (call: EmulatorCall) => String(call.args.text ?? '')
const accepted = (method: string, match: (args: Args) => boolean = () => true) =>
  h.emulator.callsOf(method).filter((c) => c.ok === true && match(c.args))
const faulted = (method: string) => h.emulator.callsOf(method).filter((c) => c.fault !== undefined)
const isDryRunParent = (args: Args) => String(args.text).startsWith(':mag: Dry run of')
const isPreview = (args: Args) =>
  typeof args.thread_ts === 'string' && String(args.text).startsWith('Dry run job_')
const isExportParent = (args: Args) => String(args.text).startsWith('Export requested')

/** What `user` was told only for them: ephemeral messages in `where`, and their direct messages with Roster. */
function toldTo(user: string, where = channel): string[] {
  const ephemeral = h.emulator.workspace
    .messages(where)
    .filter((m) => m.ephemeralTo === user)
    .map((m) => m.message.text)
  const direct = h.emulator.workspace.messages(`D${user.slice(1)}`).map((m) => m.message.text)
  return [...ephemeral, ...direct]
}

function told(user: string, pattern: RegExp, where = channel): Promise<string> {
  return poll(`${user} told ${pattern}`, () => toldTo(user, where).find((t) => pattern.test(t)), {
    timeoutMs: 8000,
  })
}

/** The top-level message `ts` of `where`, with its thread. */
function messageAt(ts: string, where = channel): ConversationMessage {
  const found = h.emulator.conversation(where).find((m) => m.ts === ts)
  if (!found) throw new Error(`no message ${ts}\n${h.emulator.transcript(where)}`)
  return found
}

/** `/import` → the dialog → a picked users file submitted. Resolves once the submission was acked. */
async function submitImport(user = editor): Promise<void> {
  const response = await h.driver.command('/import', { user, channel })
  expect(response.status).toBe(200)
  await h.emulator.waitFor('views.open', (_a, call) => call.ok === true)
  const view = h.driver.latestView(user)
  const file = h.emulator.addFile({ name: 'users.json', content: usersFile, user })
  const connection = h.roster.engine.listConnections().find((c) => c.name === upa)?.id
  const submitted = await h.driver.submitView(
    view.id,
    { import_file: [file.id], import_connection: connection, import_options: [] },
    user,
  )
  expect(submitted.status).toBe(200)
}

/** Once Slack takes the dry run's parent (synchronously, in the call log): `inject` runs, before the preview. */
function onDryRunParent(inject: () => void): void {
  let done = false
  h.emulator
    .waitFor(
      'chat.postMessage',
      (args, call) => {
        if (done || call.ok !== true || !isDryRunParent(args)) return false
        done = true
        inject()
        return true
      },
      15_000,
    )
    .catch(() => undefined)
}

/** The dry run's parent and preview reached the channel exactly once each, the preview in the parent's thread. */
async function expectDryRunThreadOnce(): Promise<{ parent: ConversationMessage; dryRunId: string }> {
  const preview = await h.emulator.waitFor(
    'chat.postMessage',
    (a, c) => c.ok === true && isPreview(a),
    10_000,
  )
  expect(accepted('chat.postMessage', isDryRunParent)).toHaveLength(1)
  expect(accepted('chat.postMessage', isPreview)).toHaveLength(1)
  const parent = messageAt(String(preview.args.thread_ts))
  expect(parent.text).toMatch(/^:mag: Dry run of users\.json/)
  expect(parent.replies.map((r) => r.text.split(':')[0])).toEqual([text(preview).split(':')[0]])
  const dryRunId = /job_\w+/.exec(text(preview))?.[0] ?? ''
  expect(await h.thread(dryRunId)).toMatchObject({ channel, ts: parent.ts, user: editor })
  return { parent, dryRunId }
}

describe('views.open (/import, /export, the file offer’s button)', () => {
  it('opens the dialog after a 429, once its Retry-After has passed', async () => {
    h.emulator.failNext('views.open', ratelimited)
    await h.driver.command('/import', { user: editor, channel })
    await h.emulator.waitFor('views.open', (_a, call) => call.ok === true)
    expect(h.driver.latestView(editor).callback_id).toBe('import_modal')
    expect(faulted('views.open')).toHaveLength(1)
  })

  it('opens the dialog after a 500 within the client’s retries', async () => {
    h.emulator.failNext('views.open', http500, exhausted - 1)
    await h.driver.command('/import', { user: editor, channel })
    await h.emulator.waitFor('views.open', (_a, call) => call.ok === true)
    expect(toldTo(editor)).toEqual([])
  })

  it('tells the person what happened and what to do when 500s outlast the retries', async () => {
    h.emulator.failNext('views.open', http500, exhausted)
    const response = await h.driver.command('/import', { user: editor, channel })
    expect(response.status).toBe(200)
    expect(await told(editor, /dialog/)).toBe(
      ':warning: Slack did not open the import dialog (http_500). Run `/import` again.',
    )
    expect(h.emulator.latestView(editor)).toBeUndefined()
  })

  it('tells the person after ok:false (not retried: Slack answered)', async () => {
    h.emulator.failNext('views.open', internalError)
    await h.driver.command('/export', { user: slackAdmin, channel })
    expect(await told(slackAdmin, /dialog/)).toMatch(
      /^:warning: Slack did not open the export dialog \(internal_error\)\. Run `\/export` again/,
    )
    expect(h.emulator.callsOf('views.open')).toHaveLength(1)
  })

  it('tells the person when views.open gets no answer at all (the connection cut off)', async () => {
    h.emulator.failNext('views.open', { kind: 'down' }, exhausted)
    await h.driver.command('/import', { user: editor, channel })
    expect(await told(editor, /dialog/)).toContain('(network)')
    expect(accepted('response_url')).toHaveLength(1)
  })

  it('says to press the file offer’s button again when its dialog did not open', async () => {
    const { ts } = await h.driver.dropFile({ name: 'drop.json', content: usersFile, user: editor })
    await h.emulator.waitFor('chat.postMessage', (a, c) => c.ok === true && a.thread_ts === ts)
    h.emulator.failNext('views.open', internalError)
    await h.driver.click({ actionId: 'import_open', user: editor, channel })
    expect(await told(editor, /dialog/)).toBe(
      ':warning: Slack did not open the import dialog (internal_error). Press the button again.',
    )
  })
})

describe('respond() — the response URL', () => {
  it('delivers the reply after a 429, once its Retry-After has passed', async () => {
    h.emulator.failNext('views.open', internalError)
    h.emulator.failNext('response_url', ratelimited)
    await h.driver.command('/import', { user: editor, channel })
    await told(editor, /did not open the import dialog/)
    expect(h.emulator.callsOf('response_url').map((c) => c.status)).toEqual([429, 200])
    expect(accepted('chat.postEphemeral')).toEqual([])
  })

  it('delivers the reply after a 500 within the retries', async () => {
    h.emulator.failNext('views.open', internalError)
    h.emulator.failNext('response_url', http500, exhausted - 1)
    await h.driver.command('/import', { user: editor, channel })
    await told(editor, /did not open the import dialog/)
    expect(h.emulator.callsOf('response_url').map((c) => c.status)).toEqual([500, 500, 200])
  })

  it('falls back to chat.postEphemeral when the response URL keeps failing', async () => {
    h.emulator.failNext('views.open', internalError)
    h.emulator.failNext('response_url', http500, exhausted)
    await h.driver.command('/import', { user: editor, channel })
    await told(editor, /did not open the import dialog/)
    expect(accepted('response_url')).toEqual([])
    expect(accepted('chat.postEphemeral').map(text)).toEqual([
      ':warning: Slack did not open the import dialog (internal_error). Run `/import` again.',
    ])
  })

  it('falls back to a direct message when the channel refuses the ephemeral too', async () => {
    h.emulator.failNext('views.open', internalError)
    h.emulator.failNext('response_url', { kind: 'down' }, exhausted)
    h.emulator.failNext('chat.postEphemeral', channelNotFound)
    await h.driver.command('/import', { user: editor, channel })
    await told(editor, /did not open the import dialog/)
    expect(accepted('chat.postMessage', (a) => a.channel === editor)).toHaveLength(1)
  })
})

describe('files.info and the download of the picked file', () => {
  const cases: { name: string; method: string; fault: Fault; times: number }[] = [
    { name: 'files.info 429', method: 'files.info', fault: ratelimited, times: 1 },
    { name: 'files.info 500', method: 'files.info', fault: http500, times: exhausted - 1 },
    { name: 'download 429', method: 'download', fault: ratelimited, times: 1 },
    { name: 'download 503', method: 'download', fault: { kind: 'http', status: 503 }, times: exhausted - 1 },
    { name: 'download cut off', method: 'download', fault: { kind: 'down' }, times: exhausted - 1 },
  ]
  for (const { name, method, fault, times } of cases) {
    it(`runs the dry run after a ${name} within the retries`, async () => {
      h.emulator.failNext(method, fault, times)
      await submitImport()
      await expectDryRunThreadOnce()
      expect(faulted(method)).toHaveLength(times)
    })
  }

  const refusals: { name: string; method: string; fault: Fault; told: string }[] = [
    {
      name: 'files.info answering 500 beyond the retries',
      method: 'files.info',
      fault: http500,
      told: 'Slack did not describe the file (files.info: http_500), so nothing was started. Try again in a moment.',
    },
    {
      name: 'files.info answering ok:false internal_error',
      method: 'files.info',
      fault: internalError,
      told: 'Slack did not describe the file (files.info: internal_error), so nothing was started. Try again in a moment.',
    },
    {
      name: 'the download answering 500 beyond the retries',
      method: 'download',
      fault: http500,
      told: 'Slack did not hand over users.json (HTTP 500). Try again.',
    },
    {
      name: 'the download cut off beyond the retries',
      method: 'download',
      fault: { kind: 'down' },
      told: 'Slack did not answer while Roster downloaded users.json, so nothing was started. Try again in a moment.',
    },
  ]
  for (const refusal of refusals) {
    it(`tells the person, and starts nothing, after ${refusal.name}`, async () => {
      h.emulator.failNext(refusal.method, refusal.fault, exhausted)
      await submitImport()
      expect(await told(editor, /No dry run/)).toBe(
        `:warning: No dry run of ${refusal.method === 'files.info' ? 'the file' : 'users.json'}: ${refusal.told}`,
      )
      expect(h.roster.engine.listJobs(10).filter((j) => j.type === 'users_import')).toEqual([])
    })
  }
})

describe('the dry run’s parent message', () => {
  it('is posted after a 429, and the preview follows in its thread', async () => {
    h.emulator.failNext('chat.postMessage', ratelimited)
    await submitImport()
    await expectDryRunThreadOnce()
  })

  it("is kept after 429s beyond the WebClient's retries, and posted once its Retry-After has passed", async () => {
    // The outbox courier retries on its own; the strict emulator refuses (and fails this test) a retry that
    // comes before the Retry-After of the last 429.
    h.emulator.failNext('chat.postMessage', ratelimited, exhausted)
    await submitImport()
    await expectDryRunThreadOnce()
    expect(h.emulator.callsOf('chat.postMessage').filter((c) => c.status === 429)).toHaveLength(exhausted)
  })

  for (const [name, fault] of [
    ['ok:false internal_error', internalError],
    ['500s beyond the retries', http500],
  ] as const) {
    it(`is kept after ${name}, and posted once when Slack takes it, with the preview in its thread`, async () => {
      h.emulator.failNext('chat.postMessage', fault, fault === http500 ? exhausted : 1)
      await submitImport()
      expect(await told(editor, /^:hourglass: Dry run/)).toMatch(
        /^:hourglass: Dry run `job_\w+` started\. Slack did not take Roster's message just now \((internal_error|http_500)\); its thread appears here when Slack does\.$/,
      )
      await expectDryRunThreadOnce()
    })
  }

  it('is kept through an outage, and the thread arrives once when Slack answers again', async () => {
    h.emulator.waitFor('file_cdn', (_a, call) => call.status === 200).then(() => h.emulator.setDown(true))
    await submitImport()
    const job = await poll('the dry run', () =>
      h.roster.engine.listJobs(10).find((j) => j.type === 'users_import'),
    )
    await h.roster.engine.waitFor(job.id)
    await poll('parent posts refused while down', () =>
      h.emulator.callsOf('chat.postMessage').filter((c) => c.fault === 'down').length >= exhausted
        ? true
        : undefined,
    )
    expect(accepted('chat.postMessage')).toEqual([])
    h.emulator.setDown(false)
    const { dryRunId } = await expectDryRunThreadOnce()
    expect(dryRunId).toBe(job.id)
  })

  it('refused for good (channel_not_found): the person is told, and the preview comes by direct message', async () => {
    h.emulator.failNext('chat.postMessage', channelNotFound)
    await submitImport()
    expect(await told(editor, /cannot post in this channel/)).toMatch(
      /^:warning: Dry run `job_\w+` started, but Roster cannot post in this channel \(channel_not_found\): its result comes by direct message\./,
    )
    const preview = await h.emulator.waitFor(
      'chat.postMessage',
      (a, c) => c.ok === true && isPreview(a),
      10_000,
    )
    const dm = `D${editor.slice(1)}`
    const parent = h.emulator.conversation(dm).find((m) => m.ts === preview.args.thread_ts)
    expect(parent?.replies.map((r) => r.text.slice(0, 12))).toEqual(['Dry run job_'])
    expect(accepted('chat.postMessage', isPreview)).toHaveLength(1)
  })
})

describe('the dry run’s preview (Import / Cancel), kept in the outbox', () => {
  const faults: [string, Fault, number][] = [
    ['a 429', ratelimited, 1],
    ['ok:false internal_error', internalError, 2],
    ['500s beyond the retries', http500, exhausted + 2],
  ]
  for (const [name, fault, times] of faults) {
    it(`is posted once in the thread after ${name}`, async () => {
      onDryRunParent(() => h.emulator.failNext('chat.postMessage', fault, times))
      await submitImport()
      await expectDryRunThreadOnce()
      expect(faulted('chat.postMessage')).toHaveLength(times)
    })
  }

  it('is posted once after an outage that began as the parent was posted', async () => {
    onDryRunParent(() => h.emulator.setDown(true))
    await submitImport()
    await poll('preview posts refused while down', () =>
      faulted('chat.postMessage').length >= exhausted ? true : undefined,
    )
    h.emulator.setDown(false)
    await expectDryRunThreadOnce()
  })
})

describe('Import / Cancel: the preview marked decided (chat.update)', () => {
  async function decide(actionId: 'import_confirm' | 'import_cancel', inject: () => void) {
    await submitImport()
    const { parent, dryRunId } = await expectDryRunThreadOnce()
    inject()
    const response = await h.driver.click({ actionId, user: slackAdmin, channel })
    expect(response.status).toBe(200)
    return { parent, dryRunId }
  }
  const decided = (match: string) => accepted('chat.update', (a) => String(a.text).includes(match))

  it('Import: the note is made once after 500s beyond the retries, and the import reports in the thread', async () => {
    const { parent } = await decide('import_confirm', () =>
      h.emulator.failNext('chat.update', http500, exhausted),
    )
    await h.emulator.waitFor(
      'chat.update',
      (a, c) => c.ok === true && String(a.text).includes('Import confirmed'),
    )
    const importJob = await poll('the import', () =>
      h.roster.engine.listJobs(10).find((j) => j.type === 'users_import' && !j.options.dryRun),
    )
    await h.emulator.waitFor(
      'chat.postMessage',
      (a, c) => c.ok === true && String(a.text).includes('is done'),
      10_000,
    )
    expect(decided('Import confirmed')).toHaveLength(1)
    expect(messageAt(parent.ts).replies[0]?.text).toContain(
      `Import confirmed by <@${slackAdmin}>: \`${importJob.id}\``,
    )
    expect(accepted('chat.postMessage', (a) => String(a.text).includes('is done'))).toHaveLength(1)
  })

  it('Cancel: the note is made once after ok:false internal_error', async () => {
    const { parent } = await decide('import_cancel', () => h.emulator.failNext('chat.update', internalError))
    await h.emulator.waitFor('chat.update', (a, c) => c.ok === true && String(a.text).includes('Cancelled'))
    expect(decided('Cancelled')).toHaveLength(1)
    expect(messageAt(parent.ts).replies[0]?.text).toContain(`Cancelled by <@${slackAdmin}>`)
  })

  it('Cancel: the note is made once after a 429', async () => {
    await decide('import_cancel', () => h.emulator.failNext('chat.update', ratelimited))
    await h.emulator.waitFor('chat.update', (a, c) => c.ok === true && String(a.text).includes('Cancelled'))
    expect(decided('Cancelled')).toHaveLength(1)
    expect(faulted('chat.update')).toHaveLength(1)
  })

  it('Cancel during an outage: the note is made once when Slack answers again', async () => {
    await decide('import_cancel', () => h.emulator.setDown(true))
    await poll('edits refused while down', () =>
      h.emulator.callsOf('chat.update').filter((c) => c.fault === 'down').length >= exhausted
        ? true
        : undefined,
    )
    h.emulator.setDown(false)
    await h.emulator.waitFor('chat.update', (a, c) => c.ok === true && String(a.text).includes('Cancelled'))
    expect(decided('Cancelled')).toHaveLength(1)
  })
})

describe('the export’s parent message', () => {
  async function exportCsv() {
    const response = await h.driver.command('/export', { user: slackAdmin, channel, text: 'all csv' })
    expect(response.status).toBe(200)
    return poll('the export job', () => h.roster.engine.listJobs(10).find((j) => j.type === 'users_export'))
  }

  /** Parent, result and file: each once, in one thread. */
  async function expectExportThreadOnce(jobId: string) {
    await h.emulator.waitFor('files.completeUploadExternal', (_a, call) => call.ok === true, 15_000)
    const parents = accepted('chat.postMessage', isExportParent)
    expect(parents).toHaveLength(1)
    const thread = await h.thread(jobId)
    expect(thread).toMatchObject({ channel, user: slackAdmin })
    const parent = messageAt(thread?.ts ?? '')
    expect(parent.replies.map((r) => (r.files?.length ? 'file' : r.text.split(' ')[0]))).toEqual([
      `<@${slackAdmin}>`,
      'file',
    ])
    expect(accepted('files.completeUploadExternal')).toHaveLength(1)
  }

  it('is posted after a 429 and the export answers in its thread', async () => {
    h.emulator.failNext('chat.postMessage', ratelimited)
    const job = await exportCsv()
    await expectExportThreadOnce(job.id)
  })

  for (const [name, fault, times] of [
    ['ok:false internal_error', internalError, 1],
    ['500s beyond the retries', http500, exhausted],
  ] as const) {
    it(`after ${name}: the export starts, the person is told, and the thread arrives once`, async () => {
      h.emulator.failNext('chat.postMessage', fault, times)
      const job = await exportCsv()
      expect(await told(slackAdmin, /^:hourglass: Export/)).toContain(`Export \`${job.id}\` started.`)
      await expectExportThreadOnce(job.id)
    })
  }

  it('through an outage: the export runs, and its thread arrives once when Slack answers again', async () => {
    h.emulator.setDown(true)
    const job = await exportCsv()
    await h.roster.engine.waitFor(job.id)
    await poll('posts refused while down', () =>
      h.emulator.callsOf('chat.postMessage').filter((c) => c.fault === 'down').length >= exhausted
        ? true
        : undefined,
    )
    h.emulator.setDown(false)
    await expectExportThreadOnce(job.id)
  })

  it('refused for good (channel_not_found): no export, and the person is told to invite Roster', async () => {
    h.emulator.failNext('chat.postMessage', channelNotFound)
    await h.driver.command('/export', { user: slackAdmin, channel, text: 'all csv' })
    expect(await told(slackAdmin, /cannot post/)).toBe(
      ':warning: Roster cannot post in this channel: invite it (`/invite @roster`) and run `/export` again.',
    )
    expect(h.roster.engine.listJobs(10).filter((j) => j.type === 'users_export')).toEqual([])
  })
})

describe('the offer under a dropped file', () => {
  const offers = (ts: string) => accepted('chat.postMessage', (a) => a.thread_ts === ts)

  for (const [name, fault, times] of [
    ['a 429', ratelimited, 1],
    ['ok:false internal_error', internalError, 1],
    ['500s beyond the retries', http500, exhausted],
  ] as const) {
    it(`is posted once in the file's thread after ${name}`, async () => {
      h.emulator.failNext('chat.postMessage', fault, times)
      const { ts, responses } = await h.driver.dropFile({
        name: 'drop.json',
        content: usersFile,
        user: editor,
      })
      expect(responses.map((r) => r.status)).toEqual([200])
      await h.emulator.waitFor('chat.postMessage', (a, c) => c.ok === true && a.thread_ts === ts)
      expect(offers(ts).map(text)).toEqual(['Import users from drop.json?'])
    })
  }

  it('is posted once after an outage, when Slack answers again', async () => {
    h.emulator.setDown(true)
    const { ts } = await h.driver.dropFile({ name: 'drop.json', content: usersFile, user: editor })
    await poll('offers refused while down', () =>
      faulted('chat.postMessage').length >= exhausted ? true : undefined,
    )
    h.emulator.setDown(false)
    await h.emulator.waitFor('chat.postMessage', (a, c) => c.ok === true && a.thread_ts === ts)
    expect(offers(ts)).toHaveLength(1)
  })
})

describe('auth.test at start', () => {
  it('Roster serves while Slack fails auth.test, and connects once it answers', async () => {
    const emulator = await startSlackEmulator()
    const storeDir = await tempDir()
    emulator.failNext('auth.test', http500, exhausted * 2)
    const config = loadConfig({
      ...slackEnv(emulator, storeDir),
    })
    const roster = await openRoster(config, { logger: silentLogger })
    const server = await startServer(roster, config, silentLogger, { slack: fast })
    try {
      const health = await fetch(`http://127.0.0.1:${server.port}/healthz`)
      expect(health.status).toBe(200)
      await emulator.waitFor('auth.test', (_a, call) => call.ok === true)
      expect(emulator.callsOf('auth.test').filter((c) => c.fault === 'http')).toHaveLength(exhausted * 2)
      const driver = createSlackDriver({ emulator, appUrl: `http://127.0.0.1:${server.port}/slack/events` })
      const jobs = await driver.command('/jobs', { user: slackAdmin })
      expect(jobs.status).toBe(200)
      expect(jobs.json).toMatchObject({
        response_type: 'ephemeral',
        text: 'No jobs yet. Try `/import` or `/export`.',
      })
    } finally {
      await server.close()
      await emulator.close()
    }
  })
})
