import { findConnection } from '../domain/connections/connection.ts'
import {
  type Column,
  columnValues,
  type ExportField,
  fullProfileFields,
  labelsToRecord,
  resolveColumns,
} from '../domain/export/export-fields.ts'
import { type ExportFormat, exportWriter } from '../domain/export/format.ts'
import { ByteSink, type JsonRows, jsonRows } from '../domain/export/json-rows.ts'
import { isReservedKey } from '../domain/import/input-limits.ts'
import type { ExportJob, Requester } from '../domain/jobs/job.ts'
import { toAuth0User } from '../domain/users/auth0-user-view.ts'
import type { StoredUser } from '../domain/users/user.ts'
import { AppError } from '../errors.ts'
import { type EngineContext, yieldToEventLoop } from './context.ts'
import { finishJob } from './finish-job.ts'
import type { UserJson } from './ports.ts'
import type { RunControl } from './run-control.ts'
import { syncTenantConnections } from './tenant/connections.ts'

export interface ExportRequest {
  /** Connection id or name; absent: every connection. */
  connection?: string
  format: ExportFormat
  /** Absent or empty: every profile field that re-imports (`fullProfileFields`). */
  fields?: ExportField[]
  limit?: number
  /** "Export as sample": at most 10 users. */
  sample?: boolean
  gzip: boolean
  backup?: boolean
  requestedBy: Requester
}

/**
 * Users formatted between event-loop turns and handed to the file as one piece. A piece ends after `pieceMs` of
 * work (the time is read every `budgetCheckUsers` users) or at `usersPerPiece` users: from bytes a user takes a
 * few µs, parsed ~20. Slack's acks and HTTP requests take several turns of the loop each, and each turn may wait
 * for one piece (and for an import's slice, P5): 4 ms keeps the wait short, and a turn (the yield, the stream,
 * the file write) costs ~0.1 ms of CPU on a busy 2-core host, a few % of a piece. The time, not the count, bounds
 * a piece while the code is still cold (the first pieces, before V8 optimizes it) or the machine is busy.
 */
const usersPerPiece = 2000
const pieceMs = 4
const budgetCheckUsers = 25
/** Pieces are written into chunks of this size (a few pieces each), unfilled: every byte handed on is written. */
const chunkBytes = 1024 * 1024
export const sampleSize = 10

/**
 * Accepts an export: checks the connection and the fields (secrets are refused, not silently dropped), records
 * the labels it will write so its file re-imports, and queues the job.
 */
export async function requestExport(ctx: EngineContext, request: ExportRequest): Promise<ExportJob> {
  const connection =
    request.connection === undefined
      ? undefined
      : (findConnection(ctx.catalog.read().connections, request.connection) ??
        // In front of an Auth0 tenant, a connection made in its Dashboard since the last copy: list them again.
        (ctx.tenant ? findConnection(await syncTenantConnections(ctx), request.connection) : undefined))
  if (request.connection !== undefined && !connection) {
    throw new AppError('connection_not_found', 'The connection does not exist.')
  }
  const fields = request.fields && request.fields.length > 0 ? request.fields : [...fullProfileFields]
  const columns = resolveColumns(fields)
  const limit = request.sample ? Math.min(sampleSize, request.limit ?? sampleSize) : request.limit
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
    throw new AppError('invalid_request', 'limit must be a whole number, at least 1.')
  }
  const labels = labelsToRecord(columns)
  refuseRelabelling(labels, ctx.catalog.read().exportLabels)
  const job: ExportJob = {
    id: ctx.ids.jobId(),
    type: 'users_export',
    status: 'pending',
    ...(connection ? { connectionId: connection.id, connectionName: connection.name } : {}),
    createdAt: ctx.clock.now().toISOString(),
    requestedBy: request.requestedBy,
    format: request.format,
    fields: columns.map((c) => c.field),
    ...(limit === undefined ? {} : { limit }),
    gzip: request.gzip,
    ...(request.backup ? { backup: true } : {}),
  }
  await ctx.catalog.update((draft) => {
    refuseRelabelling(labels, draft.exportLabels)
    Object.assign(draft.exportLabels, labels)
    draft.jobs.push(job)
  })
  ctx.logger.info('export job created', {
    jobId: job.id,
    format: job.format,
    connection: job.connectionName ?? 'all',
  })
  ctx.events.emit({ type: 'job:created', job })
  return job
}

/**
 * A label means one field for good: files already exported with it re-import through the recorded mapping, so
 * letting a later export point it elsewhere would send an older file's column into the wrong field, silently.
 */
function refuseRelabelling(labels: Record<string, string>, recorded: Readonly<Record<string, string>>): void {
  for (const [label, path] of Object.entries(labels)) {
    if (isReservedKey(label)) {
      // A column named so would re-import as the refused key (and a record keyed by it loses it on assignment).
      throw new AppError(
        'invalid_request',
        `"${label}" cannot be a column label: __proto__, constructor and prototype are reserved. Choose another.`,
      )
    }
    const earlier = Object.hasOwn(recorded, label) ? recorded[label] : undefined
    if (earlier === undefined || earlier === path) continue
    throw new AppError(
      'invalid_request',
      `The label "${label}" already stands for ${earlier} in earlier exports, and their files re-import through ` +
        `it. Export ${path} under another label (or under its own name, ${path}).`,
    )
  }
}

/** `acme.csv.gz`: Auth0 names export files after the tenant. */
export function exportFileName(tenant: string, job: ExportJob): string {
  return `${tenant}.${job.format}${job.gzip ? '.gz' : ''}`
}

