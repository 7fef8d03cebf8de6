import { gunzipSync } from 'node:zlib'
import Papa from 'papaparse'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ExportJob } from '../../src/domain/jobs/job.ts'
import type { ConversationMessage } from '../support/slack/render.ts'
import type { Args, EmulatorCall } from '../support/slack/types.ts'
import { openSlackHarness, type SlackHarness, slackAdmin } from '../support/slack-harness.ts'

const viewer = 'UVIEWER1'
const nobody = 'UNOBODY1'
const channel = 'C0GENERAL'
const upa = 'Username-Password-Authentication'

/** Values a CSV export must escape as Auth0 does: a formula, a double quote. */
const seedUsers = [
  {
    email: 'ada@example.com',
    given_name: '=HYPERLINK("http://evil")',
    family_name: 'O"Brien',
    user_metadata: { plan: 'pro' },
  },
  ...Array.from({ length: 11 }, (_, i) => ({ email: `user${i}@example.com`, given_name: `User${i}` })),
]

let h: SlackHarness
beforeEach(async () => {
  h = await openSlackHarness({
    emulator: {
      users: [
        { id: slackAdmin, name: 'ada' },
        { id: viewer, name: 'vera' },
        { id: nobody, name: 'noah' },
      ],
    },
  })
  await h.setRoles({ [viewer]: 'viewer-users' })
  await seed(upa, seedUsers)
})
afterEach(async () => {
  await h.close()
})

async function seed(connection: string, users: unknown[]): Promise<void> {
  const job = await h.roster.engine.requestImport({
    connection,
    fileName: 'seed.json',
    bytes: Buffer.from(JSON.stringify(users)),
    options: { upsert: false, merge: false, dryRun: false, sendCompletionEmail: false },
    requestedBy: { via: 'cli', id: 'seed' },
  })
  await h.roster.engine.waitFor(job.id)
}

const exportJobs = () =>
  h.roster.engine.listJobs(100).filter((job): job is ExportJob => job.type === 'users_export')
const ephemeralTo = (user: string) => h.emulator.conversation().filter((m) => m.ephemeralTo === user)
const completedUpload = () =>
  h.emulator.waitFor('files.completeUploadExternal', (_args, call) => call.ok === true, 20_000)
const uploadedFile = (call: EmulatorCall) => {
  const id = String((call.args.files as Args[])[0]?.id)
  return h.emulator.fileContent(id)?.toString('utf8') ?? ''
}

/** The export's thread once its file is in: the parent and its replies. */
async function exportThread(): Promise<{
  job: ExportJob
  parent: ConversationMessage
  upload: EmulatorCall
}> {
  const upload = await completedUpload()
  const job = exportJobs()[0] as ExportJob
  const thread = await h.thread(job.id)
  const parent = h.emulator.conversation().find((m) => m.ts === thread?.ts)
  if (!parent) throw new Error(`no parent message for ${job.id}\n${h.emulator.transcript()}`)
  return { job, parent, upload }
}

