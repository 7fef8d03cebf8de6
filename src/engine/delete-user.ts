import type { Requester } from '../domain/jobs/job.ts'
import { commitWithReplans } from './commit-with-replans.ts'
import type { EngineContext } from './context.ts'

/**
 * Deletes one user outside any job (`DELETE /api/v2/users/{id}`): one atomic store commit through the journal,
 * under a synthetic job id `delete_…` whose meta says who asked, as `updateUser` does for patches. An undo of the
 * import that inserted the user then reports it as a conflict ("deleted after this job") and leaves it deleted.
 *
 * Returns whether a user was deleted: Auth0 answers 204 either way (reference auth0-management-api.md §3.1), so
 * deleting twice, or retrying after a lost answer, is harmless.
 */
export async function deleteUser(
  ctx: EngineContext,
  userId: string,
  requestedBy: Requester,
): Promise<boolean> {
  const deleted = await commitWithReplans(async () => {
    const user = await ctx.users.getById(userId)
    if (!user) return false
    // Expecting the user as read: a concurrent change (its email too) is read again, never deleted blind.
    await ctx.users.commit(
      {
        jobId: `delete_${ctx.ids.jobId().slice('job_'.length)}`,
        chunk: 0,
        puts: [],
        deletes: [userId],
        meta: { kind: 'user-delete', via: requestedBy.via, by: requestedBy.id, email: user.email },
      },
      new Map([[userId, user.rev]]),
    )
    return true
  })
  if (!deleted) return false
  ctx.logger.info('user deleted', { userId, via: requestedBy.via, by: requestedBy.id })
  return true
}
