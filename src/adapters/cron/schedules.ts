import cron from 'node-cron'
import type { Logger } from '../../logger.ts'

export interface Schedule {
  stop(): void
}

/**
 * Runs `task` on a cron schedule. Overlapping runs are skipped (a slow sweep never piles up), and a failed run
 * is logged, never thrown into the timer.
 */
export function schedule(
  name: string,
  expression: string,
  task: () => Promise<unknown>,
  logger: Logger,
): Schedule {
  let running = false
  const job = cron.schedule(expression, async () => {
    if (running) return
    running = true
    try {
      await task()
    } catch (error) {
      logger.error('scheduled task failed', { task: name, error })
    } finally {
      running = false
    }
  })
  return { stop: () => void job.stop() }
}
