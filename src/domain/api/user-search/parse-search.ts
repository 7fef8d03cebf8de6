import { fieldKind, type GlobPiece, type SearchNode, searchFields } from './search-fields.ts'

export type ParsedSearch = { ok: true; query: SearchNode } | { ok: false; message: string }

/** Parentheses (and NOTs) deeper than this are refused: no real query nests so, and recursion stays bounded. */
const maxDepth = 32
/** Auth0: a value that starts with `*` needs at least this many literal characters (`name:*usa`, not `name:*sa`). */
const minSuffixLiteral = 3

/** Thrown inside the parser only; `parseSearch` turns it into the 400's message. */
class QueryProblem extends Error {}

/**
 * Parses Auth0's user search v3 syntax (Lucene's query string): `field:value`, `field:"a phrase"`, `*` and `?`
 * wildcards, `AND`/`OR`/`NOT` (capitalised; `&&`, `||`, `!` and a leading `-` too), parentheses, `field:(a OR b)`,
 * ranges `[a TO b]` / `{a TO b}` with `*` for an open end, `_exists_:field` and metadata paths. Terms side by side
 * without an operator are alternatives (Lucene's default OR), except negated ones, which exclude. What Auth0
 * refuses is refused with a message naming the part: unknown fields, wildcards and ranges on `user_metadata`, a
 * leading wildcard before fewer than 3 characters.
 */
export function parseSearch(q: string): ParsedSearch {
  if (q.trim() === '' || q.trim() === '*:*' || q.trim() === '*') return { ok: true, query: { kind: 'all' } }
  try {
    const parser = new Parser(q)
    const query = parser.parseOr(undefined, 0)
    parser.skipSpace()
    if (!parser.atEnd()) parser.fail(`unexpected "${parser.rest().slice(0, 20)}"`)
    return { ok: true, query }
  } catch (error) {
    if (!(error instanceof QueryProblem)) throw error
    return { ok: false, message: `The search query string has an error: ${error.message}.` }
  }
}

class Parser {
  #at = 0
  constructor(readonly text: string) {}