/** Thrown inside the stream when the engine stops: the half-written file is discarded, the job resumes later. */
class ExportStopped extends Error {}

/**
 * Streams the users of the embedded store to the file (the scheduler runs `runTenantExport` instead when the
 * directory is an Auth0 tenant): memory stays flat whatever the tenant's size. Reads a consistent view of the
 * store, so commits made meanwhile are not half in the file. Restarted from the beginning after a crash (an
 * export writes no users, so running it again is harmless).
 */
export async function runExport(ctx: EngineContext, job: ExportJob, control: RunControl): Promise<void> {
  const columns = resolveColumns(job.fields)
  const query = job.connectionId === undefined ? {} : { connectionId: job.connectionId }
  // Count and scan asked for in one synchronous stretch: the embedded store takes both from the same state, so
  // commits made while the file is written are not in it. (On PostgreSQL the scan reads pages as it goes.)
  const counted = ctx.users.count(query)
  const rows = ctx.users.scanJson === undefined ? undefined : jsonRows(job.format, columns)
  const scanned:
    | { users: AsyncIterable<StoredUser> }
    | { json: AsyncIterable<Iterable<UserJson>>; rows: JsonRows } =
    rows === undefined || ctx.users.scanJson === undefined
      ? { users: ctx.users.scan(query) }
      : { json: ctx.users.scanJson(query), rows }
  const total = Math.min(await counted, job.limit ?? Number.POSITIVE_INFINITY)
  await writeExportFile(ctx, job, control, total, (onProgress) =>
    'json' in scanned
      ? bytePieces(scanned.json, scanned.rows, columns, job, total, onProgress)
      : userPieces(scanned.users, columns, job, total, onProgress),
  )
}

/**
 * Writes an export's file from its pieces and settles the job; the embedded store and the Auth0 tenant (issue 13)
 * both end here, so their files are the same for the same users. `pieces` gets the progress callback, which
 * stops the stream when the engine stops: the half-written file is discarded and the job resumes later.
 */
export async function writeExportFile(
  ctx: EngineContext,
  job: ExportJob,
  control: RunControl,
  total: number,
  pieces: (onProgress: (count: number) => void) => AsyncIterable<string | Uint8Array>,
): Promise<void> {
  const fileName = exportFileName(ctx.catalog.read().tenant.name, job)
  let exported = 0
  const onProgress = (count: number) => {
    exported = count
    if (control.stopping()) throw new ExportStopped()
    control.progress(count, total)
  }
  control.progress(0, total)
  try {
    const { bytes } = await ctx.artifacts.putStream(job.id, fileName, pieces(onProgress), { gzip: job.gzip })
    await finishJob(ctx, job.id, (draft) => {
      if (draft.type !== 'users_export') return
      draft.status = 'completed'
      draft.result = { fileName, users: exported, bytes }
    })
  } catch (error) {
    if (error instanceof ExportStopped) return
    throw error
  }
}

/**
 * Pieces from parsed users: for a store that cannot hand out their JSON, columns the JSON cannot answer, or the
 * users of an Auth0 tenant's export (read one at a time from the downloaded file).
 */
export async function* userPieces(
  users: Iterable<Omit<StoredUser, 'rev'>> | AsyncIterable<Omit<StoredUser, 'rev'>>,
  columns: readonly Column[],
  job: ExportJob,
  total: number,
  onProgress: (count: number) => void,
): AsyncGenerator<string> {
  const writer = exportWriter(job.format, columns)
  let piece = writer.head
  let count = 0
  let pieceStart = performance.now()
  for await (const user of users) {
    if (count >= total) break
    piece += writer.row(columnValues(toAuth0User(user), columns), count)
    count++
    if (pieceFull(count, pieceStart)) {
      yield piece
      piece = ''
      onProgress(count)
      await yieldToEventLoop()
      pieceStart = performance.now()
    }
  }
  onProgress(count)
  yield piece + writer.tail
}

/**
 * Pieces written from the users' JSON bytes (`jsonRows`): no user is parsed unless its text is not what
 * JSON.stringify writes, and then it goes the way of `userPieces`, so the file is the same either way.
 */
async function* bytePieces(
  pages: AsyncIterable<Iterable<UserJson>>,
  rows: JsonRows,
  columns: readonly Column[],
  job: ExportJob,
  total: number,
  onProgress: (count: number) => void,
): AsyncGenerator<Uint8Array> {
  const writer = exportWriter(job.format, columns)
  const out = new ByteSink(chunkBytes, (size) => Buffer.allocUnsafeSlow(size))
  out.text(writer.head)
  let count = 0
  let pieceStart = performance.now()
  for await (const page of pages) {
    for (const json of page) {
      if (count >= total) break
      if (!rows.write(json.bytes, json.start, json.end, out, count)) {
        // Parsing also reports a damaged user (store_invalid), as a scan would.
        out.text(writer.row(columnValues(toAuth0User(json.user()), columns), count))
      }
      count++
      if (pieceFull(count, pieceStart)) {
        yield out.take()
        onProgress(count)
        await yieldToEventLoop()
        pieceStart = performance.now()
      }
    }
    if (count >= total) break
  }
  onProgress(count)
  out.text(writer.tail)
  yield out.take()
}

/** Whether the piece ending with user `count` is done: `usersPerPiece` users, or `pieceMs` of work. */
function pieceFull(count: number, pieceStart: number): boolean {
  if (count % usersPerPiece === 0) return true
  return count % budgetCheckUsers === 0 && performance.now() - pieceStart >= pieceMs
}
