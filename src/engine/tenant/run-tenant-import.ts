import { providerOf } from '../../domain/connections/connection.ts'
import { type PlanOptions, planChunk } from '../../domain/import/plan-chunk.ts'
import { layeredLookup, MapLookup } from '../../domain/import/prefetched-lookup.ts'
import { reportEntry, type UserDiff } from '../../domain/import/report.ts'
import {
  cutTenantParts,
  fromTenantImportRow,
  type TenantPartPlan,
  toTenantImportRow,
} from '../../domain/import/tenant-rows.ts'
import type { ImportJob } from '../../domain/jobs/job.ts'
import { userOfPut } from '../../domain/users/encoded-user.ts'
import { AppError } from '../../errors.ts'
import type { EngineContext } from '../context.ts'
import { type CachedRead, pauseForFaultInjection, prepareImportRun, previewDiffs } from '../import-run.ts'
import type { RunControl } from '../run-control.ts'
import { settleImport } from '../settle-import.ts'
import { prefetchTenantUsers } from './prefetch-users.ts'
import type { TenantDirectory } from './tenant-directory.ts'
import { settleTenantImport } from './tenant-outcome.ts'
import { runTenantPart, type TenantChunkMeta } from './tenant-parts.ts'
import { connectionSnapshot, defaultSnapshotRows } from './tenant-snapshot.ts'

/**
 * Runs (or resumes) an import into an Auth0 tenant (issue 13, design decision 3). The file is read and checked as
 * in embedded mode; each chunk is planned by the same `planChunk` against the tenant's users for the chunk's emails
 * (plus what this job's earlier chunks planned), so a dry run shows the same counts and diffs. An import then:
 *
 * 1. commits the chunk's plan to the journal — tally, errors, pre-images and the parts (rows and the exact users
 *    to send, cut under Auth0's 500 KB) — before anything is sent;
 * 2. submits each part as an Auth0 import job (at most `maxActiveImports` of Roster's at once) and records the
 *    Auth0 job id in the job's record as soon as Auth0 returns it;
 * 3. polls it with backoff and maps its per-user errors back to the file's rows;
 * 4. settles from the durable log (tenant-outcome.ts): one summary, one report, undo data of what was written.
 *
 * Resumed after a crash: chunks in the journal are not planned again; a part whose id is recorded is polled, never
 * sent again; a part without one is sent again, and a DUPLICATED_USER for a user identical to the row counts as done.
 */
