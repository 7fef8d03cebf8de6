import { z } from 'zod'
import { type Catalog, catalogSchema } from '../../domain/catalog.ts'
import { jobSchema } from '../../domain/jobs/job.ts'
import type { CatalogStore } from '../../engine/ports.ts'
import { AppError } from '../../errors.ts'
import type { Logger } from '../../logger.ts'
import { applyToCopy, deepFreeze } from '../catalog-change.ts'
import { catalogJson } from '../catalog-text.ts'
import { CatalogListener, catalogChannel } from './catalog-listener.ts'
import { databaseUnavailable, type Pool, type PoolClient, redactUrl, transaction } from './pool.ts'

/**
 * The catalog as the one row of the `catalog` table: `doc` (the document) and `version` (one more with every
 * change). Any number of Roster replicas share it:
 *
 * - `update` is a transaction: it locks the row (SELECT … FOR UPDATE), applies the change to the document as it is
 *   now in the database, writes it and notifies `roster_catalog`. Updates from every replica take turns on the
 *   row lock, so none is lost; within one replica they also run in the order they were asked for.
 * - `read()` answers from memory, deep-frozen: the document after this replica's own last update, or the newer one
 *   another replica wrote, fetched when its notification arrives (LISTEN on a connection of its own). Another
 *   replica's change thus shows a moment later; an update never works on a stale copy.
 * - `updateEarly` is durable once it resolves (a commit is cheap here): `durable` is already settled.
 * - With `renameAfter`, the transaction starts only once that resolved: the change is committed after it, or not
 *   at all.
 * - `subscribe` listeners are called once a refresh brought another replica's change into `read()` (several
 *   notifications close together may make one call).
 */
export interface PgCatalogStore extends CatalogStore {
  /** Stops listening. The pool is the caller's. */
  close(): Promise<void>
}

export interface PgCatalogOptions {
  logger?: Logger
  /** Before trying again to listen after the connection was lost. Default 1000 ms, doubling up to 30 s. */
  reconnectDelayMs?: number
}

interface Held {
  doc: Catalog
  version: number
}

export async function openPgCatalogStore(
  pool: Pool,
  databaseUrl: string,
  seed: () => Catalog,
  options: PgCatalogOptions = {},
): Promise<PgCatalogStore> {
  let held: Held
  let loaded = false
  let closed = false
  let queue: Promise<unknown> = Promise.resolve()
  const listener = new CatalogListener(databaseUrl, () => refresh(), options)
  // Listening first: a change made between the first read and the LISTEN would otherwise go unnoticed.
  await listener.start()
  try {
    held = await load(pool, databaseUrl, seed)
    loaded = true
  } catch (error) {
    await listener.stop()
    throw error
  }

  const listeners = new Set<() => void>()

  /**
   * Keeps `candidate` if it is newer than what is held: refreshes and own updates may finish in any order. True when
   * it was kept.
   */
  function hold(candidate: Held): boolean {
    if (candidate.version <= held.version) return false
    held = { doc: deepFreeze(candidate.doc), version: candidate.version }
    return true
  }

  /** Another replica's change is in `read()` now: tell the subscribers (one failing must not stop the others). */
  function changed(): void {
    for (const listener of listeners) {
      try {
        listener()
      } catch (error) {
        options.logger?.warn('catalog change listener failed', {
          error: error instanceof Error ? error.message : String(error),
        })
      }
    }
  }

  let refreshing: Promise<void> | undefined
  let again = false
  /** Fetches the document if it changed; one fetch at a time, and one more if notified meanwhile. */
  function refresh(): void {
    // A notification before the first read is of a change that read sees.
    if (closed || !loaded) return
    if (refreshing) {
      again = true
      return
    }
    refreshing = (async () => {
      do {
        again = false
        try {
          const row = await readRow(pool, held.version)
          if (row && hold({ doc: parseDocument(row.doc, databaseUrl), version: row.version })) changed()
        } catch (error) {
          options.logger?.warn('catalog refresh failed: this replica shows the catalog as it last read it', {
            error: error instanceof Error ? error.message : String(error),
          })
        }
      } while (again && !closed)
    })().finally(() => {
      refreshing = undefined
    })
  }

  function enqueue<T>(step: () => Promise<T>): Promise<T> {
    const run = queue.then(step)
    // A failure belongs to its own caller.
    queue = run.catch(() => undefined)
    return run
  }

  async function commit<T>(change: (draft: Catalog) => T): Promise<T> {
    let written: Held
    let result: T
    try {
      ;({ written, result } = await transaction(pool, async (client) => {
        const current = await lockRow(client, held, databaseUrl)
        let applied: ReturnType<typeof applyToCopy<T>>
        try {
          applied = applyToCopy(current.doc, change)
        } catch (error) {
          throw new ChangeFailed('the change failed', { cause: error })
        }
        const version = current.version + 1
        const text = catalogJson(applied.draft)
        // Every replica parses what is written here (the file store only at its next start): a document that
        // would not parse is refused now, by the replica that made it, instead of stopping all the others.
        refuseInvalid(applied.draft)
        await client.query('UPDATE catalog SET doc = $1, version = $2, updated_at = now()', [text, version])
        // Delivered at commit, to every replica listening (this one included: it then finds nothing newer).
        await client.query('SELECT pg_notify($1, $2)', [catalogChannel, String(version)])
        return { written: { doc: applied.draft, version }, result: applied.result }
      }))
    } catch (error) {
      // The change's own error passes as it is (its transaction was rolled back), as does a document refused
      // as invalid (an AppError).
      if (error instanceof ChangeFailed) throw error.cause
      throw databaseUnavailable(databaseUrl, 'save the catalog', error)
    }
    hold(written)
    return result
  }

  return {
    read: () => held.doc,
    update<T>(
      change: (draft: Catalog) => T,
      updateOptions: { renameAfter?: Promise<unknown> } = {},
    ): Promise<T> {
      const { renameAfter } = updateOptions
      // Awaited when this update's turn comes; a rejection before then fails this update, not the process.
      renameAfter?.catch(() => undefined)
      return enqueue(async () => {
        if (renameAfter) {
          try {
            await renameAfter
          } catch (error) {
            throw new AppError(
              'store_unavailable',
              `Cannot save the catalog: what had to be saved first failed: ${error instanceof Error ? error.message : String(error)}`,
              undefined,
              { cause: error },
            )
          }
        }
        return commit(change)
      })
    },
    async updateEarly<T>(change: (draft: Catalog) => T): Promise<{ result: T; durable: Promise<void> }> {
      const result = await enqueue(() => commit(change))
      return { result, durable: Promise.resolve() }
    },
    subscribe(listener: () => void): () => void {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },
    async close() {
      closed = true
      listeners.clear()
      await listener.stop()
      await refreshing
    },
  }
}

