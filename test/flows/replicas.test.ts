import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bigRows, seedRows, toJsonArray, type UserRow } from '../support/generate-users.ts'
import { hasPostgres } from '../support/postgres.ts'
import { duplicates, type ReplicaSet, type StoredUserRow, startReplicaSet } from '../support/replicas.ts'
import { defaultConnection, poll } from '../support/roster-process.ts'
import { createSlackDriver } from '../support/slack/driver.ts'
import { startSlackEmulator } from '../support/slack/emulator.ts'
import type { EmulatorCall } from '../support/slack/types.ts'
import { slackAdmin } from '../support/slack-harness.ts'
import { type SmtpSink, startSmtpSink } from '../support/smtp-sink.ts'

/**
 * Issue 14, section 5: Roster replicas on one PostgreSQL database, as processes. A replica SIGKILLed during a big
 * import — at a chunk boundary, and while a chunk's transaction is open — has its job taken over by the other once
 * its lease lapses (JOB_LEASE_SECONDS=3 here), and the end state equals an uninterrupted run on a second database:
 * users, summary, error report, undo, each chunk committed once, each job finished once, each email sent once.
 * First, two replicas take a mix of Slack, CLI and API work: each job runs once, each message and email goes out once.
 */

const seedCount = 2_000 // one chunk: FAULT_PAUSE_AFTER_CHUNK (≥ 2) never holds the seed import
const bigCount = Number(process.env.REPLICAS_BIG_USERS ?? 12_000)
const chunkRows = 2_000
const chunks = Math.ceil(bigCount / chunkRows)
const owner = 'ops@example.com'

type JobJson = Record<string, unknown> & { id: string; status: string; summary?: Record<string, number> }

let dir: string
let seedFile: string
let bigFile: string
let sink: SmtpSink
/** Emails whose user_id the importer makes up: two runs cannot agree on those ids. */
let generatedIdEmails: Set<string>

const reference = {} as {
  job: JobJson
  errors: unknown
  users: ReturnType<typeof comparable>
  undo: JobJson
  undone: ReturnType<typeof comparable>
}

/** Every seed user with a user_id of its own, so both databases hold the same seed ids. */
function seedWithIds(): UserRow[] {
  return seedRows(seedCount).map((row, n) => ({
    ...row,
    user_id: row.user_id ?? `0c0c${n.toString(16).padStart(20, '0')}`,
  }))
}

function comparable(users: readonly StoredUserRow[]) {
  return users.map(({ doc, ...row }) => {
    const { created_at: _c, updated_at: _u, rev: _r, ...user } = doc
    const masked = generatedIdEmails.has(row.email)
    const identities = (user.identities as { user_id: string }[] | undefined)?.map((identity) =>
      masked ? { ...identity, user_id: '<generated>' } : identity,
    )
    // Each database made its own connection id; the name (in the identities) is the same.
    return {
      ...row,
      ...user,
      identities,
      connection_id: '<connection>',
      user_id: masked ? '<generated>' : row.user_id,
    }
  })
}

const env = () => ({ JOB_LEASE_SECONDS: '3', SMTP_URL: sink.url, TENANT_OWNERS: owner })
const importArgs = () => [
  'import',
  bigFile,
  '--connection',
  defaultConnection,
  '--upsert',
  '--send-completion-email',
]

async function seed(set: ReplicaSet, name: string): Promise<void> {
  const seeded = await set.cliJson<JobJson>(name, [
    'import',
    seedFile,
    '--connection',
    defaultConnection,
    '--wait',
  ])
  expect(seeded.summary).toMatchObject({ inserted: seedCount, failed: 0 })
}

/** The sink's messages about `jobId` (the subject names the job). */
const mailsAbout = (jobId: string) => sink.messages.filter((mail) => mail.subject?.includes(jobId))

beforeAll(async () => {
  if (!hasPostgres) return
  dir = await mkdtemp(join(tmpdir(), 'roster-replicas-data-'))
  seedFile = join(dir, 'seed.json')
  bigFile = join(dir, 'big.json')
  const big = bigRows(bigCount, seedCount)
  await writeFile(seedFile, toJsonArray(seedWithIds()))
  await writeFile(bigFile, toJsonArray(big))
  generatedIdEmails = new Set(
    big.filter((row) => row.user_id === undefined).map((row) => String(row.email).toLowerCase()),
  )
  for (const row of seedWithIds()) generatedIdEmails.delete(String(row.email))
  sink = await startSmtpSink()
})

