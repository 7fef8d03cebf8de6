import { charCount, type ImportErrorCode, jsonTypeOf, zSchemaMessage } from './row-errors.ts'

/**
 * Limits on what one user of an import (or a PATCH body) may hold. Auth0 caps a profile at 10 KB and documents no
 * nesting or key limits; these are Roster's, generous for any real profile, and there so that no user (and no file)
 * can make a later step (JSON serialisation of the journal, the error report, a deep copy) exhaust the stack or
 * the memory. A user over a limit fails alone, with the path of the value; README's "Security" section lists them.
 */
export const inputLimits = {
  /** Levels of objects and arrays below the user object: `user_metadata` is level 1, `user_metadata.a` level 2. */
  maxDepth: 32,
  /**
   * A file whose values nest deeper than this anywhere (counted like `maxDepth`) is refused whole, before it is
   * parsed: no users file needs it, and it bounds every later step's recursion (`[[[[…]]]]` 10,000 deep).
   */
  fileMaxDepth: 256,
  /** Characters of a string inside an object or array (metadata values, hash parts). Top-level fields have their own. */
  maxStringChars: 10_000,
  /** Characters of an object key, at any depth. */
  maxKeyChars: 256,
  /** Keys of one object, at any depth. */
  maxKeysPerObject: 1_000,
  /** `user_id` characters (Auth0 documents none; 255 is what identity providers commonly allow for `sub`). */
  maxUserIdChars: 255,
  /** `picture` characters: a URL. */
  maxPictureChars: 2_048,
  /** scrypt parameters: cost 2^20 already takes 1 GiB per hash at blockSize 8; more is a typo or an attack. */
  maxScryptCost: 2 ** 20,
  maxScryptBlockSize: 64,
  maxScryptParallelization: 16,
} as const

/**
 * Keys refused everywhere (import JSON, NDJSON, CSV, PATCH): code that copies by assignment would turn them into a
 * prototype or shadow a built-in, and a lookup by them would find `Object.prototype`'s members.
 */
export const reservedKeys: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype'])

export function isReservedKey(key: string): boolean {
  return reservedKeys.has(key)
}

/** One limit a value breaks: the z-schema style message without the `Error in … property - ` prefix. */
export interface LimitIssue {
  code: ImportErrorCode
  path: PropertyKey[]
  message: string
}

export function reservedKeyMessage(key: string): string {
  return `Key ${JSON.stringify(key)} is reserved (__proto__, constructor and prototype cannot be field names); rename it`
}

/** `a.b[0].c`, the path form of Auth0's job errors. */
export function renderLimitPath(path: readonly PropertyKey[]): string {
  let rendered = ''
  for (const segment of path) {
    if (typeof segment === 'number') rendered += `[${segment}]`
    else rendered += rendered === '' ? String(segment) : `.${String(segment)}`
  }
  return rendered
}

/** The issue as a row error: `{code, path, message: "Error in <path> property - <message>"}`. */
export function limitRowError(issue: LimitIssue): { code: ImportErrorCode; path: string; message: string } {
  const path = renderLimitPath(issue.path)
  return {
    code: issue.code,
    path,
    message: path === '' ? issue.message : `Error in ${path} property - ${issue.message}`,
  }
}

type Node = { value: unknown; depth: number; parent: Node | undefined; key: PropertyKey }

/**
 * The limits `value` breaks, at most `maxIssues` of them, found without recursion (the input may nest deeper than
 * the call stack). `value` is a user object (or a PATCH body): its own top-level strings are left to their fields'
 * rules; keys, numbers and everything below are checked here. Reads own enumerable keys only, so a `"__proto__"`
 * key from JSON.parse is seen as the key it is.
 */
