import { type MigrationResult, migrate } from './adapters/postgres/migrate.ts'
import { createPool, redactUrl } from './adapters/postgres/pool.ts'
import type { Config } from './config.ts'
import { AppError } from './errors.ts'

/**
 * `roster db migrate`: the PostgreSQL store's schema (DATABASE_URL, issue 14), applied on its own. Roster applies
 * it at every start too (openStores), so this is for doing it ahead, e.g. in a deploy step.
 */

/** Applies the pending migrations to DATABASE_URL's database; which it applied, and which were there already. */
export async function migrateDatabase(
  config: Pick<Config, 'databaseUrl'>,
): Promise<MigrationResult & { database: string }> {
  const url = config.databaseUrl
  if (url === undefined) {
    throw new AppError(
      'config_invalid',
      "roster db migrate applies Roster's schema to a PostgreSQL database: set DATABASE_URL (postgres://user:password@host:5432/database). The embedded store (STORE_DIR) needs no migration.",
    )
  }
  const pool = createPool(url, { max: 1 })
  try {
    return { ...(await migrate(pool, url)), database: redactUrl(url) }
  } finally {
    await pool.end()
  }
}
