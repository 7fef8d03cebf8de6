import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createAuth0Client, createTenantDirectory } from '../../src/adapters/auth0/index.ts'
import type { ReportEntry, UserDiff } from '../../src/domain/import/report.ts'
import type { ImportJob, ImportOptions } from '../../src/domain/jobs/job.ts'
import type { TenantDirectory } from '../../src/engine/tenant/tenant-directory.ts'
import { type Harness, importUsers, openHarness } from '../support/roster-harness.ts'
import { defaultConnection, poll, RosterProcesses } from '../support/roster-process.ts'
import { comparable, generated, openTenantFront, seedTenant } from '../support/tenant-front.ts'
import { createTenantClient, startTenantRoster, type TenantRoster } from '../support/tenant-roster.ts'

/**
 * How an import into a tenant reads the tenant's users first (issue 13 §2), through the real path: Engines whose
 * ctx.tenant is the adapter over Auth0Client, against a Roster process standing in for the tenant. A file with at
 * least `tenantSnapshotRows` rows reads the connection with one export job; a smaller one looks each user up. Both
 * must plan exactly as the embedded engine does — usernames included. Each directory has its own API client, so
 * the stand-in's audit log tells whose requests were which.
 */

const processes = new RosterProcesses()
let tenant: TenantRoster
const directories: Record<string, TenantDirectory> = {}
let connectionId: string
const open: Harness[] = []

async function directoryFor(name: string): Promise<TenantDirectory> {
  const client = await createTenantClient(processes, tenant, name)
  return createTenantDirectory(
    createAuth0Client({
      domain: tenant.domain,
      baseUrl: tenant.baseUrl,
      clientId: client.client_id,
      clientSecret: client.client_secret,
    }),
  )
}

beforeAll(async () => {
  tenant = await startTenantRoster(processes)
  for (const name of ['seeder', 'snapshot', 'lookups']) directories[name] = await directoryFor(name)
  const connection = (await directories.seeder?.listConnections())?.find((c) => c.name === defaultConnection)
  if (!connection) throw new Error('the tenant has no default connection')
  connectionId = connection.id
}, 180_000)

afterEach(async () => {
  await Promise.all(open.splice(0).map((harness) => harness.close()))
})

afterAll(async () => {
  await processes.killAll()
  await tenant?.remove()
})

/** A Roster in front of the tenant through its own client; `snapshotRows` lowers the export threshold. */
async function front(
  client: 'snapshot' | 'lookups',
  snapshotRows?: number,
  more: Parameters<typeof openTenantFront>[1] = {},
): Promise<Harness> {
  const harness = await openTenantFront(directories[client] as TenantDirectory, more)
  if (snapshotRows !== undefined) harness.engine.ctx.limits.tenantSnapshotRows = snapshotRows
  open.push(harness)
  return harness
}

async function embedded(): Promise<Harness> {
  const harness = await openHarness()
  open.push(harness)
  return harness
}

function hex(prefix: string, n: number): string {
  return `${prefix}${String(n).padStart(24 - prefix.length, '0')}`
}

/** 22 users, every fifth with a username, and the last two (whom the file does not name by email) too. */
const start = Array.from({ length: 22 }, (_, i) => ({
  email: `p-${i}@example.com`,
  user_id: hex('ac', i),
  email_verified: true,
  given_name: `Given ${i}`,
  user_metadata: { plan: 'free', n: i },
  ...(i % 5 === 0 || i >= 20 ? { username: `puser${i}` } : {}),
}))

/** 30 rows: 10 unchanged, 10 updated, 6 new, a bad email, an id conflict and two username clashes. */
const file = [
  ...start.slice(0, 10).map(({ email, given_name, user_metadata }) => ({ email, given_name, user_metadata })),
  ...start
    .slice(10, 20)
    .map(({ email }, i) => ({ email: email.toUpperCase(), user_metadata: { plan: 'team', i } })),
  ...Array.from({ length: 6 }, (_, i) => ({ email: `p-new${i}@example.com`, name: `New ${i}` })),
  { email: 'not-an-email', given_name: 'Broken' },
  { email: 'p-thief@example.com', user_id: start[3]?.user_id },
  // Usernames of users the file does not name by email (only a lookup by username finds them): one as stored, one
  // in other case (Auth0 saves usernames lower-cased).
  { email: 'p-clash@example.com', username: 'puser20' },
  { email: 'p-clash2@example.com', username: 'PUSER21' },
]

