import { join } from 'node:path'
import { afterAll, beforeAll, describe } from 'vitest'
import { createPgAuditLog } from '../../src/adapters/postgres/audit.ts'
import { migrate } from '../../src/adapters/postgres/migrate.ts'
import { createPool, type Pool } from '../../src/adapters/postgres/pool.ts'
import { createFileAuditLog } from '../../src/adapters/store/audit-file.ts'
import { hasPostgres, useTestDatabase } from '../support/postgres.ts'
import { tempDir } from '../support/temp-dir.ts'
import { auditLogContract } from './audit-log.contract.ts'

describe('AuditLog in a file (createFileAuditLog)', () => {
  auditLogContract(async () => {
    const file = join(await tempDir('roster-audit-'), 'audit.jsonl')
    return { log: createFileAuditLog(file), reopen: () => createFileAuditLog(file) }
  })
})

describe.skipIf(!hasPostgres)('AuditLog in PostgreSQL (createPgAuditLog)', () => {
  const databaseUrl = useTestDatabase()
  let pool: Pool
  /** Another replica's connections to the same database. */
  let other: Pool

  beforeAll(async () => {
    pool = createPool(databaseUrl())
    other = createPool(databaseUrl())
    await migrate(pool, databaseUrl())
  })
  afterAll(async () => {
    await Promise.all([pool.end(), other.end()])
  })

  auditLogContract(async () => {
    await pool.query('TRUNCATE audit')
    return {
      log: createPgAuditLog(pool, databaseUrl()),
      reopen: () => createPgAuditLog(other, databaseUrl()),
    }
  })
})
