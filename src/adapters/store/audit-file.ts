import { appendFile, readFile } from 'node:fs/promises'
import { type AuditEntry, auditEntrySchema } from '../../domain/audit/audit-entry.ts'
import type { AuditLog } from '../../engine/ports.ts'
import { errnoCode } from './durable-json-file.ts'

/**
 * The audit log as JSON lines in `STORE_DIR/audit.jsonl` (mode 0600). Appends are serialized so lines never
 * interleave; a torn last line (crash mid-append) is skipped when reading.
 */
export function createFileAuditLog(file: string): AuditLog & { close(): Promise<void> } {
  let tail: Promise<void> = Promise.resolve()
  return {
    record(entry) {
      const line = `${JSON.stringify(auditEntrySchema.parse(entry))}\n`
      const write = tail.then(() => appendFile(file, line, { mode: 0o600 }))
      // One failed append must not fail every later one.
      tail = write.catch(() => undefined)
      return write
    },
    /** Waits for the appends under way (their outcomes go to their own callers). */
    close: () => tail,
    async recent(limit) {
      let text: string
      try {
        text = await readFile(file, 'utf8')
      } catch (error) {
        if (errnoCode(error) === 'ENOENT') return []
        throw error
      }
      const entries: AuditEntry[] = []
      for (const line of text.split('\n')) {
        if (line === '') continue
        const parsed = auditEntrySchema.safeParse(safeJson(line))
        if (parsed.success) entries.push(parsed.data)
      }
      return entries.slice(-limit)
    },
  }
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line)
  } catch {
    return undefined
  }
}
