import type { ChunkTally, PreImage } from '../domain/import/plan-chunk.ts'
import type { ReportEntry, UserDiff } from '../domain/import/report.ts'
import type { ImportJob } from '../domain/jobs/job.ts'
import { AppError } from '../errors.ts'
import type { EngineContext } from './context.ts'
import { importChunk } from './import-chunk.ts'
import { type CachedRead, pauseForFaultInjection, prepareImportRun, previewDiffs } from './import-run.ts'
import type { RunControl } from './run-control.ts'
import { type LastCommit, settleImport } from './settle-import.ts'
import { runTenantImport } from './tenant/run-tenant-import.ts'

/** What each committed chunk carries in the journal, so a restarted job resumes without redoing it. */
export interface ImportChunkMeta {
  tally: ChunkTally
  errors: ReportEntry[]
  preImages: PreImage[]
  ignored: string[]
}

/**
 * Runs (or resumes) an import. Each chunk is planned against the users as they are at that moment and written
 * in one atomic commit that also carries the chunk's errors and undo data (see `importChunk`); chunks already
 * committed are skipped. So a job killed at any point and run again ends with the same users, summary and report.
 */
export async function runImport(
  ctx: EngineContext,
  job: ImportJob,
  control: RunControl,
  /** The rows its request parsed, and their checks if the request started them (see `checkRows`). */
  cached?: CachedRead,
): Promise<void> {
  if (ctx.tenant) return runTenantImport(ctx, ctx.tenant, job, control, cached)
  const { connection, rows, done, chunkRows, chunks, checks } = await prepareImportRun(ctx, job, cached)
  const metas = done.map((record) => record.meta as ImportChunkMeta)
  const diffs: UserDiff[] = []
  control.progress(Math.min(rows.length, done.length * chunkRows), rows.length)
  let lastCommit: LastCommit | undefined

  for (let chunk = done.length; chunk < chunks; chunk++) {
    if (control.stopping()) return
    const end = Math.min(rows.length, (chunk + 1) * chunkRows)
    const checked = checks[chunk]
    if (!checked) throw new AppError('unexpected', `Chunk ${chunk} of ${job.id} was never checked.`)
    const outcome = await importChunk(ctx, job, connection, chunk, await checked, rows, {
      diffLimit: previewDiffs - diffs.length,
      last: chunk === chunks - 1,
    })
    diffs.push(...outcome.diffs)
    metas.push(outcome.meta)
    if (outcome.committed) lastCommit = { chunk, record: outcome.committed }
    control.progress(end, rows.length)
    if (ctx.faults?.pauseAfterChunk === chunk + 1) await pauseForFaultInjection(ctx, job, chunk + 1, control)
  }

  await settleImport(ctx, job, metas, { status: 'completed', diffs }, lastCommit)
}