const options: Partial<ImportOptions> = { upsert: true, merge: true }

async function artifact<T>(harness: Harness, jobId: string, name: string): Promise<T | undefined> {
  const bytes = await harness.engine.ctx.artifacts.get(jobId, name)
  return bytes ? (JSON.parse(bytes.toString('utf8')) as T) : undefined
}

function reportShape(report: ReportEntry[] | undefined) {
  return (report ?? []).map((entry) => ({
    index: entry.index,
    codes: entry.errors.map((e) => `${e.code}:${e.path}`),
  }))
}

function diffShape(diffs: UserDiff[] | undefined) {
  return (diffs ?? []).map((d) => ({ ...d, user_id: generated(d.user_id) }))
}

/** Where (`GET /api/v2/users-by-email`) each request of API client `actor` went, as the stand-in audited it. */
async function requestsOf(actor: string): Promise<string[]> {
  const text = await readFile(join(tenant.storeDir, 'audit.jsonl'), 'utf8').catch(() => '')
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { actor: { id: string }; where: string })
    .filter((entry) => entry.actor.id === actor)
    .map((entry) => entry.where)
}

const count = (wheres: string[], prefix: string) => wheres.filter((w) => w.startsWith(prefix)).length
const exports = 'POST /api/v2/jobs/users-exports'
const byEmail = 'GET /api/v2/users-by-email'
const userReads = 'GET /api/v2/users'

