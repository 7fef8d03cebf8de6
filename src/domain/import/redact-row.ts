import { isPlainObject } from './row-errors.ts'

const REDACTED = '*****'

/**
 * A deep copy of a row as the person provided it, with its secrets replaced by `"*****"` (as Auth0's job error
 * report does), for error reports and logs. Accepts anything and never throws; non-objects come back as they are.
 */
export function redactRow(raw: unknown): unknown {
  const copy = deepCopy(raw)
  if (!isPlainObject(copy)) return copy
  redact(copy, 'password_hash')
  // Not an import field, but people do put clear-text passwords in files: a report must never echo one.
  for (const key of Object.keys(copy)) if (/^pass(word)?$/i.test(key)) redact(copy, key)
  const custom = copy.custom_password_hash
  if (isPlainObject(custom)) {
    if (isPlainObject(custom.hash)) {
      redact(custom.hash, 'value')
      if (isPlainObject(custom.hash.key)) redact(custom.hash.key, 'value')
    }
    if (isPlainObject(custom.salt)) redact(custom.salt, 'value')
  }
  if (Array.isArray(copy.mfa_factors)) {
    for (const factor of copy.mfa_factors) {
      if (isPlainObject(factor) && isPlainObject(factor.totp)) redact(factor.totp, 'secret')
    }
  }
  return copy
}

function redact(target: Record<string, unknown>, key: string): void {
  if (Object.hasOwn(target, key)) target[key] = REDACTED
}

/**
 * Copies arrays and plain objects, iteratively (a 500 KB file can nest deeper than the call stack). A `"__proto__"`
 * key from JSON.parse is defined rather than assigned, so it stays data instead of becoming the copy's prototype.
 */
function deepCopy(value: unknown): unknown {
  const shell = (source: unknown): unknown =>
    Array.isArray(source) ? [] : isPlainObject(source) ? {} : source
  const root = shell(value)
  const stack: { source: unknown; target: unknown }[] =
    root === value ? [] : [{ source: value, target: root }]
  for (let pair = stack.pop(); pair !== undefined; pair = stack.pop()) {
    const { source, target } = pair
    if (Array.isArray(source) && Array.isArray(target)) {
      for (const child of source) {
        const copy = shell(child)
        target.push(copy)
        if (copy !== child) stack.push({ source: child, target: copy })
      }
    } else if (isPlainObject(source) && isPlainObject(target)) {
      for (const [key, child] of Object.entries(source)) {
        const copy = shell(child)
        if (key === '__proto__') {
          Object.defineProperty(target, key, {
            value: copy,
            enumerable: true,
            writable: true,
            configurable: true,
          })
        } else {
          target[key] = copy
        }
        if (copy !== child) stack.push({ source: child, target: copy })
      }
    }
  }
  return root
}
