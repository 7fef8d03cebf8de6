import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join, relative, resolve } from 'node:path'
import type { Pool } from './adapters/postgres/pool.ts'
import { type AccessMapping, accessMappingFile } from './adapters/store/access-mapping.ts'
import { createFileArtifacts } from './adapters/store/artifacts.ts'
import { asyncUserStore } from './adapters/store/async-user-store.ts'
import { createFileAuditLog } from './adapters/store/audit-file.ts'
import { createBackupFiles } from './adapters/store/backup-files.ts'
import { openCatalogStore } from './adapters/store/catalog-store.ts'
import { privateDirMode } from './adapters/store/durable-fs.ts'
import { type FileUserStore, openFileUserStore } from './adapters/store/file-user-store.ts'
import type { OpenAppendHandle } from './adapters/store/journal-writer.ts'
import { acquireStoreLock, type StoreLock } from './adapters/store/store-lock.ts'
import { tightenStorePermissions } from './adapters/store/store-permissions.ts'
import type { Config } from './config.ts'
import type { Catalog } from './domain/catalog.ts'
import type { Artifacts, AuditLog, BackupStore, CatalogStore, Clock, Ids } from './engine/ports.ts'
import type { AsyncUserStore } from './engine/user-directory.ts'
import { AppError } from './errors.ts'
import type { Logger } from './logger.ts'

/**
 * Every store of the engine, opened in one place for the configured backend: the embedded store in STORE_DIR, or
 * PostgreSQL when DATABASE_URL is set. The server, the CLI's local mode and `roster store copy` all open them here.
 */
export interface Stores {
  kind: 'embedded' | 'postgres'
  /** For messages: the STORE_DIR path, or DATABASE_URL with its password hidden. */
  where: string
  catalog: CatalogStore
  users: AsyncUserStore
  artifacts: Artifacts
  audit: AuditLog
  backups: BackupStore
  /** The Slack access mapping (access.json, or the catalog on PostgreSQL). */
  access: AccessMapping
  /** What the embedded backend alone has: its one-process lock and the file user store (journal compaction). */
  embedded?: EmbeddedExtras
  /**
   * What the PostgreSQL backend alone has: the pool every adapter shares (other stores may open on it too), and
   * `requests`, a small one for the short writes a request waits on (commits without waiting for the disk flush).
   */
  postgres?: { pool: Pool; requests: Pool; databaseUrl: string }
  /** Closes everything opened here (and releases the lock). */
  close(): Promise<void>
}

export interface EmbeddedExtras {
  storeDir: string
  lock: StoreLock
  fileUsers: FileUserStore
}

export interface StoreLocation {
  storeDir: string
  databaseUrl?: string | undefined
}

export interface OpenStoresOptions {
  logger: Logger
  /** The catalog of a new store. */
  seed: () => Catalog
  /** false: a store that does not exist yet is refused instead of created (the source of a copy). Default true. */
  create?: boolean
  /** The embedded journal's files (durability tests record every write and sync). */
  openJournal?: OpenAppendHandle
  /** PostgreSQL: the folder holding this process's cache of job files. Default: the OS temp folder. */
  cacheParent?: string
}

export async function openStores(location: StoreLocation, options: OpenStoresOptions): Promise<Stores> {
  if (location.databaseUrl !== undefined) {
    // Loaded only here: the embedded default never loads (nor pays at start for) the PostgreSQL driver.
    const { openPostgresStores } = await import('./adapters/postgres/open-stores.ts')
    return openPostgresStores(location.databaseUrl, options)
  }
  return openEmbeddedStores(location.storeDir, options)
}

/** STORE_DIR, made (private) if missing; its absolute path. A path Roster cannot use is said plainly. */
export async function makeStoreDir(dir: string): Promise<string> {
  const storeDir = resolve(dir)
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
  return storeDir
}

async function openEmbeddedStores(dir: string, options: OpenStoresOptions): Promise<Stores> {
  const storeDir = resolve(dir)
  // A new store (a fresh clone's ./store holds only its README) is made private without a warning: nothing was
  // ever exposed. An existing one that is looser was left so by an older Roster or by hand: that is worth a word.
  const isNew = !existsSync(join(storeDir, 'catalog.json'))
  if (isNew && options.create === false) {
    throw new AppError('store_unavailable', `There is no Roster store in ${storeDir} (no catalog.json).`)
  }
  await makeStoreDir(storeDir)
  const lock = await acquireStoreLock(storeDir, {})
  try {
    const loosened = await tightenStorePermissions(storeDir)
    if (loosened.length > 0) {
      options.logger[isNew ? 'debug' : 'warn']('store permissions tightened: files 0600, folders 0700', {
        count: loosened.length,
        paths: loosened.slice(0, 20).map((path) => relative(storeDir, path) || '.'),
      })
    }
    const catalog = await openCatalogStore(join(storeDir, 'catalog.json'), options.seed)
    const fileUsers = await openFileUserStore(join(storeDir, 'users'), {
      ...(options.openJournal ? { openJournal: options.openJournal } : {}),
    })
    const audit = createFileAuditLog(join(storeDir, 'audit.jsonl'))
    return {
      kind: 'embedded',
      where: storeDir,
      catalog,
      users: asyncUserStore(fileUsers),
      artifacts: createFileArtifacts(join(storeDir, 'jobs')),
      audit,
      backups: createBackupFiles(join(storeDir, 'backups')),
      access: accessMappingFile(join(storeDir, 'access.json')),
      embedded: { storeDir, lock, fileUsers },
      async close() {
        try {
          // Writes still under way land before the lock goes: no write into the folder once another process may
          // hold it.
          await catalog.close()
          await audit.close()
          await fileUsers.close()
        } finally {
          await lock.release()
        }
      },
    }
  } catch (error) {
    await lock.release()
    throw error
  }
}

/** A new store's catalog: the tenant from configuration and Auth0's default database connection. */
export function seedCatalog(tenant: Partial<Config['tenant']>, clock: Clock, ids: Ids): Catalog {
  const now = clock.now().toISOString()
  return {
    version: 1,
    tenant: { name: tenant.name ?? 'roster', owners: tenant.owners ?? [], createdAt: now },
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
