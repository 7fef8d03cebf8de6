import type { z } from 'zod'

/**
 * The vocabulary of per-user import errors (reference §2.5). Auth0 validates each user with the z-schema validator,
 * so schema failures carry z-schema codes and message texts; Roster uses the same ones so reports read alike and
 * tools written against Auth0's `GET /jobs/{id}/errors` keep working.
 */
export const importErrorCodes = [
  // Raised by the row validator (validate-row.ts).
  'OBJECT_MISSING_REQUIRED_PROPERTY',
  'OBJECT_ADDITIONAL_PROPERTIES',
  'OBJECT_PROPERTIES_MINIMUM',
  'OBJECT_PROPERTIES_MAXIMUM',
  'INVALID_TYPE',
  'INVALID_FORMAT',
  'ENUM_MISMATCH',
  'PATTERN',
  'MIN_LENGTH',
  'MAX_LENGTH',
  'ARRAY_LENGTH_SHORT',
  'ARRAY_LENGTH_LONG',
  'MINIMUM',
  'MAXIMUM',
  'NOT_PASSED',
  // Roster's own, for its input limits (input-limits.ts): nesting too deep, and keys no route accepts.
  'MAX_DEPTH',
  'RESERVED_KEY',
  // Raised after validation, against the file and the store (duplicates, upsert matching, MFA, profile size).
  'DUPLICATED_USER',
  'CONFLICT',
  'CONFLICT_EMAIL',
  'CONFLICT_USERNAME',
  'MFA_FACTORS_FAILED',
  'PROFILE_SIZE_EXCEEDED',
  // Auth0's documented spellings Roster never raises itself but passes on from a tenant's job errors (issue 13).
  'ANY_OF_MISSING',
  'OBJECT_REQUIRED',
  'FORMAT',
  'CONNECTION_NOT_FOUND',
  // Undo against a tenant (issue 13): a field the job added that Auth0's upsert cannot take away again.
  'NOT_RESTORED',
] as const
export type ImportErrorCode = (typeof importErrorCodes)[number]

/** One problem with one user of an import file, in the shape Auth0's job error report uses. */
export type RowError = {
  code: ImportErrorCode
  /** `Error in <path> property - <z-schema message>[ (<hint>)]`. */
  message: string
  /** Dotted/indexed path of the offending property, e.g. `mfa_factors[1].totp.secret`; '' for the row itself. */
  path: string
}

/** z-schema's message texts (zaggino/z-schema `src/Errors.js`), with its `{0}` parameters as arguments. */
export const zSchemaMessage = {
  missingProperty: (property: string) => `Missing required property: ${property}`,
  additionalProperty: (property: string) => `Additional properties not allowed: ${property}`,
  tooFewProperties: (count: number, minimum: number) =>
    `Too few properties defined (${count}), minimum ${minimum}`,
  tooManyProperties: (count: number, maximum: number) =>
    `Too many properties defined (${count}), maximum ${maximum}`,
  invalidType: (expected: string, found: string) => `Expected type ${expected} but found type ${found}`,
  invalidFormat: (format: string, value: unknown) =>
    `Object didn't pass validation for format ${format}: ${formatParam(value)}`,
  enumMismatch: (value: unknown) => `No enum match for: ${formatParam(value)}`,
  pattern: (pattern: string, value: unknown) =>
    `String does not match pattern ${pattern}: ${formatParam(value)}`,
  minLength: (length: number, minimum: number) => `String is too short (${length} chars), minimum ${minimum}`,
  maxLength: (length: number, maximum: number) => `String is too long (${length} chars), maximum ${maximum}`,
  arrayTooShort: (length: number, minimum: number) => `Array is too short (${length}), minimum ${minimum}`,
  arrayTooLong: (length: number, maximum: number) => `Array is too long (${length}), maximum ${maximum}`,
  minimum: (value: number, minimum: number) => `Value ${value} is less than minimum ${minimum}`,
  maximum: (value: number, maximum: number) => `Value ${value} is greater than maximum ${maximum}`,
  notPassed: () => `Data matches schema from 'not'`,
} as const

/** z-schema prints string parameters as they are and anything else as JSON. */
function formatParam(value: unknown): string {
  if (typeof value === 'string') return value
  return JSON.stringify(value) ?? String(value)
}

/** `message (hint)`: the z-schema text stays exact and first; the hint tells the person how to fix the row. */
export function withHint(message: string, hint: string | undefined): string {
  return hint === undefined ? message : `${message} (${hint})`
}

/** What custom issues carry in `params`; the issue's `message` is already the z-schema text (plus hint). */
export type RowIssueParams = { auth0Code: ImportErrorCode }

/**
 * Raises a row error from a zod refinement, for rules zod cannot express natively. `path` is relative to the schema
 * the refinement is attached to; zod prefixes the parents' keys.
 */
export function addRowIssue(
  ctx: z.core.$RefinementCtx<unknown>,
  code: ImportErrorCode,
  message: string,
  path: PropertyKey[] = [],
): void {
  const params: RowIssueParams = { auth0Code: code }
  ctx.addIssue({ code: 'custom', message, path, params })
}

/** JSON Schema type names as z-schema reports them: whole numbers are `integer`, other numbers `number`. */
export function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number'
  return typeof value
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Length in Unicode code points, as z-schema counts (`ucs2length`): Auth0's "1-150 characters" counts an emoji as
 * one character, where `string.length` would count two UTF-16 units.
 */
export function charCount(value: string): number {
  let count = value.length
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i)
    // A high surrogate followed by a low one is a single code point.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < value.length) {
      const next = value.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) {
        count--
        i++
      }
    }
  }
  return count
}
