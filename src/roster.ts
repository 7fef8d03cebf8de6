import { randomBytes } from 'node:crypto'
import { ImportWorker } from './adapters/import-worker/import-worker.ts'
import { fileStoreMaintenance } from './adapters/store/async-user-store.ts'
import type { OpenAppendHandle } from './adapters/store/journal-writer.ts'
import { acquireStoreLock, type StoreLock } from './adapters/store/store-lock.ts'
import { newReplicaId, randomIds, systemClock } from './adapters/system.ts'
import type { Config } from './config.ts'
import { defaultCompactAtJournalBytes } from './engine/compact-when-quiet.ts'
import type { EngineContext } from './engine/context.ts'
import { Engine } from './engine/engine.ts'
import { JobEvents } from './engine/events.ts'
import type { AuditLog, CatalogStore, Clock, Ids } from './engine/ports.ts'
import type { StopOptions } from './engine/scheduler.ts'
import { syncTenantConnections } from './engine/tenant/connections.ts'
import type { TenantDirectory } from './engine/tenant/tenant-directory.ts'
import { AppError } from './errors.ts'
import type { Logger } from './logger.ts'
import { makeStoreDir, openStores, type Stores, seedCatalog } from './stores.ts'

/** Users per atomic commit: a 500 KB file (~2,000 users) is one commit, one fsync. */
const chunkRows = 2000

export interface Roster {
  engine: Engine
  /** Every access decision of the Slack app and the HTTP API. */
  audit: AuditLog
  /**
   * This process's lock on STORE_DIR: on the embedded store, the store's one-writer lock; on PostgreSQL, only how a
   * CLI on this machine finds this server (the database itself takes any number of replicas).
   */
  lock: StoreLock
  /** What the CLI presents on the control channel; recorded in the lock file once the server listens. */
  controlToken: string
  /** The embedded store; on PostgreSQL, this process's local folder (its lock file and cache of job files). */
  storeDir: string
  /** Every store, as openStores opened them: which backend (`kind`), where (`where`), the pool on PostgreSQL. */
  stores: Stores
  /** Stops the engine (waiting for its runs, and for a compaction under way: see StopOptions) and the stores. */
  close(options?: StopOptions): Promise<void>
}

export interface RosterDeps {
  logger: Logger
  clock?: Clock
  ids?: Ids
  /**
   * Opens the user journal's files (the port every commit is written and fdatasync'd through). Default: the real
   * file, 0600. Durability tests pass one that records each write and sync, to check what is on disk at each ack.
   */
  openJournal?: OpenAppendHandle
  /**
   * The Auth0 tenant, when AUTH0_DOMAIN is set. Default: the SDK client built from `config.auth0`. In-process tests
   * pass their own (a directory over a client with short timeouts).
   */
  tenant?: TenantDirectory
  /**
   * When the import worker thread reads and checks files: while other jobs are active (default: a lone file is done
   * soonest on the main thread), always (tests of that path), or never (no worker thread).
   */
  importWorker?: 'busy' | 'always' | 'off'
  /**
   * Who runs the embedded store's journal compaction: the server, once the journal is large and no writing job is
   * under way (default); or a one-shot command (the CLI in local mode), which leaves it to the server unless the
   * journal has grown several times past that (a store only ever written by the CLI stays bounded). A command's
   * user waits for its own import, not for upkeep: compacting 100,000 users took the CLI ~0.7 s after its last job.
   */
  compaction?: 'server' | 'command'
}

/**
 * Opens the stores (openStores: the embedded store in STORE_DIR, or PostgreSQL when DATABASE_URL is set) and
 * builds the engine over them. The server and the CLI's local mode both start here, so they run the same stores,
 * engine and recovery.
 */
