import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { exportModal } from '../../src/adapters/slack/blocks/export-modal.ts'
import type { Job } from '../../src/domain/jobs/job.ts'
import { poll } from '../support/roster-process.ts'
import { suggestOptions } from '../support/slack/suggestions.ts'
import type { Args, Block } from '../support/slack/types.ts'
import { openSlackHarness, type SlackHarness, slackAdmin } from '../support/slack-harness.ts'

/** Tenants bigger than a static select holds, and job lists longer than one message. */

const editor = 'UEDITOR1'
const viewer = 'UVIEWER1'
const channel = 'C0GENERAL'

let h: SlackHarness
const open = async () => {
  h = await openSlackHarness({
    emulator: {
      users: [
        { id: slackAdmin, name: 'ada' },
        { id: editor, name: 'eddie' },
        { id: viewer, name: 'vera' },
      ],
    },
  })
  await h.setRoles({ [editor]: 'editor-users', [viewer]: 'viewer-users' })
}
const close = () => h.close()

const elementOf = (blocks: Block[], blockId: string) =>
  blocks.find((b) => b.block_id === blockId)?.element as Args | undefined
const optionValues = (options: Args[]) => options.map((o) => String(o.value))

describe('150 connections', () => {
  beforeEach(async () => {
    await open()
    for (let i = 0; i < 150; i++)
      await h.roster.engine.addConnection({
        name: `tenant-db-${String(i).padStart(3, '0')}`,
        strategy: 'auth0',
      })
  })
  afterEach(close)
  const idOf = (name: string) => h.roster.engine.listConnections().find((c) => c.name === name)?.id ?? ''

  it('the import dialog searches them (external_select) and imports into the one picked, however far down', async () => {
    await h.driver.command('/import', { user: editor, channel })
    await h.emulator.waitFor('views.open', (_a, call) => call.ok === true)
    const view = h.driver.latestView(editor)
    expect(elementOf(view.blocks, 'import_connection')).toMatchObject({
      type: 'external_select',
      min_query_length: 0,
    })

    const first = await suggestOptions(h.emulator, h.driver, { viewId: view.id, actionId: 'connection' })
    expect(first.status).toBe(200)
    expect(first.options).toHaveLength(100)
    const typed = await suggestOptions(h.emulator, h.driver, {
      viewId: view.id,
      actionId: 'connection',
      value: 'DB-14',
    })
    expect(typed.options.map((o) => (o.text as { text: string }).text)).toEqual(
      Array.from({ length: 10 }, (_, i) => `tenant-db-14${i}`),
    )
    const last = typed.options.find((o) => (o.text as { text: string }).text === 'tenant-db-149')
    const file = h.emulator.addFile({
      name: 'users.json',
      content: JSON.stringify([{ email: 'a@example.com' }]),
      user: editor,
    })
    const submitted = await h.driver.submitView(
      view.id,
      { import_file: [file.id], import_connection: last, import_options: [] },
      editor,
    )
    expect(submitted.status).toBe(200)
    expect(submitted.body).toBe('')
    const dryRun = await poll('the dry run', () =>
      h.roster.engine.listJobs(5).find((j) => j.requestedBy.via === 'slack'),
    )
    expect(dryRun.connectionId).toBe(idOf('tenant-db-149'))
  })

  it('the export dialog searches them too, "All connections" first, and exports the one picked', async () => {
    await h.driver.command('/export', { user: viewer, channel })
    await h.emulator.waitFor('views.open', (_a, call) => call.ok === true)
    const view = h.driver.latestView(viewer)
    expect(elementOf(view.blocks, 'export_connection')).toMatchObject({
      type: 'external_select',
      initial_option: { value: '*all*' },
    })
    const first = await suggestOptions(h.emulator, h.driver, { viewId: view.id, actionId: 'connection' })
    expect(first.options).toHaveLength(100)
    expect(first.options[0]).toMatchObject({ value: '*all*' })
    const typed = await suggestOptions(h.emulator, h.driver, {
      viewId: view.id,
      actionId: 'connection',
      value: '077',
    })
    expect(optionValues(typed.options)).toEqual([idOf('tenant-db-077')])
    const submitted = await h.driver.submitView(
      view.id,
      { export_connection: typed.options[0], export_format: 'json' },
      viewer,
    )
    expect(submitted.body).toBe('')
    const job = await poll('the export', () =>
      h.roster.engine.listJobs(5).find((j) => j.type === 'users_export'),
    )
    expect(job.connectionId).toBe(idOf('tenant-db-077'))
  })

  it('answers the search only to people whose role allows the dialog', async () => {
    await h.driver.command('/export', { user: viewer, channel })
    await h.emulator.waitFor('views.open', (_a, call) => call.ok === true)
    const view = h.driver.latestView(viewer)
    await h.setRoles({ [editor]: 'editor-users' })
    const answer = await suggestOptions(h.emulator, h.driver, {
      viewId: view.id,
      actionId: 'connection',
      value: 'db',
    })
    expect(answer.status).toBe(200)
    expect(answer.options).toEqual([])
  })

  it('keeps a static select while the options fit (99 connections and "All connections")', async () => {
    const view = exportModal({
      metadata: { channel },
      connections: h.roster.engine.listConnections().slice(0, 99),
    })
    const select = elementOf(view.blocks as Block[], 'export_connection')
    expect(select).toMatchObject({ type: 'static_select' })
    expect(select?.options as Args[]).toHaveLength(100)
  })
})