afterAll(async () => {
  await sink?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

/** After the kill: the survivor finishes the job; everything equals the uninterrupted run. */
async function expectTakenOverLikeReference(set: ReplicaSet, jobId: string, committedAtKill: number) {
  const finished = await set.cliJson<JobJson>('b', ['job', jobId, '--wait'], [4])
  expect(finished.status).toBe('completed')
  expect(finished.summary).toEqual(reference.job.summary)
  expect(await set.cliJson('b', ['job', 'errors', jobId])).toEqual(reference.errors)

  const state = await set.endState()
  // Each chunk committed once, none skipped; the survivor resumed after the last committed one.
  expect(state.commits.filter((c) => c.job_id === jobId).map((c) => c.chunk)).toEqual([
    ...Array(chunks).keys(),
  ])
  expect(committedAtKill).toBeLessThan(chunks)
  const users = comparable(state.users)
  expect(duplicates(state.users.map((u) => `${u.connection_id} ${u.email}`))).toEqual([])
  expect(users).toHaveLength(reference.users.length)
  expect(users).toEqual(reference.users)

  // Finished once, by the survivor; the killed replica's run never settled it.
  const finishes = set.logged('job finished').filter((line) => line.jobId === jobId)
  expect(finishes).toHaveLength(1)
  expect(set.servers.get('a')?.stderr()).not.toContain(`"msg":"job finished","jobId":"${jobId}"`)
  await poll('the completion email', () => (mailsAbout(jobId).length > 0 ? true : undefined))
  await poll('the mail outbox settled', async () =>
    (await set.endState()).mailOutbox.every((row) => row.sent) ? true : undefined,
  )
  expect(mailsAbout(jobId)).toHaveLength(1)

  // The undo data is the uninterrupted run's: undoing both leaves the same users.
  const undo = await set.cliJson<JobJson>('b', ['undo', jobId, '--wait'])
  expect(undo.summary).toEqual(reference.undo.summary)
  expect(comparable((await set.endState()).users)).toEqual(reference.undone)
}

describe.skipIf(!hasPostgres)(`a replica killed during a ${bigCount}-user import`, () => {
  beforeAll(async () => {
    // The uninterrupted run: one replica, a database of its own.
    const set = await startReplicaSet(env())
    try {
      await set.start('r')
      await seed(set, 'r')
      reference.job = await set.cliJson<JobJson>('r', [...importArgs(), '--wait'], [4])
      reference.errors = await set.cliJson('r', ['job', 'errors', reference.job.id])
      reference.users = comparable((await set.endState()).users)
      reference.undo = await set.cliJson<JobJson>('r', ['undo', reference.job.id, '--wait'])
      reference.undone = comparable((await set.endState()).users)
    } finally {
      await set.close()
    }
  }, 180_000)

  it('the reference run exercises inserts, updates, unchanged users and failures', () => {
    expect(reference.job.summary?.total).toBe(bigCount)
    for (const count of ['inserted', 'updated', 'unchanged', 'failed'] as const)
      expect(reference.job.summary?.[count]).toBeGreaterThan(0)
  })

  it('at a chunk boundary: the other replica takes the job over after the lease and finishes it', async () => {
    const set = await startReplicaSet(env())
    try {
      const pauseAt = Math.floor(chunks / 2)
      const a = await set.start('a', { FAULT_PAUSE_AFTER_CHUNK: String(pauseAt) })
      await seed(set, 'a')
      const job = await set.cliJson<JobJson>('a', importArgs())
      await poll(
        `the import to hold after chunk ${pauseAt}`,
        () => (a.stderr().includes(`"msg":"fault injection: import paused after chunk"`) ? true : undefined),
        { timeoutMs: 120_000 },
      )
      // B starts only now, so A claimed the job. While A lives (paused, renewing its lease every second), B must
      // leave the job alone: two renewals by A after B is up, and the lease is still A's.
      const leaseOf = async () => (await set.endState()).jobs.find((j) => j.id === job.id)?.lease
      const holder = (await leaseOf())?.holder
      await set.start('b')
      for (let renewals = 0; renewals < 2; renewals++) {
        const until = (await leaseOf())?.until ?? ''
        await poll('A to renew its lease', async () => ((await leaseOf())?.until ?? '') > until || undefined)
      }
      expect((await leaseOf())?.holder).toBe(holder)
      await set.kill9('a')
      const committed = (await set.endState()).commits.filter((c) => c.job_id === job.id).length
      expect(committed).toBe(pauseAt)
      await expectTakenOverLikeReference(set, job.id, committed)
    } finally {
      await set.close()
    }
  }, 180_000)

  it('mid-chunk, its transaction open: the chunk is applied once, by the replica that takes over', async () => {
    const set = await startReplicaSet(env())
    try {
      await set.start('a')
      await seed(set, 'a')
      // B starts after the kill, so A is the replica that claimed the job.
      const job = await set.cliJson<JobJson>('a', importArgs())
      await poll('a first chunk committed', async () =>
        (await set.endState()).commits.some((c) => c.job_id === job.id) ? true : undefined,
      )
      // A chunk's transaction is open and has written: its COPY or its INSERT into users is under way.
      await poll(
        'a chunk being written',
        async () => {
          const open = await set.query(
            `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
               AND backend_xid IS NOT NULL AND query ~ '(roster_chunk_users|INSERT INTO users)'`,
          )
          return open.length > 0 ? true : undefined
        },
        { timeoutMs: 120_000, intervalMs: 2 },
      )
      await set.kill9('a')
      const committed = await poll('the killed transaction rolled back', async () => {
        const open = await set.query(
          `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
             AND backend_xid IS NOT NULL`,
        )
        if (open.length > 0) return undefined
        return (await set.endState()).commits.filter((c) => c.job_id === job.id).length
      })
      expect(committed).toBeGreaterThan(0)
      await set.start('b')
      await expectTakenOverLikeReference(set, job.id, committed)
    } finally {
      await set.close()
    }
  }, 180_000)
})

const channel = 'C0GENERAL'
const textOf = (call: EmulatorCall) => String(call.args.text ?? '')

describe.skipIf(!hasPostgres)('two replicas on one database', () => {
  it('take Slack, CLI and API work: each job runs once, each Slack message and email is sent once', async () => {
    const emulator = await startSlackEmulator({ users: [{ id: slackAdmin, name: 'ada' }] })
    const set = await startReplicaSet({
      ...env(),
      SLACK_BOT_TOKEN: emulator.botToken,
      SLACK_SIGNING_SECRET: emulator.signingSecret,
      SLACK_API_URL: emulator.apiUrl,
      SLACK_ADMINS: slackAdmin,
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