export async function openRoster(config: Config, deps: RosterDeps): Promise<Roster> {
  const clock = deps.clock ?? systemClock
  const ids = deps.ids ?? randomIds
  const storeDir = await makeStoreDir(config.storeDir)
  // On PostgreSQL, STORE_DIR is this process's own: its lock file (so the CLI on this machine reaches this server
  // rather than running jobs beside it) and its cache of job files. Taken first, as the embedded store's lock is.
  const localLock = config.databaseUrl === undefined ? undefined : await acquireStoreLock(storeDir, {})
  let stores: Stores
  try {
    stores = await openStores(config, {
      logger: deps.logger,
      seed: () => seedCatalog(config.tenant, clock, ids),
      cacheParent: storeDir,
      ...(deps.openJournal ? { openJournal: deps.openJournal } : {}),
    })
  } catch (error) {
    await localLock?.release()
    throw error
  }
  const lock = (stores.embedded?.lock ?? localLock) as StoreLock
  const close = async () => {
    try {
      await stores.close()
    } finally {
      await localLock?.release()
    }
  }
  const use = deps.importWorker ?? 'busy'
  // The thread itself starts with the first import (ImportWorker.warm): a CLI command that imports nothing never has one.
  const reader = use === 'off' ? undefined : new ImportWorker(deps.logger)
  try {
    const { catalog, artifacts } = stores
    await applyTenantSettings(catalog, config.tenant, deps.logger)
    const events = new JobEvents(deps.logger)
    const tenant = deps.tenant ?? (config.auth0 ? await openTenantDirectory(config.auth0) : undefined)
    const fileUsers = stores.embedded?.fileUsers
    const engine = new Engine(
      {
        // One async port whichever backend holds the users; only the embedded store has upkeep of its own.
        users: stores.users,
        ...(fileUsers ? { maintenance: fileStoreMaintenance(fileUsers) } : {}),
        catalog,
        artifacts,
        clock,
        ids,
        logger: deps.logger,
        events,
        limits: {
          ...config.limits,
          chunkRows,
          ...(deps.compaction === 'command'
            ? { compactAtJournalBytes: 4 * defaultCompactAtJournalBytes }
            : {}),
        },
        // The embedded store is one process (STORE_DIR is locked); on PostgreSQL any number of replicas share the
        // catalog, so jobs are claimed with leases that lapse when their holder dies.
        replica: { id: newReplicaId(), shared: stores.kind === 'postgres' },
        faults: config.faults,
        ...(tenant ? { tenant } : {}),
        ...(reader && use !== 'off' ? { fileReader: { reader, use } } : {}),
      },
      { backups: { store: stores.backups, keep: config.backup.keep } },
    )
    // Before anything serves or runs: a tenant Roster cannot use stops the server and the CLI, naming the setting.
    if (engine.ctx.tenant) await connectTenant(engine.ctx)
    return {
      engine,
      audit: stores.audit,
      lock,
      storeDir,
      stores,
      controlToken: randomBytes(24).toString('base64url'),
      async close(options?: StopOptions) {
        await engine.stop(options)
        await reader?.close()
        await close()
      },
    }
  } catch (error) {
    await reader?.close()
    await close()
    throw error
  }
}

/**
 * Start-up check of the Auth0 tenant: the domain answers, the credential is accepted, every scope is granted (the
 * error's message names the setting and the scope), then its connections become the catalog's (decision 1).
 */
async function connectTenant(ctx: EngineContext): Promise<void> {
  const tenant = ctx.tenant as TenantDirectory
  try {
    await tenant.verify()
    const connections = await syncTenantConnections(ctx)
    ctx.logger.info('directory: the Auth0 tenant', { domain: tenant.domain, connections: connections.length })
    // A store that was the directory before AUTH0_DOMAIN was set keeps its users, untouched and unused meanwhile;
    // its connections were just replaced by the tenant's, which is worth a word.
    const embedded = await ctx.users.count()
    if (embedded > 0) {
      ctx.logger.warn(
        "the embedded store holds users that Roster leaves alone while AUTH0_DOMAIN is set; the catalog's " +
          "connections are now the tenant's: give the tenant its own STORE_DIR",
        { users: embedded },
      )
    }
  } catch (error) {
    const problem = error instanceof AppError ? error : new AppError('unexpected', String(error))
    throw new AppError(
      problem.code,
      `Roster cannot use the Auth0 tenant ${tenant.domain} (AUTH0_DOMAIN): ${problem.message}`,
      problem.details,
    )
  }
}

/**
 * TENANT_NAME and TENANT_OWNERS describe the tenant: set, they apply at every start (not only the store's first),
 * and a change to what the store holds is logged with both values. Unset, the store's values stay.
 */
async function applyTenantSettings(
  catalog: CatalogStore,
  wanted: Config['tenant'],
  logger: Logger,
): Promise<void> {
  const { tenant } = catalog.read()
  const name = wanted.name !== undefined && wanted.name !== tenant.name ? wanted.name : undefined
  const owners =
    wanted.owners !== undefined && wanted.owners.join(',') !== tenant.owners.join(',')
      ? wanted.owners
      : undefined
  if (name === undefined && owners === undefined) return
  await catalog.update((draft) => {
    if (name !== undefined) draft.tenant.name = name
    if (owners !== undefined) draft.tenant.owners = [...owners]
  })
  if (name !== undefined)
    logger.info('tenant name set from TENANT_NAME', { before: tenant.name, after: name })
  if (owners !== undefined) {
    logger.info('tenant owners set from TENANT_OWNERS', { before: tenant.owners, after: owners })
  }
}

/**
 * The Auth0 adapter, loaded only in front of a tenant: the `auth0` SDK takes ~0.8 s to import, which every start
 * and every CLI command of the embedded default would otherwise pay.
 */
async function openTenantDirectory(settings: NonNullable<Config['auth0']>): Promise<TenantDirectory> {
  const { createAuth0Client, createTenantDirectory } = await import('./adapters/auth0/index.ts')
  return createTenantDirectory(createAuth0Client(settings))
}
