import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe } from 'vitest'
import { createPgBackupStore } from '../../src/adapters/postgres/backups.ts'
import { createBackupFiles } from '../../src/adapters/store/backup-files.ts'
import { backupManifestFile } from '../../src/domain/backups/backup-set.ts'
import type { BackupStore } from '../../src/engine/ports.ts'
import { hasPostgres } from '../support/postgres.ts'
import { usePgContractDatabase } from '../support/postgres-contract.ts'
import { tempDir } from '../support/temp-dir.ts'
import { backupStoreContract } from './backup-store.contract.ts'

describe('BackupStore in folders (createBackupFiles)', () => {
  backupStoreContract(async () => {
    const dir = join(await tempDir('roster-backups-'), 'backups')
    const store = createBackupFiles(dir)
    return {
      store,
      reopen: () => createBackupFiles(dir),
      read: (name, file) => readWhole(store, name, file),
      breakManifest: (name) => writeFile(join(dir, name, backupManifestFile), '{"version":2}'),
    }
  })
})

describe.skipIf(!hasPostgres)('BackupStore in PostgreSQL (createPgBackupStore)', () => {
  const db = usePgContractDatabase()

  backupStoreContract(async () => {
    await db.truncate('backups', 'backup_files')
    // Parts of an odd size: a file of a few hundred KB spans several, and a part ends mid-read.
    const store = createPgBackupStore(db.pool(), db.url(), { partBytes: 65_537 })
    return {
      store,
      reopen: () => createPgBackupStore(db.other(), db.url()),
      read: (name, file) => readWhole(store, name, file),
      async breakManifest(name) {
        await db.pool().query(`UPDATE backups SET manifest = '{"version":2}' WHERE name = $1`, [name])
      },
    }
  })
})

/** A file of a set through the port's own readFile: the contract then holds both stores to it. */
async function readWhole(store: BackupStore, name: string, file: string): Promise<Buffer | undefined> {
  const parts = await store.readFile(name, file)
  if (parts === undefined) return undefined
  const chunks: Buffer[] = []
  for await (const part of parts) chunks.push(part as Buffer)
  return Buffer.concat(chunks)
}
