import { applyUserPatch, type ResolvedPatch, type UserPatch } from '../domain/api/user-patch.ts'
import { defaultUsernameLimits } from '../domain/connections/connection.ts'
import { charCount, zSchemaMessage } from '../domain/import/row-errors.ts'
import type { Requester } from '../domain/jobs/job.ts'
import type { StoredUser } from '../domain/users/user.ts'
import { AppError } from '../errors.ts'
import { commitWithReplans } from './commit-with-replans.ts'
import type { EngineContext } from './context.ts'

/** bcrypt's cost for passwords set through PATCH: 2^10 rounds, the cost Auth0's own bcrypt hashes carry. */
const bcryptCost = 10

/**
 * Changes one user outside any job (`PATCH /users/{id}`, `roster users block`): one atomic store commit under a
 * synthetic job id `patch_…`, so the journal still says who wrote what. A new password is hashed with bcrypt first
 * and stored as an imported `password_hash` is; the password itself is never stored or logged. The commit expects
 * the user as it was read, like an import chunk's, so a concurrent writer (an import, another request, another
 * replica) is never overwritten: the patch is applied again to the user as it is then. An undo that meets a user
 * patched after its import reports a conflict and leaves the patch alone.
 *
 * The file store keeps each commit's record per job id until the next compaction: one small entry per patch.
 */
export async function updateUser(
  ctx: EngineContext,
  userId: string,
  patch: UserPatch,
  requestedBy: Requester,
): Promise<StoredUser> {
  const { password, ...rest } = patch
  const resolved: ResolvedPatch =
    password === undefined ? rest : { ...rest, password_hash: await hashPassword(password) }
  // A username taken meanwhile is found by the check when read again (`user_conflict`).
  return commitWithReplans(async () => {
    const user = await ctx.users.getById(userId)
    if (!user) throw new AppError('not_found', 'The user does not exist.')
    await checkAgainstConnection(ctx, user, patch)
    const next = applyUserPatch(user, resolved, ctx.clock.now().toISOString())
    if (!next) return user
    const jobId = `patch_${ctx.ids.jobId().slice('job_'.length)}`
    const fields = Object.keys(patch)
    const record = await ctx.users.commit(
      {
        jobId,
        chunk: 0,
        puts: [next],
        deletes: [],
        meta: { kind: 'user-patch', via: requestedBy.via, by: requestedBy.id, fields },
      },
      new Map([[userId, user.rev]]),
    )
    ctx.logger.info('user updated', { userId, fields, via: requestedBy.via })
    return { ...next, rev: record.seq }
  })
}

/** The rules that depend on the user's connection: the `connection` named, username length and uniqueness. */
async function checkAgainstConnection(ctx: EngineContext, user: StoredUser, patch: UserPatch): Promise<void> {
  const connection = ctx.catalog.read().connections.find((c) => c.id === user.connection_id)
  if (!connection) throw new AppError('connection_not_found', 'The connection does not exist.')
  if (patch.connection !== undefined && patch.connection !== connection.name) {
    throw new AppError(
      'invalid_body',
      `The user ${user.user_id} is in the connection ${connection.name}, not ${patch.connection}: name that one, or leave connection out.`,
    )
  }
  const username = patch.username?.toLowerCase()
  if (username === undefined) return
  const { min, max } = connection.username_limits ?? defaultUsernameLimits
  const length = charCount(username)
  if (length < min || length > max) {
    const problem =
      length < min ? zSchemaMessage.minLength(length, min) : zSchemaMessage.maxLength(length, max)
    throw new AppError(
      'invalid_body',
      `Payload validation error: '${problem}' on property username (The user's username).`,
    )
  }
  const holder = await ctx.users.findByUsername(connection.id, username)
  if (holder && holder.user_id !== user.user_id) {
    throw new AppError('user_conflict', 'The specified new username already exists')
  }
}

/** bcryptjs is loaded by the first password set, not at start. */
async function hashPassword(password: string): Promise<string> {
  const { default: bcrypt } = await import('bcryptjs')
  return bcrypt.hash(password, bcryptCost)
}
