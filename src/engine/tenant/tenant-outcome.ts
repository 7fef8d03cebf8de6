import type { ChunkTally } from '../../domain/import/plan-chunk.ts'
import type { UndoChunk } from '../../domain/import/plan-undo.ts'
import type { ReportEntry } from '../../domain/import/report.ts'
import type { TenantPartPlan } from '../../domain/import/tenant-rows.ts'
import type { ImportJob } from '../../domain/jobs/job.ts'
import type { EngineContext } from '../context.ts'
import type { ImportChunkMeta } from '../run-import.ts'
import { type ImportOutcome, settleImport } from '../settle-import.ts'
import { type PartResult, partResultName, recordedPart, type TenantChunkMeta } from './tenant-parts.ts'

/**
 * Settles an import into a tenant from its durable log: each chunk's planned tally, errors and pre-images (its
 * journal commit), corrected by what the tenant made of each part (the job's record and the parts' result files).
 * The same for a job that completed, failed, or is settled again after a crash, so the summary, report and undo
 * data always say what the tenant holds as far as Roster can know it:
 * - a completed part: its refused rows move from inserted/updated to failed, into the report, out of undo data
 *   (except MFA_FACTORS_FAILED, whose other changes Auth0 applies);
 * - a part Auth0 failed, or one never submitted (a failed job only): not counted as written;
 * - a part submitted whose job had not finished: counted as planned (it may have been written).
 */
export async function settleTenantImport(
  ctx: EngineContext,
  job: ImportJob,
  outcome: ImportOutcome,
): Promise<void> {
  const records = await ctx.users.commitsOf(job.id)
  const metas: ImportChunkMeta[] = []
  const undo: UndoChunk[] = []
  for (const record of records) {
    const meta = record.meta as TenantChunkMeta
    const adjusted = await adjustChunk(ctx, job, record.chunk, meta)
    metas.push(adjusted)
    undo.push({ seq: record.seq, preImages: adjusted.preImages })
  }
  await settleImport(ctx, job, metas, outcome, undefined, undo)
}

async function adjustChunk(
  ctx: EngineContext,
  job: ImportJob,
  chunk: number,
  meta: TenantChunkMeta,
): Promise<ImportChunkMeta> {
  const tally: ChunkTally = { ...meta.tally }
  const errors: ReportEntry[] = [...meta.errors]
  const unwritten = new Set<string>()
  const inserts = new Set(meta.preImages.filter((p) => p.before === null).map((p) => bareId(p.user_id)))
  const count = (userId: string) => {
    if (inserts.has(userId)) tally.inserted--
    else tally.updated--
  }
  const parts = meta.tenant?.parts ?? []
  for (let part = 0; part < parts.length; part++) {
    const plan = parts[part] as TenantPartPlan
    const entry = recordedPart(ctx, job.id, chunk, part)
    if (entry?.status === 'completed') {
      const saved = await ctx.artifacts.get(job.id, partResultName(chunk, part))
      const result: PartResult = saved ? JSON.parse(saved.toString('utf8')) : { failures: [] }
      const userIds = new Map(plan.rows.map((index, i) => [index, plan.users[i]?.user_id]))
      for (const failure of result.failures) {
        const userId = userIds.get(failure.index)
        if (userId === undefined) continue
        count(userId)
        tally.failed++
        errors.push(failure)
        if (!failure.errors.every((error) => error.code === 'MFA_FACTORS_FAILED')) unwritten.add(userId)
      }
    } else if (entry === undefined || entry.status === 'failed') {
      for (const row of plan.users) count(row.user_id)
    }
  }
  return {
    tally,
    errors: errors.sort((a, b) => a.index - b.index),
    preImages: meta.preImages.filter((image) => !unwritten.has(bareId(image.user_id))),
    ignored: meta.ignored,
  }
}

function bareId(userId: string): string {
  return userId.slice(userId.indexOf('|') + 1)
}
