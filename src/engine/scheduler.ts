import type { JobProgress } from '../domain/jobs/auth0-view.ts'
import { type Job, writesUsers } from '../domain/jobs/job.ts'
import { AppError, asAppError } from '../errors.ts'
import type { RowChecks } from './check-rows.ts'
import type { EngineContext } from './context.ts'
import { runExport } from './export.ts'
import { finishJob } from './finish-job.ts'
import { runImport } from './run-import.ts'
import { settleFailedImport } from './settle-import.ts'
import { runTenantExport } from './tenant/run-tenant-export.ts'
import { runTenantUndo } from './tenant/run-tenant-undo.ts'
import { runUndo } from './undo.ts'

/** Dry runs write nothing, so they do not wait for an import slot; this only bounds CPU. */
const maxConcurrentDryRuns = 2
/**
 * Runs in a row that may end with the process gone (a crash, a kill, an out-of-memory) without the job committing
 * anything in between, before recovery sets the job aside as `failed` instead of starting it again: two, so one
 * unrelated crash (a deploy's kill -9) never costs a job.
 */
const maxStoppedRuns = 2
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
      // Commits made so far: a run that adds one made progress, so a crash after it is not held against the job.
      // Into a tenant, so does a part's Auth0 job recorded or completed (a run may only poll), an undo's too.
      const parts = entry.job.type !== 'users_export' ? (entry.job.tenantParts ?? []) : []
      const chunks = writesUsers(entry.job)
        ? (await ctx.users.commitsOf(id)).length +
          parts.length +
          parts.filter((p) => p.status === 'completed').length
        : 0
      const { result, durable } = await ctx.catalog.updateEarly((draft) => {
        const found = draft.jobs.find((j) => j.id === id) as Job
        if (found.status === 'pending') {
          found.status = 'processing'
          found.startedAt = ctx.clock.now().toISOString()
        }
        const previous = found.attempt
        const count = previous !== undefined && previous.chunks === chunks ? previous.count + 1 : 1
        if (count <= maxStoppedRuns) found.attempt = { count, chunks }
        return { job: structuredClone(found), count }
      })
      const { job, count } = result
      if (count > maxStoppedRuns) {
        started = durable
        throw new AppError(
          'job_quarantined',
          `Roster stopped ${maxStoppedRuns} times in a row while running this job, without it committing anything ` +
            'in between, so it was set aside instead of being run again. The server log of those runs says why; ' +
            'fix the cause (or the file) and start a new job.',
        )
      }
      // The attempt must be on disk before the run can take the process down, or recovery would never see it.
      await durable
      entry.job = job
      const control = {
        stopping: () => this.#stopping,
        progress: (processed: number, total: number) => {
          entry.progress = { ...entry.progress, processed, total, nowMs: ctx.clock.now().getTime() }
          ctx.events.emit({ type: 'job:progress', job, progress: entry.progress })
        },
      }
      if (job.type === 'users_import') await runImport(ctx, job, control, this.#rows.get(id))
      else if (job.type === 'users_export') {
        // In front of an Auth0 tenant (issue 13), exports and undos run against it; imports dispatch in runImport.
        await (ctx.tenant ? runTenantExport(ctx, ctx.tenant, job, control) : runExport(ctx, job, control))
      } else await (ctx.tenant ? runTenantUndo(ctx, ctx.tenant, job, control) : runUndo(ctx, job))
      if (this.#stopping) started = this.#stoppedCleanly(id)
      await started
    } catch (error) {
      await started.catch((startError: unknown) =>
        ctx.logger.warn('could not record the job as started', { jobId: id, error: startError }),
      )
      await this.#fail(id, error)
    }
  }

  /** A run that reached a checkpoint because Roster is stopping did not stop the process: its attempt is void. */
  async #stoppedCleanly(id: string): Promise<void> {
    try {
      await this.ctx.catalog.update((draft) => {
        const found = draft.jobs.find((j) => j.id === id)
        if (found?.status === 'processing' || found?.status === 'pending') delete found.attempt
      })
    } catch (error) {
      this.ctx.logger.warn("could not clear the job's run marker", { jobId: id, error })
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
      // Writing the report or undo data failed too: the record still says failed (and why), or every start would
      // run the job again. Only a store that cannot write at all leaves it processing.
      this.ctx.logger.error('could not record job failure', { jobId: id, error: settleError })
      try {
        await finishJob(this.ctx, id, (draft) => {
          if (draft.status !== 'processing' && draft.status !== 'pending') return
          draft.status = 'failed'
          draft.statusDetails = details
        })
      } catch (finishError) {
        this.ctx.logger.error('could not record job failure', { jobId: id, error: finishError })
      }
    }
  }

  #maybeCompact(): void {
    // Only the embedded store has a journal to compact.
    const { maintenance } = this.ctx
    if (maintenance === undefined || this.#compacting) return
    if (maintenance.journalBytes() < compactAtJournalBytes) return
    // Compaction drops the journal's per-job records: safe only when no job still needs them to resume. That is
    // a pending job too when it has commits: its start (`processing`) is not waited for, so a crash can undo it.
    // Decided and started in one synchronous stretch, so no job starts in between.
    const needsCommits = (j: Job) =>
      writesUsers(j) &&
      (j.status === 'processing' || (j.status === 'pending' && maintenance.hasCommits(j.id)))
    if (this.ctx.catalog.read().jobs.some(needsCommits)) return
    this.#compacting = maintenance
      .compact()
      .catch((error) => this.ctx.logger.error('user store compaction failed', { error }))
      .finally(() => {
        this.#compacting = undefined
      })
  }
}
