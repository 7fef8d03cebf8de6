import type { Connection } from '../domain/connections/connection.ts'
import type { ChunkPlan } from '../domain/import/plan-chunk.ts'
import { reportEntry, type UserDiff } from '../domain/import/report.ts'
import type { ImportJob } from '../domain/jobs/job.ts'
import { AppError } from '../errors.ts'
import type { CheckedChunk, RowSource } from './check-rows.ts'
import { commitWithReplans } from './commit-with-replans.ts'
import type { EngineContext } from './context.ts'
import { chunkKeys } from './import-run.ts'
import { planInSlices } from './plan-in-slices.ts'
import type { CommitRecord } from './ports.ts'
import type { ImportChunkMeta } from './run-import.ts'

export interface ChunkOutcome {
  meta: ImportChunkMeta
  /** A dry run's field-level changes (at most the `diffLimit` asked for). */
  diffs: UserDiff[]
  /**
   * The chunk's commit when it is in the store already but perhaps not durable yet: the job's last chunk, whose
   * fsync settling then overlaps with writing the report and undo data (it awaits both). Absent: the commit is done.
   */
  committed?: Promise<CommitRecord>
}

/**
 * Plans one chunk and commits it (a dry run only plans): the chunk's users are looked up once, planned against that
 * answer in slices (Slack's acks wait no longer than a slice), and committed with the revs the plan read as
 * `expected`, so a user another writer changed since the lookup (another job, the API, another replica) refuses the
 * commit and the chunk is looked up and planned again. A chunk another run of the job committed first is done: its
 * commit's outcome is the chunk's.
 */
export async function importChunk(
  ctx: EngineContext,
  job: ImportJob,
  connection: Connection,
  chunk: number,
  checked: CheckedChunk,
  rows: RowSource,
  options: { diffLimit: number; last: boolean },
): Promise<ChunkOutcome> {
  const { valid } = checked
  const keys = chunkKeys(valid, connection)
  return commitWithReplans(
    async () => {
      const users = await ctx.users.lookup(connection.id, keys)
      const plan = await planInSlices(valid, connection, users, {
        upsert: job.options.upsert,
        merge: job.options.merge,
        now: ctx.clock.now().toISOString(),
        newUserId: () => ctx.ids.userId(),
        diffLimit: job.options.dryRun ? options.diffLimit : 0,
        // Rows checked on the import worker thread bring their new users' JSON: committed as it is.
        encodeNewUsers: !job.options.dryRun,
      })
      const meta = chunkMeta(plan, checked, rows)
      if (job.options.dryRun) return { meta, diffs: plan.diffs }
      // Every user the plan read, written or not (an unchanged row, a conflict), and every user it writes.
      const read = users.users()
      const ids: string[] = []
      for (const user of read) ids.push(user.user_id)
      for (const put of plan.puts) ids.push(put.user_id)
      const expected = users.expected(ids)
      const committed = ctx.users.commit(
        { jobId: job.id, chunk, puts: plan.puts, deletes: [], meta },
        expected,
      )
      // Observed below or by the settling; a rejection meanwhile must not count as unhandled.
      committed.catch(() => undefined)
      try {
        // The embedded store applies a commit in memory at once (commitsOf shows it) and is durable later.
        if (options.last && (await ctx.users.commitsOf(job.id)).some((c) => c.chunk === chunk)) {
          return { meta, diffs: plan.diffs, committed }
        }
        await committed
        return { meta, diffs: plan.diffs }
      } catch (error) {
        if (error instanceof AppError && error.code === 'chunk_committed') {
          const record = (await ctx.users.commitsOf(job.id)).find((c) => c.chunk === chunk)
          if (record !== undefined) return { meta: record.meta as ImportChunkMeta, diffs: [] }
        }
        throw error
      }
    },
    {
      exhausted: (conflict, attempts) => {
        const from = chunk * job.upload.chunkRows + 1
        const to = Math.min(rows.length, (chunk + 1) * job.upload.chunkRows)
        return new AppError(
          'store_conflict',
          `Rows ${from} to ${to} of the file were planned ${attempts} times, and each time other writers (another ` +
            'job, the API, another Roster) changed their users before they were saved, so the import stopped. The ' +
            'rows before them are imported; run the import again (with upsert) once those other writes are over.',
          conflict.details,
        )
      },
      onReplan: (conflict, attempt) =>
        ctx.logger.info('users changed while an import chunk was planned; planning it again', {
          jobId: job.id,
          chunk,
          attempt,
          error: conflict.details,
        }),
    },
  )
}

/** What the chunk's commit carries in the journal: its tally, its report entries (redacted), undo data. */
function chunkMeta(plan: ChunkPlan, checked: CheckedChunk, rows: RowSource): ImportChunkMeta {
  return {
    tally: { ...plan.tally, failed: plan.tally.failed + checked.errors.length },
    // Every stage's errors (validation, file duplicates, store conflicts) pass the one redaction here, before
    // they reach the journal, the report or a preview.
    errors: [...checked.errors, ...plan.errors]
      .sort((a, b) => a.index - b.index)
      .map((entry) => reportEntry(entry.index, rows.at(entry.index), entry.errors)),
    preImages: plan.preImages,
    ignored: checked.ignored,
  }
}
