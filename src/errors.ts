/**
 * One error type for requests that cannot proceed. Expected outcomes (a bad user row, a missing job) are values,
 * not exceptions; an AppError means "stop and tell the person why", so its message names the thing and the fix.
 */
export const errorCodes = [
  'config_invalid',
  'store_locked',
  'store_invalid',
  'store_unavailable',
  /** A commit's plan is stale: a user it read changed meanwhile (another writer). Plan the chunk again. */
  'store_conflict',
  /** The job already committed this chunk: a resumed job must not apply it twice. */
  'chunk_committed',
  /** `roster store copy` refuses a target that holds anything (it names what). */
  'store_not_empty',
  'port_unavailable',
  'not_found',
  'invalid_request',
  // Whole-job refusals, named after Auth0's errorCode values where Auth0 has one.
  'invalid_body',
  'invalid_users_file',
  'users_file_empty',
  'payload_too_large',
  'connection_not_found',
  'operation_not_supported',
  'connection_is_disabled',
  'too_many_jobs',
  'job_not_undoable',
  /** A dry run's Import or Cancel was decided already (by someone, on some replica): it is decided once. */
  'dry_run_decided',
  'invalid_transition',
  /** A job that stopped the process twice in a row, set aside by recovery instead of being run again. */
  'job_quarantined',
  /**
   * This replica's claim on a job lapsed and another replica took the job over (issue 14): this run stops without
   * settling it. Internal: never shown to a person, only logged.
   */
  'lease_lost',
  /** A change would give a user what another user of the connection has (PATCH of a username). */
  'user_conflict',
  // The Auth0 tenant (adapters/auth0): each names the setting or scope to fix.
  /** AUTH0_DOMAIN / AUTH0_BASE_URL do not lead to an Auth0 tenant: no answer, or not Auth0's. */
  'auth0_unreachable',
  /** The tenant refused AUTH0_CLIENT_ID + AUTH0_CLIENT_SECRET, or AUTH0_TOKEN. */
  'auth0_credentials_refused',
  /** The credential lacks a Management API scope Roster needs. */
  'auth0_scope_missing',
  /** Still answered 429 after waiting as Auth0's rate-limit headers said. */
  'auth0_rate_limited',
  /** 5xx or a timeout from the tenant, after the SDK's retries. */
  'auth0_unavailable',
  /** Any other refusal by the tenant (a 4xx with Auth0's message). */
  'auth0_rejected',
  /** The tenant answered, but not in the shape Auth0's Management API documents (a proxy, or an API change). */
  'auth0_answer_invalid',
  'unexpected',
] as const
export type ErrorCode = (typeof errorCodes)[number]

export class AppError extends Error {
  override readonly name = 'AppError'
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

export function asAppError(error: unknown): AppError {
  if (error instanceof AppError) return error
  const message = error instanceof Error ? error.message : String(error)
  return new AppError('unexpected', message, undefined, { cause: error })
}

/** The form an error takes on a job record or in a log line: never a raw Error, which serializes to {}. */
export function serializeError(error: unknown): { code: ErrorCode; message: string } {
  const appError = asAppError(error)
  return { code: appError.code, message: appError.message }
}
