import { Low } from 'lowdb'
import { type Catalog, catalogSchema } from '../../domain/catalog.ts'
import type { CatalogStore } from '../../engine/ports.ts'
import { AppError } from '../../errors.ts'
import { DurableJsonFile } from './durable-json-file.ts'

/**
 * The catalog as one durable JSON file (`file`), created from `seed()` when missing and refused at open
 * (AppError 'store_invalid') when it does not parse.
 *
 * `read()` is the last durable document, deep-frozen: a caller that changes it outside `update` gets a TypeError
 * at once instead of a change that is silently lost, or written by someone else's update.
 */
export async function openCatalogStore(file: string, seed: () => Catalog): Promise<CatalogStore> {
  const adapter = new DurableJsonFile(file, { schema: catalogSchema, seed })
  // Low wants its data up front; the adapter seeds a missing file, so one read through it gives the document.
  const db = new Low<Catalog>(adapter, deepFreeze(await adapter.read()))
  // Updates run one after another: each sees the previous one's result, and writes land in order.
  let queue: Promise<unknown> = Promise.resolve()

  return {
    read: () => db.data,
    update<T>(change: (draft: Catalog) => T): Promise<T> {
      const run = queue.then(async () => {
        // Change a copy: a change that throws halfway leaves nothing behind.
        const draft = structuredClone(db.data)
        const result = change(draft)
        if (result instanceof Promise) {
          result.catch(() => undefined)
          throw new AppError('unexpected', 'CatalogStore.update: `change` must be synchronous.')
        }
        // Durable first, visible second: nobody acts on a job or connection that a crash could take back, and a
        // failed write (AppError 'store_unavailable') leaves memory as it was.
        await db.adapter.write(draft)
        db.data = deepFreeze(draft)
        return result
      })
      // The next update waits for this one whatever its outcome; a failure belongs to its own caller.
      queue = run.catch(() => undefined)
      return run
    },
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}
