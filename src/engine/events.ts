import type { JobProgress } from '../domain/jobs/auth0-view.ts'
import type { Job } from '../domain/jobs/job.ts'
import type { Logger } from '../logger.ts'

/**
 * What the engine tells the world. Notifiers (Slack threads, completion emails) subscribe; the engine does not
 * know they exist. A listener that throws is logged and never disturbs the job.
 */
export const jobEventTypes = ['job:created', 'job:progress', 'job:finished', 'job:expired'] as const

export type JobEvent =
  | { type: 'job:created'; job: Job }
  | { type: 'job:progress'; job: Job; progress: JobProgress }
  | { type: 'job:finished'; job: Job }
  | { type: 'job:expired'; job: Job }

export type JobListener = (event: JobEvent) => void | Promise<void>

export class JobEvents {
  readonly #listeners = new Set<JobListener>()
  constructor(private readonly logger: Logger) {}

  /** Returns a function that unsubscribes. */
  subscribe(listener: JobListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  emit(event: JobEvent): void {
    for (const listener of this.#listeners) {
      try {
        const result = listener(event)
        if (result instanceof Promise) result.catch((error) => this.#report(event, error))
      } catch (error) {
        this.#report(event, error)
      }
    }
  }

  #report(event: JobEvent, error: unknown): void {
    this.logger.error('job event listener failed', { event: event.type, jobId: event.job.id, error })
  }
}
