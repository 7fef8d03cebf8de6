/**
 * Auth0's two ways of paging a list:
 * - offset: `page` (0-based) and `per_page`; with `include_totals=true` the answer is
 *   `{start, limit, length, total, <items>}` (users) or `{total, start, limit, <items>}` (connections), without it a
 *   bare array;
 * - checkpoint: `from` (an opaque cursor from the previous answer's `next`) and `take`; the answer is
 *   `{<items>, next}`, `next` left out on the last page. The official SDK lists connections this way.
 */
export interface OffsetPage<T> {
  items: T[]
  start: number
  limit: number
  total: number
}

export function offsetPage<T>(all: readonly T[], page: number, perPage: number): OffsetPage<T> {
  const start = page * perPage
  return { items: all.slice(start, start + perPage), start, limit: perPage, total: all.length }
}

export interface CheckpointPage<T> {
  items: T[]
  /** The cursor for the following page; undefined on the last one. */
  next?: string
}

/**
 * A page starting at the item whose key is `from` (the first page when absent). Cursors are item keys (ids), so
 * a page boundary survives items added meanwhile. Null when `from` names no item (deleted since, or made up).
 */
export function checkpointPage<T>(
  all: readonly T[],
  keyOf: (item: T) => string,
  from: string | undefined,
  take: number,
): CheckpointPage<T> | null {
  const start = from === undefined ? 0 : all.findIndex((item) => keyOf(item) === from)
  if (start < 0) return null
  const items = all.slice(start, start + take)
  const following = all[start + take]
  return following === undefined ? { items } : { items, next: keyOf(following) }
}

/**
 * Auth0's `fields` / `include_fields`: keep only the named top-level fields, or drop them. `fields` is a
 * comma-separated list; empty means the whole object.
 */
export function projectFields(
  item: Record<string, unknown>,
  fields: string | undefined,
  includeFields: boolean,
): Record<string, unknown> {
  const names = (fields ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean)
  if (names.length === 0) return item
  return Object.fromEntries(Object.entries(item).filter(([key]) => names.includes(key) === includeFields))
}
