import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { matchesSearch } from '../../src/domain/api/user-search/match-search.ts'
import { parseSearch } from '../../src/domain/api/user-search/parse-search.ts'
import { indexedLookup, type SearchNode } from '../../src/domain/api/user-search/search-fields.ts'
import type { StoredUser } from '../../src/domain/users/user.ts'

/** Auth0's user search v3 syntax: the parser's tree, its refusals, and what each query matches. */

function person(name: string, overrides: Partial<StoredUser> = {}): StoredUser {
  const first = name.split(' ')[0]?.toLowerCase() as string
  return {
    user_id: `auth0|${first}`,
    connection_id: 'con_AAAAAAAAAAAAAAAA',
    email: `${first}@example.com`,
    email_verified: true,
    name,
    identities: [
      { connection: 'Username-Password-Authentication', provider: 'auth0', user_id: first, isSocial: false },
    ],
    created_at: '2024-03-15T10:00:00.000Z',
    updated_at: '2024-06-01T00:00:00.000Z',
    rev: 1,
    ...overrides,
  }
}

const people = [
  person('Ada Lovelace', {
    given_name: 'Ada',
    user_metadata: { plan: 'gold', addresses: [{ city: 'London' }, { city: 'Paris' }] },
    app_metadata: { seats: 5, region: 'eu' },
    created_at: '2023-12-31T23:59:59.000Z',
  }),
  person('Grace Hopper', {
    blocked: true,
    email: 'grace@navy.mil',
    user_metadata: { plan: 'Silver', empty: {} },
    app_metadata: { seats: 12 },
    created_at: '2024-01-01T00:00:00.000Z',
  }),
  person('Edsger Dijkstra', {
    email_verified: false,
    username: 'edsger',
    created_at: '2024-12-31T18:00:00.000Z',
  }),
  person('Barbara Liskov', { phone_number: '+15551234567', created_at: '2025-01-01T00:00:00.000Z' }),
]

function query(q: string): SearchNode {
  const parsed = parseSearch(q)
  if (!parsed.ok) throw new Error(parsed.message)
  return parsed.query
}

function names(q: string): string[] {
  const node = query(q)
  return people.filter((user) => matchesSearch(user, node)).map((user) => user.name?.split(' ')[0] as string)
}

function refusal(q: string): string {
  const parsed = parseSearch(q)
  if (parsed.ok) throw new Error(`${q} was accepted`)
  return parsed.message
}

describe('user search: the tree', () => {
  it('parses field terms, phrases, wildcards, operators, groups and ranges', () => {
    expect(query('email:"ada@example.com" AND NOT blocked:true')).toEqual({
      kind: 'and',
      children: [
        { kind: 'term', field: 'email', value: 'ada@example.com', phrase: true },
        { kind: 'not', child: { kind: 'term', field: 'blocked', value: 'true', phrase: false } },
      ],
    })
    expect(query('logins_count:{1 TO *]')).toEqual({
      kind: 'range',
      field: 'logins_count',
      from: '1',
      fromInclusive: false,
      toInclusive: true,
    })
    expect(query('name:j*')).toMatchObject({ kind: 'term', glob: [{ text: 'j' }, { any: true }] })
    expect(query('')).toEqual({ kind: 'all' })
  })

  it('binds AND tighter than OR', () => {
    expect(query('a OR b AND c')).toMatchObject({
      kind: 'or',
      children: [{ field: undefined }, { kind: 'and' }],
    })
  })

  it('names the indexed lookup only when every match must have it', () => {
    expect(indexedLookup(query('email:"ADA@example.com" AND blocked:false'))).toEqual({
      field: 'email',
      value: 'ada@example.com',
    })
    expect(indexedLookup(query('user_id:"auth0|ada"'))).toEqual({ field: 'user_id', value: 'auth0|ada' })
    expect(indexedLookup(query('email:"a@example.com" OR blocked:true'))).toBeUndefined()
    expect(indexedLookup(query('email:ada*'))).toBeUndefined()
    expect(indexedLookup(query('NOT email:"a@example.com"'))).toBeUndefined()
  })
})

