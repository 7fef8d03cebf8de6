import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seedRows, toJsonArray } from '../support/generate-users.ts'
import { hasPostgres } from '../support/postgres.ts'
import { duplicates, startReplicaSet } from '../support/replicas.ts'
import { defaultConnection, poll } from '../support/roster-process.ts'
import { createSlackDriver } from '../support/slack/driver.ts'
import { type SlackEmulator, startSlackEmulator } from '../support/slack/emulator.ts'
import type { EmulatorCall } from '../support/slack/types.ts'
import { slackAdmin, slackDownAfterPost } from '../support/slack-harness.ts'
import { type SmtpSink, startSmtpSink } from '../support/smtp-sink.ts'

/**
 * Issue 14, section 5: Roster replicas on one PostgreSQL database, as processes, and what they tell people. Two
 * replicas take a mix of Slack, CLI and API work: each job runs once, each message and email goes out once. A
 * replica SIGKILLed while it holds a Slack send (its claim on the outbox row) hands it over: the other sends it, once,
 * after the claim lapses (claims last JOB_LEASE_SECONDS, 3 s here). (replicas.test.ts: kills during an import.)
 */

const owner = 'ops@example.com'

type JobJson = Record<string, unknown> & { id: string; status: string; summary?: Record<string, number> }

let dir: string
let sink: SmtpSink

beforeAll(async () => {
  if (!hasPostgres) return
  dir = await mkdtemp(join(tmpdir(), 'roster-replicas-slack-'))
  sink = await startSmtpSink()
  await writeFile(join(dir, 'few.json'), toJsonArray(seedRows(20)))
})

