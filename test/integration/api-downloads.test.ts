import { gunzipSync } from 'node:zlib'
import { afterEach, describe, expect, it } from 'vitest'
import { executeCommand } from '../../src/adapters/cli/commands.ts'
import { loadConfig } from '../../src/config.ts'
import { silentLogger } from '../../src/logger.ts'
import { openRoster, type Roster } from '../../src/roster.ts'
import { type RunningServer, startServer } from '../../src/server.ts'
import { FixedClock } from '../support/clock-and-ids.ts'
import { tempDir } from '../support/temp-dir.ts'

/**
 * A completed export's `location`: a link on Roster, signed, valid 60 seconds and minted again on each
 * `GET /jobs/{id}` (Auth0's behaviour); the file streamed with its media type and a name after the tenant.
 */

let roster: Roster
let server: RunningServer | undefined
let base: string
let token: string
let clock: FixedClock

async function start(env: Record<string, string> = {}): Promise<void> {
  const config = loadConfig({ STORE_DIR: await tempDir(), PORT: '0', TENANT_NAME: 'acme', ...env })
  clock = new FixedClock()
  roster = await openRoster(config, { logger: silentLogger, clock })
  server = await startServer(roster, config, silentLogger)
  base = `http://127.0.0.1:${server.port}`
  const created = (await executeCommand(roster.engine, {
    name: 'tokens-create',
    tokenName: 'script',
    scopes: ['read:users'],
  })) as { token: string }
  token = created.token
  const job = await roster.engine.requestImport({
    connection: 'Username-Password-Authentication',
    fileName: 'users.json',
    bytes: Buffer.from(
      JSON.stringify([
        { email: 'ada@example.com', email_verified: true, name: 'Ada' },
        { email: 'grace@example.com', email_verified: true, name: '=HYPERLINK("x")' },
      ]),
    ),
    options: { upsert: false, merge: false, dryRun: false, sendCompletionEmail: false },
    requestedBy: { via: 'cli', id: 'test' },
  })
  await roster.engine.waitFor(job.id)
}

afterEach(async () => {
  await server?.close()
  server = undefined
})

const auth = () => ({ authorization: `Bearer ${token}` })

