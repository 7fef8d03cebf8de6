import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type Auth0Client,
  type Auth0ClientOptions,
  type Auth0Job,
  createAuth0Client,
} from '../../src/adapters/auth0/index.ts'
import { AppError } from '../../src/errors.ts'
import { loopbackAuthClient } from '../support/auth0-sdk.ts'
import { defaultConnection, poll, RosterProcesses, type ServerProcess } from '../support/roster-process.ts'

/**
 * The Auth0 adapter against a Roster process standing in for the tenant, reached only over HTTP through the SDK:
 * API clients made by `roster clients create` (a CLI process), tokens by the client-credentials grant.
 */

const allScopes = 'read:connections,read:users,create:users,update:users,delete:users'

interface Tenant {
  storeDir: string
  server: ServerProcess
}

interface CreatedClient {
  client_id: string
  client_secret: string
}

const processes = new RosterProcesses()
// Not support/temp-dir.ts: it empties its directories after each test, and a tenant here serves a whole describe.
const storeDirs: string[] = []

afterAll(async () => {
  await processes.killAll()
  await Promise.all(storeDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })))
})

async function startTenant(env: Record<string, string> = {}): Promise<Tenant> {
  const storeDir = await mkdtemp(join(tmpdir(), 'roster-auth0-tenant-'))
  storeDirs.push(storeDir)
  const server = await processes.startServer(storeDir, { env })
  return { storeDir, server }
}

function createClient(tenant: Tenant, name: string, scopes: string): Promise<CreatedClient> {
  return processes.cliJson<CreatedClient>(tenant.storeDir, [
    'clients',
    'create',
    '--name',
    name,
    '--scopes',
    scopes,
  ])
}

function clientFor(
  tenant: Tenant,
  created: CreatedClient,
  clientSecret = created.client_secret,
  options: Auth0ClientOptions = {},
): Auth0Client {
  const host = `127.0.0.1:${tenant.server.port}`
  return createAuth0Client(
    { domain: host, baseUrl: `http://${host}`, clientId: created.client_id, clientSecret },
    options,
  )
}

/** The tenant's audit log: one entry per API call it answered. */
async function auditOf(tenant: Tenant): Promise<{ action: string; where: string; detail?: string }[]> {
  const text = await readFile(join(tenant.storeDir, 'audit.jsonl'), 'utf8').catch(() => '')
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line))
}

async function settled(client: Auth0Client, jobId: string): Promise<Auth0Job> {
  return poll(`job ${jobId} to settle`, async () => {
    const job = await client.getJob(jobId)
    return job.status === 'pending' || job.status === 'processing' ? undefined : job
  })
}

function users(emails: string[]): Uint8Array {
  return Buffer.from(
    JSON.stringify(emails.map((email) => ({ email, email_verified: true, given_name: 'Test' }))),
  )
}

async function connectionId(client: Auth0Client): Promise<string> {
  const connection = (await client.listDatabaseConnections()).find((c) => c.name === defaultConnection)
  if (!connection) throw new Error('no default connection')
  return connection.id
}

async function importAll(client: Auth0Client, emails: string[]): Promise<Auth0Job> {
  const job = await client.createImportJob({
    connectionId: await connectionId(client),
    users: users(emails),
    upsert: false,
    sendCompletionEmail: false,
  })
  return settled(client, job.id)
}

