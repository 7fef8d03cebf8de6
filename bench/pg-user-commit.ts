/**
 * Which bulk write a PostgreSQL user commit should use, for one 2,000-user chunk: `node --import tsx
 * bench/pg-user-commit.ts <DATABASE_URL of an empty database> [tenant users, default 100000]`. Fills the tenant, then
 * alternates, round after round, three ways of writing a chunk of new users and of replacing 2,000 existing ones:
 *
 * - `unnest`: one INSERT … SELECT FROM unnest($1::text[], …) ON CONFLICT DO UPDATE (`upsertByUnnest`);
 * - `copy`: COPY into a temp table (pg-copy-streams), then the same INSERT … SELECT from it (`upsertByCopy`, what
 *   src/adapters/postgres/user-store.ts uses when a chunk replaces users);
 *
 * each with the chunk's `commits` row, in one transaction;
 * - `floor` (inserts only): a bare COPY of the rows into `users`, the fastest the table and its indexes allow (what
 *   the store does for a chunk of new users only: `insertByCopy`).
 *
 * Prints the median of each. Figures vary by machine; this is not a test.
 */

import { pipeline } from 'node:stream/promises'
import { from as copyFrom } from 'pg-copy-streams'
import { migrate } from '../src/adapters/postgres/migrate.ts'
import { createPool, transaction } from '../src/adapters/postgres/pool.ts'
import { pgUserStore } from '../src/adapters/postgres/user-store.ts'
import { copyField, upsertByCopy, upsertByUnnest } from '../src/adapters/postgres/user-store-bulk.ts'
import type { StoredUser } from '../src/domain/users/user.ts'

type NewUser = Omit<StoredUser, 'rev'>
const databaseUrl = process.argv[2] ?? ''
if (databaseUrl === '') throw new Error('usage: bench/pg-user-commit.ts <DATABASE_URL> [tenant users]')
const tenantUsers = Number(process.argv[3] ?? 100_000)
const chunkUsers = 2_000
const rounds = 7
const connectionId = 'con_k3Jd8sLq0PzX7aYb'

function user(n: number, name = 'Amélie'): NewUser {
  const id = n.toString(16).padStart(24, '0')
  return {
    user_id: `auth0|${id}`,
    connection_id: connectionId,
    email: `user${n}@example.com`,
    email_verified: true,
    username: `user${n}`,
    given_name: name,
    family_name: `Okafor ${n}`,
    name: `${name} Okafor`,
    user_metadata: { locale: 'fr-FR', plan: 'pro', n },
    app_metadata: { roles: ['reader'] },
    identities: [
      { connection: 'Username-Password-Authentication', provider: 'auth0', user_id: id, isSocial: false },
    ],
    created_at: '2026-01-02T03:04:05.000Z',
    updated_at: '2026-01-02T03:04:05.000Z',
    password_hash: '$2b$10$abcdefghijklmnopqrstuuM0P9nLb4a9XhJkmHT6s1G3s8Tq1xW2y',
  }
}
const chunk = (from: number, name?: string) =>
  Array.from({ length: chunkUsers }, (_, i) => user(from + i, name))

const line = (u: NewUser, rev: number) =>
  `${[u.user_id, u.connection_id, u.email, u.username ?? '', JSON.stringify(u)].map(copyField).join('\t')}\t${rev}\n`

/** One commit as the store makes it (the `commits` row, then the users), writing the users with `upsert`. */
async function commitWith(upsert: typeof upsertByCopy, jobId: string, puts: NewUser[]): Promise<void> {
  await transaction(pool, async (client) => {
    const { rows } = await client.query<{ seq: string }>(
      'INSERT INTO commits (job_id, chunk, meta) VALUES ($1, 0, $2) RETURNING seq',
      [jobId, '{}'],
    )
    await upsert(
      client,
      puts,
      puts.map((put) => JSON.stringify(put)),
      rows[0]?.seq as string,
    )
  })
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number

const pool = createPool(databaseUrl)

async function main(): Promise<void> {
  await migrate(pool, databaseUrl)
  const store = pgUserStore(pool, databaseUrl)
  for (let n = 0; n < tenantUsers; n += chunkUsers) {
    await store.commit({ jobId: 'job_fill', chunk: n / chunkUsers, puts: chunk(n), deletes: [], meta: {} })
  }
  await pool.query('VACUUM ANALYZE users')
  const times: Record<string, number[]> = {}
  const time = async (name: string, work: () => Promise<unknown>) => {
    const start = performance.now()
    await work()
    const elapsed = performance.now() - start
    times[name] = [...(times[name] ?? []), elapsed]
  }
  let next = tenantUsers
  for (let round = 0; round < rounds; round++) {
    const job = `job_r${round}`
    await time('insert 2,000 · unnest', () => commitWith(upsertByUnnest, `${job}u`, chunk(next)))
    next += chunkUsers
    await time('insert 2,000 · copy', () => commitWith(upsertByCopy, `${job}c`, chunk(next)))
    next += chunkUsers
    await time('insert 2,000 · floor (bare COPY)', () =>
      transaction(pool, async (client) => {
        const rows = chunk(next).map((u) => line(u, round + 1))
        const sql = 'COPY users (user_id, connection_id, email, username, doc, rev) FROM STDIN'
        await pipeline(
          (function* () {
            yield rows.join('')
          })(),
          client.query(copyFrom(sql)),
        )
      }),
    )
    next += chunkUsers
    const replaced = round * chunkUsers
    await time('replace 2,000 · unnest', () =>
      commitWith(upsertByUnnest, `${job}U`, chunk(replaced, `U${round}`)),
    )
    await time('replace 2,000 · copy', () =>
      commitWith(upsertByCopy, `${job}C`, chunk(replaced, `C${round}`)),
    )
  }
  process.stdout.write(`tenant ${tenantUsers} users, ${rounds} rounds, median per chunk:\n`)
  for (const [name, values] of Object.entries(times)) {
    process.stdout.write(`  ${name.padEnd(34)} ${median(values).toFixed(1)} ms\n`)
  }
  await pool.end()
}

await main()
