import { defaultUsernameLimits, providerOf } from '../domain/connections/connection.ts'
import { labelTable } from '../domain/import/export-labels.ts'
import { findFileDuplicates } from '../domain/import/file-duplicates.ts'
import { normalizeRow } from '../domain/import/normalize-row.ts'
import { parseUsersFile } from '../domain/import/parse-users-file.ts'
import { type ChunkTally, type PlannedRow, type PreImage, planChunk } from '../domain/import/plan-chunk.ts'
import type { ReportEntry, UserDiff } from '../domain/import/report.ts'
import { redactRow, validateImportRow } from '../domain/import/validate-row.ts'
import type { ImportJob } from '../domain/jobs/job.ts'
import { AppError } from '../errors.ts'
import { artifactNames, type EngineContext, yieldToEventLoop } from './context.ts'
import { decodeUpload } from './request-import.ts'
import type { RunControl } from './run-control.ts'
import { settleImport } from './settle-import.ts'

/** What each committed chunk carries in the journal, so a restarted job resumes without redoing it. */
export interface ImportChunkMeta {
  tally: ChunkTally
  errors: ReportEntry[]
  preImages: PreImage[]
  ignored: string[]
}

/** Rows validated between event-loop turns: ~250 rows of zod work stays well under a millisecond budget of 50. */
const validationSlice = 250
/** Dry runs preview this many field-level changes. */
const previewDiffs = 10

/**
 * Runs (or resumes) an import. Each chunk is planned against the users as they are at that moment and written
 * in one atomic commit that also carries the chunk's errors and undo data; chunks already in the journal are
 * skipped. So a job killed at any point and run again ends with the same users, summary and report.
 */
export async function runImport(
  ctx: EngineContext,
  job: ImportJob,
  control: RunControl,
  cachedRows?: unknown[],
): Promise<void> {
  const connection = ctx.catalog.read().connections.find((c) => c.id === job.connectionId)
  if (!connection) throw new AppError('connection_not_found', 'The connection does not exist.')
  const rows = cachedRows ?? (await readRows(ctx, job))
  const provider = providerOf(connection)
  const labels = labelTable(ctx.catalog.read().exportLabels)
  const normalized = rows.map((raw) => normalizeRow(raw, labels, provider))
  const duplicates = findFileDuplicates(normalized.map((n) => n.row))
  const usernameLimits = connection.username_limits ?? defaultUsernameLimits

  const done = job.options.dryRun ? [] : ctx.users.commitsOf(job.id)
  const metas = done.map((record) => record.meta as ImportChunkMeta)
  const diffs: UserDiff[] = []
  const chunkRows = job.upload.chunkRows
  const chunks = Math.ceil(rows.length / chunkRows)
  control.progress(Math.min(rows.length, done.length * chunkRows), rows.length)

  for (let chunk = done.length; chunk < chunks; chunk++) {
    if (control.stopping()) return
    const start = chunk * chunkRows
    const end = Math.min(rows.length, start + chunkRows)
    const valid: PlannedRow[] = []
    const errors: ReportEntry[] = []
    const ignored = new Set<string>()
    for (let index = start; index < end; index++) {
      if ((index - start) % validationSlice === validationSlice - 1) await yieldToEventLoop()
      const normal = normalized[index] as (typeof normalized)[number]
      for (const key of normal.ignored) ignored.add(key)
      const result = validateImportRow(normal.row, { usernameLimits })
      const rowErrors = [...normal.errors, ...(result.ok ? [] : result.errors)]
      const duplicate = duplicates.get(index)
      if (duplicate) rowErrors.push(duplicate)
      if (result.ok && rowErrors.length === 0)
        valid.push({ index, row: result.row, partialMetadata: normal.partialMetadata })
      else errors.push({ index, user: redactRow(rows[index]), errors: rowErrors })
    }
    // From here to commit() nothing awaits: the plan is made and applied against one state of the store.
    const plan = planChunk(valid, connection, ctx.users, {
      upsert: job.options.upsert,
      merge: job.options.merge,
      now: ctx.clock.now().toISOString(),
      newUserId: () => ctx.ids.userId(),
      diffLimit: job.options.dryRun ? previewDiffs - diffs.length : 0,
    })
    for (const entry of plan.errors) entry.user = redactRow(rows[entry.index])
    diffs.push(...plan.diffs)
    const meta: ImportChunkMeta = {
      tally: { ...plan.tally, failed: plan.tally.failed + errors.length },
      errors: [...errors, ...plan.errors].sort((a, b) => a.index - b.index),
      preImages: plan.preImages,
      ignored: [...ignored],
    }
    if (!job.options.dryRun) {
      await ctx.users.commit({ jobId: job.id, chunk, puts: plan.puts, deletes: [], meta })
    }
    metas.push(meta)
    control.progress(end, rows.length)
  }

  await settleImport(ctx, job, metas, { status: 'completed', diffs })
}

async function readRows(ctx: EngineContext, job: ImportJob): Promise<unknown[]> {
  const bytes = await ctx.artifacts.get(job.id, artifactNames.upload)
  if (!bytes) throw new AppError('store_invalid', `The uploaded file of ${job.id} is missing from the store.`)
  const text = decodeUpload(bytes, job.upload.fileName, ctx.limits.importMaxBytes)
  return parseUsersFile(text, job.upload.fileName, ctx.catalog.read().exportLabels).rows
}
