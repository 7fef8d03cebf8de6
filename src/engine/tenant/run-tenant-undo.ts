import { editJob } from '../../domain/catalog.ts'
import type { UndoChunk } from '../../domain/import/plan-undo.ts'
import { type ReportEntry, reportEntry } from '../../domain/import/report.ts'
import {
  cutTenantParts,
  mapTenantErrors,
  type TenantPartPlan,
  tenantPartFile,
} from '../../domain/import/tenant-rows.ts'
import type { TenantPart, UndoJob } from '../../domain/jobs/job.ts'
import { planTenantUndo } from '../../domain/tenant/plan-tenant-undo.ts'
import { AppError } from '../../errors.ts'
import { artifactNames, type EngineContext } from '../context.ts'
import { finishJob } from '../finish-job.ts'
import type { RunControl } from '../run-control.ts'
import type { TenantDirectory, TenantUser } from './tenant-directory.ts'
import { pollTenantJob, tenantSlots } from './tenant-slots.ts'

/**
 * The undo's one journal commit (no users: they live in the tenant): its plan, made once against the tenant's
 * users as they were when it started. Planning again after a restart would see the users it already restored as
 * "changed since" (Auth0 stamps `updated_at`), so a restarted undo always carries on from this.
 */
interface TenantUndoMeta {
  tally: { deleted: number; restored: number; conflicts: number }
  conflicts: ReportEntry[]
  notes: ReportEntry[]
  tenant: { deletes: string[]; parts: TenantPartPlan[] }
}

/** Tenant lookups (and deletes) in flight at once: well inside Auth0's rate limits, which the adapter waits out. */
const concurrency = 4
/** Submissions tried when the tenant gives no answer (5xx, timeout): a restore part is safe to send again. */
const submitAttempts = 4

/**
 * Undoes an import into the Auth0 tenant (issue 13, decision 4): users it inserted are deleted, users it updated
 * get their pre-image back through upsert import jobs, and users changed since (a later `updated_at`, gone, or a
 * new email) are left alone and reported as conflicts. Crash-safe: the plan is committed before anything is
 * sent; deletes are idempotent (Auth0 answers 204 either way) and re-sent after a restart; each restore part's
 * Auth0 job id is recorded the moment Auth0 returns it, so a restart polls it and never sends it again. (A part
 * sent but not yet recorded when Roster died is sent again: an upsert of the same pre-images changes nothing more.)
 * What an upsert cannot restore is listed in `plan-tenant-undo.ts`.
 */
export async function runTenantUndo(
  ctx: EngineContext,
  tenant: TenantDirectory,
  job: UndoJob,
  control: RunControl,
): Promise<void> {
  let meta = (await ctx.users.commitsOf(job.id))[0]?.meta as TenantUndoMeta | undefined
  if (!meta) {
    meta = await planAgainstTenant(ctx, tenant, job)
    await ctx.users.commit({ jobId: job.id, chunk: 0, puts: [], deletes: [], meta })
  }
  const { tally } = meta
  const total = tally.deleted + tally.restored + tally.conflicts
  control.progress(tally.conflicts, total)
  await mapBounded(meta.tenant.deletes, concurrency, (userId) => tenant.deleteUser(userId))
  let done = tally.conflicts + tally.deleted
  control.progress(done, total)
  const failed: ReportEntry[] = []
  for (const [part, plan] of meta.tenant.parts.entries()) {
    if (control.stopping()) return
    const failures = await restorePart(ctx, tenant, job, part, plan, control)
    if (failures === undefined) return
    failed.push(...failures)
    done += plan.users.length
    control.progress(done, total)
  }
  await settle(ctx, job, meta, failed)
}

async function planAgainstTenant(
  ctx: EngineContext,
  tenant: TenantDirectory,
  job: UndoJob,
): Promise<TenantUndoMeta> {
  const bytes = await ctx.artifacts.get(job.undoOf, artifactNames.undo)
  if (!bytes) throw new AppError('job_not_undoable', `The undo data of ${job.undoOf} is gone (expired).`)
  const chunks = JSON.parse(bytes.toString('utf8')) as UndoChunk[]
  const original = ctx.catalog.read().jobs.find((j) => j.id === job.undoOf)
  // When the import settled: after its last Auth0 job completed, so its own writes are never "since".
  const finishedAt = original?.finishedAt ?? job.createdAt
  const ids = [...new Set(chunks.flatMap((chunk) => chunk.preImages.map((p) => p.user_id)))]
  const found = await mapBounded(ids, concurrency, (id) => tenant.getUser(id))
  const current = new Map<string, TenantUser | undefined>(ids.map((id, i) => [id, found[i]]))
  const plan = planTenantUndo(chunks, (id) => current.get(id), finishedAt)
  ctx.logger.info('undo planned against the tenant', {
    jobId: job.id,
    undoOf: job.undoOf,
    domain: tenant.domain,
    ...plan.tally,
  })
  return {
    tally: plan.tally,
    conflicts: plan.conflicts,
    notes: plan.notes,
    tenant: { deletes: plan.deletes, parts: cutTenantParts(plan.restores) },
  }
}

/**
 * Sees one restore part through: submitted (unless its Auth0 job id is recorded), polled, its per-user errors read.
 * Resolves with the users Auth0 refused (as report lines), or undefined when the engine stops first.
 */
