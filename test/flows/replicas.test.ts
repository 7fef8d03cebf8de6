import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bigRows, seedRows, toJsonArray, type UserRow } from '../support/generate-users.ts'
import { hasPostgres } from '../support/postgres.ts'
import { duplicates, type ReplicaSet, type StoredUserRow, startReplicaSet } from '../support/replicas.ts'
import { defaultConnection, poll } from '../support/roster-process.ts'
import { type SmtpSink, startSmtpSink } from '../support/smtp-sink.ts'

/**
 * Issue 14, section 5: Roster replicas on one PostgreSQL database, as processes. A replica SIGKILLed during a big
 * import — at a chunk boundary, and while a chunk's transaction is open — has its job taken over by the other once
 * its lease lapses (JOB_LEASE_SECONDS=3 here), and the end state equals an uninterrupted run on a second database:
 * users, summary, error report, undo, each chunk committed once, each job finished once, each email sent once.
 * (replicas-slack.test.ts: two replicas taking Slack, CLI and API work; a replica killed holding a Slack send.)
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
