import { describe, expect, it } from 'vitest'
import { fastImportRow } from '../../src/domain/import/fast-import-row.ts'
import { validateImportRow, validateWithSchema } from '../../src/domain/import/validate-row.ts'

/**
 * The shortcut of `validateImportRow` must never accept what the schema rejects, and must answer the very row the
 * schema answers (same keys, same order, metadata by reference). Compared here on many generated rows: valid ones
 * and ones broken in every way the handled fields can be, near every bound.
 */

/** mulberry32: a seeded generator, so a failure names a seed that reproduces it. */
function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const emoji = '😀'
const repeat = (text: string, times: number) => text.repeat(Math.max(0, times))
const BCRYPT = '$2b$10$C9hB01.YxRSTcn/ZOOo4j.TW7xCKKFKBSF.C7E0xiUwumqIDqWUXG'

const strings = ['', 'a', 'Amélie', '美咲', emoji, 'x y', ' ', '\u0000', '\ud800', 'O’Brien']
const notStrings = [undefined, null, 0, 1.5, true, false, [], {}, ['a'], { a: 1 }]
const lengths = (max: number) => [
  repeat('a', max),
  repeat('a', max + 1),
  repeat(emoji, max),
  repeat(emoji, max + 1),
  `${repeat('a', max - 1)}${emoji}`,
  `${repeat('a', max)}\ud800`,
]

const emails = [
  'jane@example.com',
  'Jane.Doe+tag@Example.CO.uk',
  'amélie.okafor.12@mail.example.net',
  'jane@localhost',
  'jane@example.c',
  'jane@@example.com',
  '@example.com',
  'jane@',
  'jane',
  'ja ne@example.com',
  'jane@exa_mple.com',
  '.jane@example.com',
  'jane.@example.com',
  `${repeat('a', 64)}@example.com`,
  `${repeat('a', 65)}@example.com`,
  `${repeat('é', 64)}@example.com`,
  `${repeat(emoji, 64)}@example.com`,
  `${repeat(emoji, 65)}@example.com`,
  `a@${repeat('b', 249)}.com`,
  `a@${repeat('b', 248)}.com`,
  `a@${repeat('é', 248)}.com`,
  'jane@example.com\n',
  ...strings,
  ...notStrings,
]
const usernames = [
  'jane',
  'jane_doe',
  'J@ne',
  "a`^$!#.+'~_-z",
  'jane@example.com',
  'jane@example',
  'jané',
  'ja ne',
  'a',
  repeat('a', 15),
  repeat('a', 16),
  repeat('a', 128),
  ...strings,
  ...notStrings,
]
const phones = [
  '+12125550001',
  '+1',
  '+1234567890123456',
  '12125550001',
  '+1 212',
  '+',
  ...strings,
  ...notStrings,
]
const hashes = [
  BCRYPT,
  BCRYPT.replace('$2b$', '$2a$'),
  BCRYPT.replace('$2b$', '$2y$'),
  `${BCRYPT}x`,
  BCRYPT.slice(0, -1),
  ...strings,
  ...notStrings,
]
const booleans = [true, false, 'true', 'false', 0, 1, null, undefined]
const metadata: unknown[] = [
  {},
  { roles: ['admin', 'member'], plan: 'pro' },
  { locale: 'en-GB', preferences: { theme: 'dark', newsletter: true } },
  { nested: [{ ok: 1 }, [{ deep: { fine: null } }], 'text'] },
  { 'a.b': 1 },
  { a$: 1 },
  { nested: { 'x.y': 1 } },
  { list: [{ $set: 1 }] },
  { list: [[{ 'p.q': 1 }]] },
  JSON.parse('{"__proto__": {"a": 1}}'),
  JSON.parse('{"deep": {"__proto__": 1}}'),
  { blocked: true },
  { user_id: 'x' },
  { email: 'x' },
  { metadata: {} },
  { __tenant: 1 },
  Object.create(null),
  new Date(0),
  [],
  [1, 2],
  'text',
  1,
  null,
  undefined,
]
/** `levels` nested objects: user_metadata is level 1, so `nest(32)` is the deepest metadata a user may hold. */
function nest(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: 1 }
  for (let i = 1; i < levels; i++) value = { a: value }
  return value
}
const manyKeys = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, i]))
// Roster's input limits (input-limits.ts), each just within and just over.
metadata.push(
  nest(32),
  nest(33),
  manyKeys(1_000),
  manyKeys(1_001),
  { [repeat('k', 256)]: 1 },
  { [repeat('k', 257)]: 1 },
  { s: repeat('a', 10_000) },
  { s: repeat('a', 10_001) },
  { s: repeat(emoji, 10_000) },
  { n: Number.POSITIVE_INFINITY },
  { list: [1, Number.NEGATIVE_INFINITY] },
  JSON.parse('{"constructor": 1}'),
  JSON.parse('{"deep": [{"prototype": 1}]}'),
)
const customHash = { algorithm: 'md5', hash: { value: '5f4dcc3b5aa765d61d8327deb882cf99', encoding: 'hex' } }
const mfa = [{ totp: { secret: 'JBTWY3DPEHPK3PNP' } }]

