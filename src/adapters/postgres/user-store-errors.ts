import type { PutKeys } from '../../domain/users/encoded-user.ts'
import type { CommitBatch } from '../../engine/ports.ts'
import { storeConflict } from '../../engine/user-directory.ts'
import { AppError } from '../../errors.ts'
import { databaseUnavailable } from './pool.ts'

/**
 * What a failed user commit tells its caller. PostgreSQL's errors about data carry the rows they refused (`detail`:
 * "Failing row contains (…)", `where`: the JSON text around a bad character), and those rows hold password hashes:
 * such an error is never passed on, not even as a `cause` a logger might print. The message names the job, the chunk
 * and the user_id, and the fix.
 */
export function commitFailure(
  error: unknown,
  batch: CommitBatch,
  puts: readonly PutKeys[],
  databaseUrl: string,
): AppError {
  if (error instanceof AppError) return error
  const pgError = error as { code?: unknown; constraint?: unknown; detail?: unknown }
  const code = typeof pgError.code === 'string' ? pgError.code : ''
  const detail = typeof pgError.detail === 'string' ? pgError.detail : ''
  if (code === '23505') {
    const constraint = String(pgError.constraint ?? '')
    if (constraint === 'users_pkey') {
      // A user the plan saw as absent was inserted by another writer meanwhile.
      const userId = puts.find((put) => detail.includes(`=(${put.user_id})`))?.user_id
      return storeConflict(batch.jobId, batch.chunk, userId ?? '(one of the chunk)', 'changed')
    }
    if (constraint === 'users_connection_email' || constraint === 'users_connection_username') {
      const kind = constraint === 'users_connection_email' ? 'email' : 'username'
      const userId = puts.find((put) =>
        detail.includes(`=(${put.connection_id}, ${put[kind] ?? ''})`),
      )?.user_id
      return storeConflict(batch.jobId, batch.chunk, userId ?? '(one of the chunk)', kind)
    }
  }
  // Two commits that waited on each other's users: PostgreSQL ended this one. Planning again takes turns.
  if (code === '40P01' || code === '40001') {
    return storeConflict(batch.jobId, batch.chunk, '(one of the chunk)', 'changed')
  }
  // Class 22 (data exception: a value too long, text that is not JSON) and 23 (integrity).
  if (code.startsWith('22') || code.startsWith('23')) {
    return new AppError(
      'invalid_request',
      `PostgreSQL refused chunk ${batch.chunk} of job ${batch.jobId} (SQLSTATE ${code}${
        typeof pgError.constraint === 'string' ? `, constraint ${pgError.constraint}` : ''
      }): a user or the chunk's data cannot be stored as given (e.g. a NUL character, \\u0000, in a field). ` +
        'Nothing of the chunk was written.',
      { jobId: batch.jobId, chunk: batch.chunk, sqlstate: code },
    )
  }
  return databaseUnavailable(databaseUrl, `commit chunk ${batch.chunk} of job ${batch.jobId}`, error)
}
