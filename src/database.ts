import { type MigrationResult, migrate } from './adapters/postgres/migrate.ts'
import { createPool, redactUrl } from './adapters/postgres/pool.ts'
import type { Config } from './config.ts'
import { AppError } from './errors.ts'

/**
 * The PostgreSQL store (DATABASE_URL, issue 14), as far as this version goes: its schema can be applied
 * (`roster db migrate`); serving from it comes next. Until then, Roster with DATABASE_URL set stops at start with
 * `store_unavailable` instead of quietly using the embedded store the person meant to leave.
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

/** The refusal every command but `db migrate` meets while DATABASE_URL is set. */
export function postgresStoreIncomplete(databaseUrl: string): AppError {
  return new AppError(
    'store_unavailable',
    `DATABASE_URL is set (${redactUrl(databaseUrl)}), but this version of Roster cannot run on PostgreSQL yet: ` +
      'only `roster db migrate` uses it so far. Unset DATABASE_URL to use the embedded store in STORE_DIR.',
  )
}
