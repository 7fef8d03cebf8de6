import Papa from 'papaparse'
import { AppError } from '../../errors.ts'
import { isImportableField, isReadOnlyPath, labelTable } from './export-labels.ts'
import { inputLimits } from './input-limits.ts'
import { deepNestingOffset } from './json-depth.ts'

/**
 * Reads a users CSV in the dialect Roster (and Auth0) exports: comma-separated, RFC 4180 quoting, a header row of
 * field names, export labels (`Email Verified`) or dotted paths (`user_metadata.plan`), and Auth0's OWASP escaping
 * (every string cell starts with one `'`). Returns one header-keyed object per row, typed back to what the export
 * wrote, for `normalizeRow` and validation to treat exactly like a JSON file's users.
 *
 * Only whole-file faults throw (they name the spreadsheet row: the header is row 1); a bad value is left for
 * validation, which reports it against its user.
 */
export function parseUsersCsv(
  text: string,
  fileName: string,
  /** Labels earlier exports recorded (`Plan` → `user_metadata.plan`), so their cells are typed as their field. */
  recordedLabels: Readonly<Record<string, string>> = {},
): unknown[] {
  // header: false and no skipping, so record i is spreadsheet row i + 1 even past blank lines, and a repeated
  // header is seen as written (papaparse's header mode renames duplicates to `email_1` instead).
  const result = Papa.parse<string[]>(text, { header: false, delimiter: ',', skipEmptyLines: false })
  const records = result.data
  const headerIndex = records.findIndex((record) => !isBlank(record))
  if (headerIndex < 0) return []
  const header = checkHeader(records[headerIndex] as string[], headerIndex + 1, fileName)
  const problems = result.errors.flatMap((error) =>
    error.type === 'Quotes' && error.row !== undefined
      ? [quoteProblem(error.code, error.row + 1, fileName)]
      : [],
  )
  const labels = labelTable(recordedLabels)
  const kinds = header.map((name) => kindOf(name, labels))
  const users: unknown[] = []
  for (let index = headerIndex + 1; index < records.length; index++) {
    const record = records[index] as string[]
    if (isBlank(record)) continue
    if (record.length !== header.length) problems.push(countProblem(record, index + 1, header, fileName))
    users.push(
      Object.fromEntries(
        header.flatMap((name, column) => {
          const cell = record[column] ?? ''
          if (cell === '') return []
          checkCellNesting(cell, index + 1, name, fileName)
          return [[name, typeCell(cell, kinds[column] as CellKind)]]
        }),
      ),
    )
  }
  const first = problems.sort((a, b) => a.row - b.row)[0]
  if (first) throw new AppError('invalid_users_file', first.message)
  return users
}

/**
 * Whether a file that is not JSON reads as a users CSV: its first line names at least one field, export label or
 * profile path. A stray text file is then refused as "not a users file" rather than failing every row.
 */
export function looksLikeCsvHeader(
  text: string,
  recordedLabels: Readonly<Record<string, string>> = {},
): boolean {
  const firstLine =
    text
      .replace(/^\uFEFF/, '')
      .trimStart()
      .split(/\r\n|\n|\r/, 1)[0] ?? ''
  const labels = labelTable(recordedLabels)
  return firstLine.split(',').some((cell) => {
    const name = unescapeHeader(cell.trim().replace(/^"(.*)"$/, '$1'))
    return isImportableField(name) || labels.has(name) || metadataPath.test(name) || isReadOnlyPath(name)
  })
}

/** How a column's cells are typed back, from the field the column names. */
type CellKind = 'boolean' | 'json' | 'string' | 'metadata' | 'other'

const booleanFields = ['email_verified', 'phone_verified', 'blocked']
/** Fields whose values are objects or arrays: the export wrote them as JSON text. */
const jsonFields = ['app_metadata', 'user_metadata', 'custom_password_hash', 'mfa_factors']
const metadataPath = /^(app|user)_metadata\./

function kindOf(name: string, labels: ReadonlyMap<string, string>): CellKind {
  const path = isImportableField(name) ? name : (labels.get(name) ?? name)
  if (booleanFields.includes(path)) return 'boolean'
  if (jsonFields.includes(path)) return 'json'
  if (metadataPath.test(path)) return 'metadata'
  if (isImportableField(path) || isReadOnlyPath(path)) return 'string'
  return 'other'
}

