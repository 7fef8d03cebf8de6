import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Auth0Client, createAuth0Client } from '../../src/adapters/auth0/index.ts'
import type { ImportJob, UndoJob } from '../../src/domain/jobs/job.ts'
import { type Auth0Front, openAuth0Front } from '../support/auth0-front.ts'
import { importUsers } from '../support/roster-harness.ts'
import { defaultConnection, poll, RosterProcesses } from '../support/roster-process.ts'
import {
  createTenantClient,
  startTenantRoster,
  type TenantClient,
  type TenantRoster,
} from '../support/tenant-roster.ts'

/**
 * Undo against an Auth0 tenant (issue 13, decision 4) through the real path: an in-process Roster whose engine has
 * `ctx.tenant` = the Auth0 adapter over the SDK imports into a Roster process standing in for the tenant, then
 * undoes that import. Inserted users are deleted, updated ones restored by an upsert, users changed since left alone.
 */

const processes = new RosterProcesses()
let tenant: TenantRoster
let client: TenantClient
let auth0: Auth0Client
const requestedBy = { via: 'cli', id: 'tester' } as const

beforeAll(async () => {
  tenant = await startTenantRoster(processes)
  client = await createTenantClient(processes, tenant, 'roster')
  auth0 = createAuth0Client({
    domain: tenant.domain,
    baseUrl: tenant.baseUrl,
    clientId: client.client_id,
    clientSecret: client.client_secret,
  })
}, 60_000)

afterAll(async () => {
  await processes.killAll()
  await tenant?.remove()
})

/** Users put into the tenant directly (as its admins would have), before Roster touches them. */
async function seedTenant(users: unknown[]): Promise<void> {
  const connection = (await auth0.listDatabaseConnections()).find((c) => c.name === defaultConnection)
  if (!connection) throw new Error('no default connection')
  const job = await auth0.createImportJob({
    connectionId: connection.id,
    users: Buffer.from(JSON.stringify(users)),
    upsert: false,
    sendCompletionEmail: false,
  })
  const settled = await poll(`seed ${job.id}`, async () => {
    const state = await auth0.getJob(job.id)
    return state.status === 'pending' || state.status === 'processing' ? undefined : state
  })
  expect(settled).toMatchObject({ status: 'completed', summary: { inserted: users.length } })
}

async function undo(front: Auth0Front, jobId: string): Promise<UndoJob> {
  const created = await front.engine.requestUndo(jobId, requestedBy)
  return (await front.engine.waitFor(created.id)) as UndoJob
}

/** Import submissions the tenant has answered (its audit log: one line per API call). */
async function importSubmissions(): Promise<number> {
  const text = await readFile(join(tenant.storeDir, 'audit.jsonl'), 'utf8').catch(() => '')
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { where?: string })
    .filter((entry) => entry.where === 'POST /api/v2/jobs/users-imports').length
}

