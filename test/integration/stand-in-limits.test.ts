import { request } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { executeCommand } from '../../src/adapters/cli/commands.ts'
import { loadConfig } from '../../src/config.ts'
import { silentLogger } from '../../src/logger.ts'
import { openRoster, type Roster } from '../../src/roster.ts'
import { type RunningServer, startServer } from '../../src/server.ts'
import { loopbackManagementClient } from '../support/auth0-sdk.ts'
import { FixedClock } from '../support/clock-and-ids.ts'
import { tempDir } from '../support/temp-dir.ts'

/**
 * What a Roster standing in for an Auth0 tenant adds to API_RATE_LIMIT, on a clock moved by hand (buckets refill
 * only when the test says so): a tenant-wide bucket (API_TENANT_RATE_LIMIT), a rate-limited `/oauth/token`, and
 * export `location`s a caller on another address can follow without a token.
 */

let roster: Roster
let server: RunningServer | undefined
let base: string
let clock: FixedClock

async function start(env: Record<string, string>): Promise<void> {
  const config = loadConfig({ STORE_DIR: await tempDir(), PORT: '0', TENANT_NAME: 'acme', ...env })
  clock = new FixedClock(new Date('2026-11-27T10:00:00.000Z'))
  roster = await openRoster(config, { logger: silentLogger, clock })
  server = await startServer(roster, config, silentLogger)
  base = `http://127.0.0.1:${server.port}`
}

afterEach(async () => {
  await server?.close()
  server = undefined
})

async function token(name: string, scopes: ('read:connections' | 'read:users')[] = ['read:connections']) {
  const created = (await executeCommand(roster.engine, {
    name: 'tokens-create',
    tokenName: name,
    scopes,
  })) as {
    token: string
  }
  return created.token
}

async function apiClient(): Promise<{ clientId: string; clientSecret: string }> {
  const created = (await executeCommand(roster.engine, {
    name: 'clients-create',
    clientName: 'front',
    scopes: ['read:connections', 'read:users'],
  })) as { client_id: string; client_secret: string }
  return { clientId: created.client_id, clientSecret: created.client_secret }
}

const connections = (secret: string) =>
  fetch(`${base}/api/v2/connections`, { headers: { authorization: `Bearer ${secret}` } })

const tokenRequest = (body: Record<string, string>) =>
  fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      grant_type: 'client_credentials',
      audience: `${base.replace('http', 'https')}/api/v2/`,
      ...body,
    }),
  })

describe('API_TENANT_RATE_LIMIT', () => {
  it('refuses a caller whose own bucket is full once all callers together spent the tenant bucket', async () => {
    await start({ API_RATE_LIMIT: '10', API_TENANT_RATE_LIMIT: '2' })
    const [first, second] = [await token('first'), await token('second')]
    expect((await connections(first)).status).toBe(200)
    expect((await connections(first)).status).toBe(200)
    const refused = await connections(second)
    expect(refused.status).toBe(429)
    expect(await refused.json()).toMatchObject({ statusCode: 429, errorCode: 'too_many_requests' })
    // The tighter bucket's headers: the tenant's.
    expect(refused.headers.get('x-ratelimit-limit')).toBe('2')
    expect(refused.headers.get('x-ratelimit-remaining')).toBe('0')
    clock.advance(500)
    const again = await connections(second)
    expect(again.status).toBe(200)
    // Half a second refilled one request of the tenant's two; taking it leaves none.
    expect(again.headers.get('x-ratelimit-limit')).toBe('2')
    expect(again.headers.get('x-ratelimit-remaining')).toBe('0')
  })

  it('works alone, without a per-caller limit', async () => {
    await start({ API_TENANT_RATE_LIMIT: '1' })
    const [first, second] = [await token('first'), await token('second')]
    expect((await connections(first)).status).toBe(200)
    expect((await connections(second)).status).toBe(429)
  })
})

describe('/oauth/token under API_RATE_LIMIT', () => {
  it("answers 429 in OAuth's shape once the address spent its bucket, with the rate-limit headers", async () => {
    await start({ API_RATE_LIMIT: '1' })
    const client = await apiClient()
    const granted = await tokenRequest({ client_id: client.clientId, client_secret: client.clientSecret })
    expect(granted.status).toBe(200)
    expect(granted.headers.get('x-ratelimit-limit')).toBe('1')
    const refused = await tokenRequest({ client_id: client.clientId, client_secret: client.clientSecret })
    expect(refused.status).toBe(429)
    expect(await refused.json()).toEqual({
      error: 'too_many_requests',
      error_description: 'Global limit has been reached',
    })
    expect(refused.headers.get('x-ratelimit-reset')).toBe(String(clock.now().getTime() / 1000 + 1))
    clock.advance(1000)
    expect(
      (await tokenRequest({ client_id: client.clientId, client_secret: client.clientSecret })).status,
    ).toBe(200)
  })

  it('keeps the token bucket apart from the Management API one', async () => {
    await start({ API_RATE_LIMIT: '1' })
    const client = await apiClient()
    const sdk = loopbackManagementClient(server?.port as number, client, { maxRetries: 0 })
    // One token request, then one Management call: each from its own full bucket.
    const page = await sdk.connections.list({ strategy: ['auth0'] })
    expect(page.data.length).toBeGreaterThan(0)
  })
})

describe('export location on the stand-in', () => {
  /** An export job read back as GET /jobs/{id} answers it, the read sent with `host` as its Host header. */
  async function completedExport(host?: string): Promise<{ location: string; id: string }> {
    const secret = await token('exporter', ['read:users'])
    const created = (await (
      await fetch(`${base}/api/v2/jobs/users-exports`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ format: 'json' }),
      })
    ).json()) as { id: string }
    await roster.engine.waitFor(created.id)
    // fetch() sets Host itself; node:http sends the one given, as a client that reached Roster by another name.
    const text = await new Promise<string>((resolve, reject) => {
      const call = request(
        `${base}/api/v2/jobs/${created.id}`,
        { headers: { authorization: `Bearer ${secret}`, ...(host === undefined ? {} : { host }) } },
        (response) => {
          let body = ''
          response.setEncoding('utf8').on('data', (chunk: string) => {
            body += chunk
          })
          response.on('end', () => resolve(body))
        },
      )
      call.on('error', reject)
      call.end()
    })
    return JSON.parse(text) as { location: string; id: string }
  }

  it('points at the address the caller used, and downloads there without a token', async () => {
    await start({})
    const job = await completedExport()
    expect(job.location.startsWith(`${base}/downloads/${job.id}/acme.json.gz?Expires=`)).toBe(true)
    const download = await fetch(job.location)
    expect(download.status).toBe(200)
  })

  it('follows the Host header of a caller that reached Roster under another name', async () => {
    await start({})
    const job = await completedExport('tenant.internal:8443')
    expect(new URL(job.location).origin).toBe('http://tenant.internal:8443')
  })

  it('uses PUBLIC_URL when it is set, whatever the Host', async () => {
    await start({ PUBLIC_URL: 'https://roster.example.com' })
    const job = await completedExport('tenant.internal:8443')
    expect(new URL(job.location).origin).toBe('https://roster.example.com')
  })
})