describe('/jobs with 200 jobs', () => {
  const total = 200
  let jobs: Job[]
  // One tenant for both tests: making 200 jobs is most of their time. Each test starts its own /jobs message.
  beforeAll(async () => {
    await open()
    // Every third one asked for from Slack by the editor: `/jobs mine` finds those.
    for (let i = 0; i < total; i++) {
      await h.roster.engine.requestImport({
        connection: 'Username-Password-Authentication',
        fileName: `batch-${i}.json`,
        bytes: Buffer.from(JSON.stringify([{ email: `u${i}@example.com` }])),
        options: { upsert: false, merge: false, dryRun: true, sendCompletionEmail: false },
        requestedBy: i % 3 === 0 ? { via: 'slack', id: editor } : { via: 'cli', id: 'batch' },
      })
    }
    jobs = h.roster.engine.listJobs(Number.MAX_SAFE_INTEGER)
    expect(jobs).toHaveLength(total)
  })
  afterAll(close)

  /** The job ids the person's `/jobs` message shows now (it is replaced in place by each press). */
  const shownIds = (user: string) => {
    const message = h.emulator.workspace
      .messages(channel)
      .filter((m) => m.ephemeralTo === user && !m.deleted)
      .at(-1)?.message
    const blocks = (message?.blocks ?? []) as Block[]
    return {
      header: (blocks[0]?.text as { text?: string } | undefined)?.text,
      ids: blocks
        .filter((b) => String(b.block_id).startsWith('job:'))
        .map((b) => String(b.block_id).slice(4)),
      pager: blocks.find((b) => b.block_id === 'jobs_pager')?.elements as Args[] | undefined,
      count: h.emulator.workspace.messages(channel).filter((m) => m.ephemeralTo === user).length,
    }
  }

  async function press(actionId: 'jobs_older' | 'jobs_newer', user: string) {
    const before = h.emulator.callsOf('response_url').length
    expect((await h.driver.click({ actionId, user, channel })).status).toBe(200)
    await poll('the page replaced', () => h.emulator.callsOf('response_url').length > before || undefined)
  }

  it('pages through all of them with Older, newest first, every job once, in one message; Newer goes back', async () => {
    await h.driver.command('/jobs', { user: editor, channel })
    const seen: string[] = []
    let page = shownIds(editor)
    expect(page.header).toBe('Jobs 1–10 of 200')
    seen.push(...page.ids)
    for (let n = 2; n <= total / 10; n++) {
      await press('jobs_older', editor)
      page = shownIds(editor)
      expect(page.header).toBe(`Jobs ${(n - 1) * 10 + 1}–${n * 10} of 200`)
      seen.push(...page.ids)
    }
    expect(seen).toEqual(jobs.map((j) => j.id))
    expect(page.pager?.map((b) => b.action_id)).toEqual(['jobs_newer'])
    expect(page.count).toBe(1)
    await press('jobs_newer', editor)
    expect(shownIds(editor).ids).toEqual(jobs.slice(180, 190).map((j) => j.id))
  })

  it('filters: `/jobs mine import` pages through only the jobs the person asked for, keeping the filter', async () => {
    const response = await h.driver.command('/jobs', { text: 'mine import', user: editor, channel })
    expect((response.json as { text: string }).text).toBe('Jobs 1–10 of 67 · mine, import')
    const mine = jobs.filter((j) => j.requestedBy.id === editor).map((j) => j.id)
    const seen = [...shownIds(editor).ids]
    for (let n = 2; n <= 7; n++) {
      await press('jobs_older', editor)
      seen.push(...shownIds(editor).ids)
    }
    expect(seen).toEqual(mine)
    const failed = await h.driver.command('/jobs', { text: 'failed', user: editor, channel })
    expect((failed.json as { text: string }).text).toContain('No jobs match `failed`')
    const unknown = await h.driver.command('/jobs', { text: 'failed sometimes', user: editor, channel })
    expect((unknown.json as { text: string }).text).toContain('`sometimes` is not a filter')
  })
})
