import { type Connection, defaultUsernameLimits, providerOf } from '../domain/connections/connection.ts'
import { labelTable } from '../domain/import/export-labels.ts'
import { findFileDuplicates } from '../domain/import/file-duplicates.ts'
import type { ImportRow } from '../domain/import/import-row.ts'
import type { LabelDisagreement } from '../domain/import/label-disagreements.ts'
import { normalizeRow } from '../domain/import/normalize-row.ts'
import type { PlannedRow } from '../domain/import/plan-chunk.ts'
import type { ReportEntry } from '../domain/import/report.ts'
import { validateImportRow } from '../domain/import/validate-row.ts'
import { AppError } from '../errors.ts'
import { yieldToEventLoop } from './context.ts'

/** One chunk's rows after normalizing and validation: what the planner gets, and what already failed. */
export interface CheckedChunk {
  valid: PlannedRow[]
  errors: ReportEntry[]
  /** Keys that named read-only fields, ignored. */
  ignored: string[]
}

/** Checks of an import's chunks, by chunk number (none for chunks before `fromChunk`). */
export type RowChecks = Promise<CheckedChunk>[]

/**
 * An import file's users as written, by 0-based index: an array, or (read on a worker thread) a view that parses
 * a user from the file's text only when a report quotes it (see adapters/import-worker).
 */
export interface RowSource {
  readonly length: number
  at(index: number): unknown
}

export interface CheckSettings {
  connection: Connection
  exportLabels: Readonly<Record<string, string>>
  chunkRows: number
  /** Chunks before it are committed already: not checked again. */
  fromChunk: number
  /**
   * Rows checked between event-loop turns (default `validationSlice`). The import worker thread, which serves no
   * request, checks a chunk in one go.
   */
  sliceRows?: number
}

/**
 * Rows validated between event-loop turns: ~50 rows is about a millisecond of zod work, so the file writes of the
 * request that started the checks (and Slack's requests) wait at most that long for their turn.
 */
const validationSlice = 50

/**
 * Starts normalizing and validating `rows`, chunk after chunk, in slices that give the event loop a turn: the
 * work can begin while the upload and the job's record are still being fsync'd, and each chunk's planning awaits
 * only its own check. Depends on the file, the connection and the labels alone, so a job resumed after a crash
 * checks its rows to the same verdicts. Each promise rejects if checking failed (the job fails with it).
 */
export function checkRows(rows: readonly unknown[], settings: CheckSettings): RowChecks {
  const { connection, chunkRows, fromChunk } = settings
  const slice = settings.sliceRows ?? validationSlice
  const chunks = Math.ceil(rows.length / chunkRows)
  const checks: RowChecks = []
  let preparing: Promise<Prepared> | undefined
  // The first turn goes to whoever started the checks: a request issues its file writes before any checking.
  let previous: Promise<unknown> = yieldToEventLoop()
  for (let chunk = fromChunk; chunk < chunks; chunk++) {
    const start = chunk * chunkRows
    const end = Math.min(rows.length, start + chunkRows)
    const check = previous.then(async () => {
      preparing ??= prepare(rows, connection, settings.exportLabels, slice)
      return checkChunk(await preparing, start, end, slice)
    })
    // Awaited by the run; a job that never runs (its request failed) must not leave an unhandled rejection.
    check.catch(() => undefined)
    checks[chunk] = check
    previous = check
  }
  return checks
}

interface Prepared {
  normalized: ReturnType<typeof normalizeRow>[]
  duplicates: ReturnType<typeof findFileDuplicates>
  usernameLimits: { min: number; max: number }
}

/**
 * What every chunk needs: duplicates are found across the whole file, so every row is normalized first, in
 * slices like validation (a whole file in one go held the event loop for tens of milliseconds).
 */
async function prepare(
  rows: readonly unknown[],
  connection: Connection,
  exportLabels: Readonly<Record<string, string>>,
  slice: number,
): Promise<Prepared> {
  const provider = providerOf(connection)
  const labels = labelTable(exportLabels)
  const normalized: ReturnType<typeof normalizeRow>[] = []
  for (let index = 0; index < rows.length; index++) {
    if (index % slice === slice - 1) await yieldToEventLoop()
    normalized.push(normalizeRow(rows[index], labels, provider))
  }
  const duplicates = findFileDuplicates(normalized.map((n) => n.row))
  return { normalized, duplicates, usernameLimits: connection.username_limits ?? defaultUsernameLimits }
}

/**
 * A row `checkRows` found valid and plain (no label disagreement, no duplicate), checked again on its own from the
 * user as written: the very row the checks gave the planner (they depend on the user, the connection and the
 * labels alone). For a row checked on the import worker thread that the planner reads after all.
 */
export function recheckedRow(
  raw: unknown,
  settings: { connection: Connection; labels: ReturnType<typeof labelTable> },
): ImportRow {
  const { connection, labels } = settings
  const normal = normalizeRow(raw, labels, providerOf(connection))
  const usernameLimits = connection.username_limits ?? defaultUsernameLimits
  const result = validateImportRow(normal.row, { usernameLimits })
  if (!result.ok || normal.errors.length > 0)
    throw new AppError('unexpected', 'A row the import worker thread found valid did not check again.')
  return result.row
}

/** The row with each disagreeing label's value in place of its field's, validated like any row. */
function labelledRow(
  row: unknown,
  disagreements: readonly LabelDisagreement[],
  usernameLimits: { min: number; max: number },
): ReturnType<typeof validateImportRow> {
  const copy: Record<string, unknown> = { ...(row as Record<string, unknown>) }
  for (const { field, labelValue } of disagreements) copy[field] = labelValue
  return validateImportRow(copy, { usernameLimits })
}

async function checkChunk(
  { normalized, duplicates, usernameLimits }: Prepared,
  start: number,
  end: number,
  slice: number,
): Promise<CheckedChunk> {
  const valid: PlannedRow[] = []
  const errors: ReportEntry[] = []
  const ignored = new Set<string>()
  const options = { usernameLimits }
  for (let index = start; index < end; index++) {
    if ((index - start) % slice === slice - 1) await yieldToEventLoop()
    const normal = normalized[index] as (typeof normalized)[number]
    for (const key of normal.ignored) ignored.add(key)
    const result = validateImportRow(normal.row, options)
    const duplicate = duplicates.get(index)
    // The common row, checked without building anything more than its PlannedRow.
    if (result.ok && normal.errors.length === 0 && normal.disagreements === undefined && !duplicate) {
      valid.push({ index, row: result.row, partialMetadata: normal.partialMetadata })
      continue
    }
    const rowErrors = [...normal.errors, ...(result.ok ? [] : result.errors)]
    // A label that disagrees with its field: its value must be valid too, since the planner may keep it.
    const alternative = normal.disagreements && labelledRow(normal.row, normal.disagreements, usernameLimits)
    if (alternative && !alternative.ok) rowErrors.push(...alternative.errors)
    if (duplicate) rowErrors.push(duplicate)
    if (result.ok && rowErrors.length === 0) {
      valid.push({
        index,
        row: result.row,
        partialMetadata: normal.partialMetadata,
        ...(alternative?.ok && normal.disagreements
          ? {
              disagreements: normal.disagreements.map(({ field, label }) => ({ field, label })),
              labelled: alternative.row,
            }
          : {}),
      })
    } else {
      // The user is added, redacted, where the chunk's report is made (runImport, reportEntry).
      errors.push({ index, user: undefined, errors: rowErrors })
    }
  }
  return { valid, errors, ignored: [...ignored] }
}
