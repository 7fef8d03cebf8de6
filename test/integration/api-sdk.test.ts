import { gunzipSync } from 'node:zlib'
import { ManagementClient } from 'auth0'
import { afterEach, describe, expect, it } from 'vitest'
import { executeCommand } from '../../src/adapters/cli/commands.ts'
import { loadConfig } from '../../src/config.ts'
import { silentLogger } from '../../src/logger.ts'
import { openRoster, type Roster } from '../../src/roster.ts'
import { type RunningServer, startServer } from '../../src/server.ts'
import { tempDir } from '../support/temp-dir.ts'

/**
 * The official `auth0` SDK (v5) against Roster, changed in nothing but its base URL: the proof that a migration
 * script written for Auth0 runs against Roster as it is.
 */

let roster: Roster
let server: RunningServer | undefined

afterEach(async () => {
  await server?.close()
  server = undefined
})

async function sdkClient(): Promise<ManagementClient> {
  const config = loadConfig({ STORE_DIR: await tempDir(), PORT: '0', TENANT_NAME: 'acme' })
  roster = await openRoster(config, { logger: silentLogger })
  server = await startServer(roster, config, silentLogger)
  const { token } = (await executeCommand(roster.engine, {
    name: 'tokens-create',
    tokenName: 'sdk',
    scopes: ['create:users', 'read:users', 'read:connections'],
  })) as { token: string }
  const client = new ManagementClient({ domain: 'acme.auth0.example', token, telemetry: false })
  // The wrapper always builds https://<domain>/api/v2; the one thing changed is where it sends requests. Its
  // sub-clients are made on first use from these options, so nothing has read the URL yet.
  ;(client as unknown as { _options: { baseUrl: string } })._options.baseUrl =
    `http://127.0.0.1:${server.port}/api/v2`
  return client
}

/** Polls as a migration script does, bounded. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const value = await read()
    if (done(value) || Date.now() > deadline) return value
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe('the official auth0 SDK against Roster', () => {
  it('lists connections, imports, polls, reads errors, exports and downloads', async () => {
    const client = await sdkClient()

    const connections = []
    for await (const connection of await client.connections.list({ strategy: ['auth0'] }))
      connections.push(connection)
    expect(connections.map((c) => c.name)).toEqual(['Username-Password-Authentication'])
    const connectionId = connections[0]?.id as string

    const users = [
      { email: 'ada@example.com', email_verified: true, given_name: 'Ada' },
      { email: 'grace@example.com', email_verified: true },
      { email: 'not-an-email', email_verified: true },
    ]
    const created = await client.jobs.usersImports.create({
      users: {
        data: Buffer.from(JSON.stringify(users)),
        filename: 'users.json',
        contentType: 'application/json',
      },
      connection_id: connectionId,
      upsert: false,
      send_completion_email: false,
    })
    expect(created).toMatchObject({ type: 'users_import', status: 'pending', connection_id: connectionId })

    const finished = await until(
      () => client.jobs.get(created.id),
      (job) => job.status === 'completed' || job.status === 'failed',
    )
    expect(finished).toMatchObject({
      status: 'completed',
      summary: { inserted: 2, updated: 0, failed: 1, total: 3 },
    })

    const errors = await client.jobs.errors.get(created.id)
    expect(errors).toEqual([
      expect.objectContaining({
        user: { email: 'not-an-email', email_verified: true },
        errors: [expect.objectContaining({ code: 'INVALID_FORMAT', path: 'email' })],
      }),
    ])

    const page = await client.users.list({ q: 'email:"ada@example.com"', search_engine: 'v3' })
    expect(page.data.map((u) => u.given_name)).toEqual(['Ada'])

    const exportJob = await client.jobs.usersExports.create({
      connection_id: connectionId,
      format: 'json',
      fields: [{ name: 'email' }, { name: 'given_name', export_as: 'first' }],
    })
    expect(exportJob).toMatchObject({ type: 'users_export', format: 'json' })
    const exported = await until(
      () => client.jobs.get(exportJob.id),
      (job) => job.status === 'completed' || job.status === 'failed',
    )
    expect(exported.status).toBe('completed')
    const location = new URL(String(exported.location))
    const download = await fetch(`http://127.0.0.1:${server?.port}${location.pathname}${location.search}`)
    expect(download.status).toBe(200)
    const lines = gunzipSync(Buffer.from(await download.arrayBuffer()))
      .toString('utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    expect(lines).toEqual([{ email: 'ada@example.com', first: 'Ada' }, { email: 'grace@example.com' }])
  })

  it('surfaces Auth0-shaped refusals as the SDK typed errors', async () => {
    const client = await sdkClient()
    await expect(client.jobs.get('job_AAAAAAAAAAAAAAAA')).rejects.toMatchObject({
      statusCode: 404,
      body: { statusCode: 404, error: 'Not Found', message: 'Job not found.' },
    })
    await expect(
      client.jobs.usersImports.create({
        users: { data: Buffer.from('[]'), filename: 'users.json' },
        connection_id: 'con_AAAAAAAAAAAAAAAA',
      }),
    ).rejects.toMatchObject({ statusCode: 400, body: { message: 'The connection does not exist.' } })
  })
})
