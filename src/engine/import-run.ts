import type { Connection } from '../domain/connections/connection.ts'
import { providerOf } from '../domain/connections/connection.ts'
import { parseUsersFile } from '../domain/import/parse-users-file.ts'
import type { PlannedRow } from '../domain/import/plan-chunk.ts'
import type { ImportJob } from '../domain/jobs/job.ts'
import { AppError } from '../errors.ts'
import { checkRows, type RowChecks, type RowSource } from './check-rows.ts'
import { artifactNames, type EngineContext } from './context.ts'
import { decodeUpload } from './request-import.ts'
import type { RunControl } from './run-control.ts'
import type { ChunkCommit, UserKeys } from './user-directory.ts'

/** Dry runs preview this many field-level changes. */
export const previewDiffs = 10

/** What every import run starts from, into the embedded store or an Auth0 tenant alike. */
export interface ImportRun {
  connection: Connection
  rows: RowSource
  /** The job's chunks already committed (none for a dry run, which commits nothing): the run resumes after them. */
  done: ChunkCommit[]
  chunkRows: number
  chunks: number
  /** Checks of the chunks still to plan. */
  checks: RowChecks
}

/**
 * What a request leaves its job's first run: the rows it parsed and their checks (started), or, for a part of
 * `roster import --split`, their reading still under way on the import worker thread.
 */
export type CachedRead =
  | { rows: RowSource; checks?: RowChecks }
  | Promise<{ rows: RowSource; checks?: RowChecks }>

/**
 * The prelude of an import run: its connection, its rows (parsed by its request, or read again from the upload), the
 * chunks a previous run committed, and the checks of the rest (started by its request, or here).
 */
export async function prepareImportRun(
  ctx: EngineContext,
  job: ImportJob,
  request?: CachedRead,
): Promise<ImportRun> {
  const connection = ctx.catalog.read().connections.find((c) => c.id === job.connectionId)
  if (!connection) throw new AppError('connection_not_found', 'The connection does not exist.')
  const done = job.options.dryRun ? [] : await ctx.users.commitsOf(job.id)
  const chunkRows = job.upload.chunkRows
  // A reading that refused the file (never expected of a part cut from a file checked whole) fails the run with it.
  const cached = await request
  let rows: RowSource
  let checks: RowChecks
  if (cached?.checks) ({ rows, checks } = cached as { rows: RowSource; checks: RowChecks })
  else {
    const read = await readRows(ctx, job)
    rows = read
    checks = checkRows(read, {
      connection,
      exportLabels: ctx.catalog.read().exportLabels,
      chunkRows,
      fromChunk: done.length,
    })
  }
  return { connection, rows, done, chunkRows, chunks: Math.ceil(rows.length / chunkRows), checks }
}

export async function readRows(ctx: EngineContext, job: ImportJob): Promise<unknown[]> {
  const bytes = await ctx.artifacts.get(job.id, artifactNames.upload)
  if (!bytes) throw new AppError('store_invalid', `The uploaded file of ${job.id} is missing from the store.`)
  const text = decodeUpload(bytes, job.upload.fileName, ctx.limits.importMaxBytes)
  return parseUsersFile(text, job.upload.fileName, ctx.catalog.read().exportLabels).rows
}

/**
 * Every key `planChunk` asks the store about for these rows, as it asks: the emails and usernames lower-cased, the
 * user_ids with the connection's provider. One `lookup` of them answers the whole chunk's planning.
 */
export function chunkKeys(rows: readonly PlannedRow[], connection: Connection): UserKeys {
  const provider = providerOf(connection)
  const emails: string[] = []
  const userIds: string[] = []
  const usernames: string[] = []
  for (const planned of rows) {
    // A row from the import worker thread is parsed only if read: its keys are at hand.
    const keys = planned.keys ?? planned.row
    emails.push(keys.email.toLowerCase())
    if (keys.user_id !== undefined) userIds.push(`${provider}|${keys.user_id}`)
    if (keys.username !== undefined) usernames.push(keys.username.toLowerCase())
  }
  return { emails, userIds, usernames }
}

/** FAULT_PAUSE_AFTER_CHUNK: says so in the log (a test waits for that line, then kills) and holds until stopped. */
export async function pauseForFaultInjection(
  ctx: EngineContext,
  job: ImportJob,
  chunk: number,
  control: RunControl,
): Promise<void> {
  ctx.logger.warn('fault injection: import paused after chunk', {
    jobId: job.id,
    chunk,
    dryRun: job.options.dryRun,
  })
  while (!control.stopping()) await new Promise((resolve) => setTimeout(resolve, 50))
}