export async function runTenantImport(
  ctx: EngineContext,
  tenant: TenantDirectory,
  job: ImportJob,
  control: RunControl,
  cached?: CachedRead,
): Promise<void> {
  const { connection, rows, done, chunkRows, chunks, checks } = await prepareImportRun(ctx, job, cached)
  const provider = providerOf(connection)
  const metas = done.map((record) => record.meta as TenantChunkMeta)

  // What this job's planned chunks will write, answered before the tenant's older copy of the same users.
  const planned = new MapLookup()
  const resumedAt = ctx.clock.now().toISOString()
  for (const meta of metas) {
    for (const part of meta.tenant.parts) {
      for (const row of part.users) planned.add(fromTenantImportRow(row, connection, provider, resumedAt))
    }
  }

  let failure: unknown
  // FAULT_PAUSE_AFTER_TENANT_PART holds the whole run (no more planning, sending or polling) until stopped.
  const hold = { held: false }
  const stopped = () => control.stopping() || failure !== undefined || hold.held
  const tasks: Promise<void>[] = []
  let plannedRows = Math.min(rows.length, done.length * chunkRows)
  let outstanding = 0
  const progress = () => control.progress(plannedRows - outstanding, rows.length)
  const startPart = (chunk: number, part: number, plan: TenantPartPlan, maybeSent: boolean) => {
    outstanding += plan.rows.length
    const run = { ctx, tenant, job, connection, chunk, part, plan, rows, maybeSent, stopped, control, hold }
    tasks.push(
      runTenantPart(run).then(
        (result) => {
          if (result === undefined) return
          outstanding -= plan.rows.length
          progress()
        },
        (error: unknown) => {
          failure ??= error
        },
      ),
    )
  }
  // Parts of chunks planned by an earlier run: polled if their id is recorded, sent (again) if not.
  for (const [chunk, meta] of metas.entries()) {
    for (const [part, plan] of meta.tenant.parts.entries()) startPart(chunk, part, plan, true)
  }
  progress()

  const diffs: UserDiff[] = []
  try {
    // A large file reads the whole connection once (one export job) instead of one lookup per row; this run's
    // snapshot only: a resumed run takes its own. Smaller files look their users up chunk by chunk, fresh each time.
    const left = rows.length - plannedRows
    const snapshot =
      left > 0 && left >= (ctx.limits.tenantSnapshotRows ?? defaultSnapshotRows)
        ? await connectionSnapshot(ctx, tenant, connection, stopped)
        : undefined
    for (let chunk = done.length; chunk < chunks && !stopped(); chunk++) {
      const checked = checks[chunk]
      if (!checked) throw new AppError('unexpected', `Chunk ${chunk} of ${job.id} was never checked.`)
      const { valid, errors, ignored } = await checked
      const fetched = snapshot ?? (await prefetchTenantUsers(tenant, connection, valid))
      const options: PlanOptions = {
        upsert: job.options.upsert,
        merge: job.options.merge,
        now: ctx.clock.now().toISOString(),
        newUserId: () => ctx.ids.userId(),
        diffLimit: job.options.dryRun ? previewDiffs - diffs.length : 0,
      }
      const plan = planChunk(valid, connection, layeredLookup(planned, fetched), options)
      diffs.push(...plan.diffs)
      // Objects: this plan did not ask for EncodedUsers (its users go to the tenant's jobs, field by field).
      const puts = plan.puts.map(userOfPut)
      // Emails are unique in a file (later duplicates fail) and a put keeps its row's email (lower-cased).
      const indexOf = new Map(valid.map((v) => [(v.keys ?? v.row).email.toLowerCase(), v.index]))
      const parts = cutTenantParts(
        puts.map((user) => ({ index: indexOf.get(user.email) ?? -1, user: toTenantImportRow(user) })),
      )
      const meta: TenantChunkMeta = {
        tally: { ...plan.tally, failed: plan.tally.failed + errors.length },
        errors: [...errors, ...plan.errors]
          .sort((a, b) => a.index - b.index)
          .map((entry) => reportEntry(entry.index, rows.at(entry.index), entry.errors)),
        preImages: plan.preImages,
        ignored,
        tenant: { parts },
      }
      metas.push(meta)
      plannedRows = Math.min(rows.length, (chunk + 1) * chunkRows)
      if (!job.options.dryRun) {
        // The plan is durable before any of it is sent: a restart finds the parts and what each one holds.
        await ctx.users.commit({ jobId: job.id, chunk, puts: [], deletes: [], meta })
        for (const user of puts) planned.add({ ...user, rev: 0 })
        if (ctx.faults?.pauseAfterChunk === chunk + 1) {
          // Planned, nothing sent: the crash window "planned but no Auth0 job id recorded".
          await pauseForFaultInjection(ctx, job, chunk + 1, control)
          break
        }
        for (const [index, part] of parts.entries()) startPart(chunk, index, part, false)
      }
      progress()
      if (job.options.dryRun && ctx.faults?.pauseAfterChunk === chunk + 1) {
        await pauseForFaultInjection(ctx, job, chunk + 1, control)
      }
    }
  } catch (error) {
    // Parts already sent stop being polled (their ids are recorded); the failure settles from the durable log.
    failure ??= error
  }

  await Promise.all(tasks)
  if (failure !== undefined) throw failure
  if (control.stopping()) return
  if (job.options.dryRun) await settleImport(ctx, job, metas, { status: 'completed', diffs })
  else await settleTenantImport(ctx, job, { status: 'completed', diffs })
}
