import type { StoredUser } from '../../users/user.ts'
import { defaultFields, type FieldKind, fieldKind, type GlobPiece, type SearchNode } from './search-fields.ts'

/** Whether a user matches a parsed search (see `parseSearch`). */
export function matchesSearch(user: StoredUser, node: SearchNode): boolean {
  switch (node.kind) {
    case 'all':
      return true
    case 'and':
      return node.children.every((child) => matchesSearch(user, child))
    case 'or':
      return node.children.some((child) => matchesSearch(user, child))
    case 'not':
      return !matchesSearch(user, node.child)
    case 'exists':
      return valuesOf(user, node.field).length > 0
    case 'range':
      return valuesOf(user, node.field).some((value) => inRange(value, node, kindOf(node.field)))
    case 'term': {
      const fields = node.field === undefined ? defaultFields : [node.field]
      return fields.some((field) =>
        valuesOf(user, field).some((value) => matchesTerm(value, node, kindOf(field))),
      )
    }
  }
}

type Leaf = string | number | boolean

function kindOf(field: string): FieldKind {
  return fieldKind(field) ?? 'keyword'
}

/**
 * The values a field holds: none when absent, several through arrays (`identities.connection`, metadata arrays,
 * whose level a path skips, as Auth0's does). Metadata that is null, `{}` or `[]` holds nothing: Auth0 does not
 * index it. An object counts as a value for `_exists_` only.
 */
function valuesOf(user: StoredUser, field: string): (Leaf | object)[] {
  if (field === 'logins_count') return [0]
  if (field === 'email.domain') return [user.email.slice(user.email.lastIndexOf('@') + 1)]
  const [root, ...path] = field.split('.')
  if (root === 'identities') return collect(user.identities, path)
  if (root === 'app_metadata' || root === 'user_metadata') return collect(user[root], path)
  return collect((user as Record<string, unknown>)[field], [])
}

function collect(value: unknown, path: readonly string[]): (Leaf | object)[] {
  if (value === null || value === undefined) return []
  if (Array.isArray(value)) return value.flatMap((item) => collect(item, path))
  if (path.length === 0) {
    if (typeof value === 'object') return Object.keys(value).length === 0 ? [] : [value]
    return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? [value] : []
  }
  if (typeof value !== 'object') return []
  const [key, ...rest] = path as [string, ...string[]]
  return Object.hasOwn(value, key) ? collect((value as Record<string, unknown>)[key], rest) : []
}

function matchesTerm(
  value: Leaf | object,
  term: Extract<SearchNode, { kind: 'term' }>,
  kind: FieldKind,
): boolean {
  if (typeof value === 'object') return false
  const text = String(value)
  const folded = kind === 'text' || kind === 'keyword-ci'
  const actual = folded ? text.toLowerCase() : text
  const wanted = folded ? term.value.toLowerCase() : term.value
  if (term.glob !== undefined) {
    const glob = term.glob
    const matches = (candidate: string) => globMatches(glob, candidate, folded)
    return matches(actual) || (kind === 'text' && words(actual).some(matches))
  }
  switch (kind) {
    case 'text': {
      // A phrase, or a value of several words, matches those words in that order; one word, any word.
      const have = words(actual)
      const want = words(wanted)
      if (want.length === 0) return false
      return have.some((_, start) => want.every((word, i) => have[start + i] === word))
    }
    case 'date':
      // A date without a time means the whole day.
      return actual === wanted || (/^\d{4}-\d{2}-\d{2}$/.test(wanted) && actual.startsWith(`${wanted}T`))
    case 'integer':
      return Number(wanted) === Number(actual) && wanted.trim() !== ''
    default:
      return actual === wanted
  }
}

function inRange(
  value: Leaf | object,
  range: Extract<SearchNode, { kind: 'range' }>,
  kind: FieldKind,
): boolean {
  if (typeof value === 'object') return false
  const { from, to, fromInclusive, toInclusive } = range
  if (kind === 'date') {
    const at = Date.parse(String(value))
    if (Number.isNaN(at)) return false
    const low = from === undefined ? undefined : dayBound(from, fromInclusive ? 'start' : 'end')
    const high = to === undefined ? undefined : dayBound(to, toInclusive ? 'end' : 'start')
    // Inclusive ends take their whole day, exclusive ones leave it out: [2024-01-01 TO 2024-12-31] is all of 2024.
    if (low !== undefined && (fromInclusive || isDateOnly(from) ? at < low : at <= low)) return false
    if (high !== undefined && (toInclusive && !isDateOnly(to) ? at > high : at >= high)) return false
    return true
  }
  const numeric = typeof value === 'number' || kind === 'integer'
  const compare = (bound: string) => {
    if (numeric && Number.isFinite(Number(bound))) return Number(value) - Number(bound)
    const [a, b] =
      kind === 'keyword' ? [String(value), bound] : [String(value).toLowerCase(), bound.toLowerCase()]
    return a < b ? -1 : a > b ? 1 : 0
  }
  if (from !== undefined && (fromInclusive ? compare(from) < 0 : compare(from) <= 0)) return false
  if (to !== undefined && (toInclusive ? compare(to) > 0 : compare(to) >= 0)) return false
  return true
}

function isDateOnly(bound: string | undefined): boolean {
  return bound !== undefined && /^\d{4}-\d{2}-\d{2}$/.test(bound)
}

/**
 * A date bound in ms. A date-only bound stands for its day: `start` is its first instant, `end` the first instant
 * of the next day. A bound that is not a date never matches (NaN compares false).
 */
function dayBound(bound: string, side: 'start' | 'end'): number {
  if (!isDateOnly(bound)) return Date.parse(bound)
  const start = Date.parse(`${bound}T00:00:00.000Z`)
  return side === 'start' ? start : start + 86_400_000
}

function words(text: string): string[] {
  return text.split(/[^\p{L}\p{N}]+/u).filter(Boolean)
}

/**
 * Whether `text` matches the pattern, in one pass with a single backtrack point (the last `*`): at most
 * text × pattern steps, where a regular expression of many `*` could backtrack exponentially. Characters are
 * compared as code points.
 */
function globMatches(glob: readonly GlobPiece[], text: string, folded: boolean): boolean {
  const pattern = flatten(glob, folded)
  const chars = [...text]
  let p = 0
  let t = 0
  let star = -1
  let resume = 0
  while (t < chars.length) {
    const want = pattern[p]
    if (want !== undefined && want !== ANY && (want === ONE || want === chars[t])) {
      p++
      t++
    } else if (want === ANY) {
      star = p++
      resume = t
    } else if (star >= 0) {
      p = star + 1
      t = ++resume
    } else {
      return false
    }
  }
  while (pattern[p] === ANY) p++
  return p === pattern.length
}

const ANY = Symbol('any')
const ONE = Symbol('one')
type PatternChar = string | typeof ANY | typeof ONE

/** Flattened once per query, not once per user: a scan tests the same pattern against every user. */
const flattened = new WeakMap<readonly GlobPiece[], { folded: PatternChar[]; exact: PatternChar[] }>()

function flatten(glob: readonly GlobPiece[], folded: boolean): PatternChar[] {
  let both = flattened.get(glob)
  if (both === undefined) {
    const build = (fold: boolean) =>
      glob.flatMap((piece): PatternChar[] =>
        'text' in piece ? [...(fold ? piece.text.toLowerCase() : piece.text)] : ['any' in piece ? ANY : ONE],
      )
    both = { folded: build(true), exact: build(false) }
    flattened.set(glob, both)
  }
  return folded ? both.folded : both.exact
}
