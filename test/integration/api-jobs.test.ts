import { afterEach, describe, expect, it } from 'vitest'
import { executeCommand } from '../../src/adapters/cli/commands.ts'
import { loadConfig } from '../../src/config.ts'
import type { ApiScope } from '../../src/domain/api/api-token.ts'
import { silentLogger } from '../../src/logger.ts'
import { openRoster, type Roster } from '../../src/roster.ts'
import { type RunningServer, startServer } from '../../src/server.ts'
import { FixedClock } from '../support/clock-and-ids.ts'
import { tempDir } from '../support/temp-dir.ts'

/** The jobs endpoints over real HTTP on 127.0.0.1:0, against Auth0's shapes, statuses and messages (§2). */

let roster: Roster
let server: RunningServer | undefined
let base: string
let token: string
let connectionId: string

async function start(env: Record<string, string> = {}): Promise<void> {
  const config = loadConfig({ STORE_DIR: await tempDir(), PORT: '0', TENANT_NAME: 'acme', ...env })
  roster = await openRoster(config, { logger: silentLogger, clock: new FixedClock() })
  server = await startServer(roster, config, silentLogger)
  base = `http://127.0.0.1:${server.port}`
  token = await newToken(['create:users', 'read:users'])
  connectionId = roster.engine.listConnections()[0]?.id as string
}

async function newToken(scopes: ApiScope[], name = `t${Math.random().toString(36).slice(2, 8)}`) {
  const created = (await executeCommand(roster.engine, {
    name: 'tokens-create',
    tokenName: name,
    scopes,
  })) as {
    token: string
  }
  return created.token
}

afterEach(async () => {
  await server?.close()
  server = undefined
})

const users = [
  { email: 'ada@example.com', email_verified: true, given_name: 'Ada' },
  { email: 'grace@example.com', email_verified: false },
]

function form(parts: Record<string, string | { content: string | Uint8Array; name?: string }>): FormData {
  const body = new FormData()
  for (const [key, value] of Object.entries(parts)) {
    if (typeof value === 'string') body.append(key, value)
    else body.append(key, new Blob([value.content], { type: 'application/json' }), value.name ?? 'users.json')
  }
  return body
}

function importJob(parts: Parameters<typeof form>[0], auth = token) {
  return fetch(`${base}/api/v2/jobs/users-imports`, {
    method: 'POST',
    headers: { authorization: `Bearer ${auth}` },
    body: form(parts),
  })
}

function get(path: string, auth = token) {
  return fetch(`${base}/api/v2${path}`, { headers: { authorization: `Bearer ${auth}` } })
}

