import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { ImportJob } from '../../src/domain/jobs/job.ts'
import { blockActionsPayload, payloadContext, viewSubmissionPayload } from '../support/slack/interactions.ts'
import { eventCallback } from '../support/slack/payloads.ts'
import type { Args, Block, EmulatorCall } from '../support/slack/types.ts'
import { openSlackHarness, type SlackHarness, slackAdmin } from '../support/slack-harness.ts'

const editor = 'UEDITOR1'
const viewer = 'UVIEWER1'
const channel = 'C0GENERAL'
const upa = 'Username-Password-Authentication'
const maxBytes = 4096

let h: SlackHarness
beforeEach(async () => {
  h = await openSlackHarness({
    env: { IMPORT_MAX_BYTES: String(maxBytes) },
    emulator: {
      users: [
        { id: slackAdmin, name: 'ada' },
        { id: editor, name: 'eddie' },
        { id: viewer, name: 'vera' },
      ],
    },
  })
  await h.setRoles({ [editor]: 'editor-users', [viewer]: 'viewer-users' })
  await seed([
    { email: 'keep@example.com', given_name: 'Keep' },
    { email: 'change@example.com', given_name: 'Before', user_metadata: { plan: 'basic' } },
  ])
})
afterEach(async () => {
  await h.close()
})

/** Users already in the store, imported the way the CLI does. */
async function seed(users: unknown[]): Promise<void> {
  const job = await h.roster.engine.requestImport({
    connection: upa,
    fileName: 'seed.json',
    bytes: Buffer.from(JSON.stringify(users)),
    options: { upsert: false, merge: false, dryRun: false, sendCompletionEmail: false },
    requestedBy: { via: 'cli', id: 'seed' },
  })
  await h.roster.engine.waitFor(job.id)
}

const usersFile = JSON.stringify([
  { email: 'keep@example.com', given_name: 'Keep' },
  { email: 'change@example.com', given_name: 'After', user_metadata: { plan: 'pro' } },
  { email: 'new@example.com' },
  { email: 'broken' },
])

const connectionId = (name = upa) => h.roster.engine.listConnections().find((c) => c.name === name)?.id ?? ''
const stored = async (email: string) => (await h.roster.engine.findUsers(email))[0]
const textOf = (call: EmulatorCall) => String(call.args.text ?? '')
const blocksOf = (call: EmulatorCall) => (call.args.blocks ?? []) as Block[]
const buttonsOf = (blocks: Block[]) =>
  blocks.filter((b) => b.type === 'actions').flatMap((b) => b.elements as Args[])
const isPreview = (args: Args) =>
  typeof args.thread_ts === 'string' && String(args.text).startsWith('Dry run job_')

/** `/import` by `user`, then the dialog they get. */
async function openDialog(user: string) {
  const response = await h.driver.command('/import', { user, channel })
  expect(response.status).toBe(200)
  await h.emulator.waitFor('views.open', (_args, call) => call.ok === true)
  return h.driver.latestView(user)
}

/** A file the person picked in the dialog's file field (uploaded, not shared in a channel). */
function pickedFile(name: string, content: string | Buffer, user = editor) {
  return h.emulator.addFile({ name, content, user })
}

/** Submits the dialog with a file and connection, and waits for the dry run's preview in its thread. */
async function dryRun(user = editor, content = usersFile, options: string[] = ['upsert']) {
  const view = await openDialog(user)
  const file = pickedFile('users.json', content, user)
  const response = await h.driver.submitView(
    view.id,
    { import_file: [file.id], import_connection: connectionId(), import_options: options },
    user,
  )
  expect(response.status).toBe(200)
  const preview = await h.emulator.waitFor('chat.postMessage', isPreview)
  const dryRunId = String(buttonsOf(blocksOf(preview))[0]?.value ?? /job_\w+/.exec(textOf(preview))?.[0])
  return { preview, dryRunId, file, response }
}

