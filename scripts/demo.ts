/**
 * `npm run demo`: Roster's Slack flow without a Slack workspace. Starts the local Slack Web API emulator (the one
 * the tests use) and a real Roster on a temporary store, then plays a session with signed requests exactly as
 * Slack sends them — a file dropped in #general, its dry run, Import, the job thread, an export by a viewer, and
 * `/jobs` — and prints the channel as a person would read it. Nothing leaves this machine.
 */
import type { Job } from '../src/domain/jobs/job.ts'
import type { CallPredicate } from '../test/support/slack/call-log.ts'
import type { EmulatorCall } from '../test/support/slack/types.ts'
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

/** Bold on a terminal; plain text when piped or redirected (no escape codes in a file). */
const step = (text: string) =>
  process.stdout.write(process.stdout.isTTY ? `\n\x1b[1m▶ ${text}\x1b[0m\n` : `\n▶ ${text}\n`)

/**
 * How long the demo waits for any one thing (a job, a thread filling) before it gives up. Each wait ends as soon as
 * its condition holds; the ceiling is only there so a broken build fails with a message instead of hanging.
 */
const ceilingMs = 120_000

const h = await openSlackHarness({
  emulator: {
    users: [
      { id: slackAdmin, name: 'ada' },
      { id: viewer, name: 'vera' },
    ],
  },
})
/** Resolves with `promise`, or fails after `ceilingMs` saying what the demo was waiting for. */
async function within<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const gaveUp = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`gave up after ${ceilingMs / 1000} s waiting for ${what}`)),
      ceilingMs,
    )
  })
  try {
    return await Promise.race([promise, gaveUp])
  } finally {
    clearTimeout(timer)
  }
}

/** The emulator receiving a call of `method` that matches, within the ceiling, said as `what` if it does not. */
function received(what: string, method: string, predicate?: CallPredicate): Promise<EmulatorCall> {
  return h.emulator
    .waitFor(method, predicate, ceilingMs)
    .catch((error: Error) => Promise.reject(new Error(`gave up waiting for ${what}.\n${error.message}`)))
}

/** The next job of `type` the engine creates (subscribe before the request that creates it). */
function nextJob(type: Job['type']): Promise<Job> {
  return new Promise((resolve) => {
    const unsubscribe = h.roster.engine.subscribe((event) => {
      if (event.type !== 'job:created' || event.job.type !== type) return
      unsubscribe()
      resolve(event.job)
    })
  })
}

/** A job's thread once it has its outcome: the job finished, the result posted in it and the parent updated. */
async function settled(jobId: string, what: string): Promise<{ job: Job; threadTs: string }> {
  const job = await within(`${what} to finish`, h.roster.engine.waitFor(jobId))
  const threadTs = (await h.threads())[jobId]?.ts
  if (!threadTs) throw new Error(`${what} (${jobId}) has no thread`)
  await Promise.all([
    received(
      `the result of ${what} in its thread`,
      'chat.postMessage',
      (args) => args.thread_ts === threadTs && String(args.text).includes(`${jobId} is done`),
    ),
    received(
      `the parent message of ${what} showing it done`,
      'chat.update',
      (args, call) => call.ok === true && args.ts === threadTs && String(args.text).includes(`${jobId} done`),
    ),
  ])
  return { job, threadTs }
}

/** A file upload into the thread that Slack completed. */
const uploadedInto = (threadTs: string, what: string) =>
  received(
    what,
    'files.completeUploadExternal',
    (args, call) => call.ok === true && args.thread_ts === threadTs,
  )

let failed = false
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
  await received('the offer to import the dropped file', 'chat.postMessage', (args) =>
    String(args.text).startsWith('Import users from'),
  )

  step('@ada presses "Import users from this file", picks the connection and "Upsert", and submits')
  await h.driver.click({ actionId: 'import_open', user: slackAdmin, channel })
  await received('the import dialog to open', 'views.open', (_args, call) => call.ok === true)
  const view = h.driver.latestView(slackAdmin)
  const connectionId = h.roster.engine.listConnections().find((c) => c.name === connection)?.id ?? ''
  await h.driver.submitView(
    view.id,
    { import_connection: connectionId, import_options: ['upsert'] },
    slackAdmin,
  )
  await received('the dry run preview', 'chat.postMessage', (args) =>
    String(args.text).startsWith('Dry run job_'),
  )

  step('@vera (viewer) presses Import: refused, only she sees why')
  await h.driver.click({ actionId: 'import_confirm', user: viewer, channel })
  await received('the refusal, shown to @vera only', 'response_url', (args) =>
    String(args.text).includes('needs the editor-users or admin role'),
  )

  step('@ada presses Import and confirms')
  await h.driver.click({ actionId: 'import_confirm', user: slackAdmin, channel })
  const confirmed = await received('the import to be confirmed', 'chat.update', (args) =>
    String(args.text).includes('confirmed'),
  )
  const importId = /job_\w+/.exec(String(confirmed.args.text))?.[0] ?? ''
  const imported = await settled(importId, 'the import')
  if (imported.job.type === 'users_import' && (imported.job.summary?.failed ?? 0) > 0)
    await uploadedInto(imported.threadTs, "the import's error report in its thread")

  step(`@vera types /export ${connection} csv sample`)
  const exportJob = nextJob('users_export')
  const exported = await h.driver.command('/export', {
    text: `${connection} csv sample`,
    user: viewer,
    channel,
  })
  if (exported.status !== 200) throw new Error(`/export answered ${exported.status}`)
  const exportId = (await within('the export job to be created', exportJob)).id
  const { threadTs } = await settled(exportId, 'the export')
  await uploadedInto(threadTs, "the export's file in its thread")

  step('@ada types /jobs (the answer is ephemeral: only she sees it)')
  const jobs = await h.driver.command('/jobs', { user: slackAdmin, channel })
  if (jobs.status !== 200) throw new Error(`/jobs answered ${jobs.status}`)

  step('#general, as the people in it see it')
  process.stdout.write(`${h.emulator.transcript(channel)}\n`)
} catch (error) {
  failed = true
  process.stderr.write(`\ndemo: ${error instanceof Error ? error.message : String(error)}\n`)
  process.stderr.write(`\n#general so far:\n${h.emulator.transcript(channel)}\n`)
} finally {
  // The emulator refuses what Slack refuses; closing it fails when Roster broke any of Slack's rules.
  const violations = h.emulator.violations.length
  await h.close().catch((error: unknown) => {
    failed = true
    process.stderr.write(`\ndemo: ${error instanceof Error ? error.message : String(error)}\n`)
  })
  if (violations === 0) process.stdout.write("\nEvery call passed the emulator's checks of Slack's limits.\n")
}
if (failed) process.exitCode = 1
