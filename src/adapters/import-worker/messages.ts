import type { uploadFormats } from '../../domain/jobs/job.ts'
import type { ImportFileToRead } from '../../engine/ports.ts'
import { AppError, type ErrorCode, errorCodes } from '../../errors.ts'
import type { PackedChunk } from './packed-chunk.ts'

/** One file for the worker: what `ImportFileToRead` holds, with the task's id. */
export interface FileTask extends ImportFileToRead {
  id: number
}

/**
 * The worker's answers, in this order for each task: `parsed` (or `refused`: the file as a whole), then one `chunk`
 * per chunk (or `failed`, for that chunk and the rest). Structured clone carries them: errors and rows sent as
 * objects arrive as they were (keys such as `__proto__`, `undefined` values, -0). A packed row's JSON (sent when the
 * plan reads rows) drops `undefined` values and writes -0 as 0, as the stored user's JSON does anyway: the planner
 * treats an undefined field as absent, and its comparisons are of JSON values (same outcome, tested).
 */
export type WorkerAnswer =
  /** Sent once, when the worker has loaded its modules (with tsx, about a second): it takes files from then on. */
  | { id?: undefined; type: 'ready' }
  | {
      id: number
      type: 'parsed'
      format: (typeof uploadFormats)[number]
      count: number
      /**
       * CSV only: the users as parsed (a CSV row's text is not its JSON). A JSON or NDJSON file's users stay in its
       * text: the main thread finds and parses one there when a report quotes it (import-worker.ts, textRows).
       */
      rows?: unknown[]
    }
  /** A chunk's checks, packed (packed-chunk.ts): most rows as their keys and JSON, not as objects. */
  | { id: number; type: 'chunk'; chunk: number; checked: PackedChunk }
  | { id: number; type: 'refused'; error: SentError }
  | { id: number; type: 'failed'; chunk: number; error: SentError }

export interface SentError {
  code?: string
  message: string
  details?: unknown
}

export function sendError(error: unknown): SentError {
  if (error instanceof AppError) return { code: error.code, message: error.message, details: error.details }
  return { message: error instanceof Error ? error.message : String(error) }
}

/** The error as the main thread would have thrown it: the same AppError code, message and details. */
export function receivedError(sent: SentError): Error {
  const code = errorCodes.find((known) => known === sent.code) as ErrorCode | undefined
  return code ? new AppError(code, sent.message, sent.details) : new Error(sent.message)
}