describe('/export with arguments', () => {
  it('acks within 3 s and answers in a thread: parent, result mentioning the requester, table, CSV file', async () => {
    const response = await h.driver.command('/export', { user: viewer, channel, text: `${upa} csv sample` })
    expect(response.status).toBe(200)
    expect(response.ms).toBeLessThan(3000)

    const { job, parent, upload } = await exportThread()
    expect(job).toMatchObject({ status: 'completed', format: 'csv', limit: 10, connectionName: upa })
    expect(job.requestedBy).toEqual({ via: 'slack', id: viewer })
    expect(await h.thread(job.id)).toEqual({ channel, ts: parent.ts, user: viewer })
    expect(upload.args).toMatchObject({ channel_id: channel, thread_ts: parent.ts })

    // The parent was posted once and then updated in place to the final state.
    const parentPosts = h.emulator.callsOf('chat.postMessage').filter((c) => c.args.thread_ts === undefined)
    expect(parentPosts).toHaveLength(1)
    const updates = h.emulator.callsOf('chat.update').filter((c) => c.args.ts === parent.ts && c.ok)
    expect(updates.at(-1)?.args.text).toBe(`Export ${job.id} done: 10 users → roster.csv`)
    expect(parent.text).toBe(`Export ${job.id} done: 10 users → roster.csv`)

    const [result, table, file, ...more] = parent.replies
    expect(more).toEqual([])
    expect(result?.text).toMatch(new RegExp(`^<@${viewer}> Export ${job.id} is done: 10 users in roster.csv`))
    expect(table?.rendered).toContain('```')
    expect(table?.rendered).toMatch(/user_id +email +email_verified/)
    expect(table?.rendered).toContain('ada@example.com')
    expect(file?.files?.map((f) => f.name)).toEqual(['roster.csv'])
  })

  it('uploads the CSV as Auth0 writes it: header of profile fields, every string cell escaped', async () => {
    await h.driver.command('/export', { user: viewer, channel, text: `csv ${upa} sample` })
    const { upload } = await exportThread()
    const csv = uploadedFile(upload)
    const [header, first] = csv.split('\r\n')
    expect(header).toBe(
      'user_id,email,email_verified,username,phone_number,phone_verified,given_name,family_name,name,nickname,picture,blocked,app_metadata,user_metadata,created_at,updated_at',
    )
    expect(first).toContain(`,"'ada@example.com",false,`)
    expect(first).toContain(`,"'=HYPERLINK(""http://evil"")","'O""Brien",`)
    const rows = Papa.parse<string[]>(csv.trim(), { header: false }).data
    expect(rows).toHaveLength(11)
    expect(rows[1]?.[13]).toBe(`'{"plan":"pro"}`)
  })

  it('exports every connection with "all", without a table when it is not a sample', async () => {
    await h.roster.engine.addConnection({ name: 'partners', strategy: 'auth0' })
    await seed('partners', [{ email: 'p1@partner.example' }, { email: 'p2@partner.example' }])
    await h.driver.command('/export', { user: slackAdmin, channel, text: 'all ndjson' })
    const { job, parent, upload } = await exportThread()
    expect(job.connectionId).toBeUndefined()
    const lines = uploadedFile(upload).trim().split('\n')
    expect(lines).toHaveLength(seedUsers.length + 2)
    expect(lines.map((line) => JSON.parse(line).email)).toContain('p2@partner.example')
    expect(parent.rendered).toContain('all connections · NDJSON')
    expect(parent.replies.map((r) => (r.files?.length ? 'file' : r.text.split(' is done')[0]))).toEqual([
      `<@${slackAdmin}> Export ${job.id}`,
      'file',
    ])
  })

  it('uploads a gzipped file when asked, and still shows the sample as a table', async () => {
    await h.driver.command('/export', { user: viewer, channel, text: `gzip sample ${upa}` })
    const { job, parent, upload } = await exportThread()
    expect(job).toMatchObject({ gzip: true, format: 'json', result: { fileName: 'roster.json.gz' } })
    const id = String((upload.args.files as Args[])[0]?.id)
    const users = JSON.parse(gunzipSync(h.emulator.fileContent(id) ?? Buffer.alloc(0)).toString('utf8'))
    expect(users).toHaveLength(10)
    expect(parent.replies[1]?.rendered).toContain('ada@example.com')
    expect(parent.replies[2]?.files?.map((f) => f.name)).toEqual(['roster.json.gz'])
  })

  it('refuses a word it does not know with the usage, and starts nothing', async () => {
    const response = await h.driver.command('/export', { user: viewer, channel, text: `${upa} xlsx` })
    expect(response.status).toBe(200)
    expect(response.json).toMatchObject({ response_type: 'ephemeral' })
    expect((response.json as { text: string }).text).toContain('Usage: `/export [connection|all]')
    expect(exportJobs()).toEqual([])
    expect(h.emulator.callsOf('chat.postMessage')).toEqual([])
  })

  it('says so when Roster cannot post in the channel, and starts nothing', async () => {
    h.emulator.failNext('chat.postMessage', { kind: 'error', error: 'not_in_channel' })
    const response = await h.driver.command('/export', { user: viewer, channel, text: 'csv' })
    expect(response.status).toBe(200)
    const answer = await h.emulator.waitFor('response_url')
    expect(answer.args).toMatchObject({ response_type: 'ephemeral' })
    expect(String(answer.args.text)).toContain('invite it (`/invite @roster`)')
    expect(exportJobs()).toEqual([])
  })
})

