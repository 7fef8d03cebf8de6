import { AppError } from '../errors.ts'

/**
 * Plans in a row that other writers' changes refused (`store_conflict`) before the write fails. Each attempt reads
 * its users again, so only users that keep changing between one read and its commit ever reach it.
 */
export const maxReplans = 5

/** A commit refused because the users it read changed meanwhile: read again and plan again. */
export function isConflict(error: unknown): error is AppError {
  return error instanceof AppError && error.code === 'store_conflict'
}

export interface ReplanOptions {
  /**
   * The error the write fails with once `maxReplans` attempts were refused, naming what it could not write (rows,
   * users); `conflict` is the last refusal (its details name the users). Default: that refusal itself.
   */
  exhausted?: (conflict: AppError, attempts: number) => AppError
  /** Said before each new attempt (a log line). */
  onReplan?: (conflict: AppError, attempt: number) => void
}

/**
 * The optimistic write every engine use case makes: `attempt` reads the users it touches, plans, and commits with
 * the revs it read as `expected`, so a user another writer (a job, the API, another replica) changed since the
 * read refuses the commit instead of being overwritten. A refusal runs `attempt` again, up to `maxReplans` times;
 * any other error is the caller's.
 */
export async function commitWithReplans<T>(
  attempt: (n: number) => Promise<T>,
  options: ReplanOptions = {},
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt(n)
    } catch (error) {
      if (!isConflict(error)) throw error
      if (n >= maxReplans) throw options.exhausted?.(error, n) ?? error
      options.onReplan?.(error, n)
    }
  }
}
