import type { ChunkTally } from '../domain/import/plan-chunk.ts'
import type { UndoChunk } from '../domain/import/plan-undo.ts'
import type { UserDiff } from '../domain/import/report.ts'
import type { ImportJob } from '../domain/jobs/job.ts'
import { artifactNames, type EngineContext } from './context.ts'
import { finishJob } from './finish-job.ts'
import type { CommitRecord } from './ports.ts'
import type { ImportChunkMeta } from './run-import.ts'
import { settleTenantImport } from './tenant/tenant-outcome.ts'
import type { ChunkCommit } from './user-directory.ts'

/** The job's last commit, which may still be becoming durable: its chunk, and the commit's promise. */
export interface LastCommit {
  chunk: number
  record: Promise<CommitRecord>
}

export type ImportOutcome = { status: 'completed'; diffs: UserDiff[] } | { status: 'failed'; details: string }

/**
 * Writes what an import leaves behind — error report, undo data (or a dry run's preview) — and then settles the
 * job with its summary. A job that fails part-way is settled the same way from the chunks it committed, so its
 * record says what it wrote, and those writes can still be undone.
 *
 * A completed import is announced once its last commit and its files are durable, before its record is: its
 * commits hold everything the record says (tallies, errors, ignored fields, undo data), so a crash before the
 * record is on disk leaves the job pending or processing, and the next start runs it again, finds every chunk
 * committed and settles it from them, the same. The call still resolves only once the record is durable, so the
 * scheduler holds the job (and with it compaction, which would drop those commits) until then.
 */
export async function settleImport(
  ctx: EngineContext,
  job: ImportJob,
  metas: readonly ImportChunkMeta[],
  outcome: ImportOutcome,
  /** The job's last commit, if its fsync may still be running: awaited alongside the files. */
  lastCommit?: LastCommit,
  /**
   * The undo data, when not every pre-image of the job's commits stands for a write (an import into an Auth0 tenant:
   * users the tenant refused were never written). Default: every commit's pre-images.
   */
  undo?: readonly UndoChunk[],
): Promise<void> {
  // Observed below with the files' writes; a step before that which throws (a report that is not JSON) must not
  // leave its rejection unhandled, which would take the process down instead of failing the job.
  lastCommit?.record.catch(() => undefined)
  const tally = sumTallies(metas)
  const report = metas.flatMap((meta) => meta.errors)
  const writes: Promise<unknown>[] = [lastCommit?.record ?? Promise.resolve()]
  if (report.length > 0) writes.push(ctx.artifacts.put(job.id, artifactNames.errors, JSON.stringify(report)))
  if (job.options.dryRun) {
    if (outcome.status === 'completed') {
      writes.push(ctx.artifacts.put(job.id, artifactNames.preview, JSON.stringify({ diffs: outcome.diffs })))
    }
  } else {
    const chunks =
      undo ??
      (await commitsWith(ctx, job.id, lastCommit)).map((record) => ({
        seq: record.seq,
        preImages: (record.meta as ImportChunkMeta).preImages,
      }))
    writes.push(ctx.artifacts.put(job.id, artifactNames.undo, JSON.stringify(chunks)))
  }
  // All at once, so their fsyncs overlap; the first failure (the commit's, if it failed) is the job's.
  const failure = (await Promise.allSettled(writes)).find((result) => result.status === 'rejected')
  if (failure) throw failure.reason
  const ignoredFields = [...new Set(metas.flatMap((meta) => meta.ignored))].sort()
  const early = outcome.status === 'completed' && !job.options.dryRun
  await finishJob(
    ctx,
    job.id,
    (draft) => {
      if (draft.type !== 'users_import') return
      draft.status = outcome.status
      if (outcome.status === 'failed') draft.statusDetails = outcome.details
      // A file that never parsed (accepted by the API as Auth0 accepts it) has no rows to count: Auth0's failed
      // job then carries no summary, only why it failed.
      if (outcome.status === 'completed' || job.upload.rows > 0) {
        draft.summary = {
          inserted: tally.inserted,
          updated: tally.updated,
          failed: tally.failed,
          total: job.upload.rows,
          unchanged: tally.unchanged,
        }
      }
      if (ignoredFields.length > 0) draft.ignoredFields = ignoredFields
    },
    { early },
  )
}

/**
 * The job's commits, the last one included: the embedded store lists it as soon as it is applied (before it is
 * durable, so writing the undo data overlaps its fsync); a store that lists it only once it is in is waited for.
 */
async function commitsWith(ctx: EngineContext, jobId: string, last?: LastCommit): Promise<ChunkCommit[]> {
  const records = await ctx.users.commitsOf(jobId)
  if (last === undefined || records.some((record) => record.chunk === last.chunk)) return records
  const { seq, chunk, meta } = await last.record
  return [...records, { seq, jobId, chunk, meta }]
}

/** Settles an import that failed as a whole, keeping the record of what its committed chunks wrote. */
export async function settleFailedImport(ctx: EngineContext, job: ImportJob, details: string): Promise<void> {
  // Into a tenant, a commit holds a plan; what was written is what the tenant's jobs say.
  if (ctx.tenant && !job.options.dryRun) return settleTenantImport(ctx, job, { status: 'failed', details })
  const metas = job.options.dryRun
    ? []
    : (await ctx.users.commitsOf(job.id)).map((r) => r.meta as ImportChunkMeta)
  return settleImport(ctx, job, metas, { status: 'failed', details })
}

function sumTallies(metas: readonly ImportChunkMeta[]): ChunkTally {
  const sum: ChunkTally = { inserted: 0, updated: 0, unchanged: 0, failed: 0 }
  for (const { tally } of metas) {
    sum.inserted += tally.inserted
    sum.updated += tally.updated
    sum.unchanged += tally.unchanged
    sum.failed += tally.failed
  }
  return sum
}
