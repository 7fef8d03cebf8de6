import type { ErrorRequestHandler } from 'express'
import { AppError, type ErrorCode } from '../../errors.ts'
import type { Logger } from '../../logger.ts'

/**
 * Errors as Auth0's Management API sends them: `{statusCode, error, message[, errorCode]}` (reference §2.1), the
 * `error` being the HTTP reason phrase. Every refusal of `/api/v2` goes through here, so the shape is one.
 */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly errorCode?: string,
    /** Extra top-level fields (Auth0's 401s carry `attributes`). */
    readonly extra?: Record<string, unknown>,
  ) {
    super(message)
  }
}

const reasonPhrases: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Request Entity Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
}

export function envelope(error: ApiError): Record<string, unknown> {
  return {
    statusCode: error.statusCode,
    error: reasonPhrases[error.statusCode] ?? 'Error',
    message: error.message,
    ...(error.errorCode === undefined ? {} : { errorCode: error.errorCode }),
    ...error.extra,
  }
}

/**
 * The one table from the engine's error codes to Auth0's status and `errorCode`. Codes Auth0 documents
 * (`invalid_body`, `operation_not_supported`, `connection_is_disabled`) keep their names; a code missing here is a
 * refusal of the request (400) unless it is one of the server's own failures.
 */
const appErrors: Partial<Record<ErrorCode, { status: number; errorCode?: string }>> = {
  invalid_request: { status: 400, errorCode: 'invalid_body' },
  invalid_body: { status: 400, errorCode: 'invalid_body' },
  invalid_users_file: { status: 400, errorCode: 'invalid_body' },
  users_file_empty: { status: 400, errorCode: 'invalid_body' },
  connection_not_found: { status: 400, errorCode: 'inexistent_connection' },
  operation_not_supported: { status: 400, errorCode: 'operation_not_supported' },
  connection_is_disabled: { status: 400, errorCode: 'connection_is_disabled' },
  payload_too_large: { status: 413 },
  too_many_jobs: { status: 429 },
  not_found: { status: 404 },
  job_not_undoable: { status: 409, errorCode: 'job_not_undoable' },
  invalid_transition: { status: 409, errorCode: 'invalid_transition' },
  user_conflict: { status: 409, errorCode: 'auth0_idp_error' },
  store_locked: { status: 503 },
  store_unavailable: { status: 503 },
  store_invalid: { status: 500 },
  config_invalid: { status: 500 },
  unexpected: { status: 500 },
}

export function fromAppError(error: AppError): ApiError {
  const mapped = appErrors[error.code] ?? { status: 400, errorCode: error.code }
  if (mapped.status >= 500) return new ApiError(mapped.status, 'Internal error.')
  return new ApiError(mapped.status, error.message, mapped.errorCode)
}

/** body-parser's errors (bad JSON, too large) in Auth0's words; anything unknown is a 500 that is logged. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error
  if (error instanceof AppError) return fromAppError(error)
  const parserError = error as { type?: unknown; limit?: unknown; status?: unknown }
  if (parserError?.type === 'entity.parse.failed') {
    return new ApiError(400, 'Invalid request payload JSON format', 'invalid_body')
  }
  if (parserError?.type === 'entity.too.large') {
    return new ApiError(
      413,
      `Payload content length greater than maximum allowed: ${String(parserError.limit)}.`,
    )
  }
  if (typeof parserError?.status === 'number' && parserError.status >= 400 && parserError.status < 500) {
    return new ApiError(parserError.status, (error as Error).message ?? 'Bad request')
  }
  return new ApiError(500, 'Internal error.')
}

export function apiErrorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const apiError = toApiError(error)
    if (apiError.statusCode >= 500) {
      logger.error('api request failed', { method: req.method, path: req.path, error })
    }
    if (res.headersSent) {
      res.destroy()
      return
    }
    if (apiError.statusCode === 401) res.setHeader('www-authenticate', 'Bearer')
    res.status(apiError.statusCode).json(envelope(apiError))
  }
}
