import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { App, ExpressReceiver, LogLevel, verifySlackRequest } from '@slack/bolt'
import { SocketModeClient } from '@slack/socket-mode'
import { ErrorCode, WebClient, type WebClientOptions } from '@slack/web-api'
import express from 'express'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createSlackDriver, type SlackDriver } from '../support/slack/driver.ts'
import { type SlackEmulator, startSlackEmulator } from '../support/slack/emulator.ts'
import { slackSignature } from '../support/slack/signing.ts'

let emulator: SlackEmulator
const closers: (() => Promise<unknown>)[] = []

beforeEach(async () => {
  emulator = await startSlackEmulator()
})
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
  await emulator.close()
})

const webClient = (options: WebClientOptions = {}, token = emulator.botToken) =>
  new WebClient(token, {
    slackApiUrl: emulator.apiUrl,
    retryConfig: { retries: 0 },
    logLevel: LogLevel.ERROR,
    ...options,
  })

const channel = 'C0GENERAL'

describe('Web API', () => {
  it('answers auth.test with the bot identity', async () => {
    const result = await webClient().auth.test()
    expect(result).toMatchObject({ ok: true, team_id: 'T0ROSTER', user_id: 'U0ROSTER', bot_id: 'B0ROSTER' })
  })

  it('refuses a wrong token with invalid_auth and a missing one with not_authed', async () => {
    await expect(webClient({}, 'xoxb-wrong').auth.test()).rejects.toMatchObject({
      code: ErrorCode.PlatformError,
      data: { error: 'invalid_auth' },
    })
    const bare = await fetch(`${emulator.apiUrl}auth.test`, { method: 'POST' })
    expect(await bare.json()).toEqual({ ok: false, error: 'not_authed' })
  })

  it('answers unknown_method for a method it does not emulate', async () => {
    await expect(
      webClient().apiCall('chat.scheduleMessage', { channel, text: 'later' }),
    ).rejects.toMatchObject({
      data: { error: 'unknown_method' },
    })
  })

  it('threads replies under their parent, and a reply ts stands for its parent', async () => {
    const slack = webClient()
    const parent = await slack.chat.postMessage({ channel, text: 'Import job-1 queued' })
    const reply = await slack.chat.postMessage({
      channel,
      text: 'Validated 10 rows',
      thread_ts: parent.ts as string,
    })
    await slack.chat.postMessage({ channel, text: 'Done', thread_ts: reply.ts as string })
    expect(reply).toMatchObject({
      channel,
      message: { thread_ts: parent.ts, bot_id: 'B0ROSTER', user: 'U0ROSTER' },
    })
    const [top, ...others] = emulator.conversation(channel)
    expect(others).toEqual([])
    expect(top).toMatchObject({ ts: parent.ts, reply_count: 2, text: 'Import job-1 queued' })
    expect(top?.replies.map((r) => r.text)).toEqual(['Validated 10 rows', 'Done'])
  })

  it('updates a message in place, keeping the blocks chat.update leaves out', async () => {
    const slack = webClient()
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*Import* running' } }]
    const posted = await slack.chat.postMessage({ channel, text: 'running', blocks })
    const updated = await slack.chat.update({ channel, ts: posted.ts as string, text: 'finished' })
    expect(updated).toMatchObject({
      ts: posted.ts,
      text: 'finished',
      message: { edited: { user: 'U0ROSTER' } },
    })
    expect(emulator.conversation(channel)).toHaveLength(1)
    expect(emulator.conversation(channel)[0]?.rendered).toBe('finished (edited)\n│ *Import* running')
  })

  it('shows an ephemeral message only to its user', async () => {
    const result = await webClient().chat.postEphemeral({ channel, user: 'U0TESTER', text: 'Not allowed' })
    expect(result.message_ts).toMatch(/^\d+\.\d{6}$/)
    expect(emulator.conversation(channel)[0]).toMatchObject({ ephemeralTo: 'U0TESTER', text: 'Not allowed' })
  })

  it('fails with channel_not_found for a channel that does not exist, and opens a DM for a user id', async () => {
    const slack = webClient()
    await expect(slack.chat.postMessage({ channel: 'C0NOPE', text: 'x' })).rejects.toMatchObject({
      data: { error: 'channel_not_found' },
    })
    const dm = await slack.chat.postMessage({ channel: 'U0TESTER', text: 'your report' })
    expect(dm.channel).toBe('D0TESTER')
  })

  it('accepts JSON bodies as well as form bodies', async () => {
    const response = await fetch(`${emulator.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${emulator.botToken}`,
        'content-type': 'application/json; charset=utf-8',
      },
      body: JSON.stringify({ channel, text: 'from JSON', blocks: [{ type: 'divider' }] }),
    })
    expect(await response.json()).toMatchObject({ ok: true, message: { text: 'from JSON' } })
    expect(emulator.callsOf('chat.postMessage')[0]?.args).toMatchObject({ blocks: [{ type: 'divider' }] })
  })

  it('opens a modal for a fresh trigger and refuses the same trigger twice', async () => {
    const slack = webClient()
    const triggerId = emulator.workspace.issueTrigger('U0TESTER')
    const view = {
      type: 'modal' as const,
      title: { type: 'plain_text' as const, text: 'Import' },
      blocks: [],
    }
    const opened = await slack.views.open({ trigger_id: triggerId, view })
    expect(opened.view).toMatchObject({
      id: expect.stringMatching(/^V/),
      hash: expect.any(String),
      root_view_id: opened.view?.id,
    })
    await expect(slack.views.open({ trigger_id: triggerId, view })).rejects.toMatchObject({
      data: { error: 'exchanged_trigger_id' },
    })
    await expect(slack.views.open({ trigger_id: 'made-up', view })).rejects.toMatchObject({
      data: { error: 'invalid_trigger_id' },
    })
    await expect(
      slack.views.update({ view_id: opened.view?.id as string, hash: 'stale', view }),
    ).rejects.toMatchObject({ data: { error: 'hash_conflict' } })
  })

  it('renders a channel as a transcript: blocks, threads, files and reactions', async () => {
    const slack = webClient()
    const parent = await slack.chat.postMessage({
      channel,
      text: 'Import job-1 finished',
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: 'Import job-1' } },
        {
          type: 'section',
          fields: [
            { type: 'mrkdwn', text: '*Created* 3' },
            { type: 'mrkdwn', text: '*Failed* 1' },
          ],
        },
        {
          type: 'actions',
          elements: [{ type: 'button', action_id: 'undo', text: { type: 'plain_text', text: 'Undo' } }],
        },
      ],
    })
    const thread_ts = parent.ts as string
    await slack.chat.postMessage({ channel, thread_ts, text: '1 user failed validation' })
    await slack.filesUploadV2({
      channel_id: channel,
      thread_ts,
      file: Buffer.from('[]'),
      filename: 'errors.json',
    })
    await slack.reactions.add({ channel, timestamp: thread_ts, name: 'white_check_mark' })
    expect(emulator.transcript()).toBe(
      [
        '#general (C0GENERAL)',
        '@roster: │ # Import job-1',
        '    │ *Created* 3 | *Failed* 1',
        '    │ [Undo]',
        '    ✅ 1',
        '    ↳ @roster: 1 user failed validation',
        '    ↳ @roster: 📎 errors.json (2 bytes, application/json)',
      ].join('\n'),
    )
  })
})

