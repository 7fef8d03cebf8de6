import { isImportableField, isReadOnlyPath } from './export-labels.ts'
import { isReservedKey, limitRowError, reservedKeyMessage } from './input-limits.ts'
import { givenTwice, type LabelDisagreement } from './label-disagreements.ts'
import { isPlainObject, jsonEqual } from './merge-patch.ts'
import type { RowError } from './validate-row.ts'

export type MetadataField = 'app_metadata' | 'user_metadata'

export interface NormalizedRow {
  /** The row in Auth0's import shape, ready for validation. Unknown keys are kept so validation names them. */
  row: unknown
  /** Keys that named read-only fields (`Created At`, `identities[0].connection`): ignored, reported on the job. */
  ignored: string[]
  errors: RowError[]
  /**
   * Metadata given only as dotted columns (`user_metadata.plan`): a column is one key, not the whole object, so
   * an upsert merges it in instead of replacing the object (which would wipe every key the file did not export).
   */
  partialMetadata: MetadataField[]
  /**
   * Fields given both by their own name and by a label, with different values (`family_name` exported, `Family
   * Name` added by a person). The row holds the own name's value; the planner decides which one was the edit
   * by comparing both with the stored user, and fails the row when it cannot tell. Absent when there are none.
   */
  disagreements?: LabelDisagreement[]
}

/** The lists of a row with nothing to say: one frozen array for every such row (a file's worth of empty ones). */
const none: never[] = Object.freeze([]) as never[]

/** Fields that find the user: a label and the field disagreeing on one of them can never be settled by a lookup. */
const matchFields = new Set(['email', 'user_id', 'username'])

/**
 * Maps an exported row back to Auth0's import shape: export labels (`Family Name`) and dotted paths
 * (`user_metadata.plan`) become fields, read-only fields are dropped, and a `user_id` that already carries the
 * connection's prefix (`auth0|62d1…`, as every export does) is unprefixed so the prefix is never doubled. Where a
 * field is given both by its own name and by a label with different values (`email_verified` added next to an
 * exported `Email Verified`, or `Family Name` added next to an exported `family_name`, both as the Dashboard guide
 * tells people to), neither is dropped: the row carries both, and the planner keeps the one that was edited.
 */
export function normalizeRow(
  raw: unknown,
  labels: ReadonlyMap<string, string>,
  provider: string,
): NormalizedRow {
  if (!isPlainObject(raw)) return { row: raw, ignored: none, errors: none, partialMetadata: none }
  // Fast path, and the common case: an Auth0-shaped row needs no mapping, so it is used as it is, uncopied.
  if (Object.keys(raw).every(isImportableField) && !hasPrefixedId(raw, provider)) {
    return { row: raw, ignored: none, errors: none, partialMetadata: none }
  }
  const row: Record<string, unknown> = {}
  const sources = new Map<string, string>()
  const ignored: string[] = []
  const errors: RowError[] = []
  const dotted = new Set<MetadataField>()
  const entries = Object.entries(raw)
  const mapped = entries.filter(([key]) => !isImportableField(key))
  const own = entries.filter(([key]) => isImportableField(key))
  for (const [key, value] of mapped) {
    const path = labels.get(key) ?? key
    // Never assigned, at any segment: `row.__proto__ = …` would set the row's prototype, and validation would then
    // read its fields (an email, app_metadata.roles) as if the row had them. Refused as every route refuses them.
    const reserved = path.split('.').find(isReservedKey)
    if (reserved !== undefined) {
      errors.push(limitRowError({ code: 'RESERVED_KEY', path: [key], message: reservedKeyMessage(reserved) }))
      continue
    }
    if (isReadOnlyPath(path)) {
      ignored.push(key)
      continue
    }
    const root = path.split('.', 1)[0]
    if ((root === 'user_metadata' || root === 'app_metadata') && path !== root) dotted.add(root)
    const placed = place(row, path, value)
    const earlier = sources.get(path)
    if (earlier !== undefined && !jsonEqual(placed.previous, value)) {
      errors.push({
        code: 'NOT_PASSED',
        path,
        message: `Error in ${path} property - Given twice, as "${earlier}" and "${key}", with different values. Keep one.`,
      })
    }
    sources.set(path, key)
  }
  const disagreements: LabelDisagreement[] = []
  for (const [key, value] of own) {
    const label = sources.get(key)
    const metadata = key === 'user_metadata' || key === 'app_metadata'
    if (label !== undefined && !metadata && !jsonEqual(row[key], value)) {
      if (matchFields.has(key)) errors.push(givenTwice(key, label, row[key], value))
      else disagreements.push({ field: key, label, labelValue: row[key] })
    }
    if (metadata) {
      // A whole object plus dotted columns: the columns refine the object, and the object is the whole truth.
      row[key] = isPlainObject(row[key]) && isPlainObject(value) ? { ...value, ...row[key] } : value
      dotted.delete(key)
    } else row[key] = value
  }
  if (hasPrefixedId(row, provider)) row.user_id = (row.user_id as string).slice(provider.length + 1)
  return {
    row,
    ignored,
    errors,
    partialMetadata: [...dotted],
    ...(disagreements.length > 0 ? { disagreements } : {}),
  }
}

function hasPrefixedId(row: Record<string, unknown>, provider: string): boolean {
  return typeof row.user_id === 'string' && row.user_id.startsWith(`${provider}|`)
}

/** Sets `value` at a top-level key or a dotted metadata path; other dotted keys stay literal for validation. */
function place(row: Record<string, unknown>, path: string, value: unknown): { previous: unknown } {
  const [root, ...rest] = path.split('.')
  const nestable = (root === 'user_metadata' || root === 'app_metadata') && rest.length > 0
  if (root === undefined || !nestable) {
    const previous = row[path]
    row[path] = value
    return { previous }
  }
  // Copies along the path: the caller's object is what the error report shows, so it is never mutated.
  let node: Record<string, unknown> = isPlainObject(row[root]) ? { ...row[root] } : {}
  row[root] = node
  for (const segment of rest.slice(0, -1)) {
    const current = node[segment]
    const child = isPlainObject(current) ? { ...current } : {}
    node[segment] = child
    node = child
  }
  const leaf = rest[rest.length - 1] as string
  const previous = node[leaf]
  node[leaf] = value
  return { previous }
}
