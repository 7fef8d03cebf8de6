import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAuth0Client, createTenantDirectory } from '../../src/adapters/auth0/index.ts'
import { loadConfig } from '../../src/config.ts'
import { directoryHealth } from '../../src/engine/tenant/directory-health.ts'
import type { TenantDirectory } from '../../src/engine/tenant/tenant-directory.ts'
import { silentLogger } from '../../src/logger.ts'
import { openRoster, type Roster } from '../../src/roster.ts'
import { FixedClock, sequentialIds } from '../support/clock-and-ids.ts'
import { defaultConnection, RosterProcesses } from '../support/roster-process.ts'
import { tempDir } from '../support/temp-dir.ts'
import {
  auth0Env,
  createTenantClient,
  startTenantRoster,
  type TenantClient,
  type TenantRoster,
} from '../support/tenant-roster.ts'

/**
 * Decisions 1 and 2 of issue 13 in one process: a Roster opened with AUTH0_* over a tenant Roster process, its clock
 * in the test's hands, so "older than a minute" and "cached a few seconds" are moved to, not waited for.
 */

const processes = new RosterProcesses()
let tenant: TenantRoster
let client: TenantClient

beforeAll(async () => {
  tenant = await startTenantRoster(processes)
  client = await createTenantClient(processes, tenant, 'roster')
}, 180_000)

afterAll(async () => {
  await processes.killAll()
  await tenant?.remove()
})

/** The real directory, counting its connection listings (the one thing these tests measure). */
function countingDirectory(): { directory: TenantDirectory; listings: () => number } {
  const config = loadConfig(auth0Env(tenant, client))
  const real = createTenantDirectory(createAuth0Client(config.auth0 as NonNullable<typeof config.auth0>))
  let listings = 0
  const directory: TenantDirectory = {
    ...real,
    domain: real.domain,
    listConnections: () => {
      listings += 1
      return real.listConnections()
    },
  }
  return { directory, listings: () => listings }
}

async function openFront(): Promise<{ roster: Roster; clock: FixedClock; listings: () => number }> {
  const { directory, listings } = countingDirectory()
  const clock = new FixedClock()
  const config = loadConfig({ STORE_DIR: await tempDir(), ...auth0Env(tenant, client) })
  const roster = await openRoster(config, {
    logger: silentLogger,
    clock,
    ids: sequentialIds(),
    tenant: directory,
  })
  return { roster, clock, listings }
}

async function tenantConnections(): Promise<{ id: string; name: string }[]> {
  return processes.cliJson(tenant.storeDir, ['connections'])
}

describe("the tenant's connections in the catalog", () => {
  it('are copied at open, listed again only when older than a minute, keeping when Roster first saw them', async () => {
    const { roster, clock, listings } = await openFront()
    try {
      const atOpen = roster.engine.listConnections()
      expect(atOpen.map((c) => c.id)).toEqual((await tenantConnections()).map((c) => c.id))
      expect(atOpen[0]?.created_at).toBe(clock.now().toISOString())
      const after = listings()

      clock.advance(30_000)
      await roster.engine.connections()
      expect(listings()).toBe(after)

      await processes.cliJson(tenant.storeDir, ['connections', 'add', 'partners'])
      clock.advance(31_000)
      const fresh = await roster.engine.connections()
      expect(listings()).toBe(after + 1)
      expect(fresh.map((c) => c.name)).toEqual([defaultConnection, 'partners'])
      expect(fresh[0]).toEqual(atOpen[0])
      expect(fresh[1]?.created_at).toBe(clock.now().toISOString())
      // An import request reads the same copy (no second listing within the minute).
      await roster.engine.connections()
      expect(listings()).toBe(after + 1)
    } finally {
      await roster.close()
    }
  })

  it('refuses connections add and the single-user calls, naming the tenant', async () => {
    const { roster } = await openFront()
    try {
      await expect(roster.engine.addConnection({ name: 'extra', strategy: 'auth0' })).rejects.toMatchObject({
        code: 'operation_not_supported',
        message: expect.stringContaining('Auth0 Dashboard'),
      })
      const requester = { via: 'cli' as const, id: 'tester' }
      for (const call of [
        () => roster.engine.countUsers(),
        () => roster.engine.findUsers('ada@example.com'),
        () => roster.engine.getUser('auth0|1'),
        () => roster.engine.listUsers(),
      ]) {
        // listUsers refuses at once; the others, async, reject.
        await expect(Promise.resolve().then(async (): Promise<unknown> => call())).rejects.toThrow(
          `in front of the Auth0 tenant ${tenant.domain}`,
        )
      }
      await expect(roster.engine.deleteUser('auth0|1', requester)).rejects.toMatchObject({
        code: 'operation_not_supported',
      })
      await expect(roster.engine.updateUser('auth0|1', { blocked: true }, requester)).rejects.toMatchObject({
        code: 'operation_not_supported',
      })
    } finally {
      await roster.close()
    }
  })
})

describe('the directory part of /healthz', () => {
  it('asks the tenant at most once per few seconds, however often it is probed', async () => {
    const { roster, clock, listings } = await openFront()
    try {
      const probe = directoryHealth(roster.engine.ctx, { ttlMs: 5_000 })
      const before = listings()
      const [first, second] = await Promise.all([probe(), probe()])
      expect(first).toEqual({
        kind: 'auth0',
        domain: tenant.domain,
        reachable: true,
        checkedAt: clock.now().toISOString(),
        connections: expect.any(Number),
      })
      expect(second).toEqual(first)
      clock.advance(4_000)
      await probe()
      expect(listings()).toBe(before + 1)
      clock.advance(2_000)
      await probe()
      expect(listings()).toBe(before + 2)
    } finally {
      await roster.close()
    }
  })

  it('says embedded without a tenant', async () => {
    const roster = await openRoster(loadConfig({ STORE_DIR: await tempDir() }), { logger: silentLogger })
    try {
      expect(await directoryHealth(roster.engine.ctx)()).toEqual({ kind: 'embedded' })
    } finally {
      await roster.close()
    }
  })
})
