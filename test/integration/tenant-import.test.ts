import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createAuth0Client, createTenantDirectory } from '../../src/adapters/auth0/index.ts'
import type { ReportEntry, UserDiff } from '../../src/domain/import/report.ts'
import { tenantPartFile } from '../../src/domain/import/tenant-rows.ts'
import type { ImportJob, ImportOptions } from '../../src/domain/jobs/job.ts'
import type { TenantDirectory } from '../../src/engine/tenant/tenant-directory.ts'
import type { TenantChunkMeta } from '../../src/engine/tenant/tenant-parts.ts'
import { AppError } from '../../src/errors.ts'
import { type Harness, importUsers, openHarness } from '../support/roster-harness.ts'
import { defaultConnection, poll, RosterProcesses } from '../support/roster-process.ts'
import { comparable, generated, openTenantFront, seedTenant } from '../support/tenant-front.ts'
import {
  createTenantClient,
  startTenantRoster,
  type TenantClient,
  type TenantRoster,
} from '../support/tenant-roster.ts'

/**
 * Imports into an Auth0 tenant through the real path: an Engine whose ctx.tenant is the adapter over Auth0Client,
 * against a Roster process standing in for the tenant (reached only over HTTP through the SDK). Each test uses its
 * own emails, so one tenant serves them all; each compares with an embedded Roster given the same file.
 */

const processes = new RosterProcesses()
let tenant: TenantRoster
let client: TenantClient
let directory: TenantDirectory
let connectionId: string
const open: Harness[] = []

beforeAll(async () => {
  tenant = await startTenantRoster(processes)
  client = await createTenantClient(processes, tenant, 'roster')
  directory = createTenantDirectory(
    createAuth0Client({
      domain: tenant.domain,
      baseUrl: tenant.baseUrl,
      clientId: client.client_id,
      clientSecret: client.client_secret,
    }),
  )
  const connection = (await directory.listConnections()).find((c) => c.name === defaultConnection)
  if (!connection) throw new Error('the tenant has no default connection')
  connectionId = connection.id
}, 60_000)

afterEach(async () => {
  await Promise.all(open.splice(0).map((harness) => harness.close()))
})

afterAll(async () => {
  await processes.killAll()
  await tenant?.remove()
})

