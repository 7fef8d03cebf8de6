import { Low } from 'lowdb'
import { type Catalog, catalogSchema } from '../../domain/catalog.ts'
import type { CatalogStore } from '../../engine/ports.ts'
import { applyToCopy, deepFreeze } from '../catalog-change.ts'
import { catalogFileBytes } from '../catalog-text.ts'
import { DurableJsonFile } from './durable-json-file.ts'

/** The file catalog: `close` waits for every update and write under way (the folder's lock is released after). */
export type FileCatalogStore = CatalogStore & { close(): Promise<void> }

/**
 * The catalog as one durable JSON file (`file`), created from `seed()` when missing and refused at open
 * (AppError 'store_invalid') when it does not parse.
 *
 * `read()` is the last durable document, deep-frozen: a caller that changes it outside `update` gets a TypeError
 * at once instead of a change that is silently lost, or written by someone else's update.
 */
export async function openCatalogStore(file: string, seed: () => Catalog): Promise<FileCatalogStore> {
  const adapter = new DurableJsonFile(file, {
    schema: catalogSchema,
    seed,
    serialize: catalogFileBytes,
  })
  // Low wants its data up front; the adapter seeds a missing file, so one read through it gives the document.
  const db = new Low<Catalog>(adapter, deepFreeze(await adapter.read()))
  // Updates run one after another: each sees the previous one's result, and writes land in order.
  let queue: Promise<unknown> = Promise.resolve()

  /** Runs `step` after every earlier update; the next one waits for it whatever its outcome. */
  function enqueue<T>(step: () => Promise<T> | T): Promise<T> {
    const run = queue.then(step)
    // A failure belongs to its own caller.
    queue = run.catch(() => undefined)
    return run
  }

  return {
    read: () => db.data,
    update<T>(change: (draft: Catalog) => T, options: { renameAfter?: Promise<unknown> } = {}): Promise<T> {
      // The barrier is awaited only when this update's turn comes: a rejection before then is not unhandled (it
      // fails this update, and belongs to whoever made the barrier).
      options.renameAfter?.catch(() => undefined)
      return enqueue(async () => {
        const { draft, result } = applyToCopy(db.data, change)
        // Durable first, visible second: nobody acts on a job or connection that a crash could take back, and a
        // failed write (AppError 'store_unavailable') leaves memory as it was.
        await adapter.write(draft, options)
        db.data = deepFreeze(draft)
        return result
      })
    },
    updateEarly<T>(change: (draft: Catalog) => T): Promise<{ result: T; durable: Promise<void> }> {
      return enqueue(() => {
        const { draft, result } = applyToCopy(db.data, change)
        // Visible first, and the queue moves on at once: a later update starts from this document, and the adapter
        // writes documents in the order given (coalescing), so the disk never goes back to before this change.
        db.data = deepFreeze(draft)
        const durable = adapter.write(draft)
        // The caller awaits it; until then a failure must not count as unhandled.
        durable.catch(() => undefined)
        return { result, durable }
      })
    },
    // One process writes this file (STORE_DIR is locked): no other process's change ever arrives.
    subscribe: () => () => undefined,
    async close() {
      await queue
      await adapter.settled()
    },
  }
}
