import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ManagementError } from 'auth0'
import { afterEach, describe, expect, it } from 'vitest'
import { type Auth0ClientOptions, createAuth0Client } from '../../src/adapters/auth0/index.ts'
import type { SdkOptions } from '../../src/adapters/auth0/sdk-client.ts'
import { executeCommand } from '../../src/adapters/cli/commands.ts'
import { loadConfig } from '../../src/config.ts'
import { silentLogger } from '../../src/logger.ts'
import { openRoster, type Roster } from '../../src/roster.ts'
import { type RunningServer, startServer } from '../../src/server.ts'
import { loopbackManagementClient } from '../support/auth0-sdk.ts'
import { tempDir } from '../support/temp-dir.ts'

/**
 * API_FAULTS: a Roster standing in for an Auth0 tenant fails chosen requests on purpose (5xx with Auth0's body,
 * 5xx after carrying the request out, hangs), reached over HTTP through the official SDK and Roster's Auth0
 * adapter, which must come through: retries with backoff for what is safe to repeat, never a blind re-send of an
 * import submission.
 */

interface StandIn {
  roster: Roster
  server: RunningServer
  base: string
  credentials: { clientId: string; clientSecret: string }
}

let running: StandIn | undefined

afterEach(async () => {
  await running?.server.close()
  running = undefined
})

async function standIn(env: Record<string, string>): Promise<StandIn> {
  const config = loadConfig({ STORE_DIR: await tempDir(), PORT: '0', ...env })
  const roster = await openRoster(config, { logger: silentLogger })
  const server = await startServer(roster, config, silentLogger)
  const created = (await executeCommand(roster.engine, {
    name: 'clients-create',
    clientName: 'front',
    scopes: ['read:connections', 'read:users', 'create:users', 'update:users', 'delete:users'],
  })) as { client_id: string; client_secret: string }
  running = {
    roster,
    server,
    base: `http://127.0.0.1:${server.port}`,
    credentials: { clientId: created.client_id, clientSecret: created.client_secret },
  }
  return running
}

function adapter(tenant: StandIn, options: Auth0ClientOptions & SdkOptions = {}) {
  const host = `127.0.0.1:${tenant.server.port}`
  return createAuth0Client({ domain: host, baseUrl: `http://${host}`, ...tenant.credentials }, options)
}

async function audit(tenant: StandIn): Promise<{ action: string; where: string; detail?: string }[]> {
  const text = await readFile(join(tenant.roster.storeDir, 'audit.jsonl'), 'utf8').catch(() => '')
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line))
}

/**
 * Polls the stand-in's audit (written once each answer is sent, so a client may hold its answer a moment before the
 * entry exists) until `count` entries match, or `count` with the status `detail`.
 */
