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
  // One set per key (rather than one of "key + value" strings): no string is built per row and key.
  const seen = { email: new Set<string>(), user_id: new Set<string>(), username: new Set<string>() }
  const duplicates = new Map<number, RowError>()
  const rowValues: (string | undefined)[] = [undefined, undefined, undefined]
  rows.forEach((row, index) => {
    if (!isPlainObject(row)) return
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k] as (typeof keys)[number]
      const value = row[key]
      rowValues[k] = undefined
      if (typeof value !== 'string' || value === '') continue
      const identity = key === 'user_id' ? value : value.toLowerCase()
      if (seen[key].has(identity)) {
        duplicates.set(index, {
          code: 'DUPLICATED_USER',
          path: key,
          message: `A user with this ${key} was already provided.`,
        })
        return
      }
      rowValues[k] = identity
    }
    // Only a row that is not a duplicate claims its keys.
    for (let k = 0; k < keys.length; k++) {
      const identity = rowValues[k]
      if (identity !== undefined) seen[keys[k] as (typeof keys)[number]].add(identity)
    }
  })
  return duplicates
}