export function limitIssues(value: unknown, maxIssues = 100): LimitIssue[] {
  const issues: LimitIssue[] = []
  if (typeof value !== 'object' || value === null) return issues
  const pathOf = (node: Node | undefined, key?: PropertyKey): PropertyKey[] => {
    const path: PropertyKey[] = key === undefined ? [] : [key]
    for (let at = node; at?.parent !== undefined; at = at.parent) path.push(at.key)
    return path.reverse()
  }
  const stack: Node[] = [{ value, depth: 0, parent: undefined, key: '' }]
  const visit = (node: Node, key: PropertyKey, child: unknown): void => {
    if (typeof child === 'number') {
      if (!Number.isFinite(child)) {
        issues.push({
          code: 'INVALID_TYPE',
          path: pathOf(node, key),
          message:
            'Number too large for JSON (it reads as Infinity and would be stored as null); write it as a string',
        })
      }
    } else if (typeof child === 'string') {
      if (node.depth > 0 && child.length > inputLimits.maxStringChars) {
        const length = charCount(child)
        if (length > inputLimits.maxStringChars) {
          issues.push({
            code: 'MAX_LENGTH',
            path: pathOf(node, key),
            message: `${zSchemaMessage.maxLength(length, inputLimits.maxStringChars)} (Roster's limit for a string inside an object)`,
          })
        }
      }
    } else if (typeof child === 'object' && child !== null) {
      const depth = node.depth + 1
      if (depth > inputLimits.maxDepth) {
        issues.push({
          code: 'MAX_DEPTH',
          path: pathOf(node, key),
          message: `Nested deeper than ${inputLimits.maxDepth} levels (Roster's limit); flatten the ${jsonTypeOf(child)}`,
        })
      } else stack.push({ value: child, depth, parent: node, key })
    }
  }
  for (let node = stack.pop(); node !== undefined && issues.length < maxIssues; node = stack.pop()) {
    const current = node.value
    if (Array.isArray(current)) {
      for (let index = 0; index < current.length; index++) visit(node, index, current[index])
      continue
    }
    const keys = Object.keys(current as object)
    if (keys.length > inputLimits.maxKeysPerObject) {
      issues.push({
        code: 'OBJECT_PROPERTIES_MAXIMUM',
        path: pathOf(node),
        message: `${zSchemaMessage.tooManyProperties(keys.length, inputLimits.maxKeysPerObject)} (Roster's limit for one object)`,
      })
    }
    for (const key of keys) {
      if (isReservedKey(key)) {
        issues.push({ code: 'RESERVED_KEY', path: pathOf(node, key), message: reservedKeyMessage(key) })
        continue
      }
      if (key.length > inputLimits.maxKeyChars) {
        issues.push({
          code: 'MAX_LENGTH',
          path: pathOf(node, `${key.slice(0, 20)}…`),
          message: `Key is too long (${charCount(key)} chars), maximum ${inputLimits.maxKeyChars} (Roster's limit for a key)`,
        })
        continue
      }
      visit(node, key, (current as Record<string, unknown>)[key])
    }
  }
  return issues.slice(0, maxIssues)
}

/**
 * Whether a value breaks no limit: `limitIssues(value, 1)` finds nothing (property-tested against it). Asked of every
 * imported row, so it walks the value without making a path, a closure or a node per object.
 */
export function withinLimits(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true
  const values: unknown[] = [value]
  const depths: number[] = [0]
  for (let current = values.pop(); current !== undefined; current = values.pop()) {
    const depth = depths.pop() as number
    if (Array.isArray(current)) {
      for (let index = 0; index < current.length; index++)
        if (!childWithin(current[index], depth, values, depths)) return false
      continue
    }
    const keys = Object.keys(current as object)
    if (keys.length > inputLimits.maxKeysPerObject) return false
    for (const key of keys) {
      if (isReservedKey(key) || key.length > inputLimits.maxKeyChars) return false
      if (!childWithin((current as Record<string, unknown>)[key], depth, values, depths)) return false
    }
  }
  return true
}

/** `limitIssues`' `visit` for `withinLimits`: false where it would report; an object to look into is pushed. */
function childWithin(child: unknown, depth: number, values: unknown[], depths: number[]): boolean {
  if (typeof child === 'number') return Number.isFinite(child)
  if (typeof child === 'string')
    return !(
      depth > 0 &&
      child.length > inputLimits.maxStringChars &&
      charCount(child) > inputLimits.maxStringChars
    )
  if (typeof child === 'object' && child !== null) {
    if (depth + 1 > inputLimits.maxDepth) return false
    values.push(child)
    depths.push(depth + 1)
  }
  return true
}
