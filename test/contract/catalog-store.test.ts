import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe } from 'vitest'
import { openCatalogStore } from '../../src/adapters/store/catalog-store.ts'
import { catalogSchema } from '../../src/domain/catalog.ts'
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
