import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
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

  it('close waits for the appends under way', async () => {
    const file = join(await tempDir('roster-audit-'), 'audit.jsonl')
    const log = createFileAuditLog(file)
    const at = (n: number) => new Date(Date.UTC(2026, 11, 5, 1, 0, n)).toISOString()
    const records = [1, 2, 3].map((n) =>
      log.record({
        at: at(n),
        actor: { via: 'slack', id: `U0000000${n}` },
        action: 'jobs.read',
        allowed: true,
      }),
    )

    await log.close()

    const lines = (await readFile(file, 'utf8')).trim().split('\n')
    expect(lines.map((line) => JSON.parse(line).at)).toEqual([at(1), at(2), at(3)])
    await Promise.all(records)
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