/** Creates an export through the API, waits for it, and returns the job as GET /jobs/{id} shows it. */
async function exportJob(body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const response = await fetch(`${base}/api/v2/jobs/users-exports`, {
    method: 'POST',
    headers: { ...auth(), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const created = (await response.json()) as { id: string }
  await roster.engine.waitFor(created.id)
  return readJob(created.id)
}

async function readJob(id: string): Promise<Record<string, unknown>> {
  return (await fetch(`${base}/api/v2/jobs/${id}`, { headers: auth() })).json() as Promise<
    Record<string, unknown>
  >
}

/** The link, pointed at the test's loopback address (PUBLIC_URL says localhost). */
function onLoopback(location: unknown): string {
  const url = new URL(String(location))
  return `${base}${url.pathname}${url.search}`
}

describe('export downloads', () => {
  it('gives a completed export a signed location on Roster, and serves the gzipped NDJSON', async () => {
    await start()
    const job = await exportJob({ format: 'json', fields: [{ name: 'email' }, { name: 'name' }] })
    expect(job).toMatchObject({ status: 'completed', format: 'json' })
    const location = new URL(String(job.location))
    // PUBLIC_URL unset: the address the caller reached Roster at (stand-in-limits.test.ts has the other cases).
    expect(location.origin).toBe(base)
    expect(location.pathname).toBe(`/downloads/${job.id}/acme.json.gz`)
    expect(location.searchParams.get('Expires')).toBe(String(clock.now().getTime() / 1000 + 60))
    expect(location.searchParams.get('Signature')).toMatch(/^[A-Za-z0-9_-]{43}$/)

    const response = await fetch(onLoopback(job.location))
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('application/gzip')
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="acme.json.gz"')
    const lines = gunzipSync(Buffer.from(await response.arrayBuffer()))
      .toString('utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    expect(lines).toEqual([
      { email: 'ada@example.com', name: 'Ada' },
      { email: 'grace@example.com', name: '=HYPERLINK("x")' },
    ])
  })

  it('names a CSV export acme.csv.gz, escaped as Auth0 escapes CSV', async () => {
    await start()
    const job = await exportJob({
      format: 'csv',
      fields: [{ name: 'email', export_as: 'Email' }, { name: 'name' }],
    })
    expect(new URL(String(job.location)).pathname).toMatch(/\/acme\.csv\.gz$/)
    const response = await fetch(onLoopback(job.location))
    const text = gunzipSync(Buffer.from(await response.arrayBuffer())).toString('utf8')
    expect(text).toContain(`"'grace@example.com","'=HYPERLINK(""x"")"`)
  })

  it("serves Roster's JSON array uncompressed when asked (format json-array, gzip false)", async () => {
    await start()
    const job = await exportJob({ format: 'json-array', gzip: false, fields: [{ name: 'email' }] })
    expect(job).toMatchObject({ format: 'json-array', gzip: false })
    const response = await fetch(onLoopback(job.location))
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="acme.json"')
    expect(await response.json()).toEqual([{ email: 'ada@example.com' }, { email: 'grace@example.com' }])
  })

  it('mints a fresh link on every GET /jobs/{id}', async () => {
    await start()
    const job = await exportJob({ format: 'json' })
    clock.advance(30_000)
    const again = await readJob(String(job.id))
    expect(again.location).not.toBe(job.location)
    expect(new URL(String(again.location)).searchParams.get('Expires')).toBe(
      String(clock.now().getTime() / 1000 + 60),
    )
  })

  it('refuses a link after 60 seconds with 403, and a fresh one works', async () => {
    await start()
    const job = await exportJob({ format: 'json' })
    clock.advance(59_000)
    expect((await fetch(onLoopback(job.location))).status).toBe(200)
    clock.advance(2_000)
    const expired = await fetch(onLoopback(job.location))
    expect(expired.status).toBe(403)
    expect(await expired.json()).toMatchObject({
      statusCode: 403,
      error: 'Forbidden',
      message: `This download link has expired (links live 60 seconds). GET /api/v2/jobs/${job.id} gives a fresh one.`,
    })
    const fresh = await readJob(String(job.id))
    expect((await fetch(onLoopback(fresh.location))).status).toBe(200)
  })

  it('refuses a tampered link with 403: signature, expiry, job or file name changed', async () => {
    await start()
    const job = await exportJob({ format: 'json' })
    const other = await exportJob({ format: 'csv' })
    const url = new URL(onLoopback(job.location))
    const tamper = (change: (u: URL) => void) => {
      const copy = new URL(url)
      change(copy)
      return fetch(copy)
    }
    const signature = url.searchParams.get('Signature') as string
    const attempts = [
      tamper((u) =>
        u.searchParams.set('Signature', `${signature.slice(0, -1)}${signature.endsWith('A') ? 'B' : 'A'}`),
      ),
      tamper((u) => u.searchParams.set('Expires', String(Number(u.searchParams.get('Expires')) + 3600))),
      tamper((u) => u.searchParams.delete('Signature')),
      tamper((u) => {
        u.pathname = u.pathname.replace(String(job.id), String(other.id))
      }),
      tamper((u) => {
        u.pathname = u.pathname.replace('acme.json.gz', 'acme.csv.gz')
      }),
    ]
    for (const response of await Promise.all(attempts)) {
      expect(response.status).toBe(403)
      expect(await response.json()).toMatchObject({
        statusCode: 403,
        message: 'This download link is not valid: its signature does not match.',
      })
    }
  })

  it('points links at PUBLIC_URL when it is set', async () => {
    await start({ PUBLIC_URL: 'https://roster.example.com/' })
    const job = await exportJob({ format: 'json' })
    expect(String(job.location)).toMatch(/^https:\/\/roster\.example\.com\/downloads\/job_/)
  })

  it('gives no location before the export is done', async () => {
    await start()
    await roster.engine.stop()
    const response = await fetch(`${base}/api/v2/jobs/users-exports`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: JSON.stringify({ format: 'json' }),
    })
    const created = (await response.json()) as { id: string }
    expect(await readJob(created.id)).not.toHaveProperty('location')
  })
})