  atEnd(): boolean {
    return this.#at >= this.text.length
  }
  rest(): string {
    return this.text.slice(this.#at)
  }
  fail(problem: string): never {
    throw new QueryProblem(problem)
  }
  skipSpace(): void {
    while (!this.atEnd() && /\s/.test(this.text[this.#at] as string)) this.#at++
  }
  /** Consumes `word` if it comes next as a whole word (an operator). */
  #operator(...words: string[]): boolean {
    this.skipSpace()
    for (const word of words) {
      const after = this.text[this.#at + word.length]
      const symbol = !/^[A-Z]+$/.test(word)
      if (this.text.startsWith(word, this.#at) && (symbol || after === undefined || /[\s()]/.test(after))) {
        this.#at += word.length
        return true
      }
    }
    return false
  }
  #startsClause(): boolean {
    this.skipSpace()
    if (this.atEnd() || this.text[this.#at] === ')') return false
    return !/^(AND|OR)(?=[\s()]|$)|^(&&|\|\|)/.test(this.rest())
  }

  parseOr(field: string | undefined, depth: number): SearchNode {
    const explicit: SearchNode[] = []
    const implicit: SearchNode[] = [this.#parseAnd(field, depth)]
    for (;;) {
      if (this.#operator('OR', '||')) explicit.push(this.#parseAnd(field, depth))
      else if (this.#startsClause()) implicit.push(this.#parseAnd(field, depth))
      else break
    }
    // Side by side, negated clauses exclude (Lucene's MUST_NOT) and the others are alternatives (SHOULD).
    const excluded = implicit.filter((node) => node.kind === 'not')
    const alternatives = implicit.filter((node) => node.kind !== 'not')
    const first: SearchNode =
      excluded.length === 0
        ? either(alternatives)
        : alternatives.length === 0
          ? both(excluded)
          : both([either(alternatives), ...excluded])
    return either([first, ...explicit])
  }

  #parseAnd(field: string | undefined, depth: number): SearchNode {
    const children = [this.#parseUnary(field, depth)]
    while (this.#operator('AND', '&&')) children.push(this.#parseUnary(field, depth))
    return both(children)
  }

  #parseUnary(field: string | undefined, depth: number): SearchNode {
    if (this.#operator('NOT', '!', '-')) {
      if (depth >= maxDepth) this.fail(`operators nest deeper than ${maxDepth}`)
      return { kind: 'not', child: this.#parseUnary(field, depth + 1) }
    }
    this.#operator('+')
    return this.#parsePrimary(field, depth)
  }

  #parsePrimary(field: string | undefined, depth: number): SearchNode {
    this.skipSpace()
    if (this.atEnd()) this.fail('the query ends where a term was expected')
    if (this.text[this.#at] === '(') return this.#group(field, depth)
    const named = /^([A-Za-z_][A-Za-z0-9_.]*):/.exec(this.rest())
    if (named && field === undefined) {
      const name = named[1] as string
      this.#at += named[0].length
      if (name === '_exists_') return { kind: 'exists', field: this.#existsField() }
      checkField(name)
      const next = this.text[this.#at]
      if (next === '(') return this.#group(name, depth)
      if (next === '[' || next === '{') return this.#range(name)
      if (next === undefined || /\s/.test(next)) this.fail(`${name}: has no value`)
      return this.#term(name)
    }
    const next = this.text[this.#at] as string
    if (next === '[' || next === '{') {
      if (field === undefined) this.fail('a range needs a field, as in logins_count:[1 TO 5]')
      return this.#range(field)
    }
    return this.#term(field)
  }

  #group(field: string | undefined, depth: number): SearchNode {
    if (depth >= maxDepth) this.fail(`parentheses nest deeper than ${maxDepth}`)
    this.#at++
    const inner = this.parseOr(field, depth + 1)
    this.skipSpace()
    if (this.text[this.#at] !== ')') this.fail('a "(" is not closed')
    this.#at++
    return inner
  }

  #existsField(): string {
    const name = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(this.rest())?.[0]
    if (name === undefined) this.fail('_exists_: needs a field name')
    this.#at += name.length
    checkField(name)
    return name
  }

  #range(field: string): SearchNode {
    if (field.startsWith('user_metadata.')) {
      this.fail(`ranges are not available on user_metadata fields (${field})`)
    }
    const fromInclusive = this.text[this.#at] === '['
    this.#at++
    const from = this.#bound()
    if (!this.#operator('TO')) this.fail(`a range on ${field} needs "TO" between its ends, as in [1 TO 5]`)
    const to = this.#bound()
    this.skipSpace()
    const close = this.text[this.#at]
    if (close !== ']' && close !== '}') this.fail(`a range on ${field} is not closed with ] or }`)
    this.#at++
    return {
      kind: 'range',
      field,
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to }),
      fromInclusive,
      toInclusive: close === ']',
    }
  }

  /** One end of a range: quoted, or up to a space or the closing bracket; `*` is open. */
  #bound(): string | undefined {
    this.skipSpace()
    if (this.text[this.#at] === '"') return this.#quoted()
    const raw = /^(?:\\.|[^\s\]}])+/.exec(this.rest())?.[0]
    if (raw === undefined) this.fail('a range is missing one of its ends')
    this.#at += raw.length
    return raw === '*' ? undefined : unescapeQuery(raw)
  }

  #term(field: string | undefined): SearchNode {
    if (this.text[this.#at] === '"') return { kind: 'term', field, value: this.#quoted(), phrase: true }
    const raw = /^(?:\\.|[^\s()"[\]{}])+/.exec(this.rest())?.[0]
    if (raw === undefined) this.fail(`unexpected "${this.rest().slice(0, 20)}"`)
    this.#at += raw.length
    const glob = toGlob(raw)
    const value = unescapeQuery(raw)
    if (glob === undefined) return { kind: 'term', field, value, phrase: false }
    if (glob.length === 1 && 'any' in (glob[0] as GlobPiece) && field !== undefined) {
      return { kind: 'exists', field }
    }
    if (field?.startsWith('user_metadata.')) {
      this.fail(`wildcards are not available on user_metadata fields (${field}:${raw})`)
    }
    const literal = glob.reduce((n, piece) => n + ('text' in piece ? piece.text.length : 0), 0)
    if ('any' in (glob[0] as GlobPiece) && literal < minSuffixLiteral) {
      this.fail(`a value that starts with * needs at least ${minSuffixLiteral} other characters (${raw})`)
    }
    return { kind: 'term', field, value, phrase: false, glob }
  }

  #quoted(): string {
    const raw = /^"((?:\\.|[^"\\])*)"/.exec(this.rest())
    if (!raw) this.fail('a quote (") is not closed')
    this.#at += raw[0].length
    return unescapeQuery(raw[1] as string)
  }
}

function checkField(name: string): void {
  if (fieldKind(name) !== undefined) return
  throw new QueryProblem(
    `unknown field "${name}" (Roster searches ${Object.keys(searchFields).join(', ')}, ` +
      'app_metadata.* and user_metadata.*)',
  )
}

/** The pieces of an unquoted value with an unescaped `*` or `?`; undefined when it has none. */
function toGlob(raw: string): GlobPiece[] | undefined {
  const pieces: GlobPiece[] = []
  let text = ''
  let wild = false
  for (let i = 0; i < raw.length; i++) {
    const char = raw[i] as string
    if (char === '\\' && i + 1 < raw.length) {
      text += raw[++i]
    } else if (char === '*' || char === '?') {
      if (text) pieces.push({ text })
      text = ''
      pieces.push(char === '*' ? { any: true } : { one: true })
      wild = true
    } else {
      text += char
    }
  }
  if (text) pieces.push({ text })
  return wild ? pieces : undefined
}

function unescapeQuery(raw: string): string {
  return raw.replace(/\\(.)/g, '$1')
}

function either(nodes: SearchNode[]): SearchNode {
  return nodes.length === 1 ? (nodes[0] as SearchNode) : { kind: 'or', children: nodes }
}

function both(nodes: SearchNode[]): SearchNode {
  return nodes.length === 1 ? (nodes[0] as SearchNode) : { kind: 'and', children: nodes }
}
