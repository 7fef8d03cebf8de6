import type { StoredUser } from '../users/user.ts'

/**
 * The part of Auth0's user search syntax (Lucene, search engine v3) a migration script uses to find users:
 * `email:"ada@example.com"`, `identities.connection:"Username-Password-Authentication"`, `user_id:"auth0|…"`,
 * `blocked:true`, terms joined by `AND`. A value may end or start with `*` (prefix or suffix match). Anything
 * else is refused with a message naming what is supported, rather than silently matching everything.
 */
export const queryFields = ['email', 'identities.connection', 'user_id', 'blocked', 'email_verified'] as const
export type QueryField = (typeof queryFields)[number]

export interface QueryTerm {
  field: QueryField
  /** Lower-cased for email; exact otherwise. */
  value: string
}

export type ParsedQuery = { ok: true; terms: QueryTerm[] } | { ok: false; message: string }

const termPattern = /^([a-z_.]+):(?:"((?:[^"\\]|\\.)*)"|([^\s"]+))$/

export function parseUserQuery(q: string): ParsedQuery {
  const text = q.trim()
  if (text === '') return { ok: true, terms: [] }
  const terms: QueryTerm[] = []
  for (const part of splitOnAnd(text)) {
    const match = termPattern.exec(part.trim())
    const field = queryFields.find((known) => known === match?.[1])
    if (!match || !field) {
      return {
        ok: false,
        message: `Roster's q supports ${queryFields.map((f) => `${f}:"…"`).join(', ')} joined by AND; cannot use "${part.trim()}".`,
      }
    }
    const raw = match[2] === undefined ? (match[3] as string) : match[2].replace(/\\(.)/g, '$1')
    terms.push({ field, value: field === 'email' ? raw.toLowerCase() : raw })
  }
  return { ok: true, terms }
}

function splitOnAnd(text: string): string[] {
  // AND outside quotes only: an email or connection name may hold the word.
  const parts: string[] = []
  let current = ''
  let quoted = false
  const words = text.split(/(\s+)/)
  for (const word of words) {
    if (!quoted && word === 'AND') {
      parts.push(current)
      current = ''
      continue
    }
    current += word
    for (const char of word.replace(/\\./g, '')) if (char === '"') quoted = !quoted
  }
  parts.push(current)
  return parts.filter((part) => part.trim() !== '')
}

/** Whether a user matches every term. */
export function matchesQuery(user: StoredUser, terms: readonly QueryTerm[]): boolean {
  return terms.every((term) => {
    switch (term.field) {
      case 'email':
        return matchesValue(user.email, term.value)
      case 'user_id':
        return matchesValue(user.user_id, term.value)
      case 'identities.connection':
        return user.identities.some((identity) => matchesValue(identity.connection, term.value))
      case 'blocked':
        return String(user.blocked ?? false) === term.value
      case 'email_verified':
        return String(user.email_verified) === term.value
    }
    return false
  })
}

function matchesValue(actual: string, wanted: string): boolean {
  if (isExactValue(wanted)) return actual === wanted
  if (wanted === '*') return true
  if (wanted.endsWith('*')) return actual.startsWith(wanted.slice(0, -1))
  return actual.endsWith(wanted.slice(1))
}

/** A search value without a wildcard (`*`, `prefix*`, `*suffix`): it matches one string only. */
export function isExactValue(wanted: string): boolean {
  return wanted !== '*' && !(wanted.length > 1 && (wanted.endsWith('*') || wanted.startsWith('*')))
}
