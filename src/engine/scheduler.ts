import type { JobProgress } from '../domain/jobs/auth0-view.ts'
import { isActive, type Job } from '../domain/jobs/job.ts'
import { type ClaimView, jobsToClaim } from '../domain/jobs/job-claims.ts'
import { compactWhenQuiet } from './compact-when-quiet.ts'
import type { EngineContext } from './context.ts'
import { runExport } from './export.ts'
import type { CachedRead } from './import-run.ts'
import { claimJobs, type JobClaim, releaseLease, renewLeases } from './job-leases.ts'
import { runImport } from './run-import.ts'
import { settleFailedRun } from './settle-failed-run.ts'
import { maxStoppedRuns, progressSoFar, quarantined } from './stopped-runs.ts'
import { runTenantExport } from './tenant/run-tenant-export.ts'
import { runTenantUndo } from './tenant/run-tenant-undo.ts'
import { runUndo } from './undo.ts'

/** Dry runs write nothing, so they do not wait for an import slot; this only bounds CPU. */
const maxConcurrentDryRuns = 2
/** How long a replica's claim on a job holds unless renewed (EngineLimits.leaseMs). */
const defaultLeaseMs = 30_000

interface Running {
  job: Job
  progress: JobProgress
  done: Promise<void>
  /** When this run's lease lapses, as this replica last renewed it. */
  untilMs: number
  /** A renewal found the lease held by another replica: the run stops at its next checkpoint. */
  lost: boolean
}

interface Claimed extends JobClaim {
  durable: Promise<void>
}

export interface StopOptions {
  /** Called once the runs have stopped, when stopping then waits for a compaction of the store's journal. */
  beforeUpkeep?: () => void
}

/**
 * Starts jobs in the order they were created, at most `maxActiveImports` writers at once across every replica
 * (dry runs beside them), and resumes jobs a stopped run left `processing` before any pending one. A job runs on
 * the replica that claimed it (a lease in the catalog, renewed while it runs: domain/jobs/job-claims.ts). A new
 * or finished job pumps the queue, as does another replica's catalog change; with a shared store a timer pumps
 * too (and renews), since a replica that died sends nothing and its leases must be seen to lapse.
 */
export class Scheduler {
  readonly #running = new Map<string, Running>()
  readonly #rows = new Map<string, CachedRead>()
  #started = false
  #stopping = false
  #compacting: Promise<void> | undefined
  #pumping: Promise<void> | undefined
  #pumpAgain = false
  #renewing: Promise<void> | undefined
  #timer: NodeJS.Timeout | undefined
  #unsubscribe: (() => void) | undefined

  constructor(private readonly ctx: EngineContext) {}

  /** Keeps a new job's parsed rows (and their checks, under way) for its first run: the file is parsed once. */
  remember(jobId: string, cached: CachedRead): void {
    this.#rows.set(jobId, cached)
  }

  progressOf(jobId: string): JobProgress | undefined {
    const running = this.#running.get(jobId)
    return running && { ...running.progress, nowMs: this.ctx.clock.now().getTime() }
  }

  /** Begins running jobs: first those a crash left processing, then pending ones. */
  start(): void {
    this.#started = true
    this.#unsubscribe = this.ctx.catalog.subscribe?.(() => this.pump())
    if (this.ctx.replica.shared) {
      this.#timer = setInterval(() => this.#renewAndPump(), this.#renewMs)
      // The server keeps the process alive; a timer of the scheduler alone must not.
      this.#timer.unref()
    }
    this.pump()
  }