describe('/import', () => {
  it('opens the dialog with a file field, the connections that accept imports and the options', async () => {
    await h.roster.engine.addConnection({ name: 'legacy-db', strategy: 'custom-db' })
    await h.roster.engine.addConnection({ name: 'google', strategy: 'google-oauth2' })
    const view = await openDialog(editor)
    const byId = Object.fromEntries(view.blocks.map((b) => [b.block_id, b]))
    expect(byId.import_file?.element).toMatchObject({ type: 'file_input', max_files: 1 })
    const select = byId.import_connection?.element as { options: { value: string }[] }
    expect(select.options.map((o) => o.value)).toEqual([connectionId()])
    const checkboxes = byId.import_options?.element as { options: { text: { text: string } }[] }
    expect(checkboxes.options.map((o) => o.text.text)).toEqual([
      'Upsert pre-existing users',
      'Merge metadata instead of replacing',
      'Send completion email to all tenant owners',
    ])
    expect(JSON.parse(view.private_metadata)).toEqual({ channel })
  })

  it('refuses a viewer ephemerally, naming the role needed, and opens nothing', async () => {
    const response = await h.driver.command('/import', { user: viewer, channel })
    expect(response.status).toBe(200)
    expect(response.json).toMatchObject({ response_type: 'ephemeral' })
    expect((response.json as { text: string }).text).toContain('needs the editor-users or admin role')
    expect(h.emulator.callsOf('views.open')).toEqual([])
  })
})

describe('the dry run', () => {
  it('posts a parent message in the channel and the preview in its thread: counts, diffs, errors, buttons', async () => {
    const { preview, dryRunId } = await dryRun()
    const [parent, ...others] = h.emulator.conversation()
    expect(others).toEqual([])
    expect(parent?.text).toBe(`:mag: Dry run of users.json into ${upa} by <@${editor}>`)
    expect(preview.args.thread_ts).toBe(parent?.ts)
    expect(parent?.replies.map((r) => r.text)).toEqual([textOf(preview)])
    expect(textOf(preview)).toBe(`Dry run ${dryRunId}: 1 to insert, 1 to update, 1 unchanged, 1 failed`)
    const text = blocksOf(preview)
      .map((b) => (b.text as { text?: string } | undefined)?.text ?? '')
      .join('\n')
    expect(text).toContain('*1* to insert · *1* to update · *1* unchanged · *1* failed (of 4)')
    expect(text).toContain('• *update* `change@example.com`: given_name: "Before" → "After"')
    expect(text).toContain('• *insert* `new@example.com`')
    expect(text).toMatch(/• row 4 `broken` — INVALID_FORMAT: .*email/)
    expect(await stored('new@example.com')).toBeUndefined()
  })

  it('offers Import with a confirm dialog stating what will change, and Cancel', async () => {
    const { preview, dryRunId } = await dryRun()
    const [importButton, cancelButton] = buttonsOf(blocksOf(preview))
    expect(importButton).toMatchObject({ action_id: 'import_confirm', value: dryRunId, style: 'primary' })
    expect(importButton?.confirm).toMatchObject({
      text: { type: 'plain_text', text: `1 user will be inserted and 1 updated in ${upa}.` },
    })
    expect(cancelButton).toMatchObject({ action_id: 'import_cancel', value: dryRunId })
  })

  it('runs with the options chosen in the dialog', async () => {
    const { dryRunId } = await dryRun(editor, usersFile, ['upsert', 'merge', 'sendCompletionEmail'])
    expect(h.roster.engine.getJob(dryRunId)?.job).toMatchObject({
      options: { upsert: true, merge: true, sendCompletionEmail: true, dryRun: true },
      requestedBy: { via: 'slack', id: editor },
    })
  })

  it('offers no Import when the file would change nobody', async () => {
    const { preview } = await dryRun(
      editor,
      JSON.stringify([{ email: 'keep@example.com', given_name: 'Keep' }]),
    )
    expect(textOf(preview)).toMatch(/: 0 to insert, 0 to update, 1 unchanged, 0 failed$/)
    expect(buttonsOf(blocksOf(preview))).toEqual([])
  })

  it('links the dry run to its parent message, for the person who asked', async () => {
    const { dryRunId } = await dryRun()
    const parent = h.emulator.conversation().find((m) => m.text.startsWith(':mag: Dry run'))
    expect(await h.thread(dryRunId)).toEqual({ channel, ts: parent?.ts, user: editor })
  })
})

