import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { access, cp, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, expect, it } from 'vitest'
import type { ReportEntry } from '../../src/domain/import/report.ts'
import type { ImportJob } from '../../src/domain/jobs/job.ts'
import type { StoredUser } from '../../src/domain/users/user.ts'
import { bigRows, seedRows, toJsonArray } from '../support/generate-users.ts'
import { openHarness } from '../support/roster-harness.ts'
import { repoRoot } from '../support/roster-process.ts'
import { journalEntries, readCatalog, readUsers, storeFileProblems } from '../support/store-inspection.ts'
import { tempDir } from '../support/temp-dir.ts'

/**
 * A completed import is announced (waitFor resolves, notifiers hear of it) once its journal commits and its files are
 * durable, before its catalog record is. This kills the process inside that window — from the `job:finished`
 * listener itself, so before the record can reach the disk — and checks that the next start settles the job again
 * from its commits: the status, summary, report and users that were announced, each chunk committed once.
 */

const seedCount = 300
/** Two chunks of 2,000 users, with inserts, updates, unchanged users and failures. */
const bigCount = 2_500

let work: string
let bigFile: string
let template: string
const reference = {} as { job: ImportJob; errors: ReportEntry[]; users: StoredUser[] }

beforeAll(async () => {
  work = await tempDir('roster-announce-')
  bigFile = join(work, 'big.json')
  await writeFile(bigFile, toJsonArray(bigRows(bigCount, seedCount)))
  template = join(work, 'template')
  const seeding = await openHarness({}, template)
  await seeding.importUsers(seedRows(seedCount))
  await seeding.close()

  const dir = join(work, 'reference')
  await cp(template, dir, { recursive: true })
  const harness = await openHarness({}, dir)
  reference.job = await harness.importUsers(toJsonArray(bigRows(bigCount, seedCount)), { upsert: true })
  reference.errors = (await harness.engine.getJobErrors(reference.job.id)) ?? []
  await harness.close()
  reference.users = await readUsers(dir)
}, 60_000)

/** Users as two runs agree on them: generated ids and timestamps differ from run to run. */
function comparable(users: readonly StoredUser[]) {
  return users
    .map(({ user_id: _i, identities: _d, created_at: _c, updated_at: _u, rev: _r, ...user }) => user)
    .sort((a, b) => (a.email < b.email ? -1 : a.email > b.email ? 1 : 0))
}

it('kill -9 right after a completed import is announced: the next start settles it the same', async () => {
  expect(reference.job.status).toBe('completed')
  expect(reference.errors.length).toBeGreaterThan(0)
  const dir = join(work, 'killed')
  await cp(template, dir, { recursive: true })
  const script = join(work, 'announce-then-die.mts')
  const module = (path: string) => JSON.stringify(join(repoRoot, path))
  await writeFile(
    script,
    [
      `import { readFile } from 'node:fs/promises'`,
      `import { loadConfig } from ${module('src/config.ts')}`,
      `import { silentLogger } from ${module('src/logger.ts')}`,
      `import { openRoster } from ${module('src/roster.ts')}`,
      `const roster = await openRoster(loadConfig({ STORE_DIR: ${JSON.stringify(dir)} }), { logger: silentLogger })`,
      'roster.engine.subscribe((event) => {',
      "  if (event.type !== 'job:finished') return",
      // stdout to a pipe is synchronous on Linux: the line is out before the kill.
      "  process.stdout.write(JSON.stringify(event.job) + '\\n')",
      "  process.kill(process.pid, 'SIGKILL')",
      '})',
      'roster.engine.start()',
      'await roster.engine.requestImport({',
      "  connection: 'Username-Password-Authentication',",
      "  fileName: 'big.json',",
      `  bytes: await readFile(${JSON.stringify(bigFile)}),`,
      '  options: { upsert: true, merge: false, dryRun: false, sendCompletionEmail: false },',
      "  requestedBy: { via: 'cli', id: 'tester' },",
      '})',
    ].join('\n'),
  )
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let stdout = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (text: string) => {
    stdout += text
  })
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null]
  expect({ code, signal }).toEqual({ code: null, signal: 'SIGKILL' })
  const announced = JSON.parse(stdout) as ImportJob
  expect(announced.status).toBe('completed')
  expect(announced.summary).toEqual(reference.job.summary)

  // The kill landed in the window: the record on disk is not settled, but the commits and files are durable.
  const onDisk = (await readCatalog(dir)).jobs.find((job) => job.id === announced.id)
  expect(onDisk?.status).toMatch(/^(pending|processing)$/)
  await access(join(dir, 'jobs', announced.id, 'errors.json'))
  await access(join(dir, 'jobs', announced.id, 'undo.json'))
  expect(await storeFileProblems(dir, { tornTail: 'allowed' })).toEqual([])

  const restarted = await openHarness({}, dir)
  const settled = (await restarted.engine.waitFor(announced.id)) as ImportJob
  const errors = await restarted.engine.getJobErrors(announced.id)
  await restarted.close()

  expect(settled.status).toBe('completed')
  expect(settled.summary).toEqual(announced.summary)
  expect(errors).toEqual(reference.errors)
  expect((await readCatalog(dir)).jobs.find((job) => job.id === announced.id)?.status).toBe('completed')
  const commits = (await journalEntries(dir)).filter((entry) => entry.jobId === announced.id)
  expect(commits.map((entry) => entry.chunk)).toEqual([0, 1])
  expect(comparable(await readUsers(dir))).toEqual(comparable(reference.users))
  expect(await storeFileProblems(dir)).toEqual([])
}, 60_000)
