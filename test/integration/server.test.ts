import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { silentLogger } from '../../src/logger.ts'
import { openRoster, type Roster } from '../../src/roster.ts'
import { describeSetup, type RunningServer, startServer } from '../../src/server.ts'
import { tempDir } from '../support/temp-dir.ts'

let roster: Roster
let server: RunningServer
let base: string

beforeEach(async () => {
  const config = loadConfig({ STORE_DIR: await tempDir(), PORT: '0' })
  roster = await openRoster(config, { logger: silentLogger })
  server = await startServer(roster, config, silentLogger)
  base = `http://127.0.0.1:${server.port}`
})
afterEach(async () => {
  await server.close()
})

const control = (body: unknown, token = roster.controlToken) =>
  fetch(`${base}/internal/control`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-roster-control': token },
    body: JSON.stringify(body),
  })

describe('HTTP server', () => {
  it('answers /healthz with the store, queue and what is configured', async () => {
    const response = await fetch(`${base}/healthz`)
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({
      ok: true,
      store: { users: 0 },
      queue: { pending: 0, processing: 0 },
      slack: { configured: false },
      email: { configured: false },
      directory: { kind: 'embedded' },
    })
  })

  it('records its port and control token in the lock file, for the CLI', () => {
    expect(roster.lock.info).toMatchObject({
      pid: process.pid,
      port: server.port,
      controlToken: roster.controlToken,
    })
  })

  it('runs CLI commands sent with the control token', async () => {
    const response = await control({ name: 'users-count' })
    expect(await response.json()).toEqual({ ok: true, result: { count: 0 } })
  })

  it('refuses control requests without the right token', async () => {
    const response = await control({ name: 'users-count' }, 'wrong')
    expect(response.status).toBe(401)
  })

  it('answers a bad command with its code and message', async () => {
    const response = await control({ name: 'job', id: 'job_AAAAAAAAAAAAAAAA' })
    expect(await response.json()).toEqual({
      ok: false,
      error: { code: 'not_found', message: 'Job job_AAAAAAAAAAAAAAAA not found.' },
    })
  })
})

describe('describeSetup', () => {
  it('says what is not configured and how Roster runs without it', () => {
    expect(describeSetup(loadConfig({}))).toEqual([
      'Slack: off — SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET not set. Roster runs without it (CLI and HTTP).',
      'Email: off — SMTP_URL not set.',
      'Directory: the embedded store (AUTH0_DOMAIN not set).',
    ])
  })

  it('names the Auth0 tenant and the credential it uses, never the secret', () => {
    const lines = describeSetup(
      loadConfig({
        AUTH0_DOMAIN: 'acme.eu.auth0.com',
        AUTH0_CLIENT_ID: 'abc123',
        AUTH0_CLIENT_SECRET: 'very-secret',
      }),
    )
    expect(lines).toContain('Directory: the Auth0 tenant acme.eu.auth0.com (application abc123).')
    expect(lines.join('\n')).not.toContain('very-secret')
  })
})