function postJson(path: string, body: unknown, auth = token) {
  return fetch(`${base}/api/v2${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}

const usersFile = (list: unknown[] = users) => ({ content: JSON.stringify(list) })

async function expectError(response: Response, statusCode: number, message: string, errorCode?: string) {
  const error = {
    400: 'Bad Request',
    404: 'Not Found',
    409: 'Conflict',
    413: 'Request Entity Too Large',
    429: 'Too Many Requests',
  }[statusCode]
  expect({ status: response.status, body: await response.json() }).toEqual({
    status: statusCode,
    body: { statusCode, error, message, ...(errorCode ? { errorCode } : {}) },
  })
}

describe('POST /api/v2/jobs/users-imports', () => {
  it('answers 202 with the job in Auth0 shape, and the job runs', async () => {
    await start()
    const response = await importJob({ users: usersFile(), connection_id: connectionId, upsert: 'false' })
    expect(response.status).toBe(202)
    const body = (await response.json()) as Record<string, unknown>
    expect(body).toMatchObject({
      type: 'users_import',
      status: 'pending',
      connection_id: connectionId,
      connection: 'Username-Password-Authentication',
      upsert: false,
      send_completion_email: true,
    })
    expect(body.id).toMatch(/^job_[A-Za-z0-9]{16}$/)
    expect(typeof body.created_at).toBe('string')
    await roster.engine.waitFor(String(body.id))
    const job = await (await get(`/jobs/${body.id}`)).json()
    expect(job).toMatchObject({
      status: 'completed',
      summary: { inserted: 2, updated: 0, failed: 0, total: 2 },
    })
  })

  it('takes the booleans as strings, external_id, and Roster extras dry_run and merge', async () => {
    await start()
    const response = await importJob({
      users: usersFile(),
      connection_id: connectionId,
      upsert: 'true',
      merge: 'true',
      dry_run: 'true',
      send_completion_email: 'false',
      external_id: 'batch-7',
    })
    expect(response.status).toBe(202)
    expect(await response.json()).toMatchObject({
      upsert: true,
      merge: true,
      dry_run: true,
      send_completion_email: false,
      external_id: 'batch-7',
    })
  })

  it('refuses a request without the users part', async () => {
    await start()
    await expectError(
      await importJob({ connection_id: connectionId }),
      400,
      "Must provide 'users' file as multipart part.",
      'invalid_body',
    )
  })

  it('refuses a file sent under another field name as a missing users part', async () => {
    await start()
    await expectError(
      await importJob({ file: usersFile(), connection_id: connectionId }),
      400,
      "Must provide 'users' file as multipart part.",
      'invalid_body',
    )
  })

  it('refuses users sent as a text field instead of a file', async () => {
    await start()
    await expectError(
      await importJob({ users: JSON.stringify(users), connection_id: connectionId }),
      400,
      "Must provide 'users' file as multipart part.",
      'invalid_body',
    )
  })

  it('refuses a body that is not multipart', async () => {
    await start()
    const response = await postJson('/jobs/users-imports', { users, connection_id: connectionId })
    await expectError(
      response,
      400,
      "Payload validation error: 'Invalid multipart payload format'.",
      'invalid_body',
    )
  })

  it('refuses a multipart body cut short', async () => {
    await start()
    const boundary = 'XyZ'
    const body = `--${boundary}\r\nContent-Disposition: form-data; name="connection_id"\r\n\r\n${connectionId}\r\n--${boundary}\r\nContent-Disposition: form-data; name="users"; filename="u.json"\r\n\r\n[{"email":"a@`
    const response = await fetch(`${base}/api/v2/jobs/users-imports`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': `multipart/form-data; boundary=${boundary}`,
      },
      body,
    })
    await expectError(
      response,
      400,
      "Payload validation error: 'Invalid multipart payload format'.",
      'invalid_body',
    )
  })

  it('refuses an empty users file', async () => {
    await start()
    await expectError(
      await importJob({ users: { content: '' }, connection_id: connectionId }),
      400,
      'Users file must not be empty.',
      'invalid_body',
    )
  })

  it('refuses a request without connection_id, or with the field misnamed', async () => {
    await start()
    for (const parts of [{ users: usersFile() }, { users: usersFile(), connection: connectionId }]) {
      await expectError(
        await importJob(parts),
        400,
        "Must provide 'connection_id' as multipart part.",
        'invalid_body',
      )
    }
  })

  it('refuses a connection_id that is not a connection id', async () => {
    await start()
    await expectError(
      await importJob({ users: usersFile(), connection_id: 'Username-Password-Authentication' }),
      400,
      "Payload validation error: 'String does not match pattern ^con_[A-Za-z0-9]{16}$' on property connection_id.",
      'invalid_body',
    )
  })

  it('refuses a boolean that is not "true" or "false"', async () => {
    await start()
    await expectError(
      await importJob({ users: usersFile(), connection_id: connectionId, upsert: 'yes' }),
      400,
      "Payload validation error: 'Expected type boolean but found type string' on property upsert.",
      'invalid_body',
    )
  })

  it('refuses an unknown connection with Auth0 message', async () => {
    await start()
    await expectError(
      await importJob({ users: usersFile(), connection_id: 'con_AAAAAAAAAAAAAAAA' }),
      400,
      'The connection does not exist.',
      'inexistent_connection',
    )
  })

  it('refuses connections that cannot take imports, with Auth0 messages and errorCodes', async () => {
    await start()
    const add = (name: string, strategy: string, enabled = true) =>
      roster.engine.addConnection({ name, strategy, enabled })
    const social = await add('google', 'google-oauth2')
    const custom = await add('legacy-db', 'custom-db')
    const disabled = await add('off', 'auth0', false)
    const cases = [
      [social.id, 'Connection must be a database connection.', 'operation_not_supported'],
      [
        custom.id,
        'Custom Database Connections without import mode are not allowed.',
        'operation_not_supported',
      ],
      [disabled.id, 'Connection must be enabled.', 'connection_is_disabled'],
    ] as const
    for (const [id, message, errorCode] of cases) {
      await expectError(await importJob({ users: usersFile(), connection_id: id }), 400, message, errorCode)
    }
  })

  it('refuses a file of 512,001 bytes with 413', async () => {
    await start()
    const content = new Uint8Array(512_001).fill(0x20)
    await expectError(
      await importJob({ users: { content }, connection_id: connectionId }),
      413,
      'Payload content length greater than maximum allowed: 512000.',
    )
  })

  it('accepts a file of exactly 512,000 bytes', async () => {
    await start()
    const json = JSON.stringify(users)
    const content = json + ' '.repeat(512_000 - Buffer.byteLength(json))
    expect(Buffer.byteLength(content)).toBe(512_000)
    const response = await importJob({ users: { content }, connection_id: connectionId })
    expect(response.status).toBe(202)
  })

  it('uses the configured size limit in the 413', async () => {
    await start({ IMPORT_MAX_BYTES: '1000' })
    await expectError(
      await importJob({ users: { content: 'x'.repeat(1001) }, connection_id: connectionId }),
      413,
      'Payload content length greater than maximum allowed: 1000.',
    )
  })

  it('answers 429 once MAX_ACTIVE_IMPORTS writing imports are pending, with the configured number', async () => {
    await start({ MAX_ACTIVE_IMPORTS: '2' })
    await roster.engine.stop() // jobs stay pending: the slots stay taken
    for (let i = 0; i < 2; i++) {
      expect((await importJob({ users: usersFile(), connection_id: connectionId })).status).toBe(202)
    }
    await expectError(
      await importJob({ users: usersFile(), connection_id: connectionId }),
      429,
      'There are 2 active import users jobs, please wait until some of them are finished and try again',
    )
  })

  it('lets only as many of simultaneous requests through as there are free slots', async () => {
    await start({ MAX_ACTIVE_IMPORTS: '2' })
    await roster.engine.stop()
    const responses = await Promise.all(
      [1, 2, 3].map(() => importJob({ users: usersFile(), connection_id: connectionId })),
    )
    expect(responses.map((r) => r.status).sort()).toEqual([202, 202, 429])
  })

  it('refuses a declared body far over the limit with 413 before reading it', async () => {
    await start()
    const content = new Uint8Array(3 * 1024 * 1024).fill(0x20)
    await expectError(
      await importJob({ users: { content }, connection_id: connectionId }),
      413,
      'Payload content length greater than maximum allowed: 512000.',
    )
  })

  it('does not count or refuse dry runs against the import limit', async () => {
    await start({ MAX_ACTIVE_IMPORTS: '1' })
    await roster.engine.stop()
    expect(
      (await importJob({ users: usersFile(), connection_id: connectionId, dry_run: 'true' })).status,
    ).toBe(202)
    expect((await importJob({ users: usersFile(), connection_id: connectionId })).status).toBe(202)
    expect(
      (await importJob({ users: usersFile(), connection_id: connectionId, dry_run: 'true' })).status,
    ).toBe(202)
    await expectError(
      await importJob({ users: usersFile(), connection_id: connectionId }),
      429,
      'There are 1 active import users jobs, please wait until some of them are finished and try again',
    )
  })

  it('accepts a file that is not JSON, as Auth0 does, and the job fails with the parse error', async () => {
    await start()
    const response = await importJob({ users: { content: '{"email": ' }, connection_id: connectionId })
    expect(response.status).toBe(202)
    const { id } = (await response.json()) as { id: string }
    const failed = await roster.engine.waitFor(id)
    expect(failed).toMatchObject({ status: 'failed', statusDetails: expect.stringContaining('users.json') })
    expect(failed).not.toHaveProperty('summary')
  })
})

