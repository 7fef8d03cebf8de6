import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultConnection, exitWithin, poll, RosterProcesses } from '../support/roster-process.ts'
import {
  auth0Env,
  createTenantClient,
  startTenantRoster,
  type TenantClient,
  type TenantRoster,
} from '../support/tenant-roster.ts'

/**
 * Issue 13, the wiring: a Roster in front of an Auth0 tenant (a second Roster process, API_RATE_LIMIT set), as a
 * person runs it — `roster` commands and `npm start` as child processes with AUTH0_* in their environment.
 */

const processes = new RosterProcesses()
const dirs: string[] = []
let tenant: TenantRoster
let client: TenantClient
let tenantConnections: { id: string; name: string }[]

async function frontStore(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'roster-front-'))
  dirs.push(dir)
  return dir
}

beforeAll(async () => {
  tenant = await startTenantRoster(processes, { API_RATE_LIMIT: '20' })
  client = await createTenantClient(processes, tenant, 'roster-front')
  await processes.cliJson(tenant.storeDir, [
    'connections',
    'add',
    'legacy',
    '--strategy',
    'custom-db',
    '--import-mode',
  ])
  await processes.cliJson(tenant.storeDir, ['connections', 'add', 'google', '--strategy', 'google-oauth2'])
  tenantConnections = await processes.cliJson(tenant.storeDir, ['connections'])
}, 90_000)

afterAll(async () => {
  await processes.killAll()
  await tenant?.remove()
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })))
})

/** The tenant's database connections, as `roster connections --json` should show them in front of it. */
function expectedConnections() {
  return tenantConnections
    .filter((c) => c.name !== 'google')
    .map((c) => ({ id: c.id, name: c.name }))
    .sort((a, b) => a.name.localeCompare(b.name))
}

function idsAndNames(connections: { id: string; name: string }[]) {
  return connections.map((c) => ({ id: c.id, name: c.name })).sort((a, b) => a.name.localeCompare(b.name))
}

/** A refusal as a person sees it: exit 1, one line naming what to fix, no stack trace, no secret. */
function expectRefusal(result: { code: number | null; stderr: string }, ...names: string[]) {
  expect(result.code).toBe(1)
  for (const name of names) expect(result.stderr).toContain(name)
  expect(result.stderr).not.toMatch(/\n\s+at /)
  expect(result.stderr).not.toContain(client.client_secret)
}

