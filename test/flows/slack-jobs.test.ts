import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ImportJob } from '../../src/domain/jobs/job.ts'
import { blockActionsPayload } from '../support/slack/interactions.ts'
import { openSlackHarness, type SlackHarness, slackAdmin } from '../support/slack-harness.ts'

const editor = 'UEDITOR1'
const viewer = 'UVIEWER1'
const stranger = 'USTRANGER1'
const channel = 'C0GENERAL'

let h: SlackHarness
let imported: ImportJob
beforeEach(async () => {
  h = await openSlackHarness({
    emulator: {
      users: [
        { id: slackAdmin, name: 'ada' },
        { id: editor, name: 'eddie' },
        { id: viewer, name: 'vera' },
        { id: stranger, name: 'sam' },
      ],
    },
  })
  await h.setRoles({ [editor]: 'editor-users', [viewer]: 'viewer-users' })
  const job = await h.roster.engine.requestImport({
    connection: 'Username-Password-Authentication',
    fileName: 'users.json',
    bytes: Buffer.from(JSON.stringify([{ email: 'a@example.com' }, { email: 'broken' }])),
    options: { upsert: false, merge: false, dryRun: false, sendCompletionEmail: false },
    requestedBy: { via: 'cli', id: 'seed' },
  })
  imported = (await h.roster.engine.waitFor(job.id)) as ImportJob
})
afterEach(async () => {
  await h.close()
})

const textOf = (json: unknown) => JSON.stringify(json)

describe('/jobs', () => {
  it('lists recent jobs ephemerally, with the buttons the caller may use', async () => {
    const admin = await h.driver.command('/jobs', { user: slackAdmin, channel })
    expect(admin.status).toBe(200)
    expect(admin.json).toMatchObject({ response_type: 'ephemeral', text: 'Jobs 1–1 of 1' })
    expect(textOf(admin.json)).toContain(imported.id)
    for (const action of ['job_info', 'job_errors', 'job_undo']) expect(textOf(admin.json)).toContain(action)
    const asViewer = await h.driver.command('/jobs', { user: viewer, channel })
    expect(textOf(asViewer.json)).toContain('job_info')
    expect(textOf(asViewer.json)).not.toContain('job_undo')
  })

  it('refuses someone with no role, naming the roles that may read jobs, and audits it', async () => {
    const response = await h.driver.command('/jobs', { user: stranger, channel })
    expect((response.json as { text: string }).text).toContain(
      'needs the viewer-users or editor-users or admin role',
    )
    const audit = await h.roster.audit.recent(10)
    expect(audit.at(-1)).toMatchObject({ actor: { id: stranger }, action: 'jobs.read', allowed: false })
  })

  it('acks, denies and audits Slack user ids that are built-in property names', async () => {
    for (const user of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const response = await h.driver.command('/jobs', { user, channel })
      expect(response.status).toBe(200)
      expect((response.json as { text: string }).text).toContain('You have no Roster role.')
      const audit = await h.roster.audit.recent(1)
      expect(audit.at(-1)).toMatchObject({ actor: { id: user }, action: 'jobs.read', allowed: false })
    }
  })

  it('shows one job by id, and says so for an unknown id', async () => {
    const one = await h.driver.command('/jobs', { text: imported.id, user: viewer, channel })
    expect(textOf(one.json)).toContain('users_import')
    const unknown = await h.driver.command('/jobs', { text: 'job_AAAAAAAAAAAAAAAA', user: viewer, channel })
    expect((unknown.json as { text: string }).text).toContain('No job job_AAAAAAAAAAAAAAAA')
  })

  it('tells each role only what it may do', async () => {
    const help = await h.driver.command('/jobs', { text: 'help', user: viewer, channel })
    const text = (help.json as { text: string }).text
    expect(text).toContain('viewer-users')
    expect(text).toContain('/export')
    expect(text).not.toContain('/import')
  })

  it('lets an admin change roles from Slack, and nobody else', async () => {
    const denied = await h.driver.command('/jobs', {
      text: `access <@${stranger}> viewer-users`,
      user: editor,
      channel,
    })
    expect((denied.json as { text: string }).text).toContain('needs the admin role')
    const granted = await h.driver.command('/jobs', {
      text: `access <@${stranger}> viewer-users`,
      user: slackAdmin,
      channel,
    })
    expect((granted.json as { text: string }).text).toBe(`<@${stranger}> is now viewer-users.`)
    const now = await h.driver.command('/jobs', { user: stranger, channel })
    expect(textOf(now.json)).toContain(imported.id)
  })
})

