import type { JobProgress } from '../domain/jobs/auth0-view.ts'
import { type Job, writesUsers } from '../domain/jobs/job.ts'
import { asAppError } from '../errors.ts'
import type { RowChecks } from './check-rows.ts'
import type { EngineContext } from './context.ts'
import { runExport } from './export.ts'
import { finishJob } from './finish-job.ts'
import { runImport } from './run-import.ts'
import { settleFailedImport } from './settle-import.ts'
import { runUndo } from './undo.ts'

/** Dry runs write nothing, so they do not wait for an import slot; this only bounds CPU. */
const maxConcurrentDryRuns = 2
/** Compact the user journal once it holds this much, at a moment when no writing job is in flight. */
const compactAtJournalBytes = 64 * 1024 * 1024

interface Running {
  job: Job
  progress: JobProgress
  done: Promise<void>
}

/**
 * Starts jobs in the order they were created, at most `maxActiveImports` writers at once (dry runs beside them),
 * and resumes jobs a crash left `processing` before any pending one. Event-driven: a new or finished job pumps
 * the queue; nothing polls.
 */
export class Scheduler {
  readonly #running = new Map<string, Running>()
  readonly #rows = new Map<string, { rows: unknown[]; checks: RowChecks }>()
  #started = false
  #stopping = false
  #compacting: Promise<void> | undefined

  constructor(private readonly ctx: EngineContext) {}

  /** Keeps a new job's parsed rows (and their checks, under way) for its first run: the file is parsed once. */
  remember(jobId: string, cached: { rows: unknown[]; checks: RowChecks }): void {
    this.#rows.set(jobId, cached)
  }

  progressOf(jobId: string): JobProgress | undefined {
    const running = this.#running.get(jobId)
    return running && { ...running.progress, nowMs: this.ctx.clock.now().getTime() }
  }

  /** Begins running jobs: first those a crash left processing, then pending ones. */
  start(): void {
    this.#started = true
    this.pump()
  }

  pump(): void {
    if (!this.#started || this.#stopping) return
    const jobs = this.ctx.catalog.read().jobs
    let writers = [...this.#running.values()].filter((r) => writesUsers(r.job)).length
    let dryRuns = this.#running.size - writers
    const queue = [
      ...jobs.filter((j) => j.status === 'processing'),
      ...jobs.filter((j) => j.status === 'pending'),
    ]
    for (const job of queue) {
      if (this.#running.has(job.id)) continue
      if (writesUsers(job)) {
        // Writers start strictly in order: a later writer never overtakes one that waits for a slot.
        if (writers >= this.ctx.limits.maxActiveImports) continue
        writers++
      } else {
        if (dryRuns >= maxConcurrentDryRuns) continue
        dryRuns++
      }
      this.#start(job)
    }
  }

  /** Stops taking jobs and waits until running ones reach a checkpoint (they resume at the next start). */
  async stop(): Promise<void> {
    this.#stopping = true
    await Promise.all([...this.#running.values()].map((r) => r.done))
    await this.#compacting
  }

  #start(job: Job): void {
    const nowMs = this.ctx.clock.now().getTime()
    const total = job.type === 'users_import' ? job.upload.rows : 0 // exports report their total once they start
    const entry: Running = {
      job,
      progress: { processed: 0, total, startedAtMs: nowMs, nowMs },
      done: Promise.resolve(),
    }
    this.#running.set(job.id, entry)
    entry.done = this.#run(entry).finally(() => {
      this.#running.delete(job.id)
      this.#rows.delete(job.id)
      this.#maybeCompact()
      this.pump()
    })
  }

  async #run(entry: Running): Promise<void> {
    const { ctx } = this
    const id = entry.job.id
    let started: Promise<void> = Promise.resolve()
    try {
      // Not waited for: a crash may take `processing` back, and the job then starts again from pending the same
      // way (a started import resumes from its journal commits either way). Awaited at the end, so the write ends
      // within the job's life; a failure is only logged, as the job's next write carries the change again.
      const { result: job, durable } = await ctx.catalog.updateEarly((draft) => {
        const found = draft.jobs.find((j) => j.id === id) as Job
        if (found.status === 'pending') {
          found.status = 'processing'
          found.startedAt = ctx.clock.now().toISOString()
        }
        return structuredClone(found)
      })
      started = durable.catch((error: unknown) =>
        ctx.logger.warn('could not record the job as started', { jobId: id, error }),
      )
      entry.job = job
      const control = {
        stopping: () => this.#stopping,
        progress: (processed: number, total: number) => {
          entry.progress = { ...entry.progress, processed, total, nowMs: ctx.clock.now().getTime() }
          ctx.events.emit({ type: 'job:progress', job, progress: entry.progress })
        },
      }
      if (job.type === 'users_import') await runImport(ctx, job, control, this.#rows.get(id))
      else if (job.type === 'users_export') await runExport(ctx, job, control)
      else await runUndo(ctx, job)
      await started
    } catch (error) {
      await started
      await this.#fail(id, error)
    }
  }

  async #fail(id: string, error: unknown): Promise<void> {
    const appError = asAppError(error)
    if (appError.code === 'store_unavailable') {
      // Memory may be ahead of disk: the job stays processing and resumes from the journal at the next start.
      this.ctx.logger.error('store write failed; restart Roster to resume the job', {
        jobId: id,
        error: appError,
      })
      this.#stopping = true
      return
    }
    this.ctx.logger.error('job failed', { jobId: id, code: appError.code, error: appError })
    const details = appError.code === 'unexpected' ? `Internal error: ${appError.message}` : appError.message
    try {
      const job = this.ctx.catalog.read().jobs.find((j) => j.id === id)
      if (job?.type === 'users_import') {
        await settleFailedImport(this.ctx, job, details)
      } else {
        await finishJob(this.ctx, id, (draft) => {
          draft.status = 'failed'
          draft.statusDetails = details
        })
      }
    } catch (settleError) {
      this.ctx.logger.error('could not record job failure', { jobId: id, error: settleError })
    }
  }

  #maybeCompact(): void {
    if (this.#compacting || this.ctx.users.journalBytes() < compactAtJournalBytes) return
    // Compaction drops the journal's per-job records: safe only when no job still needs them to resume. That is
    // a pending job too when it has commits: its start (`processing`) is not waited for, so a crash can undo it.
    const needsCommits = (j: Job) =>
      writesUsers(j) &&
      (j.status === 'processing' || (j.status === 'pending' && this.ctx.users.commitsOf(j.id).length > 0))
    if (this.ctx.catalog.read().jobs.some(needsCommits)) return
    this.#compacting = this.ctx.users
      .compact()
      .catch((error) => this.ctx.logger.error('user store compaction failed', { error }))
      .finally(() => {
        this.#compacting = undefined
      })
  }
}