afterAll(async () => {
  await sink?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

const env = () => ({ JOB_LEASE_SECONDS: '3', SMTP_URL: sink.url, TENANT_OWNERS: owner })

/** What a replica set needs to talk to the Slack emulator. */
const slackOf = (emulator: SlackEmulator) => ({
  SLACK_BOT_TOKEN: emulator.botToken,
  SLACK_SIGNING_SECRET: emulator.signingSecret,
  SLACK_API_URL: emulator.apiUrl,
  SLACK_ADMINS: slackAdmin,
})

/** The sink's messages about `jobId` (the subject names the job). */
const mailsAbout = (jobId: string) => sink.messages.filter((mail) => mail.subject?.includes(jobId))

const channel = 'C0GENERAL'
const textOf = (call: EmulatorCall) => String(call.args.text ?? '')

describe.skipIf(!hasPostgres)('two replicas on one database', () => {
  it('take Slack, CLI and API work: each job runs once, each Slack message and email is sent once', async () => {
    const emulator = await startSlackEmulator({ users: [{ id: slackAdmin, name: 'ada' }] })
    const set = await startReplicaSet({
      ...env(),
      ...slackOf(emulator),
      // All seven imports accepted at once (the API answers 429 past the limit, as Auth0 does), across replicas.
      MAX_ACTIVE_IMPORTS: '8',
    })
    try {
      const [a, b] = [await set.start('a'), await set.start('b')]
      const slackA = createSlackDriver({ emulator, appUrl: `http://127.0.0.1:${a.port}/slack/events` })
      const slackB = createSlackDriver({ emulator, appUrl: `http://127.0.0.1:${b.port}/slack/events` })
      const created = await set.cli('a', [
        'tokens',
        'create',
        '--name',
        'ci',
        '--scopes',
        'create:users,read:users,read:connections',
      ])
      const secret = /^ {2}(rst_\S+)$/m.exec(created.stdout)?.[1] ?? ''
      const auth = { authorization: `Bearer ${secret}` }
      const connections = await set.cliJson<{ id: string; name: string }[]>('b', ['connections'])
      const connectionId = connections.find((c) => c.name === defaultConnection)?.id ?? ''

      // Six files of 150 users: three imported by the CLI through A, three by the API through B, all at once.
      const rows = seedRows(900)
      const files = await Promise.all(
        [0, 1, 2, 3, 4, 5].map(async (n) => {
          const file = join(dir, `mix-${n}.json`)
          await writeFile(file, toJsonArray(rows.slice(n * 150, n * 150 + 150)))
          return file
        }),
      )
      const cliJobs = files
        .slice(0, 3)
        .map((file) =>
          set.cliJson<JobJson>('a', [
            'import',
            file,
            '--connection',
            defaultConnection,
            '--send-completion-email',
          ]),
        )
      const apiJobs = files.slice(3).map(async (file, n) => {
        const body = new FormData()
        body.append('connection_id', connectionId)
        body.append('users', new Blob([toJsonArray(rows.slice((n + 3) * 150, (n + 4) * 150))]), 'users.json')
        const response = await fetch(`http://127.0.0.1:${b.port}/api/v2/jobs/users-imports`, {
          method: 'POST',
          headers: auth,
          body,
        })
        expect(response.status, file).toBe(202)
        return (await response.json()) as JobJson
      })
      // Slack: an export asked of each replica, and a file dropped on A whose import goes back and forth.
      expect(
        (await slackA.command('/export', { user: slackAdmin, channel, text: `${defaultConnection} csv` }))
          .status,
      ).toBe(200)
      expect(
        (await slackB.command('/export', { user: slackAdmin, channel, text: `${defaultConnection} json` }))
          .status,
      ).toBe(200)
      const dropped = toJsonArray([1, 2, 3, 4].map((n) => ({ email: `dropped${n}@example.com` })))
      const { ts } = await slackA.dropFile({
        name: 'users.json',
        content: dropped,
        user: slackAdmin,
        channel,
      })
      await emulator.waitFor('chat.postMessage', (args) => args.thread_ts === ts)
      await slackB.click({ actionId: 'import_open', user: slackAdmin, channel })
      await emulator.waitFor('views.open', (_args, call) => call.ok === true)
      const view = slackB.latestView(slackAdmin)
      const submitted = await slackA.submitView(
        view.id,
        { import_connection: connectionId, import_options: ['sendCompletionEmail'] },
        slackAdmin,
      )
      expect(submitted.status).toBe(200)
      await emulator.waitFor(
        'chat.postMessage',
        (args) => String(args.text).startsWith('Dry run job_'),
        60_000,
      )
      await slackB.click({ actionId: 'import_confirm', user: slackAdmin, channel })
      await emulator.waitFor('chat.update', (args) => String(args.text).includes('confirmed'), 60_000)
      const submittedIds = [...(await Promise.all(cliJobs)), ...(await Promise.all(apiJobs))].map(
        (job) => job.id,
      )

      // Everything settles: every job finished, every Slack message and email sent.
      const state = await poll(
        'every job, message and email settled',
        async () => {
          const state = await set.endState()
          const settled =
            state.jobs.every((job) => job.status === 'completed') &&
            state.slackOutbox.every((row) => row.settled) &&
            state.mailOutbox.every((row) => row.sent) &&
            emulator.callsOf('files.completeUploadExternal').filter((call) => call.ok === true).length >= 2
          return settled ? state : undefined
        },
        { timeoutMs: 120_000, intervalMs: 100 },
      )
      const imports = state.jobs.filter((job) => job.type === 'users_import' && !job.options.dryRun)
      expect(imports).toHaveLength(7)
      expect(submittedIds.every((id) => imports.some((job) => job.id === id))).toBe(true)
      expect(state.jobs.filter((job) => job.type === 'users_export')).toHaveLength(2)

      // Each job ran to completion once: finished once across both replicas, each chunk committed once.
      const finished = set.logged('job finished').map((line) => String(line.jobId))
      expect(duplicates(finished)).toEqual([])
      expect(finished.sort()).toEqual(state.jobs.map((job) => job.id).sort())
      expect(duplicates(state.commits.map((c) => `${c.job_id} ${c.chunk}`))).toEqual([])
      for (const job of imports) expect(state.commits.filter((c) => c.job_id === job.id)).toHaveLength(1)

      // Each completion email once: one per job that asked for it (the dry run included), none twice.
      const emailed = state.jobs.filter(
        (job) => job.type === 'users_import' && job.options.sendCompletionEmail,
      )
      expect(emailed.length).toBeGreaterThanOrEqual(7)
      for (const job of emailed) expect(mailsAbout(job.id), job.id).toHaveLength(1)

      // Each Slack message once: no message posted twice into the same place, one file per export.
      const posted = emulator
        .callsOf('chat.postMessage')
        .filter((call) => call.ok === true)
        .map((call) => `${call.args.channel} ${call.args.thread_ts ?? ''} ${textOf(call)}`)
      expect(duplicates(posted)).toEqual([])
      expect(
        emulator.callsOf('files.completeUploadExternal').filter((call) => call.ok === true),
      ).toHaveLength(2)
      for (const job of state.jobs.filter((j) => j.type === 'users_export'))
        expect(posted.filter((line) => line.includes(job.id)).length, job.id).toBeGreaterThan(0)

      // Both replicas serve the same users.
      const listed = async (port: number) => {
        const all: string[] = []
        for (let page = 0; ; page++) {
          const response = await fetch(
            `http://127.0.0.1:${port}/api/v2/users?per_page=100&page=${page}&sort=email:1`,
            { headers: auth },
          )
          expect(response.status).toBe(200)
          const users = (await response.json()) as Record<string, unknown>[]
          all.push(...users.map((user) => JSON.stringify(user)))
          if (users.length < 100) return all
        }
      }
      const fromA = await listed(a.port)
      expect(fromA).toHaveLength(904)
      expect(await listed(b.port)).toEqual(fromA)
    } finally {
      await set.close()
      await emulator.close()
    }
  }, 180_000)
})

describe.skipIf(!hasPostgres)('a replica killed while it holds a Slack send', () => {
  it('hands it over: the other replica sends it once, in the job’s thread, after the claim lapses', async () => {
    const emulator = await startSlackEmulator({ users: [{ id: slackAdmin, name: 'ada' }] })
    const set = await startReplicaSet({ ...env(), ...slackOf(emulator) })
    try {
      const a = await set.start('a')
      const slackA = createSlackDriver({ emulator, appUrl: `http://127.0.0.1:${a.port}/slack/events` })
      await set.cliJson('a', ['import', join(dir, 'few.json'), '--connection', defaultConnection, '--wait'])
      // Slack goes down once the export's thread is started: A claims the rest and keeps retrying, holding it.
      const parentPosted = slackDownAfterPost(emulator, 'Export requested')
      await slackA.command('/export', { user: slackAdmin, channel, text: `${defaultConnection} csv` })
      await parentPosted
      const claimed = await poll(
        "A holding a claim on the export's notifications, refused by Slack",
        async () => {
          const rows = await set.query<{ id: string; claimed_by: string }>(
            `SELECT id, claimed_by FROM slack_outbox
             WHERE settled_at IS NULL AND claimed_by IS NOT NULL AND claimed_until > now()`,
          )
          const refused = emulator.calls.some((call) => call.fault === 'down')
          return rows.length > 0 && refused ? rows : undefined
        },
        { timeoutMs: 60_000 },
      )
      // The replica id names its process: <host>-<pid>-<random>.
      expect(claimed.every((row) => row.claimed_by.includes(`-${a.pid}-`))).toBe(true)
      const jobId = claimed[0]?.id.split(':')[0] ?? ''
      await set.start('b')
      await set.kill9('a')
      emulator.setDown(false)

      const settled = await poll(
        'every notification of the export sent',
        async () => {
          const { slackOutbox } = await set.endState()
          const ofJob = slackOutbox.filter((row) => row.job_key === jobId)
          return ofJob.length > 0 && ofJob.every((row) => row.settled) ? ofJob : undefined
        },
        { timeoutMs: 90_000, intervalMs: 100 },
      )
      expect(settled.map((row) => row.id)).toEqual([
        `${jobId}:final`,
        `${jobId}:result`,
        `${jobId}:export-file`,
      ])
      // Once each: the parent edited to its final state once, one result in the thread, one file.
      const thread = emulator.conversation(channel).find((message) => message.text.includes(jobId))
      const ok = (method: string) => emulator.callsOf(method).filter((call) => call.ok === true)
      expect(ok('chat.update').filter((call) => call.args.ts === thread?.ts)).toHaveLength(1)
      expect(ok('chat.postMessage').filter((call) => call.args.thread_ts === thread?.ts)).toHaveLength(1)
      expect(ok('files.completeUploadExternal')).toHaveLength(1)
      const posted = ok('chat.postMessage').map((call) => `${call.args.thread_ts ?? ''} ${textOf(call)}`)
      expect(duplicates(posted)).toEqual([])
    } finally {
      await set.close()
      await emulator.close()
    }
  }, 180_000)
})
