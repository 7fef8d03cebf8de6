import { afterEach, describe, expect, it } from 'vitest'
import { executeCommand, parseCommand } from '../../src/adapters/cli/commands.ts'
import { parseInvocation } from '../../src/adapters/cli/parse-args.ts'
import { loadConfig } from '../../src/config.ts'
import { silentLogger } from '../../src/logger.ts'
import { openRoster, type Roster } from '../../src/roster.ts'
import { type RunningServer, startServer } from '../../src/server.ts'
import { FixedClock } from '../support/clock-and-ids.ts'
import { tempDir } from '../support/temp-dir.ts'

/** Connections and users endpoints over real HTTP: Auth0's shapes and both of its pagination forms. */

let roster: Roster
let server: RunningServer | undefined
let base: string
let token: string
let clock: FixedClock

const main = 'Username-Password-Authentication'

async function start(): Promise<void> {
  const config = loadConfig({ STORE_DIR: await tempDir(), PORT: '0', TENANT_NAME: 'acme' })
  clock = new FixedClock()
  roster = await openRoster(config, { logger: silentLogger, clock })
  server = await startServer(roster, config, silentLogger)
  base = `http://127.0.0.1:${server.port}`
  const created = (await executeCommand(roster.engine, {
    name: 'tokens-create',
    tokenName: 'script',
    scopes: ['read:users', 'update:users', 'read:connections'],
  })) as { token: string }
  token = created.token
}

afterEach(async () => {
  await server?.close()
  server = undefined
})

async function importUsers(connection: string, users: unknown[]): Promise<void> {
  const job = await roster.engine.requestImport({
    connection,
    fileName: 'users.json',
    bytes: Buffer.from(JSON.stringify(users)),
    options: { upsert: false, merge: false, dryRun: false, sendCompletionEmail: false },
    requestedBy: { via: 'cli', id: 'test' },
  })
  expect(await roster.engine.waitFor(job.id)).toMatchObject({ status: 'completed', summary: { failed: 0 } })
}

