import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Auth0Client, createAuth0Client } from '../../src/adapters/auth0/index.ts'
import { defaultFields, type ExportField } from '../../src/domain/export/export-fields.ts'
import type { ExportFormat } from '../../src/domain/export/format.ts'
import type { ImportJob } from '../../src/domain/jobs/job.ts'
import { type Auth0Front, exportThrough, openAuth0Front } from '../support/auth0-front.ts'
import { type Harness, openHarness } from '../support/roster-harness.ts'
import { defaultConnection, poll, RosterProcesses } from '../support/roster-process.ts'
import {
  createTenantClient,
  startTenantRoster,
  type TenantClient,
  type TenantRoster,
} from '../support/tenant-roster.ts'

/**
 * Exports from an Auth0 tenant (issue 13, decision 5) through the real path: an in-process Roster whose engine has
 * `ctx.tenant` = the Auth0 adapter over the SDK, in front of a Roster process standing in for the tenant. Each file
 * is compared with the same export of the same users from an embedded Roster: only the dates may differ.
 */

const processes = new RosterProcesses()
let tenant: TenantRoster
let client: TenantClient
let auth0: Auth0Client
let front: Auth0Front
let embedded: Harness
let embeddedDir: string

/** Values that test labels, CSV escaping (quotes, formulas) and metadata; a user_id each, so both sides agree. */
const special = [
  {
    user_id: 'zoe1',
    email: 'zoe@example.com',
    email_verified: true,
    given_name: 'Zoë',
    family_name: '李',
    password_hash: '$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy',
    user_metadata: { plan: 'pro', seats: 3 },
    app_metadata: { roles: ['admin', 'billing'] },
  },
  {
    user_id: 'dara2',
    email: 'dara@example.com',
    given_name: 'Dara',
    name: 'Dara "DJ" O\'Neil',
    nickname: '=1+1',
    user_metadata: { plan: '=HYPERLINK("http://evil.example","x")' },
  },
  {
    user_id: 'sam3',
    email: 'sam@example.com',
    username: 'sam',
    phone_number: '+12125550001',
    phone_verified: false,
    blocked: true,
    user_metadata: { plan: 'free' },
  },
]
const plain = Array.from({ length: 11 }, (_, i) => ({
  user_id: `plain${i}`,
  email: `plain${i}@example.com`,
  email_verified: i % 2 === 0,
  given_name: `Plain ${i}`,
}))
const mainUsers = [...special, ...plain]
const partnerUsers = [
  { user_id: 'pat1', email: 'pat@partner.example', nickname: 'pat' },
  { user_id: 'kim2', email: 'kim@partner.example', app_metadata: { tier: 2 } },
]

/** Default fields with a label changed, plus a metadata path under a label of its own, no dates. */
const labelled: ExportField[] = [
  ...defaultFields
    .filter((field) => field.name !== 'created_at' && field.name !== 'updated_at')
    .map((field) =>
      field.name === 'given_name' ? { name: 'given_name', export_as: 'First Name' } : { ...field },
    ),
  { name: 'user_metadata.plan', export_as: 'Plan' },
  { name: 'phone_number' },
  { name: 'blocked' },
]

async function importIntoTenant(users: unknown[], connectionName: string, upsert = false) {
  const connection = (await auth0.listDatabaseConnections()).find((c) => c.name === connectionName)
  if (!connection) throw new Error(`no connection ${connectionName}`)
  const job = await auth0.createImportJob({
    connectionId: connection.id,
    users: Buffer.from(JSON.stringify(users)),
    upsert,
    sendCompletionEmail: false,
  })
  return poll(`tenant import ${job.id}`, async () => {
    const state = await auth0.getJob(job.id)
    return state.status === 'pending' || state.status === 'processing' ? undefined : state
  })
}

