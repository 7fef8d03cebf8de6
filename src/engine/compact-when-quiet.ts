import { type Job, writesUsers } from '../domain/jobs/job.ts'
import type { EngineContext } from './context.ts'

/**
 * Compact the user journal once it holds this much (EngineLimits.compactAtJournalBytes), at a moment when no writing
 * job is in flight.
 */
export const defaultCompactAtJournalBytes = 64 * 1024 * 1024

/**
 * Starts compacting the embedded store's user journal when it is large and no job still needs its per-job records;
 * the compaction under way (it logs its own failure), or undefined when there is none to do now.
 */
export function compactWhenQuiet(ctx: EngineContext): Promise<void> | undefined {
  // Only the embedded store has a journal to compact.
  const { maintenance } = ctx
  if (maintenance === undefined) return undefined
  if (maintenance.journalBytes() < (ctx.limits.compactAtJournalBytes ?? defaultCompactAtJournalBytes))
    return undefined
  // Compaction drops the journal's per-job records: safe only when no job still needs them to resume. That is
  // a pending job too when it has commits: its start (`processing`) is not waited for, so a crash can undo it.
  // Decided and started in one synchronous stretch, so no job starts in between.
  const needsCommits = (j: Job) =>
    writesUsers(j) && (j.status === 'processing' || (j.status === 'pending' && maintenance.hasCommits(j.id)))
  if (ctx.catalog.read().jobs.some(needsCommits)) return undefined
  return maintenance.compact().catch((error) => ctx.logger.error('user store compaction failed', { error }))
}
