import type { z } from 'zod'
import { describeSecret, isSecretAt } from '../users/secrets.ts'
import { fastImportRow } from './fast-import-row.ts'
import { type ImportRow, importRowSchema } from './import-row.ts'
import { limitIssues, limitRowError } from './input-limits.ts'
import {
  charCount,
  type ImportErrorCode,
  importErrorCodes,
  isPlainObject,
  jsonTypeOf,
  type RowError,
  withHint,
  zSchemaMessage,
} from './row-errors.ts'

export { redactRow } from './redact-row.ts'
export { type ImportErrorCode, importErrorCodes, type RowError } from './row-errors.ts'

export type ValidateRowOptions = {
  /**
   * Username length bounds in characters, from the connection's `options.validation.username`
   * (Auth0's default is `{ min: 1, max: 15 }`, at most 128).
   */
  usernameLimits: { min: number; max: number }
}

export type RowValidation = { ok: true; row: ImportRow } | { ok: false; errors: RowError[] }

/**
 * Validates one user of an import file and reports every problem it has (not just the first), with the codes and
 * z-schema messages Auth0's job error report uses. Never throws, whatever `raw` is.
 */
export function validateImportRow(raw: unknown, options: ValidateRowOptions): RowValidation {
  // Most rows are plain and valid: a hand-written check answers them as the schema would, ~5× faster. Anything
  // it does not vouch for, every row with an error included, goes through the schema below.
  const fast = fastImportRow(raw, options.usernameLimits)
  if (fast !== undefined) return { ok: true, row: fast }
  return validateWithSchema(raw, options)
}

/** `validateImportRow` without the shortcut: the schema's verdict on any row (exported for the equivalence test). */
export function validateWithSchema(raw: unknown, options: ValidateRowOptions): RowValidation {
  // reportInput keeps each issue's offending value: the z-schema messages quote it.
  const result = importRowSchema.safeParse(raw, { reportInput: true })
  const errors = result.success ? [] : result.error.issues.flatMap(toRowErrors)
  errors.push(...usernameLengthErrors(raw, options.usernameLimits))
  // Roster's limits (depth, sizes, reserved keys, numbers JSON cannot hold), on the row as written: zod's output
  // has dropped the keys it refused, and a loose object's copy would have assigned a `__proto__` key away.
  errors.push(...limitIssues(raw).map(limitRowError))
  if (!result.success || errors.length > 0) return { ok: false, errors }
  return { ok: true, row: result.data }
}

/** The username bounds vary per connection, so they are checked here rather than in the shared schema. */
function usernameLengthErrors(raw: unknown, { min, max }: ValidateRowOptions['usernameLimits']): RowError[] {
  if (!isPlainObject(raw) || typeof raw.username !== 'string') return []
  const length = charCount(raw.username)
  const hint = `this connection allows usernames of ${min} to ${max} characters`
  if (length < min) {
    return [rowError('MIN_LENGTH', ['username'], withHint(zSchemaMessage.minLength(length, min), hint))]
  }
  if (length > max) {
    return [rowError('MAX_LENGTH', ['username'], withHint(zSchemaMessage.maxLength(length, max), hint))]
  }
  return []
}

/** `a.b[0].c`, the path form of Auth0's job errors (`identities[0].profileData.email`). */
export function renderPath(path: readonly PropertyKey[]): string {
  let rendered = ''
  for (const segment of path) {
    if (typeof segment === 'number') rendered += `[${segment}]`
    else rendered += rendered === '' ? String(segment) : `.${String(segment)}`
  }
  return rendered
}

function rowError(code: ImportErrorCode, path: readonly PropertyKey[], zMessage: string): RowError {
  const rendered = renderPath(path)
  // The row itself (e.g. `null` instead of an object) has no property to name.
  return {
    code,
    path: rendered,
    message: rendered === '' ? zMessage : `Error in ${rendered} property - ${zMessage}`,
  }
}

const zodTypeToJsonType: Readonly<Record<string, string>> = { int: 'integer', record: 'object' }

/**
 * Every zod issue the import schema can raise, as Auth0 row errors: the one place zod's vocabulary becomes
 * z-schema's. One issue may become several errors (z-schema reports each unknown property on its own).
 */