beforeAll(async () => {
  tenant = await startTenantRoster(processes)
  client = await createTenantClient(processes, tenant, 'roster')
  await processes.cliJson(tenant.storeDir, ['connections', 'add', 'partners'])
  auth0 = createAuth0Client({
    domain: tenant.domain,
    baseUrl: tenant.baseUrl,
    clientId: client.client_id,
    clientSecret: client.client_secret,
  })
  expect(await importIntoTenant(mainUsers, defaultConnection)).toMatchObject({ status: 'completed' })
  expect(await importIntoTenant(partnerUsers, 'partners')).toMatchObject({ status: 'completed' })
  front = await openAuth0Front(tenant, client)

  embeddedDir = await mkdtemp(join(tmpdir(), 'roster-embedded-'))
  embedded = await openHarness({}, embeddedDir)
  await embedded.engine.addConnection({ name: 'partners', strategy: 'auth0' })
  expect((await embedded.importUsers(mainUsers)).summary).toMatchObject({ inserted: mainUsers.length })
  expect((await embedded.importUsers(partnerUsers, { connection: 'partners' })).summary).toMatchObject({
    inserted: partnerUsers.length,
  })
}, 90_000)

afterAll(async () => {
  await front?.close()
  await embedded?.close()
  await processes.killAll()
  await tenant?.remove()
  if (embeddedDir) await rm(embeddedDir, { recursive: true, force: true })
})

const dateKeys = new Set(['created_at', 'updated_at', 'Created At', 'Updated At'])

/** A JSON or NDJSON file's users without their dates (the two directories wrote them at different times). */
function usersOf(format: ExportFormat, bytes: Buffer): Record<string, unknown>[] {
  const text = bytes.toString('utf8')
  const users: Record<string, unknown>[] =
    format === 'json'
      ? JSON.parse(text)
      : text
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => JSON.parse(line))
  return users.map((user) => Object.fromEntries(Object.entries(user).filter(([key]) => !dateKeys.has(key))))
}

async function both(request: Parameters<typeof exportThrough>[1]) {
  const fromTenant = await exportThrough(front.engine, request)
  const fromStore = await exportThrough(embedded.engine, request)
  return { fromTenant, fromStore }
}

