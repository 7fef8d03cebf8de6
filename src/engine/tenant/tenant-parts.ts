import { editJob } from '../../domain/catalog.ts'
import type { Connection } from '../../domain/connections/connection.ts'
import { type ReportEntry, reportEntry } from '../../domain/import/report.ts'
import {
  isSameUser,
  mapTenantErrors,
  type TenantPartPlan,
  tenantPartFile,
} from '../../domain/import/tenant-rows.ts'
import type { RowError } from '../../domain/import/validate-row.ts'
import type { ImportJob, TenantPart } from '../../domain/jobs/job.ts'
import { AppError } from '../../errors.ts'
import type { RowSource } from '../check-rows.ts'
import type { EngineContext } from '../context.ts'
import type { RunControl } from '../run-control.ts'
import type { ImportChunkMeta } from '../run-import.ts'
import type { TenantDirectory, TenantJobState } from './tenant-directory.ts'
import { pollTenantJob, tenantSlots } from './tenant-slots.ts'

/**
 * The journal commit of a chunk of an import into a tenant: the chunk's plan as in embedded mode, plus the parts
 * it is sent in (their rows and the exact users sent), committed before any part is submitted. `puts` of such a
 * commit are empty: the users live in the tenant, the journal is only the durable log.
 */
export interface TenantChunkMeta extends ImportChunkMeta {
  tenant: { parts: TenantPartPlan[] }
}

/** What the tenant made of a part: the rows it refused, as report lines (index in the file, redacted user). */
export interface PartResult {
  failures: ReportEntry[]
}

/** The job file holding a completed part's result (written before the part is recorded `completed`). */
export function partResultName(chunk: number, part: number): string {
  return `tenant-part-${chunk}-${part}.json`
}

/** The part's entry in the job's record, as it is now. */
export function recordedPart(
  ctx: EngineContext,
  jobId: string,
  chunk: number,
  part: number,
): TenantPart | undefined {
  const job = ctx.catalog.read().jobs.find((j) => j.id === jobId)
  if (job?.type !== 'users_import') return undefined
  return job.tenantParts?.find((p) => p.chunk === chunk && p.part === part)
}

/** Writes (or rewrites) a part's entry in the job's record, durably, before resolving. */
export async function recordTenantPart(ctx: EngineContext, jobId: string, entry: TenantPart): Promise<void> {
  await ctx.catalog.update((draft) => {
    const job = editJob(draft, jobId)
    if (job?.type !== 'users_import') return
    const parts = job.tenantParts ?? []
    const at = parts.findIndex((p) => p.chunk === entry.chunk && p.part === entry.part)
    if (at === -1) parts.push(entry)
    else parts[at] = entry
    job.tenantParts = parts
  })
}

export interface PartRun {
  ctx: EngineContext
  tenant: TenantDirectory
  job: ImportJob
  connection: Connection
  chunk: number
  part: number
  plan: TenantPartPlan
  /** The file's rows as the person wrote them: report lines show them (redacted). */
  rows: RowSource
  /**
   * The part may have reached the tenant before (a run that stopped before recording its job id, or a submission
   * that failed without an answer): its own users' DUPLICATED_USER then means "done".
   */
  maybeSent: boolean
  stopped: () => boolean
  control: RunControl
  /** Set by fault injection: every part of the run holds too. */
  hold: { held: boolean }
}

/** Submissions tried before the job fails, when the tenant gives no answer (5xx, timeout, connection refused). */
const submitAttempts = 4

/**
 * Sees a part through: submitted once (never again once its Auth0 job id is recorded), polled, its errors mapped
 * back to the file. Resolves undefined when the engine stops first (the next run picks it up from its record).
 * Throws when Auth0's job fails, with Auth0's reason.
 */
export async function runTenantPart(run: PartRun): Promise<PartResult | undefined> {
  const { ctx, tenant, job, chunk, part } = run
  const recorded = recordedPart(ctx, job.id, chunk, part)
  if (recorded?.status === 'completed') {
    const saved = await ctx.artifacts.get(job.id, partResultName(chunk, part))
    if (saved) return JSON.parse(saved.toString('utf8')) as PartResult
  }
  const release = await tenantSlots(ctx, tenant).acquire()
  try {
    let auth0JobId = recorded?.auth0JobId
    let maybeSent = run.maybeSent
    if (auth0JobId === undefined) {
      if (run.stopped()) return undefined
      const submitted = await submit(run)
      if (submitted === undefined) return undefined
      auth0JobId = submitted.auth0JobId
      maybeSent ||= submitted.retried
      await recordTenantPart(ctx, job.id, { chunk, part, auth0JobId, status: 'pending' })
      if (await pausedForFaultInjection(run)) return undefined
    }
    const id = auth0JobId
    const state = await pollTenantJob(ctx, () => tenant.importJob(id), run.stopped)
    if (state === undefined) return undefined
    if (state.status === 'failed') {
      await recordTenantPart(ctx, job.id, { chunk, part, auth0JobId: id, status: 'failed' })
      throw new AppError(
        'auth0_rejected',
        `The tenant's import job ${id} (part ${part + 1} of chunk ${chunk + 1}) failed: ` +
          `${state.details ?? 'Auth0 gave no reason'}.`,
      )
    }
    const result = await readResult(run, id, state, maybeSent)
    await ctx.artifacts.put(job.id, partResultName(chunk, part), JSON.stringify(result))
    await recordTenantPart(ctx, job.id, {
      chunk,
      part,
      auth0JobId: id,
      status: 'completed',
      ...(state.summary ? { summary: state.summary } : {}),
    })
    return result
  } finally {
    release()
  }
}

