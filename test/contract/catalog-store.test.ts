import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe } from 'vitest'
import { openPgCatalogStore } from '../../src/adapters/postgres/catalog-store.ts'
import { openCatalogStore } from '../../src/adapters/store/catalog-store.ts'
import { type Catalog, catalogSchema } from '../../src/domain/catalog.ts'
import { hasPostgres } from '../support/postgres.ts'
import { usePgContractDatabase } from '../support/postgres-contract.ts'
import { tempDir } from '../support/temp-dir.ts'
import { catalogStoreContract } from './catalog-store.contract.ts'

describe('CatalogStore on a file (openCatalogStore)', () => {
  catalogStoreContract(async () => {
    const file = join(await tempDir('roster-catalog-'), 'catalog.json')
    return {
      open: (seed) => openCatalogStore(file, seed),
      stored: async () => catalogSchema.parse(JSON.parse(await readFile(file, 'utf8'))),
      // A directory where the tmp file goes makes the write fail, whoever runs the test (root ignores chmod).
      breakWrites: () => mkdir(`${file}.tmp`),
    }
  })
})

describe.skipIf(!hasPostgres)('CatalogStore in PostgreSQL (openPgCatalogStore)', () => {
  const db = usePgContractDatabase()

  catalogStoreContract(async () => {
    const pool = db.pool()
    await pool.query('DROP TRIGGER IF EXISTS catalog_broken ON catalog')
    await pool.query('DELETE FROM catalog')
    return {
      async open(seed) {
        const store = await openPgCatalogStore(pool, db.url(), seed)
        db.cleanup(() => store.close())
        return store
      },
      async stored() {
        const { rows } = await pool.query<{ doc: Catalog }>('SELECT doc FROM catalog')
        return catalogSchema.parse(rows[0]?.doc)
      },
      // A trigger that refuses every change of the row: reads still work, writes fail as on a full disk.
      async breakWrites() {
        await pool.query(
          `CREATE OR REPLACE FUNCTION catalog_refuse() RETURNS trigger LANGUAGE plpgsql AS
             $$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'; END $$`,
        )
        await pool.query(
          'CREATE TRIGGER catalog_broken BEFORE UPDATE ON catalog FOR EACH ROW EXECUTE FUNCTION catalog_refuse()',
        )
      },
    }
  })
})
