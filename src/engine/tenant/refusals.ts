import { AppError } from '../../errors.ts'
import type { EngineContext } from '../context.ts'

/**
 * Decision 2 of issue 13: in front of an Auth0 tenant, Roster's single-user calls (the users API, `roster users …`)
 * are refused rather than half-done against an embedded store that holds no users, and `connections add` is refused
 * because the tenant's connections are made in its Dashboard. Jobs (imports, exports, undo) work in both modes.
 */
export function refuseSingleUsersInTenantMode(ctx: EngineContext): void {
  if (!ctx.tenant) return
  throw new AppError(
    'operation_not_supported',
    `This Roster is in front of the Auth0 tenant ${ctx.tenant.domain}: read and change single users with its ` +
      'Management API or its Dashboard. Imports, exports, dry runs and undo work here as usual.',
  )
}

export function refuseConnectionAddInTenantMode(ctx: EngineContext): void {
  if (!ctx.tenant) return
  throw new AppError(
    'operation_not_supported',
    `This Roster is in front of the Auth0 tenant ${ctx.tenant.domain}: create connections in the Auth0 Dashboard ` +
      '(Authentication → Database); Roster lists them within a minute.',
  )
}
