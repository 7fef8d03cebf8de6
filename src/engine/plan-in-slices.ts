import type { Connection } from '../domain/connections/connection.ts'
import {
  type ChunkPlan,
  emptyChunkPlan,
  type PlannedRow,
  type PlanOptions,
  planChunk,
} from '../domain/import/plan-chunk.ts'
import { yieldToEventLoop } from './context.ts'
import type { UserStore } from './ports.ts'

/**
 * Planning a chunk (~50 µs a row: lookups, a new user, an id) gives the event loop a turn after about this long,
 * checking the time every `planSliceRows` rows: a 2,000-row chunk planned in one go held the loop ~100 ms, which
 * Slack's commands and the HTTP API then waited for.
 */
const planSliceMs = 8
const planSliceRows = 50

/**
 * `planChunk` of `rows` in slices with event-loop turns between them. Planning reads the store and keeps no state
 * from row to row, so the slices' plans put together are the plan of the whole chunk as long as no commit lands
 * between them. The result carries the store's revision the plan was made against; the caller checks it right
 * before committing and plans again in one go if it moved. When a commit lands between slices the revision is
 * undefined (matching no store's); a store without `revision` is planned in one go (and matches it).
 */
export async function planInSlices(
  rows: readonly PlannedRow[],
  connection: Connection,
  users: UserStore,
  options: PlanOptions,
  budget: { sliceMs: number; sliceRows: number } = { sliceMs: planSliceMs, sliceRows: planSliceRows },
): Promise<{ plan: ChunkPlan; revision: number | undefined }> {
  const revision = users.revision?.()
  if (revision === undefined) return { plan: planChunk(rows, connection, users, options), revision }
  const plan = emptyChunkPlan()
  let sliceStart = performance.now()
  for (let from = 0; from < rows.length; from += budget.sliceRows) {
    if (performance.now() - sliceStart >= budget.sliceMs) {
      await yieldToEventLoop()
      // Changed under us: the rest would be planned against another state; the caller plans it all again.
      if (users.revision?.() !== revision) return { plan, revision: undefined }
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
  return { plan, revision }
}