async function seed(): Promise<void> {
  await roster.engine.addConnection({ name: 'partners', strategy: 'auth0' })
  await importUsers(
    main,
    ['ada', 'grace', 'edsger', 'barbara', 'donald'].map((name) => ({
      email: `${name}@example.com`,
      email_verified: true,
      name,
      app_metadata: { plan: 'free', region: 'eu' },
    })),
  )
  await importUsers('partners', [{ email: 'ada@example.com', email_verified: false, name: 'Ada (partner)' }])
}

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${base}/api/v2${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...init.headers } })
/** Users and connections as the API shows them: the fields these tests read. */
interface Shown {
  user_id: string
  email: string
  name?: string
  app_metadata?: unknown
  identities: { connection: string }[]
}
interface Listed {
  connections: { name: string }[]
  users: Shown[]
  next?: string
  total: number
}
const json = async <T = Shown[]>(path: string) => (await api(path)).json() as Promise<T>
const patch = (id: string, body: unknown) =>
  api(`/users/${encodeURIComponent(id)}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

describe('GET /api/v2/connections', () => {
  it('lists connections with id, name, strategy, options and enabled', async () => {
    await start()
    await roster.engine.addConnection({ name: 'legacy', strategy: 'custom-db', importMode: true })
    const list = (await json('/connections')) as Record<string, unknown>[]
    expect(list).toHaveLength(2)
    expect(list[0]).toEqual({
      id: expect.stringMatching(/^con_[A-Za-z0-9]{16}$/),
      name: main,
      strategy: 'auth0',
      options: { enabledDatabaseCustomization: false },
      realms: [main],
      is_domain_connection: false,
      enabled: true,
    })
    expect(list[1]).toMatchObject({
      name: 'legacy',
      strategy: 'auth0',
      options: { enabledDatabaseCustomization: true, import_mode: true },
    })
  })

  it('pages with page/per_page/include_totals', async () => {
    await start()
    await roster.engine.addConnection({ name: 'b', strategy: 'auth0' })
    await roster.engine.addConnection({ name: 'c', strategy: 'auth0' })
    const page = await json('/connections?page=1&per_page=2&include_totals=true')
    expect(page).toMatchObject({ total: 3, start: 2, limit: 2, connections: [{ name: 'c' }] })
  })

  it('pages with checkpoint from/take, answering {connections, next}', async () => {
    await start()
    await roster.engine.addConnection({ name: 'b', strategy: 'auth0' })
    await roster.engine.addConnection({ name: 'c', strategy: 'auth0' })
    const first = await json<Listed>('/connections?take=2')
    expect(first.connections.map((c: { name: string }) => c.name)).toEqual([main, 'b'])
    expect(typeof first.next).toBe('string')
    const second = await json(`/connections?take=2&from=${first.next}`)
    expect(second).toEqual({ connections: [expect.objectContaining({ name: 'c' })] })
  })

  it('filters by strategy and projects fields', async () => {
    await start()
    await roster.engine.addConnection({ name: 'google', strategy: 'google-oauth2' })
    expect(await json('/connections?strategy=google-oauth2&fields=name,strategy')).toEqual([
      { name: 'google', strategy: 'google-oauth2' },
    ])
  })

  it('refuses a per_page over 100', async () => {
    await start()
    const response = await api('/connections?per_page=101')
    expect(response.status).toBe(400)
    expect(await response.json()).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: "Query validation error: 'Value 101 is greater than maximum 100' on property per_page.",
      errorCode: 'invalid_query_string',
    })
  })
})

describe('GET /api/v2/users', () => {
  it('pages with page/per_page and include_totals as Auth0 does', async () => {
    await start()
    await seed()
    const page = await json<Listed>('/users?page=1&per_page=2&include_totals=true')
    expect(page).toMatchObject({ start: 2, limit: 2, length: 2, total: 6 })
    expect(page.users.map((u: { email: string }) => u.email)).toEqual([
      'edsger@example.com',
      'barbara@example.com',
    ])
    const bare = await json('/users?per_page=2')
    expect(Array.isArray(bare)).toBe(true)
    expect(bare).toHaveLength(2)
  })

  it('shows users in Auth0 shape without secrets or bookkeeping', async () => {
    await start()
    await importUsers(main, [
      {
        email: 'ada@example.com',
        password_hash: '$2b$10$C9hB01.YxRSTcn/ZOOo4j.TW7xCKKFKBSF.C7E0xiUwumqIDqWUXG',
      },
    ])
    const [user] = await json('/users')
    expect(user).toMatchObject({
      email: 'ada@example.com',
      user_id: expect.stringMatching(/^auth0\|/),
      identities: [{ connection: main, provider: 'auth0', isSocial: false }],
    })
    expect(user).not.toHaveProperty('password_hash')
    expect(user).not.toHaveProperty('rev')
    expect(user).not.toHaveProperty('connection_id')
  })

  it('searches with q by email and by connection', async () => {
    await start()
    await seed()
    const byEmail = await json(`/users?q=${encodeURIComponent('email:"ADA@example.com"')}&search_engine=v3`)
    expect(byEmail.map((u) => u.name).sort()).toEqual(['Ada (partner)', 'ada'])
    const both = await json(
      `/users?q=${encodeURIComponent('email:"ada@example.com" AND identities.connection:"partners"')}`,
    )
    expect(both.map((u) => u.name)).toEqual(['Ada (partner)'])
    const prefix = await json<Listed>(`/users?q=${encodeURIComponent('email:d*')}&include_totals=true`)
    expect(prefix.total).toBe(1)
  })

  it('answers pages, exact ids and exact emails the way a full search does', async () => {
    await start()
    await seed()
    // sort=user_id:1 goes through the full search; the same set must come back from the shortcuts.
    const all = await json<Listed>('/users?include_totals=true&per_page=100')
    expect(all.total).toBe(6)
    const pages = [0, 1, 2].map((page) => json<Listed>(`/users?page=${page}&per_page=3&include_totals=true`))
    const [first, second, third] = await Promise.all(pages)
    expect([...(first?.users ?? []), ...(second?.users ?? [])]).toEqual(all.users)
    expect(third).toMatchObject({ start: 6, limit: 3, length: 0, total: 6, users: [] })
    const partners = await json<Listed>('/users?connection=partners&include_totals=true')
    expect(partners).toMatchObject({ total: 1, users: [{ name: 'Ada (partner)' }] })

    const ada = all.users.find((user) => user.name === 'ada') as Shown
    const q = (query: string, more = '') => json(`/users?q=${encodeURIComponent(query)}${more}`)
    expect(await q(`user_id:"${ada.user_id}"`)).toEqual([ada])
    expect(await q(`user_id:"${ada.user_id}"`, '&connection=partners')).toEqual([])
    expect(await q(`user_id:"${ada.user_id}" AND email_verified:false`)).toEqual([])
    expect(await q('email:"GRACE@example.com"')).toEqual(all.users.filter((user) => user.name === 'grace'))
    expect(await q('email:"ada@example.com"', '&connection=partners')).toMatchObject([
      { name: 'Ada (partner)' },
    ])
    expect(await q('email:"nobody@example.com"')).toEqual([])
    // In two connections: store order, as the full search gives it.
    expect((await q('email:"ada@example.com"')).map((user) => user.name)).toEqual(['ada', 'Ada (partner)'])
    expect((await api('/users?connection=nope')).status).toBe(400)
  })

  it('refuses a query it cannot answer instead of matching everyone', async () => {
    await start()
    const response = await api(`/users?q=${encodeURIComponent('user_email:"a@example.com"')}`)
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ errorCode: 'invalid_query_string' })
  })

  it('sorts by a field', async () => {
    await start()
    await seed()
    const sorted = await json('/users?sort=email:-1&per_page=2&connection=Username-Password-Authentication')
    expect(sorted.map((u: { email: string }) => u.email)).toEqual(['grace@example.com', 'edsger@example.com'])
  })

  it('refuses unknown query parameters', async () => {
    await start()
    const response = await api('/users?colour=red')
    expect(await response.json()).toMatchObject({
      statusCode: 400,
      message: "Query validation error: 'Additional properties not allowed: colour'.",
    })
  })
})

describe('GET /api/v2/users/{id} and /users-by-email', () => {
  it('gets a user by id (the | escaped or not)', async () => {
    await start()
    await seed()
    const [ada] = await json(`/users-by-email?email=ada@example.com`)
    const user = await json<Shown>(`/users/${encodeURIComponent(ada?.user_id ?? '')}`)
    expect(user).toEqual(ada)
  })

  it('answers 404 inexistent_user for an unknown id', async () => {
    await start()
    const response = await api('/users/auth0%7Cnope')
    expect(response.status).toBe(404)
    expect(await response.json()).toEqual({
      statusCode: 404,
      error: 'Not Found',
      message: 'The user does not exist.',
      errorCode: 'inexistent_user',
    })
  })

  it('finds an email in every connection, case-insensitively', async () => {
    await start()
    await seed()
    const users = await json('/users-by-email?email=Ada@Example.com')
    expect(users.map((u: { identities: { connection: string }[] }) => u.identities[0]?.connection)).toEqual([
      main,
      'partners',
    ])
    expect(await json('/users-by-email?email=nobody@example.com')).toEqual([])
  })

  it('refuses users-by-email without email', async () => {
    await start()
    const response = await api('/users-by-email')
    expect(await response.json()).toMatchObject({
      statusCode: 400,
      message: "Query validation error: 'Missing required property: email' on property email.",
    })
  })
})

describe('PATCH /api/v2/users/{id}', () => {
  async function ada(): Promise<{ user_id: string }> {
    const [user] = await json('/users-by-email?email=ada@example.com')
    return user as Shown
  }

  it('blocks and unblocks a user', async () => {
    await start()
    await seed()
    const { user_id } = await ada()
    clock.advance(60_000)
    const response = await patch(user_id, { blocked: true })
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({
      user_id,
      blocked: true,
      updated_at: '2026-11-27T10:01:00.000Z',
    })
    expect((await roster.engine.ctx.users.getById(user_id))?.blocked).toBe(true)
    expect(await (await patch(user_id, { blocked: false })).json()).toMatchObject({ blocked: false })
  })

  it('merges metadata at the top level, removes null keys, and {} clears', async () => {
    await start()
    await seed()
    const { user_id } = await ada()
    const merged = (await (
      await patch(user_id, { app_metadata: { plan: 'pro', region: null, seats: 3 } })
    ).json()) as Shown
    expect(merged.app_metadata).toEqual({ plan: 'pro', seats: 3 })
    const cleared = (await (await patch(user_id, { app_metadata: {} })).json()) as Shown
    expect(cleared.app_metadata).toEqual({})
  })

  it('refuses a change of email, which imports find users by', async () => {
    await start()
    await seed()
    const { user_id } = await ada()
    const response = await patch(user_id, { email: 'x@example.com', name: 'X' })
    expect(response.status).toBe(400)
    expect(((await response.json()) as { message: string }).message).toMatch(
      /^Roster's PATCH \/users does not change email/,
    )
  })

  it('refuses bad values with Auth0 payload messages', async () => {
    await start()
    await seed()
    const { user_id } = await ada()
    const cases: [unknown, string][] = [
      [
        { blocked: 'yes' },
        "Payload validation error: 'Expected type boolean but found type string' on property blocked (Whether this user was blocked by an administrator (true) or not (false)).",
      ],
      [{}, "Payload validation error: 'Too few properties defined (0), minimum 1'."],
      [
        { colour: 'red' },
        `Payload validation error: 'Additional properties not allowed: colour (consider storing them in app_metadata or user_metadata. See "Users Metadata" in https://auth0.com/docs/api/v2/changes for more details)'.`,
      ],
    ]
    for (const [body, message] of cases) {
      expect(await (await patch(user_id, body)).json()).toMatchObject({ statusCode: 400, message })
    }
    const reserved = (await (await patch(user_id, { app_metadata: { email: 'x' } })).json()) as {
      message: string
    }
    expect(reserved).toMatchObject({ statusCode: 400 })
    expect(reserved.message).toContain('app_metadata.email')
  })

  it('refuses reserved keys in metadata as an import does, instead of dropping them', async () => {
    await start()
    await seed()
    const { user_id } = await ada()
    const send = (body: string) =>
      api(`/users/${encodeURIComponent(user_id)}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body,
      })
    const cases: [string, string][] = [
      ['{"app_metadata":{"__proto__":{"roles":["admin"]}}}', 'app_metadata.__proto__'],
      ['{"user_metadata":{"prefs":{"constructor":1}}}', 'user_metadata.prefs.constructor'],
      ['{"app_metadata":{"prototype":true}}', 'app_metadata.prototype'],
    ]
    for (const [body, path] of cases) {
      const response = await send(body)
      expect(response.status).toBe(400)
      const answer = (await response.json()) as { message: string }
      expect(answer.message).toContain(`on property ${path}.`)
      expect(answer.message).toContain(
        'is reserved (__proto__, constructor and prototype cannot be field names)',
      )
    }
    const deep = `{"user_metadata":${'{"a":'.repeat(40)}1${'}'.repeat(40)}}`
    const tooDeep = (await (await send(deep)).json()) as { message: string }
    expect(tooDeep.message).toContain('Nested deeper than 32 levels')
    const stored = (await (await api(`/users/${encodeURIComponent(user_id)}`)).json()) as Shown
    expect(stored.app_metadata).not.toHaveProperty('roles')
  })

  it('answers 404 for an unknown user', async () => {
    await start()
    const response = await patch('auth0|nope', { blocked: true })
    expect(await response.json()).toMatchObject({ statusCode: 404, errorCode: 'inexistent_user' })
  })

  it('is never undone by a later undo of the import: the undo reports a conflict instead', async () => {
    await start()
    const job = await roster.engine.requestImport({
      connection: main,
      fileName: 'users.json',
      bytes: Buffer.from(JSON.stringify([{ email: 'ada@example.com' }])),
      options: { upsert: false, merge: false, dryRun: false, sendCompletionEmail: false },
      requestedBy: { via: 'cli', id: 'test' },
    })
    await roster.engine.waitFor(job.id)
    const { user_id } = await ada()
    await patch(user_id, { blocked: true })
    const undo = await roster.engine.requestUndo(job.id, { via: 'cli', id: 'test' })
    expect(await roster.engine.waitFor(undo.id)).toMatchObject({ summary: { conflicts: 1, deleted: 0 } })
    expect((await roster.engine.ctx.users.getById(user_id))?.blocked).toBe(true)
  })
})