const pools: Record<string, readonly unknown[]> = {
  email: emails,
  email_verified: booleans,
  phone_number: phones,
  phone_verified: booleans,
  user_id: ['62d1a2b3c4d5e6f708091a2b', 'auth0|x', ...strings, ...lengths(255), ...notStrings],
  username: usernames,
  given_name: [...strings, ...lengths(150), ...notStrings],
  family_name: [...strings, ...lengths(150), ...notStrings],
  name: [...strings, ...lengths(150), ...notStrings],
  nickname: [...strings, ...lengths(350), ...notStrings],
  picture: [
    'https://example.com/a.png',
    'http://example.com/a.png',
    'javascript:alert(1)',
    'JAVASCRIPT:alert(1)',
    'data:image/png;base64,AAAA',
    'https://',
    'HTTPS://EXAMPLE.COM/A.PNG',
    'ftp://example.com/a.png',
    `https://example.com/${repeat('a', 2_028)}`,
    `https://example.com/${repeat('a', 2_029)}`,
    ...strings,
    ...notStrings,
  ],
  blocked: booleans,
  password_hash: hashes,
  custom_password_hash: [customHash, {}, null],
  mfa_factors: [mfa, [], null],
  app_metadata: metadata,
  user_metadata: metadata,
  created_at: ['2025-01-01T00:00:00.000Z'],
  password: ['secret'],
  Email: ['jane@example.com'],
  constructor: ['x'],
}
const fields = Object.keys(pools)
const rareFields = new Set([
  'custom_password_hash',
  'mfa_factors',
  'created_at',
  'password',
  'Email',
  'constructor',
])

/** Mostly valid values (the first of each pool is), so that rows near the fast path's edge are common. */
function generateRow(next: () => number): unknown {
  const roll = next()
  if (roll < 0.01) return [null, [], 'jane@example.com', 1, Object.create(null)][Math.floor(next() * 5)]
  const row: Record<string, unknown> = {}
  if (next() < 0.97) row.email = next() < 0.8 ? 'jane@example.com' : pick(emails, next)
  for (const field of fields) {
    if (field === 'email' || next() > (rareFields.has(field) ? 0.03 : 0.3)) continue
    const pool = pools[field] as readonly unknown[]
    // Mostly one of the field's first two values (valid ones); else anything from its pool.
    row[field] = next() < 0.7 ? pool[Math.floor(next() * Math.min(2, pool.length))] : pick(pool, next)
  }
  if (roll > 0.97) return JSON.parse(JSON.stringify(row))
  return row
}

function pick<T>(list: readonly T[], next: () => number): T {
  return list[Math.floor(next() * list.length)] as T
}

const limitsCases = [
  { min: 1, max: 15 },
  { min: 5, max: 10 },
  { min: 1, max: 128 },
]

describe('fastImportRow agrees with the schema', () => {
  it('accepts only rows the schema accepts, answering the same row', () => {
    const next = random(20_261_127)
    let fast = 0
    let schemaValid = 0
    for (let i = 0; i < 30_000; i++) {
      const raw = generateRow(next)
      const limits = limitsCases[i % limitsCases.length] as { min: number; max: number }
      const shortcut = fastImportRow(raw, limits)
      const schema = validateWithSchema(raw, { usernameLimits: limits })
      if (schema.ok) schemaValid++
      if (shortcut === undefined) continue
      fast++
      const context = { i, raw }
      expect(schema.ok, JSON.stringify(context)).toBe(true)
      if (!schema.ok) continue
      expect(shortcut, JSON.stringify(context)).toEqual(schema.row)
      // Key order matters: it becomes the stored user's JSON.
      expect(Object.keys(shortcut)).toEqual(Object.keys(schema.row))
      expect(shortcut).not.toBe(raw)
      expect(shortcut.app_metadata).toBe(schema.row.app_metadata)
      expect(shortcut.user_metadata).toBe(schema.row.user_metadata)
    }
    // The generator must reach both sides of the shortcut's edge for the comparison to mean anything.
    expect(fast).toBeGreaterThan(1_000)
    expect(schemaValid - fast).toBeGreaterThan(100)
  })

  it('takes the shortcut for a typical exported row, and validateImportRow answers it as the schema does', () => {
    const raw = JSON.parse(
      JSON.stringify({
        user_metadata: { locale: 'ja-JP', preferences: { theme: 'dark', newsletter: false } },
        email: 'misaki.takahashi.12@corp.example.co.uk',
        given_name: '美咲',
        family_name: '高橋',
        name: '美咲 高橋',
        email_verified: true,
        user_id: '00000000000000000000000c',
        username: 'misaki_c',
        nickname: 'misaki',
        picture: 'https://avatars.example.com/c.png',
        blocked: false,
        app_metadata: { roles: ['member'], plan: 'team', legacy_id: 372 },
        password_hash: BCRYPT,
        phone_number: '+12125550001',
        phone_verified: true,
      }),
    )
    const options = { usernameLimits: { min: 1, max: 15 } }
    const shortcut = fastImportRow(raw, options.usernameLimits)
    expect(shortcut).toBeDefined()
    const schema = validateWithSchema(raw, options)
    expect(validateImportRow(raw, options)).toEqual(schema)
    expect(JSON.stringify(shortcut)).toBe(JSON.stringify(schema.ok ? schema.row : undefined))
  })

  it('leaves rare fields and every error to the schema', () => {
    const limits = { min: 1, max: 15 }
    expect(
      fastImportRow({ email: 'jane@example.com', custom_password_hash: customHash }, limits),
    ).toBeUndefined()
    expect(fastImportRow({ email: 'jane@example.com', mfa_factors: mfa }, limits)).toBeUndefined()
    expect(fastImportRow({ email: 'jane@example.com', given_name: undefined }, limits)).toBeUndefined()
    expect(
      fastImportRow({ email: 'jane@example.com', username: 'a_very_long_username' }, limits),
    ).toBeUndefined()
    expect(fastImportRow({ given_name: 'Jane' }, limits)).toBeUndefined()
  })
})
