import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { executeCommand } from '../../src/adapters/cli/commands.ts'
import { parseInvocation } from '../../src/adapters/cli/parse-args.ts'
import { loadConfig } from '../../src/config.ts'
import type { ApiScope } from '../../src/domain/api/api-token.ts'
import { silentLogger } from '../../src/logger.ts'
import { openRoster, type Roster } from '../../src/roster.ts'
import { type RunningServer, startServer } from '../../src/server.ts'
import { FixedClock } from '../support/clock-and-ids.ts'
import { tempDir } from '../support/temp-dir.ts'

/** API clients and POST /oauth/token over real HTTP: the grant, its refusals, the token's scopes and expiry. */

let roster: Roster
let server: RunningServer | undefined
let base: string
let clock: FixedClock
let storeDir: string

async function start(dir?: string): Promise<void> {
  storeDir = dir ?? (await tempDir())
  const config = loadConfig({ STORE_DIR: storeDir, PORT: '0', TENANT_NAME: 'acme' })
  clock ??= new FixedClock()
  roster = await openRoster(config, { logger: silentLogger, clock })
  server = await startServer(roster, config, silentLogger)
  base = `http://127.0.0.1:${server.port}`
}

afterEach(async () => {
  await server?.close()
  server = undefined
  clock = undefined as unknown as FixedClock
})

interface CreatedClient {
  client_id: string
  client_secret: string
  name: string
  scopes: string[]
}

async function createClient(name: string, scopes: ApiScope[], tokenLifetimeSeconds?: number) {
  return (await executeCommand(roster.engine, {
    name: 'clients-create',
    clientName: name,
    scopes,
    ...(tokenLifetimeSeconds === undefined ? {} : { tokenLifetimeSeconds }),
  })) as CreatedClient
}

const audience = () => `https://127.0.0.1:${server?.port}/api/v2/`

function grant(client: CreatedClient, extra: Record<string, string> = {}): Record<string, string> {
  return {
    grant_type: 'client_credentials',
    client_id: client.client_id,
    client_secret: client.client_secret,
    audience: audience(),
    ...extra,
  }
}

const postJson = (body: unknown) =>
  fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
const postForm = (body: Record<string, string>) =>
  fetch(`${base}/oauth/token`, { method: 'POST', body: new URLSearchParams(body) })

async function tokenFor(client: CreatedClient, extra: Record<string, string> = {}): Promise<string> {
  const response = await postForm(grant(client, extra))
  expect(response.status).toBe(200)
  return ((await response.json()) as { access_token: string }).access_token
}

const api = (path: string, token: string, init: RequestInit = {}) =>
  fetch(`${base}/api/v2${path}`, { ...init, headers: { authorization: `Bearer ${token}` } })

describe('POST /oauth/token', () => {
  it('grants a form-encoded request a Bearer token with the client scopes and Auth0 lifetime', async () => {
    await start()
    const client = await createClient('migration', ['read:users', 'read:connections'])
    const response = await postForm(grant(client))
    expect(response.status).toBe(200)
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(await response.json()).toEqual({
      access_token: expect.stringMatching(/^rst_at_[A-Za-z0-9_-]{43}$/),
      token_type: 'Bearer',
      expires_in: 86400,
      scope: 'read:users read:connections',
    })
  })

  it('grants a JSON request too, and narrows the scopes to those asked for', async () => {
    await start()
    const client = await createClient('migration', ['read:users', 'read:connections'])
    const response = await postJson(grant(client, { scope: 'read:connections' }))
    expect(await response.json()).toMatchObject({ scope: 'read:connections' })
  })

  it('refuses a wrong secret, an unknown client and a revoked one alike: 401 access_denied', async () => {
    await start()
    const client = await createClient('migration', ['read:users'])
    const unauthorized = { error: 'access_denied', error_description: 'Unauthorized' }
    for (const body of [
      grant(client, { client_secret: 'rst_cs_wrong' }),
      grant(client, { client_id: 'B'.repeat(32) }),
    ]) {
      const response = await postForm(body)
      expect(response.status).toBe(401)
      expect(await response.json()).toEqual(unauthorized)
    }
    await executeCommand(roster.engine, { name: 'clients-revoke', key: 'migration' })
    const revoked = await postForm(grant(client))
    expect([revoked.status, await revoked.json()]).toEqual([401, unauthorized])
  })

  it('refuses scopes the client was not granted, another grant type, a foreign audience, bad JSON', async () => {
    await start()
    const client = await createClient('migration', ['read:users'])
    const answers = async (response: Response) => [response.status, await response.json()]
    expect(await answers(await postForm(grant(client, { scope: 'read:users delete:users' })))).toEqual([
      403,
      { error: 'access_denied', error_description: 'Client has not been granted scopes: delete:users' },
    ])
    expect(await answers(await postForm(grant(client, { grant_type: 'password' })))).toEqual([
      403,
      expect.objectContaining({ error: 'unauthorized_client' }),
    ])
    expect(
      await answers(await postForm(grant(client, { audience: 'https://elsewhere.example/api/v2/' }))),
    ).toEqual([
      403,
      {
        error: 'access_denied',
        error_description: 'Service not enabled within domain: https://elsewhere.example/api/v2/',
      },
    ])
    const badJson = await fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"grant_type":',
    })
    expect(await answers(badJson)).toEqual([
      400,
      { error: 'invalid_request', error_description: 'Invalid request body.' },
    ])
  })

  it('accepts the audience of PUBLIC_URL and of the host the client reached', async () => {
    storeDir = await tempDir()
    const config = loadConfig({
      STORE_DIR: storeDir,
      PORT: '0',
      PUBLIC_URL: 'https://roster.example.com/',
    })
    roster = await openRoster(config, { logger: silentLogger })
    server = await startServer(roster, config, silentLogger)
    base = `http://127.0.0.1:${server.port}`
    const client = await createClient('front', ['read:users'])
    for (const aud of ['https://roster.example.com/api/v2/', `http://127.0.0.1:${server.port}/api/v2/`]) {
      expect((await postJson(grant(client, { audience: aud }))).status).toBe(200)
    }
  })
})

