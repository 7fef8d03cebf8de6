import { AppError } from '../../errors.ts'
import type { uploadFormats } from '../jobs/job.ts'
import { inputLimits } from './input-limits.ts'
import { deepNestingOffset, lineAndColumn } from './json-depth.ts'
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
  /**
   * The nesting was checked already, in this process: a part `roster import --split` cut from a file it checked
   * whole (scan-users-json.ts). Never for bytes from outside.
   */
  nestingChecked = false,
): ParsedUsersFile {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
  const trimmed = body.trim()
  if (trimmed === '') throw new AppError('users_file_empty', 'Users file must not be empty.')
  const json = trimmed.startsWith('[') || trimmed.startsWith('{')
  // The content wins over the name: no CSV header starts with [ or {, so such a `.csv` file is JSON misnamed.
  const parsed =
    !json && (csvFileName.test(fileName) || looksLikeCsvHeader(body, recordedLabels))
      ? { format: 'csv' as const, rows: parseUsersCsv(body, fileName, recordedLabels) }
      : parseJson(body, trimmed, fileName, nestingChecked)
  if (parsed.rows.length === 0) throw new AppError('users_file_empty', 'Users file must not be empty.')
  return parsed
}

function parseJson(
  body: string,
  trimmed: string,
  fileName: string,
  nestingChecked: boolean,
): ParsedUsersFile {
  if (trimmed.startsWith('[')) return parseJsonArray(body, fileName, nestingChecked)
  if (trimmed.startsWith('{')) {
    // One object wrapping a list is one JSON value: NDJSON of two lines or more never is, so only a file that is not
    // NDJSON, or is one line, is parsed whole to look for it.
    let parsed: ParsedUsersFile
    try {
      parsed = parseNdjson(body, fileName, nestingChecked)
    } catch (error) {
      refuseWrapper(body, fileName)
      throw error
    }
    if (parsed.rows.length === 1) refuseWrapper(body, fileName)
    return parsed
  }
  throw new AppError(
    'invalid_users_file',
    `${fileName} must hold a JSON array of user objects, NDJSON (one user object per line) or CSV (a header row ` +
      'naming the fields, such as email, then one user per row).',
  )
}

/**
 * Refuses a file that nests deeper than `fileMaxDepth` below its users, naming where: `outer` brackets (the
 * array around the users, the user object itself) come on top of the limit.
 */
function checkNesting(
  body: string,
  fileName: string,
  outer: number,
  from = 0,
  to = body.length,
  user?: number,
) {
  const offset = deepNestingOffset(body, inputLimits.fileMaxDepth + outer, from, to)
  if (offset < 0) return
  const which = user === undefined ? userAt(body, offset) : user
  throw new AppError(
    'invalid_users_file',
    `${fileName} nests values deeper than ${inputLimits.fileMaxDepth} levels at ${lineAndColumn(body, offset)}` +
      `${which === undefined ? '' : ` (user ${which})`}. Roster refuses such a file whole; a user may nest at most ` +
      `${inputLimits.maxDepth} levels. Flatten the value there.`,
  )
}

/** The 1-based number of the user of a JSON array file that `offset` falls in: commas between users, counted. */
function userAt(body: string, offset: number): number | undefined {
  let depth = 0
  let inString = false
  let user = 0
  for (let i = 0; i < offset; i++) {
    const unit = body.charCodeAt(i)
    if (inString) {
      if (unit === 0x5c) i++
      else if (unit === 0x22) inString = false
    } else if (unit === 0x22) inString = true
    else if (unit === 0x5b || unit === 0x7b) {
      depth++
      if (depth === 2 && user === 0) user = 1
    } else if (unit === 0x5d || unit === 0x7d) depth--
    else if (unit === 0x2c && depth === 1) user++
  }
  return user === 0 ? undefined : user
}

function parseJsonArray(body: string, fileName: string, nestingChecked: boolean): ParsedUsersFile {
  if (!nestingChecked) checkNesting(body, fileName, 2)
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

function parseNdjson(body: string, fileName: string, nestingChecked: boolean): ParsedUsersFile {
  const rows: unknown[] = []
  const lines = body.split('\n')
  let start = 0
  for (const [index, line] of lines.entries()) {
    const lineStart = start
    start += line.length + 1
    if (line.trim() === '') continue
    if (!nestingChecked) checkNesting(body, fileName, 1, lineStart, lineStart + line.length, rows.length + 1)
    try {
      rows.push(JSON.parse(line))
    } catch (error) {
      const detail = maskOpaqueRuns(error instanceof Error ? error.message : String(error))
      throw new AppError(
        'invalid_users_file',
        `${fileName} is neither a JSON array nor NDJSON: line ${index + 1} is not a JSON value (${detail}). ` +
          'Import files are a JSON array of user objects, or one user object per line.',
      )
    }
  }
  return { format: 'ndjson', rows }
}

/**
 * A parse error quotes the file around the fault (ours, and V8's own message may too), and the fault may sit in a
 * password hash or a TOTP secret. Long runs without JSON punctuation or spaces (hashes, salts, keys, tokens) are
 * masked; the line and column still say where to look, and the punctuation around them shows what is wrong.
 */
export function maskOpaqueRuns(text: string): string {
  return text.replace(/[^\s"'{}[\],:]{12,}/g, '*****')
}

function notJson(fileName: string, body: string, error: unknown): AppError {
  const offset = jsonErrorOffset(body)
  const where = offset < 0 ? '' : ` at ${lineAndColumn(body, offset)}`
  const snippet = maskOpaqueRuns(body.slice(Math.max(0, offset - 20), offset + 10))
  const near = offset < 0 ? '' : ` near ${JSON.stringify(snippet)}`
  return new AppError(
    'invalid_users_file',
    `${fileName} is not valid JSON${where}${near}. Look there for a missing or trailing comma, or an unclosed quote.`,
    undefined,
    { cause: error },
  )
}
