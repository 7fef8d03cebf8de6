import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ImportJob } from '../../src/domain/jobs/job.ts'
import { toAuth0User } from '../../src/domain/users/auth0-user-view.ts'
import { defaultConnection, poll, RosterProcesses } from '../support/roster-process.ts'
import type { Args, Block, EmulatorCall } from '../support/slack/types.ts'
import { openSlackHarness, type SlackHarness, slackAdmin } from '../support/slack-harness.ts'
import { readUsers } from '../support/store-inspection.ts'
import { comparableSet, startTenantPair, type TenantPair } from '../support/tenant-pair.ts'

/**
 * The Slack flow of issue 13 against a tenant: a front Roster (AUTH0_* set, Slack pointed at the emulator) in front
 * of a tenant Roster process (API_RATE_LIMIT set). Drop a file → dry run with the tenant's diff → Import → the
 * job's thread with its error report → Undo; at each step the tenant holds what the same file makes of an embedded
 * store.
 */

const editor = 'UEDITOR1'
const channel = 'C0GENERAL'
const seedUsers = [
  { email: 'keep@example.com', given_name: 'Keep' },
  { email: 'change@example.com', given_name: 'Before', user_metadata: { plan: 'basic' } },
]
const usersFile = [
  { email: 'keep@example.com', given_name: 'Keep' },
  { email: 'change@example.com', given_name: 'After', user_metadata: { plan: 'pro' } },
  { email: 'new@example.com' },
  { email: 'broken' },
]

let pair: TenantPair
let h: SlackHarness
let dir: string
const embeddedRuns = new RosterProcesses()

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'roster-tenant-slack-'))
  pair = await startTenantPair()
  const seed = join(dir, 'seed.json')
  await writeFile(seed, JSON.stringify(seedUsers))
  await pair.tenantJson(['import', seed, '--connection', defaultConnection, '--wait'])
  h = await openSlackHarness({
    env: pair.frontEnv,
    emulator: {
      users: [
        { id: slackAdmin, name: 'ada' },
        { id: editor, name: 'eddie' },
      ],
    },
  })
  await h.setRoles({ [editor]: 'editor-users' })
}, 300_000)

afterEach(async () => {
  await h?.close()
  await pair?.close()
  await embeddedRuns.killAll()
  await rm(dir, { recursive: true, force: true })
})

const textOf = (call: EmulatorCall) => String(call.args.text ?? '')
const blocksText = (call: EmulatorCall) =>
  ((call.args.blocks ?? []) as Block[])
    .map((b) => (b.text as { text?: string } | undefined)?.text ?? '')
    .join('\n')
const isPreview = (args: Args) =>
  typeof args.thread_ts === 'string' && String(args.text).startsWith('Dry run job_')

/** The same seed and file through the CLI on an embedded store: what the tenant must end up like. */
async function embeddedRun(): Promise<{
  afterImport: unknown[]
  afterUndo: unknown[]
  summary: unknown
  undoSummary: unknown
}> {
  const storeDir = join(dir, 'embedded')
  const seed = join(dir, 'seed.json')
  const file = join(dir, 'users.json')
  await writeFile(file, JSON.stringify(usersFile))
  const args = (path: string, ...flags: string[]) => [
    'import',
    path,
    '--connection',
    defaultConnection,
    '--wait',
    ...flags,
  ]
  await embeddedRuns.cliJson(storeDir, args(seed))
  const job = await embeddedRuns.cliJson<{ id: string; summary: unknown }>(
    storeDir,
    args(file, '--upsert'),
    [4],
  )
  const afterImport = comparableSet((await readUsers(storeDir)).map((u) => toAuth0User(u)))
  const undo = await embeddedRuns.cliJson<{ summary: unknown }>(storeDir, ['undo', job.id, '--wait'])
  const afterUndo = comparableSet((await readUsers(storeDir)).map((u) => toAuth0User(u)))
  return { afterImport, afterUndo, summary: job.summary, undoSummary: undo.summary }
}

describe('the Slack flow against the tenant', () => {
  it('drop → dry run with the diff → Import → the thread with its error report → Undo, as in embedded mode', async () => {
    const expected = await embeddedRun()

    const { ts } = await h.driver.dropFile({
      name: 'users.json',
      content: JSON.stringify(usersFile),
      user: editor,
    })
    await h.emulator.waitFor('chat.postMessage', (args) => args.thread_ts === ts)
    await h.driver.click({ actionId: 'import_open', user: editor, channel })
    await h.emulator.waitFor('views.open', (_args, call) => call.ok === true)
    const view = h.driver.latestView(editor)
    // The dialog's connections are the tenant's: the one offered carries the tenant's id.
    const tenantConnections = await pair.tenantJson<{ id: string; name: string }[]>(['connections'])
    const connection = tenantConnections.find((c) => c.name === defaultConnection)?.id
    expect(JSON.stringify(view.blocks)).toContain(String(connection))
    const submitted = await h.driver.submitView(view.id, {
      import_connection: connection,
      import_options: ['upsert'],
    })
    expect(submitted.status).toBe(200)

    const preview = await h.emulator.waitFor('chat.postMessage', isPreview, 60_000)
    expect(textOf(preview)).toMatch(/^Dry run job_\w+: 1 to insert, 1 to update, 1 unchanged, 1 failed$/)
    expect(blocksText(preview)).toContain('• *update* `change@example.com`: given_name: "Before" → "After"')
    expect(blocksText(preview)).toMatch(/• row 4 `broken` — INVALID_FORMAT/)
    expect((await pair.tenantUsers()).map((u) => u.email)).not.toContain('new@example.com')

    expect((await h.driver.click({ actionId: 'import_confirm', user: slackAdmin, channel })).status).toBe(200)
    const started = await poll('the import', () =>
      h.roster.engine
        .listJobs(20)
        .find((j) => j.type === 'users_import' && !j.options.dryRun && j.requestedBy.via === 'slack'),
    )
    const done = (await h.roster.engine.waitFor(started.id)) as ImportJob
    expect(done.summary).toEqual(expected.summary)
    await h.emulator.waitFor(
      'chat.postMessage',
      (args) =>
        typeof args.thread_ts === 'string' &&
        String(args.text).includes(done.id) &&
        String(args.text).includes('is done'),
      60_000,
    )
    const report = await h.emulator.waitFor(
      'files.completeUploadExternal',
      (_a, call) => call.ok === true,
      30_000,
    )
    expect(JSON.stringify(report.args)).toContain(`${done.id}`)
    expect(comparableSet(await pair.tenantUsers())).toEqual(expected.afterImport)

    await h.driver.command('/jobs', { user: slackAdmin, channel })
    await h.driver.click({ actionId: 'job_undo', user: slackAdmin, channel, value: done.id })
    await h.emulator.waitFor('response_url', (args) => String(args.text).includes('Undo of'))
    const undo = h.roster.engine.listJobs().find((job) => job.type === 'users_undo')
    expect(await h.roster.engine.waitFor(undo?.id ?? '')).toMatchObject({
      status: 'completed',
      summary: expected.undoSummary,
    })
    expect(comparableSet(await pair.tenantUsers())).toEqual(expected.afterUndo)
  }, 400_000)
})
