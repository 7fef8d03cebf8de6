/**
 * `npm run bench -- --store postgres`: a throwaway PostgreSQL cluster of the bench's own (the tests' code,
 * test/support/postgres-cluster.ts, with PostgreSQL's default durability), a template database per tenant size
 * filled by COPY (not through the engine: a million users in a minute, not an hour), and a fresh database per
 * scenario made from it (`CREATE DATABASE … TEMPLATE`: a file copy).
 */
import { mkdtemp } from 'node:fs/promises'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import { copyField } from '../../src/adapters/postgres/user-store-bulk.ts'
import { loadConfig } from '../../src/config.ts'
import type { StoredUser } from '../../src/domain/users/user.ts'
import { silentLogger } from '../../src/logger.ts'
import { openRoster } from '../../src/roster.ts'
import {
  type Cluster,
  findBinaries,
  missingPostgresMessage,
  startCluster,
  stopAbandonedClusters,
} from '../../test/support/postgres-cluster.ts'
import { storedUser } from './generate.ts'

/** A user-facing refusal: main.ts prints its message alone and exits 1 (no stack trace). */
export class BenchUsageError extends Error {}

export async function startBenchCluster(): Promise<Cluster> {
  const bin = findBinaries()
  if (bin === undefined)
    throw new BenchUsageError(
      `npm run bench -- --store postgres needs a PostgreSQL server: ${missingPostgresMessage}`,
    )
  await stopAbandonedClusters(bin)
  // pg_stat_statements: where the database's time goes, for a scenario that misses its target (pg-statements.ts).
  return startCluster(bin, { durable: true, settings: ['shared_preload_libraries=pg_stat_statements'] })
}

/** One statement on the cluster's `postgres` database (CREATE DATABASE cannot run in a transaction). */
export async function admin(baseUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: `${baseUrl}/postgres` })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

/** A `users` row in COPY text format, as the PostgreSQL user store writes it (doc without rev). */
export function copyLine(user: Omit<StoredUser, 'rev'>, rev = 0): string {
  const { rev: _rev, ...doc } = user as StoredUser
  const username = user.username === undefined ? '\\N' : copyField(user.username)
  return `${copyField(user.user_id)}\t${copyField(user.connection_id)}\t${copyField(user.email)}\t${username}\t${copyField(JSON.stringify(doc))}\t${rev}\n`
}

export const copyUsers = 'COPY users (user_id, connection_id, email, username, doc, rev) FROM STDIN'

/** COPYs `count` lines made by `line(i)` in pieces of ~1 MB through `client`. */
export async function copyRows(
  client: pg.ClientBase,
  count: number,
  line: (i: number) => string,
): Promise<void> {
  await pipeline(
    function* () {
      let piece = ''
      for (let i = 0; i < count; i++) {
        piece += line(i)
        if (piece.length >= 1 << 20) {
          yield piece
          piece = ''
        }
      }
      if (piece !== '') yield piece
    },
    client.query(copyFrom(copyUsers)),
  )
}

export interface PgTemplate {
  name: string
  connection: string
  users: number
}

/**
 * A template database with a tenant of `users` users: Roster creates it (migrations, catalog, default connection),
 * then the users are COPYed in and the table analyzed, so every copy starts with the planner's statistics.
 */
export async function makePgTemplate(baseUrl: string, workDir: string, users: number): Promise<PgTemplate> {
  const name = `bench_tpl_${users}`
  await admin(baseUrl, `CREATE DATABASE ${name}`)
  const url = `${baseUrl}/${name}`
  const storeDir = await mkdtemp(join(workDir, 'pg-template-'))
  const roster = await openRoster(
    loadConfig({ STORE_DIR: storeDir, DATABASE_URL: url, LOG_LEVEL: 'silent' }),
    {
      logger: silentLogger,
    },
  )
  const connection = roster.engine.listConnections()[0]?.id
  await roster.close()
  if (connection === undefined) throw new Error('a new database has no default connection')
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    if (users > 0) {
      await copyRows(client, users, (n) => copyLine(storedUser(n, connection)))
      await client.query('VACUUM ANALYZE users')
    }
  } finally {
    await client.end()
  }
  return { name, connection, users }
}

let copies = 0
/** A fresh database copied from the template database `template` (its name); its URL. */
export async function copyPgTemplate(baseUrl: string, template: string): Promise<string> {
  copies += 1
  const name = `bench_${copies}`
  await admin(baseUrl, `CREATE DATABASE ${name} TEMPLATE ${template}`)
  return `${baseUrl}/${name}`
}

/** Drops a scenario's database (closing what is still connected): a 1M-user copy holds about a gigabyte. */
export async function dropDatabase(baseUrl: string, url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1)
  await admin(baseUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
}
