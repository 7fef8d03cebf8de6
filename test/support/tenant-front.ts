import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createAuth0Client, createTenantDirectory } from '../../src/adapters/auth0/index.ts'
import { loadConfig } from '../../src/config.ts'
import type { ExportField } from '../../src/domain/export/export-fields.ts'
import type { ExportFormat } from '../../src/domain/export/format.ts'
import type { ExportJob } from '../../src/domain/jobs/job.ts'
import type { Engine } from '../../src/engine/engine.ts'
import type { TenantDirectory } from '../../src/engine/tenant/tenant-directory.ts'
import { silentLogger } from '../../src/logger.ts'
import { openRoster, type Roster } from '../../src/roster.ts'
import type { TenantClient, TenantRoster } from './tenant-roster.ts'

/**
 * An in-process Roster in front of a tenant Roster process (issue 13): the real engine and stores, with
 * `ctx.tenant` the real adapter over Auth0Client, and the catalog's connections copied from the tenant (what the
 * connection sync does in tenant mode). Real clock: undo compares the tenant's `updated_at` with job times.
 * Polling is shortened so tests do not wait out Auth0-sized intervals.
 */
export interface TenantFront {
  roster: Roster
  engine: Engine
  directory: TenantDirectory
  storeDir: string
  /** Stops the engine at its next checkpoint and closes the stores; `keepStore` to reopen it later. */
  close(options?: { keepStore?: boolean }): Promise<void>
}

export interface TenantFrontOptions {
  /** Reopen this store (a restart) instead of a new one. */
  storeDir?: string
  /** Auth0 job polling; default 20 ms up to 200 ms. */
  poll?: { firstMs: number; maxMs: number }
}

export async function openTenantFront(
  tenant: TenantRoster,
  client: TenantClient,
  options: TenantFrontOptions = {},
): Promise<TenantFront> {
  // Not support/temp-dir.ts, which empties its folders after each test: a front may serve a whole describe.
  const storeDir = options.storeDir ?? (await mkdtemp(join(tmpdir(), 'roster-front-')))
  const roster = await openRoster(loadConfig({ STORE_DIR: storeDir }), { logger: silentLogger })
  const directory = createTenantDirectory(
    createAuth0Client({
      domain: tenant.domain,
      baseUrl: tenant.baseUrl,
      clientId: client.client_id,
      clientSecret: client.client_secret,
    }),
  )
  const ctx = roster.engine.ctx
  ctx.tenant = directory
  ctx.limits.tenantPoll = options.poll ?? { firstMs: 20, maxMs: 200 }
  const connections = await directory.listConnections()
  await ctx.catalog.update((draft) => {
    draft.connections = connections
  })
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
