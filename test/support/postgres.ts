import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, inject } from 'vitest'

/**
 * The run's throwaway cluster (test/support/postgres-global.ts), for one test file: its own database, made before
 * the file's tests and dropped after them. Wrap PostgreSQL tests in `describe.skipIf(!hasPostgres)`: without
 * PostgreSQL installed the global setup says once what was skipped and why.
 */
export const postgresBaseUrl: string | undefined = inject('postgresUrl')
export const hasPostgres = postgresBaseUrl !== undefined

// The global setup starts the cluster only when a test file of the run imports this module itself. A file that
// reaches it through another module would skip its PostgreSQL tests silently: it fails instead, saying what to do.
if (inject('postgresStatus') === 'unneeded') {
  throw new Error(
    'This test file reaches test/support/postgres.ts through another module, so no PostgreSQL cluster was started ' +
      "for it (test/support/postgres-global.ts starts one for files that import it): add import '../support/postgres.ts' to the file.",
  )
}

function baseUrl(): string {
  if (postgresBaseUrl === undefined)
    throw new Error('no PostgreSQL cluster: guard with describe.skipIf(!hasPostgres)')
  return postgresBaseUrl
}

/** Runs one statement on the cluster's `postgres` database (CREATE/DROP DATABASE cannot run in a transaction). */
async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: `${baseUrl()}/postgres` })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

/** A new, empty database; its URL. `drop` removes it, closing whatever connections are still open on it. */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `t_${randomBytes(6).toString('hex')}`
  await admin(`CREATE DATABASE ${name}`)
  return {
    url: `${baseUrl()}/${name}`,
    drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  }
}

/**
 * A database for the enclosing `describe` (call it inside one): made in beforeAll, dropped in afterAll. Returns
 * its URL through a function, as the database exists only once beforeAll ran.
 */
export function useTestDatabase(): () => string {
  let database: { url: string; drop(): Promise<void> } | undefined
  beforeAll(async () => {
    database = await createTestDatabase()
  })
  afterAll(async () => {
    await database?.drop()
  })
  return () => {
    if (database === undefined) throw new Error('useTestDatabase: the database is made in beforeAll')
    return database.url
  }
}
