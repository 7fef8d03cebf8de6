import { isImportableField, isReadOnlyPath } from './export-labels.ts'
import { isPlainObject, jsonEqual } from './merge-patch.ts'
import type { RowError } from './validate-row.ts'

export interface NormalizedRow {
  /** The row in Auth0's import shape, ready for validation. Unknown keys are kept so validation names them. */
  row: unknown
  /** Keys that named read-only fields (`Created At`, `identities[0].connection`): ignored, reported on the job. */
  ignored: string[]
  errors: RowError[]
}

/**
 * Maps an exported row back to Auth0's import shape: export labels (`Family Name`) and dotted paths
 * (`user_metadata.plan`) become fields, read-only fields are dropped, and a `user_id` that already carries the
 * connection's prefix (`auth0|62d1…`, as every export does) is unprefixed so the prefix is never doubled.
 */
export function normalizeRow(
  raw: unknown,
  labels: ReadonlyMap<string, string>,
  provider: string,
): NormalizedRow {
  if (!isPlainObject(raw)) return { row: raw, ignored: [], errors: [] }
  // Fast path, and the common case: an Auth0-shaped row needs no mapping, so it is used as it is, uncopied.
  if (Object.keys(raw).every(isImportableField) && !hasPrefixedId(raw, provider)) {
    return { row: raw, ignored: [], errors: [] }
  }
  const row: Record<string, unknown> = {}
  const sources = new Map<string, string>()
  const ignored: string[] = []
  const errors: RowError[] = []
  for (const [key, value] of Object.entries(raw)) {
    const path = isImportableField(key) ? key : (labels.get(key) ?? key)
    if (isReadOnlyPath(path)) {
      ignored.push(key)
      continue
    }
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
  if (hasPrefixedId(row, provider)) row.user_id = (row.user_id as string).slice(provider.length + 1)
  return { row, ignored, errors }
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