/**
 * FAULT injection (tests): holds the run once at least n parts' ids are durable, until stopped. "At least": parts are
 * sent in parallel, so another part may be recorded between this part's record and this check.
 */
async function pausedForFaultInjection({ ctx, job, chunk, part, control, hold }: PartRun): Promise<boolean> {
  const at = ctx.faults?.pauseAfterTenantPart
  if (at === undefined) return false
  const record = ctx.catalog.read().jobs.find((j) => j.id === job.id)
  const recorded = record?.type === 'users_import' ? (record.tenantParts?.length ?? 0) : 0
  if (recorded < at) return false
  ctx.logger.warn('fault injection: import paused after tenant part recorded', { jobId: job.id, chunk, part })
  hold.held = true
  while (!control.stopping()) await new Promise((resolve) => setTimeout(resolve, 50))
  return true
}

/** Submits the part; on no answer, waits and sends it again (the tenant may have it: `retried`). */
async function submit(run: PartRun): Promise<{ auth0JobId: string; retried: boolean } | undefined> {
  const { ctx, tenant, job, connection, chunk, part } = run
  let waitMs = ctx.limits.tenantPoll?.firstMs ?? 500
  for (let attempt = 1; ; attempt++) {
    try {
      const auth0JobId = await tenant.submitImport({
        connectionId: connection.id,
        users: tenantPartFile(run.plan),
        upsert: job.options.upsert,
        sendCompletionEmail: job.options.sendCompletionEmail,
        externalId: `${job.id}:${chunk}.${part}`,
      })
      return { auth0JobId, retried: attempt > 1 }
    } catch (error) {
      const noAnswer =
        error instanceof AppError &&
        (error.code === 'auth0_unavailable' || error.code === 'auth0_unreachable')
      if (!noAnswer || attempt >= submitAttempts) throw error
      ctx.logger.warn('import part got no answer from the tenant; sending it again', {
        jobId: job.id,
        chunk,
        part,
        attempt,
        code: error.code,
      })
      await new Promise((resolve) => setTimeout(resolve, waitMs))
      if (run.stopped()) return undefined
      waitMs *= 2
    }
  }
}

/** The part's rows the tenant refused, as report lines; own duplicates of a part sent twice count as done. */
async function readResult(
  run: PartRun,
  auth0JobId: string,
  state: TenantJobState,
  maybeSent: boolean,
): Promise<PartResult> {
  const { ctx, tenant, job, chunk, part, plan } = run
  const errors = state.summary?.failed === 0 ? [] : await tenant.importErrors(auth0JobId)
  const { byIndex, unplaced } = mapTenantErrors(plan, errors)
  if (unplaced.length > 0) {
    ctx.logger.warn("the tenant reported errors for users that are not in the part's file", {
      jobId: job.id,
      auth0JobId,
      chunk,
      part,
      count: unplaced.length,
    })
  }
  if (maybeSent) await dropOwnDuplicates(run, byIndex)
  const failures = [...byIndex]
    .sort(([a], [b]) => a - b)
    .map(([index, rowErrors]) => reportEntry(index, run.rows.at(index), rowErrors))
  return { failures }
}

/** Rows refused only as DUPLICATED_USER whose tenant user is the row as sent: the earlier send wrote them. */
async function dropOwnDuplicates(run: PartRun, byIndex: Map<number, RowError[]>): Promise<void> {
  const { plan, tenant, connection } = run
  const rowOf = new Map(plan.rows.map((index, i) => [index, plan.users[i]]))
  const candidates = [...byIndex]
    .filter(([, errors]) => errors.every((error) => error.code === 'DUPLICATED_USER'))
    .map(([index]) => ({ index, row: rowOf.get(index) }))
    .filter((c) => c.row !== undefined)
  if (candidates.length === 0) return
  const found = await tenant.usersByEmail(
    connection.id,
    candidates.map((c) => c.row?.email.toLowerCase() ?? ''),
  )
  for (const { index, row } of candidates) {
    if (row && found.some((user) => isSameUser(user, row))) byIndex.delete(index)
  }
}
