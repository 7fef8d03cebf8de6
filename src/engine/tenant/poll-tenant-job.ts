import type { TenantJobState } from './tenant-directory.ts'

/** How often an Auth0 job is read while it runs: `firstMs`, then ×`factor` each time, at most `maxMs`. */
export interface TenantPolling {
  firstMs: number
  factor: number
  maxMs: number
}

/**
 * Auth0 jobs take seconds to minutes; reading one every 500 ms at first and at most every 5 s keeps a long job from
 * spending the tenant's Management API rate limit (shared with everything else calling it) on status reads.
 */
export const defaultTenantPolling: TenantPolling = { firstMs: 500, factor: 1.5, maxMs: 5000 }

/** A stop is noticed within this long even in the middle of a 5 s wait. */
const stopCheckMs = 100

/**
 * Reads an Auth0 job until it is no longer pending or processing, with backoff. Resolves undefined when the engine
 * stops meanwhile: the job's Auth0 id is the caller's to keep (or not), and polling resumes at the next start.
 */
export async function pollTenantJob<T extends TenantJobState>(
  read: () => Promise<T>,
  polling: TenantPolling,
  stopping: () => boolean,
): Promise<T | undefined> {
  let waitMs = polling.firstMs
  for (;;) {
    const state = await read()
    if (state.status !== 'pending' && state.status !== 'processing') return state
    if (!(await pause(waitMs, stopping))) return undefined
    waitMs = Math.min(polling.maxMs, waitMs * polling.factor)
  }
}

/** Waits `ms`, in slices so a stop is not held up; false if the engine began stopping. */
async function pause(ms: number, stopping: () => boolean): Promise<boolean> {
  const until = Date.now() + ms
  while (!stopping()) {
    const left = until - Date.now()
    if (left <= 0) return true
    await new Promise((resolve) => setTimeout(resolve, Math.min(left, stopCheckMs)))
  }
  return false
}
