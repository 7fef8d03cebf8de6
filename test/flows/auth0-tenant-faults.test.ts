import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { seedRows, toJsonArray } from '../support/generate-users.ts'
import { defaultConnection, poll, type ServerProcess } from '../support/roster-process.ts'
import { startTenantPair, type TenantPair } from '../support/tenant-pair.ts'

/**
 * A front Roster (AUTH0_* set) keeps its promises when the tenant misbehaves and when it is itself killed: the
 * tenant (a Roster process) injects 5xx, answers after acting, and rate limits (API_FAULTS, API_RATE_LIMIT); the
 * front is `kill -9`ed in the middle of an import. Afterwards the tenant holds each user once and the job's summary
 * is what an undisturbed run gives.
 */

type JobView = { id: string; status: string; summary?: Record<string, number> }

let pair: TenantPair | undefined

afterEach(async () => {
  await pair?.close()
  pair = undefined
})

async function usersFile(p: TenantPair, name: string, rows: unknown[]): Promise<string> {
  const path = join(p.workDir, `${name}.json`)
  await writeFile(path, toJsonArray(rows as Record<string, unknown>[]))
  return path
}

/** How many users of the tenant have each email (all of them should have one). */
async function emailCounts(p: TenantPair): Promise<Map<string, number>> {
  const counts = new Map<string, number>()
  for (const user of await p.tenantUsers()) {
    const email = String(user.email)
    counts.set(email, (counts.get(email) ?? 0) + 1)
  }
  return counts
}

async function tenantAudit(p: TenantPair): Promise<{ where: string; detail?: string }[]> {
  const text = await readFile(join(p.tenant.storeDir, 'audit.jsonl'), 'utf8')
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line))
}

function pausedAfter(server: ServerProcess, chunk: number): Promise<true> {
  return poll(
    `the front's import to hold after chunk ${chunk}`,
    () =>
      server
        .stderr()
        .split('\n')
        .some(
          (line) =>
            line.includes('"msg":"fault injection: import paused after chunk"') &&
            line.includes(`"chunk":${chunk},`),
        )
        ? true
        : undefined,
    { timeoutMs: 120_000, intervalMs: 25 },
  )
}

describe('a front Roster against a misbehaving tenant', () => {
  it('comes through injected 503s, a 503 after an accepted part, and 429s, with each user once', async () => {
    pair = await startTenantPair({
      tenantEnv: {
        API_RATE_LIMIT: '4',
        API_FAULTS: [
          '503 GET /api/v2/users-by-email every 5',
          '503-after POST /api/v2/jobs/users-imports nth 1',
          '502 GET /api/v2/jobs/* nth 1',
          '503 GET /api/v2/connections nth 1',
        ].join('; '),
      },
    })
    const rows = seedRows(24)
    const path = await usersFile(pair, 'faults', rows)
    const job = await pair.frontJson<JobView>(['import', path, '--connection', defaultConnection, '--wait'])
    expect(job).toMatchObject({ status: 'completed', summary: { inserted: 24, failed: 0, total: 24 } })
    const counts = await emailCounts(pair)
    expect(counts.size).toBe(24)
    expect([...counts.values()].every((count) => count === 1)).toBe(true)
    // The faults did happen: the tenant answered 5xx and 429 on the way.
    const statuses = new Set((await tenantAudit(pair)).map((entry) => entry.detail))
    for (const status of ['503', '502', '429']) expect(statuses).toContain(status)
  }, 400_000)

  it('after a kill -9 of the front mid-import and a restart, the tenant holds each user once', async () => {
    // Two chunks (2,000 users each): the front holds after planning the second, with the first one's part sent or
    // on its way; the kill lands there, whatever the part's state.
    pair = await startTenantPair({ tenantEnv: { API_RATE_LIMIT: '2000' } })
    const rows = seedRows(2_001)
    const path = await usersFile(pair, 'crash', rows)
    const front = await pair.startFront({ FAULT_PAUSE_AFTER_CHUNK: '2' })
    const started = await pair.frontJson<JobView>(['import', path, '--connection', defaultConnection])
    await pausedAfter(front, 2)
    await front.kill9()

    await pair.startFront()
    const job = await pair.frontJson<JobView>(['job', started.id, '--wait'])
    expect(job).toMatchObject({ status: 'completed', summary: { inserted: 2_001, failed: 0, total: 2_001 } })
    const counts = await emailCounts(pair)
    expect(counts.size).toBe(2_001)
    expect([...counts.values()].every((count) => count === 1)).toBe(true)
  }, 300_000)
})