describe('files', () => {
  it('filesUploadV2 shares the file into the thread with its content', async () => {
    const slack = webClient()
    const parent = await slack.chat.postMessage({ channel, text: 'Export job-2' })
    const content = JSON.stringify([{ email: 'a@example.com' }])
    await slack.filesUploadV2({
      channel_id: channel,
      thread_ts: parent.ts as string,
      initial_comment: 'Your export',
      file_uploads: [{ file: Buffer.from(content), filename: 'export.json' }],
    })
    expect(emulator.calls.map((c) => c.method)).toEqual([
      'chat.postMessage',
      'files.getUploadURLExternal',
      'upload',
      'files.completeUploadExternal',
    ])
    const reply = emulator.conversation(channel)[0]?.replies[0]
    expect(reply).toMatchObject({
      text: 'Your export',
      thread_ts: parent.ts,
      files: [{ name: 'export.json' }],
    })
    const file = reply?.files?.[0]
    expect(file).toMatchObject({ size: content.length, mimetype: 'application/json', user: 'U0ROSTER' })
    expect(file?.shares.public?.[channel]?.[0]).toMatchObject({ ts: reply?.ts, thread_ts: parent.ts })
    expect(emulator.fileContent(file?.id as string)?.toString()).toBe(content)
  })

  it("serves a person's file to the bot token and redirects anyone else to the sign-in page", async () => {
    const added = emulator.addFile({ name: 'users.json', content: '[{"email":"b@example.com"}]', channel })
    const { file } = await webClient().files.info({ file: added.id })
    expect(file).toMatchObject({
      id: added.id,
      name: 'users.json',
      size: 27,
      user: 'U0TESTER',
      filetype: 'json',
    })
    const url = file?.url_private_download as string
    const authorized = await fetch(url, { headers: { authorization: `Bearer ${emulator.botToken}` } })
    expect(authorized.headers.get('content-type')).toBe('application/json')
    expect(await authorized.text()).toBe('[{"email":"b@example.com"}]')
    const anonymous = await fetch(url, { redirect: 'manual' })
    expect(anonymous.status).toBe(302)
    const followed = await fetch(url, { headers: { authorization: 'Bearer xoxb-wrong' } })
    expect(followed.headers.get('content-type')).toMatch(/^text\/html/)
  })
})

