import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { defaultConnection, RosterProcesses } from '../support/roster-process.ts'
import { allScopes, type SdkRoster, startSdkRoster, until } from '../support/sdk-roster.ts'
import { tempDir } from '../support/temp-dir.ts'

/**
 * Auth0 client calls beside the users (issue 12), through the official `auth0` SDK v5 pointed at Roster:
 * connections by id, custom databases as Auth0 shows them, job ids that cannot be one, unparsable uploads.
 */

let running: SdkRoster | undefined
const processes = new RosterProcesses()

async function start(scopes = allScopes): Promise<SdkRoster> {
  running = await startSdkRoster(scopes)
  return running
}

afterEach(async () => {
  await running?.close()
  running = undefined
  await processes.killAll()
})

describe('GET /connections/{id}', () => {
  it('answers the connection as Auth0 shapes it', async () => {
    const sdk = await start()
    const { client } = sdk
    const connection = await client.connections.get(sdk.mainConnection)
    expect(connection).toEqual({
      id: sdk.mainConnection,
      name: 'Username-Password-Authentication',
      strategy: 'auth0',
      options: { enabledDatabaseCustomization: false },
      realms: ['Username-Password-Authentication'],
      is_domain_connection: false,
      enabled: true,
    })
  })

  it('honours fields and include_fields', async () => {
    const sdk = await start()
    const { client } = sdk
    expect(await client.connections.get(sdk.mainConnection, { fields: 'name,strategy' })).toEqual({
      name: 'Username-Password-Authentication',
      strategy: 'auth0',
    })
    const without = await client.connections.get(sdk.mainConnection, {
      fields: 'options',
      include_fields: false,
    })
    expect(without).not.toHaveProperty('options')
    expect(without).toHaveProperty('name')
  })

  it('answers 404 inexistent_connection for an unknown id', async () => {
    const sdk = await start()
    const { client } = sdk
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
    const sdk = await start(['read:users'])
    const { client } = sdk
    await expect(client.connections.get(sdk.mainConnection)).rejects.toMatchObject({
      statusCode: 403,
      body: { errorCode: 'insufficient_scope' },
    })
  })
})

describe('custom-database connections', () => {
  it('are listed by strategy=auth0, marked in options as Auth0 marks them', async () => {
    const sdk = await start()
    const { client } = sdk
    await sdk.roster.engine.addConnection({ name: 'legacy-db', strategy: 'custom-db', importMode: true })
    await sdk.roster.engine.addConnection({ name: 'old-db', strategy: 'custom-db' })
    await sdk.roster.engine.addConnection({ name: 'google', strategy: 'google-oauth2' })
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
    const sdk = await start()
    const { client } = sdk
    const old = await sdk.roster.engine.addConnection({ name: 'old-db', strategy: 'custom-db' })
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
    const sdk = await start()
    const { client } = sdk
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
    const sdk = await start()
    const { client } = sdk
    await expect(client.jobs.get('job_0123456789abcdef')).rejects.toMatchObject({
      statusCode: 404,
      body: { message: 'Job not found.' },
    })
  })
})

describe('an unparsable users file on the API', () => {
  const badJson = '[\n  {"email": "a@example.com"},\n]'

  it('is accepted (202 pending) and the job fails with the parse error, line and column', async () => {
    const sdk = await start()
    const { client } = sdk
    const created = await client.jobs.usersImports.create({
      users: { data: Buffer.from(badJson), filename: 'users.json', contentType: 'application/json' },
      connection_id: sdk.mainConnection,
      send_completion_email: false,
    })
    expect(created).toMatchObject({
      type: 'users_import',
      status: 'pending',
      connection_id: sdk.mainConnection,
    })
    const job = await until(
      () => client.jobs.get(created.id),
      (j) => j.status === 'failed' || j.status === 'completed',
    )
    expect(job).toMatchObject({
      status: 'failed',
      status_details: expect.stringMatching(/^users\.json is not valid JSON at line 3, column 1/),
    })
    // As Auth0 shows a job that failed as a whole: no summary, since no user was read.
    expect(job).not.toHaveProperty('summary')
    expect(await client.jobs.errors.get(created.id)).toMatchObject({
      id: created.id,
      status: 'failed',
      status_details: job.status_details,
    })
    expect(await sdk.roster.engine.countUsers()).toBe(0)
  })

  it('fails the job too when the JSON is not an array of users', async () => {
    const sdk = await start()
    const { client } = sdk
    const created = await client.jobs.usersImports.create({
      users: { data: Buffer.from('"users"'), filename: 'users.json' },
      connection_id: sdk.mainConnection,
      send_completion_email: false,
    })
    const job = await until(
      () => client.jobs.get(created.id),
      (j) => j.status === 'failed' || j.status === 'completed',
    )
    expect(job).toMatchObject({
      status: 'failed',
      status_details: expect.stringContaining('users.json must hold'),
    })
  })

  it('is still refused at once by the CLI, with line and column, and no job is made', async () => {
    const cliStore = await tempDir()
    // Outside the store's folder, in one of its own that is removed after the test.
    const file = join(await tempDir(), 'bad.json')
    await writeFile(file, badJson)
    const result = await processes.runCli(cliStore, ['import', file, '--connection', defaultConnection])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/is not valid JSON at line 3, column 1/)
    expect(result.stderr).not.toMatch(/\n\s+at /)
    const jobs = await processes.cliJson<unknown[]>(cliStore, ['jobs'])
    expect(jobs).toEqual([])
  })
})
