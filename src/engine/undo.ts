import { editJob } from '../domain/catalog.ts'
import { planUndo, type UndoChunk } from '../domain/import/plan-undo.ts'
import type { ReportEntry } from '../domain/import/report.ts'
import type { Job, Requester, UndoJob } from '../domain/jobs/job.ts'
import { AppError } from '../errors.ts'
import { commitWithReplans } from './commit-with-replans.ts'
import { artifactNames, type EngineContext } from './context.ts'
import { finishJob } from './finish-job.ts'

interface UndoChunkMeta {
  tally: { deleted: number; restored: number; conflicts: number }
  conflicts: ReportEntry[]
}

/**
 * Asks for a job to be undone. Only a completed, writing import whose undo data is still kept can be undone,
 * and only once; the undo itself is a job like any other, so it queues, survives restarts and is reported.
 */
export async function requestUndo(
  ctx: EngineContext,
  jobId: string,
  requestedBy: Requester,
): Promise<UndoJob> {
  const undo = await ctx.catalog.update((draft) => {
    const target = draft.jobs.find((job) => job.id === jobId)
    if (!target) throw new AppError('not_found', 'Job not found.')
    const refusal = undoRefusal(target, draft.jobs)
    if (refusal || target.type !== 'users_import')
      throw new AppError('job_not_undoable', refusal ?? 'Not an import.')
    const job: UndoJob = {
      id: ctx.ids.jobId(),
      type: 'users_undo',
      status: 'pending',
      undoOf: target.id,
      connectionId: target.connectionId,
      connectionName: target.connectionName,
      createdAt: ctx.clock.now().toISOString(),
      requestedBy,
    }
    draft.jobs.push(job)
    return job
  })
  ctx.logger.info('undo job created', { jobId: undo.id, undoOf: jobId, via: requestedBy.via })
  ctx.events.emit({ type: 'job:created', job: undo })
  return undo
}

function undoRefusal(target: Job, jobs: readonly Job[]): string | null {
  if (target.type === 'users_undo') return `Job ${target.id} is an undo; run the import again instead.`
  if (target.type !== 'users_import') return `Job ${target.id} is an export: it changed no users.`
  if (target.options.dryRun) return `Job ${target.id} is a dry run: it changed nothing.`
  if (target.status === 'expired') return `Job ${target.id} has expired: its undo data was purged.`
  // A job that failed part-way is undoable too: it kept the undo data of the chunks it wrote.
  const wrote = (target.summary?.inserted ?? 0) + (target.summary?.updated ?? 0) > 0
  if (target.status !== 'completed' && !(target.status === 'failed' && wrote)) {
    return `Job ${target.id} is ${target.status}; only imports that finished can be undone.`
  }
  if (target.undoneBy) return `Job ${target.id} was already undone by ${target.undoneBy}.`
  const pending = jobs.find(
    (job) => job.type === 'users_undo' && job.undoOf === target.id && job.status !== 'failed',
  )
  if (pending) return `Job ${target.id} is being undone by ${pending.id}.`
  return null
}

/** Runs (or resumes) an undo: one atomic commit, so an undo is all or nothing. */
export async function runUndo(ctx: EngineContext, job: UndoJob): Promise<void> {
  const done = await ctx.users.commitsOf(job.id)
  let meta = done[0]?.meta as UndoChunkMeta | undefined
  if (!meta) {
    const bytes = await ctx.artifacts.get(job.undoOf, artifactNames.undo)
    if (!bytes) throw new AppError('job_not_undoable', `The undo data of ${job.undoOf} is gone (expired).`)
    const chunks = JSON.parse(bytes.toString('utf8')) as UndoChunk[]
    meta = await commitUndo(ctx, job, chunks)
  }
  if (meta.conflicts.length > 0) {
    await ctx.artifacts.put(job.id, artifactNames.errors, JSON.stringify(meta.conflicts))
  }
  const { tally } = meta
  await ctx.catalog.update((draft) => {
    const original = editJob(draft, job.undoOf)
    if (original?.type === 'users_import') original.undoneBy = job.id
  })
  await finishJob(ctx, job.id, (draft) => {
    if (draft.type !== 'users_undo') return
    draft.status = 'completed'
    draft.summary = { ...tally, total: tally.deleted + tally.restored + tally.conflicts }
  })
}

/**
 * Plans the undo against the users it touches, read in one lookup, and commits it expecting each of them as read:
 * a user another writer changes in between refuses the commit, and the undo is planned again.
 */
async function commitUndo(
  ctx: EngineContext,
  job: UndoJob,
  chunks: readonly UndoChunk[],
): Promise<UndoChunkMeta> {
  const userIds = [...new Set(chunks.flatMap((chunk) => chunk.preImages.map((image) => image.user_id)))]
  return commitWithReplans(
    async () => {
      const users = await ctx.users.lookup(job.connectionId, { userIds })
      const plan = planUndo(chunks, users)
      const meta: UndoChunkMeta = { tally: plan.tally, conflicts: plan.conflicts }
      const batch = { jobId: job.id, chunk: 0, puts: plan.puts, deletes: plan.deletes, meta }
      try {
        await ctx.users.commit(batch, users.expected(userIds))
        return meta
      } catch (error) {
        if (error instanceof AppError && error.code === 'chunk_committed') {
          const record = (await ctx.users.commitsOf(job.id))[0]
          if (record !== undefined) return record.meta as UndoChunkMeta
        }
        throw error
      }
    },
    {
      exhausted: (conflict, attempts) =>
        new AppError(
          'store_conflict',
          `The undo was planned ${attempts} times, and each time other writers (another job, the API, another ` +
            'Roster) changed the users it restores before it was saved, so it stopped having changed nothing. ' +
            'Undo the import again once those other writes are over.',
          conflict.details,
        ),
      onReplan: (_conflict, attempt) =>
        ctx.logger.info('users changed while an undo was planned; planning it again', {
          jobId: job.id,
          attempt,
        }),
    },
  )
}