describe('undo of an import into the tenant', () => {
  let front: Auth0Front
  let imported: ImportJob
  let settled: UndoJob

  beforeAll(async () => {
    await seedTenant([
      {
        user_id: 'ann1',
        email: 'ann@example.com',
        email_verified: true,
        given_name: 'Ann',
        user_metadata: { plan: 'free' },
      },
      { user_id: 'bob2', email: 'bob@example.com', email_verified: true, given_name: 'Bob' },
      { user_id: 'cy3', email: 'cy@example.com', email_verified: false, given_name: 'Cy' },
    ])
    front = await openAuth0Front(tenant, client)
    imported = await importUsers(
      front.engine,
      [
        {
          email: 'ann@example.com',
          email_verified: true,
          given_name: 'Annie',
          user_metadata: { plan: 'pro' },
        },
        { email: 'bob@example.com', email_verified: true, family_name: 'Builder' },
        { email: 'cy@example.com', email_verified: false, given_name: 'Cyrus', family_name: 'Cyc' },
        { user_id: 'dee4', email: 'dee@example.com', given_name: 'Dee' },
        { user_id: 'eve5', email: 'eve@example.com', given_name: 'Eve' },
      ],
      { upsert: true },
    )
    expect(imported).toMatchObject({ status: 'completed', summary: { inserted: 2, updated: 3, failed: 0 } })
    expect(await front.directory.getUser('auth0|ann1')).toMatchObject({ given_name: 'Annie' })
    // Changed since the import, by someone else: Bob edited, Eve deleted.
    await auth0.updateUser('auth0|bob2', { family_name: 'Later' })
    await auth0.deleteUser('auth0|eve5')
    settled = await undo(front, imported.id)
  }, 90_000)

  afterAll(() => front?.close())

  it('reports deleted, restored and conflicts in its summary', () => {
    expect(settled).toMatchObject({
      status: 'completed',
      summary: { deleted: 1, restored: 2, conflicts: 2, total: 5 },
    })
    expect(front.engine.getJob(imported.id)?.job).toMatchObject({ undoneBy: settled.id })
  })

  it('deletes the user the import inserted', async () => {
    expect(await front.directory.getUser('auth0|dee4')).toBeUndefined()
  })

  it('restores the users the import updated, metadata and email_verified included', async () => {
    const ann = await front.directory.getUser('auth0|ann1')
    expect(ann).toMatchObject({ given_name: 'Ann', email_verified: true, user_metadata: { plan: 'free' } })
    const cy = await front.directory.getUser('auth0|cy3')
    expect(cy).toMatchObject({ given_name: 'Cy', email_verified: false })
  })

  it('leaves a user changed since alone and reports it as a conflict, as it does a user deleted since', async () => {
    expect(await front.directory.getUser('auth0|bob2')).toMatchObject({ family_name: 'Later' })
    const report = await front.engine.getJobErrors(settled.id)
    const conflicts = report?.filter((entry) => entry.errors.some((error) => error.code === 'CONFLICT'))
    // Eve's email is not known any more: the import inserted her (no pre-image) and she is gone.
    expect(conflicts?.map((entry) => entry.user)).toEqual([
      { user_id: 'auth0|bob2', email: 'bob@example.com' },
      { user_id: 'auth0|eve5' },
    ])
    expect(conflicts?.[0]?.errors[0]?.message).toMatch(/changed in the tenant after this job/)
    expect(conflicts?.[1]?.errors[0]?.message).toMatch(/deleted after this job/)
  })

  it('reports the field the import added that an upsert cannot take away', async () => {
    expect(await front.directory.getUser('auth0|cy3')).toMatchObject({ family_name: 'Cyc' })
    const report = await front.engine.getJobErrors(settled.id)
    const notes = report?.filter((entry) => entry.errors.some((error) => error.code === 'NOT_RESTORED'))
    expect(notes).toEqual([
      expect.objectContaining({
        user: { user_id: 'auth0|cy3', email: 'cy@example.com' },
        errors: [expect.objectContaining({ code: 'NOT_RESTORED', path: 'family_name' })],
      }),
    ])
  })
})

describe('an undo stopped after its restore part was sent', () => {
  it('resumes polling the recorded Auth0 job after a restart, never sending the part again', async () => {
    await seedTenant([{ user_id: 'fay6', email: 'fay@example.com', email_verified: true, given_name: 'Fay' }])
    const first = await openAuth0Front(tenant, client)
    const imported = await importUsers(
      first.engine,
      [
        { email: 'fay@example.com', email_verified: true, given_name: 'Faye' },
        { user_id: 'gus7', email: 'gus@example.com', given_name: 'Gus' },
      ],
      { upsert: true },
    )
    expect(imported.summary).toMatchObject({ inserted: 1, updated: 1 })
    await first.close({ keepStore: true })

    // Polls only after a minute: the run is stopped with the part's Auth0 job id recorded and never read.
    const second = await openAuth0Front(tenant, client, {
      storeDir: first.storeDir,
      poll: { firstMs: 60_000, maxMs: 60_000 },
    })
    const sentBefore = await importSubmissions()
    const created = await second.engine.requestUndo(imported.id, requestedBy)
    const recorded = await poll('the restore part to be recorded', () => {
      const job = second.engine.getJob(created.id)?.job
      return job?.type === 'users_undo' ? job.tenantParts?.[0] : undefined
    })
    expect(recorded).toMatchObject({ part: 0, status: 'pending' })
    await second.close({ keepStore: true })
    expect(second.engine.getJob(created.id)?.job.status).toBe('processing')

    const third = await openAuth0Front(tenant, client, { storeDir: first.storeDir })
    try {
      const settled = (await third.engine.waitFor(created.id)) as UndoJob
      expect(settled).toMatchObject({
        status: 'completed',
        summary: { deleted: 1, restored: 1, conflicts: 0 },
      })
      expect(settled.tenantParts).toEqual([
        expect.objectContaining({ auth0JobId: recorded.auth0JobId, status: 'completed' }),
      ])
      expect(await importSubmissions()).toBe(sentBefore + 1)
      expect(await third.directory.getUser('auth0|fay6')).toMatchObject({ given_name: 'Fay' })
      expect(await third.directory.getUser('auth0|gus7')).toBeUndefined()
    } finally {
      await third.close()
    }
  }, 60_000)
})
