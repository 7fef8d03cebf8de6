import { AppError } from '../../errors.ts'
import type { uploadFormats } from '../jobs/job.ts'
import { jsonErrorOffset } from './json-error-offset.ts'
import { looksLikeCsvHeader, parseUsersCsv } from './parse-csv.ts'

export interface ParsedUsersFile {
  format: (typeof uploadFormats)[number]
  /** The user objects as written, unvalidated: validation is per user, so one bad user never sinks the file. */
  rows: unknown[]
}

/** `users.csv`, or `users.csv.gz` (gzip is undone before parsing). */
const csvFileName = /\.csv(\.gz)?$/i

/**
 * Reads a users file: Auth0's JSON array, NDJSON (one object per line: Auth0's own export format, which Auth0
 * itself refuses to re-import), or CSV as Roster exports it (by name, `.csv`, or by a header row naming fields).
 * Whole-file problems are refused here, before a job exists, naming the line or row so the person can find the
 * fault in an editor or spreadsheet.
 */
export function parseUsersFile(
  text: string,
  fileName: string,
  /** Labels earlier exports recorded; they tell CSV parsing which field a column holds. */
  recordedLabels: Readonly<Record<string, string>> = {},
): ParsedUsersFile {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
  const trimmed = body.trim()
  if (trimmed === '') throw new AppError('users_file_empty', 'Users file must not be empty.')
  const json = trimmed.startsWith('[') || trimmed.startsWith('{')
  // The content wins over the name: no CSV header starts with [ or {, so such a `.csv` file is JSON misnamed.
  const parsed =
    !json && (csvFileName.test(fileName) || looksLikeCsvHeader(body, recordedLabels))
      ? { format: 'csv' as const, rows: parseUsersCsv(body, fileName, recordedLabels) }
      : parseJson(body, trimmed, fileName)
  if (parsed.rows.length === 0) throw new AppError('users_file_empty', 'Users file must not be empty.')
  return parsed
}

function parseJson(body: string, trimmed: string, fileName: string): ParsedUsersFile {
  if (trimmed.startsWith('[')) return parseJsonArray(body, fileName)
  if (trimmed.startsWith('{')) {
    refuseWrapper(body, fileName)
    return parseNdjson(body, fileName)
  }
  throw new AppError(
    'invalid_users_file',
    `${fileName} must hold a JSON array of user objects, NDJSON (one user object per line) or CSV (a header row ` +
      'naming the fields, such as email, then one user per row).',
  )
}

function parseJsonArray(body: string, fileName: string): ParsedUsersFile {
  let value: unknown
  try {
    value = JSON.parse(body)
  } catch (error) {
    throw notJson(fileName, body, error)
  }
  if (!Array.isArray(value)) {
    throw new AppError('invalid_users_file', `${fileName} must hold a JSON array of user objects.`)
  }
  return { format: 'json', rows: value }
}

/**
 * `{"users": [ … ]}` (how some tools and API responses wrap a list) is one object, not a file of users: said
 * once for the whole file, with the fix, instead of one failed "user" without an email.
 */
function refuseWrapper(body: string, fileName: string): void {
  let value: unknown
  try {
    value = JSON.parse(body)
  } catch {
    return // several lines, each an object: NDJSON
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || 'email' in value) return
  // A list under `users`, or one whose items have an email: a user's own arrays (mfa_factors) are neither.
  const list = Object.entries(value).find(
    ([key, inner]) =>
      Array.isArray(inner) &&
      (key === 'users' || inner.some((u) => typeof u === 'object' && u !== null && 'email' in u)),
  )
  if (!list) return
  throw new AppError(
    'invalid_users_file',
    `${fileName} holds one object with a "${list[0]}" list, not a list of users: an import file is the array ` +
      `itself, [ {"email": …}, … ]. Take the list out (e.g. jq '.${list[0]}' ${fileName} > users.json) and import that.`,
  )
}

function parseNdjson(body: string, fileName: string): ParsedUsersFile {
  const rows: unknown[] = []
  const lines = body.split('\n')
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') continue
    try {
      rows.push(JSON.parse(line))
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error)
      throw new AppError(
        'invalid_users_file',
        `${fileName} is neither a JSON array nor NDJSON: line ${index + 1} is not a JSON value (${detail}). ` +
          'Import files are a JSON array of user objects, or one user object per line.',
      )
    }
  }
  return { format: 'ndjson', rows }
}

function notJson(fileName: string, body: string, error: unknown): AppError {
  const offset = jsonErrorOffset(body)
  const where = offset < 0 ? '' : ` at ${lineAndColumn(body, offset)}`
  const near = offset < 0 ? '' : ` near ${JSON.stringify(body.slice(Math.max(0, offset - 20), offset + 10))}`
  return new AppError(
    'invalid_users_file',
    `${fileName} is not valid JSON${where}${near}. Look there for a missing or trailing comma, or an unclosed quote.`,
    undefined,
    { cause: error },
  )
}

function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset)
  const line = before.split('\n').length
  const column = offset - before.lastIndexOf('\n')
  return `line ${line}, column ${column}`
}