describe('Import and Cancel', () => {
  it('Import runs the real import of the same file, linked to the same thread, and shows who confirmed', async () => {
    const { dryRunId } = await dryRun(editor)
    const response = await h.driver.click({ actionId: 'import_confirm', user: slackAdmin, channel })
    expect(response.status).toBe(200)
    const update = await h.emulator.waitFor('chat.update', (args) => String(args.text).includes('confirmed'))
    const jobId = /job_\w+/.exec(textOf(update))?.[0] ?? ''
    expect(textOf(update)).toContain(`Import confirmed by <@${slackAdmin}>: \`${jobId}\``)
    expect(buttonsOf(blocksOf(update))).toEqual([])

    const job = (await h.roster.engine.waitFor(jobId)) as ImportJob
    expect(job).toMatchObject({
      status: 'completed',
      requestedBy: { via: 'slack', id: slackAdmin },
      options: { upsert: true, dryRun: false },
      upload: { fileName: 'users.json' },
      summary: { inserted: 1, updated: 2, unchanged: 1, failed: 1, total: 4 },
    })
    expect(await stored('new@example.com')).toBeDefined()
    expect((await stored('change@example.com'))?.given_name).toBe('After')
    expect(await h.thread(jobId)).toEqual(await h.thread(dryRunId))
  })

  it('Cancel imports nothing and says who cancelled', async () => {
    const { dryRunId } = await dryRun(editor)
    const jobsBefore = h.roster.engine.listJobs(100).length
    await h.driver.click({ actionId: 'import_cancel', user: editor, channel })
    const update = await h.emulator.waitFor('chat.update', (args) => String(args.text).includes('Cancelled'))
    expect(textOf(update)).toBe(`:no_entry_sign: Cancelled by <@${editor}>. Nothing was imported.`)
    expect(buttonsOf(blocksOf(update))).toEqual([])
    expect(h.roster.engine.listJobs(100)).toHaveLength(jobsBefore)
    expect(h.roster.engine.getJob(dryRunId)?.job.status).toBe('completed')
    expect(await stored('new@example.com')).toBeUndefined()
  })

  it("denies a viewer pressing an admin's Import, ephemerally and naming the role; nothing is imported", async () => {
    await dryRun(slackAdmin)
    const jobsBefore = h.roster.engine.listJobs(100).length
    await h.driver.click({ actionId: 'import_confirm', user: viewer, channel })
    const denial = await h.emulator.waitFor('response_url')
    expect(denial.args).toMatchObject({ response_type: 'ephemeral', replace_original: false })
    expect(String(denial.args.text)).toContain('Importing users needs the editor-users or admin role')
    expect(h.roster.engine.listJobs(100)).toHaveLength(jobsBefore)
    expect(h.emulator.callsOf('chat.update')).toEqual([])
  })

  it('imports once when Import is pressed twice', async () => {
    await dryRun(editor)
    // Both presses leave clients that still show the buttons (a double click, or two people at once).
    const press = () =>
      blockActionsPayload(h.emulator, { actionId: 'import_confirm', user: editor, channel }).payload
    const [first, second] = [press(), press()]
    expect((await h.driver.interaction(first)).status).toBe(200)
    await h.emulator.waitFor('chat.update', (args) => String(args.text).includes('confirmed'))
    const jobs = h.roster.engine.listJobs(100).length
    expect((await h.driver.interaction(second)).status).toBe(200)
    const answer = await h.emulator.waitFor('response_url')
    expect(String(answer.args.text)).toBe(`That dry run was already confirmed by <@${editor}>.`)
    expect(h.roster.engine.listJobs(100)).toHaveLength(jobs)
    const imports = h.roster.engine
      .listJobs(100)
      .filter((j) => j.type === 'users_import' && !j.options.dryRun)
    expect(imports.filter((j) => j.requestedBy.via === 'slack')).toHaveLength(1)
  })
})

