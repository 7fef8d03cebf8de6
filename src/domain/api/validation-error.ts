import { z } from 'zod'

/**
 * Auth0 answers a bad request with the first problem in its validator's words (z-schema), e.g.
 * `Payload validation error: 'String does not match pattern ^con_[A-Za-z0-9]{16}$' on property connection_id.`
 * This renders a zod issue the same way, so scripts that match on Auth0's messages keep working.
 */
export type ValidationSource = 'Payload' | 'Query' | 'Path'

export function validationMessage(source: ValidationSource, issue: z.core.$ZodIssue, input: unknown): string {
  const path = issue.path.map(String).join('.')
  const where = path === '' ? '' : ` on property ${path}`
  return `${source} validation error: '${describeIssue(issue, input)}'${where}.`
}

const integerExpected = 'expected integer'

/**
 * An integer whose type error says `integer`, as JSON Schema does (zod reports a string given for an int as
 * "expected number").
 */
export const jsonInteger = () =>
  z.int({ error: (issue) => (issue.code === 'invalid_type' ? integerExpected : undefined) })

/** The first issue of a failed parse, as Auth0's message. */
export function firstValidationMessage(source: ValidationSource, error: z.ZodError, input: unknown): string {
  const issue = error.issues[0]
  return issue ? validationMessage(source, issue, input) : `${source} validation error.`
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  switch (issue.code) {
    case 'invalid_type': {
      const value = valueAt(input, issue.path)
      if (value === undefined) return `Missing required property: ${String(issue.path.at(-1) ?? '')}`
      const expected = issue.message === integerExpected ? 'integer' : jsonType(issue.expected)
      return `Expected type ${expected} but found type ${typeOf(value)}`
    }
    case 'unrecognized_keys':
      return `Additional properties not allowed: ${issue.keys.join(',')}`
    case 'invalid_value':
      return `No enum match for: ${JSON.stringify(valueAt(input, issue.path))}`
    case 'invalid_format':
      if (issue.format === 'regex' && typeof issue.pattern === 'string') {
        // zod gives the regex literal (`/^con_…$/`); JSON Schema's pattern has no slashes.
        return `String does not match pattern ${issue.pattern.replace(/^\/(.*)\/[a-z]*$/, '$1')}`
      }
      return `Object didn't pass validation for format ${issue.format}: ${String(valueAt(input, issue.path))}`
    case 'too_small':
      if (issue.origin === 'string')
        return `String is too short (${lengthAt(input, issue.path)} chars), minimum ${issue.minimum}`
      if (issue.origin === 'array')
        return `Array is too short (${lengthAt(input, issue.path)}), minimum ${issue.minimum}`
      if (issue.origin === 'object') return `Too few properties defined (0), minimum ${issue.minimum}`
      return `Value ${String(valueAt(input, issue.path))} is less than minimum ${issue.minimum}`
    case 'too_big':
      if (issue.origin === 'string')
        return `String is too long (${lengthAt(input, issue.path)} chars), maximum ${issue.maximum}`
      if (issue.origin === 'array')
        return `Array is too long (${lengthAt(input, issue.path)}), maximum ${issue.maximum}`
      return `Value ${String(valueAt(input, issue.path))} is greater than maximum ${issue.maximum}`
    default:
      return issue.message
  }
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined
    value = (value as Record<PropertyKey, unknown>)[key]
  }
  return value
}

function lengthAt(input: unknown, path: readonly PropertyKey[]): number {
  const value = valueAt(input, path)
  return typeof value === 'string' || Array.isArray(value) ? value.length : 0
}

/** JSON Schema's type names, which Auth0's messages use (`integer`, `array`, `null`). */
function typeOf(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number'
  return typeof value
}

function jsonType(expected: string): string {
  return expected === 'int' ? 'integer' : expected
}