describe('reading the tenant before planning', () => {
  it('plans a large file from one export job, a small one from lookups, both as the embedded engine does', async () => {
    await seedTenant(directories.seeder as TenantDirectory, connectionId, start)
    const local = await embedded()
    await importUsers(local.engine, start)

    const bySnapshot = await front('snapshot', 10)
    const byLookups = await front('lookups')
    const snap = await importUsers(bySnapshot.engine, file, { ...options, dryRun: true })
    const look = await importUsers(byLookups.engine, file, { ...options, dryRun: true })
    const ours = await importUsers(local.engine, file, { ...options, dryRun: true })

    expect(ours.summary).toMatchObject({ inserted: 6, unchanged: 10, failed: 4 })
    for (const theirs of [snap, look]) {
      expect(theirs.status).toBe('completed')
      expect(theirs.summary).toEqual(ours.summary)
    }
    const expectedDiffs = diffShape(
      (await artifact<{ diffs: UserDiff[] }>(local, ours.id, 'preview.json'))?.diffs,
    )
    const expectedReport = reportShape(await artifact(local, ours.id, 'errors.json'))
    for (const [harness, job] of [
      [bySnapshot, snap],
      [byLookups, look],
    ] as const) {
      const preview = await artifact<{ diffs: UserDiff[] }>(harness, job.id, 'preview.json')
      expect(diffShape(preview?.diffs)).toEqual(expectedDiffs)
      const report = await artifact<ReportEntry[]>(harness, job.id, 'errors.json')
      expect(reportShape(report)).toEqual(expectedReport)
      // The username clashes are in the dry run's report, not left for Auth0's import to find.
      expect(report?.filter((entry) => entry.index >= 28).map((entry) => entry.index)).toEqual([28, 29])
      expect(report?.find((entry) => entry.index === 28)?.errors[0]?.path).toBe('username')
    }

    // The snapshot run read the tenant with one export job and no per-user requests; the lookups, one per email.
    const snapshotRequests = await poll('the export to be audited', async () => {
      const wheres = await requestsOf('snapshot')
      return count(wheres, exports) > 0 ? wheres : undefined
    })
    expect(count(snapshotRequests, exports)).toBe(1)
    expect(count(snapshotRequests, userReads)).toBe(0)
    const lookupRequests = await poll('the lookups to be audited', async () => {
      const wheres = await requestsOf('lookups')
      return count(wheres, byEmail) >= 29 ? wheres : undefined
    })
    expect(count(lookupRequests, exports)).toBe(0)
    // 29 distinct valid emails; the thief's id and the usernames not already met in a bulk search or two.
    expect(count(lookupRequests, byEmail)).toBe(29)
  })

  it('imports a large file planned from the export, leaving the tenant as the embedded import leaves its own', async () => {
    const before = count(await requestsOf('snapshot'), exports)
    const bySnapshot = await front('snapshot', 10)
    const local = await embedded()
    await importUsers(local.engine, start)
    const theirs = await importUsers(bySnapshot.engine, file, options)
    const ours = await importUsers(local.engine, file, options)

    expect(theirs.status).toBe('completed')
    expect(theirs.summary).toEqual(ours.summary)
    expect(reportShape(await artifact(bySnapshot, theirs.id, 'errors.json'))).toEqual(
      reportShape(await artifact(local, ours.id, 'errors.json')),
    )
    const emails = [...new Set([...start, ...file].map((u) => String(u.email).toLowerCase()))]
    const tenantUsers = await (directories.seeder as TenantDirectory).usersByEmail(connectionId, emails)
    const localConnection = local.engine.ctx.catalog
      .read()
      .connections.find((c) => c.name === defaultConnection)
    const localUsers = (
      await Promise.all(
        emails.map((email) => local.engine.ctx.users.findByEmail(localConnection?.id ?? '', email)),
      )
    ).filter((user) => user !== undefined)
    const sorted = (users: Parameters<typeof comparable>[0][]) =>
      users.map(comparable).sort((a, b) => String(a.email).localeCompare(String(b.email)))
    expect(sorted(tenantUsers)).toEqual(sorted(localUsers))
    const wheres = await poll('the export to be audited', async () => {
      const all = await requestsOf('snapshot')
      return count(all, exports) > before ? all : undefined
    })
    expect(count(wheres, exports)).toBe(before + 1)
    expect(count(wheres, userReads)).toBe(0)
    expect((theirs as ImportJob).tenantParts?.length).toBe(1)
  })

  it('takes a new snapshot when a stopped import resumes, and sends each user once', async () => {
    const users = Array.from({ length: 5 }, (_, i) => ({ email: `p-r${i}@example.com`, given_name: `R${i}` }))
    const before = count(await requestsOf('snapshot'), exports)
    const first = await front('snapshot', 2, { chunkRows: 2, faults: { pauseAfterChunk: 1 } })
    const job = await first.engine.requestImport({
      connection: defaultConnection,
      fileName: 'users.json',
      bytes: Buffer.from(JSON.stringify(users)),
      options: { upsert: false, merge: false, dryRun: false, sendCompletionEmail: false },
      requestedBy: { via: 'cli', id: 'tester' },
    })
    await poll('the first chunk to be planned', async () =>
      (await first.engine.ctx.users.commitsOf(job.id)).length === 1 ? true : undefined,
    )
    open.splice(open.indexOf(first), 1)
    await first.close()

    const again = await front('snapshot', 2, { storeDir: first.storeDir, chunkRows: 2 })
    const done = (await again.engine.waitFor(job.id)) as ImportJob
    expect(done.status).toBe('completed')
    expect(done.summary).toEqual({ inserted: 5, updated: 0, unchanged: 0, failed: 0, total: 5 })
    const held = await (directories.seeder as TenantDirectory).usersByEmail(
      connectionId,
      users.map((u) => u.email),
    )
    expect(held.map((u) => u.email).sort()).toEqual(users.map((u) => u.email).sort())
    // The first run read the connection once; the resumed run, with 3 rows left to plan, read it again.
    const wheres = await poll('both exports to be audited', async () => {
      const all = await requestsOf('snapshot')
      return count(all, exports) >= before + 2 ? all : undefined
    })
    expect(count(wheres, exports)).toBe(before + 2)
    expect(count(wheres, byEmail)).toBe(0)
  })
})
