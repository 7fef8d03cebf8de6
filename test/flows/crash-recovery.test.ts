import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest'
import type { StoredUser } from '../../src/domain/users/user.ts'
import { bigRows, seedRows, toJsonArray } from '../support/generate-users.ts'
import { defaultConnection, poll, RosterProcesses, type ServerProcess } from '../support/roster-process.ts'
import { journalEntries, readCatalog, readUsers, storeFileProblems } from '../support/store-inspection.ts'

/**
 * "Jobs survive restarts: after kill -9 at any moment, the next start finishes or re-runs interrupted jobs so the
 * final users, summaries and reports equal an uninterrupted run." Real server processes, real SIGKILL: a run of the
 * big import that is killed and restarted must end exactly where an uninterrupted run of it ends.
 */

const seedCount = 3_000
/** Six chunks of 2,000 users: one atomic journal commit each. */
const bigCount = 12_000
const chunks = 6

type JobJson = Record<string, unknown> & { id: string; status: string; summary?: Record<string, number> }
interface ReportEntry {
  index: number
  user: unknown
  errors: { code: string; path: string; message: string }[]
}
interface Diff {
  index: number
  email: string
  user_id: string
  action: string
  changes: { field: string; before?: unknown; after?: unknown }[]
}

let workDir: string
let seedFile: string
let bigFile: string
/** A store holding the seed and nothing else: each run starts from a copy, so all runs share connection and seed ids. */
let template: string
let templateUsers: StoredUser[]
let templateJobIds: string[]
/** Emails of users the big file inserts without a user_id: their ids are random, so runs cannot agree on them. */
let generatedIdEmails: Set<string>
let bigEmails: Set<string>

const reference = {} as {
  job: JobJson
  errors: ReportEntry[]
  users: ReturnType<typeof comparable>
  dryRun: JobJson & { preview: Diff[] }
  dryRunErrors: ReportEntry[]
}

/** Processes of the template and reference runs (each test has its own group). */
const setup = new RosterProcesses()

/** Each crash run is a server plus CLIs: two at a time keep a two-core machine busy without starving the runs. */
const runSlot = limiter(2)
/**
 * A crash run takes ~10 s alone, but its timeout also runs while it waits for a slot behind the others of this
 * concurrent describe (seven runs, two at a time), and a loaded CI host stretches each: 120 s timed out there.
 * A run that truly hangs only takes longer to report.
 */
const runTimeoutMs = 300_000

const importArgs = () => ['import', bigFile, '--connection', defaultConnection, '--upsert']

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'roster-crash-'))
  seedFile = join(workDir, 'seed.json')
  bigFile = join(workDir, 'big.json')
  const seed = seedRows(seedCount)
  const big = bigRows(bigCount, seedCount)
  await writeFile(seedFile, toJsonArray(seed))
  await writeFile(bigFile, toJsonArray(big))
  const seedEmails = new Set(seed.map((row) => String(row.email).toLowerCase()))
  bigEmails = new Set(
    big.map((row) => String(row.email).toLowerCase()).filter((email) => !seedEmails.has(email)),
  )
  generatedIdEmails = new Set(
    big.filter((row) => row.user_id === undefined).map((row) => String(row.email).toLowerCase()),
  )
  for (const email of seedEmails) generatedIdEmails.delete(email)

  template = join(workDir, 'template')
  const seeding = await setup.startServer(template)
  const seeded = await setup.cliJson<JobJson>(template, [
    'import',
    seedFile,
    '--connection',
    defaultConnection,
    '--wait',
  ])
  expect(seeded.summary).toMatchObject({ inserted: seedCount, failed: 0 })
  await expectCleanExit(seeding)
  templateUsers = await readUsers(template)
  templateJobIds = (await readCatalog(template)).jobs.map((job) => job.id)

  // The uninterrupted run: a dry run, then the import itself, on a server that nobody kills.
  const dir = await copyTemplate('reference')
  const server = await setup.startServer(dir)
  const dryRun = await setup.cliJson<JobJson & { preview: Diff[] }>(
    dir,
    [...importArgs(), '--dry-run', '--wait'],
    [4],
  )
  reference.dryRun = dryRun
  reference.dryRunErrors = await setup.cliJson<ReportEntry[]>(dir, ['job', 'errors', dryRun.id])
  reference.job = await setup.cliJson<JobJson>(dir, [...importArgs(), '--wait'], [4])
  reference.errors = await setup.cliJson<ReportEntry[]>(dir, ['job', 'errors', reference.job.id])
  await expectCleanExit(server)
  reference.users = comparable(await readUsers(dir))
}, 90_000)

