import { mayRunTick } from '../domain/schedule-claims.ts'
import type { EngineContext } from './context.ts'

/**
 * Claims tick `tick` of schedule `name` for this replica, in one catalog update: true when this replica is the one
 * to run it, false when another replica already claimed it (or a later tick). Every replica's timer asks; catalog
 * updates take turns, so exactly one gets true.
 */
export function claimScheduleTick(ctx: EngineContext, name: string, tick: Date): Promise<boolean> {
  const at = tick.toISOString()
  return ctx.catalog.update((draft) => {
    if (!mayRunTick(draft.schedules?.[name], at)) return false
    draft.schedules = { ...draft.schedules, [name]: { tick: at, holder: ctx.replica.id } }
    return true
  })
}
