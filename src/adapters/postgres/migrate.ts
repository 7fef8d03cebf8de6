import { readdir, readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { AppError } from '../../errors.ts'
import { databaseUnavailable, type Pool, type PoolClient } from './pool.ts'

/**
 * Schema versions: the numbered SQL files in ./migrations (`001_store.sql`, `002_….sql`), applied in order, each
 * in its own transaction together with its row in `roster_migrations`, so a migration is applied whole or not at
 * all. Every run holds one session-level advisory lock throughout: replicas that start at once apply each
 * migration once (the others wait, then find nothing left to do).
 */

export interface Migration {
  /** 1 for `001_store.sql`. */
  version: number
  /** `001_store`: the file name without `.sql`. */
  name: string
  sql: string
}

export interface MigrationResult {
  /** Applied by this run, in order. */
  applied: string[]
  /** Already there before it. */
  existing: string[]
}

const migrationsDir = fileURLToPath(new URL('./migrations/', import.meta.url))
const fileName = /^(\d{3})_[a-z0-9_]+\.sql$/
/** pg_advisory_lock key of the migrator, the same in every Roster: 0x726f7374657201, "roster" in ASCII then 01. */
export const migrationLockKey = '32210689009742337'

/** The migrations shipped with this Roster, in order. */
export async function loadMigrations(dir: string = migrationsDir): Promise<Migration[]> {
  const names = (await readdir(dir)).filter((name) => fileName.test(name)).sort()
  const migrations: Migration[] = []
  for (const file of names) {
    const version = Number(file.slice(0, 3))
    if (migrations.some((m) => m.version === version)) {
      throw new Error(`Two migrations numbered ${file.slice(0, 3)} in ${dir}`)
    }
    migrations.push({ version, name: file.slice(0, -4), sql: await readFile(`${dir}/${file}`, 'utf8') })
  }
  return migrations
}

/**
 * Brings the database to the newest schema. A database migrated by a newer Roster (a version this one does not
 * know) is refused, as is a recorded migration whose name differs from ours: both mean the code and the database
 * disagree about what the tables are.
 */
export async function migrate(
  pool: Pool,
  databaseUrl: string,
  migrations?: readonly Migration[],
): Promise<MigrationResult> {
  const known = migrations ?? (await loadMigrations())
  let client: PoolClient
  try {
    client = await pool.connect()
  } catch (error) {
    throw databaseUnavailable(databaseUrl, 'connect', error)
  }
  let broken: Error | undefined
  try {
    await client.query('SELECT pg_advisory_lock($1)', [migrationLockKey])
    try {
      return await applyPending(client, known)
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [migrationLockKey]).catch((error: Error) => {
        // The lock ends with the session: a connection that cannot unlock is closed, not reused.
        broken = error
      })
    }
  } catch (error) {
    throw databaseUnavailable(databaseUrl, 'apply the schema', error)
  } finally {
    client.release(broken)
  }
}

async function applyPending(client: PoolClient, known: readonly Migration[]): Promise<MigrationResult> {
  await client.query(
    `CREATE TABLE IF NOT EXISTS roster_migrations (
       version integer PRIMARY KEY,
       name text NOT NULL,
       applied_at timestamptz NOT NULL DEFAULT now()
     )`,
  )
  const { rows } = await client.query<{ version: number; name: string }>(
    'SELECT version, name FROM roster_migrations ORDER BY version',
  )
  for (const row of rows) {
    const ours = known.find((m) => m.version === row.version)
    if (ours === undefined) {
      throw new AppError(
        'store_invalid',
        `The database has schema version ${row.name}, which this Roster does not know (it knows up to ${known.at(-1)?.name ?? 'none'}): it was set up by a newer Roster. Run that version, or a newer one.`,
      )
    }
    if (ours.name !== row.name) {
      throw new AppError(
        'store_invalid',
        `The database's migration ${row.version} is ${row.name}, but this Roster's is ${ours.name}: the database was not set up by this Roster.`,
      )
    }
  }
  const done = new Set(rows.map((row) => row.version))
  const applied: string[] = []
  for (const migration of known) {
    if (done.has(migration.version)) continue
    await client.query('BEGIN')
    try {
      await client.query(migration.sql)
      await client.query('INSERT INTO roster_migrations (version, name) VALUES ($1, $2)', [
        migration.version,
        migration.name,
      ])
      await client.query('COMMIT')
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined)
      throw new AppError(
        'store_invalid',
        `Migration ${migration.name} failed, and nothing of it was applied: ${(error as Error).message}. Is DATABASE_URL a database of its own for Roster?`,
        undefined,
        { cause: error },
      )
    }
    applied.push(migration.name)
  }
  return { applied, existing: rows.map((row) => row.name) }
}
