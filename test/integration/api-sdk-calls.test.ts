import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { ManagementClient } from 'auth0'
import bcrypt from 'bcryptjs'
import { afterEach, describe, expect, it } from 'vitest'
import { executeCommand } from '../../src/adapters/cli/commands.ts'
import { loadConfig } from '../../src/config.ts'
import type { ApiScope } from '../../src/domain/api/api-token.ts'
import { silentLogger } from '../../src/logger.ts'
import { openRoster, type Roster } from '../../src/roster.ts'
import { type RunningServer, startServer } from '../../src/server.ts'
import { defaultConnection, RosterProcesses } from '../support/roster-process.ts'
import { tempDir } from '../support/temp-dir.ts'

/**
 * The calls an Auth0 client makes beside the bulk jobs (issue 12, "Every Auth0 client call"), each through the
 * official `auth0` SDK v5 pointed at Roster: connections by id, custom databases as Auth0 shows them, failed
 * imports, PATCH /users, field projection, user search and job-id validation.
 */

let roster: Roster
let storeDir: string
let server: RunningServer | undefined

const processes = new RosterProcesses()

afterEach(async () => {
  await server?.close()
  server = undefined
  await processes.killAll()
})

const allScopes: ApiScope[] = ['create:users', 'read:users', 'update:users', 'read:connections']