describe('the Auth0 adapter against a Roster tenant', () => {
  let tenant: Tenant
  let full: CreatedClient

  beforeAll(async () => {
    tenant = await startTenant()
    full = await createClient(tenant, 'roster', allScopes)
  }, 60_000)

  afterAll(() => tenant?.server.kill9())

  it('verifies a client with every scope, getting one token for all its calls', async () => {
    const client = clientFor(tenant, full)
    expect(await client.verify()).toEqual({ ok: true, scopes: expect.arrayContaining(['delete:users']) })
    await client.listDatabaseConnections()
    await client.usersByEmail(['nobody@example.com'])
    const tokens = (await auditOf(tenant)).filter((entry) => entry.action === 'oauth.token')
    expect(tokens).toHaveLength(1)
  })

  it('names AUTH0_CLIENT_SECRET for a wrong secret, without printing it', async () => {
    const outcome = await clientFor(tenant, full, 'rst_cs_not-the-secret').verify()
    expect(outcome.ok).toBe(false)
    if (outcome.ok) return
    expect(outcome.problem.code).toBe('auth0_credentials_refused')
    expect(outcome.problem.message).toContain('AUTH0_CLIENT_SECRET')
    expect(outcome.problem.message).not.toContain('rst_cs_not-the-secret')
  })

  it('names the missing scope for a client without delete:users', async () => {
    const partial = await createClient(
      tenant,
      'no-delete',
      'read:connections,read:users,create:users,update:users',
    )
    const outcome = await clientFor(tenant, partial).verify()
    expect(outcome).toMatchObject({ ok: false, problem: { code: 'auth0_scope_missing' } })
    if (outcome.ok) return
    expect(outcome.problem.message).toContain('delete:users')
    expect(outcome.problem.message).toContain('AUTH0_CLIENT_ID')
    expect(outcome.problem.details).toEqual({ scopes: ['delete:users'] })
  })

  it('finds the missing scope of a static AUTH0_TOKEN by trying the calls', async () => {
    const partial = await createClient(
      tenant,
      'static',
      'read:connections,read:users,create:users,delete:users',
    )
    const auth = loopbackAuthClient(tenant.server.port, partial.client_id, partial.client_secret)
    const host = `127.0.0.1:${tenant.server.port}`
    const { data } = await auth.oauth.clientCredentialsGrant({ audience: `https://${host}/api/v2/` })
    const client = createAuth0Client({ domain: host, baseUrl: `http://${host}`, token: data.access_token })
    const outcome = await client.verify()
    expect(outcome).toMatchObject({ ok: false, problem: { code: 'auth0_scope_missing' } })
    if (outcome.ok) return
    expect(outcome.problem.message).toContain('AUTH0_TOKEN lacks the Management API scope update:users')
    expect(outcome.problem.message).not.toContain(data.access_token)
  })

  it('names AUTH0_DOMAIN when nothing answers at the address', async () => {
    const port = await closedPort()
    const outcome = await createAuth0Client({
      domain: `127.0.0.1:${port}`,
      baseUrl: `http://127.0.0.1:${port}`,
      clientId: full.client_id,
      clientSecret: full.client_secret,
    }).verify()
    expect(outcome).toMatchObject({ ok: false, problem: { code: 'auth0_unreachable' } })
    if (outcome.ok) return
    expect(outcome.problem.message).toContain('AUTH0_DOMAIN')
    expect(outcome.problem.message).not.toContain(full.client_secret)
  })

  it('lists database connections with import mode and enabled state, and reads one by id', async () => {
    const client = clientFor(tenant, full)
    const connections = await client.listDatabaseConnections()
    const main = connections.find((c) => c.name === defaultConnection)
    expect(main).toEqual({
      id: expect.stringMatching(/^con_/),
      name: defaultConnection,
      importMode: false,
      customDatabase: false,
      enabled: true,
    })
    expect(await client.getConnection(main?.id as string)).toEqual(main)
    expect(await client.getConnection('con_0000000000000000')).toBeNull()
  })

  it('pages through database connections only, custom databases included', async () => {
    for (const args of [
      ['legacy', '--strategy', 'custom-db', '--import-mode'],
      ['retired', '--disabled'],
      ['google', '--strategy', 'google-oauth2'],
    ]) {
      await processes.cliJson(tenant.storeDir, ['connections', 'add', ...args])
    }
    const client = clientFor(tenant, full, full.client_secret, { connectionsPageSize: 1 })
    const connections = await client.listDatabaseConnections()
    expect(connections.map((c) => c.name).sort()).toEqual([defaultConnection, 'legacy', 'retired'])
    expect(connections.find((c) => c.name === 'legacy')).toMatchObject({
      importMode: true,
      customDatabase: true,
    })
    expect(connections.find((c) => c.name === 'retired')).toMatchObject({ enabled: false })
    // One connection a page: a page per database connection, then the last (the SDK stops without `next`).
    const before = (await auditOf(tenant)).filter((entry) => entry.where === 'GET /api/v2/connections').length
    await client.listDatabaseConnections()
    const pages = await poll('the audit of the pages', async () => {
      const after = (await auditOf(tenant)).filter(
        (entry) => entry.where === 'GET /api/v2/connections',
      ).length
      return after - before >= 3 ? after - before : undefined
    })
    expect(pages).toBeGreaterThanOrEqual(3)
  })

  it('runs an import job to completion and reads its errors, then updates and deletes a user', async () => {
    const client = clientFor(tenant, full)
    const submitted = await client.createImportJob({
      connectionId: await connectionId(client),
      users: Buffer.from(
        JSON.stringify([
          { email: 'ada@example.com' },
          { email: 'grace@example.com' },
          { email: 'not-an-email' },
        ]),
      ),
      upsert: true,
      sendCompletionEmail: false,
      externalId: 'roster-part-1',
    })
    expect(submitted).toMatchObject({ type: 'users_import', status: 'pending', external_id: 'roster-part-1' })
    const job = await settled(client, submitted.id)
    expect(job).toMatchObject({ status: 'completed', summary: { total: 3, inserted: 2, failed: 1 } })
    const errors = await client.getJobErrors(job.id)
    expect(errors.users).toHaveLength(1)
    expect(errors.users[0]?.user).toMatchObject({ email: 'not-an-email' })
    expect(errors.users[0]?.errors[0]?.code).toEqual(expect.any(String))

    const found = await client.usersByEmail(['ADA@example.com', 'grace@example.com', 'nobody@example.com'])
    expect(found.get('nobody@example.com')).toEqual([])
    const ada = found.get('ada@example.com')?.[0]
    expect(ada?.email).toBe('ada@example.com')
    const updated = await client.updateUser(ada?.user_id as string, {
      given_name: 'Ada',
      connection: defaultConnection,
    })
    expect(updated).toMatchObject({ user_id: ada?.user_id, given_name: 'Ada' })
    await client.deleteUser(ada?.user_id as string)
    expect((await client.usersByEmail(['ada@example.com'])).get('ada@example.com')).toEqual([])
  })

  it('maps a refused import to an AppError with Auth0 message', async () => {
    const client = clientFor(tenant, full)
    const refusal = client.createImportJob({
      connectionId: 'con_0000000000000000',
      users: users(['x@example.com']),
      upsert: false,
      sendCompletionEmail: false,
    })
    await expect(refusal).rejects.toBeInstanceOf(AppError)
    await expect(refusal).rejects.toMatchObject({ message: expect.stringContaining('connection') })
  })

  it('exports users and downloads the file from its pre-signed location', async () => {
    const client = clientFor(tenant, full)
    await importAll(client, ['lin@example.com', 'mae@example.com'])
    const created = await client.createExportJob({
      format: 'json',
      fields: [{ name: 'email' }, { name: 'user_id' }],
      connectionId: await connectionId(client),
    })
    const job = await settled(client, created.id)
    expect(job).toMatchObject({ status: 'completed', location: expect.any(String) })
    const lines = (await client.downloadExport(job.location as string)).toString('utf8').trim().split('\n')
    const emails = lines.map((line) => JSON.parse(line).email)
    expect(emails).toEqual(expect.arrayContaining(['lin@example.com', 'mae@example.com']))
  })
})

describe('the Auth0 adapter under a tenant rate limit', () => {
  it('gets 20 parallel lookups through API_RATE_LIMIT=2, waiting out the 429s', async () => {
    const tenant = await startTenant({ API_RATE_LIMIT: '2' })
    const client = clientFor(tenant, await createClient(tenant, 'roster', allScopes))
    const emails = Array.from({ length: 20 }, (_, i) => `user${i}@example.com`)
    expect(await importAll(client, emails)).toMatchObject({ summary: { inserted: 20 } })
    const found = await client.usersByEmail(emails)
    expect(emails.every((email) => found.get(email)?.[0]?.email === email)).toBe(true)
    const lookups = (await auditOf(tenant)).filter((entry) => entry.where === 'GET /api/v2/users-by-email')
    expect(lookups.filter((entry) => entry.detail === '429').length).toBeGreaterThan(0)
  }, 120_000)
})

/** A port nothing listens on: one the OS just gave out and took back. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}