describe('GET /api/v2/jobs/{id} and /errors', () => {
  it('answers 404 "Job not found." for an unknown job', async () => {
    await start()
    await expectError(await get('/jobs/job_AAAAAAAAAAAAAAAA'), 404, 'Job not found.')
  })

  it('answers 400 invalid_uri naming the value for a malformed job id', async () => {
    await start()
    await expectError(
      await get('/jobs/nope'),
      400,
      "Path validation error: 'String does not match pattern ^job_[A-Za-z0-9]{16}$: nope' on property id (ID of the job).",
      'invalid_uri',
    )
  })

  it('gives the error report as an array of {user, errors}', async () => {
    await start()
    const created = (await (
      await importJob({
        users: usersFile([...users, { email: 'not-an-email' }]),
        connection_id: connectionId,
      })
    ).json()) as { id: string }
    await roster.engine.waitFor(created.id)
    const response = await get(`/jobs/${created.id}/errors`)
    expect(response.status).toBe(200)
    const report = (await response.json()) as { user: unknown; errors: { code: string }[] }[]
    expect(report).toHaveLength(1)
    expect(report[0]).toMatchObject({ user: { email: 'not-an-email' }, errors: [{ code: 'INVALID_FORMAT' }] })
  })

  it('answers 204 when a job has no errors', async () => {
    await start()
    const created = (await (await importJob({ users: usersFile(), connection_id: connectionId })).json()) as {
      id: string
    }
    await roster.engine.waitFor(created.id)
    const response = await get(`/jobs/${created.id}/errors`)
    expect(response.status).toBe(204)
    expect(await response.text()).toBe('')
  })

  it('answers 404 "The job does not exist" for the errors of an unknown job', async () => {
    await start()
    await expectError(await get('/jobs/job_AAAAAAAAAAAAAAAA/errors'), 404, 'The job does not exist')
  })
})