async function sdkClient(scopes: ApiScope[] = allScopes): Promise<ManagementClient> {
  storeDir = await tempDir()
  const config = loadConfig({ STORE_DIR: storeDir, PORT: '0', TENANT_NAME: 'acme' })
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

/** Polls as a migration script does, bounded. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const value = await read()
    if (done(value) || Date.now() > deadline) return value
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('an unparsable users file on the API', () => {
  const badJson = '[\n  {"email": "a@example.com"},\n]'

  it('is accepted (202 pending) and the job fails with the parse error, line and column', async () => {
    const client = await sdkClient()
    const created = await client.jobs.usersImports.create({
      users: { data: Buffer.from(badJson), filename: 'users.json', contentType: 'application/json' },
      connection_id: mainConnection(),
      send_completion_email: false,
    })
    expect(created).toMatchObject({
      type: 'users_import',
      status: 'pending',
      connection_id: mainConnection(),
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
    expect(roster.engine.countUsers()).toBe(0)
  })

  it('fails the job too when the JSON is not an array of users', async () => {
    const client = await sdkClient()
    const created = await client.jobs.usersImports.create({
      users: { data: Buffer.from('"users"'), filename: 'users.json' },
      connection_id: mainConnection(),
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
    const file = join(cliStore, '..', `bad-${Date.now()}.json`)
    await writeFile(file, badJson)
    const result = await processes.runCli(cliStore, ['import', file, '--connection', defaultConnection])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/is not valid JSON at line 3, column 1/)
    expect(result.stderr).not.toMatch(/\n\s+at /)
    const jobs = await processes.cliJson<unknown[]>(cliStore, ['jobs'])
    expect(jobs).toEqual([])
  })
})

async function search(client: ManagementClient, q: string): Promise<string[]> {
  const page = await client.users.list({ q, search_engine: 'v3', per_page: 50 })
  return page.data.map((user) => user.user_id as string)
}

describe('PATCH /users/{id}', () => {
  async function ada(client: ManagementClient): Promise<string> {
    await seedUsers([
      {
        email: 'ada@example.com',
        email_verified: false,
        given_name: 'Ada',
        nickname: 'ada',
        user_metadata: { plan: 'free', theme: 'dark' },
        custom_password_hash: {
          algorithm: 'md5',
          hash: { value: '5f4dcc3b5aa765d61d8327deb882cf99', encoding: 'hex' },
        },
      },
      { email: 'grace@example.com', username: 'grace' },
    ])
    const [user] = await client.users.listUsersByEmail({ email: 'ada@example.com' })
    return user?.user_id as string
  }

  it('changes what Auth0 lets a client change on a database user, null unsetting', async () => {
    const client = await sdkClient()
    const id = await ada(client)
    const updated = await client.users.update(id, {
      email_verified: true,
      given_name: 'Augusta',
      family_name: 'King',
      name: 'Augusta Ada King',
      nickname: null,
      picture: 'https://example.com/ada.png',
      phone_number: '+441234567890',
      phone_verified: true,
      blocked: true,
      user_metadata: { plan: 'gold', theme: null },
      app_metadata: { tier: 2 },
      connection: 'Username-Password-Authentication',
    })
    // Auth0 refuses username and email_verified in one request: the username changes on its own.
    expect(updated).toMatchObject({ given_name: 'Augusta' })
    const renamed = await client.users.update(id, { username: 'Countess' })
    const expected = {
      user_id: id,
      email_verified: true,
      given_name: 'Augusta',
      family_name: 'King',
      name: 'Augusta Ada King',
      picture: 'https://example.com/ada.png',
      phone_number: '+441234567890',
      phone_verified: true,
      username: 'countess',
      blocked: true,
      user_metadata: { plan: 'gold' },
      app_metadata: { tier: 2 },
    }
    expect(renamed).toMatchObject(expected)
    expect(renamed).not.toHaveProperty('nickname')
    expect(await client.users.get(id)).toMatchObject(expected)
    // The username index follows: the new name finds the user, a name given up is free again.
    const { users } = roster.engine.ctx
    expect(users.findByUsername(mainConnection(), 'countess')?.user_id).toBe(id)
    await client.users.update(id, { username: 'augusta' })
    expect(users.findByUsername(mainConnection(), 'countess')).toBeUndefined()
    expect(await search(client, 'username:augusta')).toEqual([id])
  })

  it('stores a new password as a bcrypt hash, never in clear, replacing the imported custom hash', async () => {
    const client = await sdkClient()
    const id = await ada(client)
    const password = 'correct horse battery staple 42'
    const updated = await client.users.update(id, {
      password,
      connection: 'Username-Password-Authentication',
    })
    expect(updated).not.toHaveProperty('password')
    expect(updated).not.toHaveProperty('password_hash')
    const stored = roster.engine.ctx.users.getById(id)
    expect(stored?.password_hash).toMatch(/^\$2[ab]\$10\$[./A-Za-z0-9]{53}$/)
    expect(await bcrypt.compare(password, stored?.password_hash as string)).toBe(true)
    expect(stored).not.toHaveProperty('custom_password_hash')
    // Every commit is durable once the answer is sent: what is on disk now is all the store holds.
    expect(await grepStore(storeDir, password)).toEqual([])
  })

  it("refuses bad values with Auth0's 400 bodies", async () => {
    const client = await sdkClient()
    const id = await ada(client)
    const refusal = (message: string | RegExp) => ({
      statusCode: 400,
      body: {
        statusCode: 400,
        error: 'Bad Request',
        message: typeof message === 'string' ? message : expect.stringMatching(message),
        errorCode: 'invalid_body',
      },
    })
    const cases: [Record<string, unknown>, string | RegExp][] = [
      [
        { given_name: 'x'.repeat(151) },
        "Payload validation error: 'String is too long (151 chars), maximum 150' on property given_name (Given name/first name/forename of this user).",
      ],
      [
        { name: '' },
        "Payload validation error: 'String is too short (0 chars), minimum 1' on property name (Name of this user).",
      ],
      [
        { phone_number: '12345' },
        "Payload validation error: 'String does not match pattern ^\\+[0-9]{1,15}$' on property phone_number (The user's phone number (following the E.164 recommendation)).",
      ],
      [
        { picture: 'not a url' },
        "Payload validation error: 'Object didn't pass validation for format strict-uri: not a url' on property picture (URL to picture, photo, or avatar of this user).",
      ],
      [{ username: 'countess', password: 'secret-1' }, 'Cannot update username and password simultaneously.'],
      [
        { password: 'secret-1', email_verified: true },
        'Cannot update password and email_verified simultaneously.',
      ],
      [
        { logins_count: 3 },
        /^Payload validation error: 'Additional properties not allowed: logins_count \(consider/,
      ],
      [
        { username: 'a-very-long-username' },
        /'String is too long \(20 chars\), maximum 15' on property username/,
      ],
      [
        { blocked: true, connection: 'partners' },
        /is in the connection Username-Password-Authentication, not partners/,
      ],
    ]
    for (const [body, message] of cases) {
      await expect(client.users.update(id, body), JSON.stringify(body)).rejects.toMatchObject(
        refusal(message),
      )
    }
    expect(roster.engine.ctx.users.getById(id)?.given_name).toBe('Ada')
  })

  it('answers 409 when the new username belongs to another user of the connection', async () => {
    const client = await sdkClient()
    const id = await ada(client)
    await expect(client.users.update(id, { username: 'Grace' })).rejects.toMatchObject({
      statusCode: 409,
      body: { statusCode: 409, error: 'Conflict', message: 'The specified new username already exists' },
    })
  })

  it('needs update:users', async () => {
    const client = await sdkClient(['read:users'])
    const id = await ada(client)
    await expect(client.users.update(id, { blocked: true })).rejects.toMatchObject({ statusCode: 403 })
  })
})

describe('GET /users/{id} with fields', () => {
  it('returns only the fields named, or all but them with include_fields=false', async () => {
    const client = await sdkClient()
    await seedUsers([{ email: 'ada@example.com', given_name: 'Ada', user_metadata: { plan: 'gold' } }])
    const id = roster.engine.findUsers('ada@example.com')[0]?.user_id as string
    expect(await client.users.get(id, { fields: 'email,given_name' })).toEqual({
      email: 'ada@example.com',
      given_name: 'Ada',
    })
    const without = await client.users.get(id, { fields: 'user_metadata,identities', include_fields: false })
    expect(without).toMatchObject({ email: 'ada@example.com', given_name: 'Ada', user_id: id })
    expect(without).not.toHaveProperty('user_metadata')
    expect(without).not.toHaveProperty('identities')
  })
})

/** Files under `dir` whose bytes contain `text`. */
async function grepStore(dir: string, text: string): Promise<string[]> {
  const found: string[] = []
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const path = join(entry.parentPath, entry.name)
    const bytes = await readFile(path)
    const plain = path.endsWith('.gz') ? gunzipSync(bytes) : bytes
    if (plain.includes(text)) found.push(path)
  }
  return found
}