async function answered(tenant: StandIn, where: string, count: number, detail?: string) {
  const deadline = Date.now() + 10_000
  for (;;) {
    const entries = (await audit(tenant)).filter((entry) => entry.where === where)
    const counted = detail === undefined ? entries : entries.filter((entry) => entry.detail === detail)
    if (counted.length >= count || Date.now() > deadline) return entries
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

const usersFile = (emails: string[]) => Buffer.from(JSON.stringify(emails.map((email) => ({ email }))))

describe('API_FAULTS on the stand-in', () => {
  it("answers the chosen requests 503 with Auth0's body, and the SDK's own retries get through", async () => {
    const tenant = await standIn({ API_FAULTS: '503 GET /api/v2/connections every 2' })
    const sdk = loopbackManagementClient(tenant.server.port, tenant.credentials, { maxRetries: 0 })
    await sdk.connections.list({ strategy: ['auth0'] })
    const refused = await sdk.connections.list({ strategy: ['auth0'] }).catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(ManagementError)
    expect((refused as ManagementError).statusCode).toBe(503)
    expect((refused as ManagementError).body).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'Service temporarily unavailable (fault injected by API_FAULTS).',
    })
    // Third call answered, fourth refused, and the SDK's retry (the fifth) answered.
    const retrying = loopbackManagementClient(tenant.server.port, tenant.credentials)
    await retrying.connections.list({ strategy: ['auth0'] })
    const page = await retrying.connections.list({ strategy: ['auth0'] })
    expect(page.data.length).toBeGreaterThan(0)
    const statuses = (await answered(tenant, 'GET /api/v2/connections', 5)).map((entry) => entry.detail)
    expect(statuses).toEqual(['200', '503', '200', '503', '200'])
  })

  it('leaves a chosen request hanging until the client times out, and the adapter tries again', async () => {
    const tenant = await standIn({ API_FAULTS: 'hang=30 GET /api/v2/users-by-email nth 1' })
    const sdk = loopbackManagementClient(tenant.server.port, tenant.credentials, { maxRetries: 2 })
    const timedOut = await sdk.users
      .listUsersByEmail({ email: 'a@example.com' }, { timeoutInSeconds: 1 })
      .catch((error: unknown) => error)
    // The SDK does not retry a timeout: one attempt, then an error without a status (no answer came).
    expect(timedOut).toBeInstanceOf(ManagementError)
    expect((timedOut as ManagementError).statusCode).toBeUndefined()
    const hangAgain = await standIn({ API_FAULTS: 'hang=30 GET /api/v2/users-by-email nth 1' })
    const found = await adapter(hangAgain, { timeoutInSeconds: 1 }).usersByEmail(['a@example.com'])
    expect(found.get('a@example.com')).toEqual([])
    expect(await answered(hangAgain, 'GET /api/v2/users-by-email', 1)).toHaveLength(1)
  })

  it('gets reads through 5xx that outlast the SDK retries', async () => {
    const tenant = await standIn({ API_FAULTS: '500 GET /api/v2/connections next 4' })
    const connections = await adapter(tenant).listDatabaseConnections()
    expect(connections.map((c) => c.name)).toContain('Username-Password-Authentication')
    const statuses = (await answered(tenant, 'GET /api/v2/connections', 5)).map((entry) => entry.detail)
    expect(statuses).toEqual(['500', '500', '500', '500', '200'])
  })

  it('gets a token through 503s of /oauth/token (the SDK never retries a token request)', async () => {
    const tenant = await standIn({ API_FAULTS: '503 POST /oauth/token next 2' })
    const connections = await adapter(tenant).listDatabaseConnections()
    expect(connections.length).toBeGreaterThan(0)
    const tokens = (await answered(tenant, 'POST /oauth/token', 3)).map((entry) => entry.detail)
    expect(tokens).toEqual(['503', '503', '200'])
  })

  it('rate limits /oauth/token with OAuth 429s, and each adapter still gets its token', async () => {
    const tenant = await standIn({ API_RATE_LIMIT: '1' })
    const clients = [adapter(tenant), adapter(tenant), adapter(tenant)]
    const answers = await Promise.all(clients.map((client) => client.listDatabaseConnections()))
    expect(answers.every((connections) => connections.length > 0)).toBe(true)
    // Three 200s: with 429s among them, three entries of any status may come before the last token's.
    const tokens = await answered(tenant, 'POST /oauth/token', 3, '200')
    expect(tokens.filter((entry) => entry.detail === '200')).toHaveLength(3)
    expect(tokens.filter((entry) => entry.detail === '429').length).toBeGreaterThan(0)
  }, 60_000)

  it('does not send an import submission again after a 503 that came once the part was accepted', async () => {
    const tenant = await standIn({ API_FAULTS: '503-after POST /api/v2/jobs/users-imports nth 1' })
    const client = adapter(tenant)
    const connectionId = (await client.listDatabaseConnections())[0]?.id as string
    const submission = client.createImportJob({
      connectionId,
      users: usersFile(['kept@example.com']),
      upsert: false,
      sendCompletionEmail: false,
    })
    await expect(submission).rejects.toMatchObject({ code: 'auth0_unavailable' })
    // The stand-in did take the part (503-after): one submission reached it, and its user arrives.
    const submissions = await answered(tenant, 'POST /api/v2/jobs/users-imports', 1)
    expect(submissions.map((entry) => entry.detail)).toEqual(['503'])
    const deadline = Date.now() + 10_000
    let users = await client.usersByEmail(['kept@example.com'])
    while ((users.get('kept@example.com') ?? []).length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      users = await client.usersByEmail(['kept@example.com'])
    }
    expect(users.get('kept@example.com')).toHaveLength(1)
    const after = (await audit(tenant)).filter((entry) => entry.where === 'POST /api/v2/jobs/users-imports')
    expect(after).toHaveLength(1)
  })

  it('survives 429s of a small tenant-wide bucket shared with another client', async () => {
    const tenant = await standIn({ API_TENANT_RATE_LIMIT: '2', API_RATE_LIMIT: '100' })
    const emails = Array.from({ length: 12 }, (_, i) => `user${i}@example.com`)
    const [one, two] = [adapter(tenant), adapter(tenant)]
    const [a, b] = await Promise.all([one.usersByEmail(emails), two.usersByEmail(emails)])
    expect([...a.keys()]).toEqual(emails)
    expect([...b.keys()]).toEqual(emails)
    const lookups = (await audit(tenant)).filter((entry) => entry.where === 'GET /api/v2/users-by-email')
    expect(lookups.filter((entry) => entry.detail === '429').length).toBeGreaterThan(0)
  }, 60_000)
})