describe('faults', () => {
  it('answers 429 with Retry-After, and WebClient waits that long before retrying', async () => {
    emulator.failNext('chat.postMessage', { kind: 'ratelimited', retryAfterS: 1 })
    const startedMs = performance.now()
    const slack = webClient({ retryConfig: { retries: 1, minTimeout: 0, maxTimeout: 0 } })
    await slack.chat.postMessage({ channel, text: 'eventually' })
    expect(performance.now() - startedMs).toBeGreaterThanOrEqual(950)
    expect(emulator.callsOf('chat.postMessage').map((c) => c.status)).toEqual([429, 200])
    expect(emulator.conversation(channel)).toHaveLength(1)
  })

  it('surfaces the Retry-After delay when the client rejects rate-limited calls', async () => {
    emulator.failNext('chat.postMessage', { kind: 'ratelimited', retryAfterS: 7 })
    await expect(
      webClient({ rejectRateLimitedCalls: true }).chat.postMessage({ channel, text: 'x' }),
    ).rejects.toMatchObject({ code: ErrorCode.RateLimitedError, retryAfter: 7 })
  })

  it('answers a scripted ok:false error without changing anything', async () => {
    emulator.failNext('chat.postMessage', { kind: 'error', error: 'not_in_channel' })
    await expect(webClient().chat.postMessage({ channel, text: 'x' })).rejects.toMatchObject({
      code: ErrorCode.PlatformError,
      data: { error: 'not_in_channel' },
    })
    expect(emulator.conversation(channel)).toEqual([])
  })

  it('answers a scripted HTTP 500, then works again', async () => {
    emulator.failNext('chat.postMessage', { kind: 'http', status: 500 })
    const slack = webClient()
    await expect(slack.chat.postMessage({ channel, text: 'x' })).rejects.toMatchObject({
      code: ErrorCode.HTTPError,
      statusCode: 500,
    })
    await expect(slack.chat.postMessage({ channel, text: 'y' })).resolves.toMatchObject({ ok: true })
  })

  it('drops the connection for a scripted outage and for setDown', async () => {
    emulator.failNext('files.info', { kind: 'down' })
    const slack = webClient()
    await expect(slack.files.info({ file: 'F1' })).rejects.toMatchObject({ code: ErrorCode.RequestError })
    emulator.setDown(true)
    await expect(slack.auth.test()).rejects.toMatchObject({ code: ErrorCode.RequestError })
    emulator.setDown(false)
    await expect(slack.auth.test()).resolves.toMatchObject({ ok: true })
  })

  it('can fail the byte upload of filesUploadV2, which then never completes', async () => {
    emulator.failNext('upload', { kind: 'http', status: 500 })
    await expect(
      webClient().filesUploadV2({ channel_id: channel, file: Buffer.from('x'), filename: 'a.txt' }),
    ).rejects.toMatchObject({ code: ErrorCode.HTTPError, statusCode: 500 })
    expect(emulator.callsOf('files.completeUploadExternal')).toEqual([])
  })
})

describe('call log', () => {
  it('waitFor resolves with a call made after it started waiting', async () => {
    const waiting = emulator.waitFor('chat.postMessage', (args) => args.text === 'second')
    const slack = webClient()
    await slack.chat.postMessage({ channel, text: 'first' })
    await slack.chat.postMessage({ channel, text: 'second' })
    expect((await waiting).args).toMatchObject({ channel, text: 'second' })
  })

  it('waitFor rejects with the calls it saw instead', async () => {
    await webClient().auth.test()
    await expect(emulator.waitFor('views.open', undefined, 50)).rejects.toThrow(
      /waiting for views\.open\. Calls seen \(1\):\n {2}auth\.test → 200/,
    )
  })
})

