import { parseUsersFile } from '../domain/import/parse-users-file.ts'
import { type ChunkTally, type PlanOptions, type PreImage, planChunk } from '../domain/import/plan-chunk.ts'
import { type ReportEntry, reportEntry, type UserDiff } from '../domain/import/report.ts'
import type { ImportJob } from '../domain/jobs/job.ts'
import { AppError } from '../errors.ts'
import { checkRows, type RowChecks } from './check-rows.ts'
import { artifactNames, type EngineContext } from './context.ts'
import { planInSlices } from './plan-in-slices.ts'
import { decodeUpload } from './request-import.ts'
import type { RunControl } from './run-control.ts'
import { settleImport } from './settle-import.ts'
import { runTenantImport } from './tenant/run-tenant-import.ts'

/** What each committed chunk carries in the journal, so a restarted job resumes without redoing it. */
export interface ImportChunkMeta {
  tally: ChunkTally
  errors: ReportEntry[]
  preImages: PreImage[]
  ignored: string[]
}

/** Dry runs preview this many field-level changes. */
export const previewDiffs = 10

/**
 * Runs (or resumes) an import. Each chunk is planned against the users as they are at that moment and written
 * in one atomic commit that also carries the chunk's errors and undo data; chunks already in the journal are
 * skipped. So a job killed at any point and run again ends with the same users, summary and report.
 */
export async function runImport(
  ctx: EngineContext,
  job: ImportJob,
  control: RunControl,
  /** The rows its request parsed, and their checks if the request started them (see `checkRows`). */
  cached?: { rows: unknown[]; checks?: RowChecks },
): Promise<void> {
  if (ctx.tenant) return runTenantImport(ctx, ctx.tenant, job, control, cached)
  const connection = ctx.catalog.read().connections.find((c) => c.id === job.connectionId)
  if (!connection) throw new AppError('connection_not_found', 'The connection does not exist.')
  const rows = cached?.rows ?? (await readRows(ctx, job))
  const done = job.options.dryRun ? [] : ctx.users.commitsOf(job.id)
  const metas = done.map((record) => record.meta as ImportChunkMeta)
  const diffs: UserDiff[] = []
  const chunkRows = job.upload.chunkRows
  const chunks = Math.ceil(rows.length / chunkRows)
  const checks =
    cached?.checks ??
    checkRows(rows, {
      connection,
      exportLabels: ctx.catalog.read().exportLabels,
      chunkRows,
      fromChunk: done.length,
    })
  control.progress(Math.min(rows.length, done.length * chunkRows), rows.length)
  let lastCommit: Promise<unknown> | undefined

  for (let chunk = done.length; chunk < chunks; chunk++) {
    if (control.stopping()) return
    const end = Math.min(rows.length, (chunk + 1) * chunkRows)
    const checked = checks[chunk]
    if (!checked) throw new AppError('unexpected', `Chunk ${chunk} of ${job.id} was never checked.`)
    const { valid, errors, ignored } = await checked
    const options: PlanOptions = {
      upsert: job.options.upsert,
      merge: job.options.merge,
      now: ctx.clock.now().toISOString(),
      newUserId: () => ctx.ids.userId(),
      diffLimit: job.options.dryRun ? previewDiffs - diffs.length : 0,
    }
    const sliced = await planInSlices(valid, connection, ctx.users, options)
    // From here to commit() nothing awaits: the plan is applied against the state it was made against. Were the
    // users changed between its slices (another job's or the API's commit), it is made again, in one go.
    const plan =
      sliced.revision === ctx.users.revision?.()
        ? sliced.plan
        : planChunk(valid, connection, ctx.users, options)
    diffs.push(...plan.diffs)
    const meta: ImportChunkMeta = {
      tally: { ...plan.tally, failed: plan.tally.failed + errors.length },
      // Every stage's errors (validation, file duplicates, store conflicts) pass the one redaction here, before
      // they reach the journal, the report or a preview.
      errors: [...errors, ...plan.errors]
        .sort((a, b) => a.index - b.index)
        .map((entry) => reportEntry(entry.index, rows[entry.index], entry.errors)),
      preImages: plan.preImages,
      ignored,
    }
    if (!job.options.dryRun) {
      const committed = ctx.users.commit({ jobId: job.id, chunk, puts: plan.puts, deletes: [], meta })
      // The last commit is in the store's memory already (commitsOf has it); settling writes the report and undo
      // data while its fsync runs, and awaits both.
      if (chunk === chunks - 1) lastCommit = committed
      else await committed
    }
    metas.push(meta)
    control.progress(end, rows.length)
    if (ctx.faults?.pauseAfterChunk === chunk + 1) await pauseForFaultInjection(ctx, job, chunk + 1, control)
  }

  await settleImport(ctx, job, metas, { status: 'completed', diffs }, lastCommit)
}

/** FAULT_PAUSE_AFTER_CHUNK: says so in the log (a test waits for that line, then kills) and holds until stopped. */
export async function pauseForFaultInjection(
  ctx: EngineContext,
  job: ImportJob,
  chunk: number,
  control: RunControl,
): Promise<void> {
  ctx.logger.warn('fault injection: import paused after chunk', {
    jobId: job.id,
    chunk,
    dryRun: job.options.dryRun,
  })
  while (!control.stopping()) await new Promise((resolve) => setTimeout(resolve, 50))
}

export async function readRows(ctx: EngineContext, job: ImportJob): Promise<unknown[]> {
  const bytes = await ctx.artifacts.get(job.id, artifactNames.upload)
  if (!bytes) throw new AppError('store_invalid', `The uploaded file of ${job.id} is missing from the store.`)
  const text = decodeUpload(bytes, job.upload.fileName, ctx.limits.importMaxBytes)
  return parseUsersFile(text, job.upload.fileName, ctx.catalog.read().exportLabels).rows
}
