import { afterEach, describe, expect, it } from 'vitest'
import { executeCommand } from '../../src/adapters/cli/commands.ts'
import { loadConfig } from '../../src/config.ts'
import { silentLogger } from '../../src/logger.ts'
import { openRoster, type Roster } from '../../src/roster.ts'
import { type RunningServer, startServer } from '../../src/server.ts'
import { FixedClock } from '../support/clock-and-ids.ts'
import { tempDir } from '../support/temp-dir.ts'

/**
 * API_RATE_LIMIT over real HTTP, on a clock moved by hand (the bucket refills only when the test says so): the
 * x-ratelimit-* headers on every answer, Auth0's 429, one bucket per token or client.
 */

let roster: Roster
let server: RunningServer | undefined
let base: string
let clock: FixedClock

async function start(env: Record<string, string>): Promise<void> {
  const config = loadConfig({ STORE_DIR: await tempDir(), PORT: '0', ...env })
  clock = new FixedClock(new Date('2026-11-27T10:00:00.000Z'))
  roster = await openRoster(config, { logger: silentLogger, clock })
  server = await startServer(roster, config, silentLogger)
  base = `http://127.0.0.1:${server.port}`
}

afterEach(async () => {
  await server?.close()
  server = undefined
})

async function token(name: string): Promise<string> {
  const created = (await executeCommand(roster.engine, {
    name: 'tokens-create',
    tokenName: name,
    scopes: ['read:connections'],
  })) as { token: string }
  return created.token
}

const connections = (secret?: string) =>
  fetch(`${base}/api/v2/connections`, {
    headers: secret === undefined ? {} : { authorization: `Bearer ${secret}` },
  })

const limitHeaders = (response: Response) => ({
  limit: response.headers.get('x-ratelimit-limit'),
  remaining: response.headers.get('x-ratelimit-remaining'),
  reset: response.headers.get('x-ratelimit-reset'),
})

const nowSeconds = Date.parse('2026-11-27T10:00:00.000Z') / 1000

describe('API_RATE_LIMIT', () => {
  it('sends x-ratelimit-limit, -remaining and -reset (epoch seconds) on every answer', async () => {
    await start({ API_RATE_LIMIT: '3' })
    const secret = await token('ci')
    const first = await connections(secret)
    expect(first.status).toBe(200)
    // Full bucket after this request's refill: the next whole request is 1/3 s away, rounded up to a second.
    expect(limitHeaders(first)).toEqual({ limit: '3', remaining: '2', reset: String(nowSeconds + 1) })
    expect(limitHeaders(await connections(secret)).remaining).toBe('1')
  })

  it('answers 429 with Auth0 body once the burst is spent, and lets the caller in again after reset', async () => {
    await start({ API_RATE_LIMIT: '2' })
    const secret = await token('ci')
    expect((await connections(secret)).status).toBe(200)
    expect((await connections(secret)).status).toBe(200)
    const refused = await connections(secret)
    expect(refused.status).toBe(429)
    expect(await refused.json()).toEqual({
      statusCode: 429,
      error: 'Too Many Requests',
      message: 'Global limit has been reached',
      errorCode: 'too_many_requests',
    })
    const reset = Number(refused.headers.get('x-ratelimit-reset'))
    expect(limitHeaders(refused)).toMatchObject({ limit: '2', remaining: '0' })
    clock.advance(reset * 1000 - clock.now().getTime())
    expect((await connections(secret)).status).toBe(200)
  })

  it('keeps one bucket per token: another caller is not throttled by the first', async () => {
    await start({ API_RATE_LIMIT: '1' })
    const first = await token('first')
    const second = await token('second')
    expect((await connections(first)).status).toBe(200)
    expect((await connections(first)).status).toBe(429)
    expect((await connections(second)).status).toBe(200)
  })

  it('counts calls without a valid token per address, with the same headers', async () => {
    await start({ API_RATE_LIMIT: '1' })
    const anonymous = await connections()
    expect(anonymous.status).toBe(401)
    expect(limitHeaders(anonymous).limit).toBe('1')
    expect((await connections('rst_unknown')).status).toBe(429)
  })

  it('is off when unset: no headers, no 429', async () => {
    await start({})
    const secret = await token('ci')
    for (let i = 0; i < 5; i++) {
      const response = await connections(secret)
      expect(response.status).toBe(200)
      expect(response.headers.get('x-ratelimit-limit')).toBeNull()
    }
  })
})
