import { readFile } from 'node:fs/promises'
import { gunzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { pgUserStore } from '../../src/adapters/postgres/user-store.ts'
import { loadConfig } from '../../src/config.ts'
import type { ExportFormat } from '../../src/domain/export/format.ts'
import { Engine } from '../../src/engine/engine.ts'
import type { AsyncUserStore } from '../../src/engine/user-directory.ts'
import { silentLogger } from '../../src/logger.ts'
import { openRoster } from '../../src/roster.ts'
import { hasPostgres } from '../support/postgres.ts'
import { usePgContractDatabase } from '../support/postgres-contract.ts'
import { tempDir } from '../support/temp-dir.ts'
import { batch, conB, type NewUser, user } from '../support/user-store-fixtures.ts'

/**
 * Export files byte for byte: from the users' JSON bytes (`scanJson`) and from parsed users (`scan`, the way a store
 * without `scanJson` exports), on the embedded store and on PostgreSQL. Users with awkward values: separators and
 * escapes inside strings, nested keys out of jsonb's order, numbers JavaScript prints with an exponent, empty
 * objects and arrays, a control character, index-like keys.
 */

const requestedBy = { via: 'cli' as const, id: 'tester' }
const cases: { format: ExportFormat; gzip: boolean }[] = [
  { format: 'csv', gzip: false },
  { format: 'csv', gzip: true },
  { format: 'json', gzip: false },
  { format: 'ndjson', gzip: false },
]

const awkward: NewUser[] = [
  user(1),
  user(2, {
    given_name: 'Ada: "quoted", spaced , \\ back\tslash',
    family_name: 'zoë 🎉 \u2028 {} [] : ,',
    user_metadata: {
      zeta: 1,
      a: { 'b c': [1, 2.5, { y: null, x: true }], '': '' },
      neg: -0.5,
      big: 1e21,
      small: 5e-7,
      deep: { k: ['x', { 'key with space': 'v a l' }] },
      empty: {},
      list: [],
    },
    app_metadata: { roles: ['admin', 'ops'], 'ké y': 'v', plan: 'team' },
  }),
  user(3, { name: 'bell \u0007 ring', user_metadata: { 10: 'ten', 2: 'two', b: 'bee' } }),
  user(4, { connection_id: conB, username: undefined, blocked: true }),
]

interface Backend {
  engine: Engine
  close(): Promise<void>
}

/** An Engine whose users are `users` (the file store if absent) holding `awkward`; without scanJson if `parsed`. */
async function openBackend(users: AsyncUserStore | undefined, parsed: boolean): Promise<Backend> {
  const roster = await openRoster(loadConfig({ STORE_DIR: await tempDir() }), { logger: silentLogger })
  const { maintenance, ...ctx } = roster.engine.ctx
  const store = users ?? ctx.users
  await store.commit(batch('job_seed', 0, { puts: awkward }))
  const { scanJson: _bytes, ...withoutBytes } = store
  const engine = new Engine({
    ...ctx,
    ...(maintenance && users === undefined ? { maintenance } : {}),
    users: parsed ? withoutBytes : store,
  })
  engine.start()
  return {
    engine,
    close: async () => {
      await engine.stop()
      await roster.close()
    },
  }
}

/** The export files of every case, as text. */
async function exportsOf(open: () => Promise<Backend>): Promise<string[]> {
  const b = await open()
  try {
    const files: string[] = []
    for (const { format, gzip } of cases) {
      const job = await b.engine.requestExport({ format, gzip, requestedBy })
      const done = await b.engine.waitFor(job.id)
      expect(done.status).toBe('completed')
      const file = await b.engine.exportFile(job.id)
      if (file === null) throw new Error(`no file for ${format}`)
      const bytes = await readFile(file.path)
      files.push((gzip ? gunzipSync(bytes) : bytes).toString('utf8'))
    }
    return files
  } finally {
    await b.close()
  }
}

describe('export files from bytes and from parsed users', () => {
  it('are the same on the embedded store', async () => {
    const fromBytes = await exportsOf(() => openBackend(undefined, false))
    const fromParsed = await exportsOf(() => openBackend(undefined, true))
    expect(fromBytes).toEqual(fromParsed)
    expect(fromBytes[2]).toContain('"zeta":1,"a":{"b c"')
  })

  describe.skipIf(!hasPostgres)('on PostgreSQL', () => {
    const db = usePgContractDatabase()

    const onPostgres = (parsed: boolean) => async () => {
      await db.truncate('users', 'commits')
      return openBackend(pgUserStore(db.pool(), db.url()), parsed)
    }

    it('are the same, and the same as the embedded store’s', async () => {
      const fromBytes = await exportsOf(onPostgres(false))
      const fromParsed = await exportsOf(onPostgres(true))
      expect(fromBytes).toEqual(fromParsed)
      expect(fromBytes).toEqual(await exportsOf(() => openBackend(undefined, false)))
    })

    it('are the same for users written before migration 005 (jsonb’s text: spaced, keys reordered)', async () => {
      const asJsonb = (parsed: boolean) => async () => {
        const backend = await onPostgres(parsed)()
        await db.pool().query('UPDATE users SET doc = doc::jsonb::json')
        return backend
      }
      const fromBytes = await exportsOf(asJsonb(false))
      expect(fromBytes).toEqual(await exportsOf(asJsonb(true)))
      // jsonb's order, as exports from PostgreSQL wrote it before (shorter keys first).
      expect(fromBytes[2]).toContain('"a":{"":"","b c"')
    })
  })
})