afterAll(async () => {
  await setup.killAll()
  if (workDir) await rm(workDir, { recursive: true, force: true })
})

/** Runs `work` once fewer than `max` others run. */
function limiter(max: number): <T>(work: () => Promise<T>) => Promise<T> {
  let active = 0
  const waiting: (() => void)[] = []
  return async (work) => {
    if (active < max) active += 1
    else await new Promise<void>((resolve) => waiting.push(resolve))
    try {
      return await work()
    } finally {
      // The slot passes straight to the next in line, if any.
      const next = waiting.shift()
      if (next) next()
      else active -= 1
    }
  }
}

/** The test's own children, killed when it ends, pass or fail. */
function processesOf(context: TestContext): RosterProcesses {
  const processes = new RosterProcesses()
  context.onTestFinished(() => processes.killAll())
  return processes
}

async function copyTemplate(name: string): Promise<string> {
  const dir = join(workDir, name)
  await cp(template, dir, { recursive: true })
  return dir
}

async function expectCleanExit(server: ServerProcess): Promise<void> {
  const exit = await server.stop()
  expect(exit, server.stderr()).toEqual({ code: 0, signal: null })
}

/** Users as two runs can agree on them: no timestamps or revs, and `<generated>` for ids the importer made up. */
function comparable(users: readonly StoredUser[]) {
  return users
    .map(({ created_at: _c, updated_at: _u, rev: _r, ...user }) => {
      if (!generatedIdEmails.has(user.email)) return user
      const identities = user.identities.map((identity) => ({ ...identity, user_id: '<generated>' }))
      return { ...user, user_id: '<generated>', identities }
    })
    .sort((a, b) => (a.email < b.email ? -1 : a.email > b.email ? 1 : 0))
}

/** The first few users that differ from the reference, by email: a readable failure instead of a 15,000-line diff. */
function differences(actual: ReturnType<typeof comparable>, expected: ReturnType<typeof comparable>) {
  const byEmail = new Map(expected.map((user) => [user.email, user]))
  const found: { email: string; actual: unknown; expected: unknown }[] = []
  for (const user of actual) {
    const other = byEmail.get(user.email)
    if (JSON.stringify(other) !== JSON.stringify(user))
      found.push({ email: user.email, actual: user, expected: other })
    if (found.length === 3) break
  }
  return found
}

function duplicates(values: readonly string[]): string[] {
  const seen = new Set<string>()
  const repeated: string[] = []
  for (const value of values) {
    if (seen.has(value)) repeated.push(value)
    seen.add(value)
  }
  return repeated
}

/** A dry run's sample, with the made-up user ids of inserts masked as in `comparable`. */
function comparablePreview(diffs: readonly Diff[]): Diff[] {
  return diffs.map((diff) => {
    if (!generatedIdEmails.has(diff.email)) return diff
    const changes = diff.changes.map((change) =>
      change.field === 'user_id' ? { ...change, after: '<generated>' } : change,
    )
    return { ...diff, user_id: '<generated>', changes }
  })
}

const journalFile = (dir: string) => join(dir, 'users', 'journal-1.jsonl')

/** Job folders that the template did not have: an upload being stored, or a new job's files. */
async function newJobDirs(dir: string): Promise<string[]> {
  return (await readdir(join(dir, 'jobs'))).filter((id) => !templateJobIds.includes(id))
}

async function jobStatusOnDisk(dir: string, jobId: string): Promise<string | undefined> {
  return (await readCatalog(dir)).jobs.find((job) => job.id === jobId)?.status
}