describe('the dialog submission', () => {
  it('is checked again for the person submitting: a role taken away since the dialog opened is denied', async () => {
    const view = await openDialog(editor)
    const file = pickedFile('users.json', usersFile)
    await h.setRoles({ [editor]: 'viewer-users' })
    const response = await h.driver.submitView(view.id, {
      import_file: [file.id],
      import_connection: connectionId(),
    })
    expect(response.status).toBe(200)
    expect(response.body).toBe('')
    const denial = await h.emulator.waitFor('chat.postEphemeral')
    expect(denial.args).toMatchObject({ channel, user: editor })
    expect(textOf(denial)).toContain('needs the editor-users or admin role. Your role is viewer-users.')
    expect(h.emulator.callsOf('files.info')).toEqual([])
    expect(h.emulator.callsOf('download')).toEqual([])
    expect(h.roster.engine.listJobs(100).filter((j) => j.requestedBy.via === 'slack')).toEqual([])
  })

  it('shows a missing file next to the field and keeps the dialog open', async () => {
    const view = await openDialog(editor)
    const response = await h.driver.submitView(view.id, { import_connection: connectionId() })
    expect(response.status).toBe(200)
    expect(response.json).toEqual({
      response_action: 'errors',
      errors: { import_file: 'Choose a .json, .ndjson or .csv file (gzipped or not).' },
    })
    expect(h.emulator.latestView(editor)?.id).toBe(view.id)
  })

  it('refuses a file over the size limit by its metadata, before downloading it', async () => {
    const view = await openDialog(editor)
    const file = pickedFile(
      'big.json',
      JSON.stringify([{ email: 'a@example.com', pad: 'x'.repeat(maxBytes) }]),
    )
    const response = await h.driver.submitView(view.id, {
      import_file: [file.id],
      import_connection: connectionId(),
    })
    expect(response.status).toBe(200)
    expect(response.json).toEqual({
      response_action: 'errors',
      errors: { import_file: `Payload content length greater than maximum allowed: ${maxBytes}.` },
    })
    expect(h.emulator.callsOf('files.info')).toEqual([])
    expect(h.emulator.callsOf('download')).toEqual([])
  })

  it('stops a download at the limit when the metadata understates the size', async () => {
    const view = await openDialog(editor)
    const file = pickedFile(
      'big.json',
      JSON.stringify([{ email: 'a@example.com', pad: 'x'.repeat(maxBytes) }]),
    )
    file.size = 100
    const response = await h.driver.submitView(view.id, {
      import_file: [file.id],
      import_connection: connectionId(),
    })
    expect(response.status).toBe(200)
    const refusal = await h.emulator.waitFor('chat.postEphemeral')
    expect(textOf(refusal)).toBe(
      `:warning: No dry run of big.json: Payload content length greater than maximum allowed: ${maxBytes}.`,
    )
    expect(h.emulator.callsOf('download')).toHaveLength(1)
    expect(h.roster.engine.listJobs(100).filter((j) => j.requestedBy.via === 'slack')).toEqual([])
  })

  it('refuses a web page served instead of the file (Slack login page)', async () => {
    const view = await openDialog(editor)
    const file = h.emulator.addFile({
      name: 'users.json',
      content: '<!DOCTYPE html><html><body>Sign in to Slack</body></html>',
      mimetype: 'text/html',
      user: editor,
    })
    await h.driver.submitView(view.id, { import_file: [file.id], import_connection: connectionId() })
    const refusal = await h.emulator.waitFor('chat.postEphemeral')
    expect(textOf(refusal)).toContain('Slack answered with a web page instead of users.json')
    expect(h.roster.engine.listJobs(100).filter((j) => j.requestedBy.via === 'slack')).toEqual([])
  })

  it("sends the bot token to Slack's file host only", async () => {
    const view = await openDialog(editor)
    const file = pickedFile('users.json', usersFile)
    file.url_private_download = 'https://files.example.com/files-pri/T1-F1/download/users.json'
    await h.driver.submitView(view.id, { import_file: [file.id], import_connection: connectionId() })
    const refusal = await h.emulator.waitFor('chat.postEphemeral')
    expect(textOf(refusal)).toContain("users.json is not served by Slack's file host")
    expect(h.emulator.callsOf('download')).toEqual([])
  })

  it('answers a whole-job refusal from the engine ephemerally: an empty users file', async () => {
    const view = await openDialog(editor)
    const file = pickedFile('empty.json', '[]')
    const response = await h.driver.submitView(view.id, {
      import_file: [file.id],
      import_connection: connectionId(),
    })
    expect(response.status).toBe(200)
    const refusal = await h.emulator.waitFor('chat.postEphemeral')
    expect(refusal.args).toMatchObject({ channel, user: editor })
    expect(textOf(refusal)).toBe(':warning: No dry run of empty.json: Users file must not be empty.')
    expect(h.emulator.callsOf('chat.postMessage')).toEqual([])
  })

  it("refuses a connection that does not take imports with Auth0's message", async () => {
    const legacy = await h.roster.engine.addConnection({ name: 'legacy-db', strategy: 'custom-db' })
    const view = await openDialog(editor)
    const file = pickedFile('users.json', usersFile)
    // The dialog offers only connections that take imports: the payload names another one, as a stale or
    // tampered dialog would.
    const payload = viewSubmissionPayload(h.emulator, view.id, { import_file: [file.id] }, editor)
    const values = (payload.view as { state: { values: Record<string, Args> } }).state.values
    values.import_connection = {
      connection: { type: 'static_select', selected_option: { value: legacy.id } },
    }
    const response = await h.driver.interaction(payload)
    expect(response.status).toBe(200)
    expect(response.json).toEqual({
      response_action: 'errors',
      errors: { import_connection: 'Custom Database Connections without import mode are not allowed.' },
    })
    expect(h.emulator.callsOf('files.info')).toEqual([])
  })
})