describe('an export from the tenant', () => {
  it('writes the JSON array of every profile field, as embedded mode writes it for the same users', async () => {
    const { fromTenant, fromStore } = await both({ connection: defaultConnection, format: 'json' })
    const users = usersOf('json', fromTenant.bytes)
    expect(users).toHaveLength(mainUsers.length)
    expect(users).toEqual(usersOf('json', fromStore.bytes))
    expect(users[0]).toMatchObject({ user_id: 'auth0|zoe1', user_metadata: { plan: 'pro', seats: 3 } })
    expect(fromTenant.bytes.toString('utf8')).not.toContain('password_hash')
    expect(fromTenant.job.result).toMatchObject({ users: mainUsers.length, fileName: 'roster.json' })
  })

  it('writes NDJSON under the chosen labels, as embedded mode does', async () => {
    const { fromTenant, fromStore } = await both({
      connection: defaultConnection,
      format: 'ndjson',
      fields: labelled,
    })
    const users = usersOf('ndjson', fromTenant.bytes)
    expect(users).toEqual(usersOf('ndjson', fromStore.bytes))
    expect(users.find((user) => user.Id === 'auth0|dara2')).toMatchObject({
      'First Name': 'Dara',
      Plan: '=HYPERLINK("http://evil.example","x")',
      Connection: defaultConnection,
    })
  })

  it('writes CSV with OWASP escaping, byte for byte as embedded mode does', async () => {
    const { fromTenant, fromStore } = await both({
      connection: defaultConnection,
      format: 'csv',
      fields: labelled,
    })
    const text = fromTenant.bytes.toString('utf8')
    expect(text).toBe(fromStore.bytes.toString('utf8'))
    expect(text).toContain('"\'=1+1"')
    expect(text).toContain('"\'Dara ""DJ"" O\'Neil"')
  })

  it('gzips the file when asked', async () => {
    const { fromTenant, fromStore } = await both({ connection: defaultConnection, format: 'csv', gzip: true })
    expect(fromTenant.job.result?.fileName).toBe('roster.csv.gz')
    const text = gunzipSync(fromTenant.bytes).toString('utf8')
    expect(text.split('\r\n')[0]).toBe(gunzipSync(fromStore.bytes).toString('utf8').split('\r\n')[0])
    expect(text.split('\r\n').filter((line) => line !== '')).toHaveLength(mainUsers.length + 1)
  })

  it('honours the sample limit of 10 users (the Slack sample)', async () => {
    const { fromTenant, fromStore } = await both({
      connection: defaultConnection,
      format: 'json',
      fields: labelled,
      sample: true,
    })
    expect(fromTenant.job.limit).toBe(10)
    const users = usersOf('json', fromTenant.bytes)
    expect(users).toHaveLength(10)
    expect(users).toEqual(usersOf('json', fromStore.bytes))
  })

  it('exports every connection when none is named', async () => {
    const { fromTenant, fromStore } = await both({ format: 'ndjson' })
    const users = usersOf('ndjson', fromTenant.bytes)
    expect(users).toHaveLength(mainUsers.length + partnerUsers.length)
    expect(users).toEqual(usersOf('ndjson', fromStore.bytes))
    expect(users.map((user) => user.email)).toContain('kim@partner.example')
  })

  it('gives a JSON file that re-imports into the tenant with every user unchanged', async () => {
    const { bytes } = await exportThrough(front.engine, { connection: defaultConnection, format: 'json' })
    const before = await Promise.all(
      mainUsers.map((user) => front.directory.getUser(`auth0|${user.user_id}`)),
    )
    const job = await importIntoTenant(JSON.parse(bytes.toString('utf8')), defaultConnection, true)
    expect(job).toMatchObject({
      status: 'completed',
      summary: { total: mainUsers.length, failed: 0, inserted: 0 },
    })
    const after = await Promise.all(mainUsers.map((user) => front.directory.getUser(`auth0|${user.user_id}`)))
    expect(after).toEqual(before)
    // Through Roster in front of the tenant (its tenant import plans against the tenant's users): nothing to change.
    const through = await front.engine.requestImport({
      connection: defaultConnection,
      fileName: 'roster.json',
      bytes,
      options: { upsert: true, merge: false, dryRun: false, sendCompletionEmail: false },
      requestedBy: { via: 'cli', id: 'tester' },
    })
    const planned = (await front.engine.waitFor(through.id)) as ImportJob
    expect(planned.summary).toMatchObject({ unchanged: mainUsers.length, inserted: 0, failed: 0 })
    expect(
      await Promise.all(mainUsers.map((user) => front.directory.getUser(`auth0|${user.user_id}`))),
    ).toEqual(before)
    // The same file is one an embedded Roster takes with every row unchanged too.
    const reimport = await embedded.engine.requestImport({
      connection: defaultConnection,
      fileName: 'roster.json',
      bytes,
      options: { upsert: true, merge: false, dryRun: false, sendCompletionEmail: false },
      requestedBy: { via: 'cli', id: 'tester' },
    })
    const settled = (await embedded.engine.waitFor(reimport.id)) as ImportJob
    expect(settled.summary).toMatchObject({ unchanged: mainUsers.length, inserted: 0, failed: 0 })
  })
})

describe('a backup of the tenant', () => {
  it("takes one export per database connection of the tenant, each file the connection's users", async () => {
    // Made in the tenant (its Dashboard) after this Roster copied the tenant's connections: in the backup too.
    await processes.cliJson(tenant.storeDir, ['connections', 'add', 'latecomers'])
    const set = await front.engine.runBackup({ via: 'cli', id: 'tester' })
    expect(set.manifest?.connections).toMatchObject([
      { connectionName: defaultConnection, users: mainUsers.length },
      { connectionName: 'partners', users: partnerUsers.length },
      { connectionName: 'latecomers', users: 0 },
    ])
    const tenantIds = (await front.directory.listConnections()).map((c) => c.id).sort()
    expect(set.manifest?.connections.map((c) => c.connectionId).sort()).toEqual(tenantIds)
    const entry = set.manifest?.connections[1]
    const users = JSON.parse(gunzipSync(await readFile(join(set.path, entry?.file ?? ''))).toString('utf8'))
    expect(users.map((user: { email: string }) => user.email)).toEqual(partnerUsers.map((user) => user.email))
  })
})