/** After a restart: the job must end as the reference run ended, and the store must hold the reference users. */
/** Waits for the server's log line saying its import holds after `chunk` (FAULT_PAUSE_AFTER_CHUNK). */
function pausedAfter(server: ServerProcess, chunk: number): Promise<true> {
  return poll(
    `the import to hold after chunk ${chunk}`,
    async () =>
      server
        .stderr()
        .split('\n')
        .some(
          (line) =>
            line.includes('"msg":"fault injection: import paused after chunk"') &&
            line.includes(`"chunk":${chunk},`),
        )
        ? true
        : undefined,
    { timeoutMs: 90_000, intervalMs: 10 },
  )
}

async function expectSameOutcomeAsReference(
  processes: RosterProcesses,
  dir: string,
  jobId: string,
): Promise<void> {
  const server = await processes.startServer(dir)
  const finished = await processes.cliJson<JobJson>(dir, ['job', jobId, '--wait'], [4])
  const errors = await processes.cliJson<ReportEntry[]>(dir, ['job', 'errors', jobId])
  await expectCleanExit(server)

  expect(finished.status).toBe('completed')
  expect(finished.summary).toEqual(reference.job.summary)
  expect(errors).toEqual(reference.errors)
  expect(await storeFileProblems(dir)).toEqual([])

  // Every chunk committed exactly once: none redone after the restart, none skipped.
  const commits = (await journalEntries(dir))
    .filter((entry) => entry.jobId === jobId)
    .map((entry) => entry.chunk)
  expect(commits).toEqual([...Array(chunks).keys()])

  const users = await readUsers(dir)
  expect(duplicates(users.map((user) => `${user.connection_id} ${user.email}`))).toEqual([])
  expect(duplicates(users.map((user) => user.user_id))).toEqual([])
  expect(users).toHaveLength(reference.users.length)
  expect(differences(comparable(users), reference.users)).toEqual([])
}

describe('the uninterrupted reference run', () => {
  it('exercises inserts, updates, unchanged users and every kind of per-user failure', () => {
    expect(reference.job.status).toBe('completed')
    const summary = reference.job.summary ?? {}
    expect(summary.total).toBe(bigCount)
    for (const count of ['inserted', 'updated', 'unchanged', 'failed'] as const)
      expect(summary[count]).toBeGreaterThan(0)
    const codes = new Set(reference.errors.flatMap((entry) => entry.errors.map((error) => error.code)))
    expect([...codes].sort()).toEqual(
      ['CONFLICT_EMAIL', 'DUPLICATED_USER', 'INVALID_FORMAT', 'OBJECT_ADDITIONAL_PROPERTIES'].sort(),
    )
    expect(reference.users).toHaveLength(seedCount + (summary.inserted ?? 0))
  })
})

