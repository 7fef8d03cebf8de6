import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAuth0Client, createTenantDirectory } from '../../src/adapters/auth0/index.ts'
import type { Connection } from '../../src/domain/connections/connection.ts'
import type { TenantDirectory } from '../../src/engine/tenant/tenant-directory.ts'
import { defaultConnection, poll, RosterProcesses } from '../support/roster-process.ts'
import {
  createTenantClient,
  startTenantRoster,
  type TenantClient,
  type TenantRoster,
} from '../support/tenant-roster.ts'

/**
 * The TenantDirectory adapter against a Roster process standing in for the tenant, through the SDK over HTTP: what
 * the engine gets back is in Roster's own shapes, and agrees with what the tenant itself holds.
 */

const processes = new RosterProcesses()
let tenant: TenantRoster
let client: TenantClient
let directory: TenantDirectory

beforeAll(async () => {
  tenant = await startTenantRoster(processes)
  client = await createTenantClient(processes, tenant, 'roster')
  for (const args of [
    ['legacy', '--strategy', 'custom-db', '--import-mode', '--username-max', '20'],
    ['retired', '--disabled'],
    ['google', '--strategy', 'google-oauth2'],
  ]) {
    await processes.cliJson(tenant.storeDir, ['connections', 'add', ...args])
  }
  directory = createTenantDirectory(
    createAuth0Client({
      domain: tenant.domain,
      baseUrl: tenant.baseUrl,
      clientId: client.client_id,
      clientSecret: client.client_secret,
    }),
  )
}, 180_000)

afterAll(async () => {
  await processes.killAll()
  await tenant?.remove()
})

/** The tenant's own view (`roster connections --json` on its store: Auth0's shapes). */
async function tenantConnections(): Promise<{ id: string; name: string }[]> {
  return processes.cliJson<{ id: string; name: string }[]>(tenant.storeDir, ['connections'])
}

async function settled(jobId: string) {
  return poll(`job ${jobId} to settle`, async () => {
    const state = await directory.importJob(jobId)
    return state.status === 'pending' || state.status === 'processing' ? undefined : state
  })
}

async function connectionNamed(name: string): Promise<Connection> {
  const found = (await directory.listConnections()).find((c) => c.name === name)
  if (!found) throw new Error(`no connection ${name}`)
  return found
}

