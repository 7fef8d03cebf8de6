import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ImportJob } from '../../src/domain/jobs/job.ts'
import { poll } from '../support/roster-process.ts'
import { liveMarkupFindings } from '../support/slack/payload-audit.ts'
import type { Args, Block, EmulatorCall } from '../support/slack/types.ts'
import { openSlackHarness, type SlackHarness, slackAdmin } from '../support/slack-harness.ts'

/**
 * Data that means something to Slack — a file name and user rows full of `<!channel>`, links, mentions and
 * backticks; a 2,000-character file name of emoji — taken through the whole import flow in Slack: the drop, the
 * dialog, the dry run, its preview, Import, the job's thread, the error report and `/jobs`. Nothing Roster sends
 * may ping a channel, link anywhere, mention anyone it did not mean, break an emoji, or pass a Slack limit.
 */

const editor = 'UEDITOR1'
const channel = 'C0GENERAL'
const upa = 'Username-Password-Authentication'
const hostileName = '<!channel> & <https://evil.example|payroll>.json'
/** 2,000 UTF-16 units: one letter, then emoji all the way, so every cut point falls inside a surrogate pair. */
const longName = `a${'😀'.repeat(997)}.json`

const hostileUsers = [
  // Updates an existing user: the diff shows the new name.
  { email: 'change@example.com', given_name: '<!channel> & <b>', family_name: '`code` <@U123>' },
  {
    email: 'here@example.com',
    given_name: '<!here>',
    nickname: '<!everyone>',
    name: '<!subteam^S0123|admins>',
  },
  { email: 'tick`s@example.com', name: '<https://evil.example|click me>' },
  // Rejected: their emails are in the error lines and the error report.
  { email: '<!here>@evil.example' },
  { email: '<@U123>' },
  { email: '```' },
]

let h: SlackHarness
/** Slash command answers (acks) are not calls to Slack, but Slack shows them: they are checked too. */
let acks: { method: string; args: Args }[]
beforeEach(async () => {
  h = await openSlackHarness({
    emulator: {
      users: [
        { id: slackAdmin, name: 'ada' },
        { id: editor, name: 'eddie' },
      ],
    },
  })
  await h.setRoles({ [editor]: 'editor-users' })
  acks = []
  const seed = await h.roster.engine.requestImport({
    connection: upa,
    fileName: 'seed.json',
    bytes: Buffer.from(JSON.stringify([{ email: 'change@example.com', given_name: 'Before' }])),
    options: { upsert: false, merge: false, dryRun: false, sendCompletionEmail: false },
    requestedBy: { via: 'cli', id: 'seed' },
  })
  await h.roster.engine.waitFor(seed.id)
})
afterEach(async () => {
  await h.close()
})

const blocksOf = (call: EmulatorCall) => (call.args.blocks ?? []) as Block[]
const isPreview = (args: Args) =>
  typeof args.thread_ts === 'string' && String(args.text).startsWith('Dry run job_')

/** Drop → offer → dialog → dry run → preview → Import → result and error report: the import's id. */
async function importByDrop(name: string, content: string): Promise<ImportJob> {
  const { ts } = await h.driver.dropFile({ name, content, user: editor })
  await h.emulator.waitFor('chat.postMessage', (args) => args.thread_ts === ts)
  await h.driver.click({ actionId: 'import_open', user: editor, channel })
  await h.emulator.waitFor('views.open', (_args, call) => call.ok === true)
  const view = h.driver.latestView(editor)
  const connection = h.roster.engine.listConnections().find((c) => c.name === upa)?.id
  const submitted = await h.driver.submitView(view.id, {
    import_connection: connection,
    import_options: ['upsert'],
  })
  expect(submitted.status).toBe(200)
  await h.emulator.waitFor('chat.postMessage', isPreview)
  expect((await h.driver.click({ actionId: 'import_confirm', user: slackAdmin, channel })).status).toBe(200)
  const job = await poll('the import', () =>
    h.roster.engine
      .listJobs(20)
      .find((j) => j.type === 'users_import' && !j.options.dryRun && j.requestedBy.via === 'slack'),
  )
  const done = (await h.roster.engine.waitFor(job.id)) as ImportJob
  await h.emulator.waitFor(
    'chat.postMessage',
    (args) =>
      String(args.text).includes(done.id) &&
      typeof args.thread_ts === 'string' &&
      String(args.text).includes('is done'),
  )
  return done
}