describe('job buttons', () => {
  it('More info answers the person who pressed it', async () => {
    await h.driver.command('/jobs', { user: viewer, channel })
    const response = await h.driver.click({ actionId: 'job_info', user: viewer, channel, value: imported.id })
    expect(response.status).toBe(200)
    const reply = await h.emulator.waitFor('response_url', (args) => String(args.text).includes(imported.id))
    expect(reply.args).toMatchObject({ response_type: 'ephemeral' })
  })

  it('Error report uploads the full report and the failed users into the channel', async () => {
    await h.driver.command('/jobs', { user: editor, channel })
    await h.driver.click({ actionId: 'job_errors', user: editor, channel, value: imported.id })
    const upload = await h.emulator.waitFor('files.completeUploadExternal')
    expect(JSON.stringify(upload.args)).toContain(`${imported.id}-errors.json`)
    expect(JSON.stringify(upload.args)).toContain(`${imported.id}-failed-users.json`)
  })

  it('Undo pressed by a viewer (the admin’s list, sent as the viewer) is refused, and nothing is undone', async () => {
    await h.driver.command('/jobs', { user: slackAdmin, channel })
    // The viewer never sees the admin's ephemeral list: this is the payload Slack would send if they could press it.
    const { payload } = blockActionsPayload(h.emulator, { actionId: 'job_undo', user: slackAdmin, channel })
    const response = await h.driver.interaction({
      ...payload,
      user: { ...(payload.user as object), id: viewer },
    })
    expect(response.status).toBe(200)
    const reply = await h.emulator.waitFor('response_url', (args) =>
      String(args.text).includes('needs the admin role'),
    )
    expect(reply.args).toMatchObject({ response_type: 'ephemeral' })
    expect(h.roster.engine.listJobs().filter((job) => job.type === 'users_undo')).toEqual([])
  })

  it('Undo pressed by an admin reverts the import as a job of its own', async () => {
    await h.driver.command('/jobs', { user: slackAdmin, channel })
    await h.driver.click({ actionId: 'job_undo', user: slackAdmin, channel, value: imported.id })
    await h.emulator.waitFor('response_url', (args) => String(args.text).includes('Undo of'))
    const undo = h.roster.engine.listJobs().find((job) => job.type === 'users_undo')
    expect(undo).toBeDefined()
    await h.roster.engine.waitFor(undo?.id ?? '')
    expect(await h.roster.engine.findUsers('a@example.com')).toEqual([])

    // It answers where it was pressed, in a thread of its own: the parent, updated to done, and the result.
    const thread = await h.thread(undo?.id ?? '')
    expect(thread).toEqual({ channel, ts: thread.ts, user: slackAdmin })
    const result = await h.emulator.waitFor(
      'chat.postMessage',
      (args) => args.thread_ts === thread.ts && String(args.text).includes(`<@${slackAdmin}>`),
    )
    expect(String(result.args.text)).toContain(undo?.id ?? '')
    const parent = h.emulator.conversation().find((m) => m.ts === thread.ts)
    expect(parent?.rendered).toContain(`undo of \`${imported.id}\``)
    expect(parent?.replies.length).toBeGreaterThan(0)
  })
})

describe('request signatures', () => {
  it('refuses a badly signed command with 401 and does nothing', async () => {
    const response = await h.driver.command('/jobs', { user: slackAdmin, channel }, { signature: 'bad' })
    expect(response.status).toBe(401)
    expect(await h.roster.audit.recent(10)).toEqual([])
  })

  it('refuses a stale timestamp (a replay) with 401 and does nothing', async () => {
    const response = await h.driver.command('/jobs', { user: slackAdmin, channel }, { stale: true })
    expect(response.status).toBe(401)
    expect(await h.roster.audit.recent(10)).toEqual([])
  })
})
