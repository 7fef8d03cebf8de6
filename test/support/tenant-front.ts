import type { StoredUser } from '../../src/domain/users/user.ts'
import type { FaultInjection } from '../../src/engine/context.ts'
import type { TenantDirectory, TenantUser } from '../../src/engine/tenant/tenant-directory.ts'
import { type Harness, openHarness } from './roster-harness.ts'
import { poll } from './roster-process.ts'

/**
 * An in-process Roster in front of a tenant (issue 13) for engine-level tests: the real harness (file stores,
 * engine, scheduler) with `ctx.tenant` set to a real TenantDirectory (the adapter over Auth0Client against a tenant
 * Roster process), the tenant's connections in its catalog, fast polling. The flow tests start a real `AUTH0_*`
 * process instead; this one lets a test stop the engine at a chosen point (ctx.faults) and reopen the same store.
 */
export async function openTenantFront(
  directory: TenantDirectory,
  options: { storeDir?: string; faults?: FaultInjection; chunkRows?: number } = {},
): Promise<Harness> {
  const harness = await openHarness({}, options.storeDir, { start: false })
  const ctx = harness.engine.ctx
  ctx.tenant = directory
  ctx.limits.tenantPoll = { firstMs: 10, maxMs: 100 }
  if (options.chunkRows !== undefined) ctx.limits.chunkRows = options.chunkRows
  ctx.faults = options.faults ?? {}
  const connections = await directory.listConnections()
  await ctx.catalog.update((draft) => {
    draft.connections = connections
  })
  harness.engine.start()
  return harness
}

/** Submits users straight to the tenant (not through Roster's engine) and waits for Auth0's job to finish. */
export async function seedTenant(
  directory: TenantDirectory,
  connectionId: string,
  users: readonly unknown[] | Uint8Array,
  upsert = false,
): Promise<string> {
  const id = await directory.submitImport({
    connectionId,
    users: users instanceof Uint8Array ? users : Buffer.from(JSON.stringify(users)),
    upsert,
    sendCompletionEmail: false,
    externalId: 'seed',
  })
  await poll(`tenant job ${id} to finish`, async () => {
    const state = await directory.importJob(id)
    return state.status === 'pending' || state.status === 'processing' ? undefined : state
  })
  return id
}

/**
 * A user as both directories can be compared: no bookkeeping (rev, timestamps, identities, connection id), no
 * secrets (a tenant never returns them), and ids Roster generated (24 digits here, from sequential test ids, which
 * differ between two harnesses) shown as "generated".
 */
export function comparable(user: TenantUser | StoredUser): Record<string, unknown> {
  const {
    rev: _rev,
    created_at: _created,
    updated_at: _updated,
    identities: _identities,
    connection_id: _connection,
    password_hash: _hash,
    custom_password_hash: _custom,
    mfa_factors: _mfa,
    ...rest
  } = user as StoredUser
  return { ...rest, user_id: generated(rest.user_id) }
}

export function generated(userId: string): string {
  return /^auth0\|\d{24}$/.test(userId) ? 'generated' : userId
}