describe('access tokens on /api/v2', () => {
  it('carry exactly the client scopes: allowed where granted, 403 insufficient_scope elsewhere', async () => {
    await start()
    const token = await tokenFor(await createClient('reader', ['read:connections']))
    expect((await api('/connections', token)).status).toBe(200)
    const refused = await api('/users', token)
    expect(refused.status).toBe(403)
    expect(await refused.json()).toMatchObject({ errorCode: 'insufficient_scope' })
  })

  it('expire: 401 "Expired token received for JSON Web Token validation" once expires_in has passed', async () => {
    await start()
    const token = await tokenFor(await createClient('short', ['read:connections'], 60))
    clock.advance(59_000)
    expect((await api('/connections', token)).status).toBe(200)
    clock.advance(1_000)
    const expired = await api('/connections', token)
    expect(expired.status).toBe(401)
    expect(await expired.json()).toEqual({
      statusCode: 401,
      error: 'Unauthorized',
      message: 'Expired token received for JSON Web Token validation',
      attributes: { error: 'Expired token received for JSON Web Token validation' },
    })
  })

  it('die with their client at once, and a forged one is an invalid token', async () => {
    await start()
    const token = await tokenFor(await createClient('ci', ['read:connections']))
    await executeCommand(roster.engine, { name: 'clients-revoke', key: 'ci' })
    expect(await (await api('/connections', token)).json()).toMatchObject({ message: 'Invalid token' })
    expect(await (await api('/connections', 'rst_at_forged')).json()).toMatchObject({
      message: 'Invalid token',
    })
  })

  it('survive a restart, and the store holds only hashes of secrets and tokens', async () => {
    await start()
    const client = await createClient('durable', ['read:connections'])
    const token = await tokenFor(client)
    const catalog = await readFile(join(storeDir, 'catalog.json'), 'utf8')
    for (const secret of [token, client.client_secret]) {
      expect(catalog).not.toContain(secret)
      expect(catalog).toContain(createHash('sha256').update(secret).digest('hex'))
    }
    await server?.close()
    await start(storeDir)
    expect((await api('/connections', token)).status).toBe(200)
  })

  it('are audit-logged under the client name, grants included', async () => {
    await start()
    const client = await createClient('auditor', ['read:connections'])
    await api('/connections', await tokenFor(client))
    const deadline = Date.now() + 5_000
    let entries = await roster.audit.recent(10)
    while (entries.length < 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10))
      entries = await roster.audit.recent(10)
    }
    expect(entries).toEqual([
      expect.objectContaining({
        actor: { via: 'api', id: 'auditor' },
        action: 'oauth.token',
        target: client.client_id,
        where: 'POST /oauth/token',
        allowed: true,
      }),
      expect.objectContaining({ actor: { via: 'api', id: 'auditor' }, action: 'connections.read' }),
    ])
  })
})

describe('roster clients', () => {
  it('prints the secret once; lists clients without it; refuses duplicate names and bad lifetimes', async () => {
    await start()
    const created = await createClient('ci', ['read:users'])
    expect(created).toMatchObject({
      client_id: expect.stringMatching(/^[A-Za-z0-9]{32}$/),
      client_secret: expect.stringMatching(/^rst_cs_[A-Za-z0-9_-]{64}$/),
      scopes: ['read:users'],
    })
    const listed = await executeCommand(roster.engine, { name: 'clients-list' })
    expect(JSON.stringify(listed)).not.toContain(created.client_secret)
    expect(listed).toEqual([
      {
        client_id: created.client_id,
        name: 'ci',
        scopes: ['read:users'],
        token_lifetime_seconds: 86400,
        created_at: expect.any(String),
      },
    ])
    await expect(createClient('ci', ['read:users'])).rejects.toThrow(/already exists/)
    await expect(createClient('my client', ['read:users'])).rejects.toThrow(/cannot name a client/)
  })

  it('parses clients create|list|revoke and refuses unknown scopes', async () => {
    const create = ['clients', 'create', '--name', 'ci', '--scopes', 'read:users,delete:users']
    expect((await parseInvocation([...create, '--token-lifetime', '600'], 'me')).command).toEqual({
      name: 'clients-create',
      clientName: 'ci',
      scopes: ['read:users', 'delete:users'],
      tokenLifetimeSeconds: 600,
    })
    expect((await parseInvocation(['clients', 'list'], 'me')).command).toEqual({ name: 'clients-list' })
    expect((await parseInvocation(['clients', 'revoke', 'ci'], 'me')).command).toEqual({
      name: 'clients-revoke',
      key: 'ci',
    })
    await expect(
      parseInvocation(['clients', 'create', '--name', 'ci', '--scopes', 'read:clients'], 'me'),
    ).rejects.toThrow(/unknown scope read:clients/)
    await expect(parseInvocation(['clients', 'create', '--name', 'ci'], 'me')).rejects.toThrow(
      /usage: roster clients create/,
    )
  })
})
