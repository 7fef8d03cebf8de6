/**
 * The query language of `GET /api/v2/users?q=` (Auth0's user search v3, a Lucene subset) as a tree, and the
 * fields it can name. Parsing (`parse-search.ts`) and matching (`match-search.ts`) are pure; the engine decides
 * whether an index answers a query or the users are scanned (`indexedLookup`).
 */

/** A pattern piece: literal text, `*` (any run of characters) or `?` (one character). */
export type GlobPiece = { text: string } | { any: true } | { one: true }

export type SearchNode =
  /** The empty query, or `*:*`: every user. */
  | { kind: 'all' }
  | { kind: 'and' | 'or'; children: SearchNode[] }
  | { kind: 'not'; child: SearchNode }
  /** `field:value`, `field:"a phrase"`, `field:prefix*`; `field` undefined: a term without a field name. */
  | { kind: 'term'; field: string | undefined; value: string; phrase: boolean; glob?: GlobPiece[] }
  /** `field:[a TO b]` (inclusive), `{a TO b}` (exclusive), mixable; undefined bound: `*`, open. */
  | { kind: 'range'; field: string; from?: string; to?: string; fromInclusive: boolean; toInclusive: boolean }
  | { kind: 'exists'; field: string }

/**
 * How a field's values compare. `text`: words, case-insensitive (a phrase matches consecutive words);
 * `keyword-ci`: the whole value, case-insensitive; `keyword`: the whole value as stored; `boolean`, `integer`,
 * `date` (ISO timestamps; a date-only value means the whole day).
 */
export type FieldKind = 'text' | 'keyword-ci' | 'keyword' | 'boolean' | 'integer' | 'date'

/**
 * The fields Roster stores, with Auth0's rules for each (reference: management API §6). Auth0's `logins_count`,
 * `last_login` and `last_ip` are known too: nobody logs in to Roster, so every user has 0 logins, and no last login
 * or IP — a query written for Auth0 runs, and matches what is true here.
 */
export const searchFields: Readonly<Record<string, FieldKind>> = {
  user_id: 'keyword',
  email: 'keyword-ci',
  'email.domain': 'keyword-ci',
  email_verified: 'boolean',
  username: 'keyword-ci',
  phone_number: 'keyword',
  phone_verified: 'boolean',
  name: 'text',
  given_name: 'text',
  family_name: 'text',
  nickname: 'text',
  picture: 'keyword',
  blocked: 'boolean',
  created_at: 'date',
  updated_at: 'date',
  last_login: 'date',
  last_ip: 'keyword',
  logins_count: 'integer',
  'identities.connection': 'keyword',
  'identities.provider': 'keyword',
  'identities.user_id': 'keyword',
  'identities.isSocial': 'boolean',
}

/** What a term without a field name searches: the normalized profile, never metadata (Auth0's rule). */
export const defaultFields = ['email', 'name', 'given_name', 'family_name', 'nickname', 'username'] as const

export const metadataRoots = ['app_metadata', 'user_metadata'] as const

/** The kind of a field, metadata paths included (`app_metadata.plan`: as stored, case-sensitive); undefined if unknown. */
export function fieldKind(field: string): FieldKind | undefined {
  if (metadataRoots.some((root) => field.startsWith(`${root}.`) && field.length > root.length + 1)) {
    return 'keyword'
  }
  return Object.hasOwn(searchFields, field) ? searchFields[field] : undefined
}

/**
 * The exact `user_id` or `email` every match must have, when the query says so (the term itself, or one of the
 * terms of a top-level AND): the store's indexes then find the candidates, and the query is checked on them only.
 * Anything else is answered by scanning the users.
 */
export function indexedLookup(node: SearchNode): { field: 'user_id' | 'email'; value: string } | undefined {
  if (node.kind === 'and') {
    for (const child of node.children) {
      const found = indexedLookup(child)
      if (found) return found
    }
    return undefined
  }
  if (node.kind !== 'term' || node.glob !== undefined) return undefined
  if (node.field === 'user_id') return { field: 'user_id', value: node.value }
  if (node.field === 'email') return { field: 'email', value: node.value.toLowerCase() }
  return undefined
}