describe('CLI users block|unblock', () => {
  it('parses users block and unblock', async () => {
    expect((await parseInvocation(['users', 'block', 'ada@example.com'], 'me')).command).toEqual({
      name: 'users-block',
      key: 'ada@example.com',
      blocked: true,
      requestedBy: 'me',
    })
    expect(
      (await parseInvocation(['users', 'unblock', 'ada@example.com', '--connection', 'partners'], 'me'))
        .command,
    ).toMatchObject({ name: 'users-block', blocked: false, connection: 'partners' })
  })

  it('blocks by email in one connection, and asks which one when the email is in several', async () => {
    await start()
    await seed()
    await expect(
      executeCommand(
        roster.engine,
        parseCommand({ name: 'users-block', key: 'ada@example.com', blocked: true, requestedBy: 'me' }),
      ),
    ).rejects.toThrow(/in 2 connections: add --connection/)
    const blocked = await executeCommand(
      roster.engine,
      parseCommand({ name: 'users-block', key: 'grace@example.com', blocked: true, requestedBy: 'me' }),
    )
    expect(blocked).toMatchObject({ email: 'grace@example.com', blocked: true })
    const partnerAda = (blocked: boolean) =>
      executeCommand(
        roster.engine,
        parseCommand({
          name: 'users-block',
          key: 'ada@example.com',
          blocked,
          connection: 'partners',
          requestedBy: 'me',
        }),
      )
    expect(await partnerAda(true)).toMatchObject({ name: 'Ada (partner)', blocked: true })
    expect(await partnerAda(false)).toMatchObject({ name: 'Ada (partner)', blocked: false })
  })

  it('says so when there is no such user', async () => {
    await start()
    await expect(
      executeCommand(
        roster.engine,
        parseCommand({ name: 'users-block', key: 'x@example.com', blocked: true, requestedBy: 'me' }),
      ),
    ).rejects.toThrow(/No user x@example.com/)
  })
})
