import { applyUserPatch, type UserPatch } from '../domain/api/user-patch.ts'
import type { Requester } from '../domain/jobs/job.ts'
import type { StoredUser } from '../domain/users/user.ts'
import { AppError } from '../errors.ts'
import type { EngineContext } from './context.ts'

/**
 * Changes one user outside any job (`PATCH /users/{id}`, `roster users block`): one atomic store commit under a
 * synthetic job id `patch_…`, so the journal still says who wrote what. Read, plan and commit happen without an
 * await between them, like an import chunk's, so a running import never plans against a user that changes under
 * it. An undo that meets a user patched after its import reports a conflict and leaves the patch alone.
 *
 * The file store keeps each commit's record per job id until the next compaction: one small entry per patch.
 */
export async function updateUser(
  ctx: EngineContext,
  userId: string,
  patch: UserPatch,
  requestedBy: Requester,
): Promise<StoredUser> {
  const user = ctx.users.getById(userId)
  if (!user) throw new AppError('not_found', 'The user does not exist.')
  const next = applyUserPatch(user, patch, ctx.clock.now().toISOString())
  if (!next) return user
  const jobId = `patch_${ctx.ids.jobId().slice('job_'.length)}`
  const record = await ctx.users.commit({
    jobId,
    chunk: 0,
    puts: [next],
    deletes: [],
    meta: { kind: 'user-patch', via: requestedBy.via, by: requestedBy.id, fields: Object.keys(patch) },
  })
  ctx.logger.info('user updated', { userId, fields: Object.keys(patch), via: requestedBy.via })
  return { ...next, rev: record.seq }
}
