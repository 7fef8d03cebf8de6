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

/** Bearer tokens, scopes, 401/403 bodies as Auth0's, the audit trail, and /healthz — over real HTTP. */

let roster: Roster
let server: RunningServer | undefined
let base: string

async function start(): Promise<void> {
  const config = loadConfig({ STORE_DIR: await tempDir(), PORT: '0', TENANT_NAME: 'acme' })
  roster = await openRoster(config, { logger: silentLogger, clock: new FixedClock() })
  server = await startServer(roster, config, silentLogger)
  base = `http://127.0.0.1:${server.port}`
}

afterEach(async () => {
  await server?.close()
  server = undefined
})

async function createToken(name: string, scopes: ApiScope[]): Promise<string> {
  const result = (await executeCommand(roster.engine, {
    name: 'tokens-create',
    tokenName: name,
    scopes,
  })) as {
    token: string
  }
  return result.token
}

/** The audit entry is appended once the answer is sent: wait (bounded) for the file to catch up. */
async function auditEntries(count: number) {
  const deadline = Date.now() + 5_000
  for (;;) {
    const entries = await roster.audit.recent(100)
    if (entries.length >= count || Date.now() > deadline) return entries
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { headers })
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

describe('API authentication', () => {
  it('answers 401 "Missing authentication" without a token', async () => {
    await start()
    const response = await get('/api/v2/jobs/job_AAAAAAAAAAAAAAAA')
    expect(response.status).toBe(401)
    expect(await response.json()).toEqual({
      statusCode: 401,
      error: 'Unauthorized',
      message: 'Missing authentication',
    })
  })

  it('answers 401 "Invalid token" with attributes for a token Roster does not know', async () => {
    await start()
    const response = await get('/api/v2/users', bearer('rst_not-a-real-token'))
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toBe('Bearer')
    expect(await response.json()).toEqual({
      statusCode: 401,
      error: 'Unauthorized',
      message: 'Invalid token',
      attributes: { error: 'Invalid token' },
    })
  })

  it('answers 401 for an Authorization header that is not a bearer token', async () => {
    await start()
    const response = await get('/api/v2/users', { authorization: 'Basic dXNlcjpwYXNz' })
    expect(await response.json()).toMatchObject({
      statusCode: 401,
      message: 'Bad HTTP authentication header format',
    })
  })

  it('refuses a revoked token', async () => {
    await start()
    const token = await createToken('ci', ['read:users'])
    expect((await get('/api/v2/users', bearer(token))).status).toBe(200)
    await executeCommand(roster.engine, { name: 'tokens-revoke', key: 'ci' })
    expect((await get('/api/v2/users', bearer(token))).status).toBe(401)
  })

  it('stores tokens hashed, never the secret', async () => {
    await start()
    const token = await createToken('ci', ['read:users'])
    const catalog = await readFile(join(roster.storeDir, 'catalog.json'), 'utf8')
    expect(catalog).not.toContain(token)
    expect(catalog).toContain(createHash('sha256').update(token).digest('hex'))
    const listed = await executeCommand(roster.engine, { name: 'tokens-list' })
    expect(JSON.stringify(listed)).not.toContain(token)
    expect(listed).toEqual([
      {
        id: expect.stringMatching(/^tok_/),
        name: 'ci',
        scopes: ['read:users'],
        created_at: expect.any(String),
      },
    ])
  })
})

describe('API scopes, as Auth0 checks them', () => {
  const cases: { what: string; method: string; path: string; needs: string; has: ApiScope[] }[] = [
    {
      what: 'imports',
      method: 'POST',
      path: '/api/v2/jobs/users-imports',
      needs: 'create:users',
      has: ['read:users'],
    },
    {
      what: 'exports',
      method: 'POST',
      path: '/api/v2/jobs/users-exports',
      needs: 'read:users',
      has: ['create:users'],
    },
    {
      what: 'job reads',
      method: 'GET',
      path: '/api/v2/jobs/job_AAAAAAAAAAAAAAAA',
      needs: 'create:users,read:users',
      has: ['update:users'],
    },
    { what: 'user reads', method: 'GET', path: '/api/v2/users', needs: 'read:users', has: ['create:users'] },
    {
      what: 'user updates',
      method: 'PATCH',
      path: '/api/v2/users/auth0|1',
      needs: 'update:users',
      has: ['read:users'],
    },
    {
      what: 'connections',
      method: 'GET',
      path: '/api/v2/connections',
      needs: 'read:connections',
      has: ['read:users'],
    },
  ]
  for (const { what, method, path, needs, has } of cases) {
    it(`answers 403 for ${what} without ${needs}`, async () => {
      await start()
      const token = await createToken('narrow', has)
      const response = await fetch(`${base}${path}`, { method, headers: bearer(token) })
      expect(response.status).toBe(403)
      expect(await response.json()).toEqual({
        statusCode: 403,
        error: 'Forbidden',
        message: `Insufficient scope, expected any of: ${needs}`,
        errorCode: 'insufficient_scope',
      })
    })
  }

  it('lets either create:users or read:users read a job', async () => {
    await start()
    for (const scope of ['create:users', 'read:users'] as const) {
      const token = await createToken(`only-${scope.replace(':', '-')}`, [scope])
      expect((await get('/api/v2/jobs/job_AAAAAAAAAAAAAAAA', bearer(token))).status).toBe(404)
    }
  })
})

describe('API audit trail', () => {
  it('records each call with the token name, action, target and result, never the secret', async () => {
    await start()
    const token = await createToken('ci', ['read:users'])
    await get('/api/v2/jobs/job_AAAAAAAAAAAAAAAA', bearer(token))
    await fetch(`${base}/api/v2/jobs/users-imports`, { method: 'POST', headers: bearer(token) })
    await get('/api/v2/users')
    const entries = await auditEntries(3)
    expect(entries).toEqual([
      expect.objectContaining({
        actor: { via: 'api', id: 'ci' },
        action: 'jobs.read',
        target: 'job_AAAAAAAAAAAAAAAA',
        where: 'GET /api/v2/jobs/job_AAAAAAAAAAAAAAAA',
        allowed: true,
        detail: '404',
      }),
      expect.objectContaining({
        actor: { via: 'api', id: 'ci' },
        action: 'import',
        where: 'POST /api/v2/jobs/users-imports',
        allowed: false,
        detail: '403',
      }),
      expect.objectContaining({
        actor: { via: 'api', id: 'anonymous' },
        action: 'users.read',
        allowed: false,
        detail: '401',
      }),
    ])
    const log = await readFile(join(roster.storeDir, 'audit.jsonl'), 'utf8')
    expect(log).not.toContain(token)
  })
})

describe('CLI tokens', () => {
  it('parses tokens create|list|revoke and refuses unknown scopes', async () => {
    expect(
      (
        await parseInvocation(
          ['tokens', 'create', '--name', 'ci', '--scopes', 'create:users,read:users'],
          'me',
        )
      ).command,
    ).toEqual({
      name: 'tokens-create',
      tokenName: 'ci',
      scopes: ['create:users', 'read:users'],
    })
    expect((await parseInvocation(['tokens', 'list'], 'me')).command).toEqual({ name: 'tokens-list' })
    expect((await parseInvocation(['tokens', 'revoke', 'tok_x'], 'me')).command).toEqual({
      name: 'tokens-revoke',
      key: 'tok_x',
    })
    await expect(
      parseInvocation(['tokens', 'create', '--name', 'ci', '--scopes', 'delete:clients'], 'me'),
    ).rejects.toThrow(/unknown scope delete:clients/)
  })

  it('prints the secret once, at creation', async () => {
    await start()
    const created = (await executeCommand(roster.engine, {
      name: 'tokens-create',
      tokenName: 'ci',
      scopes: ['read:users'],
    })) as Record<string, unknown>
    expect(created.token).toMatch(/^rst_[A-Za-z0-9_-]{43}$/)
    await expect(
      executeCommand(roster.engine, { name: 'tokens-create', tokenName: 'ci', scopes: ['read:users'] }),
    ).rejects.toThrow(/already exists/)
    await expect(
      executeCommand(roster.engine, { name: 'tokens-create', tokenName: 'my token', scopes: ['read:users'] }),
    ).rejects.toThrow(/cannot name a token/)
  })
})

describe('GET /healthz', () => {
  it('says the store is writable, the queue depth, and what is configured', async () => {
    await start()
    const response = await get('/healthz')
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({
      ok: true,
      store: { writable: true, users: 0 },
      queue: { pending: 0, processing: 0 },
      slack: { configured: false },
      email: { configured: false, via: 'outbox', queued: 0 },
    })
  })
})
