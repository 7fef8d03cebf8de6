import { AppError } from '../../errors.ts'
import type { OpenStoresOptions, Stores } from '../../stores.ts'
import { accessMappingInCatalog } from '../store/access-mapping.ts'
import { createPgArtifacts } from './artifacts.ts'
import { createPgAuditLog } from './audit.ts'
import { createPgBackupStore } from './backups.ts'
import { openPgCatalogStore } from './catalog-store.ts'
import { migrate } from './migrate.ts'
import { createPool, databaseUnavailable, type Pool, redactUrl } from './pool.ts'
import { pgUserStore } from './user-store.ts'

/**
 * The stores on PostgreSQL (DATABASE_URL): one pool shared by every adapter (and a small one for requests), the
 * schema brought up to date first (pending migrations, under the migrator's advisory lock, as `roster db migrate`
 * applies them), then the catalog (seeded on first use). A database that cannot be reached or refuses stops here
 * with one line naming DATABASE_URL, its password hidden.
 */
export async function openPostgresStores(databaseUrl: string, options: OpenStoresOptions): Promise<Stores> {
  const onIdleError = (error: Error) =>
    options.logger.warn('PostgreSQL: an idle connection broke; the pool opens another', {
      error: error.message,
    })
  const pool = createPool(databaseUrl, { onIdleError })
  // What a request waits on before it is answered (the audit record of an access decision, the Slack replay
  // guard's key): a few connections of its own, so a Slack ack never queues behind the jobs' connections, and
  // commits that do not wait for the disk flush, which would queue behind the WAL of a running import.
  const requests = createPool(databaseUrl, {
    onIdleError,
    max: 3,
    name: 'roster-requests',
    asyncCommit: true,
  })
  try {
    if (options.create === false) await refuseEmpty(pool, databaseUrl)
    await migrate(pool, databaseUrl)
    const catalog = await openPgCatalogStore(pool, databaseUrl, options.seed, { logger: options.logger })
    const artifacts = createPgArtifacts(pool, databaseUrl, {
      ...(options.cacheParent === undefined ? {} : { cacheParent: options.cacheParent }),
    })
    return {
      kind: 'postgres',
      where: redactUrl(databaseUrl),
      catalog,
      users: pgUserStore(pool, databaseUrl),
      artifacts,
      audit: createPgAuditLog(requests, databaseUrl),
      backups: createPgBackupStore(pool, databaseUrl),
      access: accessMappingInCatalog(catalog),
      postgres: { pool, requests, databaseUrl },
      async close() {
        try {
          await catalog.close()
          await artifacts.close()
        } finally {
          await Promise.all([pool.end(), requests.end()])
        }
      },
    }
  } catch (error) {
    await Promise.all([pool.end().catch(() => undefined), requests.end().catch(() => undefined)])
    throw error
  }
}

/** The source of a copy must be a Roster store already: an empty database is refused, and left untouched. */
async function refuseEmpty(pool: Pool, databaseUrl: string): Promise<void> {
  let found: boolean
  try {
    const { rows } = await pool.query<{ n: string }>(
      'SELECT count(*) AS n FROM pg_tables WHERE tablename = $1',
      ['roster_migrations'],
    )
    found = Number(rows[0]?.n ?? 0) > 0 && (await pool.query('SELECT 1 FROM catalog')).rowCount === 1
  } catch (error) {
    throw databaseUnavailable(databaseUrl, 'connect', error)
  }
  if (!found) {
    throw new AppError('store_unavailable', `There is no Roster store in ${redactUrl(databaseUrl)}.`)
  }
}
