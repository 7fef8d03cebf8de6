import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join, relative, resolve } from 'node:path'
import { createFileArtifacts } from './adapters/store/artifacts.ts'
import { asyncUserStore, fileStoreMaintenance } from './adapters/store/async-user-store.ts'
import { createFileAuditLog } from './adapters/store/audit-file.ts'
import { createBackupFiles } from './adapters/store/backup-files.ts'
import { openCatalogStore } from './adapters/store/catalog-store.ts'
import { privateDirMode } from './adapters/store/durable-fs.ts'
import { openFileUserStore } from './adapters/store/file-user-store.ts'
import type { OpenAppendHandle } from './adapters/store/journal-writer.ts'
import { acquireStoreLock, type StoreLock } from './adapters/store/store-lock.ts'
import { tightenStorePermissions } from './adapters/store/store-permissions.ts'
import { newReplicaId, randomIds, systemClock } from './adapters/system.ts'
import type { Config } from './config.ts'
import type { Catalog } from './domain/catalog.ts'
import type { EngineContext } from './engine/context.ts'
import { Engine } from './engine/engine.ts'
import { JobEvents } from './engine/events.ts'
import type { AuditLog, CatalogStore, Clock, Ids } from './engine/ports.ts'
import { syncTenantConnections } from './engine/tenant/connections.ts'
import type { TenantDirectory } from './engine/tenant/tenant-directory.ts'
import { AppError } from './errors.ts'
import type { Logger } from './logger.ts'

/** Users per atomic commit: a 500 KB file (~2,000 users) is one commit, one fsync. */
const chunkRows = 2000

export interface Roster {
  engine: Engine
  /** Every access decision of the Slack app and the HTTP API. */
  audit: AuditLog
  lock: StoreLock
  /** What the CLI presents on the control channel; recorded in the lock file once the server listens. */
  controlToken: string
  storeDir: string
  close(): Promise<void>
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
}

/**
 * Opens the embedded store (taking its one-writer lock) and builds the engine over it. The server and the CLI's
 * local mode both start here, so they run the same store, engine and recovery.
 */
export async function openRoster(config: Config, deps: RosterDeps): Promise<Roster> {
  // Never fall back to the embedded store while the person asked for PostgreSQL (it is not complete yet).
  // Loaded only then: the PostgreSQL driver is not needed (nor paid for at start) by the embedded default.
  if (config.databaseUrl !== undefined)
    throw (await import('./database.ts')).postgresStoreIncomplete(config.databaseUrl)
  const storeDir = resolve(config.storeDir)
  await mkdir(storeDir, { recursive: true, mode: privateDirMode }).catch((error: NodeJS.ErrnoException) => {
    const why =
      error.code === 'ENOTDIR' || error.code === 'EEXIST'
        ? 'a part of that path is a file, not a folder'
        : error.code === 'EACCES' || error.code === 'EPERM'
          ? 'permission denied'
          : error.message
    throw new AppError(
      'store_unavailable',
      `Cannot create the store folder ${storeDir}: ${why}. Set STORE_DIR to a folder Roster may write.`,
    )
  })
  const lock = await acquireStoreLock(storeDir, {})
  try {
    // A new store (a fresh clone's ./store holds only its README) is made private without a warning: nothing was
    // ever exposed. An existing one that is looser was left so by an older Roster or by hand: that is worth a word.
    const isNew = !existsSync(join(storeDir, 'catalog.json'))
    const loosened = await tightenStorePermissions(storeDir)
    if (loosened.length > 0) {
      deps.logger[isNew ? 'debug' : 'warn']('store permissions tightened: files 0600, folders 0700', {
        count: loosened.length,
        paths: loosened.slice(0, 20).map((path) => relative(storeDir, path) || '.'),
      })
    }
    const clock = deps.clock ?? systemClock
    const ids = deps.ids ?? randomIds
    const catalog = await openCatalogStore(join(storeDir, 'catalog.json'), () =>
      seedCatalog(config, clock, ids),
    )
    await applyTenantSettings(catalog, config.tenant, deps.logger)
    const fileUsers = await openFileUserStore(join(storeDir, 'users'), {
      ...(deps.openJournal ? { openJournal: deps.openJournal } : {}),
    })
    const artifacts = createFileArtifacts(join(storeDir, 'jobs'))
    const events = new JobEvents(deps.logger)
    const tenant = deps.tenant ?? (config.auth0 ? await openTenantDirectory(config.auth0) : undefined)
    const engine = new Engine(
      {
        // The engine sees the file store through the same async port as PostgreSQL's; only its upkeep is its own.
        users: asyncUserStore(fileUsers),
        maintenance: fileStoreMaintenance(fileUsers),
        catalog,
        artifacts,
        clock,
        ids,
        logger: deps.logger,
        events,
        limits: { ...config.limits, chunkRows },
        // The embedded store is one process: STORE_DIR is locked.
        replica: { id: newReplicaId(), shared: false },
        faults: config.faults,
        ...(tenant ? { tenant } : {}),
      },
      { backups: { store: createBackupFiles(join(storeDir, 'backups')), keep: config.backup.keep } },
    )
    // Before anything serves or runs: a tenant Roster cannot use stops the server and the CLI, naming the setting.
    if (engine.ctx.tenant) await connectTenant(engine.ctx)
    return {
      engine,
      audit: createFileAuditLog(join(storeDir, 'audit.jsonl')),
      lock,
      storeDir,
      controlToken: randomBytes(24).toString('base64url'),
      async close() {
        await engine.stop()
        await fileUsers.close()
        await lock.release()
      },
    }
  } catch (error) {
    await lock.release()
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

/** First start: the tenant from configuration and Auth0's default database connection. */
function seedCatalog(config: Config, clock: Clock, ids: Ids): Catalog {
  const now = clock.now().toISOString()
  return {
    version: 1,
    tenant: { name: config.tenant.name ?? 'roster', owners: config.tenant.owners ?? [], createdAt: now },
    connections: [
      {
        id: ids.connectionId(),
        name: 'Username-Password-Authentication',
        strategy: 'auth0',
        enabled: true,
        created_at: now,
      },
    ],
    jobs: [],
    exportLabels: {},
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
