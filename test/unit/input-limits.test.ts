import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { can, roleOf } from '../../src/domain/access/roles.ts'
import { getPath } from '../../src/domain/export/field-path.ts'
import { labelTable } from '../../src/domain/import/export-labels.ts'
import { inputLimits, limitIssues, withinLimits } from '../../src/domain/import/input-limits.ts'
import { deepNestingOffset } from '../../src/domain/import/json-depth.ts'
import { normalizeRow } from '../../src/domain/import/normalize-row.ts'
import { parseUsersFile } from '../../src/domain/import/parse-users-file.ts'
import { decodeUtf8, firstInvalidUtf8 } from '../../src/domain/import/utf8.ts'
import { validateImportRow } from '../../src/domain/import/validate-row.ts'

const codes = (value: unknown) => limitIssues(value).map((issue) => `${issue.code} ${issue.path.join('/')}`)
const nest = (levels: number): unknown => (levels === 0 ? 1 : { a: nest(levels - 1) })

describe('withinLimits', () => {
  it('says what limitIssues(value, 1) says: nothing found (property, seeded)', () => {
    const long = 'x'.repeat(inputLimits.maxStringChars + 1)
    const astral = '😀'.repeat(inputLimits.maxStringChars / 2 + 1)
    const key = fc.oneof(
      fc.string({ maxLength: 4 }),
      fc.constantFrom('__proto__', 'constructor', 'prototype', 'k'.repeat(inputLimits.maxKeyChars + 1)),
    )
    const leaf = fc.oneof(
      fc.jsonValue({ maxDepth: 1 }),
      fc.constantFrom(
        Number.POSITIVE_INFINITY,
        Number.NaN,
        long,
        astral,
        '😀'.repeat(inputLimits.maxStringChars / 2),
      ),
    )
    const { tree } = fc.letrec((self) => ({
      tree: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        fc.array(self('tree'), { maxLength: 3 }),
        fc.dictionary(key, self('tree'), { maxKeys: 3 }),
      ),
    }))
    const deep = fc.integer({ min: 30, max: 35 }).map((levels) => ({ user_metadata: nest(levels) }))
    fc.assert(
      fc.property(fc.oneof(tree, deep), (value) => {
        expect(withinLimits(value)).toBe(limitIssues(value, 1).length === 0)
      }),
      { seed: 20_261_206, numRuns: 2_000 },
    )
    const wide = Object.fromEntries(
      Array.from({ length: inputLimits.maxKeysPerObject + 1 }, (_, i) => [`k${i}`, i]),
    )
    for (const value of [{ app_metadata: wide }, { n: long }, { a: { n: long } }, [long], { a: [[astral]] }])
      expect(withinLimits(value), JSON.stringify(value).slice(0, 40)).toBe(limitIssues(value, 1).length === 0)
  })
})

describe('limitIssues', () => {
  it('allows 32 levels below the user and names the 33rd', () => {
    expect(codes({ user_metadata: nest(32) })).toEqual([])
    expect(codes({ user_metadata: nest(33) })).toEqual([`MAX_DEPTH user_metadata/${'a/'.repeat(31)}a`])
  })

  it('limits nested strings, keys and keys per object, but not top-level strings (their fields have rules)', () => {
    const long = 'x'.repeat(inputLimits.maxStringChars + 1)
    expect(codes({ nickname: long })).toEqual([])
    expect(codes({ user_metadata: { s: long } })).toEqual(['MAX_LENGTH user_metadata/s'])
    expect(codes({ user_metadata: { ['k'.repeat(257)]: 1 } })).toEqual([
      `MAX_LENGTH user_metadata/${'k'.repeat(20)}…`,
    ])
    const many = Object.fromEntries(Array.from({ length: 1_001 }, (_, i) => [`k${i}`, i]))
    expect(codes({ app_metadata: many })).toEqual(['OBJECT_PROPERTIES_MAXIMUM app_metadata'])
  })

  it('refuses reserved keys at any depth, and numbers JSON cannot hold', () => {
    const row = JSON.parse(
      '{"__proto__":{"a":1},"user_metadata":{"x":[{"constructor":1}],"prototype":2,"n":1e400}}',
    )
    expect(codes(row)).toEqual([
      'RESERVED_KEY __proto__',
      'RESERVED_KEY user_metadata/prototype',
      'INVALID_TYPE user_metadata/n',
      'RESERVED_KEY user_metadata/x/0/constructor',
    ])
  })
})

