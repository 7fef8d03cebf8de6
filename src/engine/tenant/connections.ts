import { type Connection, connectionSchema } from '../../domain/connections/connection.ts'
import type { EngineContext } from '../context.ts'

/**
 * Decision 1 of issue 13: in tenant mode the catalog's `connections` are a copy of the tenant's database connections
 * (with the tenant's `con_…` ids), so every reader of `catalog.read().connections` — Slack pickers, the API, the
 * CLI, the import checks — works unchanged. Copied at start and again when the copy is older than `maxAgeMs`.
 */

/** How old the copy may be before a request that reads connections lists them again. */
export const tenantConnectionsMaxAgeMs = 60_000

interface SyncState {
  syncedAtMs: number | undefined
  pending: Promise<Connection[]> | undefined
}

/**
 * Per context, not per module: each engine (tests build several in one process) has its own tenant and copy. A
 * WeakMap keeps the state beside the context without adding bookkeeping to the port every caller builds.
 */
const states = new WeakMap<EngineContext, SyncState>()

function stateOf(ctx: EngineContext): SyncState {
  let state = states.get(ctx)
  if (!state) {
    state = { syncedAtMs: undefined, pending: undefined }
    states.set(ctx, state)
  }
  return state
}

/**
 * Lists the tenant's connections and writes them into the catalog (replacing what was there), unless the copy is
 * younger than `maxAgeMs` (0: always). Concurrent callers share one listing. Embedded mode: the catalog as it is.
 * Throws the tenant's AppError (`auth0_unreachable`…) when it cannot be listed; the copy then stays as it was.
 */
export function syncTenantConnections(
  ctx: EngineContext,
  { maxAgeMs = 0 }: { maxAgeMs?: number } = {},
): Promise<Connection[]> {
  const tenant = ctx.tenant
  if (!tenant) return Promise.resolve(ctx.catalog.read().connections)
  const state = stateOf(ctx)
  const nowMs = ctx.clock.now().getTime()
  if (state.syncedAtMs !== undefined && nowMs - state.syncedAtMs < maxAgeMs) {
    return Promise.resolve(ctx.catalog.read().connections)
  }
  state.pending ??= (async () => {
    try {
      const listed = usable(ctx, await tenant.listConnections())
      const written = await ctx.catalog.update((draft) => {
        draft.connections = mergeConnections(draft.connections, listed, ctx.clock.now().toISOString())
        return draft.connections
      })
      state.syncedAtMs = ctx.clock.now().getTime()
      return written
    } finally {
      state.pending = undefined
    }
  })()
  return state.pending
}

/** The copy, listed again if older than a minute: what a request that reads connections awaits. */
export function freshTenantConnections(ctx: EngineContext): Promise<Connection[]> {
  return syncTenantConnections(ctx, { maxAgeMs: tenantConnectionsMaxAgeMs })
}

/**
 * For readers that cannot wait (a Slack options request answers within 3 s): lists again in the background when the
 * copy is stale; a failure is logged, and the copy stays as it was until the next attempt.
 */
export function refreshTenantConnectionsSoon(ctx: EngineContext): void {
  if (!ctx.tenant) return
  freshTenantConnections(ctx).catch((error: unknown) => {
    ctx.logger.warn("could not list the Auth0 tenant's connections; showing the last copy", {
      domain: ctx.tenant?.domain,
      error,
    })
  })
}

/**
 * What the catalog can hold: a connection outside its schema (an id not `con_` + 16 characters) would make the
 * catalog unreadable at the next start, so it is left out, with a warning naming it.
 */
function usable(ctx: EngineContext, listed: readonly Connection[]): Connection[] {
  return listed.filter((connection) => {
    const parsed = connectionSchema.safeParse(connection)
    if (!parsed.success) {
      ctx.logger.warn('Auth0 connection left out: Roster cannot keep it', {
        id: connection.id,
        name: connection.name,
        problem: parsed.error.issues[0]?.message,
      })
    }
    return parsed.success
  })
}

/**
 * The tenant's list as it is now, in its order. A connection already in the catalog keeps its `created_at` (the
 * first time Roster saw it), a new one gets `nowIso`: Auth0 keeps no such date, and one that changed at every
 * listing would say nothing.
 */
export function mergeConnections(
  current: readonly Connection[],
  listed: readonly Connection[],
  nowIso: string,
): Connection[] {
  const before = new Map(current.map((connection) => [connection.id, connection]))
  return listed.map((connection) => ({
    ...connection,
    created_at: before.get(connection.id)?.created_at ?? nowIso,
  }))
}