/**
 * Undoes the export's escaping (one leading `'`: `''x` was the string `'x`), then types the text as its field:
 * - boolean fields: `true` / `false`, any case (spreadsheets save `TRUE`);
 * - whole objects (metadata, custom_password_hash, mfa_factors): the JSON text parsed;
 * - string fields stay strings, whatever they look like (a given_name `1984`, a nickname `{x}`);
 * - inside metadata, where any JSON type is allowed, the `'` tells: the export prefixes strings, never numbers
 *   or booleans, so an unprefixed `42` or `true` is the number or boolean it was (a person typing 42 into a
 *   spreadsheet means a number too), and a prefixed `'42` stays the string "42";
 * - anything else (columns validation will refuse) stays text unless it is a JSON object or array.
 * A cell holding `{…}` or `[…]` JSON text is read as that object or array outside string fields, so a metadata
 * string that happens to be JSON text re-imports as the object: the export wrote both the same way.
 */
function typeCell(cell: string, kind: CellKind): unknown {
  const escaped = cell.startsWith("'")
  const text = escaped ? cell.slice(1) : cell
  switch (kind) {
    case 'string':
      return text
    case 'boolean': {
      const lower = text.toLowerCase()
      return lower === 'true' ? true : lower === 'false' ? false : text
    }
    case 'json':
      return parseJson(text) ?? text
    case 'metadata':
      return (escaped ? parseJsonContainer(text) : parseJson(text)) ?? text
    case 'other':
      return parseJsonContainer(text) ?? text
  }
}

/** The parsed value, or undefined when the text is not JSON (JSON has no undefined, so nothing is lost). */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function parseJsonContainer(text: string): unknown {
  return text.startsWith('{') || text.startsWith('[') ? parseJson(text) : undefined
}

/** A cell's JSON may nest no deeper than a JSON file's users may (see `parseUsersFile`): else the file is refused. */
function checkCellNesting(cell: string, row: number, column: string, fileName: string): void {
  if (!cell.includes('[') && !cell.includes('{')) return
  if (deepNestingOffset(cell, inputLimits.fileMaxDepth) < 0) return
  throw new AppError(
    'invalid_users_file',
    `${fileName}: row ${row}, column "${column}" nests values deeper than ${inputLimits.fileMaxDepth} levels. ` +
      `Roster refuses such a file whole; a user may nest at most ${inputLimits.maxDepth} levels.`,
  )
}

function isBlank(record: readonly string[]): boolean {
  return record.every((cell) => cell.trim() === '')
}

/** The export defuses a label that would start a formula (`=Plan` → `'=Plan`); only that `'` is removed. */
function unescapeHeader(name: string): string {
  return /^'[=+\-@\t\r]/.test(name) ? name.slice(1) : name
}

function checkHeader(record: readonly string[], row: number, fileName: string): string[] {
  const names = record.map(unescapeHeader)
  if (names.length === 1 && /[;\t]/.test(names[0] as string)) {
    const separator = (names[0] as string).includes(';') ? '";"' : 'tabs'
    throw new AppError(
      'invalid_users_file',
      `${fileName}: row ${row} (the header) separates its columns with ${separator}. Save the file as ` +
        'comma-separated CSV.',
    )
  }
  const seen = new Map<string, number>()
  for (const [index, name] of names.entries()) {
    if (name.trim() === '') {
      throw new AppError(
        'invalid_users_file',
        `${fileName}: row ${row} (the header) gives column ${index + 1} no name. Name every column after the ` +
          'field it holds (email, given_name, user_metadata.plan…), or delete the column.',
      )
    }
    if (name.split('.').length > inputLimits.fileMaxDepth) {
      throw new AppError(
        'invalid_users_file',
        `${fileName}: row ${row} (the header) names column ${index + 1} with a path deeper than ` +
          `${inputLimits.fileMaxDepth} levels. A user may nest at most ${inputLimits.maxDepth} levels.`,
      )
    }
    const earlier = seen.get(name)
    if (earlier !== undefined) {
      throw new AppError(
        'invalid_users_file',
        `${fileName}: row ${row} (the header) names two columns "${name}" (columns ${earlier + 1} and ` +
          `${index + 1}). Keep one of them.`,
      )
    }
    seen.set(name, index)
  }
  return names
}

interface Problem {
  row: number
  message: string
}

function countProblem(
  record: readonly string[],
  row: number,
  header: readonly string[],
  fileName: string,
): Problem {
  const hint =
    record.length > header.length
      ? 'A value that holds a comma must be in double quotes.'
      : 'Every row needs a cell for each column, even an empty one; a value with a line break must be in double quotes.'
  return {
    row,
    message: `${fileName}: row ${row} has ${record.length} cells but the header has ${header.length}. ${hint}`,
  }
}

function quoteProblem(code: Papa.ParseError['code'], row: number, fileName: string): Problem {
  const fault =
    code === 'MissingQuotes'
      ? 'opens a quoted cell that is never closed'
      : 'has text after the closing quote of a cell'
  return {
    row,
    message: `${fileName}: row ${row} ${fault}. Inside a quoted cell, write a double quote as two ("").`,
  }
}