describe('user search: what matches', () => {
  it('matches field values, case-insensitively on normalized fields only', () => {
    expect(names('email:"GRACE@navy.mil"')).toEqual(['Grace'])
    expect(names('name:lovelace')).toEqual(['Ada'])
    expect(names('name:"ada lovelace"')).toEqual(['Ada'])
    expect(names('name:"lovelace ada"')).toEqual([])
    expect(names('user_metadata.plan:"silver"')).toEqual([])
    expect(names('user_metadata.plan:"Silver"')).toEqual(['Grace'])
    expect(names('email.domain:navy.mil')).toEqual(['Grace'])
    expect(names('username:EDSGER')).toEqual(['Edsger'])
  })

  it('matches booleans, numbers and terms without a field', () => {
    expect(names('blocked:true')).toEqual(['Grace'])
    expect(names('email_verified:false')).toEqual(['Edsger'])
    expect(names('app_metadata.seats:12')).toEqual(['Grace'])
    expect(names('liskov')).toEqual(['Barbara'])
    expect(names('gold')).toEqual([])
  })

  it('matches wildcards', () => {
    expect(names('name:g*')).toEqual(['Grace'])
    expect(names('email:*@example.com')).toEqual(['Ada', 'Edsger', 'Barbara'])
    expect(names('name:*kstr*')).toEqual(['Edsger'])
    expect(names('name:gr?ce')).toEqual(['Grace'])
    expect(names('phone_number:\\+1555*')).toEqual(['Barbara'])
  })

  it('combines AND, OR, NOT, -, groups and field groups', () => {
    expect(names('name:(ada OR grace)')).toEqual(['Ada', 'Grace'])
    expect(names('(name:ada OR name:grace) AND blocked:true')).toEqual(['Grace'])
    expect(names('NOT email_verified:true')).toEqual(['Edsger'])
    expect(names('name:ada name:grace')).toEqual(['Ada', 'Grace'])
    expect(names('email:*@example.com -name:ada')).toEqual(['Edsger', 'Barbara'])
    expect(names('name:ada && !blocked:true')).toEqual(['Ada'])
  })

  it('matches ranges: inclusive, exclusive, open, dates by whole days', () => {
    expect(names('app_metadata.seats:[5 TO 12}')).toEqual(['Ada'])
    expect(names('app_metadata.seats:[6 TO *]')).toEqual(['Grace'])
    expect(names('created_at:[2024-01-01 TO *]')).toEqual(['Grace', 'Edsger', 'Barbara'])
    expect(names('created_at:[2024-01-01 TO 2024-12-31]')).toEqual(['Grace', 'Edsger'])
    expect(names('created_at:{2024-01-01 TO 2025-01-01}')).toEqual(['Edsger'])
    expect(names('created_at:[* TO 2024-01-01T00:00:00.000Z}')).toEqual(['Ada'])
    expect(names('created_at:2024-12-31')).toEqual(['Edsger'])
    expect(names('logins_count:[0 TO 0]')).toHaveLength(4)
    expect(names('logins_count:[1 TO 5]')).toEqual([])
  })

  it('matches _exists_ and metadata paths through arrays; empty metadata is not indexed', () => {
    expect(names('_exists_:given_name')).toEqual(['Ada'])
    expect(names('_exists_:user_metadata.plan')).toEqual(['Ada', 'Grace'])
    expect(names('_exists_:user_metadata.empty')).toEqual([])
    expect(names('user_metadata.addresses.city:"Paris"')).toEqual(['Ada'])
    expect(names('NOT _exists_:last_login')).toHaveLength(4)
  })
})

describe('user search: refusals', () => {
  it('refuses unknown fields, naming the field', () => {
    expect(refusal('user_email:"a@example.com"')).toMatch(
      /^The search query string has an error: unknown field "user_email" \(Roster searches user_id, email/,
    )
  })

  it('refuses a leading wildcard before fewer than 3 characters', () => {
    expect(refusal('name:*ab')).toMatch(/starts with \* needs at least 3 other characters \(\*ab\)/)
    expect(names('name:*ace')).toEqual(['Ada', 'Grace'])
  })

  it('refuses wildcards and ranges on user_metadata, not on app_metadata', () => {
    expect(refusal('user_metadata.plan:go*')).toMatch(/wildcards are not available on user_metadata/)
    expect(refusal('user_metadata.plan:[a TO z]')).toMatch(/ranges are not available on user_metadata/)
    expect(names('app_metadata.region:e*')).toEqual(['Ada'])
  })

  it('refuses broken syntax with what is wrong', () => {
    expect(refusal('name:(ada OR grace')).toMatch(/a "\(" is not closed/)
    expect(refusal('name:"ada')).toMatch(/a quote \("\) is not closed/)
    expect(refusal('logins_count:[1 5]')).toMatch(/needs "TO"/)
    expect(refusal('name:ada AND')).toMatch(/ends where a term was expected/)
    expect(refusal('name:ada)')).toMatch(/unexpected "\)"/)
    expect(refusal(`${'('.repeat(40)}a${')'.repeat(40)}`)).toMatch(/nest deeper than 32/)
    expect(refusal(`${'NOT '.repeat(500)}a`)).toMatch(/nest deeper than 32/)
  })
})

describe('user search: any text', () => {
  it('is parsed or refused with a message, never thrown, and a parsed query matches without throwing', () => {
    const pieces = fc.constantFrom(
      'name:',
      'email:',
      'user_metadata.plan:',
      'app_metadata.',
      '_exists_:',
      'AND',
      'OR',
      'NOT',
      '-',
      '!',
      '(',
      ')',
      '[',
      ']',
      '{',
      '}',
      ' TO ',
      '*',
      '?',
      '"',
      '\\',
      ' ',
      'ada',
      'Grace',
      '2024-01-01',
      '5',
      ':',
      '&&',
      '||',
    )
    const queries = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.array(pieces, { maxLength: 12 }).map((p) => p.join('')),
    )
    fc.assert(
      fc.property(queries, (q) => {
        const parsed = parseSearch(q)
        if (!parsed.ok) {
          expect(parsed.message).toMatch(/^The search query string has an error: /)
          return
        }
        for (const user of people) matchesSearch(user, parsed.query)
      }),
      { seed: 12, numRuns: 2000 },
    )
  })
})

describe('user search: wildcard matching', () => {
  it('agrees with a regular expression on every pattern of *, ? and letters', () => {
    const letters = (chars: string[], max: number) =>
      fc.array(fc.constantFrom(...chars), { maxLength: max }).map((p) => p.join(''))
    fc.assert(
      fc.property(letters(['a', 'b', '*', '?'], 8), letters(['a', 'b'], 10), (pattern, picture) => {
        const parsed = parseSearch(`picture:a${pattern}`)
        if (!parsed.ok) return
        const regex = new RegExp(`^a${pattern.replaceAll('*', '.*').replaceAll('?', '.')}$`)
        const user = person('Ada Lovelace', { picture: `a${picture}` })
        expect(matchesSearch(user, parsed.query)).toBe(regex.test(`a${picture}`))
      }),
      { seed: 7, numRuns: 3000 },
    )
  })

  it('answers a pattern of many stars against a long value without backtracking forever', () => {
    const user = person('Ada Lovelace', { picture: 'a'.repeat(5_000) })
    expect(matchesSearch(user, query(`picture:a${'*a'.repeat(200)}*b`))).toBe(false)
  })
})