/** A plain server standing in for the app: records what the driver sent, answers 200. */
async function startRecorder(): Promise<{
  url: string
  requests: { headers: Record<string, unknown>; body: string }[]
}> {
  const requests: { headers: Record<string, unknown>; body: string }[] = []
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString() })
    res.end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  closers.push(() => new Promise((resolve) => server.close(resolve)))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`, requests }
}

const verify = (
  request: { headers: Record<string, unknown>; body: string },
  signingSecret = emulator.signingSecret,
) =>
  verifySlackRequest({
    signingSecret,
    body: request.body,
    headers: {
      'x-slack-signature': String(request.headers['x-slack-signature']),
      'x-slack-request-timestamp': Number(request.headers['x-slack-request-timestamp']),
    },
  })

describe('driver signing', () => {
  it("matches Slack's published signature test vector", () => {
    const body =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c'
    expect(slackSignature('8f742231b10e8888abcd99yyyzzz85a5', 1531420618, body)).toBe(
      'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
    )
  })

  it("signs a slash command so Bolt's verifier accepts it, with a response_url on the emulator", async () => {
    const app = await startRecorder()
    const driver = createSlackDriver({ appUrl: app.url, emulator })
    const sent = await driver.command('/import', { text: 'users.json' })
    const [request] = app.requests
    expect(request?.headers['content-type']).toBe('application/x-www-form-urlencoded')
    expect(() => verify(request as never)).not.toThrow()
    const fields = Object.fromEntries(new URLSearchParams(request?.body))
    expect(fields).toMatchObject({
      command: '/import',
      text: 'users.json',
      user_id: 'U0TESTER',
      channel_id: channel,
    })
    expect(fields.response_url).toBe(sent.responseUrl)
    expect(sent.responseUrl.startsWith(`${emulator.baseUrl}/response/`)).toBe(true)
    expect(fields.trigger_id).toBe(sent.triggerId)
  })

  it('can send a bad signature, which the verifier refuses', async () => {
    const app = await startRecorder()
    await createSlackDriver({ appUrl: app.url, emulator }).command('/jobs', {}, { signature: 'bad' })
    expect(() => verify(app.requests[0] as never)).toThrow(/signature mismatch/)
  })

  it('can send a stale timestamp, which the verifier refuses', async () => {
    const app = await startRecorder()
    await createSlackDriver({ appUrl: app.url, emulator }).event(
      { type: 'app_mention', text: 'hi' },
      { stale: true },
    )
    expect(() => verify(app.requests[0] as never)).toThrow(/stale/)
  })
})

/** A real Bolt app on an express server (the way Roster mounts it), pointed at the emulator. */
async function startBoltApp(register: (app: App) => void): Promise<{ driver: SlackDriver; app: App }> {
  const web = express()
  const receiver = new ExpressReceiver({
    signingSecret: emulator.signingSecret,
    app: web,
    endpoints: '/slack/events',
    logLevel: LogLevel.ERROR,
  })
  const app = new App({
    token: emulator.botToken,
    botId: emulator.botId,
    botUserId: emulator.botUserId,
    receiver,
    logLevel: LogLevel.ERROR,
    clientOptions: { slackApiUrl: emulator.apiUrl, retryConfig: { retries: 0 } },
  })
  register(app)
  const server = await new Promise<Server>((resolve) => {
    const listening = web.listen(0, '127.0.0.1', () => resolve(listening))
  })
  closers.push(() => new Promise((resolve) => server.close(resolve)))
  const appUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`
  return { driver: createSlackDriver({ appUrl, emulator }), app }
}