describe('a Roster in front of an Auth0 tenant', { timeout: 120_000 }, () => {
  it("lists the tenant's database connections, with the tenant's ids, from `roster connections`", async () => {
    const store = await frontStore()
    const listed = await processes.runCli(store, ['connections', '--json'], { env: auth0Env(tenant, client) })
    expect(listed.code, listed.stderr).toBe(0)
    const connections = JSON.parse(listed.stdout) as { id: string; name: string; strategy: string }[]
    expect(idsAndNames(connections)).toEqual(expectedConnections())
    expect(connections.find((c) => c.name === 'legacy')).toMatchObject({
      strategy: 'custom-db',
      import_mode: true,
    })
    // Plain output names them too.
    const plain = await processes.runCli(store, ['connections'], { env: auth0Env(tenant, client) })
    expect(plain.stdout).toContain(defaultConnection)
    expect(plain.stdout).toContain('legacy')
  })

  it('serves, reports the tenant in /healthz, and refuses connections add and the user commands', async () => {
    const store = await frontStore()
    const env = auth0Env(tenant, client)
    const front = await processes.startServer(store, { env })
    expect(front.stderr()).toContain(`Directory: the Auth0 tenant ${tenant.domain}`)
    expect((await front.health()).directory).toMatchObject({
      kind: 'auth0',
      domain: tenant.domain,
      reachable: true,
      connections: 2,
    })

    // Through the running server (the CLI's control channel): the same list.
    const viaServer = await processes.cliJson<{ id: string; name: string }[]>(store, ['connections'])
    expect(idsAndNames(viaServer)).toEqual(expectedConnections())

    const add = await processes.runCli(store, ['connections', 'add', 'extra'])
    expectRefusal(add, `Auth0 tenant ${tenant.domain}`, 'Auth0 Dashboard')
    for (const args of [
      ['users', 'count'],
      ['users', 'get', 'ada@example.com'],
    ]) {
      expectRefusal(await processes.runCli(store, args), `Auth0 tenant ${tenant.domain}`, 'Management API')
    }

    // The users API of the front Roster answers Auth0's operation_not_supported; its connections are the tenant's.
    const { token } = await processes.cliJson<{ token: string }>(store, [
      'tokens',
      'create',
      '--name',
      'script',
      '--scopes',
      'read:users,read:connections',
    ])
    const api = (path: string) =>
      fetch(`http://127.0.0.1:${front.port}/api/v2${path}`, { headers: { authorization: `Bearer ${token}` } })
    const byEmail = await api('/users-by-email?email=ada@example.com')
    expect(byEmail.status).toBe(400)
    expect(await byEmail.json()).toMatchObject({
      errorCode: 'operation_not_supported',
      message: expect.stringContaining(tenant.domain),
    })
    const connections = (await (await api('/connections')).json()) as { id: string; name: string }[]
    expect(idsAndNames(connections)).toEqual(expectedConnections())

    // A tenant that stops answering shows in /healthz (without failing the probe), once the cached answer ages.
    await tenant.server.kill9()
    const down = await poll(
      'the tenant to be reported unreachable',
      async () => {
        const health = await front.health()
        return health.directory && 'reachable' in health.directory && !health.directory.reachable
          ? health
          : undefined
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    )
    expect(down.ok).toBe(true)
    expect(down.directory).toMatchObject({ problem: { code: 'auth0_unreachable' } })
    tenant = await restartTenant(tenant)
  })
})

// Each test starts two to three Roster processes: on a busy machine that is most of a minute.
describe('start-up checks of the tenant settings', { timeout: 120_000 }, () => {
  it('stops `roster` naming AUTH0_DOMAIN when nothing answers there', async () => {
    const store = await frontStore()
    const env = {
      ...auth0Env(tenant, client),
      AUTH0_DOMAIN: '127.0.0.1:9',
      AUTH0_BASE_URL: 'http://127.0.0.1:9',
    }
    expectRefusal(await processes.runCli(store, ['jobs'], { env }), 'AUTH0_DOMAIN', 'AUTH0_BASE_URL')
  })

  it('stops `roster` naming AUTH0_CLIENT_SECRET when the secret is refused, without printing it', async () => {
    const store = await frontStore()
    const env = { ...auth0Env(tenant, client), AUTH0_CLIENT_SECRET: 'rst_cs_not-the-secret' }
    const result = await processes.runCli(store, ['connections'], { env })
    expectRefusal(result, 'AUTH0_CLIENT_SECRET')
    expect(result.stderr).not.toContain('rst_cs_not-the-secret')
  })

  it('stops `roster` and `npm start` naming the missing scope', async () => {
    const partial = await createTenantClient(
      processes,
      tenant,
      'no-delete',
      'read:connections,read:users,create:users,update:users',
    )
    const store = await frontStore()
    const env = auth0Env(tenant, partial)
    expectRefusal(await processes.runCli(store, ['connections'], { env }), 'delete:users', 'AUTH0_CLIENT_ID')
    const server = processes.spawnServer(store, env)
    const exit = await exitWithin(server, 30_000)
    expect(exit.code).toBe(1)
    expect(server.stderr()).toContain('delete:users')
    expect(server.stderr()).not.toMatch(/\n\s+at /)
  })

  it('refuses AUTH0_* settings without AUTH0_DOMAIN, naming it', async () => {
    const store = await frontStore()
    const { AUTH0_DOMAIN: _domain, ...env } = auth0Env(tenant, client)
    const result = await processes.runCli(store, ['jobs'], { env })
    expect(result.code).toBe(3)
    expect(result.stderr).toContain('AUTH0_DOMAIN is not set, but AUTH0_BASE_URL, AUTH0_CLIENT_ID')
    expect(result.stderr).not.toContain(client.client_secret)
  })
})

/** The tenant again on its store (same clients and connections), on a new port. */
async function restartTenant(old: TenantRoster): Promise<TenantRoster> {
  const server = await processes.startServer(old.storeDir, { env: { API_RATE_LIMIT: '20' } })
  const domain = `127.0.0.1:${server.port}`
  return { ...old, server, domain, baseUrl: `http://${domain}` }
}
