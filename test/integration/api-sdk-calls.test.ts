import { ManagementClient } from 'auth0'
import { afterEach, describe, expect, it } from 'vitest'
import { executeCommand } from '../../src/adapters/cli/commands.ts'
import { loadConfig } from '../../src/config.ts'
import type { ApiScope } from '../../src/domain/api/api-token.ts'
import { silentLogger } from '../../src/logger.ts'
import { openRoster, type Roster } from '../../src/roster.ts'
import { type RunningServer, startServer } from '../../src/server.ts'
import { tempDir } from '../support/temp-dir.ts'

/**
 * The calls an Auth0 client makes beside the bulk jobs (issue 12, "Every Auth0 client call"), each through the
 * official `auth0` SDK v5 pointed at Roster: connections by id, custom databases as Auth0 shows them, failed
 * imports, PATCH /users, field projection, user search and job-id validation.
 */

let roster: Roster
let server: RunningServer | undefined

afterEach(async () => {
  await server?.close()
  server = undefined
})

const allScopes: ApiScope[] = ['create:users', 'read:users', 'update:users', 'read:connections']

async function sdkClient(scopes: ApiScope[] = allScopes): Promise<ManagementClient> {
  const config = loadConfig({ STORE_DIR: await tempDir(), PORT: '0', TENANT_NAME: 'acme' })
  roster = await openRoster(config, { logger: silentLogger })
  server = await startServer(roster, config, silentLogger)
  const { token } = (await executeCommand(roster.engine, {
    name: 'tokens-create',
    tokenName: 'sdk',
    scopes,
  })) as { token: string }
  const client = new ManagementClient({ domain: 'acme.auth0.example', token, telemetry: false })
  // As in api-sdk.test.ts: the one thing changed is where the SDK sends its requests.
  ;(client as unknown as { _options: { baseUrl: string } })._options.baseUrl =
    `http://127.0.0.1:${server.port}/api/v2`
  return client
}

const mainConnection = () => roster.engine.listConnections()[0]?.id as string

async function seedUsers(users: unknown[]): Promise<void> {
  const job = await roster.engine.requestImport({
    connection: mainConnection(),
    fileName: 'users.json',
    bytes: Buffer.from(JSON.stringify(users)),
    options: { upsert: false, merge: false, dryRun: false, sendCompletionEmail: false },
    requestedBy: { via: 'cli', id: 'test' },
  })
  expect(await roster.engine.waitFor(job.id)).toMatchObject({ status: 'completed', summary: { failed: 0 } })
}

describe('GET /connections/{id}', () => {
  it('answers the connection as Auth0 shapes it', async () => {
    const client = await sdkClient()
    const connection = await client.connections.get(mainConnection())
    expect(connection).toEqual({
      id: mainConnection(),
      name: 'Username-Password-Authentication',
      strategy: 'auth0',
      options: { enabledDatabaseCustomization: false },
      realms: ['Username-Password-Authentication'],
      is_domain_connection: false,
      enabled: true,
    })
  })

  it('honours fields and include_fields', async () => {
    const client = await sdkClient()
    expect(await client.connections.get(mainConnection(), { fields: 'name,strategy' })).toEqual({
      name: 'Username-Password-Authentication',
      strategy: 'auth0',
    })
    const without = await client.connections.get(mainConnection(), {
      fields: 'options',
      include_fields: false,
    })
    expect(without).not.toHaveProperty('options')
    expect(without).toHaveProperty('name')
  })

  it('answers 404 inexistent_connection for an unknown id', async () => {
    const client = await sdkClient()
    await expect(client.connections.get('con_AAAAAAAAAAAAAAAA')).rejects.toMatchObject({
      statusCode: 404,
      body: {
        statusCode: 404,
        error: 'Not Found',
        message: 'The connection does not exist',
        errorCode: 'inexistent_connection',
      },
    })
  })

  it('needs read:connections', async () => {
    const client = await sdkClient(['read:users'])
    await expect(client.connections.get(mainConnection())).rejects.toMatchObject({
      statusCode: 403,
      body: { errorCode: 'insufficient_scope' },
    })
  })
})

describe('custom-database connections', () => {
  it('are listed by strategy=auth0, marked in options as Auth0 marks them', async () => {
    const client = await sdkClient()
    await roster.engine.addConnection({ name: 'legacy-db', strategy: 'custom-db', importMode: true })
    await roster.engine.addConnection({ name: 'old-db', strategy: 'custom-db' })
    await roster.engine.addConnection({ name: 'google', strategy: 'google-oauth2' })
    const listed = []
    for await (const connection of await client.connections.list({ strategy: ['auth0'] }))
      listed.push(connection)
    expect(listed.map((c) => [c.name, c.strategy, c.options])).toEqual([
      ['Username-Password-Authentication', 'auth0', { enabledDatabaseCustomization: false }],
      ['legacy-db', 'auth0', { enabledDatabaseCustomization: true, import_mode: true }],
      ['old-db', 'auth0', { enabledDatabaseCustomization: true, import_mode: false }],
    ])
  })

  it('still refuse imports without import mode, in Auth0 words', async () => {
    const client = await sdkClient()
    const old = await roster.engine.addConnection({ name: 'old-db', strategy: 'custom-db' })
    await expect(
      client.jobs.usersImports.create({
        users: { data: Buffer.from('[{"email":"a@example.com"}]'), filename: 'users.json' },
        connection_id: old.id,
      }),
    ).rejects.toMatchObject({
      statusCode: 400,
      body: { message: 'Custom Database Connections without import mode are not allowed.' },
    })
  })
})

describe('GET /jobs/{id} with an id that cannot be a job id', () => {
  it('answers 400 invalid_uri naming the value', async () => {
    const client = await sdkClient()
    await expect(client.jobs.get('not-a-job-id')).rejects.toMatchObject({
      statusCode: 400,
      body: {
        statusCode: 400,
        error: 'Bad Request',
        message:
          "Path validation error: 'String does not match pattern ^job_[A-Za-z0-9]{16}$: not-a-job-id' on property id (ID of the job).",
        errorCode: 'invalid_uri',
      },
    })
  })

  it('keeps 404 for a well-formed id of no job', async () => {
    const client = await sdkClient()
    await expect(client.jobs.get('job_0123456789abcdef')).rejects.toMatchObject({
      statusCode: 404,
      body: { message: 'Job not found.' },
    })
  })
})