function deferred<T>() {
  let resolve: (value: T) => void = () => {}
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

describe('driving a Bolt app over HTTP', () => {
  it('passes url_verification and is refused with 401 for bad or stale signatures', async () => {
    const { driver } = await startBoltApp(() => {})
    const verification = await driver.urlVerification('abc123')
    expect(verification.json).toEqual({ challenge: 'abc123' })
    expect((await driver.command('/jobs', {}, { signature: 'bad' })).status).toBe(401)
    expect((await driver.command('/jobs', {}, { stale: true })).status).toBe(401)
  })

  it('shows the ack and respond() replies to the person who typed the command', async () => {
    const { driver } = await startBoltApp((app) => {
      app.command('/jobs', async ({ ack, respond }) => {
        await ack({ text: 'Looking…' })
        await respond({ text: 'No jobs yet' })
      })
    })
    const sent = await driver.command('/jobs')
    expect(sent).toMatchObject({ status: 200, json: { text: 'Looking…' } })
    expect((await emulator.waitFor('response_url')).args).toMatchObject({ text: 'No jobs yet' })
    expect(emulator.transcript()).toBe(
      '#general (C0GENERAL)\n@roster (only visible to @tester): Looking…\n@roster (only visible to @tester): No jobs yet',
    )
  })

  it("opens a modal from a command and delivers its submission with Slack's state shapes", async () => {
    const submitted = deferred<Record<string, unknown>>()
    const file = emulator.addFile({ name: 'users.json', content: '[]' })
    const { driver } = await startBoltApp((app) => {
      app.command('/import', async ({ ack, body, client }) => {
        await ack()
        await client.views.open({ trigger_id: body.trigger_id, view: importModal })
      })
      app.view('import_modal', async ({ ack, view }) => {
        await ack()
        submitted.resolve(view.state.values)
      })
    })
    expect((await driver.command('/import')).status).toBe(200)
    await emulator.waitFor('views.open')
    const view = driver.latestView('U0TESTER')
    const response = await driver.submitView(view.id, {
      connection: 'Username-Password-Authentication',
      options: ['upsert', 'dry_run'],
      mode: 'merge',
      users_file: [file.id],
    })
    expect(response.status).toBe(200)
    const values = await submitted.promise
    expect(values).toEqual({
      connection: { connection: { type: 'plain_text_input', value: 'Username-Password-Authentication' } },
      options: {
        options: {
          type: 'checkboxes',
          selected_options: [
            { text: { type: 'plain_text', text: 'Upsert' }, value: 'upsert' },
            { text: { type: 'plain_text', text: 'Dry run' }, value: 'dry_run' },
          ],
        },
      },
      mode: {
        mode: {
          type: 'static_select',
          selected_option: { text: { type: 'plain_text', text: 'Merge' }, value: 'merge' },
        },
      },
      users_file: {
        users_file: {
          type: 'file_input',
          files: [expect.objectContaining({ id: file.id, name: 'users.json' })],
        },
      },
    })
    expect(emulator.latestView()).toBeUndefined()
  })

  it('keeps a modal open when its submission is answered with errors', async () => {
    const { driver } = await startBoltApp((app) => {
      app.command('/import', async ({ ack, body, client }) => {
        await ack()
        await client.views.open({ trigger_id: body.trigger_id, view: importModal })
      })
      app.view('import_modal', async ({ ack }) => {
        await ack({ response_action: 'errors', errors: { users_file: 'Attach a .json file' } })
      })
    })
    await driver.command('/import')
    await emulator.waitFor('views.open')
    const view = driver.latestView()
    const response = await driver.submitView(view.id, { connection: 'db' })
    expect(response.json).toEqual({
      response_action: 'errors',
      errors: { users_file: 'Attach a .json file' },
    })
    expect(emulator.latestView()?.id).toBe(view.id)
  })

  it('delivers a button click with the message it was on', async () => {
    const clicked = deferred<{ value: unknown; messageTs: unknown }>()
    const { driver, app } = await startBoltApp((bolt) => {
      bolt.action('job_undo', async ({ ack, body, action }) => {
        await ack()
        clicked.resolve({
          value: (action as { value?: string }).value,
          messageTs: (body as { message?: { ts: string } }).message?.ts,
        })
      })
    })
    const posted = await app.client.chat.postMessage({
      channel,
      text: 'Import done',
      blocks: [
        {
          type: 'actions',
          elements: [
            {
              type: 'button',
              action_id: 'job_undo',
              value: 'job-9',
              text: { type: 'plain_text', text: 'Undo' },
            },
          ],
        },
      ],
    })
    expect((await driver.click({ actionId: 'job_undo' })).status).toBe(200)
    expect(await clicked.promise).toEqual({ value: 'job-9', messageTs: posted.ts })
  })

  it('announces a dropped file, which the app downloads with its bot token', async () => {
    const downloaded = deferred<string>()
    const { driver } = await startBoltApp((app) => {
      app.event('message', async ({ event, context }) => {
        const file = (event as { files?: { url_private_download: string }[] }).files?.[0]
        if (!file) return
        const response = await fetch(file.url_private_download, {
          headers: { authorization: `Bearer ${context.botToken}` },
        })
        downloaded.resolve(await response.text())
      })
    })
    const { file, ts, responses } = await driver.dropFile({
      name: 'users.json',
      content: '[{"email":"c@example.com"}]',
      text: 'please import',
    })
    expect(responses.map((r) => r.status)).toEqual([200])
    expect(await downloaded.promise).toBe('[{"email":"c@example.com"}]')
    expect(emulator.conversation()[0]).toMatchObject({
      ts,
      subtype: 'file_share',
      user: 'U0TESTER',
      files: [{ id: file.id }],
    })
    expect((await emulator.waitFor('download')).args).toEqual({ file_id: file.id, authorized: true })
  })
})

describe('Socket Mode', () => {
  it('opens connections for the app token only', async () => {
    await expect(webClient().apps.connections.open()).rejects.toMatchObject({
      data: { error: 'not_allowed_token_type' },
    })
    const opened = await webClient({}, emulator.appToken).apps.connections.open()
    expect(opened.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/socket\?ticket=/)
  })

  it('greets a SocketModeClient with hello, delivers an envelope and records its ack', async () => {
    const client = new SocketModeClient({
      appToken: emulator.appToken,
      clientOptions: { slackApiUrl: emulator.apiUrl },
      logLevel: LogLevel.ERROR,
    })
    client.on('slash_commands', async ({ ack, body }) => {
      await ack({ text: `jobs for ${body.user_id}` })
    })
    await client.start()
    closers.push(() => client.disconnect())
    const driver = createSlackDriver({ emulator })
    const ack = await driver.socketCommand('/jobs')
    expect(ack.payload).toEqual({ text: 'jobs for U0TESTER' })
    expect(emulator.callsOf('socket_ack')[0]?.args).toEqual({
      envelope_id: ack.envelope_id,
      payload: { text: 'jobs for U0TESTER' },
    })
    expect(emulator.conversation()[0]).toMatchObject({ text: 'jobs for U0TESTER', ephemeralTo: 'U0TESTER' })
  })

  it('drives a Bolt app in Socket Mode', async () => {
    const app = new App({
      token: emulator.botToken,
      appToken: emulator.appToken,
      socketMode: true,
      botId: emulator.botId,
      botUserId: emulator.botUserId,
      logLevel: LogLevel.ERROR,
      clientOptions: { slackApiUrl: emulator.apiUrl, retryConfig: { retries: 0 } },
    })
    app.event('file_shared', async ({ event, client }) => {
      const info = await client.files.info({ file: event.file_id })
      await client.chat.postMessage({ channel: event.channel_id, text: `Got ${info.file?.name}` })
    })
    await app.start()
    closers.push(() => app.stop())
    const { acks } = await createSlackDriver({ emulator }).socketDropFile({
      name: 'u.json',
      content: '[]',
      announce: 'file_shared',
    })
    expect(acks).toHaveLength(1)
    expect((await emulator.waitFor('chat.postMessage')).args).toMatchObject({ text: 'Got u.json' })
  })
})

const importModal = {
  type: 'modal' as const,
  callback_id: 'import_modal',
  title: { type: 'plain_text' as const, text: 'Import users' },
  submit: { type: 'plain_text' as const, text: 'Import' },
  blocks: [
    {
      type: 'input',
      block_id: 'connection',
      label: { type: 'plain_text' as const, text: 'Connection' },
      element: { type: 'plain_text_input', action_id: 'connection' },
    },
    {
      type: 'input',
      block_id: 'options',
      optional: true,
      label: { type: 'plain_text' as const, text: 'Options' },
      element: {
        type: 'checkboxes',
        action_id: 'options',
        options: [
          { text: { type: 'plain_text' as const, text: 'Upsert' }, value: 'upsert' },
          { text: { type: 'plain_text' as const, text: 'Dry run' }, value: 'dry_run' },
        ],
      },
    },
    {
      type: 'input',
      block_id: 'mode',
      label: { type: 'plain_text' as const, text: 'Mode' },
      element: {
        type: 'static_select',
        action_id: 'mode',
        options: [
          { text: { type: 'plain_text' as const, text: 'Replace' }, value: 'replace' },
          { text: { type: 'plain_text' as const, text: 'Merge' }, value: 'merge' },
        ],
      },
    },
    {
      type: 'input',
      block_id: 'users_file',
      label: { type: 'plain_text' as const, text: 'Users file' },
      element: { type: 'file_input', action_id: 'users_file', filetypes: ['json'], max_files: 1 },
    },
  ],
}
