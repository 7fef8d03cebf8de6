import type { EngineContext } from '../context.ts'
import type { TenantDirectory, TenantJobState } from './tenant-directory.ts'

/**
 * Auth0 import jobs Roster has in flight on a tenant, across all of its own jobs (imports and undos): at most
 * `maxActiveImports` (Auth0 allows two per tenant and answers 429 beyond). Waiters are served in order.
 */
export class TenantSlots {
  #free: number
  readonly #waiting: (() => void)[] = []

  constructor(size: number) {
    this.#free = size
  }

  /** Resolves with the function that gives the slot back (call it once). */
  async acquire(): Promise<() => void> {
    if (this.#free > 0) this.#free--
    else await new Promise<void>((resolve) => this.#waiting.push(resolve))
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.#waiting.shift()
      if (next) next()
      else this.#free++
    }
  }
}

// One pool per tenant directory (each EngineContext has its own), without module-level state shared between them.
const pools = new WeakMap<TenantDirectory, TenantSlots>()

/** The import slots of the context's tenant. */
export function tenantSlots(ctx: EngineContext, tenant: TenantDirectory): TenantSlots {
  let pool = pools.get(tenant)
  if (!pool) {
    pool = new TenantSlots(Math.max(1, ctx.limits.maxActiveImports))
    pools.set(tenant, pool)
  }
  return pool
}

const defaultPoll = { firstMs: 500, maxMs: 5000 }
/** Each wait is this much longer than the last, up to `maxMs`. */
const pollFactor = 1.5
/** A stopping engine is noticed within this long, however long the wait. */
const stopCheckMs = 100

/**
 * Reads an Auth0 job (`read`: `tenant.importJob(id)` or `tenant.exportJob(id)`) until it is no longer pending or
 * processing, waiting between reads with backoff. Resolves undefined if `stopped()` turns true first (the job goes
 * on in Auth0; the next run polls it again).
 */
export async function pollTenantJob<State extends TenantJobState>(
  ctx: EngineContext,
  read: () => Promise<State>,
  stopped: () => boolean,
): Promise<State | undefined> {
  const { firstMs, maxMs } = ctx.limits.tenantPoll ?? defaultPoll
  let waitMs = firstMs
  for (;;) {
    if (!(await pause(waitMs, stopped))) return undefined
    const state = await read()
    if (state.status !== 'pending' && state.status !== 'processing') return state
    waitMs = Math.min(maxMs, waitMs * pollFactor)
  }
}

/** Waits `ms`, checking `stopped` along the way; false if it turned true. */
async function pause(ms: number, stopped: () => boolean): Promise<boolean> {
  let left = ms
  while (left > 0) {
    if (stopped()) return false
    const step = Math.min(left, stopCheckMs)
    await new Promise((resolve) => setTimeout(resolve, step))
    left -= step
  }
  return !stopped()
}
