import { afterEach, describe, expect, it } from 'vitest'
import { executeCommand } from '../../src/adapters/cli/commands.ts'
import { loadConfig } from '../../src/config.ts'
import { silentLogger } from '../../src/logger.ts'
import { openRoster, type Roster } from '../../src/roster.ts'
import { type RunningServer, startServer } from '../../src/server.ts'
import { loopbackAuthClient, loopbackManagementClient } from '../support/auth0-sdk.ts'
import { importUsers as importInto } from '../support/roster-harness.ts'
import { RosterProcesses } from '../support/roster-process.ts'
import { tempDir } from '../support/temp-dir.ts'

/**
 * The official `auth0` SDK's client-credentials path against Roster: an API client made by `roster clients create`
 * (a real CLI process), its token fetched and cached by the SDK, DELETE /users/{id}, and the SDK's own retry
 * getting through API_RATE_LIMIT's 429s.
 */

const processes = new RosterProcesses()
let roster: Roster
let server: RunningServer | undefined
let storeDir: string

afterEach(async () => {
  await server?.close()
  server = undefined
  await processes.killAll()
})

interface CreatedClient {
  client_id: string
  client_secret: string
}

const scopes = ['read:users', 'delete:users', 'read:connections', 'create:users'] as const

/**
 * Roster serving a store with an API client `sdk`. `viaCli`: made first by `roster clients create` as a child
 * process (on a store no server holds: the CLI opens it itself); otherwise by the same command in-process.
 */
async function rosterWithClient({
  env = {},
  viaCli = false,
}: {
  env?: Record<string, string>
  viaCli?: boolean
} = {}): Promise<CreatedClient> {
  storeDir = await tempDir()
  const args = ['clients', 'create', '--name', 'sdk', '--scopes', scopes.join(',')]
  const fromCli = viaCli ? await processes.cliJson<CreatedClient>(storeDir, args) : undefined
  const config = loadConfig({ STORE_DIR: storeDir, PORT: '0', TENANT_NAME: 'acme', ...env })
  roster = await openRoster(config, { logger: silentLogger })
  server = await startServer(roster, config, silentLogger)
  return (
    fromCli ??
    ((await executeCommand(roster.engine, {
      name: 'clients-create',
      clientName: 'sdk',
      scopes: [...scopes],
    })) as CreatedClient)
  )
}

function port(): number {
  if (!server) throw new Error('no server')
  return server.port
}

async function connectionCalls() {
  return (await roster.audit.recent(20)).filter((entry) => entry.where === 'GET /api/v2/connections')
}

async function importUsers(emails: string[]): Promise<void> {
  const job = await importInto(
    roster.engine,
    emails.map((email) => ({ email, email_verified: true })),
  )
  expect(job).toMatchObject({ status: 'completed' })
}

describe('the auth0 SDK with client credentials against Roster', () => {
  it('gets a token with AuthenticationClient.oauth.clientCredentialsGrant for a client the CLI made', async () => {
    const created = await rosterWithClient({ viaCli: true })
    const auth = loopbackAuthClient(port(), created.client_id, created.client_secret)
    const { data } = await auth.oauth.clientCredentialsGrant({
      audience: `https://127.0.0.1:${port()}/api/v2/`,
    })
    expect(data).toEqual({
      access_token: expect.stringMatching(/^rst_at_/),
      token_type: 'Bearer',
      expires_in: 86400,
      scope: 'create:users read:users delete:users read:connections',
    })
  })

  it('lets ManagementClient({clientId, clientSecret}) delete a user; the SDK then reads 404', async () => {
    const created = await rosterWithClient()
    await importUsers(['ada@example.com', 'grace@example.com'])
    const client = loopbackManagementClient(port(), {
      clientId: created.client_id,
      clientSecret: created.client_secret,
    })
    const [ada] = (await client.users.listUsersByEmail({ email: 'ada@example.com' })) as { user_id: string }[]
    await client.users.delete(ada?.user_id as string)
    await expect(client.users.get(ada?.user_id as string)).rejects.toMatchObject({
      statusCode: 404,
      body: { errorCode: 'inexistent_user' },
    })
    expect(await roster.engine.findUsers('ada@example.com')).toEqual([])
    expect(await roster.engine.countUsers()).toBe(1)
  })

  it('surfaces a wrong secret as the auth error Auth0 gives (401 access_denied)', async () => {
    const created = await rosterWithClient()
    const client = loopbackManagementClient(port(), {
      clientId: created.client_id,
      clientSecret: 'rst_cs_wrong',
    })
    await expect(client.connections.list()).rejects.toMatchObject({
      statusCode: 401,
      error: 'access_denied',
      error_description: 'Unauthorized',
    })
  })

  it('retries 429s from API_RATE_LIMIT after x-ratelimit-reset and succeeds', async () => {
    const created = await rosterWithClient({ env: { API_RATE_LIMIT: '1' } })
    const client = loopbackManagementClient(port(), {
      clientId: created.client_id,
      clientSecret: created.client_secret,
    })
    // One request a second: the second call, made at once, is refused, waits for the reset and gets through.
    const names = async () => {
      const page = await client.connections.list()
      return page.data.map((c) => c.name)
    }
    expect(await names()).toEqual(['Username-Password-Authentication'])
    expect(await names()).toEqual(['Username-Password-Authentication'])
    // Audit entries are written once each answer is sent: wait (bounded) for the last one.
    const deadline = Date.now() + 5_000
    let calls = await connectionCalls()
    while (calls.length < 3 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10))
      calls = await connectionCalls()
    }
    expect(calls.map((entry) => entry.detail)).toEqual(['200', '429', '200'])
    // The refusal names the client, like the calls it let through.
    expect(calls.every((entry) => entry.actor.id === 'sdk')).toBe(true)
  })
})