describe('normalizeRow never assigns through a reserved key', () => {
  it('refuses a top-level __proto__ instead of making it the row prototype', () => {
    const raw = JSON.parse(
      '{"__proto__":{"email":"p@x.test","app_metadata":{"roles":["admin"]}},"Email":"a@x.test"}',
    )
    const normal = normalizeRow(raw, labelTable({}), 'auth0')
    expect(Object.getPrototypeOf(normal.row)).toBe(Object.prototype)
    expect((normal.row as Record<string, unknown>).app_metadata).toBeUndefined()
    expect(normal.errors.map((e) => `${e.code} ${e.path}`)).toEqual(['RESERVED_KEY __proto__'])
    const checked = validateImportRow(normal.row, { usernameLimits: { min: 1, max: 15 } })
    expect(checked.ok).toBe(true) // the row itself is fine; the import fails it for the error above
  })

  it('refuses a CSV column user_metadata.__proto__.x instead of dropping it', () => {
    const [row] = parseUsersFile(
      'email,user_metadata.__proto__.x,user_metadata.plan\na@x.test,1,pro\n',
      'u.csv',
    ).rows
    const normal = normalizeRow(row, labelTable({}), 'auth0')
    expect(normal.errors.map((e) => `${e.code} ${e.path}`)).toEqual([
      'RESERVED_KEY user_metadata.__proto__.x',
    ])
    expect(normal.row).toEqual({ email: 'a@x.test', user_metadata: { plan: 'pro' } })
    expect(Object.getPrototypeOf((normal.row as { user_metadata: object }).user_metadata)).toBe(
      Object.prototype,
    )
  })
})

describe('file-level nesting', () => {
  it('counts brackets outside strings only', () => {
    expect(deepNestingOffset('[["[[[[[["]]', 2)).toBe(-1)
    expect(deepNestingOffset('["\\"",[[1]]]', 2)).toBe(7)
  })

  it('refuses a CSV header path deeper than the file limit', () => {
    const header = `email,user_metadata${'.a'.repeat(inputLimits.fileMaxDepth)}`
    expect(() => parseUsersFile(`${header}\na@x.test,1\n`, 'u.csv')).toThrow(/path deeper than 256 levels/)
  })
})

describe('UTF-8', () => {
  it.each([
    [[0x61, 0xe9, 0x62], 1],
    [[0x61, 0xc0, 0x80], 1], // overlong
    [[0xed, 0xa0, 0x80], 0], // a surrogate
    [[0xf4, 0x90, 0x80, 0x80], 0], // past U+10FFFF
    [[0x61, 0xe2, 0x82], 1], // cut short
    [[0x80], 0],
  ])('finds the first bad byte in %j at %i', (bytes, offset) => {
    expect(firstInvalidUtf8(Uint8Array.from(bytes))).toBe(offset)
  })

  it('decodes valid UTF-8 as it is, byte order mark included, and refuses the rest by offset', () => {
    expect(decodeUtf8(Buffer.from('\uFEFFé😀'), 'u.json')).toBe('\uFEFFé😀')
    expect(() => decodeUtf8(Uint8Array.from([0x5b, 0xff]), 'u.json')).toThrow(
      'u.json is not valid UTF-8: byte 1 (0xff)',
    )
  })
})

describe('lookups by a user-supplied key', () => {
  it('export paths read own keys only: user_metadata.constructor is not a built-in', () => {
    const profile = { user_metadata: { plan: 'pro' }, identities: [{ provider: 'auth0' }] }
    expect(getPath(profile, ['user_metadata', 'constructor'])).toBeUndefined()
    expect(getPath(profile, ['user_metadata', 'toString'])).toBeUndefined()
    expect(getPath(profile, ['identities', 0, 'provider'])).toBe('auth0')
    expect(getPath(profile, ['identities', 'length'])).toBe(1)
  })

  it('a Slack user id that names a built-in has no role', () => {
    const access = { users: { U0ADMIN1: 'admin' as const } }
    for (const id of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      expect(roleOf(access, [], id)).toBeUndefined()
      expect(can(roleOf(access, [], id), 'jobs.read')).toBe(false)
    }
    expect(roleOf(access, [], 'U0ADMIN1')).toBe('admin')
  })
})
