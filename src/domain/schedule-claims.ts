import { z } from 'zod'

/**
 * Schedules once per tick (issue 14): node-cron plans each schedule on every replica, so every replica's timer
 * fires for the same tick; the catalog, whose updates take turns across replicas, decides which one runs it.
 */
export const scheduleClaimSchema = z.object({
  /** The tick as node-cron planned it (ISO, whole seconds): the same on every replica with the same time zone. */
  tick: z.string(),
  /** The replica that ran it: for the person reading the catalog. */
  holder: z.string(),
})
export type ScheduleClaim = z.infer<typeof scheduleClaimSchema>

/**
 * Whether `tick` may still run, given the schedule's last claim: only a tick later than the last one claimed. A
 * replica whose timer fires late (a busy event loop) thus never runs an earlier tick after a later one ran.
 */
export function mayRunTick(last: ScheduleClaim | undefined, tick: string): boolean {
  return last === undefined || Date.parse(tick) > Date.parse(last.tick)
}
