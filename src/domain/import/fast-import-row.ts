import {
  BCRYPT_PASSWORD_HASH,
  E164,
  EMAIL,
  type ImportRow,
  importRowSchema,
  pictureProblem,
  USERNAME,
} from './import-row.ts'
import { inputLimits, withinLimits } from './input-limits.ts'
import { forbiddenAppMetadataKeys } from './metadata-rules.ts'
import { charCount } from './row-errors.ts'

/**
 * A shortcut through `importRowSchema` for the common, well-formed row: the fields most files use, every value
 * valid. It answers the row zod would answer for such a row (a new object, keys in the schema's order, metadata
 * objects by reference), or undefined for anything else: an unknown key, a rare field (custom_password_hash,
 * mfa_factors), a value of the wrong type or out of bounds, an odd object. Undefined sends the row to zod, so
 * every error still comes from the schema with its codes, messages and paths; this path never reports one.
 *
 * It exists for speed alone (zod costs ~10 µs a row, this ~2 µs), so it may only accept what the schema accepts:
 * test/unit/fast-import-row.test.ts compares both on generated rows, valid and broken. A rule added to the schema
 * for a field handled here must be added here too (or the field dropped from `checks`), and that test extended.
 */

type Check = (value: unknown, limits: UsernameLimits) => boolean
type UsernameLimits = { min: number; max: number }

const isString = (value: unknown): value is string => typeof value === 'string'
const isBoolean = (value: unknown) => typeof value === 'boolean'

function lengthWithin(value: unknown, min: number, max: number): boolean {
  if (typeof value !== 'string') return false
  // Code points are never more than UTF-16 units: a short string needs no counting.
  if (value.length <= max && value.length >= min && (min === 0 || !hasSurrogate(value))) return true
  const length = charCount(value)
  return length >= min && length <= max
}

function hasSurrogate(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i)
    if (unit >= 0xd800 && unit <= 0xdfff) return true
  }
  return false
}

function validEmail(value: unknown): boolean {
  if (typeof value !== 'string' || !EMAIL.test(value) || !lengthWithin(value, 0, 254)) return false
  const at = value.lastIndexOf('@')
  return at <= 0 || lengthWithin(value.slice(0, at), 0, 64)
}

/** `checkMetadataKeys` finds nothing: no key anywhere holds `.` or `$` (reserved keys are `withinLimits`'). */
function cleanMetadataKeys(root: Record<string, unknown>): boolean {
  const stack: unknown[] = [root]
  for (let value = stack.pop(); value !== undefined; value = stack.pop()) {
    if (Array.isArray(value)) {
      for (const element of value) if (typeof element === 'object' && element !== null) stack.push(element)
      continue
    }
    for (const key of Object.keys(value as object)) {
      if (key.includes('.') || key.includes('$')) return false
      const child = (value as Record<string, unknown>)[key]
      if (typeof child === 'object' && child !== null) stack.push(child)
    }
  }
  return true
}

function plainJsonObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.getPrototypeOf(value) === Object.prototype
  )
}

const checks: Readonly<Record<string, Check>> = {
  email: validEmail,
  email_verified: isBoolean,
  phone_number: (value) => isString(value) && E164.test(value),
  phone_verified: isBoolean,
  user_id: (value) => lengthWithin(value, 0, inputLimits.maxUserIdChars),
  username: (value, limits) =>
    isString(value) && USERNAME.test(value) && lengthWithin(value, limits.min, limits.max),
  given_name: (value) => lengthWithin(value, 1, 150),
  family_name: (value) => lengthWithin(value, 1, 150),
  name: (value) => lengthWithin(value, 1, 150),
  nickname: (value) => lengthWithin(value, 1, 350),
  picture: (value) => isString(value) && pictureProblem(value) === undefined,
  blocked: isBoolean,
  password_hash: (value) => isString(value) && BCRYPT_PASSWORD_HASH.test(value),
  app_metadata: (value) =>
    plainJsonObject(value) &&
    !Object.keys(value).some((key) => forbiddenAppMetadataKeys.has(key)) &&
    cleanMetadataKeys(value),
  user_metadata: (value) => plainJsonObject(value) && cleanMetadataKeys(value),
}

/** The schema's keys in its order: zod builds its output in this order. */
const schemaKeys: readonly string[] = Object.keys(importRowSchema.shape)

/** The row as `importRowSchema` (plus the username bounds) would answer it, or undefined: ask the schema. */
export function fastImportRow(raw: unknown, usernameLimits: UsernameLimits): ImportRow | undefined {
  if (!plainJsonObject(raw)) return undefined
  let present = 0
  for (const key of Object.keys(raw)) {
    const check = Object.hasOwn(checks, key) ? checks[key] : undefined
    if (check === undefined || !check(raw[key], usernameLimits)) return undefined
    present++
  }
  if (!Object.hasOwn(raw, 'email') || !withinLimits(raw)) return undefined
  const row: Record<string, unknown> = {}
  let copied = 0
  for (const key of schemaKeys) {
    if (!Object.hasOwn(raw, key)) continue
    row[key] = raw[key]
    copied++
  }
  return copied === present ? (row as ImportRow) : undefined
}