/** Marks an error thrown by the change itself, apart from the database's. */
class ChangeFailed extends Error {}

/** The document and its version; the seed, written, when the table has no row yet (the first start). */
async function load(pool: Pool, databaseUrl: string, seed: () => Catalog): Promise<Held> {
  try {
    const existing = await readRow(pool, 0)
    if (existing)
      return { doc: deepFreeze(parseDocument(existing.doc, databaseUrl)), version: existing.version }
    const seeded = catalogSchema.safeParse(seed())
    if (!seeded.success) {
      throw new AppError(
        'unexpected',
        `The initial catalog is not valid:\n${z.prettifyError(seeded.error)}`,
        seeded.error.issues,
      )
    }
    // Replicas starting at once on an empty database: one insert wins, and every one reads that.
    await pool.query('INSERT INTO catalog (doc, version) VALUES ($1, 1) ON CONFLICT DO NOTHING', [
      JSON.stringify(seeded.data),
    ])
    const row = await readRow(pool, 0)
    if (!row) throw new Error('the catalog row is missing right after it was written')
    return { doc: deepFreeze(parseDocument(row.doc, databaseUrl)), version: row.version }
  } catch (error) {
    throw databaseUnavailable(databaseUrl, 'read the catalog', error)
  }
}

/** The row, if its version is above `newerThan`: an unchanged document is not sent again. */
async function readRow(
  client: Pool | PoolClient,
  newerThan: number,
): Promise<{ doc: unknown; version: number } | undefined> {
  const { rows } = await client.query<{ doc: unknown; version: string }>(
    'SELECT doc, version FROM catalog WHERE version > $1',
    [newerThan],
  )
  const row = rows[0]
  return row && { doc: row.doc, version: Number(row.version) }
}

/**
 * Locks the row for this transaction and gives the document as it is now: the copy in memory when nobody changed
 * it since (the common case: one replica writing), else the newer one, read and checked.
 */
async function lockRow(client: PoolClient, held: Held, databaseUrl: string): Promise<Held> {
  const { rows } = await client.query<{ version: string }>('SELECT version FROM catalog FOR UPDATE')
  const row = rows[0]
  if (!row) throw new Error('the catalog row is missing')
  const version = Number(row.version)
  if (version === held.version) return held
  const fresh = await readRow(client, 0)
  if (!fresh) throw new Error('the catalog row is missing')
  return { doc: parseDocument(fresh.doc, databaseUrl), version: fresh.version }
}

/**
 * Refuses a change's document that would not parse, checking what the change made: the document's other jobs are
 * the ones it held before (frozen, shared: applyToCopy), each parsed or checked when it came. A check of the whole
 * document cost ~5.5 ms an update at 1,000 jobs; this one costs what the change touched. Checked as JSON, as the
 * other replicas read it; a job's problem names the job.
 */
function refuseInvalid(draft: Catalog): void {
  const problems: string[] = []
  const issues: z.core.$ZodIssue[] = []
  const rest = catalogSchema.safeParse(asJson({ ...draft, jobs: [] }))
  if (!rest.success) {
    problems.push(z.prettifyError(rest.error))
    issues.push(...rest.error.issues)
  }
  for (const job of draft.jobs) {
    if (Object.isFrozen(job)) continue
    const checked = jobSchema.safeParse(asJson(job))
    if (checked.success) continue
    problems.push(
      `job ${String((job as { id?: unknown } | undefined)?.id)}:\n${z.prettifyError(checked.error)}`,
    )
    issues.push(...checked.error.issues)
  }
  if (problems.length === 0) return
  throw new AppError(
    'unexpected',
    `A change would leave the catalog invalid, so it was not saved:\n${problems.join('\n')}`,
    issues,
  )
}

/** `value` as JSON.parse reads it back from JSON.stringify. */
function asJson(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value) ?? 'null')
}

function parseDocument(doc: unknown, databaseUrl: string): Catalog {
  const result = catalogSchema.safeParse(doc)
  if (result.success) return result.data
  throw new AppError(
    'store_invalid',
    `The catalog in the PostgreSQL database ${redactUrl(databaseUrl)} (DATABASE_URL, table catalog) does not have ` +
      `the expected shape:\n${z.prettifyError(result.error)}\nRestore the database from a backup.`,
    result.error.issues,
  )
}