describe('/export without arguments', () => {
  it('opens the dialog; its submission exports the chosen fields, as a sample, in a thread', async () => {
    const response = await h.driver.command('/export', { user: slackAdmin, channel })
    expect(response.status).toBe(200)
    await h.emulator.waitFor('views.open', (_args, call) => call.ok === true)
    const view = h.driver.latestView(slackAdmin)
    expect(view.blocks.map((b) => b.block_id)).toEqual([
      'export_connection',
      'export_format',
      'export_default_fields',
      'export_fields',
      'export_sample',
      'export_gzip',
    ])
    const upaId = h.roster.engine.listConnections().find((c) => c.name === upa)?.id
    const submitted = await h.driver.submitView(
      view.id,
      {
        export_connection: upaId,
        export_format: 'json',
        export_default_fields: ['on'],
        export_fields: 'user_metadata.plan=Plan',
        export_sample: ['on'],
      },
      slackAdmin,
    )
    expect(submitted.status).toBe(200)
    expect(submitted.ms).toBeLessThan(3000)
    const { job, parent, upload } = await exportThread()
    expect(job).toMatchObject({ format: 'json', limit: 10, gzip: false, requestedBy: { id: slackAdmin } })
    const users = JSON.parse(uploadedFile(upload)) as Record<string, unknown>[]
    expect(users).toHaveLength(10)
    // The default fields (in their order; a user without a value has no key) and the extra one, last.
    const keys = Object.keys(users[0] ?? {})
    expect(keys.filter((k) => ['Id', 'Email', 'Given Name', 'Connection', 'Plan'].includes(k))).toEqual([
      'Id',
      'Given Name',
      'Email',
      'Connection',
      'Plan',
    ])
    expect(keys.at(-1)).toBe('Plan')
    expect(users[0]).toMatchObject({ Email: 'ada@example.com', Plan: 'pro', Connection: upa })
    expect(parent.replies[1]?.rendered).toMatch(/Id +Given Name +Family Name/)
  })

  it('points at a bad field line on the dialog itself, and starts nothing', async () => {
    await h.driver.command('/export', { user: viewer, channel })
    await h.emulator.waitFor('views.open', (_args, call) => call.ok === true)
    const view = h.driver.latestView(viewer)
    const submitted = await h.driver.submitView(
      view.id,
      { export_connection: '*all*', export_format: 'csv', export_fields: 'email\npassword_hash' },
      viewer,
    )
    expect(submitted.json).toEqual({
      response_action: 'errors',
      errors: {
        export_fields: 'password_hash is never exported: password hashes and MFA secrets stay in the store.',
      },
    })
    expect(h.emulator.latestView(viewer)?.id).toBe(view.id)
    expect(exportJobs()).toEqual([])
  })
})

describe('roles', () => {
  it('denies someone with no role, ephemerally, naming the roles that may export', async () => {
    const response = await h.driver.command('/export', { user: nobody, channel, text: 'csv' })
    expect(response.status).toBe(200)
    expect(response.json).toMatchObject({ response_type: 'ephemeral' })
    expect(ephemeralTo(nobody).map((m) => m.text)).toEqual([
      ':no_entry: Exporting users needs the viewer-users or editor-users or admin role. You have no Roster role. Ask a Roster admin (`/jobs access`).',
    ])
    await h.driver.command('/export', { user: nobody, channel })
    expect(h.emulator.callsOf('views.open')).toEqual([])
    expect(h.emulator.callsOf('chat.postMessage')).toEqual([])
    expect(exportJobs()).toEqual([])
  })

  it('checks the role again when the dialog is submitted', async () => {
    await h.driver.command('/export', { user: viewer, channel })
    await h.emulator.waitFor('views.open', (_args, call) => call.ok === true)
    const view = h.driver.latestView(viewer)
    await h.setRoles({})
    const submitted = await h.driver.submitView(
      view.id,
      { export_connection: '*all*', export_format: 'csv' },
      viewer,
    )
    expect(submitted.json).toMatchObject({
      response_action: 'errors',
      errors: { export_connection: expect.stringContaining('You have no Roster role') },
    })
    expect(exportJobs()).toEqual([])
  })
})
