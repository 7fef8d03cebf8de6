import cron from 'node-cron'
import type { Config } from '../../config.ts'
import type { Engine } from '../../engine/engine.ts'
import type { Logger } from '../../logger.ts'

export interface Schedule {
  /**
   * One tick, exactly as the timer runs it: never throws (a failure is logged), and a tick while one is still
   * running joins it instead of starting a second. Tests call it to tick without waiting for the clock.
   */
  run(): Promise<void>
  stop(): void
}

/**
 * Runs `task` on a cron schedule (server time zone). Overlapping runs are skipped (a slow sweep never piles up),
 * and a failed run is logged, never thrown into the timer.
 */
export function schedule(
  name: string,
  expression: string,
  task: () => Promise<unknown>,
  logger: Logger,
): Schedule {
  let running: Promise<void> | undefined
  const run = () => {
    running ??= (async () => {
      try {
        await task()
      } catch (error) {
        logger.error('scheduled task failed', { task: name, error })
      } finally {
        running = undefined
      }
    })()
    return running
  }
  const job = cron.schedule(expression, run)
  return { run, stop: () => void job.stop() }
}

export interface Schedules {
  retention: Schedule
  /** Undefined when BACKUP_CRON is `off`. */
  backup: Schedule | undefined
  stop(): void
}

/** The server's schedules: retention sweeps, and backups (each tick is a `runBackup` with the engine's clock). */
export function startSchedules(
  engine: Engine,
  config: Pick<Config, 'retentionCron' | 'backup'>,
  logger: Logger,
): Schedules {
  const retention = schedule('retention', config.retentionCron, () => engine.sweepRetention(), logger)
  const backupCron = config.backup.cron
  const backup =
    backupCron === undefined ? undefined : schedule('backup', backupCron, () => engine.runBackup(), logger)
  return {
    retention,
    backup,
    stop() {
      retention.stop()
      backup?.stop()
    },
  }
}