describe('the tenant directory over a Roster tenant', () => {
  it('verifies the credentials and names the directory by its domain', async () => {
    await expect(directory.verify()).resolves.toBeUndefined()
    expect(directory.domain).toBe(tenant.domain)
  })

  it("lists the tenant's database connections as Roster connections with the tenant's ids", async () => {
    const listed = await directory.listConnections()
    const theirs = await tenantConnections()
    const idOf = (name: string) => theirs.find((c) => c.name === name)?.id
    expect(listed.map((c) => c.name).sort()).toEqual([defaultConnection, 'legacy', 'retired'])
    expect(listed.find((c) => c.name === defaultConnection)).toEqual({
      id: idOf(defaultConnection),
      name: defaultConnection,
      strategy: 'auth0',
      enabled: true,
      created_at: expect.any(String),
    })
    expect(listed.find((c) => c.name === 'legacy')).toEqual({
      id: idOf('legacy'),
      name: 'legacy',
      strategy: 'custom-db',
      enabled: true,
      import_mode: true,
      username_limits: { min: 1, max: 20 },
      created_at: expect.any(String),
    })
    expect(listed.find((c) => c.name === 'retired')).toMatchObject({ enabled: false })
    // The first-seen time is kept: a later listing is the same list.
    expect(await directory.listConnections()).toEqual(listed)
  })

  it('imports a part, reads its state and errors, and finds the users by email in their connection', async () => {
    const main = await connectionNamed(defaultConnection)
    const legacy = await connectionNamed('legacy')
    const part = (users: unknown[]) => Buffer.from(JSON.stringify(users))
    const jobId = await directory.submitImport({
      connectionId: main.id,
      users: part([
        {
          email: 'Ada@Example.com',
          email_verified: true,
          username: 'ada',
          given_name: 'Ada',
          app_metadata: { plan: 'gold' },
          user_metadata: { lang: 'en' },
        },
        { email: 'grace@example.com', blocked: true },
        { email: 'not-an-email' },
      ]),
      upsert: false,
      sendCompletionEmail: false,
      externalId: 'job_test:1',
    })
    expect(await settled(jobId)).toEqual({
      status: 'completed',
      summary: { inserted: 2, updated: 0, failed: 1, total: 3 },
    })
    const errors = await directory.importErrors(jobId)
    expect(errors).toHaveLength(1)
    expect(errors[0]?.user).toMatchObject({ email: 'not-an-email' })
    expect(errors[0]?.errors[0]).toMatchObject({ code: expect.any(String), message: expect.any(String) })
    // The same email in another connection of the tenant is not one of this connection's users.
    const other = await directory.submitImport({
      connectionId: legacy.id,
      users: part([{ email: 'ada@example.com', username: 'ada-legacy' }]),
      upsert: false,
      sendCompletionEmail: false,
      externalId: 'job_test:2',
    })
    expect((await settled(other)).status).toBe('completed')

    const found = await directory.usersByEmail(main.id, [
      'ADA@example.com',
      'grace@example.com',
      'no@example.com',
    ])
    expect(found.map((user) => user.email).sort()).toEqual(['ada@example.com', 'grace@example.com'])
    const ada = found.find((user) => user.email === 'ada@example.com')
    expect(ada).toEqual({
      user_id: expect.stringMatching(/^auth0\|/),
      connection_id: main.id,
      email: 'ada@example.com',
      email_verified: true,
      username: 'ada',
      given_name: 'Ada',
      // Auth0's defaults for an import without them.
      name: 'ada@example.com',
      nickname: 'ada',
      app_metadata: { plan: 'gold' },
      user_metadata: { lang: 'en' },
      identities: [
        {
          connection: defaultConnection,
          provider: 'auth0',
          user_id: ada?.user_id.slice('auth0|'.length),
          isSocial: false,
        },
      ],
      created_at: expect.any(String),
      updated_at: expect.any(String),
    })
    // Exactly what the tenant holds, in Auth0's shape, plus the connection id.
    const held = await processes.cliJson<Record<string, unknown>[]>(tenant.storeDir, [
      'users',
      'get',
      'ada@example.com',
      '--connection',
      defaultConnection,
    ])
    expect({ ...held[0], connection_id: main.id }).toEqual(ada)
    expect(found.find((user) => user.email === 'grace@example.com')).toMatchObject({ blocked: true })

    const inLegacy = await directory.usersByEmail(legacy.id, ['ada@example.com'])
    expect(inLegacy).toEqual([expect.objectContaining({ connection_id: legacy.id, username: 'ada-legacy' })])

    // By username (user search): each connection's own holder only; a quote in a name stays a literal.
    expect(await directory.usersByUsername?.(main.id, ['ada', 'ada-legacy', 'no"one'])).toEqual([ada])
    expect(await directory.usersByUsername?.(legacy.id, ['ada', 'ada-legacy'])).toEqual(inLegacy)

    expect(await directory.getUser(ada?.user_id as string)).toEqual(ada)
    await directory.deleteUser(ada?.user_id as string)
    expect(await directory.getUser(ada?.user_id as string)).toBeUndefined()
    // Deleting a user that is not there resolves too (Auth0 answers 204 either way).
    await expect(directory.deleteUser(ada?.user_id as string)).resolves.toBeUndefined()
  })

  it('refuses a lookup in a connection the tenant does not have, naming it', async () => {
    await expect(directory.usersByEmail('con_0000000000000000', ['a@example.com'])).rejects.toMatchObject({
      code: 'connection_not_found',
      message: expect.stringContaining('con_0000000000000000'),
    })
  })

  it('runs an export job and downloads its NDJSON', async () => {
    const main = await connectionNamed(defaultConnection)
    const jobId = await directory.submitExport({
      connectionId: main.id,
      format: 'json',
      fields: [{ name: 'email' }, { name: 'user_id' }],
    })
    const job = await poll('the export', async () => {
      const state = await directory.exportJob(jobId)
      return state.status === 'completed' || state.status === 'failed' ? state : undefined
    })
    expect(job).toMatchObject({ status: 'completed', location: expect.any(String) })
    const lines = (await directory.downloadExport(job.location as string)).toString('utf8').trim().split('\n')
    expect(lines.map((line) => JSON.parse(line).email)).toContain('grace@example.com')
  })

  it('throws the credential problem from verify, naming the setting', async () => {
    const refused = createTenantDirectory(
      createAuth0Client({
        domain: tenant.domain,
        baseUrl: tenant.baseUrl,
        clientId: client.client_id,
        clientSecret: 'rst_cs_wrong',
      }),
    )
    await expect(refused.verify()).rejects.toMatchObject({
      code: 'auth0_credentials_refused',
      message: expect.stringContaining('AUTH0_CLIENT_SECRET'),
    })
  })
})
