import cron from 'node-cron'
import type { Config } from '../../config.ts'
import type { Engine } from '../../engine/engine.ts'
import type { Logger } from '../../logger.ts'

export interface Schedule {
  /**
   * One tick, exactly as the timer runs it: never throws (a failure is logged), and a tick while one is still
   * running joins it instead of starting a second. With `tick` (the time node-cron planned it for, as the timer
   * passes it), the task runs only if this replica claims that tick (see `claim`). Tests call it to tick without
   * waiting for the clock.
   */
  run(tick?: Date): Promise<void>
  stop(): void
}

/**
 * Whether this replica runs the schedule's tick: several replicas sharing a store each plan every schedule, and
 * exactly one of them runs each tick (Engine.claimScheduleTick).
 */
export type ClaimTick = (name: string, tick: Date) => Promise<boolean>

/**
 * Runs `task` on a cron schedule (server time zone). Overlapping runs are skipped (a slow sweep never piles up),
 * and a failed run is logged, never thrown into the timer. With `claim`, a tick the timer fires runs only on the
 * replica that claims it.
 */
export function schedule(
  name: string,
  expression: string,
  task: () => Promise<unknown>,
  logger: Logger,
  claim?: ClaimTick,
): Schedule {
  let running: Promise<void> | undefined
  const run = (tick?: Date) => {
    running ??= (async () => {
      try {
        if (tick && claim && !(await claim(name, tick))) {
          logger.debug('scheduled task run by another replica', { task: name, tick: tick.toISOString() })
          return
        }
        await task()
      } catch (error) {
        logger.error('scheduled task failed', { task: name, error })
      } finally {
        running = undefined
      }
    })()
    return running
  }
  // node-cron passes the tick it planned (whole seconds): the same moment on every replica in the same time zone.
  const job = cron.schedule(expression, (context) => run(context.date))
  return { run, stop: () => void job.stop() }
}

export interface Schedules {
  retention: Schedule
  /** Undefined when BACKUP_CRON is `off`. */
  backup: Schedule | undefined
  stop(): void
}

/**
 * The server's schedules: retention sweeps, and backups (each tick is a `runBackup` with the engine's clock). Each
 * tick runs on one replica of those sharing the store: the one that claims it in the catalog.
 */
export function startSchedules(
  engine: Engine,
  config: Pick<Config, 'retentionCron' | 'backup'>,
  logger: Logger,
): Schedules {
  const claim: ClaimTick = (name, tick) => engine.claimScheduleTick(name, tick)
  const retention = schedule('retention', config.retentionCron, () => engine.sweepRetention(), logger, claim)
  const backupCron = config.backup.cron
  const backup =
    backupCron === undefined
      ? undefined
      : schedule('backup', backupCron, () => engine.runBackup(), logger, claim)
  return {
    retention,
    backup,
    stop() {
      retention.stop()
      backup?.stop()
    },
  }
}