// Each run is independent (its own store, processes and ports): they overlap, two at a time (`runSlot`).
describe.concurrent('kill -9 of the server, then a restart', () => {
  describe('during an import', () => {
    const killPoints: { name: string; committed: number }[] = [
      { name: 'as soon as the CLI has the job id', committed: 0 },
      { name: 'once the first chunk is committed', committed: 1 },
      { name: 'once three of six chunks are committed', committed: 3 },
      { name: 'once five of six chunks are committed', committed: 5 },
    ]

    it.for(killPoints)(
      '$name: the job completes with the users, summary and report of an uninterrupted run',
      { timeout: runTimeoutMs },
      ({ name, committed }, context) =>
        runSlot(async () => {
          const processes = processesOf(context)
          const dir = await copyTemplate(`kill-${committed}`)
          const before = (await journalEntries(dir)).length
          // The job holds after chunk `committed` (or the first) until the kill: it cannot finish first, however
          // loaded the machine. The restart below runs without the setting.
          const pauseAt = Math.max(1, committed)
          const server = await processes.startServer(dir, {
            env: { FAULT_PAUSE_AFTER_CHUNK: String(pauseAt) },
          })
          const job = await processes.cliJson<JobJson>(dir, importArgs())
          expect(job.status).toBe('pending')
          if (committed > 0) {
            await pausedAfter(server, committed)
            expect((await journalEntries(dir)).length).toBe(before + committed)
          }
          await server.kill9()

          // The kill landed in the middle of the job (or the test proves nothing), and left every file readable.
          expect(await jobStatusOnDisk(dir, job.id), name).toMatch(/^(pending|processing)$/)
          const done = (await journalEntries(dir)).filter((entry) => entry.jobId === job.id).length
          expect(done).toBeGreaterThanOrEqual(committed)
          expect(await storeFileProblems(dir, { tornTail: 'allowed' })).toEqual([])

          await expectSameOutcomeAsReference(processes, dir, job.id)
        }),
    )

    it(
      'while the CLI is still sending the file: either the job exists and completes, or none of its users exist',
      { timeout: runTimeoutMs },
      (context) =>
        runSlot(async () => {
          const processes = processesOf(context)
          const dir = await copyTemplate('kill-in-flight')
          const server = await processes.startServer(dir)
          const cli = processes.startCli(dir, [...importArgs(), '--json'])
          // The server has the request once it starts storing the upload; it has not answered yet.
          await poll(
            'the upload to reach the store',
            async () => ((await newJobDirs(dir)).length > 0 ? true : undefined),
            { timeoutMs: 60_000, intervalMs: 1 },
          )
          await server.kill9()
          const answer = await cli.result
          expect(await storeFileProblems(dir, { tornTail: 'allowed' })).toEqual([])

          const jobs = (await readCatalog(dir)).jobs.filter((job) => !templateJobIds.includes(job.id))
          if (answer.code === 0) {
            // The CLI got a job id: an acknowledged job must survive the crash.
            expect(jobs.map((job) => job.id)).toEqual([(JSON.parse(answer.stdout) as JobJson).id])
          } else {
            expect(answer.code, answer.stderr).toBe(3)
            expect(answer.stderr).toContain('does not answer')
          }
          expect(jobs.length).toBeLessThanOrEqual(1)
          const [job] = jobs
          await context.annotate(
            job
              ? `the kill came after the job was recorded (CLI exit ${answer.code})`
              : 'the kill came before the job was recorded',
          )
          if (job) {
            await expectSameOutcomeAsReference(processes, dir, job.id)
            return
          }
          // No job: nothing of the file may have been written, and the next start clears the orphan upload.
          const restarted = await processes.startServer(dir)
          await poll('the orphan upload to be removed', async () =>
            (await newJobDirs(dir)).length === 0 ? true : undefined,
          )
          await expectCleanExit(restarted)
          const users = await readUsers(dir)
          expect(users.filter((user) => bigEmails.has(user.email))).toEqual([])
          expect(users).toEqual(templateUsers)
        }),
    )
  })

  describe('during a dry run', () => {
    it(
      'runs the dry run again to the same preview and report, and writes no users',
      { timeout: runTimeoutMs },
      (context) =>
        runSlot(async () => {
          const processes = processesOf(context)
          const dir = await copyTemplate('kill-dry-run')
          const journalBefore = await readFile(journalFile(dir))
          // The dry run holds after its first chunk until the kill, so the kill lands while it runs.
          const server = await processes.startServer(dir, { env: { FAULT_PAUSE_AFTER_CHUNK: '1' } })
          const job = await processes.cliJson<JobJson>(dir, [...importArgs(), '--dry-run'])
          await pausedAfter(server, 1)
          await server.kill9()
          expect(await jobStatusOnDisk(dir, job.id)).toBe('processing')
          expect(await storeFileProblems(dir, { tornTail: 'allowed' })).toEqual([])

          const restarted = await processes.startServer(dir)
          const finished = await processes.cliJson<JobJson & { preview: Diff[] }>(
            dir,
            ['job', job.id, '--wait'],
            [4],
          )
          const errors = await processes.cliJson<ReportEntry[]>(dir, ['job', 'errors', job.id])
          await expectCleanExit(restarted)

          expect(finished.status).toBe('completed')
          expect(finished.dry_run).toBe(true)
          expect(finished.summary).toEqual(reference.dryRun.summary)
          expect(comparablePreview(finished.preview)).toEqual(comparablePreview(reference.dryRun.preview))
          expect(errors).toEqual(reference.dryRunErrors)
          expect(await readFile(journalFile(dir))).toEqual(journalBefore)
          expect(await readUsers(dir)).toEqual(templateUsers)
          expect(await storeFileProblems(dir)).toEqual([])
        }),
    )
  })
})
