import type { Connection } from '../domain/connections/connection.ts'
import {
  type ChunkPlan,
  emptyChunkPlan,
  type PlannedRow,
  type PlanOptions,
  planChunk,
  type UserLookup,
} from '../domain/import/plan-chunk.ts'
import { yieldToEventLoop } from './context.ts'

/**
 * Planning a chunk (~50 µs a row: lookups, a new user, an id) gives the event loop a turn after about this long,
 * checking the time every `planSliceRows` rows: a 2,000-row chunk planned in one go held the loop ~100 ms, which
 * Slack's commands and the HTTP API then waited for.
 */
const planSliceMs = 8
const planSliceRows = 50

/**
 * `planChunk` of `rows` in slices with event-loop turns between them, so a big chunk does not hold up Slack's acks.
 * Planning keeps no state from row to row and `users` is the chunk's prefetched answer (`AsyncUserStore.lookup`),
 * which commits do not change: the slices' plans put together are the plan of the whole chunk. Whether the users
 * changed meanwhile is the commit's to find out (its `expected` revs), not the planner's.
 */
export async function planInSlices(
  rows: readonly PlannedRow[],
  connection: Connection,
  users: UserLookup,
  options: PlanOptions,
  budget: { sliceMs: number; sliceRows: number } = { sliceMs: planSliceMs, sliceRows: planSliceRows },
): Promise<ChunkPlan> {
  const plan = emptyChunkPlan()
  let sliceStart = performance.now()
  for (let from = 0; from < rows.length; from += budget.sliceRows) {
    if (performance.now() - sliceStart >= budget.sliceMs) {
      await yieldToEventLoop()
      sliceStart = performance.now()
    }
    const part = planChunk(rows.slice(from, from + budget.sliceRows), connection, users, {
      ...options,
      diffLimit: (options.diffLimit ?? 0) - plan.diffs.length,
    })
    plan.puts.push(...part.puts)
    plan.preImages.push(...part.preImages)
    plan.errors.push(...part.errors)
    plan.diffs.push(...part.diffs)
    plan.tally.inserted += part.tally.inserted
    plan.tally.updated += part.tally.updated
    plan.tally.unchanged += part.tally.unchanged
    plan.tally.failed += part.tally.failed
  }
  return plan
}
