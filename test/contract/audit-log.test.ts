import { join } from 'node:path'
import { describe } from 'vitest'
import { createPgAuditLog } from '../../src/adapters/postgres/audit.ts'
import { createFileAuditLog } from '../../src/adapters/store/audit-file.ts'
import { hasPostgres } from '../support/postgres.ts'
import { usePgContractDatabase } from '../support/postgres-contract.ts'
import { tempDir } from '../support/temp-dir.ts'
import { auditLogContract } from './audit-log.contract.ts'

describe('AuditLog in a file (createFileAuditLog)', () => {
  auditLogContract(async () => {
    const file = join(await tempDir('roster-audit-'), 'audit.jsonl')
    return { log: createFileAuditLog(file), reopen: () => createFileAuditLog(file) }
  })
})

describe.skipIf(!hasPostgres)('AuditLog in PostgreSQL (createPgAuditLog)', () => {
  const db = usePgContractDatabase()

  auditLogContract(async () => {
    await db.truncate('audit')
    return {
      log: createPgAuditLog(db.pool(), db.url()),
      reopen: () => createPgAuditLog(db.other(), db.url()),
    }
  })
})
