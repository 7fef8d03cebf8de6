import { beforeEach, describe, expect, it } from 'vitest'
import type { Catalog } from '../../src/domain/catalog.ts'
import type { CatalogStore } from '../../src/engine/ports.ts'
import { AppError } from '../../src/errors.ts'

/** Where a catalog is kept (a file, a database): every store opened on it shares the one document. */
export interface CatalogLocation {
  /** Opens a store on the location; the first open of an empty one writes the seed. */
  open(seed: () => Catalog): Promise<CatalogStore>
  /** The document as a restart would find it, read without a store (which could disturb a write in flight). */
  stored(): Promise<Catalog>
  /** Makes every later write fail, as a full disk or a lost database would. */
  breakWrites(): Promise<void>
}

export function seedCatalog(): Catalog {
  return {
    version: 1,
    tenant: { name: 'acme', owners: ['owner@example.com'], createdAt: '2026-01-01T00:00:00.000Z' },
    connections: [],
    jobs: [],
    exportLabels: {},
  }
}

export function noSeed(): Catalog {
  throw new Error('seed must not be called when the catalog exists')
}

/**
 * What every CatalogStore does. `fresh` gives a location holding no catalog yet; the caller's own hooks close the
 * stores and clean up after it.
 */
export function catalogStoreContract(fresh: () => Promise<CatalogLocation>): void {
  let location: CatalogLocation

  beforeEach(async () => {
    location = await fresh()
  })

  describe('open', () => {
    it('writes the seed on first open, once', async () => {
      let seedCalls = 0
      const store = await location.open(() => {
        seedCalls++
        return seedCatalog()
      })

      expect(seedCalls).toBe(1)
      expect(store.read()).toEqual(seedCatalog())
      expect((await location.open(noSeed)).read()).toEqual(seedCatalog())
    })

    it('refuses a seed that is not a catalog, writing nothing', async () => {
      const error = await location
        .open(() => ({ ...seedCatalog(), version: 2 }) as unknown as Catalog)
        .catch((e: unknown) => e)

      expect(error).toBeInstanceOf(AppError)
      expect((await location.open(seedCatalog)).read()).toEqual(seedCatalog())
    })

    it('hands out a document that cannot be changed outside update', async () => {
      const store = await location.open(seedCatalog)

      expect(() => {
        store.read().tenant.owners.push('sneaky@example.com')
      }).toThrow(TypeError)
    })
  })

  describe('update', () => {
    it('keeps an update across a reopen', async () => {
      const store = await location.open(seedCatalog)
      await store.update((draft) => {
        draft.exportLabels.Plan = 'user_metadata.plan'
      })

      expect(store.read().exportLabels).toEqual({ Plan: 'user_metadata.plan' })
      expect((await location.open(noSeed)).read().exportLabels).toEqual({ Plan: 'user_metadata.plan' })
    })

    it("returns the change's result", async () => {
      const store = await location.open(seedCatalog)

      const result = await store.update((draft) => {
        draft.tenant.owners.push('second@example.com')
        return draft.tenant.owners.length
      })

      expect(result).toBe(2)
    })

    it('applies every one of many concurrent updates, each to the one before', async () => {
      const store = await location.open(seedCatalog)

      const counts = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          store.update((draft) => {
            draft.exportLabels[`Label ${i}`] = `user_metadata.field${i}`
            return Object.keys(draft.exportLabels).length
          }),
        ),
      )

      expect(counts).toEqual(Array.from({ length: 50 }, (_, i) => i + 1))
      expect(Object.keys(store.read().exportLabels)).toHaveLength(50)
      expect(Object.keys((await location.stored()).exportLabels)).toHaveLength(50)
    })

    it('leaves the catalog as it was when a change throws, and later updates still run', async () => {
      const store = await location.open(seedCatalog)

      const failed = store.update((draft) => {
        draft.exportLabels.Half = 'done'
        throw new Error('change failed')
      })
      const next = store.update((draft) => {
        draft.exportLabels.Next = 'user_metadata.next'
      })

      await expect(failed).rejects.toThrow('change failed')
      await next
      expect(store.read().exportLabels).toEqual({ Next: 'user_metadata.next' })
      expect((await location.stored()).exportLabels).toEqual({ Next: 'user_metadata.next' })
    })

    it('refuses a change that is asynchronous, changing nothing', async () => {
      const store = await location.open(seedCatalog)

      const error = await store
        .update(async (draft) => {
          draft.exportLabels.Async = 'user_metadata.async'
        })
        .catch((e: unknown) => e)

      expect((error as AppError).code).toBe('unexpected')
      expect(store.read().exportLabels).toEqual({})
    })

    it('rejects with store_unavailable when the write fails, and keeps the catalog as it was', async () => {
      const store = await location.open(seedCatalog)
      await location.breakWrites()

      const error = await store
        .update((draft) => {
          draft.exportLabels.Lost = 'user_metadata.lost'
        })
        .catch((e: unknown) => e)

      expect(error).toBeInstanceOf(AppError)
      expect((error as AppError).code).toBe('store_unavailable')
      expect(store.read().exportLabels).toEqual({})
      expect((await location.stored()).exportLabels).toEqual({})
    })
  })

  describe('update with renameAfter', () => {
    it('commits the change only once the barrier resolves', async () => {
      const store = await location.open(seedCatalog)
      let release = () => {}
      const barrier = new Promise<void>((resolve) => {
        release = resolve
      })

      const update = store.update(
        (draft) => {
          draft.exportLabels.Job = 'user_metadata.job'
        },
        { renameAfter: barrier },
      )
      // Long enough for the update to do all it may do before the barrier: it must still wait.
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(store.read().exportLabels).toEqual({})
      expect((await location.stored()).exportLabels).toEqual({})
      release()
      await update

      expect(store.read().exportLabels).toEqual({ Job: 'user_metadata.job' })
      expect((await location.stored()).exportLabels).toEqual({ Job: 'user_metadata.job' })
    })

    it('fails with store_unavailable and changes nothing when the barrier rejects', async () => {
      const store = await location.open(seedCatalog)

      const error = await store
        .update(
          (draft) => {
            draft.exportLabels.Job = 'user_metadata.job'
          },
          { renameAfter: Promise.reject(new Error('upload failed')) },
        )
        .catch((e: unknown) => e)

      expect((error as AppError).code).toBe('store_unavailable')
      expect((error as AppError).message).toContain('upload failed')
      expect(store.read().exportLabels).toEqual({})
      expect((await location.stored()).exportLabels).toEqual({})
    })
  })

  describe('updateEarly', () => {
    it('makes the change visible once it resolves, and durable once `durable` resolves', async () => {
      const store = await location.open(seedCatalog)

      const { result, durable } = await store.updateEarly((draft) => {
        draft.exportLabels.Early = 'user_metadata.early'
        return 'applied'
      })

      expect(result).toBe('applied')
      expect(store.read().exportLabels).toEqual({ Early: 'user_metadata.early' })
      await durable
      expect((await location.open(noSeed)).read().exportLabels).toEqual({ Early: 'user_metadata.early' })
    })

    it('orders with updates: later ones start from the early change, and none is lost', async () => {
      const store = await location.open(seedCatalog)
      const first = store.update((draft) => {
        draft.exportLabels.First = 'user_metadata.first'
      })
      const early = store.updateEarly((draft) => {
        draft.exportLabels.Early = 'user_metadata.early'
      })
      const later = store.update((draft) => {
        draft.exportLabels.Later = `${Object.keys(draft.exportLabels).length} before`
      })

      await Promise.all([first, later, (await early).durable])

      const expected = { First: 'user_metadata.first', Early: 'user_metadata.early', Later: '2 before' }
      expect(store.read().exportLabels).toEqual(expected)
      expect((await location.stored()).exportLabels).toEqual(expected)
    })

    it('leaves nothing when the change throws', async () => {
      const store = await location.open(seedCatalog)

      await expect(
        store.updateEarly((draft) => {
          draft.exportLabels.Half = 'done'
          throw new Error('change failed')
        }),
      ).rejects.toThrow('change failed')

      expect(store.read().exportLabels).toEqual({})
      expect((await location.stored()).exportLabels).toEqual({})
    })

    it('reports a failed write with store_unavailable (from the call or from `durable`)', async () => {
      const store = await location.open(seedCatalog)
      await location.breakWrites()

      const error = await store
        .updateEarly((draft) => {
          draft.exportLabels.Unsaved = 'user_metadata.unsaved'
        })
        .then(({ durable }) => durable)
        .catch((e: unknown) => e)

      expect(error).toBeInstanceOf(AppError)
      expect((error as AppError).code).toBe('store_unavailable')
    })
  })
}