describe('POST /api/v2/jobs/users-exports', () => {
  it('answers 200 with the job echoing format, limit and fields', async () => {
    await start()
    const fields = [{ name: 'email' }, { name: 'user_metadata.plan', export_as: 'Plan' }]
    const response = await postJson('/jobs/users-exports', {
      connection_id: connectionId,
      format: 'csv',
      limit: 5,
      fields,
    })
    expect(response.status).toBe(200)
    const body = await response.json()
    expect(body).toMatchObject({
      type: 'users_export',
      status: 'pending',
      connection_id: connectionId,
      format: 'csv',
      limit: 5,
      fields,
      connection: 'Username-Password-Authentication',
    })
    expect(body).not.toHaveProperty('gzip')
  })

  it('takes a form-encoded body, as Auth0 does', async () => {
    await start()
    const response = await fetch(`${base}/api/v2/jobs/users-exports`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        connection_id: connectionId,
        format: 'json',
        limit: '3',
        'fields[0][name]': 'email',
      }),
    })
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ format: 'json', limit: 3, fields: [{ name: 'email' }] })
  })

  it('exports every connection when connection_id is left out', async () => {
    await start()
    const response = await postJson('/jobs/users-exports', { format: 'json' })
    expect(response.status).toBe(200)
    expect(await response.json()).not.toHaveProperty('connection_id')
  })

  it('refuses bad bodies with Auth0 payload validation messages', async () => {
    await start()
    const cases: [unknown, string][] = [
      [{ format: 'xml' }, `Payload validation error: 'No enum match for: "xml"' on property format.`],
      [{ limit: 0 }, "Payload validation error: 'Value 0 is less than minimum 1' on property limit."],
      [
        { limit: '5' },
        "Payload validation error: 'Expected type integer but found type string' on property limit.",
      ],
      [{ colour: 'red' }, "Payload validation error: 'Additional properties not allowed: colour'."],
      [
        { connection_id: 'abc' },
        "Payload validation error: 'String does not match pattern ^con_[A-Za-z0-9]{16}$' on property connection_id.",
      ],
      [
        { fields: [{ nam: 'email' }] },
        "Payload validation error: 'Missing required property: name' on property fields.0.name.",
      ],
    ]
    for (const [body, message] of cases) {
      await expectError(await postJson('/jobs/users-exports', body), 400, message, 'invalid_body')
    }
  })

  it('refuses an unknown connection', async () => {
    await start()
    await expectError(
      await postJson('/jobs/users-exports', { connection_id: 'con_AAAAAAAAAAAAAAAA' }),
      400,
      'The connection does not exist.',
      'inexistent_connection',
    )
  })

  it('refuses a body that is not JSON with Auth0 message', async () => {
    await start()
    const response = await fetch(`${base}/api/v2/jobs/users-exports`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{"format": ',
    })
    await expectError(response, 400, 'Invalid request payload JSON format', 'invalid_body')
  })

  it('refuses a multipart body with 400 instead of reading it as empty (which would export every connection)', async () => {
    await start()
    const body = new FormData()
    body.append('connection_id', connectionId)
    body.append('format', 'csv')
    const response = await fetch(`${base}/api/v2/jobs/users-exports`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body,
    })
    await expectError(
      response,
      400,
      "Payload validation error: 'Unsupported content type multipart/form-data: send the export request as application/json (or application/x-www-form-urlencoded)'.",
      'invalid_body',
    )
    expect(roster.engine.listJobs().filter((job) => job.type === 'users_export')).toEqual([])
  })

  it('refuses a JSON body over the size limit with 413', async () => {
    await start()
    const response = await postJson('/jobs/users-exports', { format: 'json', pad: 'x'.repeat(70_000) })
    await expectError(response, 413, 'Payload content length greater than maximum allowed: 65536.')
  })
})