/** `/jobs`, one job's detail, and their acks recorded for the audit. */
async function listJobs(jobId: string) {
  for (const text of ['', jobId, 'import mine', 'help', 'access', 'access nobody']) {
    const response = await h.driver.command('/jobs', { text, user: slackAdmin, channel })
    expect(response.status).toBe(200)
    acks.push({ method: `/jobs ${text}`, args: response.json as Args })
  }
}

const audit = () => liveMarkupFindings([...h.emulator.calls, ...acks], [slackAdmin, editor])

describe('hostile text from a file', () => {
  it('reaches Slack escaped everywhere: no channel ping, foreign link or unmeant mention in any call', async () => {
    const job = await importByDrop(hostileName, JSON.stringify(hostileUsers))
    expect(job.summary).toMatchObject({ failed: 3 })
    await h.emulator.waitFor('files.completeUploadExternal', (_a, call) => call.ok === true, 15_000)
    await listJobs(job.id)
    expect(audit()).toEqual([])
  })

  it('still shows the data, as text: the file name, the names and emails, escaped', async () => {
    await importByDrop(hostileName, JSON.stringify(hostileUsers))
    const parent = h.emulator
      .callsOf('chat.postMessage')
      .find((c) => String(c.args.text).startsWith(':mag: Dry run'))
    expect(String(parent?.args.text)).toContain(
      '&lt;!channel&gt; &amp; &lt;https://evil.example|payroll&gt;.json',
    )
    const preview = h.emulator.callsOf('chat.postMessage').find((c) => isPreview(c.args))
    const shown = JSON.stringify(preview ? blocksOf(preview) : [])
    expect(shown).toContain('&lt;!channel&gt; &amp; &lt;b&gt;')
    expect(shown).toContain('&lt;!here&gt;@evil.example')
    expect(shown).toContain('ˋˋˋ')
  })

  it('is caught by the audit when it is not escaped (the audit can fail)', () => {
    const findings = liveMarkupFindings(
      [
        {
          method: 'chat.postMessage',
          args: { text: `hi <@${editor}> ${hostileName} <@U123> <!date^1^{date}|x>` },
        },
      ],
      [editor],
    )
    expect(findings.map((f) => f.problem)).toEqual([
      'live markup <!channel>',
      'live markup <https://evil.example|payroll>',
      'live markup <@U123>',
    ])
  })
})

describe('a 2,000-character file name of emoji', () => {
  it('goes through the whole flow within Slack limits, clipped by grapheme, never half an emoji', async () => {
    expect(longName).toHaveLength(2000)
    const job = await importByDrop(
      longName,
      JSON.stringify([{ email: 'long@example.com' }, { email: 'bad' }]),
    )
    expect(job.upload.fileName).toBe(longName)
    await h.emulator.waitFor('files.completeUploadExternal', (_a, call) => call.ok === true, 15_000)
    await listJobs(job.id)
    expect(audit()).toEqual([])
    for (const call of h.emulator.calls) {
      const args = call.args
      if (typeof args.text === 'string') expect(args.text.length).toBeLessThanOrEqual(40_000)
      const view = args.view as { private_metadata?: string } | undefined
      if (view?.private_metadata) expect(view.private_metadata.length).toBeLessThanOrEqual(3000)
      for (const block of (typeof args.blocks === 'string'
        ? JSON.parse(args.blocks)
        : (args.blocks ?? [])) as Block[])
        expectWithinLimits(block)
    }
    for (const ack of acks) for (const block of (ack.args.blocks ?? []) as Block[]) expectWithinLimits(block)
    const offer = h.emulator
      .callsOf('chat.postMessage')
      .find((c) => String(c.args.text).startsWith('Import users from'))
    expect(String(offer?.args.text)).toMatch(/^Import users from a😀+…\?$/u)
  })
})

function expectWithinLimits(block: Block): void {
  const text = (block.text as { text?: string } | undefined)?.text
  if (block.type === 'section' && text) expect(text.length).toBeLessThanOrEqual(3000)
  for (const field of (block.fields ?? []) as { text: string }[])
    expect(field.text.length).toBeLessThanOrEqual(2000)
  for (const element of (block.elements ?? []) as { value?: string; text?: string | { text: string } }[]) {
    if (element.value !== undefined) expect(element.value.length).toBeLessThanOrEqual(2000)
    const label = typeof element.text === 'string' ? element.text : element.text?.text
    if (block.type === 'actions' && label !== undefined) expect(label.length).toBeLessThanOrEqual(75)
  }
}
