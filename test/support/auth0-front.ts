import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../src/config.ts'
import type { ExportField } from '../../src/domain/export/export-fields.ts'
import type { ExportFormat } from '../../src/domain/export/format.ts'
import type { ExportJob } from '../../src/domain/jobs/job.ts'
import type { Engine } from '../../src/engine/engine.ts'
import type { TenantDirectory } from '../../src/engine/tenant/tenant-directory.ts'
import { silentLogger } from '../../src/logger.ts'
import { openRoster, type Roster } from '../../src/roster.ts'
import { auth0Env, type TenantClient, type TenantRoster } from './tenant-roster.ts'

/**
 * An in-process Roster in front of a tenant Roster process (issue 13), opened from AUTH0_* settings: the real
 * engine and stores, `ctx.tenant` the real adapter over Auth0Client, the catalog's connections the tenant's. Real
 * clock: undo compares the tenant's `updated_at` with job times.
 * Polling is shortened so tests do not wait out Auth0-sized intervals.
 */
export interface Auth0Front {
  roster: Roster
  engine: Engine
  directory: TenantDirectory
  storeDir: string
  /** Stops the engine at its next checkpoint and closes the stores; `keepStore` to reopen it later. */
  close(options?: { keepStore?: boolean }): Promise<void>
}

export interface Auth0FrontOptions {
  /** Reopen this store (a restart) instead of a new one. */
  storeDir?: string
  /** Auth0 job polling; default 20 ms up to 200 ms. */
  poll?: { firstMs: number; maxMs: number }
}

export async function openAuth0Front(
  tenant: TenantRoster,
  client: TenantClient,
  options: Auth0FrontOptions = {},
): Promise<Auth0Front> {
  // Not support/temp-dir.ts, which empties its folders after each test: a front may serve a whole describe.
  const storeDir = options.storeDir ?? (await mkdtemp(join(tmpdir(), 'roster-front-')))
  // Configured as a person would (AUTH0_* settings): openRoster builds the adapter, verifies the tenant and copies
  // its connections into the catalog.
  const config = loadConfig({ STORE_DIR: storeDir, ...auth0Env(tenant, client) })
  const roster = await openRoster(config, { logger: silentLogger })
  const ctx = roster.engine.ctx
  const directory = ctx.tenant
  if (!directory) throw new Error('AUTH0_DOMAIN is set, yet the engine has no tenant')
  ctx.limits.tenantPoll = options.poll ?? { firstMs: 20, maxMs: 200 }
  roster.engine.start()
  return {
    roster,
    engine: roster.engine,
    directory,
    storeDir,
    async close({ keepStore = false }: { keepStore?: boolean } = {}) {
      await roster.close()
      if (!keepStore) await rm(storeDir, { recursive: true, force: true })
    },
  }
}

const requestedBy = { via: 'cli', id: 'tester' } as const

/** Runs an export through the engine and returns its file's bytes (as stored: gzip if asked). */
export async function exportThrough(
  engine: Engine,
  request: {
    connection?: string
    format: ExportFormat
    fields?: ExportField[]
    gzip?: boolean
    sample?: boolean
  },
): Promise<{ job: ExportJob; bytes: Buffer }> {
  const created = await engine.requestExport({ ...request, gzip: request.gzip ?? false, requestedBy })
  const job = (await engine.waitFor(created.id)) as ExportJob
  if (job.status !== 'completed') throw new Error(`export ${job.id} ${job.status}: ${job.statusDetails}`)
  const file = await engine.exportFile(job.id)
  if (!file) throw new Error(`export ${job.id} has no file`)
  return { job, bytes: await readFile(file.path) }
}