async function restorePart(
  ctx: EngineContext,
  tenant: TenantDirectory,
  job: UndoJob,
  part: number,
  plan: TenantPartPlan,
  control: RunControl,
): Promise<ReportEntry[] | undefined> {
  const recorded = recordedPart(ctx, job.id, part)
  const resultName = `tenant-undo-part-${part}.json`
  if (recorded?.status === 'completed') {
    const saved = await ctx.artifacts.get(job.id, resultName)
    if (saved) return JSON.parse(saved.toString('utf8')) as ReportEntry[]
  }
  const release = await tenantSlots(ctx, tenant).acquire()
  try {
    let auth0JobId = recorded?.auth0JobId
    if (auth0JobId === undefined) {
      auth0JobId = await submit(ctx, tenant, job, part, plan, control)
      if (auth0JobId === undefined) return undefined
      await recordPart(ctx, job.id, { chunk: 0, part, auth0JobId, status: 'pending' })
    }
    const id = auth0JobId
    const state = await pollTenantJob(ctx, () => tenant.importJob(id), control.stopping)
    if (state === undefined) return undefined
    if (state.status !== 'completed') {
      await recordPart(ctx, job.id, { chunk: 0, part, auth0JobId: id, status: state.status })
      throw new AppError(
        'auth0_rejected',
        `The tenant's import job ${id} restoring part ${part + 1} of the undo ended ${state.status}: ` +
          `${state.details ?? 'Auth0 gave no reason'}.`,
      )
    }
    const errors = state.summary?.failed === 0 ? [] : await tenant.importErrors(id)
    const { byIndex } = mapTenantErrors(plan, errors)
    const users = new Map(plan.rows.map((index, i) => [index, plan.users[i]]))
    const failures = [...byIndex]
      .sort(([a], [b]) => a - b)
      .map(([index, rowErrors]) => {
        const user = users.get(index)
        return reportEntry(index, { user_id: user?.user_id, email: user?.email }, rowErrors)
      })
    await ctx.artifacts.put(job.id, resultName, JSON.stringify(failures))
    await recordPart(ctx, job.id, {
      chunk: 0,
      part,
      auth0JobId: id,
      status: 'completed',
      ...(state.summary ? { summary: state.summary } : {}),
    })
    return failures
  } finally {
    release()
  }
}

/** Submits a restore part (an upsert); a part that got no answer is sent again, which is harmless for an upsert. */
async function submit(
  ctx: EngineContext,
  tenant: TenantDirectory,
  job: UndoJob,
  part: number,
  plan: TenantPartPlan,
  control: RunControl,
): Promise<string | undefined> {
  let waitMs = ctx.limits.tenantPoll?.firstMs ?? 500
  for (let attempt = 1; ; attempt++) {
    try {
      return await tenant.submitImport({
        connectionId: job.connectionId,
        users: tenantPartFile(plan),
        upsert: true,
        sendCompletionEmail: false,
        externalId: `${job.id}:${part}`,
      })
    } catch (error) {
      const noAnswer =
        error instanceof AppError &&
        (error.code === 'auth0_unavailable' || error.code === 'auth0_unreachable')
      if (!noAnswer || attempt >= submitAttempts) throw error
      ctx.logger.warn('undo part got no answer from the tenant; sending it again', {
        jobId: job.id,
        part,
        attempt,
        code: error.code,
      })
      await new Promise((resolve) => setTimeout(resolve, waitMs))
      if (control.stopping()) return undefined
      waitMs *= 2
    }
  }
}

/** Writes the report (conflicts, users Auth0 refused to restore, fields it could not), then the summary. */
async function settle(
  ctx: EngineContext,
  job: UndoJob,
  meta: TenantUndoMeta,
  failed: readonly ReportEntry[],
): Promise<void> {
  const refused = new Set(failed.map((entry) => entry.index))
  const report = [
    ...meta.conflicts,
    ...failed,
    ...meta.notes.filter((note) => !refused.has(note.index)),
  ].sort((a, b) => a.index - b.index)
  if (report.length > 0) await ctx.artifacts.put(job.id, artifactNames.errors, JSON.stringify(report))
  // A user Auth0 refused to restore was left as it is: a conflict, with Auth0's reason in the report.
  const tally = {
    deleted: meta.tally.deleted,
    restored: meta.tally.restored - refused.size,
    conflicts: meta.tally.conflicts + refused.size,
  }
  await ctx.catalog.update((draft) => {
    const original = editJob(draft, job.undoOf)
    if (original?.type === 'users_import') original.undoneBy = job.id
  })
  await finishJob(ctx, job.id, (draft) => {
    if (draft.type !== 'users_undo') return
    draft.status = 'completed'
    draft.summary = { ...tally, total: tally.deleted + tally.restored + tally.conflicts }
  })
}

function recordedPart(ctx: EngineContext, jobId: string, part: number): TenantPart | undefined {
  const job = ctx.catalog.read().jobs.find((j) => j.id === jobId)
  return job?.type === 'users_undo' ? job.tenantParts?.find((p) => p.part === part) : undefined
}

/** Writes (or rewrites) a part's entry in the undo's record, durably, before resolving. */
async function recordPart(ctx: EngineContext, jobId: string, entry: TenantPart): Promise<void> {
  await ctx.catalog.update((draft) => {
    const job = editJob(draft, jobId)
    if (job?.type !== 'users_undo') return
    const parts = job.tenantParts ?? []
    const at = parts.findIndex((p) => p.part === entry.part)
    if (at === -1) parts.push(entry)
    else parts[at] = entry
    job.tenantParts = parts
  })
}

/** `work` over `items`, at most `limit` at once, results in order. */
async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      results[i] = await work(items[i] as T)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}
