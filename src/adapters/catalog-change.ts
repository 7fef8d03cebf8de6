import type { Catalog } from '../domain/catalog.ts'
import { AppError } from '../errors.ts'

/**
 * How every CatalogStore applies a change and hands out the result, whatever keeps the catalog (a file, a
 * database): the same rules, so a change behaves the same on both.
 */

/** Changes a copy: a change that throws halfway leaves nothing behind. */
export function applyToCopy<T>(data: Catalog, change: (draft: Catalog) => T): { draft: Catalog; result: T } {
  const draft = structuredClone(data)
  const result = change(draft)
  if (result instanceof Promise) {
    result.catch(() => undefined)
    throw new AppError('unexpected', 'CatalogStore.update: `change` must be synchronous.')
  }
  return { draft, result }
}

/**
 * What `read()` hands out: a caller that changes it outside `update` gets a TypeError at once instead of a change
 * that is silently lost, or written by someone else's update.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}