  /** Looks for jobs to claim, now or right after the look under way (one at a time, so none is claimed twice). */
  pump(): void {
    if (!this.#started || this.#stopping) return
    if (this.#pumping) {
      this.#pumpAgain = true
      return
    }
    this.#pumping = this.#claim()
      .catch((error: unknown) => this.ctx.logger.warn('could not claim jobs; trying again soon', { error }))
      .finally(() => {
        this.#pumping = undefined
        if (this.#pumpAgain) {
          this.#pumpAgain = false
          this.pump()
        }
      })
  }

  /**
   * Stops taking jobs and waits until running ones reach a checkpoint. Each gives its lease back, so another
   * replica resumes it at once (or this one at its next start).
   */
  async stop(options: StopOptions = {}): Promise<void> {
    this.#stopping = true
    clearInterval(this.#timer)
    this.#unsubscribe?.()
    await this.#pumping
    await this.#renewing
    await Promise.all([...this.#running.values()].map((r) => r.done))
    if (this.#compacting !== undefined) options.beforeUpkeep?.()
    await this.#compacting
  }

  get #leaseMs(): number {
    return this.ctx.limits.leaseMs ?? defaultLeaseMs
  }

  get #renewMs(): number {
    return this.ctx.limits.leaseRenewMs ?? Math.max(1, Math.round(this.#leaseMs / 3))
  }

  #view(nowMs: number): ClaimView {
    return {
      nowMs,
      replica: this.ctx.replica,
      running: new Set(this.#running.keys()),
      maxActiveImports: this.ctx.limits.maxActiveImports,
      maxReaders: maxConcurrentDryRuns,
    }
  }

  /** Claims what the rule gives this replica (job-leases.ts) and starts the runs. */
  async #claim(): Promise<void> {
    const { ctx } = this
    const jobs = ctx.catalog.read().jobs
    // Parsed rows of jobs that settled meanwhile (run by another replica) are of no use any more.
    for (const id of this.#rows.keys())
      if (!jobs.some((j) => j.id === id && isActive(j))) this.#rows.delete(id)
    const candidates = jobsToClaim(jobs, this.#view(ctx.clock.now().getTime()))
    if (candidates.length === 0) return
    const chunks = new Map<string, number>()
    for (const job of candidates) chunks.set(job.id, await progressSoFar(ctx, job))
    const terms = { leaseMs: this.#leaseMs, maxStoppedRuns }
    const { claims, durable } = await claimJobs(ctx, (nowMs) => this.#view(nowMs), chunks, terms)
    for (const claim of claims) this.#start({ ...claim, durable })
  }

  #start(claim: Claimed): void {
    const { job } = claim
    const nowMs = this.ctx.clock.now().getTime()
    const total = job.type === 'users_import' ? job.upload.rows : 0 // exports report their total once they start
    const entry: Running = {
      job,
      progress: { processed: 0, total, startedAtMs: nowMs, nowMs },
      done: Promise.resolve(),
      untilMs: Date.parse(job.lease?.until ?? '') || nowMs + this.#leaseMs,
      lost: false,
    }
    this.#running.set(job.id, entry)
    entry.done = this.#run(entry, claim).finally(() => {
      this.#running.delete(job.id)
      this.#rows.delete(job.id)
      this.#maybeCompact()
      this.pump()
    })
  }

  /**
   * Whether the run must stop at its next checkpoint: Roster is stopping, or the lease is gone (another replica
   * took it over), or it lapsed before this replica could renew it (the database unreachable), since another
   * replica may take the job over from then on.
   */
  #mustStop(entry: Running): boolean {
    if (this.#stopping || entry.lost) return true
    return this.ctx.replica.shared && this.ctx.clock.now().getTime() >= entry.untilMs
  }

  /** Renews this replica's leases (shared store only), then looks for jobs: other replicas' leases may have lapsed. */
  #renewAndPump(): void {
    if (this.#renewing || this.#stopping) return
    this.#renewing = this.#renew()
      .catch((error: unknown) =>
        this.ctx.logger.warn("could not renew this replica's job leases; trying again soon", { error }),
      )
      .finally(() => {
        this.#renewing = undefined
        this.pump()
      })
  }

  async #renew(): Promise<void> {
    const entries = [...this.#running.values()].filter((entry) => !entry.lost)
    if (entries.length === 0) return
    const untilMs = this.ctx.clock.now().getTime() + this.#leaseMs
    const lost = await renewLeases(
      this.ctx,
      entries.map((entry) => entry.job.id),
      untilMs,
    )
    for (const entry of entries) {
      if (!lost.includes(entry.job.id)) entry.untilMs = untilMs
      else {
        entry.lost = true
        this.ctx.logger.warn('another replica took this job over: this run stops', { jobId: entry.job.id })
      }
    }
  }

  async #run(entry: Running, claim: Claimed): Promise<void> {
    const { ctx } = this
    const id = entry.job.id
    let started: Promise<void> = Promise.resolve()
    try {
      const { job, count, durable } = claim
      if (count > maxStoppedRuns) {
        started = durable
        throw quarantined()
      }
      // The attempt must be on disk before the run can take the process down, or recovery would never see it.
      await durable
      entry.job = job
      const control = {
        stopping: () => this.#mustStop(entry),
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
      if (this.#mustStop(entry)) started = this.#stoppedCleanly(id)
      await started
    } catch (error) {
      await started.catch((startError: unknown) =>
        ctx.logger.warn('could not record the job as started', { jobId: id, error: startError }),
      )
      await this.#fail(id, error)
    }
  }

  /** A run stopped at a checkpoint: its lease goes back (job-leases.ts), failing that it lapses. */
  async #stoppedCleanly(id: string): Promise<void> {
    try {
      await releaseLease(this.ctx, id)
    } catch (error) {
      this.ctx.logger.warn("could not give the job's lease back: another replica takes it once it lapsed", {
        jobId: id,
        error,
      })
    }
  }

  async #fail(id: string, error: unknown): Promise<void> {
    // A store that cannot write: memory may be ahead of disk, so this replica starts nothing more.
    if ((await settleFailedRun(this.ctx, id, error)) === 'store-unavailable') this.#stopping = true
  }

  #maybeCompact(): void {
    if (this.#compacting) return
    this.#compacting = compactWhenQuiet(this.ctx)?.finally(() => {
      this.#compacting = undefined
    })
  }
}