async function front(options: Parameters<typeof openTenantFront>[1] = {}): Promise<Harness> {
  const harness = await openTenantFront(directory, options)
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

/** Users both directories start with. `tag` (a hex letter: ids are hex) keeps each test's users apart. */
function startingUsers(tag: string) {
  return [
    {
      email: `${tag}-keep@example.com`,
      user_id: hex(`a${tag}`, 1),
      email_verified: true,
      given_name: 'Keep',
      user_metadata: { plan: 'pro' },
    },
    {
      email: `${tag}-change@example.com`,
      user_id: hex(`a${tag}`, 2),
      email_verified: true,
      given_name: 'Old',
      user_metadata: { plan: 'free', theme: 'dark' },
      app_metadata: { roles: ['reader'] },
    },
    {
      email: `${tag}-owner@example.com`,
      user_id: hex(`a${tag}`, 3),
      email_verified: true,
      username: `${tag}taken`,
    },
  ]
}

/** A file with every outcome the planner knows, none of which needs a lookup by username. */
function plannedFile(tag: string, start: ReturnType<typeof startingUsers>) {
  return [
    { email: `${tag}-keep@example.com`, given_name: 'Keep', user_metadata: { plan: 'pro' } },
    { email: `${tag}-CHANGE@example.com`, given_name: 'New', user_metadata: { plan: 'team' } },
    { email: `${tag}-new1@example.com`, user_id: hex(`bb${tag}`, 11), name: 'New One', email_verified: true },
    { email: `${tag}-new2@example.com`, nickname: 'two', app_metadata: { roles: ['admin'] } },
    { email: 'not-an-email', given_name: 'Broken' },
    // The owner's id under another email: a conflict in both modes (found by the tenant lookup by id).
    { email: `${tag}-thief@example.com`, user_id: start[2]?.user_id },
  ]
}

const options: Partial<ImportOptions> = { upsert: true, merge: true }

async function requestFile(harness: Harness, users: unknown[], extra: Partial<ImportOptions> = {}) {
  return harness.engine.requestImport({
    connection: defaultConnection,
    fileName: 'users.json',
    bytes: Buffer.from(JSON.stringify(users)),
    options: { upsert: false, merge: false, dryRun: false, sendCompletionEmail: false, ...extra },
    requestedBy: { via: 'cli', id: 'tester' },
  })
}

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

function diffShape(diffs: UserDiff[]) {
  const id = (value: unknown) => (typeof value === 'string' ? generated(value) : value)
  return diffs.map((d) => ({
    ...d,
    user_id: generated(d.user_id),
    changes: d.changes.map((c) =>
      c.field === 'user_id' ? { ...c, before: id(c.before), after: id(c.after) } : c,
    ),
  }))
}

async function tenantState(emails: string[]) {
  const users = await directory.usersByEmail(connectionId, emails)
  return users.map(comparable).sort((a, b) => String(a.email).localeCompare(String(b.email)))
}

async function embeddedState(harness: Harness, emails: string[]) {
  const conId =
    harness.engine.ctx.catalog.read().connections.find((c) => c.name === defaultConnection)?.id ?? ''
  const found = await Promise.all(
    emails.map((email) => harness.engine.ctx.users.findByEmail(conId, email.toLowerCase())),
  )
  return found
    .filter((user) => user !== undefined)
    .map(comparable)
    .sort((a, b) => String(a.email).localeCompare(String(b.email)))
}

function emailsOf(...files: { email?: string }[][]): string[] {
  return [...new Set(files.flat().map((u) => String(u.email).toLowerCase()))]
}

/** POST /jobs/users-imports the tenant has answered so far. */
async function tenantImportJobs(): Promise<number> {
  const text = await readFile(join(tenant.storeDir, 'audit.jsonl'), 'utf8').catch(() => '')
  return text
    .split('\n')
    .filter((line) => line.includes('"POST /api/v2/jobs/users-imports"') && line.includes('"allowed"')).length
}

describe('a dry run against the tenant', () => {
  it('gives the counts and field diffs the embedded engine gives for the same users', async () => {
    const start = startingUsers('d')
    const file = plannedFile('d', start)
    await seedTenant(directory, connectionId, start)
    const local = await embedded()
    await importUsers(local.engine, start)
    const remote = await front()

    const before = await tenantImportJobs()
    const theirs = (await importUsers(remote.engine, file, { ...options, dryRun: true })) as ImportJob
    const ours = (await importUsers(local.engine, file, { ...options, dryRun: true })) as ImportJob

    expect(theirs.status).toBe('completed')
    expect(theirs.summary).toEqual(ours.summary)
    expect(theirs.summary).toMatchObject({ inserted: 2, updated: 2, unchanged: 1, failed: 2 })
    const preview = await artifact<{ diffs: UserDiff[] }>(remote, theirs.id, 'preview.json')
    const expected = await artifact<{ diffs: UserDiff[] }>(local, ours.id, 'preview.json')
    expect(diffShape(preview?.diffs ?? [])).toEqual(diffShape(expected?.diffs ?? []))
    expect(reportShape(await artifact(remote, theirs.id, 'errors.json'))).toEqual(
      reportShape(await artifact(local, ours.id, 'errors.json')),
    )
    // Nothing was sent, nothing changed.
    expect(await tenantImportJobs()).toBe(before)
    expect(await tenantState(emailsOf(start, file))).toEqual(await embeddedState(local, emailsOf(start)))
  })
})

describe('an import into the tenant', () => {
  it("changes the tenant's users as the embedded import changes its own, with the same summary and report", async () => {
    // A user the file names only by username: found by the tenant's user search before planning, so the clash is
    // planned as a conflict (as the embedded planner does) and never sent.
    const start = [
      ...startingUsers('e'),
      { email: 'e-other@example.com', user_id: hex('ae', 4), email_verified: true, username: 'eother' },
    ]
    const file = [...plannedFile('e', start), { email: 'e-clash@example.com', username: 'eother' }]
    await seedTenant(directory, connectionId, start)
    const local = await embedded()
    await importUsers(local.engine, start)
    const remote = await front()

    const theirs = await importUsers(remote.engine, file, options)
    const ours = await importUsers(local.engine, file, options)

    expect(theirs.status).toBe('completed')
    expect(theirs.summary).toEqual(ours.summary)
    expect(theirs.summary).toEqual({ inserted: 2, updated: 2, unchanged: 1, failed: 3, total: 7 })
    expect(await tenantState(emailsOf(start, file))).toEqual(
      await embeddedState(local, emailsOf(start, file)),
    )
    const report = await artifact<ReportEntry[]>(remote, theirs.id, 'errors.json')
    expect(reportShape(report)).toEqual(reportShape(await artifact(local, ours.id, 'errors.json')))
    expect(report?.find((entry) => entry.index === 6)).toMatchObject({
      user: { email: 'e-clash@example.com', username: 'eother' },
      errors: [{ code: 'CONFLICT_USERNAME', path: 'username' }],
    })
    // One Auth0 job for the one part, recorded in the job's record, completed with Auth0's own counts.
    const record = remote.engine.getJob(theirs.id)?.job as ImportJob
    expect(record.tenantParts).toEqual([
      {
        chunk: 0,
        part: 0,
        auth0JobId: expect.stringMatching(/^job_/),
        status: 'completed',
        summary: { inserted: 2, updated: 1, failed: 0, total: 3 },
      },
    ])
  })

  it('keeps undo data only for what the tenant wrote', async () => {
    const start = startingUsers('f').slice(2)
    // The clash is found by the username search before planning, so that row is never sent.
    const file = [
      { email: 'f-fresh@example.com', user_id: hex('bf', 1) },
      { email: 'f-clash@example.com', username: 'ftaken' },
    ]
    await seedTenant(directory, connectionId, start)
    const remote = await front()
    const job = await importUsers(remote.engine, file)
    expect(job.summary).toMatchObject({ inserted: 1, failed: 1 })
    const undo = await artifact<{ preImages: { user_id: string; before: unknown }[] }[]>(
      remote,
      job.id,
      'undo.json',
    )
    expect(undo?.flatMap((chunk) => chunk.preImages)).toEqual([
      { user_id: `auth0|${hex('bf', 1)}`, before: null },
    ])
  })
})

describe('an import into the tenant resumed after a stop', () => {
  const file = (tag: string) =>
    Array.from({ length: 5 }, (_, i) => ({ email: `${tag}-r${i}@example.com`, given_name: `R${i}` }))

  async function resume(storeDir: string, jobId: string): Promise<ImportJob> {
    const again = await front({ storeDir, chunkRows: 2 })
    return (await again.engine.waitFor(jobId)) as ImportJob
  }

  async function stopped(harness: Harness): Promise<void> {
    open.splice(open.indexOf(harness), 1)
    await harness.close()
  }

  async function tenantCopies(emails: string[]): Promise<number[]> {
    const users = await directory.usersByEmail(connectionId, emails)
    return emails.map((email) => users.filter((u) => u.email === email).length)
  }

  it('sends a planned part whose Auth0 job id was never recorded, once', async () => {
    const users = file('c')
    const first = await front({ chunkRows: 2, faults: { pauseAfterChunk: 1 } })
    const before = await tenantImportJobs()
    const job = await requestFile(first, users)
    await poll('the first chunk to be planned', async () =>
      (await first.engine.ctx.users.commitsOf(job.id)).length === 1 ? true : undefined,
    )
    await stopped(first)
    expect(await tenantImportJobs()).toBe(before)

    const done = await resume(first.storeDir, job.id)
    expect(done.status).toBe('completed')
    expect(done.summary).toEqual({ inserted: 5, updated: 0, unchanged: 0, failed: 0, total: 5 })
    expect(await tenantCopies(emailsOf(users))).toEqual([1, 1, 1, 1, 1])
    expect(await tenantImportJobs()).toBe(before + 3)
  })

  it('counts a re-sent part as done when the tenant already holds its users as sent', async () => {
    const users = file('b')
    const first = await front({ chunkRows: 2, faults: { pauseAfterChunk: 1 } })
    const job = await requestFile(first, users)
    const [record] = await poll('the first chunk to be planned', async () => {
      const records = await first.engine.ctx.users.commitsOf(job.id)
      return records.length === 1 ? records : undefined
    })
    // The crash window: Auth0 accepted the part, Roster died before recording the job id.
    const part = (record?.meta as TenantChunkMeta | undefined)?.tenant.parts[0]
    if (!part) throw new Error('the chunk has no part')
    await seedTenant(directory, connectionId, tenantPartFile(part))
    await stopped(first)

    const done = await resume(first.storeDir, job.id)
    expect(done.status).toBe('completed')
    expect(done.summary).toEqual({ inserted: 5, updated: 0, unchanged: 0, failed: 0, total: 5 })
    expect(await artifact(first, job.id, 'errors.json')).toBeUndefined()
    expect(await tenantCopies(emailsOf(users))).toEqual([1, 1, 1, 1, 1])
  })

  it('polls a recorded Auth0 job instead of sending its part again', async () => {
    const users = file('a')
    const first = await front({ chunkRows: 2, faults: { pauseAfterTenantPart: 1 } })
    const before = await tenantImportJobs()
    const job = await requestFile(first, users)
    // Parts go out in parallel: one or two may be recorded before the run holds.
    await poll('a part to be recorded', async () => {
      const record = first.engine.getJob(job.id)?.job as ImportJob
      return (record.tenantParts?.length ?? 0) >= 1 ? true : undefined
    })
    await stopped(first)
    const recorded = (first.engine.getJob(job.id)?.job as ImportJob | undefined)?.tenantParts ?? []

    const done = await resume(first.storeDir, job.id)
    expect(done.status).toBe('completed')
    expect(done.summary).toEqual({ inserted: 5, updated: 0, unchanged: 0, failed: 0, total: 5 })
    for (const part of recorded) {
      expect(done.tenantParts).toContainEqual(
        expect.objectContaining({
          chunk: part.chunk,
          part: part.part,
          auth0JobId: part.auth0JobId,
          status: 'completed',
        }),
      )
    }
    expect(done.tenantParts).toHaveLength(3)
    expect(await tenantImportJobs()).toBe(before + 3)
    expect(await tenantCopies(emailsOf(users))).toEqual([1, 1, 1, 1, 1])
  })
})

describe('an import into the tenant when the tenant misbehaves', () => {
  it('sends a part again when its submission got no answer, and the tenant holds each user once', async () => {
    const users = Array.from({ length: 3 }, (_, i) => ({ email: `e-lost${i}@example.com`, given_name: 'L' }))
    let calls = 0
    // Auth0 took the part, but the answer was lost (a 5xx or a timeout after it was accepted).
    const lossy: TenantDirectory = {
      ...directory,
      async submitImport(part) {
        const id = await directory.submitImport(part)
        calls++
        if (calls === 1) throw new AppError('auth0_unavailable', 'The tenant answered 503.')
        return id
      },
    }
    const harness = await openTenantFront(lossy)
    open.push(harness)
    const job = await importUsers(harness.engine, users)
    expect(job.status).toBe('completed')
    expect(job.summary).toEqual({ inserted: 3, updated: 0, unchanged: 0, failed: 0, total: 3 })
    expect(calls).toBe(2)
    const found = await directory.usersByEmail(connectionId, emailsOf(users))
    expect(found.map((u) => u.email).sort()).toEqual(emailsOf(users).sort())
  })

  it("fails the job with Auth0's reason when Auth0's job fails, counting nothing as written", async () => {
    const users = [{ email: 'e-failed@example.com' }]
    const failing: TenantDirectory = {
      ...directory,
      importJob: async () => ({
        status: 'failed',
        details: 'Failed to parse users file when importing users',
      }),
    }
    const harness = await openTenantFront(failing)
    open.push(harness)
    const job = await importUsers(harness.engine, users)
    expect(job.status).toBe('failed')
    expect(job.statusDetails).toMatch(/failed: Failed to parse users file when importing users\.$/)
    expect(job.summary).toEqual({ inserted: 0, updated: 0, unchanged: 0, failed: 0, total: 1 })
    expect(job.tenantParts).toEqual([expect.objectContaining({ status: 'failed' })])
  })
})

describe('parts in flight', () => {
  it("never has more of Roster's Auth0 jobs in flight than MAX_ACTIVE_IMPORTS", async () => {
    const users = Array.from({ length: 6 }, (_, i) => ({ email: `e-flight${i}@example.com` }))
    const live = new Set<string>()
    let most = 0
    let submitting = 0
    const counting: TenantDirectory = {
      ...directory,
      async submitImport(part) {
        submitting++
        most = Math.max(most, live.size + submitting)
        const id = await directory.submitImport(part)
        submitting--
        live.add(id)
        return id
      },
      async importJob(id) {
        const state = await directory.importJob(id)
        if (state.status !== 'pending' && state.status !== 'processing') live.delete(id)
        return state
      },
    }
    const harness = await openTenantFront(counting, { chunkRows: 1 })
    open.push(harness)
    const job = await importUsers(harness.engine, users)
    expect(job.summary).toMatchObject({ inserted: 6, failed: 0 })
    expect(job.tenantParts).toHaveLength(6)
    expect(most).toBeGreaterThan(0)
    expect(most).toBeLessThanOrEqual(harness.engine.ctx.limits.maxActiveImports)
  })
})
