/**
 * `npm run demo`: Roster's Slack flow without a Slack workspace. Starts the local Slack Web API emulator (the one
 * the tests use) and a real Roster on a temporary store, then plays a session with signed requests exactly as
 * Slack sends them — a file dropped in #general, its dry run, Import, the job thread, an export by a viewer, and
 * `/jobs` — and prints the channel as a person would read it. Nothing leaves this machine.
 */
import { openSlackHarness, slackAdmin } from '../test/support/slack-harness.ts'

const viewer = 'UVIEWER1'
const channel = 'C0GENERAL'
const connection = 'Username-Password-Authentication'

const usersFile = JSON.stringify(
  [
    { email: 'ada.lovelace@example.com', given_name: 'Ada', family_name: 'Lovelace', email_verified: true },
    { email: 'grace.hopper@example.com', given_name: 'Grace', user_metadata: { plan: 'pro' } },
    { email: 'alan.turing@example.com', nickname: 'alan', app_metadata: { roles: ['admin'] } },
    { email: 'not-an-email', given_name: 'Oops' },
    { email: 'grace.hopper@example.com', given_name: 'Duplicate' },
  ],
  null,
  2,
)

const step = (text: string) => process.stdout.write(`\n\x1b[1m▶ ${text}\x1b[0m\n`)

const h = await openSlackHarness({
  emulator: {
    users: [
      { id: slackAdmin, name: 'ada' },
      { id: viewer, name: 'vera' },
    ],
  },
})
try {
  await h.setRoles({ [viewer]: 'viewer-users' })
  // Someone already in the directory, whose profile the file will update.
  const seed = await h.roster.engine.requestImport({
    connection,
    fileName: 'seed.json',
    bytes: Buffer.from(
      JSON.stringify([
        { email: 'grace.hopper@example.com', given_name: 'Grace', user_metadata: { plan: 'basic' } },
      ]),
    ),
    options: { upsert: false, merge: false, dryRun: false, sendCompletionEmail: false },
    requestedBy: { via: 'cli', id: 'demo' },
  })
  await h.roster.engine.waitFor(seed.id)

  step('@ada drops users.json into #general')
  await h.driver.dropFile({ name: 'users.json', content: usersFile, user: slackAdmin, channel })
  await h.emulator.waitFor('chat.postMessage', (args) => String(args.text).startsWith('Import users from'))

  step('@ada presses "Import users from users.json", picks the connection and "Upsert", and submits')
  await h.driver.click({ actionId: 'import_open', user: slackAdmin, channel })
  await h.emulator.waitFor('views.open', (_args, call) => call.ok === true)
  const view = h.driver.latestView(slackAdmin)
  const connectionId = h.roster.engine.listConnections().find((c) => c.name === connection)?.id ?? ''
  await h.driver.submitView(
    view.id,
    { import_connection: connectionId, import_options: ['upsert'] },
    slackAdmin,
  )
  await h.emulator.waitFor('chat.postMessage', (args) => String(args.text).startsWith('Dry run job_'))

  step('@vera (viewer) presses Import: refused, only she sees why')
  await h.driver.click({ actionId: 'import_confirm', user: viewer, channel })

  step('@ada presses Import and confirms')
  await h.driver.click({ actionId: 'import_confirm', user: slackAdmin, channel })
  const confirmed = await h.emulator.waitFor('chat.update', (args) => String(args.text).includes('confirmed'))
  const importId = /job_\w+/.exec(String(confirmed.args.text))?.[0] ?? ''
  await h.roster.engine.waitFor(importId)
  await h.emulator
    .waitFor(
      'chat.postMessage',
      (args) => args.thread_ts !== undefined && String(args.text).includes(importId),
      10_000,
    )
    .catch(() => undefined)

  step(`@vera types /export ${connection} csv sample`)
  const exported = await h.driver.command('/export', {
    text: `${connection} csv sample`,
    user: viewer,
    channel,
  })
  if (exported.status !== 200) throw new Error(`/export answered ${exported.status}`)
  await h.emulator.waitFor('files.completeUploadExternal', undefined, 10_000).catch(() => undefined)

  step('@ada types /jobs (the answer is ephemeral: only she sees it)')
  await h.driver.command('/jobs', { user: slackAdmin, channel })

  step('#general, as the people in it see it')
  process.stdout.write(`${h.emulator.transcript(channel)}\n`)
} finally {
  await h.close()
}
