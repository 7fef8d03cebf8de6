import { gunzipSync } from 'node:zlib'
import type { Catalog } from '../domain/catalog.ts'
import { type Connection, checkImportTarget, findConnection } from '../domain/connections/connection.ts'
import { type ParsedUsersFile, parseUsersFile } from '../domain/import/parse-users-file.ts'
import { decodeUtf8 } from '../domain/import/utf8.ts'
import { type ImportJob, type ImportOptions, isActive, type Requester } from '../domain/jobs/job.ts'
import { AppError } from '../errors.ts'
import { checkRows, type RowChecks, type RowSource } from './check-rows.ts'
import { artifactNames, type EngineContext } from './context.ts'
import type { CachedRead } from './import-run.ts'

/** gzip's magic number: Auth0's exports and Roster's backups are gzipped, and import as they are. */
const isGzip = (bytes: Uint8Array) => bytes[0] === 0x1f && bytes[1] === 0x8b

/**
 * The upload as text, gunzipped if needed. A compressed file may unpack to at most 20× the upload limit: enough
 * for any users file (they compress 5–10×), and a bound on a decompression bomb.
 */
export function decodeUpload(bytes: Uint8Array, fileName: string, maxBytes: number): string {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (!isGzip(buffer)) return decodeUtf8(buffer, fileName)
  let unpacked: Buffer
  try {
    unpacked = gunzipSync(buffer, { maxOutputLength: maxBytes * 20 })
  } catch (error) {
    const tooBig = (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE'
    throw new AppError(
      tooBig ? 'payload_too_large' : 'invalid_users_file',
      tooBig
        ? `${fileName} unpacks to more than ${maxBytes * 20} bytes. Split it into smaller files.`
        : `${fileName} looks gzipped but does not unpack: ${(error as Error).message}.`,
    )
  }
  return decodeUtf8(unpacked, fileName, 'unpacked byte')
}

/** What a request leaves its job's first run: the file's users and their checks, started. */
interface ReadUpload {
  format: ParsedUsersFile['format']
  rows: RowSource
  checks: RowChecks
}

/**
 * The upload's users and their checks, or, for a request that accepts unparsable files, none: such a job is recorded
 * with no rows and no cached parse, so its run reads the stored file, meets the same error and fails with it.
 */
async function readUpload(
  ctx: EngineContext,
  request: ImportRequest,
  connection: Connection,
): Promise<ReadUpload> {
  try {
    return await readAndCheck(ctx, request, connection)
  } catch (error) {
    const unparsable = error instanceof AppError && error.code === 'invalid_users_file'
    if (!unparsable || !request.acceptUnparsable) throw error
    return { format: /\.csv(\.gz)?$/i.test(request.fileName) ? 'csv' : 'json', rows: [], checks: [] }
  }
}

/**
 * On the worker thread when other imports keep this thread busy and the worker has started (the next queued file is
 * read and checked there while this thread plans and commits the current one); here otherwise, where a lone file is
 * done soonest (no copy of its checked users between threads). Same functions, same answers either way.
 */
async function readAndCheck(
  ctx: EngineContext,
  request: ImportRequest,
  connection: Connection,
): Promise<ReadUpload> {
  const underWay = readsUnderWay.get(ctx) ?? 0
  readsUnderWay.set(ctx, underWay + 1)
  try {
    return await readAndCheckNow(ctx, request, connection, underWay > 0)
  } finally {
    readsUnderWay.set(ctx, (readsUnderWay.get(ctx) ?? 1) - 1)
  }
}

/**
 * Import requests reading their files right now, by engine: files dropped together (Slack delivers each as its own
 * event) keep this thread as busy as queued jobs do, though none is recorded yet.
 */
const readsUnderWay = new WeakMap<EngineContext, number>()

async function readAndCheckNow(
  ctx: EngineContext,
  request: ImportRequest,
  connection: Connection,
  othersReading: boolean,
): Promise<ReadUpload> {
  const exportLabels = ctx.catalog.read().exportLabels
  const { chunkRows, importMaxBytes } = ctx.limits
  const file = ctx.fileReader
  const busy =
    file !== undefined &&
    (othersReading || ctx.catalog.read().jobs.some((j) => j.type === 'users_import' && isActive(j)))
  // The thread starts the first time import files queue up (it takes a second or so): a Roster that only ever takes
  // one file at a time (most tests, a quiet server; an import beside an export, P5) never pays for it, nor its copy.
  if (busy) void file.reader.warm()
  // A part of roster import --split is read there whenever there is a worker thread: the parts queue up there.
  const offThread = file?.use === 'always' || request.cutPart !== undefined || (busy && file.reader.ready)
  if (file && offThread)
    return file.reader.read({
      bytes: request.bytes,
      fileName: request.fileName,
      maxBytes: importMaxBytes,
      exportLabels,
      connection,
      chunkRows,
      planReadsRows: request.options.upsert || request.options.dryRun || ctx.tenant !== undefined,
      ...(request.cutPart ? { nestingChecked: true } : {}),
    })
  const parsed = parseUsersFile(
    decodeUpload(request.bytes, request.fileName, importMaxBytes),
    request.fileName,
    exportLabels,
  )
  // Checking the rows (CPU) runs while the upload and the record are fsync'd (waiting); the first run awaits it.
  const checks = checkRows(parsed.rows, { connection, exportLabels, chunkRows, fromChunk: 0 })
  return { format: parsed.format, rows: parsed.rows, checks }
}

export interface ImportRequest {
  /** Connection id (`con_…`) or name. */
  connection: string
  fileName: string
  bytes: Uint8Array
  options: ImportOptions
  requestedBy: Requester
  /**
   * What to do with a file that does not parse (not JSON, not CSV, a bad line). Default: refuse it with the line
   * and column, before a job exists (the CLI and Slack, where a person waits for the answer). True: accept it as
   * Auth0's API does (202) and let the job fail with the parse error as its `status_details`.
   */
  acceptUnparsable?: boolean
  /**
   * A part `roster import --split` in this process cut from a file it checked whole (split-file.ts): NDJSON of
   * `rows` users. Recorded at once, without waiting for its reading, which queues on the import worker thread
   * behind the parts before it: that thread parses and checks the next parts while this one commits, and the parts
   * are recorded in the order they are requested. (Should the reading refuse the part after all, or the thread stop,
   * the job's run fails with that error.)
   */
  cutPart?: { rows: number }
  /**
   * Checked and applied in the same catalog change that records the job (it may throw to refuse the request, leaving
   * the catalog unchanged): what must happen once, with the job or not at all — a dry run's decision.
   */
  withRecord?: (draft: Catalog, job: ImportJob) => void
}

/**
 * Accepts an import: refuses whole-job problems with Auth0's messages, stores the file durably, then records the
 * job as pending. Only after both are on disk does the caller get the job back, so an acknowledged job survives
 * any crash. Returns the parsed rows too, and their checks, started at once: the first run need not parse the file
 * again, and finds its rows checked, or being checked.
 */
export async function requestImport(
  ctx: EngineContext,
  request: ImportRequest,
  /** Ids of jobs being created: retention leaves their files alone until the record exists. */
  creating: Set<string>,
): Promise<{ job: ImportJob; read?: CachedRead }> {
  const { importMaxBytes } = ctx.limits
  if (request.bytes.byteLength > importMaxBytes) {
    throw new AppError(
      'payload_too_large',
      `Payload content length greater than maximum allowed: ${importMaxBytes}.`,
    )
  }
  if (request.bytes.byteLength === 0) throw new AppError('users_file_empty', 'Users file must not be empty.')
  const connection = findConnection(ctx.catalog.read().connections, request.connection)
  const refusal = checkImportTarget(connection)
  if (refusal || !connection) throw refusal
  const { cutPart } = request
  const reading = cutPart ? readUpload(ctx, request, connection) : undefined
  // Its run awaits it; a job that is never recorded must not leave its rejection unhandled.
  reading?.catch(() => undefined)
  const parsed = reading ? undefined : await readUpload(ctx, request, connection)
  const rows = parsed ? parsed.rows.length : (cutPart?.rows ?? 0)

  const job: ImportJob = {
    id: ctx.ids.jobId(),
    type: 'users_import',
    status: 'pending',
    connectionId: connection.id,
    connectionName: connection.name,
    createdAt: ctx.clock.now().toISOString(),
    requestedBy: request.requestedBy,
    options: request.options,
    upload: {
      fileName: request.fileName,
      format: parsed ? parsed.format : 'ndjson',
      bytes: request.bytes.byteLength,
      rows,
      chunkRows: ctx.limits.chunkRows,
    },
  }
  creating.add(job.id)
  try {
    const upload = ctx.artifacts.put(job.id, artifactNames.upload, request.bytes)
    // The record is staged and synced while the upload is, but replaces the catalog only once the upload is
    // durable: a recorded job always has its file.
    const recorded = ctx.catalog.update(
      (draft) => {
        request.withRecord?.(draft, job)
        draft.jobs.push(job)
      },
      { renameAfter: upload },
    )
    // Both are awaited; the upload's failure is the one to report, and the record's then must not go unhandled.
    recorded.catch(() => undefined)
    await upload
    await recorded
  } finally {
    creating.delete(job.id)
  }
  ctx.logger.info('import job created', {
    jobId: job.id,
    connection: connection.name,
    rows,
    bytes: job.upload.bytes,
    dryRun: job.options.dryRun,
    via: job.requestedBy.via,
  })
  ctx.events.emit({ type: 'job:created', job })
  // A job accepted with an unparsable file has no rows: its run reads the file and fails with the parse error.
  return { job, ...(reading ? { read: reading } : parsed && rows > 0 ? { read: parsed } : {}) }
}
