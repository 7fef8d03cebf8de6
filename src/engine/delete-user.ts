import type { Requester } from '../domain/jobs/job.ts'
import { AppError } from '../errors.ts'
import type { EngineContext } from './context.ts'

/** Reads and commits in a row that a concurrent change to the user refused before the request fails. */
export const maxSingleUserAttempts = 5

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
  for (let attempt = 1; ; attempt++) {
    const user = await ctx.users.getById(userId)
    if (!user) return false
    try {
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
      break
    } catch (error) {
      if (!isConflict(error) || attempt >= maxSingleUserAttempts) throw error
    }
  }
  ctx.logger.info('user deleted', { userId, via: requestedBy.via, by: requestedBy.id })
  return true
}

/** A commit refused because the users it read changed meanwhile: read again and retry. */
export function isConflict(error: unknown): error is AppError {
  return error instanceof AppError && error.code === 'store_conflict'
}