describe('POST /api/v2/jobs/{id}/undo (Roster extra)', () => {
  it('starts an undo job and refuses a second one with 409', async () => {
    await start()
    const created = (await (await importJob({ users: usersFile(), connection_id: connectionId })).json()) as {
      id: string
    }
    await roster.engine.waitFor(created.id)
    const undo = await postJson(`/jobs/${created.id}/undo`, {})
    expect(undo.status).toBe(202)
    const body = (await undo.json()) as { id: string }
    expect(body).toMatchObject({ type: 'users_undo', status: 'pending', undo_of: created.id })
    await roster.engine.waitFor(body.id)
    expect(await roster.engine.countUsers()).toBe(0)
    const again = await postJson(`/jobs/${created.id}/undo`, {})
    expect(again.status).toBe(409)
    expect(await again.json()).toMatchObject({ errorCode: 'job_not_undoable' })
  })

  it('answers 404 for an unknown job', async () => {
    await start()
    await expectError(await postJson('/jobs/job_AAAAAAAAAAAAAAAA/undo', {}), 404, 'Job not found.')
  })
})

describe('graceful shutdown', () => {
  it('closes with a job in flight; a restarted Roster finishes it', async () => {
    await start()
    const created = (await (await importJob({ users: usersFile(), connection_id: connectionId })).json()) as {
      id: string
    }
    await server?.close()
    server = undefined
    const config = loadConfig({ STORE_DIR: roster.storeDir, PORT: '0' })
    const reopened = await openRoster(config, { logger: silentLogger })
    try {
      reopened.engine.start()
      expect(await reopened.engine.waitFor(created.id)).toMatchObject({
        status: 'completed',
        summary: { inserted: 2, failed: 0 },
      })
    } finally {
      await reopened.close()
    }
  })
})