export function toRowErrors(issue: z.core.$ZodIssue): RowError[] {
  const { path } = issue
  // JSON has no undefined: below the root, an undefined input is a property that is not there.
  if (
    (issue.code === 'invalid_type' || issue.code === 'invalid_value') &&
    issue.input === undefined &&
    path.length > 0
  ) {
    return [rowError('OBJECT_MISSING_REQUIRED_PROPERTY', path, zSchemaMessage.missingProperty(lastKey(path)))]
  }
  switch (issue.code) {
    case 'custom': {
      const code: unknown = issue.params?.auth0Code
      if (isImportErrorCode(code)) return [rowError(code, path, issue.message)]
      return [rowError('NOT_PASSED', path, withHint(zSchemaMessage.notPassed(), issue.message))]
    }
    case 'invalid_type': {
      const expected = zodTypeToJsonType[issue.expected] ?? issue.expected
      const found = jsonTypeOf(issue.input)
      const hint =
        expected === 'boolean' && (issue.input === 'true' || issue.input === 'false')
          ? 'write true or false without quotes'
          : path.length === 0
            ? 'each user in the file must be a JSON object'
            : undefined
      return [rowError('INVALID_TYPE', path, withHint(zSchemaMessage.invalidType(expected, found), hint))]
    }
    case 'invalid_value': {
      // z-schema checks `type: string` before `enum`, so a non-string is a type error.
      if (typeof issue.input !== 'string' && issue.values.every((value) => typeof value === 'string')) {
        return [rowError('INVALID_TYPE', path, zSchemaMessage.invalidType('string', jsonTypeOf(issue.input)))]
      }
      const hint = `expected one of: ${issue.values.map(String).join(', ')}`
      return [
        rowError(
          'ENUM_MISMATCH',
          path,
          withHint(zSchemaMessage.enumMismatch(shown(path, issue.input)), hint),
        ),
      ]
    }
    case 'unrecognized_keys':
      return issue.keys.map((key) =>
        rowError(
          'OBJECT_ADDITIONAL_PROPERTIES',
          [...path, key],
          withHint(zSchemaMessage.additionalProperty(key), additionalPropertyHint(path, key)),
        ),
      )
    case 'too_small': {
      const minimum = Number(issue.minimum)
      if (issue.origin === 'array') {
        return [
          rowError('ARRAY_LENGTH_SHORT', path, zSchemaMessage.arrayTooShort(lengthOf(issue.input), minimum)),
        ]
      }
      if (issue.origin === 'string') {
        return [rowError('MIN_LENGTH', path, zSchemaMessage.minLength(lengthOf(issue.input), minimum))]
      }
      return [rowError('MINIMUM', path, zSchemaMessage.minimum(Number(issue.input), minimum))]
    }
    case 'too_big': {
      const maximum = Number(issue.maximum)
      if (issue.origin === 'array') {
        return [
          rowError('ARRAY_LENGTH_LONG', path, zSchemaMessage.arrayTooLong(lengthOf(issue.input), maximum)),
        ]
      }
      if (issue.origin === 'string') {
        return [rowError('MAX_LENGTH', path, zSchemaMessage.maxLength(lengthOf(issue.input), maximum))]
      }
      return [rowError('MAXIMUM', path, zSchemaMessage.maximum(Number(issue.input), maximum))]
    }
    case 'invalid_format':
      if (issue.format === 'regex' && issue.pattern !== undefined) {
        // zod prints the RegExp literal (`/^…$/`); z-schema prints the schema's pattern string (`^…$`).
        const pattern = issue.pattern.replace(/^\/(.*)\/[a-z]*$/s, '$1')
        return [rowError('PATTERN', path, zSchemaMessage.pattern(pattern, shown(path, issue.input)))]
      }
      return [
        rowError(
          'INVALID_FORMAT',
          path,
          zSchemaMessage.invalidFormat(issue.format, shown(path, issue.input)),
        ),
      ]
    default:
      // Unions, maps, sets and multipleOf are not used by the import schema. Kept total so that a later schema
      // change degrades to a generic error instead of a crash in the middle of an import.
      return [rowError('NOT_PASSED', path, withHint(zSchemaMessage.notPassed(), issue.message))]
  }
}

/** What a message may quote of the value at `path`: the value itself, or for a secret only its description. */
function shown(path: readonly PropertyKey[], value: unknown): unknown {
  return isSecretAt(path, value) ? describeSecret(value) : value
}

function isImportErrorCode(value: unknown): value is ImportErrorCode {
  return (importErrorCodes as readonly unknown[]).includes(value)
}

function lastKey(path: readonly PropertyKey[]): string {
  const key = path.at(-1)
  return key === undefined ? '' : String(key)
}

function lengthOf(value: unknown): number {
  if (typeof value === 'string') return charCount(value)
  return Array.isArray(value) ? value.length : 0
}

/** Fields of Auth0's user exports that an import cannot set: the usual cause of an unknown top-level property. */
const exportOnlyFields: ReadonlySet<string> = new Set([
  'created_at',
  'updated_at',
  'identities',
  'last_login',
  'last_ip',
  'logins_count',
  'last_password_reset',
  'multifactor',
  'Id',
  'Connection',
])
const rowProperties = Object.keys(importRowSchema.shape).join(', ')
const customPasswordHashProperties =
  'algorithm, hash, salt, password, keylen, cost, blockSize, parallelization (salt, password and the scrypt parameters sit next to hash, not inside it)'

function additionalPropertyHint(parent: readonly PropertyKey[], key: string): string | undefined {
  if (parent.length === 0) {
    if (exportOnlyFields.has(key)) {
      return `${key} comes from an Auth0 export and cannot be imported; remove it`
    }
    if (key === 'password') {
      return 'plain-text passwords cannot be imported; use password_hash or custom_password_hash'
    }
    return `a user may have only: ${rowProperties}`
  }
  if (parent.length === 1 && parent[0] === 'custom_password_hash') {
    return `custom_password_hash may have only: ${customPasswordHashProperties}`
  }
  if (parent.length === 2 && parent[0] === 'mfa_factors') {
    return 'each MFA factor holds exactly one of totp, phone or email'
  }
  return undefined
}
