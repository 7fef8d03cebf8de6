import type { Tenant } from '../domain/catalog.ts'
import { normalizeEmail } from '../domain/users/user.ts'
import { AppError } from '../errors.ts'
import type { EngineContext } from './context.ts'

/**
 * Tenant owners (completion emails go to them), changed from the CLI. TENANT_OWNERS, when set, replaces the list
 * at every start: the answer says so, so an owner added here is not a surprise when it goes at the next restart.
 * Removing someone who is not an owner is refused (a typo must not look like success).
 */
export async function changeTenantOwners(
  ctx: EngineContext,
  change: { add: readonly string[]; remove: readonly string[] },
): Promise<Tenant> {
  const current = ctx.catalog.read().tenant.owners
  const add = change.add.map(normalizeEmail)
  const remove = change.remove.map(normalizeEmail)
  const missing = remove.filter((email) => !current.some((owner) => normalizeEmail(owner) === email))
  if (missing.length > 0) {
    const owners = current.length === 0 ? 'there are none' : `they are ${current.join(', ')}`
    throw new AppError(
      'not_found',
      `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not an owner (${owners}).`,
    )
  }
  await ctx.catalog.update((draft) => {
    const kept = draft.tenant.owners.filter((owner) => !remove.includes(normalizeEmail(owner)))
    for (const email of add) if (!kept.some((owner) => normalizeEmail(owner) === email)) kept.push(email)
    draft.tenant.owners = kept
  })
  return ctx.catalog.read().tenant
}
