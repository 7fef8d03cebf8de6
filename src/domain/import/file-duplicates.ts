import { isPlainObject } from './merge-patch.ts'
import type { RowError } from './validate-row.ts'

const keys = ['email', 'user_id', 'username'] as const

/**
 * Auth0: "Duplicated user entries in the import file cause an error. They do not cause an import followed by an
 * upsert." The first occurrence is imported; each later one fails with DUPLICATED_USER naming the shared key.
 * Works on normalized rows, before validation, so the answer depends on the file alone: a job resumed after a
 * crash reaches the same verdicts.
 */
export function findFileDuplicates(rows: readonly unknown[]): Map<number, RowError> {
  const seen = new Map<string, true>()
  const duplicates = new Map<number, RowError>()
  rows.forEach((row, index) => {
    if (!isPlainObject(row)) return
    const rowKeys: string[] = []
    for (const key of keys) {
      const value = row[key]
      if (typeof value !== 'string' || value === '') continue
      const identity = `${key}\u0000${key === 'user_id' ? value : value.toLowerCase()}`
      if (seen.has(identity)) {
        duplicates.set(index, {
          code: 'DUPLICATED_USER',
          path: key,
          message: `A user with this ${key} was already provided.`,
        })
        return
      }
      rowKeys.push(identity)
    }
    for (const identity of rowKeys) seen.set(identity, true)
  })
  return duplicates
}