/** The audit log's decisions: each check of a role, allowed or not. */
async function auditEntries(): Promise<{ actor: { id: string }; action: string; allowed: boolean }[]> {
  const text = await readFile(join(h.storeDir, 'audit.jsonl'), 'utf8').catch(() => '')
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line))
}

const offers = () =>
  h.emulator.callsOf('chat.postMessage').filter((c) => textOf(c).startsWith('Import users from'))

describe('file drops', () => {
  it("offers an editor a button in the file's thread that opens the dialog with the file chosen", async () => {
    const { file, ts, responses } = await h.driver.dropFile({
      name: 'users.json',
      content: usersFile,
      user: editor,
    })
    expect(responses.map((r) => r.status)).toEqual([200])
    const offer = await h.emulator.waitFor('chat.postMessage', (args) => args.thread_ts === ts)
    expect(textOf(offer)).toBe('Import users from users.json?')
    expect(buttonsOf(blocksOf(offer))[0]).toMatchObject({
      action_id: 'import_open',
      text: { text: 'Import users from this file' },
    })

    await h.driver.click({ actionId: 'import_open', user: editor, channel })
    await h.emulator.waitFor('views.open', (_args, call) => call.ok === true)
    const view = h.driver.latestView(editor)
    expect(JSON.parse(view.private_metadata)).toEqual({ channel, file: { id: file.id, name: 'users.json' } })
    expect(view.blocks.some((b) => b.block_id === 'import_file')).toBe(false)

    const response = await h.driver.submitView(view.id, {
      import_connection: connectionId(),
      import_options: ['upsert'],
    })
    expect(response.status).toBe(200)
    const preview = await h.emulator.waitFor('chat.postMessage', isPreview)
    expect(textOf(preview)).toContain('1 to insert, 1 to update, 1 unchanged, 1 failed')
    // Slack's file host answered with a 302 to its CDN (another origin): Roster followed it without the token.
    expect(h.emulator.callsOf('download')).toMatchObject([
      { status: 302, args: { file_id: file.id, authorized: true } },
    ])
    expect(h.emulator.callsOf('file_cdn')).toMatchObject([
      { status: 200, args: { file_id: file.id, with_token: false } },
    ])

    await h.driver.click({ actionId: 'import_confirm', user: slackAdmin, channel })
    const update = await h.emulator.waitFor('chat.update', (args) => String(args.text).includes('confirmed'))
    const jobId = /job_\w+/.exec(textOf(update))?.[0] ?? ''
    expect(await h.roster.engine.waitFor(jobId)).toMatchObject({ status: 'completed' })
    expect(await stored('new@example.com')).toBeDefined()
  })

  it('offers nothing to a viewer, and audits the decision', async () => {
    await h.driver.dropFile({ name: 'users.json', content: usersFile, user: viewer })
    await vi.waitFor(async () => {
      expect(await auditEntries()).toContainEqual(
        expect.objectContaining({
          actor: expect.objectContaining({ id: viewer }),
          action: 'import',
          allowed: false,
        }),
      )
    })
    expect(h.emulator.callsOf('chat.postMessage')).toEqual([])
    expect(h.emulator.callsOf('chat.postEphemeral')).toEqual([])
  })

  it("ignores Roster's own uploads and files that are not users files", async () => {
    await h.driver.dropFile({ name: 'export.json', content: usersFile, user: h.emulator.botUserId })
    await h.driver.dropFile({ name: 'notes.txt', content: 'hello', user: editor })
    // An editor's users file afterwards: once its offer is there, the earlier drops have been handled.
    const { ts } = await h.driver.dropFile({
      name: 'users.csv',
      content: 'email\na@example.com\n',
      user: editor,
    })
    await h.emulator.waitFor('chat.postMessage', (args) => args.thread_ts === ts)
    expect(offers().map(textOf)).toEqual(['Import users from users.csv?'])
    expect((await auditEntries()).map((e) => e.actor.id)).toEqual([editor])
  })

  it('refuses a file over the size limit by its metadata, before downloading it', async () => {
    const content = JSON.stringify([{ email: 'a@example.com', pad: 'x'.repeat(maxBytes) }])
    const { ts } = await h.driver.dropFile({ name: 'big.json', content, user: editor })
    const refusal = await h.emulator.waitFor('chat.postEphemeral')
    expect(refusal.args).toMatchObject({ channel, user: editor, thread_ts: ts })
    expect(textOf(refusal)).toContain(`Payload content length greater than maximum allowed: ${maxBytes}.`)
    expect(offers()).toEqual([])
    expect(h.emulator.callsOf('files.info')).toEqual([])
    expect(h.emulator.callsOf('download')).toEqual([])
  })

  it('handles a retried event once', async () => {
    const file = h.emulator.addFile({ name: 'users.json', content: usersFile, user: editor, channel })
    const message = h.emulator.conversation().at(-1)
    const event = {
      type: 'message',
      subtype: 'file_share',
      text: '',
      files: [file],
      upload: true,
      user: editor,
      ts: message?.ts,
      channel,
      event_ts: message?.ts,
      channel_type: 'channel',
    }
    const body = JSON.stringify(eventCallback(payloadContext(h.emulator), event, 'Ev0RETRIED', 1_800_000_000))
    expect((await h.driver.send(body, 'application/json')).status).toBe(200)
    expect(
      (await h.driver.send(body, 'application/json', { retryNum: 1, retryReason: 'http_timeout' })).status,
    ).toBe(200)
    // A later drop: once its offer is there, the retry has been handled too.
    const { ts } = await h.driver.dropFile({ name: 'more.json', content: usersFile, user: editor })
    await h.emulator.waitFor('chat.postMessage', (args) => args.thread_ts === ts)
    expect(offers().map(textOf)).toEqual(['Import users from users.json?', 'Import users from more.json?'])
  })
})
