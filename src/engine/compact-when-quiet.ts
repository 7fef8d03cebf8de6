import { type Job, writesUsers } from '../domain/jobs/job.ts'
import type { EngineContext } from './context.ts'

/**
 * Compact the user journal once it holds this much (EngineLimits.compactAtJournalBytes), at a moment when no writing
 * job is in flight or waiting.
 */
export const defaultCompactAtJournalBytes = 64 * 1024 * 1024

/**
 * Past this many times its mark, the journal is compacted at the next moment no writing job is in flight, even while
 * imports wait in the queue: a server fed without pause still keeps its journal (and so its restart) bounded.
 */
export const overdueJournalFactor = 4

/**
 * Starts compacting the embedded store's user journal when it is large and no job still needs its per-job records;
 * the compaction under way (it logs its own failure), or undefined when there is none to do now.
 *
 * Queued imports come first: compacting a 100,000-user journal takes the main thread ~0.3–0.6 s, and an admin who
 * dropped 50 files waits for the last of them, not for upkeep. So a compaction waits until no writing job is pending
 * either, unless the journal is overdue (`overdueJournalFactor`).
 */
export function compactWhenQuiet(ctx: EngineContext): Promise<void> | undefined {
  // Only the embedded store has a journal to compact.
  const { maintenance } = ctx
  if (maintenance === undefined) return undefined
  const mark = ctx.limits.compactAtJournalBytes ?? defaultCompactAtJournalBytes
  const journalBytes = maintenance.journalBytes()
  if (journalBytes < mark) return undefined
  const overdue = journalBytes >= overdueJournalFactor * mark
  // Compaction drops the journal's per-job records: safe only when no job still needs them to resume. That is
  // a pending job too when it has commits: its start (`processing`) is not waited for, so a crash can undo it.
  // Decided and started in one synchronous stretch, so no job starts in between.
  const holdsOff = (j: Job) =>
    writesUsers(j) &&
    (j.status === 'processing' || (j.status === 'pending' && (!overdue || maintenance.hasCommits(j.id))))
  if (ctx.catalog.read().jobs.some(holdsOff)) return undefined
  return maintenance.compact().catch((error) => ctx.logger.error('user store compaction failed', { error }))
}
