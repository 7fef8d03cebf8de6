import { type AuditEntry, auditEntrySchema } from '../../domain/audit/audit-entry.ts'
import type { AuditLog } from '../../engine/ports.ts'
import { databaseUnavailable, type Pool } from './pool.ts'

/**
 * The audit log in the `audit` table (migration 001): one row per decision, every replica appending to the same
 * log. `id` orders the rows (the order the database took them in); `at` is the entry's own time, as a timestamp,
 * for queries by period. An entry is checked before it is written, and again when read: a row another tool wrote
 * in another shape is left out, as the file log leaves out a torn line.
 */
export function createPgAuditLog(pool: Pool, databaseUrl: string): AuditLog {
  return {
    async record(entry) {
      const checked = auditEntrySchema.parse(entry)
      const at = Number.isNaN(Date.parse(checked.at)) ? new Date() : new Date(checked.at)
      try {
        await pool.query('INSERT INTO audit (at, entry) VALUES ($1, $2)', [at, checked])
      } catch (error) {
        throw databaseUnavailable(databaseUrl, 'write the audit log', error)
      }
    },

    async recent(limit) {
      let rows: { entry: unknown }[]
      try {
        ;({ rows } = await pool.query<{ entry: unknown }>(
          'SELECT entry FROM (SELECT id, entry FROM audit ORDER BY id DESC LIMIT $1) AS newest ORDER BY id',
          [Math.max(0, Math.floor(limit))],
        ))
      } catch (error) {
        throw databaseUnavailable(databaseUrl, 'read the audit log', error)
      }
      const entries: AuditEntry[] = []
      for (const row of rows) {
        const parsed = auditEntrySchema.safeParse(row.entry)
        if (parsed.success) entries.push(parsed.data)
      }
      return entries
    },
  }
}