describe('GET /users?q= with Auth0 search v3 syntax', () => {
  async function seedPeople(): Promise<void> {
    await seedUsers([
      {
        email: 'ada@example.com',
        name: 'Ada Lovelace',
        user_metadata: { plan: 'gold' },
        app_metadata: { seats: 5 },
      },
      { email: 'grace@navy.mil', name: 'Grace Hopper', blocked: true, user_metadata: { plan: 'silver' } },
      {
        email: 'edsger@example.com',
        name: 'Edsger Dijkstra',
        email_verified: false,
        app_metadata: { seats: 12 },
      },
    ])
  }

  async function emails(client: ManagementClient, q: string): Promise<string[]> {
    const page = await client.users.list({ q, search_engine: 'v3', per_page: 50 })
    return page.data.map((user) => user.email as string).sort()
  }

  it('answers fields, phrases, wildcards, operators, ranges, _exists_ and metadata paths', async () => {
    const client = await sdkClient()
    await seedPeople()
    expect(await emails(client, 'user_metadata.plan:"gold"')).toEqual(['ada@example.com'])
    expect(await emails(client, 'name:"grace hopper"')).toEqual(['grace@navy.mil'])
    expect(await emails(client, 'email:*@example.com AND NOT name:ada')).toEqual(['edsger@example.com'])
    expect(await emails(client, 'name:(ada OR grace)')).toEqual(['ada@example.com', 'grace@navy.mil'])
    expect(await emails(client, 'app_metadata.seats:[6 TO *]')).toEqual(['edsger@example.com'])
    expect(await emails(client, 'created_at:[2024-01-01 TO *]')).toHaveLength(3)
    expect(await emails(client, 'logins_count:[1 TO 5]')).toEqual([])
    expect(await emails(client, '_exists_:user_metadata.plan AND blocked:true')).toEqual(['grace@navy.mil'])
    expect(await emails(client, 'email:"ADA@example.com" AND user_metadata.plan:"gold"')).toEqual([
      'ada@example.com',
    ])
  })

  it("answers Auth0's 400 for what it refuses", async () => {
    const client = await sdkClient()
    for (const [q, message] of [
      ['name:*ab', /a value that starts with \* needs at least 3 other characters/],
      ['user_metadata.plan:go*', /wildcards are not available on user_metadata fields/],
      ['user_metadata.plan:[a TO z]', /ranges are not available on user_metadata fields/],
      ['user_email:"a@example.com"', /unknown field "user_email"/],
    ] as const) {
      await expect(client.users.list({ q, search_engine: 'v3' }), q).rejects.toMatchObject({
        statusCode: 400,
        body: {
          statusCode: 400,
          error: 'Bad Request',
          message: expect.stringMatching(message),
          errorCode: 'invalid_query_string',
        },
      })
    }
    await expect(client.users.list({ q: 'name:ada', search_engine: 'v2' })).rejects.toMatchObject({
      body: { message: 'You are not allowed to use search_engine=v2. Use search_engine=v3 instead.' },
    })
  })
})
