import { AppError, serializeError } from '../../errors.ts'
import type { EngineContext } from '../context.ts'

/** What /healthz says about the directory: the embedded store, or the Auth0 tenant and whether it answers. */
export type DirectoryHealth =
  | { kind: 'embedded' }
  | {
      kind: 'auth0'
      domain: string
      reachable: boolean
      /** When the tenant was last asked (ISO): answers are reused for `ttlMs`. */
      checkedAt: string
      /** The tenant's database connections, when it answered. */
      connections?: number
      /** Why it did not answer: the same code and message a job would get (they name the setting to fix). */
      problem?: { code: string; message: string }
    }

export interface DirectoryHealthOptions {
  /** How long an answer is reused, so probes every second do not each call the tenant. Default 5 s. */
  ttlMs?: number
  /** A tenant that takes longer than this is reported unreachable (the probe itself must answer). Default 3 s. */
  timeoutMs?: number
}

/**
 * The directory part of /healthz. In front of a tenant, one connections listing (read-only: the catalog's copy is
 * left to the sync) at most every `ttlMs`, however many probes arrive; concurrent probes share the one in flight.
 */
export function directoryHealth(
  ctx: EngineContext,
  { ttlMs = 5_000, timeoutMs = 3_000 }: DirectoryHealthOptions = {},
): () => Promise<DirectoryHealth> {
  const tenant = ctx.tenant
  if (!tenant) return async () => ({ kind: 'embedded' })
  let last: { atMs: number; health: DirectoryHealth } | undefined
  let pending: Promise<DirectoryHealth> | undefined

  async function check(): Promise<DirectoryHealth> {
    const checkedAt = ctx.clock.now()
    const base = { kind: 'auth0' as const, domain: tenant?.domain ?? '', checkedAt: checkedAt.toISOString() }
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      // A tenant that is down is often still being retried (the adapter waits out failures with backoff) when the
      // probe must answer: that is the same finding as a refused connection, and says so with the same code.
      timer = setTimeout(
        () =>
          reject(
            new AppError(
              'auth0_unreachable',
              `The Auth0 tenant ${base.domain} did not answer within ${timeoutMs} ms.`,
            ),
          ),
        timeoutMs,
      )
    })
    try {
      const connections = await Promise.race([tenant?.listConnections() ?? [], timeout])
      return { ...base, reachable: true, connections: connections.length }
    } catch (error) {
      return { ...base, reachable: false, problem: serializeError(error) }
    } finally {
      clearTimeout(timer)
    }
  }

  return () => {
    const nowMs = ctx.clock.now().getTime()
    if (last && nowMs - last.atMs < ttlMs) return Promise.resolve(last.health)
    pending ??= check().then((health) => {
      last = { atMs: nowMs, health }
      pending = undefined
      return health
    })
    return pending
  }
}
